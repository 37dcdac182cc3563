"""Every public helper rejects a bad argument early, with a message that names it and the fix.

One table contains one row per bad call: the callable, its positional and keyword
arguments, the exception type and a regex that the message must match. The
regex contains the invalid value (or its shape or type), so a message that
contains only "invalid input" fails. A row marked ``xfail`` is a check that its
helper still lacks, and the reason names the check. Because the mark is
strict, the row fails as soon as the helper raises the expected error with a
matching message, which is the signal to remove the mark.
"""

import math
import os
import re
from unittest import mock

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from helpers import (  # noqa: E402
    chain,
    checks,
    data,
    grad_norms,
    gradcheck,
    initialization,
    numpy_experiments,
    numpy_nn,
    plotting,
    runtime,
    transformer,
)


def with_environment(name, value, function):
    """Return ``function`` wrapped so that it runs with the environment variable ``name`` set to ``value``."""

    def call(*args, **kwargs):
        with mock.patch.dict(os.environ, {name: value}):
            return function(*args, **kwargs)

    call.__name__ = f"{function.__name__} with {name}={value}"
    return call


def row(id, function, args=(), kwargs=None, error=ValueError, match="", missing=None):
    """One table row; ``missing`` names the check the helper lacks and marks the row xfail."""
    marks = [pytest.mark.xfail(strict=True, reason=f"missing check: {missing}")] if missing else []
    return pytest.param(function, tuple(args), dict(kwargs or {}), error, match, id=id, marks=marks)


# Small objects whose methods the table calls. Building them takes milliseconds.
X = np.linspace(-1.0, 1.0, 24).reshape(6, 4)
y = np.array([0, 1, 2, 0, 1, 2])
small_mlp = numpy_nn.mlp(3, 5, 4, 3, rng=0)
linear = numpy_nn.Linear(3, 2, rng=0)
linear_after_forward = numpy_nn.Linear(3, 2, rng=0)
linear_after_forward.forward(np.ones((4, 3)))
attention = transformer.MultiHeadSelfAttention(8, 2)
encoder = transformer.Encoder(1, 8, num_attention_heads=2, intermediate_size=16)
frozen = nn.Linear(2, 2).requires_grad_(False)
with_gradients = nn.Linear(2, 2)
with_gradients(torch.ones(1, 2)).sum().backward()


RUNTIME = [
    row("seed_everything-negative", runtime.seed_everything, [-1], match=r"seed must be in \[0, 2\*\*32\), got -1"),
    row("seed_everything-string", runtime.seed_everything, ["0"], error=TypeError, match=r"seed must be an int, got '0'"),
    row("select_device-unknown-env", with_environment("RESIDUAL_DEVICE", "tpu", runtime.select_device),
        match=r"RESIDUAL_DEVICE='tpu' is not a device name; use cpu, cuda or cuda:N"),
    row("select_scale-unknown-env", with_environment("RESIDUAL_SCALE", "huge", runtime.select_scale),
        match=r"RESIDUAL_SCALE='huge' is not a scale; use one of \('cpu', 'gpu'\)"),
    row("select_scale-unknown-device", runtime.select_scale, ["tpu"],
        match=r"device='tpu' is not a device name; use cpu, cuda or cuda:N"),
    row("select_scale-float-device", runtime.select_scale, [3.5], error=TypeError,
        match=r"device must be a torch.device or a device name .*, got 3.5"),
    row("by_scale-unknown-scale", runtime.by_scale, [1, 2], {"scale": "tpu"},
        match=r"scale must be one of \('cpu', 'gpu'\), got 'tpu'"),
    row("by_scale-int-scale", runtime.by_scale, [1, 2], {"scale": 1}, error=TypeError,
        match=r"scale must be one of the strings \('cpu', 'gpu'\) or None, got 1"),
]

CHECKS = [
    row("claim-empty-statement", checks.claim, ["", True], match=r"statement must be a non-empty string, got ''"),
    row("claim-array-holds", checks.claim, ["s", np.array([True, False])], error=TypeError,
        match=r"holds must be a bool .*got array\(\[ True, False\]\).*\.all\(\) or \.any\(\)"),
    row("claim_close-negative-atol", checks.claim_close, ["s", [0.0], [0.0]], {"atol": -1.0},
        match=r"atol must be a finite number >= 0, got -1.0"),
    row("claim_close-bool-atol", checks.claim_close, ["s", [0.0], [0.0]], {"atol": True},
        match=r"atol must be a finite number >= 0, got True"),
    row("claim_close-none-actual", checks.claim_close, ["s", None, [0.0]], {"atol": 0.1}, error=TypeError,
        match=r"actual must be a number or an array of numbers, got None"),
    row("claim_close-text-expected", checks.claim_close, ["s", [0.0], "zero"], {"atol": 0.1}, error=TypeError,
        match=r"expected must be a number or an array of numbers, got 'zero'"),
    row("claim_close-empty", checks.claim_close, ["s", [], []], {"atol": 0.0},
        match=r"claim_close needs non-empty arrays, got shape \(0,\) for 's'"),
    row("claim_close-empty-statement", checks.claim_close, ["", [0.0], [0.0]], {"atol": 0.0},
        match=r"statement must be a non-empty string, got ''"),
    row("claim_between-inverted", checks.claim_between, ["s", 1.0, 2.0, 1.0],
        match=r"low must not exceed high, got low=2.0, high=1.0"),
    row("claim_between-nan-low", checks.claim_between, ["s", 1.0, math.nan, 2.0],
        match=r"low must be a number, got nan; pass -math.inf"),
    row("claim_between-text-high", checks.claim_between, ["s", 1.0, 0.0, "2"], error=TypeError,
        match=r"high must be a real number, got '2'"),
    row("claim_between-text-value", checks.claim_between, ["s", "1", 0.0, 2.0], error=TypeError,
        match=r"value must be a number or an array of numbers, got '1'"),
    row("claim_between-array-value", checks.claim_between, ["s", np.ones(3), 0.0, 2.0],
        match=r"value must be one number, got an array of shape \(3,\)"),
]

PLOTTING = [
    row("is_opaque-none", plotting.is_opaque, [None], error=TypeError,
        match=r"figure must be a matplotlib Figure, got None; for an Axes ax, pass ax.figure"),
]

GRADCHECK = [
    row("relative_error-shapes", gradcheck.relative_error, [[1.0, 2.0], [1.0]],
        match=r"analytic has shape \(2,\) but numeric has shape \(1,\)"),
    row("relative_error-nan", gradcheck.relative_error, [[math.nan], [1.0]],
        match=r"analytic contains a non-finite value nan at index \(0,\); pass finite values"),
    row("relative_error-empty", gradcheck.relative_error, [[], []],
        match=r"analytic is empty \(shape \(0,\)\); pass at least one element"),
    row("relative_error-none", gradcheck.relative_error, [None, [1.0]], error=TypeError,
        match=r"analytic must be an array of real numbers, got None"),
    row("relative_error-text", gradcheck.relative_error, [[1.0], ["a"]], error=TypeError,
        match=r"numeric must be an array of real numbers, got \['a'\] of type list"),
    row("numerical_gradient-not-callable", gradcheck.numerical_gradient, [None, [1.0]], error=TypeError,
        match=r"f must be a function of an array that returns a scalar, got NoneType"),
    row("numerical_gradient-zero-eps", gradcheck.numerical_gradient, [np.sum, [1.0]], {"eps": 0.0},
        match=r"eps must be a finite number > 0, got 0.0"),
    row("numerical_gradient-text-eps", gradcheck.numerical_gradient, [np.sum, [1.0]], {"eps": "small"},
        error=TypeError, match=r"eps must be a positive float, got 'small'"),
    row("numerical_gradient-vector-output", gradcheck.numerical_gradient, [lambda x: x, [1.0, 2.0]],
        error=TypeError, match=r"f must return a scalar, got ndarray of shape \(2,\); reduce it"),
    row("check_gradient-shapes", gradcheck.check_gradient, [np.sum, np.ones(2), np.ones(3)],
        match=r"analytic_gradient has shape \(3,\) but x has shape \(2,\)"),
    row("check_gradient-negative-tolerance", gradcheck.check_gradient, [np.sum, np.ones(2), np.ones(2)],
        {"tolerance": -1.0}, match=r"tolerance must be a finite number > 0, got -1.0"),
    row("check_gradient-inf-x", gradcheck.check_gradient, [np.sum, [1.0, math.inf], np.ones(2)],
        match=r"x contains a non-finite value inf at index \(1,\)"),
    row("check_gradient-none-x", gradcheck.check_gradient, [np.sum, None, np.ones(2)], error=TypeError,
        match=r"x must be an array of real numbers, got None"),
]

CHAIN = [
    row("apply_activation-unknown", chain.apply_activation, ["gelu", [0.0]],
        match=r"activation='gelu' is not supported; use one of \('sigmoid', 'tanh', 'relu'\)"),
    row("apply_activation-none", chain.apply_activation, [None, [0.0]], error=TypeError,
        match=r"activation must be a string, one of .*, got None"),
    row("apply_activation-text-z", chain.apply_activation, ["tanh", "abc"], error=TypeError,
        match=r"z must be a number or an array of numbers, got 'abc'"),
    row("scalar_chain_gradients-zero-depth", chain.scalar_chain_gradients, [0.5, 1.0, 0],
        match=r"depth must be a positive int, got 0"),
    row("scalar_chain_gradients-inf-w", chain.scalar_chain_gradients, [0.5, math.inf, 3],
        match=r"w must be finite, got inf"),
    row("scalar_chain_gradients-text-x1", chain.scalar_chain_gradients, ["0.5", 1.0, 3], error=TypeError,
        match=r"x1 must be a real number, got '0.5'"),
    row("scalar_chain_gradients-unknown-activation", chain.scalar_chain_gradients, [0.5, 1.0, 3, "swish"],
        match=r"activation='swish' is not supported"),
    row("layer_log10_grad_norms-zero-depth", chain.layer_log10_grad_norms, [0],
        match=r"depth must be a positive int, got 0"),
    row("layer_log10_grad_norms-too-deep", chain.layer_log10_grad_norms, [201],
        match=r"depth must be at most 200 so that activations stay finite, got 201"),
    row("layer_log10_grad_norms-weight-scale", chain.layer_log10_grad_norms, [5], {"weight_scale": 4.5},
        match=r"weight_scale must be in \[0, 4.0\], got 4.5"),
    row("layer_log10_grad_norms-nan-bias", chain.layer_log10_grad_norms, [5], {"bias": math.nan},
        match=r"bias must be finite, got nan"),
    row("layer_log10_grad_norms-text-residual", chain.layer_log10_grad_norms, [5], {"residual": "yes"},
        error=TypeError, match=r"residual must be True or False, got 'yes'"),
    row("layer_log10_grad_norms-float-width", chain.layer_log10_grad_norms, [5], {"width": 2.5},
        error=TypeError, match=r"width must be an int, got 2.5"),
    row("layer_log10_grad_norms-negative-seed", chain.layer_log10_grad_norms, [5], {"seed": -1},
        match=r"seed must be at least 0, got -1"),
    row("plot_layer_grad_norms-zero-depth", chain.plot_layer_grad_norms, [], {"depth": 0},
        match=r"depth must be a positive int, got 0"),
    row("plot_layer_grad_norms-unknown-activation", chain.plot_layer_grad_norms, [], {"activation": "gelu"},
        match=r"activation='gelu' is not supported"),
    row("check_sigmoid_depth-text", chain.check_sigmoid_depth, ["20"], error=TypeError,
        match=r"answer must be a number \(int or float\), or None before you have one, got '20'"),
    row("check_he_uniform_bound-zero-width", chain.check_he_uniform_bound, [0.1], {"width": 0},
        match=r"width must be at least 1, got 0"),
    row("check_path_count-long-path", chain.check_path_count, [495], {"depth": 12, "length": 13},
        match=r"length must be at least 0 and at most 12, got 13"),
    row("check_path_count-negative-depth", chain.check_path_count, [495], {"depth": -1},
        match=r"depth must be at least 1, got -1"),
    row("check_tanh_layer_backward-none", chain.check_tanh_layer_backward, [None], error=TypeError,
        match=r"backward must be a function backward\(W, b, x, grad_y\), got NoneType"),
    row("check_tanh_layer_backward-text-output", chain.check_tanh_layer_backward,
        [lambda W, b, x, grad_y: "abc"], error=TypeError,
        match=r"backward returned 'abc'; return dL/dx as an array of shape \(4,\)"),
]

INITIALIZATION = [
    row("init_weight_-vector", initialization.init_weight_, [torch.empty(3), "he"],
        match=r"weight must be a non-empty 2-D tensor \(fan_out, fan_in\), got shape \(3,\)"),
    row("init_weight_-empty", initialization.init_weight_, [torch.empty(0, 3), "standard"],
        match=r"weight must be a non-empty 2-D tensor .*, got shape \(0, 3\)"),
    row("init_weight_-ndarray", initialization.init_weight_, [np.ones((2, 2)), "he"], error=TypeError,
        match=r"weight must be a 2-D torch.Tensor \(fan_out, fan_in\), got ndarray"),
    row("init_weight_-integer-dtype", initialization.init_weight_, [torch.zeros(2, 2, dtype=torch.int64), "he"],
        error=TypeError, match=r"weight must have a floating-point dtype, got torch.int64; create it with dtype="),
    row("init_weight_-unknown-init", initialization.init_weight_, [torch.empty(2, 2), "lecun"],
        match=r"init='lecun' is not supported; use one of \('standard', 'xavier', 'he', 'orthogonal'\)"),
    row("init_weight_-int-generator", initialization.init_weight_, [torch.empty(2, 2), "he"], {"generator": 0},
        error=TypeError, match=r"generator must be a torch.Generator or None, got 0"),
    row("weight_variance-zero-fan-in", initialization.weight_variance, ["he", 0, 3],
        match=r"fan_in must be a positive int, got 0"),
    row("weight_variance-float-fan-out", initialization.weight_variance, ["he", 3, 3.0], error=TypeError,
        match=r"fan_out must be a positive int, got 3.0"),
    row("weight_variance-none-init", initialization.weight_variance, [None, 3, 3], error=TypeError,
        match=r"init must be a string, one of .*, got None"),
    row("per_layer_factor-tanh", initialization.per_layer_factor, ["he", "tanh", 8],
        match=r"activation='tanh' has no closed-form factor; use 'linear' or 'relu'"),
    row("per_layer_factor-zero-width", initialization.per_layer_factor, ["he", "relu", 0],
        match=r"width must be a positive int, got 0"),
    row("jacobian_product-unknown-activation", initialization.jacobian_product_singular_values,
        ["xavier", "gelu", 8, [1]], match=r"activation='gelu' is not supported; use one of"),
    row("jacobian_product-unknown-init", initialization.jacobian_product_singular_values,
        ["lecun", "linear", 8, [1]], match=r"init='lecun' is not supported"),
    row("jacobian_product-zero-depth", initialization.jacobian_product_singular_values,
        ["xavier", "linear", 8, [0, 2]], match=r"depths must be a non-empty list of positive ints .*, got \[0, 2\]"),
    row("jacobian_product-float-depth", initialization.jacobian_product_singular_values,
        ["xavier", "linear", 8, [2.5]], match=r"depths must be .*, got \[2.5\]"),
    row("jacobian_product-no-depths", initialization.jacobian_product_singular_values,
        ["xavier", "linear", 8, []], match=r"depths must be a non-empty list .*, got \[\]"),
    row("jacobian_product-int-depths", initialization.jacobian_product_singular_values,
        ["xavier", "linear", 8, 5], error=TypeError, match=r"depths must be a list of positive ints .*, got 5"),
    row("jacobian_product-negative-seed", initialization.jacobian_product_singular_values,
        ["xavier", "linear", 8, [1]], {"seed": -1}, match=r"seed must be in \[0, 2\*\*64\), got -1"),
    row("jacobian_product-unknown-device", initialization.jacobian_product_singular_values,
        ["xavier", "linear", 8, [1]], {"device": "tpu"},
        match=r"device='tpu' is not a device name; use cpu, cuda or cuda:N"),
    row("singular_values-rectangular", initialization.singular_values, [np.ones((2, 3))],
        match=r"matrix must be a non-empty square 2-D array, got shape \(2, 3\)"),
    row("singular_values-text", initialization.singular_values, [[["a", "b"], ["c", "d"]]], error=TypeError,
        match=r"matrix must be a square array of real numbers, got dtype <U1"),
    row("singular_values-nan", initialization.singular_values, [np.array([[1.0, math.nan], [0.0, 1.0]])],
        match=r"matrix contains NaN or infinite entries; pass a finite matrix"),
    row("glorot_bengio-he", initialization.glorot_bengio_statistics, ["he"],
        match=r"init='he' is not one of Glorot and Bengio's schemes; use 'standard' or 'xavier'"),
    row("glorot_bengio-zero-layers", initialization.glorot_bengio_statistics, ["xavier"], {"num_layers": 0},
        match=r"num_layers must be a positive int, got 0"),
    row("glorot_bengio-float-width", initialization.glorot_bengio_statistics, ["xavier"], {"width": 8.0},
        error=TypeError, match=r"width must be a positive int, got 8.0"),
    row("glorot_bengio-text-seed", initialization.glorot_bengio_statistics, ["xavier"], {"seed": "0"},
        error=TypeError, match=r"seed must be a non-negative int, got '0'"),
]

NUMPY_NN = [
    row("Linear-zero-inputs", numpy_nn.Linear, [0, 3], match=r"in_features must be a positive int, got 0"),
    row("Linear-float-outputs", numpy_nn.Linear, [3, 2.0], error=TypeError,
        match=r"out_features must be a positive int, got 2.0"),
    row("Linear-unknown-init", numpy_nn.Linear, [3, 2], {"init": "orthogonal"},
        match=r"init must be one of \('he', 'xavier', 'standard'\), got 'orthogonal'"),
    row("Linear-text-rng", numpy_nn.Linear, [3, 2], {"rng": "0"}, error=TypeError,
        match=r"rng must be a np.random.Generator, an int seed or None, got str"),
    row("Linear-negative-rng", numpy_nn.Linear, [3, 2], {"rng": -1},
        match=r"rng must be a non-negative int seed, a np.random.Generator or None, got -1"),
    row("Linear.forward-features", linear.forward, [np.ones((4, 5))],
        match=r"X has 5 features but this Linear expects 3"),
    row("Linear.forward-vector", linear.forward, [np.ones(3)],
        match=r"X must have shape \(batch, features\), got shape \(3,\); reshape it"),
    row("Linear.forward-none", linear.forward, [None], error=TypeError,
        match=r"X must be an array of real numbers, got None"),
    row("Linear.backward-shape", linear_after_forward.backward, [np.ones((4, 5))],
        match=r"dY must have shape \(4, 2\).*got shape \(4, 5\)"),
    row("ReLU.forward-text", numpy_nn.ReLU().forward, ["abc"], error=TypeError,
        match=r"X must be an array of real numbers, got 'abc'"),
    row("ReLU.backward-before-forward", numpy_nn.ReLU().backward, [np.ones((2, 3))], error=RuntimeError,
        match=r"ReLU.backward was called before forward; call forward\(X\) first"),
    row("Tanh.forward-text", numpy_nn.Tanh().forward, ["abc"], error=TypeError,
        match=r"X must be an array of real numbers, got 'abc'"),
    row("Tanh.backward-before-forward", numpy_nn.Tanh().backward, [np.ones((2, 3))], error=RuntimeError,
        match=r"Tanh.backward was called before forward; call forward\(X\) first"),
    row("Sigmoid.forward-none", numpy_nn.Sigmoid().forward, [None], error=TypeError,
        match=r"X must be an array of real numbers, got None"),
    row("Sigmoid.backward-before-forward", numpy_nn.Sigmoid().backward, [np.ones((2, 3))], error=RuntimeError,
        match=r"Sigmoid.backward was called before forward; call forward\(X\) first"),
    row("sigmoid-text", numpy_nn.sigmoid, ["abc"], error=TypeError,
        match=r"z must be an array of real numbers, got 'abc'"),
    row("Sequential-single-layer", numpy_nn.Sequential, [linear], error=TypeError,
        match=r"layers must be a list of Layers, got a Linear; wrap one layer as Sequential\(\[layer\]\)"),
    row("Sequential-text-layer", numpy_nn.Sequential, [[linear, "relu"]], error=TypeError,
        match=r"layer 1 is a str, not a helpers.numpy_nn.Layer"),
    row("Sequential.forward-features", small_mlp.forward, [np.ones((2, 5))],
        match=r"X has 5 features but this Linear expects 4"),
    row("Sequential.backward-before-forward", numpy_nn.mlp(3, 5, 4, 3, rng=0).backward, [np.ones((2, 3))],
        error=RuntimeError, match=r"Linear.backward was called before forward; call forward\(X\) first"),
    row("Residual-text-block", numpy_nn.Residual, ["block"], error=TypeError,
        match=r"block must be a helpers.numpy_nn.Layer, got str"),
    row("Residual-inf-scale", numpy_nn.Residual, [numpy_nn.ReLU()], {"scale": math.inf},
        match=r"scale must be a finite number, got inf"),
    row("Residual-text-scale", numpy_nn.Residual, [numpy_nn.ReLU()], {"scale": "1"}, error=TypeError,
        match=r"scale must be a finite number, got '1'"),
    row("Residual.forward-shape", numpy_nn.Residual(numpy_nn.Linear(3, 2, rng=0)).forward, [np.ones((4, 3))],
        match=r"the block maps shape \(4, 3\) to \(4, 2\); a residual block must keep the shape"),
    row("log_softmax-no-classes", numpy_nn.log_softmax, [np.ones((2, 0))],
        match=r"logits must have at least one class along the last axis, got shape \(2, 0\)"),
    row("log_softmax-text", numpy_nn.log_softmax, ["abc"], error=TypeError,
        match=r"logits must be an array of real numbers, got 'abc'"),
    row("softmax_cross_entropy-label-range", numpy_nn.softmax_cross_entropy, [np.zeros((2, 3)), np.array([0, 3])],
        match=r"labels must lie in \[0, 3\), got values from 0 to 3"),
    row("softmax_cross_entropy-float-labels", numpy_nn.softmax_cross_entropy,
        [np.zeros((2, 3)), np.array([0.0, 1.0])], match=r"y must be integer labels of shape \(2,\), got float64"),
    row("softmax_cross_entropy-empty", numpy_nn.softmax_cross_entropy,
        [np.zeros((0, 3)), np.array([], dtype=np.int64)],
        match=r"logits has shape \(0, 3\); pass at least one example and one class"),
    row("SGD-zero-lr", numpy_nn.SGD, [0.0], match=r"lr must be a finite number > 0, got 0.0"),
    row("SGD-text-lr", numpy_nn.SGD, ["0.1"], error=TypeError, match=r"lr must be a finite number > 0, got '0.1'"),
    row("SGD.step-none", numpy_nn.SGD(0.1).step, [None], error=TypeError,
        match=r"step expects a Layer or a list of layers, got None"),
    row("Adam-beta-one", numpy_nn.Adam, [], {"betas": (0.9, 1.0)},
        match=r"betas must be two numbers in \[0, 1\), got \(0.9, 1.0\)"),
    row("Adam-scalar-betas", numpy_nn.Adam, [], {"betas": 0.9}, error=TypeError,
        match=r"betas must be a tuple of two numbers such as \(0.9, 0.999\), got 0.9"),
    row("Adam-zero-eps", numpy_nn.Adam, [], {"eps": 0.0}, match=r"eps must be a finite number > 0 .*, got 0.0"),
    row("Adam-text-eps", numpy_nn.Adam, [], {"eps": "1e-8"}, error=TypeError,
        match=r"eps must be a small positive number such as 1e-8, got '1e-8'"),
    row("Adam.step-text", numpy_nn.Adam().step, ["model"], error=TypeError,
        match=r"step expects a Layer or a list of layers, got a str"),
    row("mlp-depth-one", numpy_nn.mlp, [1, 8, 4, 3],
        match=r"depth counts Linear layers and must be an int >= 2, got 1"),
    row("mlp-float-depth", numpy_nn.mlp, [4.0, 8, 4, 3], error=TypeError,
        match=r"depth counts Linear layers and must be an int >= 2, got 4.0"),
    row("mlp-zero-width", numpy_nn.mlp, [4, 0, 4, 3], match=r"width must be a positive int, got 0"),
    row("mlp-unknown-activation", numpy_nn.mlp, [4, 8, 4, 3], {"activation": "gelu"},
        match=r"activation must be one of \('relu', 'tanh', 'sigmoid'\), got 'gelu'"),
    row("mlp-unknown-init", numpy_nn.mlp, [4, 8, 4, 3], {"init": "lecun"},
        match=r"init must be one of .*, got 'lecun'"),
    row("mlp-text-residual", numpy_nn.mlp, [4, 8, 4, 3], {"residual": "yes"}, error=TypeError,
        match=r"residual must be True or False, got 'yes'"),
    row("mlp-branch-scale-plain", numpy_nn.mlp, [4, 8, 4, 3], {"branch_scale": 0.5},
        match=r"branch_scale=0.5 only applies to residual blocks; pass residual=True"),
]

NUMPY_EXPERIMENTS = [
    row("error_rate-text-model", numpy_experiments.error_rate, ["model", X, y], error=TypeError,
        match=r"model must be a helpers.numpy_nn.Layer such as mlp\(...\), got str"),
    row("error_rate-column-labels", numpy_experiments.error_rate, [small_mlp, X, y[:, None]],
        match=r"y must be integer labels of shape \(6,\), got int64 of shape \(6, 1\)"),
    row("error_rate-vector-X", numpy_experiments.error_rate, [small_mlp, X[0], y],
        match=r"X must be a non-empty array of shape \(examples, features\), got shape \(4,\)"),
    row("train-oversized-batch", numpy_experiments.train, [small_mlp, X, y, numpy_nn.SGD(0.1)],
        {"epochs": 1, "batch_size": 7, "rng": np.random.default_rng(0)},
        match=r"batch_size must be an int from 1 to 6, got 7"),
    row("train-negative-epochs", numpy_experiments.train, [small_mlp, X, y, numpy_nn.SGD(0.1)],
        {"epochs": -1, "batch_size": 2, "rng": np.random.default_rng(0)},
        match=r"epochs must be an int from 0 to 10000, got -1"),
    row("train-int-rng", numpy_experiments.train, [small_mlp, X, y, numpy_nn.SGD(0.1)],
        {"epochs": 1, "batch_size": 2, "rng": 0}, error=TypeError,
        match=r"rng must be a np.random.Generator such as np.random.default_rng\(0\), got 0"),
    row("train-text-optimizer", numpy_experiments.train, [small_mlp, X, y, "sgd"],
        {"epochs": 1, "batch_size": 2, "rng": np.random.default_rng(0)}, error=TypeError,
        match=r"optimizer must have a step\(model\) method, such as SGD\(0.1\), got str"),
    row("train_mlp-float-labels", numpy_experiments.train_mlp, [4, False, X, y.astype(float)],
        match=r"y must be integer labels of shape \(6,\), got float64"),
    row("train_mlp-negative-seed", numpy_experiments.train_mlp, [4, False, X, y], {"seed": -1},
        match=r"seed must be an int >= 0, got -1"),
    row("train_mlp-depth-one", numpy_experiments.train_mlp, [1, False, X, y],
        match=r"depth counts Linear layers and must be an int >= 2, got 1"),
    row("train_mlp-zero-lr", numpy_experiments.train_mlp, [4, False, X, y], {"lr": 0},
        match=r"lr must be a finite number > 0, got 0"),
    row("gradient_norms_by_layer-linear", numpy_experiments.gradient_norms_by_layer, [linear, X, y],
        error=TypeError, match=r"model must be a helpers.numpy_nn.Sequential, got Linear"),
    row("input_output_jacobian-batch", numpy_experiments.input_output_jacobian, [small_mlp, X],
        match=r"x must be one example of shape \(in_features,\), got shape \(6, 4\)"),
    row("input_output_jacobian-none-model", numpy_experiments.input_output_jacobian, [None, X[0]],
        error=TypeError, match=r"model must be a helpers.numpy_nn.Layer.*got NoneType"),
    row("gradient_profiles-depth-one", numpy_experiments.gradient_profiles, [1, 8],
        match=r"depth must be an int from 2 to 200, got 1"),
    row("gradient_profiles-unknown-init", numpy_experiments.gradient_profiles, [4, 8], {"init": "orthogonal"},
        match=r"init must be one of \('he', 'xavier', 'standard'\), got 'orthogonal'"),
    row("gradient_profiles-negative-seed", numpy_experiments.gradient_profiles, [4, 8], {"seed": -1},
        match=r"seed must be an int >= 0, got -1"),
    row("hidden_ratio-one-layer", numpy_experiments.hidden_ratio, [[1.0]],
        match=r"norms must be a 1-D array of at least 2 layers, got shape \(1,\)"),
    row("hidden_ratio-nan", numpy_experiments.hidden_ratio, [[1.0, math.nan]],
        match=r"norms must be non-negative numbers without NaN, got array\(\[ ?1\., +nan\]\)"),
    row("plot_gradient_profiles-too-deep", numpy_experiments.plot_gradient_profiles, [], {"depth": 201},
        match=r"depth must be an int from 2 to 200, got 201"),
    row("plot_gradient_profiles-wide", numpy_experiments.plot_gradient_profiles, [], {"width": 2048},
        match=r"width must be an int from 1 to 1024, got 2048"),
    row("check_leaky_relu-class", numpy_experiments.check_leaky_relu, [numpy_nn.ReLU], error=TypeError,
        match=r"layer must be an instance, got the class ReLU; pass ReLU\(\)"),
    row("check_leaky_relu-text", numpy_experiments.check_leaky_relu, ["layer"], error=TypeError,
        match=r"layer must have forward and backward methods, got str"),
    row("check_leaky_relu-nan-slope", numpy_experiments.check_leaky_relu, [numpy_nn.ReLU()],
        {"negative_slope": math.nan}, match=r"negative_slope must be a finite number such as 0.01, got nan"),
    row("check_sum_bug_ratio-text", numpy_experiments.check_sum_bug_ratio, ["32"], error=TypeError,
        match=r"answer must be a number or None, got '32' of type str"),
    row("check_sum_bug_ratio-zero-batch", numpy_experiments.check_sum_bug_ratio, [32], {"batch_size": 0},
        match=r"batch_size must be an int >= 1, got 0"),
    row("check_total_growth-zero-blocks", numpy_experiments.check_total_growth, [2.7], {"num_blocks": 0},
        match=r"num_blocks must be an int >= 1, got 0"),
]

DATA = [
    row("load_digits-fraction-above-one", data.load_digits, [], {"test_fraction": 1.5},
        match=r"test_fraction must be in \(0, 1\), got 1.5"),
    row("load_digits-text-fraction", data.load_digits, [], {"test_fraction": "0.25"}, error=TypeError,
        match=r"test_fraction must be a float in \(0, 1\), got '0.25'"),
    row("load_digits-tiny-fraction", data.load_digits, [], {"test_fraction": 0.001},
        match=r"test_fraction=0.001 leaves 2 of 1797 examples for testing"),
    row("load_digits-negative-seed", data.load_digits, [], {"seed": -1}, match=r"seed must be in \[0, 2\*\*32\), got -1"),
    row("load_digits-float-seed", data.load_digits, [], {"seed": 1.5}, error=TypeError,
        match=r"seed must be a non-negative int, got 1.5"),
    row("load_digits-text-images", data.load_digits, [], {"images": "yes"}, error=TypeError,
        match=r"images must be True or False, got 'yes'"),
]

TRANSFORMER = [
    row("check_positive_int-zero", transformer.check_positive_int, ["hidden_size", 0],
        match=r"hidden_size must be a positive int, got 0"),
    row("check_seed-negative", transformer.check_seed, [-1], match=r"seed must be a non-negative int, got -1"),
    row("additive_attention_mask-3d", transformer.additive_attention_mask, [torch.ones(2, 1, 5), torch.float32],
        match=r"attention_mask must have shape \(batch, seq\) .*, got shape \(2, 1, 5\)"),
    row("additive_attention_mask-list", transformer.additive_attention_mask, [[[1, 0]], torch.float32],
        error=TypeError, match=r"attention_mask must be a torch.Tensor.*got list"),
    row("additive_attention_mask-int-dtype", transformer.additive_attention_mask, [torch.ones(2, 5), torch.int64],
        error=TypeError, match=r"dtype must be a floating-point dtype.*torch.int64"),
    row("MultiHeadSelfAttention-heads-divide", transformer.MultiHeadSelfAttention, [10, 3],
        match=r"hidden_size=10 is not divisible by num_attention_heads=3; choose a number of heads that divides 10"),
    row("MultiHeadSelfAttention-zero-heads", transformer.MultiHeadSelfAttention, [8, 0],
        match=r"num_attention_heads must be a positive int, got 0"),
    row("MultiHeadSelfAttention-dropout-one", transformer.MultiHeadSelfAttention, [8, 2],
        {"attention_probs_dropout_prob": 1.0},
        match=r"attention_probs_dropout_prob must be a probability in \[0, 1\), got 1.0"),
    row("MultiHeadSelfAttention.forward-2d", attention.forward, [torch.ones(2, 8)],
        match=r"hidden_states must have shape \(batch, seq, hidden\), got \(2, 8\)"),
    row("MultiHeadSelfAttention.forward-mask-shape", attention.forward, [torch.ones(2, 5, 8), torch.ones(2, 4)],
        match=r"attention_mask has shape \(2, 4\), expected \(batch, seq\) = \(2, 5\)"),
    row("MultiHeadSelfAttention.forward-hidden-size", attention.forward, [torch.ones(2, 5, 6)],
        match=r"hidden_states has hidden size 6.*8"),
    row("MultiHeadSelfAttention.attention_probs-2d", attention.attention_probs, [torch.ones(2, 8)],
        match=r"hidden_states must have shape \(batch, seq, hidden\), got \(2, 8\)"),
    row("FeedForward-unknown-activation", transformer.FeedForward, [8, 16], {"hidden_act": "swish"},
        match=r"hidden_act='swish' is not supported; use one of \['gelu', 'gelu_new', 'relu'\]"),
    row("FeedForward-zero-intermediate", transformer.FeedForward, [8, 0],
        match=r"intermediate_size must be a positive int, got 0"),
    row("FeedForward.forward-hidden-size", transformer.FeedForward(8, 16).forward, [torch.ones(2, 5, 6)],
        match=r"hidden_states has hidden size 6.*8"),
    row("EncoderLayer-unknown-ln-position", transformer.EncoderLayer, [8, 2, 16], {"ln_position": "middle"},
        match=r"ln_position='middle' is not supported; use 'post' \(RoBERTa\), 'pre'"),
    row("EncoderLayer-text-residual", transformer.EncoderLayer, [8, 2, 16], {"residual": "yes"}, error=TypeError,
        match=r"residual must be True or False, got 'yes'"),
    row("EncoderLayer-int-rezero", transformer.EncoderLayer, [8, 2, 16], {"rezero": 1}, error=TypeError,
        match=r"rezero must be True or False, got 1"),
    row("EncoderLayer-negative-eps", transformer.EncoderLayer, [8, 2, 16], {"layer_norm_eps": -1.0},
        match=r"layer_norm_eps must be a positive float, got -1.0"),
    row("EncoderLayer-zero-shortcut-scale", transformer.EncoderLayer, [8, 2, 16], {"shortcut_scale": 0.0},
        match=r"shortcut_scale must be a positive number \(1.0 for a plain residual\), got 0.0"),
    row("EncoderLayer-heads-divide", transformer.EncoderLayer, [10, 3, 16],
        match=r"hidden_size=10 is not divisible by num_attention_heads=3"),
    row("EncoderLayer.forward-2d", transformer.EncoderLayer(8, 2, 16).forward, [torch.ones(2, 8)],
        match=r"hidden_states must have shape \(batch, seq, hidden\), got \(2, 8\)"),
    row("Encoder-zero-layers", transformer.Encoder, [0, 8], {"num_attention_heads": 2, "intermediate_size": 16},
        match=r"num_hidden_layers must be a positive int, got 0"),
    row("Encoder.forward-2d", encoder.forward, [torch.ones(2, 8)],
        match=r"hidden_states must have shape \(batch, seq, hidden\), got \(2, 8\)"),
    row("xavier_init_-text", transformer.xavier_init_, ["model"], error=TypeError,
        match=r"module must be a torch.nn.Module, got str"),
    row("deepnorm_constants-zero", transformer.deepnorm_constants, [0], match=r"num_layers must be a positive int, got 0"),
    row("deepnorm_init_-linear", transformer.deepnorm_init_, [nn.Linear(2, 2), 0.5], error=TypeError,
        match=r"encoder must be a helpers.transformer.Encoder, got Linear"),
    row("deepnorm_init_-negative-beta", transformer.deepnorm_init_, [encoder, -1.0],
        match=r"beta must be a positive number such as deepnorm_constants\(num_layers\)\[1\], got -1.0"),
    row("build_encoder-unknown-variant", transformer.build_encoder, ["postln", 2, 8, 2, 16],
        match=r"variant='postln' is not supported; use one of \['post', 'pre', 'rezero', 'deepnorm'\]"),
    row("build_encoder-zero-layers", transformer.build_encoder, ["pre", 0, 8, 2, 16],
        match=r"num_layers must be a positive int, got 0"),
]

GRAD_NORMS = [
    row("group_name-zero", grad_norms.group_name, ["layers.0.weight", 0],
        match=r"group must be None, a positive int or a callable, got 0"),
    row("group_name-callable-returns-int", grad_norms.group_name, ["layers.0.weight", lambda name: 3],
        error=TypeError, match=r"group\('layers.0.weight'\) returned 3 of type int; the callable must return"),
    row("squared_norm-list", grad_norms.squared_norm, [[1.0, 2.0]], error=TypeError,
        match=r"grad must be a torch.Tensor, got list"),
    row("grad_norms-text-module", grad_norms.grad_norms, ["model"], error=TypeError,
        match=r"module must be a torch.nn.Module, got str"),
    row("grad_norms-frozen", grad_norms.grad_norms, [frozen], match=r"module has no trainable parameters"),
    row("grad_norms-text-group", grad_norms.grad_norms, [with_gradients], {"group": "layers"},
        match=r"group must be None, a positive int or a callable, got 'layers'"),
]

TABLE = (
    RUNTIME + CHECKS + PLOTTING + GRADCHECK + CHAIN + INITIALIZATION + NUMPY_NN + NUMPY_EXPERIMENTS + DATA
    + TRANSFORMER + GRAD_NORMS
)


@pytest.mark.parametrize("function, args, kwargs, error, match", TABLE)
def test_bad_input_raises_clear_error(function, args, kwargs, error, match):
    with pytest.raises(error) as raised:
        function(*args, **kwargs)
    assert type(raised.value) is error, f"raised {type(raised.value).__name__}: {raised.value}"
    assert re.search(match, str(raised.value)), f"message {str(raised.value)!r} does not match {match!r}"


def test_table_ids_are_unique():
    ids = [param.id for param in TABLE]
    assert len(ids) == len(set(ids))
