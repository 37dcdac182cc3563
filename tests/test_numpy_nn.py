import math
import warnings

import numpy as np
import pytest
import torch

from helpers.gradcheck import check_gradient
from helpers.numpy_nn import (
    SGD,
    Adam,
    Layer,
    Linear,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Tanh,
    log_softmax,
    mlp,
    sigmoid,
    softmax_cross_entropy,
)

BATCH = 4  # more than one example, so that a mean-versus-sum mistake shows


def input_check(layer, X, seed=0):
    """Check layer.backward's dX for the scalar loss sum(forward(X) * R)."""
    R = np.random.default_rng(seed).normal(size=layer.forward(X).shape)
    layer.forward(X)
    dX = layer.backward(R)
    return check_gradient(lambda x: float(np.sum(layer.forward(x) * R)), X, dX)


def param_checks(layer, X, seed=0):
    """Check every parameter gradient of layer for the scalar loss sum(forward(X) * R)."""
    R = np.random.default_rng(seed).normal(size=layer.forward(X).shape)
    layer.forward(X)
    layer.backward(R)
    results = {}
    for name, param in layer.params().items():
        analytic = layer.grads()[name].copy()

        def loss(value, param=param):
            original = param.copy()
            param[...] = value
            output = float(np.sum(layer.forward(X) * R))
            param[...] = original
            return output

        results[name] = check_gradient(loss, param.copy(), analytic)
    return results


def away_from_zero(rng, shape, margin=0.1):
    """Normal samples pushed at least ``margin`` away from 0, off the ReLU's kink."""
    values = rng.normal(size=shape)
    return values + np.sign(values) * margin


# Linear


def test_linear_shapes_follow_convention():
    layer = Linear(3, 5, rng=0)
    assert layer.W.shape == (3, 5)
    assert layer.b.shape == (5,)
    assert layer.dW.shape == layer.W.shape
    assert layer.db.shape == layer.b.shape


def test_linear_gradient_shapes_after_backward():
    layer = Linear(3, 5, rng=0)
    layer.forward(np.ones((BATCH, 3)))
    dX = layer.backward(np.ones((BATCH, 5)))
    assert dX.shape == (BATCH, 3)
    assert layer.dW.shape == (3, 5)
    assert layer.db.shape == (5,)


def test_linear_input_gradient_matches_differences():
    X = np.random.default_rng(1).normal(size=(BATCH, 3))
    result = input_check(Linear(3, 5, rng=0), X)
    assert result.passed, result


def test_linear_parameter_gradients_match_differences():
    X = np.random.default_rng(1).normal(size=(BATCH, 3))
    for name, result in param_checks(Linear(3, 5, rng=0), X).items():
        assert result.passed, (name, result)


def test_linear_bias_gradient_sums_batch():
    layer = Linear(2, 3, rng=0)
    layer.forward(np.zeros((BATCH, 2)))
    layer.backward(np.ones((BATCH, 3)))
    np.testing.assert_array_equal(layer.db, np.full(3, float(BATCH)))


def test_linear_he_init_std():
    layer = Linear(400, 300, init="he", rng=0)
    assert layer.W.std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert np.all(layer.b == 0)


def test_linear_xavier_init_bounds():
    layer = Linear(400, 300, init="xavier", rng=0)
    limit = math.sqrt(6 / 700)
    assert np.abs(layer.W).max() <= limit
    assert np.abs(layer.W).max() > 0.99 * limit


def test_linear_standard_init_bounds():
    layer = Linear(400, 300, init="standard", rng=0)
    assert np.abs(layer.W).max() <= 1 / math.sqrt(400)
    assert np.abs(layer.W).max() > 0.99 / math.sqrt(400)


def test_linear_seed_reproducible():
    np.testing.assert_array_equal(Linear(4, 4, rng=7).W, Linear(4, 4, rng=7).W)


def test_linear_rejects_unknown_init():
    with pytest.raises(ValueError, match="'orthogonal'"):
        Linear(2, 2, init="orthogonal")


def test_linear_rejects_wrong_feature_count():
    with pytest.raises(ValueError, match="3 features"):
        Linear(2, 2, rng=0).forward(np.zeros((BATCH, 3)))


def test_linear_rejects_one_dimensional_input():
    with pytest.raises(ValueError, match="shape"):
        Linear(2, 2, rng=0).forward(np.zeros(2))


def test_linear_rejects_bad_rng():
    with pytest.raises(TypeError, match="rng"):
        Linear(2, 2, rng="seed")


def test_backward_before_forward_raises():
    with pytest.raises(RuntimeError, match="before forward"):
        Linear(2, 2, rng=0).backward(np.zeros((BATCH, 2)))
    with pytest.raises(RuntimeError, match="before forward"):
        ReLU().backward(np.zeros((BATCH, 2)))


# Activations


def test_relu_input_gradient_matches_differences():
    X = away_from_zero(np.random.default_rng(2), (BATCH, 6))
    result = input_check(ReLU(), X)
    assert result.passed, result


def test_relu_gradient_zero_at_kink():
    layer = ReLU()
    layer.forward(np.array([[-1.0, 0.0, 2.0]]))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3))), [[0.0, 0.0, 1.0]])


def test_tanh_input_gradient_matches_differences():
    X = np.random.default_rng(3).normal(size=(BATCH, 6))
    result = input_check(Tanh(), X)
    assert result.passed, result


def test_sigmoid_input_gradient_matches_differences():
    X = np.random.default_rng(4).normal(size=(BATCH, 6))
    result = input_check(Sigmoid(), X)
    assert result.passed, result


def test_sigmoid_extremes_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(values, [0.0, 0.5, 1.0])


def test_sigmoid_layer_gradient_at_extremes():
    layer = Sigmoid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer.forward(np.array([[-1000.0, 0.0, 1000.0]]))
        dX = layer.backward(np.ones((1, 3)))
    np.testing.assert_array_equal(dX, [[0.0, 0.25, 0.0]])


def test_sigmoid_matches_torch():
    z = np.linspace(-40, 40, 81)
    np.testing.assert_allclose(sigmoid(z), torch.sigmoid(torch.from_numpy(z)).numpy(), rtol=1e-12, atol=0)


def test_sigmoid_keeps_small_values_for_negative_input():
    # 1 - sigmoid(-z) would round to 0 here; the stable form keeps the value.
    assert sigmoid(np.array(-700.0)) == pytest.approx(math.exp(-700.0), rel=1e-12)


# Residual and Sequential


def test_residual_input_gradient_matches_differences():
    X = np.random.default_rng(5).normal(size=(BATCH, 4))
    layer = Residual(Sequential([Tanh(), Linear(4, 4, rng=0)]), scale=0.5)
    result = input_check(layer, X)
    assert result.passed, result


def test_residual_parameter_gradients_match_differences():
    X = np.random.default_rng(5).normal(size=(BATCH, 4))
    layer = Residual(Sequential([Tanh(), Linear(4, 4, rng=0)]), scale=0.5)
    for name, result in param_checks(layer, X).items():
        assert result.passed, (name, result)


def test_residual_adds_shortcut():
    X = np.random.default_rng(6).normal(size=(BATCH, 4))
    block = Linear(4, 4, rng=0)
    np.testing.assert_allclose(Residual(block).forward(X), X + block.forward(X))


def test_residual_passes_gradient_through_zero_block():
    block = Linear(3, 3, rng=0)
    block.W[...] = 0.0
    layer = Residual(block)
    layer.forward(np.ones((BATCH, 3)))
    dY = np.random.default_rng(0).normal(size=(BATCH, 3))
    np.testing.assert_array_equal(layer.backward(dY), dY)


def test_residual_rejects_shape_change():
    with pytest.raises(ValueError, match="keep the shape"):
        Residual(Linear(3, 2, rng=0)).forward(np.zeros((BATCH, 3)))


def test_residual_rejects_non_layer_block():
    with pytest.raises(TypeError, match="Layer"):
        Residual(lambda X: X)


def test_sequential_parameter_gradients_match_differences():
    X = np.random.default_rng(7).normal(size=(BATCH, 3))
    model = Sequential([Linear(3, 5, rng=0), Tanh(), Linear(5, 2, rng=1), Sigmoid()])
    assert input_check(model, X).passed
    for name, result in param_checks(model, X).items():
        assert result.passed, (name, result)


def test_sequential_names_parameters_by_index():
    model = Sequential([Linear(3, 5, rng=0), ReLU(), Residual(Sequential([ReLU(), Linear(5, 5, rng=1)]))])
    assert list(model.params()) == ["0.W", "0.b", "2.block.1.W", "2.block.1.b"]
    assert list(model.grads()) == list(model.params())


def test_sequential_rejects_non_layer():
    with pytest.raises(TypeError, match="layer 1"):
        Sequential([Linear(2, 2, rng=0), np.tanh])


# Loss


def test_log_softmax_extremes_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = log_softmax(np.array([1000.0, 0.0, -1000.0]))
    np.testing.assert_array_equal(values, [0.0, -1000.0, -2000.0])


def test_log_softmax_matches_torch():
    logits = np.random.default_rng(8).normal(size=(BATCH, 7)) * 10
    expected = torch.log_softmax(torch.from_numpy(logits), dim=-1).numpy()
    np.testing.assert_allclose(log_softmax(logits), expected, rtol=0, atol=1e-12)


def test_cross_entropy_matches_torch():
    rng = np.random.default_rng(9)
    logits, y = rng.normal(size=(BATCH, 5)), rng.integers(0, 5, size=BATCH)
    loss, _ = softmax_cross_entropy(logits, y)
    expected = torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(y)).item()
    assert loss == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_gradient_matches_differences():
    rng = np.random.default_rng(10)
    logits, y = rng.normal(size=(BATCH, 5)), rng.integers(0, 5, size=BATCH)
    _, dlogits = softmax_cross_entropy(logits, y)
    result = check_gradient(lambda z: softmax_cross_entropy(z, y)[0], logits, dlogits)
    assert result.passed, result


def test_cross_entropy_is_mean_over_batch():
    rng = np.random.default_rng(11)
    logits, y = rng.normal(size=(BATCH, 5)), rng.integers(0, 5, size=BATCH)
    loss, dlogits = softmax_cross_entropy(logits, y)
    doubled_loss, doubled_dlogits = softmax_cross_entropy(np.vstack([logits, logits]), np.concatenate([y, y]))
    assert doubled_loss == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(doubled_dlogits[:BATCH], dlogits / 2, rtol=1e-12)


def test_cross_entropy_gradient_rows_sum_to_zero():
    rng = np.random.default_rng(12)
    _, dlogits = softmax_cross_entropy(rng.normal(size=(BATCH, 5)), rng.integers(0, 5, size=BATCH))
    np.testing.assert_allclose(dlogits.sum(axis=1), 0.0, atol=1e-15)


def test_cross_entropy_extremes_without_warnings():
    logits = np.array([[1000.0, 0.0, -1000.0], [1000.0, 0.0, -1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dlogits = softmax_cross_entropy(logits, np.array([0, 2]))
    assert loss == pytest.approx(1000.0)
    assert np.all(np.isfinite(dlogits))


def test_cross_entropy_rejects_out_of_range_label():
    with pytest.raises(ValueError, match="labels"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))


def test_cross_entropy_rejects_float_labels():
    with pytest.raises(ValueError, match="integer labels"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))


# Optimizers


def test_sgd_step_updates_in_place():
    layer = Linear(2, 3, rng=0)
    W_before, W_object = layer.W.copy(), layer.W
    layer.forward(np.ones((BATCH, 2)))
    layer.backward(np.ones((BATCH, 3)))
    SGD(lr=0.1).step(layer)
    assert layer.W is W_object
    np.testing.assert_allclose(layer.W, W_before - 0.1 * layer.dW)


def test_sgd_accepts_list_of_layers():
    layers = [Linear(2, 2, rng=0), ReLU()]
    layers[0].forward(np.ones((BATCH, 2)))
    layers[0].backward(np.ones((BATCH, 2)))
    b_before = layers[0].b.copy()
    SGD(lr=1.0).step(layers)
    np.testing.assert_allclose(layers[0].b, b_before - BATCH)


def test_adam_matches_torch_adam():
    rng = np.random.default_rng(13)
    layer = Linear(3, 2, rng=0)
    W_torch = torch.nn.Parameter(torch.from_numpy(layer.W.copy()))
    optimizer_torch = torch.optim.Adam([W_torch], lr=0.01, betas=(0.9, 0.99), eps=1e-8)
    optimizer = Adam(lr=0.01, betas=(0.9, 0.99), eps=1e-8)
    for _ in range(3):
        gradient = rng.normal(size=layer.W.shape)
        layer.dW = gradient.copy()
        layer.db = np.zeros_like(layer.b)
        optimizer.step(layer)
        W_torch.grad = torch.from_numpy(gradient)
        optimizer_torch.step()
    np.testing.assert_allclose(layer.W, W_torch.detach().numpy(), rtol=0, atol=1e-12)


def test_optimizers_reject_bad_learning_rate():
    with pytest.raises(ValueError, match="lr"):
        SGD(lr=0.0)
    with pytest.raises(ValueError, match="lr"):
        Adam(lr=float("nan"))


def test_adam_rejects_bad_betas():
    with pytest.raises(ValueError, match="betas"):
        Adam(betas=(0.9, 1.0))


# mlp


def linear_count(model):
    count = 0
    for layer in model.layers:
        if isinstance(layer, Linear):
            count += 1
        elif isinstance(layer, Residual):
            count += sum(isinstance(inner, Linear) for inner in layer.block.layers)
        elif isinstance(layer, Sequential):
            count += sum(isinstance(inner, Linear) for inner in layer.layers)
    return count


def test_mlp_depth_counts_linear_layers():
    for depth in (2, 3, 10):
        assert linear_count(mlp(depth, 8, 4, 3, residual=False, rng=0)) == depth
        assert linear_count(mlp(depth, 8, 4, 3, residual=True, rng=0)) == depth


def test_mlp_residual_twin_has_same_weights():
    plain = mlp(6, 8, 4, 3, residual=False, rng=0)
    residual = mlp(6, 8, 4, 3, residual=True, rng=0)
    for (name, p), (_, r) in zip(plain.params().items(), residual.params().items()):
        np.testing.assert_array_equal(p, r, err_msg=name)


def test_mlp_default_branch_scale():
    model = mlp(18, 8, 4, 3, residual=True, rng=0)
    blocks = [layer for layer in model.layers if isinstance(layer, Residual)]
    assert len(blocks) == 16
    assert all(block.scale == pytest.approx(1 / 4) for block in blocks)


def test_mlp_output_shape():
    assert mlp(4, 8, 64, 10, rng=0).forward(np.zeros((BATCH, 64))).shape == (BATCH, 10)


def test_mlp_gradients_match_differences():
    rng = np.random.default_rng(14)
    X, y = rng.normal(size=(BATCH, 3)), rng.integers(0, 2, size=BATCH)
    for residual in (False, True):
        model = mlp(4, 5, 3, 2, residual=residual, activation="tanh", rng=0)
        _, dlogits = softmax_cross_entropy(model.forward(X), y)
        model.backward(dlogits)
        for name, param in model.params().items():
            analytic = model.grads()[name].copy()

            def loss(value, param=param):
                original = param.copy()
                param[...] = value
                output = softmax_cross_entropy(model.forward(X), y)[0]
                param[...] = original
                return output

            result = check_gradient(loss, param.copy(), analytic, tolerance=1e-5)
            assert result.passed, (residual, name, result)


def test_mlp_rejects_depth_one():
    with pytest.raises(ValueError, match="depth"):
        mlp(1, 8, 4, 3)


def test_mlp_rejects_branch_scale_without_residual():
    with pytest.raises(ValueError, match="branch_scale"):
        mlp(4, 8, 4, 3, residual=False, branch_scale=0.5)


def test_mlp_rejects_unknown_activation():
    with pytest.raises(ValueError, match="'gelu'"):
        mlp(4, 8, 4, 3, activation="gelu")


def test_layer_base_is_identity():
    X = np.ones((BATCH, 2))
    assert Layer().forward(X) is X
    assert Layer().params() == {}
