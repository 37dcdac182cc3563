import math

import numpy as np
import pytest
import torch

from helpers.initialization import (
    INITS,
    glorot_bengio_statistics,
    init_weight_,
    jacobian_product_singular_values,
    per_layer_factor,
    singular_values,
    weight_variance,
)

# init_weight_ and weight_variance


@pytest.mark.parametrize("init", INITS)
def test_init_variance_matches_formula(init):
    weight = init_weight_(torch.empty(400, 600, dtype=torch.float64), init, torch.Generator().manual_seed(0))
    assert weight.var().item() == pytest.approx(weight_variance(init, 600, 400), rel=0.02)


def test_standard_init_equals_linear_default():
    bound = 1 / math.sqrt(300)
    weight = init_weight_(torch.empty(200, 300), "standard")
    assert weight.abs().max().item() <= bound
    assert torch.nn.Linear(300, 200).weight.abs().max().item() <= bound


def test_init_uses_generator():
    first = init_weight_(torch.empty(5, 5), "xavier", torch.Generator().manual_seed(3))
    second = init_weight_(torch.empty(5, 5), "xavier", torch.Generator().manual_seed(3))
    assert torch.equal(first, second)


def test_init_unknown_name_raises():
    with pytest.raises(ValueError, match="'lecun'"):
        init_weight_(torch.empty(3, 3), "lecun")
    with pytest.raises(ValueError, match="'lecun'"):
        weight_variance("lecun", 3, 3)


def test_init_rejects_vector():
    with pytest.raises(ValueError, match="2-D"):
        init_weight_(torch.empty(3), "he")


# per_layer_factor


def test_per_layer_factor_table():
    assert per_layer_factor("standard", "linear", 100) == pytest.approx(1 / math.sqrt(3))
    assert per_layer_factor("xavier", "linear", 100) == pytest.approx(1.0)
    assert per_layer_factor("he", "linear", 100) == pytest.approx(math.sqrt(2))
    assert per_layer_factor("he", "relu", 100) == pytest.approx(1.0)
    assert per_layer_factor("xavier", "relu", 100) == pytest.approx(math.sqrt(0.5))


def test_per_layer_factor_rejects_tanh():
    with pytest.raises(ValueError, match="closed-form"):
        per_layer_factor("xavier", "tanh", 100)


# jacobian_product_singular_values


def test_jacobian_product_matches_autograd():
    width, depth, seed = 8, 3, 5
    singular = jacobian_product_singular_values("he", "relu", width, [depth], seed=seed)[depth]

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(width, generator=generator, dtype=torch.float64)
    weights = [init_weight_(torch.empty(width, width, dtype=torch.float64), "he", generator) for _ in range(depth)]

    def network(v):
        for W in weights:
            v = torch.relu(W @ v)
        return v

    jacobian = torch.autograd.functional.jacobian(network, x)
    np.testing.assert_allclose(singular, torch.linalg.svdvals(jacobian).numpy(), atol=1e-12)


def test_jacobian_product_returns_requested_depths():
    result = jacobian_product_singular_values("xavier", "tanh", 16, [4, 1, 4])
    assert sorted(result) == [1, 4]
    assert result[1].shape == (16,)


def test_orthogonal_product_is_isometry():
    singular = jacobian_product_singular_values("orthogonal", "linear", 32, [20])[20]
    np.testing.assert_allclose(singular, 1.0, atol=1e-12)


def test_jacobian_product_rejects_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        jacobian_product_singular_values("xavier", "gelu", 8, [1])
    with pytest.raises(ValueError, match="depths"):
        jacobian_product_singular_values("xavier", "linear", 8, [0, 2])


# singular_values


def test_singular_values_match_svd():
    matrix = np.random.default_rng(0).normal(size=(30, 30))
    np.testing.assert_allclose(np.sort(singular_values(matrix)), np.sort(np.linalg.svd(matrix, compute_uv=False)), rtol=1e-8)


def test_singular_values_of_singular_matrix():
    values = singular_values(np.diag([3.0, 0.0, 1.0]))
    np.testing.assert_allclose(np.sort(values), [0.0, 1.0, 3.0], atol=1e-12)


# glorot_bengio_statistics, at a small width so that the test stays fast


def test_glorot_statistics_shapes_and_trend():
    stats = glorot_bengio_statistics("standard", num_layers=4, width=200, batch_size=64)
    assert set(stats) == {
        "activation_std",
        "backprop_std",
        "weight_grad_std",
        "tanh_derivative_ms",
        "jacobian_mean_singular_value",
    }
    for values in stats.values():
        assert values.shape == (4,)
    assert np.isnan(stats["jacobian_mean_singular_value"][0])
    assert np.all(np.diff(stats["backprop_std"]) > 0)  # shrinks going down
    assert np.all(np.diff(stats["activation_std"]) < 0)  # shrinks going up


def test_glorot_statistics_xavier_flatter_than_standard():
    standard = glorot_bengio_statistics("standard", num_layers=4, width=200, batch_size=64)
    xavier = glorot_bengio_statistics("xavier", num_layers=4, width=200, batch_size=64)
    spread = {name: s["backprop_std"][-1] / s["backprop_std"][0] for name, s in (("standard", standard), ("xavier", xavier))}
    assert spread["xavier"] < spread["standard"]


def test_glorot_statistics_is_deterministic():
    first = glorot_bengio_statistics("xavier", num_layers=2, width=50, batch_size=16, seed=4)
    second = glorot_bengio_statistics("xavier", num_layers=2, width=50, batch_size=16, seed=4)
    np.testing.assert_array_equal(first["backprop_std"], second["backprop_std"])


def test_glorot_statistics_rejects_he():
    with pytest.raises(ValueError, match="'standard' or 'xavier'"):
        glorot_bengio_statistics("he")
