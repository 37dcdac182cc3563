import math
import warnings

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from helpers.chain import (
    apply_activation,
    check_he_uniform_bound,
    check_path_count,
    check_sigmoid_depth,
    check_tanh_layer_backward,
    layer_log10_grad_norms,
    plot_layer_grad_norms,
    scalar_chain_gradients,
)

# apply_activation


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_activation_derivative_matches_autograd(activation):
    z = torch.linspace(-8, 8, 161, dtype=torch.float64, requires_grad=True)
    getattr(torch, activation)(z).sum().backward()
    value, derivative = apply_activation(activation, z.detach().numpy())
    np.testing.assert_allclose(value, getattr(torch, activation)(z).detach().numpy(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(derivative, z.grad.numpy(), rtol=0, atol=1e-15)


def test_activation_derivative_accurate_in_saturation():
    _, sigmoid_derivative = apply_activation("sigmoid", np.array([40.0, -40.0]))
    _, tanh_derivative = apply_activation("tanh", np.array([20.0]))
    np.testing.assert_allclose(sigmoid_derivative, math.exp(-40), rtol=1e-12)
    np.testing.assert_allclose(tanh_derivative, 4 * math.exp(-40), rtol=1e-12)


def test_activation_extreme_inputs_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for activation in ("sigmoid", "tanh", "relu"):
            value, derivative = apply_activation(activation, np.array([-1e300, -800.0, 0.0, 800.0, 1e300]))
            assert np.all(np.isfinite(value))
            assert np.all(np.isfinite(derivative))


def test_relu_derivative_at_zero_is_zero():
    assert apply_activation("relu", np.array([0.0]))[1][0] == 0.0


def test_activation_unknown_name_raises():
    with pytest.raises(ValueError, match="'gelu'"):
        apply_activation("gelu", np.zeros(2))


# scalar_chain_gradients


def test_scalar_chain_matches_autograd():
    x1 = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    h = x1
    for _ in range(12):
        h = torch.tanh(1.7 * h + 0.1)
    h.backward()
    gradients = scalar_chain_gradients(0.3, 1.7, 12, "tanh", bias=0.1)
    assert gradients.shape == (12,)
    assert gradients[-1] == pytest.approx(x1.grad.item(), rel=1e-12)


def test_scalar_sigmoid_chain_below_bound():
    depths = np.arange(1, 41)
    for w in (0.5, 2.0, 4.0):
        assert np.all(np.abs(scalar_chain_gradients(0.0, w, 40)) <= (w / 4) ** depths)


def test_scalar_sigmoid_bound_reached_first_layer():
    assert scalar_chain_gradients(0.0, 1.0, 1)[0] == 0.25


def test_scalar_relu_chain_exact():
    assert np.all(scalar_chain_gradients(1.0, 1.0, 30, "relu") == 1.0)
    assert np.all(scalar_chain_gradients(-1.0, 1.0, 30, "relu") == 0.0)
    np.testing.assert_allclose(scalar_chain_gradients(1.0, 2.0, 30, "relu"), 2.0 ** np.arange(1, 31), rtol=1e-15)


def test_scalar_chain_rejects_bad_depth():
    for depth in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="depth"):
            scalar_chain_gradients(0.5, 1.0, depth)


def test_scalar_chain_rejects_nonfinite_weight():
    with pytest.raises(ValueError, match="w must be finite"):
        scalar_chain_gradients(0.5, math.inf, 3)


# layer_log10_grad_norms


def torch_grad_norms(depth, activation, weight_scale, residual, bias, width=64, seed=0):
    """Recompute the same network with autograd, from the same random draws."""
    rng = np.random.default_rng(seed)
    W = torch.from_numpy(rng.normal(0.0, weight_scale / math.sqrt(width), size=(depth, width, width)))
    x = torch.from_numpy(rng.normal(size=width))
    grad_output = rng.normal(size=width)
    grad_output = torch.from_numpy(grad_output / np.linalg.norm(grad_output))
    xs = [x.requires_grad_()]
    for layer in range(depth):
        y = getattr(torch, activation)(W[layer] @ xs[-1] + bias)
        x_next = xs[-1] + y if residual else y
        x_next.retain_grad()
        xs.append(x_next)
    (grad_output @ xs[-1]).backward()
    return np.array([x.grad.norm().item() for x in xs[:-1]] + [1.0])


@pytest.mark.parametrize(
    "activation, weight_scale, residual, bias",
    [("tanh", 1.0, False, 0.0), ("sigmoid", 2.0, True, 0.5), ("relu", math.sqrt(2), False, 0.0), ("relu", 1.0, True, -0.2)],
)
def test_grad_norms_match_autograd(activation, weight_scale, residual, bias):
    log10_norms = layer_log10_grad_norms(12, activation, weight_scale, residual, bias=bias)
    np.testing.assert_allclose(10**log10_norms, torch_grad_norms(12, activation, weight_scale, residual, bias), rtol=1e-10)


def test_grad_norms_output_is_one():
    assert layer_log10_grad_norms(5)[-1] == 0.0


def test_grad_norms_no_underflow_when_tiny():
    log10_norms = layer_log10_grad_norms(200, "sigmoid", 0.01)
    assert np.all(np.isfinite(log10_norms))
    assert log10_norms[0] < -400  # 10**-400 is below float64's smallest positive number


def test_grad_norms_dead_relu_exact_zero():
    log10_norms = layer_log10_grad_norms(30, "relu", 1.0, bias=-5.0)
    assert np.all(np.isneginf(log10_norms[:-1]))
    assert log10_norms[-1] == 0.0


def test_grad_norms_zero_scale_plain_and_residual():
    assert np.all(np.isneginf(layer_log10_grad_norms(10, "tanh", 0.0)[:-1]))
    np.testing.assert_allclose(layer_log10_grad_norms(10, "tanh", 0.0, True), 0.0, atol=1e-12)


def test_grad_norms_depend_on_seed():
    assert layer_log10_grad_norms(10, seed=0)[0] != layer_log10_grad_norms(10, seed=1)[0]


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"depth": 0}, "depth"),
        ({"depth": 201}, "at most 200"),
        ({"depth": 5, "weight_scale": -0.1}, "weight_scale"),
        ({"depth": 5, "weight_scale": 4.5}, "weight_scale"),
        ({"depth": 5, "bias": math.nan}, "bias"),
        ({"depth": 5, "activation": "gelu"}, "gelu"),
        ({"depth": 5, "width": 0}, "width"),
    ],
)
def test_grad_norms_reject_invalid_settings(arguments, message):
    with pytest.raises(ValueError, match=message):
        layer_log10_grad_norms(**arguments)


def test_grad_norms_reject_non_bool_residual():
    with pytest.raises(TypeError, match="residual"):
        layer_log10_grad_norms(5, residual="yes")


# plot_layer_grad_norms: the interactive figure's callback

EXTREMES = [
    {},  # the default drawn in the notebook
    {"depth": 200, "activation": "sigmoid", "weight_scale": 1.0},
    {"depth": 200, "activation": "sigmoid", "weight_scale": 0.0},
    {"depth": 200, "activation": "sigmoid", "weight_scale": 0.05},
    {"depth": 200, "activation": "relu", "weight_scale": 4.0},
    {"depth": 200, "activation": "relu", "weight_scale": 4.0, "residual": True, "bias": 5.0},
    {"depth": 200, "activation": "tanh", "weight_scale": 4.0, "residual": True, "bias": -5.0},
    {"depth": 50, "activation": "relu", "weight_scale": 1.0, "bias": -5.0},
    {"depth": 1, "activation": "relu", "weight_scale": 0.0},
    {"depth": 1, "activation": "tanh", "weight_scale": 0.0, "residual": True},
]


def plotted_points(figure):
    return [line.get_ydata() for line in figure.axes[0].get_lines()]


@pytest.mark.parametrize("settings", EXTREMES, ids=lambda settings: str(settings) or "default")
def test_callback_extremes_finite_without_warning(settings):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = plot_layer_grad_norms(**settings)
        figure.canvas.draw()  # renders ticks and labels, where a log of 0 would warn
    assert isinstance(figure, Figure)
    for ydata in plotted_points(figure):
        assert np.all(np.isfinite(ydata))
    assert np.all(np.isfinite(figure.axes[0].get_ylim()))
    assert figure.axes[0].get_title()


def test_callback_marks_exact_zeros():
    figure = plot_layer_grad_norms(depth=50, activation="relu", weight_scale=1.0, bias=-5.0)
    ax = figure.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["gradient norm", "exactly 0"]
    assert len(ax.get_lines()[1].get_xdata()) == 50
    assert "exactly 0 at layers 1 to 50" in [text.get_text() for text in ax.texts]
    assert "0" in [label.get_text() for label in ax.get_yticklabels()]


def test_callback_no_zero_marker_when_nonzero():
    figure = plot_layer_grad_norms(depth=30, activation="tanh")
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["gradient norm"]


def test_callback_tick_labels_are_powers_of_ten():
    figure = plot_layer_grad_norms(depth=200, activation="sigmoid", weight_scale=0.05)
    figure.canvas.draw()
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert labels
    assert all(label.startswith("$10^{") for label in labels)


# Self-checks of the exercises


@pytest.mark.parametrize(
    "check, correct, wrong",
    [
        (check_sigmoid_depth, 20, 19),
        (check_he_uniform_bound, math.sqrt(6 / 1000), math.sqrt(3 / 1000)),
        (check_path_count, 495, 4096),
    ],
)
def test_self_checks_accept_only_answer(check, correct, wrong, capsys):
    assert check(correct) is True
    assert "Correct" in capsys.readouterr().out
    assert check(wrong) is False
    assert "Not yet" in capsys.readouterr().out
    assert check(None) is False
    assert "No answer yet" in capsys.readouterr().out


def test_sigmoid_depth_answer_is_smallest():
    assert 0.5**20 < 1e-6 <= 0.5**19


def test_tanh_backward_check_accepts_correct(capsys):
    def backward(W, b, x, grad_y):
        y = np.tanh(W @ x + b)
        return W.T @ ((1 - y**2) * grad_y)

    assert check_tanh_layer_backward(backward) is True
    assert "Correct" in capsys.readouterr().out


def test_tanh_backward_check_rejects_wrong(capsys):
    def forgot_derivative(W, b, x, grad_y):
        return W.T @ grad_y

    assert check_tanh_layer_backward(forgot_derivative) is False
    assert "Not yet" in capsys.readouterr().out


def test_tanh_backward_check_rejects_shape(capsys):
    assert check_tanh_layer_backward(lambda W, b, x, grad_y: grad_y) is False
    assert "shape" in capsys.readouterr().out


def test_tanh_backward_check_needs_callable():
    with pytest.raises(TypeError, match="function"):
        check_tanh_layer_backward(None)
