import math
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from helpers.numpy_experiments import (
    check_leaky_relu,
    check_sum_bug_ratio,
    check_total_growth,
    error_rate,
    gradient_norms_by_layer,
    gradient_profiles,
    hidden_ratio,
    input_output_jacobian,
    plot_gradient_profiles,
    train,
    train_mlp,
)
from helpers.numpy_nn import SGD, Layer, Linear, mlp


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def toy_data(n=60, seed=0):
    """Two well-separated Gaussian blobs in 4 dimensions."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    X = rng.normal(size=(n, 4)) + 5.0 * y[:, None]
    return X, y


# train and error_rate


def test_train_history_lengths():
    X, y = toy_data()
    model = mlp(3, 8, 4, 2, rng=0)
    history = train(model, X, y, SGD(0.1), epochs=3, batch_size=16, rng=np.random.default_rng(0))
    assert len(history["loss"]) == 4
    assert len(history["error"]) == 4


def test_train_lowers_loss_on_separable_data():
    X, y = toy_data()
    model = mlp(3, 8, 4, 2, rng=0)
    history = train(model, X, y, SGD(0.1), epochs=20, batch_size=16, rng=np.random.default_rng(0))
    assert history["loss"][-1] < history["loss"][0] / 2
    assert history["error"][-1] <= 0.05


def test_train_final_error_matches_error_rate():
    X, y = toy_data()
    model = mlp(3, 8, 4, 2, rng=0)
    history = train(model, X, y, SGD(0.1), epochs=2, batch_size=16, rng=np.random.default_rng(0))
    assert history["error"][-1] == error_rate(model, X, y)


def test_train_zero_epochs_records_initial_point():
    X, y = toy_data()
    history = train(mlp(3, 8, 4, 2, rng=0), X, y, SGD(0.1), epochs=0, batch_size=16, rng=np.random.default_rng(0))
    assert len(history["error"]) == 1


def test_train_rejects_oversized_batch():
    X, y = toy_data(n=10)
    with pytest.raises(ValueError, match="batch_size"):
        train(mlp(3, 8, 4, 2, rng=0), X, y, SGD(0.1), epochs=1, batch_size=11, rng=np.random.default_rng(0))


def test_train_mlp_is_reproducible():
    X, y = toy_data()
    X = np.hstack([X] * 16)  # 64 features, as for the digits
    first = train_mlp(4, True, X, y, width=8, epochs=2, seed=3)
    second = train_mlp(4, True, X, y, width=8, epochs=2, seed=3)
    np.testing.assert_array_equal(first["loss"], second["loss"])


def test_error_rate_counts_wrong_argmax():
    model = Linear(2, 2, rng=0)
    model.W[...] = np.eye(2)
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    assert error_rate(model, X, np.array([0, 1, 1, 1])) == 0.25


# gradient_norms_by_layer and hidden_ratio


def test_gradient_norms_one_per_layer():
    X, y = toy_data()
    model = mlp(5, 8, 4, 2, rng=0)
    norms = gradient_norms_by_layer(model, X, y)
    assert norms.shape == (5,)
    assert np.all(norms > 0)


def test_gradient_norms_first_entry_is_input_gradient():
    X, y = toy_data()
    model = mlp(4, 8, 4, 2, residual=True, rng=0)
    norms = gradient_norms_by_layer(model, X, y)
    X_tensor = torch.from_numpy(X).requires_grad_(True)
    logits = X_tensor @ torch.from_numpy(model.layers[0].W)
    for block in model.layers[1:-1]:
        linear = block.block.layers[1]
        logits = logits + block.scale * (torch.relu(logits) @ torch.from_numpy(linear.W))
    last = model.layers[-1].layers[1]
    logits = torch.relu(logits) @ torch.from_numpy(last.W)
    torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).backward()
    assert norms[0] == pytest.approx(X_tensor.grad.norm().item(), rel=1e-10)


def test_gradient_norms_reject_non_sequential():
    X, y = toy_data()
    with pytest.raises(TypeError, match="Sequential"):
        gradient_norms_by_layer(Linear(4, 2, rng=0), X, y)


def test_hidden_ratio_uses_second_and_last():
    assert hidden_ratio(np.array([5.0, 2.0, 3.0, 4.0])) == 0.5


def test_hidden_ratio_zero_when_last_is_zero():
    assert hidden_ratio(np.array([1.0, 2.0, 0.0])) == 0.0


def test_hidden_ratio_rejects_single_layer():
    with pytest.raises(ValueError, match="at least 2"):
        hidden_ratio(np.array([1.0]))


# input_output_jacobian


def test_jacobian_matches_torch():
    model = mlp(5, 6, 4, 3, residual=True, activation="tanh", rng=0)
    x = np.random.default_rng(1).normal(size=4)

    def forward(x_tensor):
        hidden = x_tensor @ torch.from_numpy(model.layers[0].W)
        for block in model.layers[1:-1]:
            linear = block.block.layers[1]
            hidden = hidden + block.scale * (torch.tanh(hidden) @ torch.from_numpy(linear.W))
        last = model.layers[-1].layers[1]
        return torch.tanh(hidden) @ torch.from_numpy(last.W)

    expected = torch.func.jacrev(forward)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(input_output_jacobian(model, x), expected, rtol=0, atol=1e-12)


def test_jacobian_shape_outputs_by_inputs():
    assert input_output_jacobian(Linear(5, 3, rng=0), np.ones(5)).shape == (3, 5)


def test_jacobian_of_linear_is_transposed_weight():
    layer = Linear(5, 3, rng=0)
    np.testing.assert_allclose(input_output_jacobian(layer, np.ones(5)), layer.W.T)


def test_jacobian_rejects_batch():
    with pytest.raises(ValueError, match="one example"):
        input_output_jacobian(Linear(5, 3, rng=0), np.ones((2, 5)))


# gradient_profiles and the interactive figure


def test_profiles_same_at_depth_two():
    profiles = gradient_profiles(2, 8)
    np.testing.assert_array_equal(profiles["plain"], profiles["residual"])


def test_profiles_reject_bad_arguments():
    with pytest.raises(ValueError, match="depth"):
        gradient_profiles(1, 8)
    with pytest.raises(ValueError, match="width"):
        gradient_profiles(4, 0)
    with pytest.raises(ValueError, match="init"):
        gradient_profiles(4, 8, init="orthogonal")


@pytest.mark.parametrize(
    "depth, width, init",
    [(2, 2, "he"), (100, 2, "he"), (100, 256, "he"), (2, 256, "standard"), (100, 2, "standard"), (100, 8, "xavier")],
)
def test_figure_extremes_finite_without_warnings(depth, width, init):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = plot_gradient_profiles(depth, width, init)
        figure.canvas.draw()
    for line in figure.axes[0].get_lines():
        y_data = np.asarray(line.get_ydata(), dtype=float)
        assert np.all(np.isfinite(y_data)), line.get_label()
        assert np.all(y_data > 0), line.get_label()


def test_figure_default_has_title_and_labels():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = plot_gradient_profiles()
    axes = figure.axes[0]
    assert axes.get_title()
    assert axes.get_xlabel()
    assert axes.get_ylabel()
    assert axes.get_yscale() == "log"


def test_figure_marks_exact_zeros():
    # Width 2 at depth 100 switches off every ReLU of some layer in the plain network.
    profiles = gradient_profiles(100, 2)
    assert np.any(profiles["plain"] == 0)
    figure = plot_gradient_profiles(100, 2)
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert "plain: exactly 0" in labels


# Self-checks


def test_check_leaky_relu_accepts_correct_layer(capsys):
    class LeakyReLU(Layer):
        def forward(self, X):
            self.positive = X > 0
            return np.where(self.positive, X, 0.01 * X)

        def backward(self, dY):
            return dY * np.where(self.positive, 1.0, 0.01)

    assert check_leaky_relu(LeakyReLU())
    assert capsys.readouterr().out.startswith("Correct")


def test_check_leaky_relu_rejects_wrong_backward(capsys):
    class WrongLeakyReLU(Layer):
        def forward(self, X):
            self.positive = X > 0
            return np.where(self.positive, X, 0.01 * X)

        def backward(self, dY):
            return dY * self.positive  # forgets the 0.01 slope

    assert not check_leaky_relu(WrongLeakyReLU())
    assert capsys.readouterr().out.startswith("Not yet")


def test_check_leaky_relu_rejects_skeleton(capsys):
    class Skeleton(Layer):
        def forward(self, X):
            return None

        def backward(self, dY):
            return None

    assert not check_leaky_relu(Skeleton())
    assert capsys.readouterr().out.startswith("Not yet")


def test_check_sum_bug_ratio_answers(capsys):
    assert check_sum_bug_ratio(32)
    assert not check_sum_bug_ratio(1 / 32)
    assert not check_sum_bug_ratio(None)
    assert "No answer yet" in capsys.readouterr().out


def test_check_total_growth_answers():
    assert check_total_growth((1 + 1 / 98) ** 98, num_blocks=98)
    assert not check_total_growth(math.e, num_blocks=98)
    assert not check_total_growth(2**98, num_blocks=98)


def test_self_checks_reject_text_answer():
    with pytest.raises(TypeError, match="number"):
        check_total_growth("e")

