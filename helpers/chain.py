"""Deep chains of layers: why gradients vanish or explode, and what a residual changes (introduced in 01).

Backpropagation through ``L`` layers multiplies ``L`` local derivatives, so the
gradient reaching the first layer is a product of ``L`` factors. This module
computes those products for a scalar chain ``x_{l+1} = phi(w x_l + b)`` and for
a random deep network, with or without residual connections, and draws the
per-layer gradient norms for the interactive figure of 01. It also contains
the self-check functions of 01's exercises.

Layers are numbered ``l = 1 .. L``; ``x_l`` is the input of layer ``l``, so
``x_1`` is the network's input and ``x_{L+1}`` its output.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, MaxNLocator
from scipy.special import expit

from helpers.checks import report_answer
from helpers.gradcheck import check_gradient
from helpers.plotting import PALETTE, PLAIN, RESIDUAL

ACTIVATIONS = ("sigmoid", "tanh", "relu")
# At depth 200 and weight scale 4, ReLU activations reach about 1e100, well below float64's 1e308.
MAX_DEPTH = 200
MAX_WEIGHT_SCALE = 4.0


def apply_activation(activation: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``phi(z)`` and the derivative ``phi'(z)`` for ``activation`` in ``ACTIVATIONS``.

    The derivatives are written so that they stay accurate far into
    saturation: ``sigma'(z) = sigma(z) sigma(-z)`` and ``tanh'(z) = sech(z)^2``
    lose nothing to ``1 - 1.0``. ``relu'(0)`` is 0, as in torch.
    """
    _check_activation(activation)
    z = _as_float_array("z", z)
    if activation == "sigmoid":
        return expit(z), expit(z) * expit(-z)
    if activation == "tanh":
        decay = np.exp(-2.0 * np.abs(z))  # e^{-2|z|} <= 1, so nothing overflows
        return np.tanh(z), 4.0 * decay / (1.0 + decay) ** 2
    if activation == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(np.float64)
    raise ValueError(f"activation={activation!r} is not supported; use one of {ACTIVATIONS}")


def scalar_chain_gradients(
    x1: float, w: float, depth: int, activation: str = "sigmoid", bias: float = 0.0
) -> np.ndarray:
    """Return ``d x_{l+1} / d x_1`` for ``l = 1 .. depth`` of the chain ``x_{l+1} = phi(w x_l + bias)``.

    Entry ``l - 1`` is the product of the first ``l`` local derivatives
    ``w phi'(w x_l + bias)``, computed in float64.
    """
    _check_depth(depth, max_depth=None)
    for name, value in (("x1", x1), ("w", w), ("bias", bias)):
        _check_finite(name, value)
    x = float(x1)
    local_derivatives = np.empty(depth)
    for layer in range(depth):
        x, derivative = apply_activation(activation, w * x + bias)
        local_derivatives[layer] = w * derivative
    return np.cumprod(local_derivatives)


def layer_log10_grad_norms(
    depth: int,
    activation: str = "tanh",
    weight_scale: float = 1.0,
    residual: bool = False,
    *,
    bias: float = 0.0,
    width: int = 64,
    seed: int = 0,
) -> np.ndarray:
    """Return ``log10 ||dL/dx_l||`` for ``l = 1 .. depth + 1`` of a random deep network.

    Layer ``l`` computes ``phi(W_l x_l + bias)``, added to ``x_l`` when
    ``residual`` is on. Each ``W_l`` has N(0, weight_scale^2 / width) entries,
    so ``weight_scale=1`` is Xavier's variance and ``sqrt(2)`` is He's. The
    gradient at the output is a random unit vector. The backward pass
    renormalises the gradient at every layer and sums the logarithms of the
    scale factors, so a norm of 1e-500 is returned as -500 instead of
    underflowing. An entry is ``-inf`` only where the gradient is exactly zero
    (every ReLU unit of a layer inactive, or ``weight_scale=0``).
    """
    _check_depth(depth, max_depth=MAX_DEPTH)
    _check_finite("weight_scale", weight_scale)
    if not 0.0 <= weight_scale <= MAX_WEIGHT_SCALE:
        raise ValueError(f"weight_scale must be in [0, {MAX_WEIGHT_SCALE}], got {weight_scale!r}")
    _check_finite("bias", bias)
    if not isinstance(residual, (bool, np.bool_)):
        raise TypeError(f"residual must be True or False, got {residual!r}")
    _check_activation(activation)
    _check_count("width", width, low=1)
    _check_count("seed", seed, low=0)

    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, weight_scale / math.sqrt(width), size=(depth, width, width))
    x = rng.normal(size=width)
    derivatives = []
    for layer in range(depth):
        y, derivative = apply_activation(activation, W[layer] @ x + bias)
        x = x + y if residual else y  # the residual addition, x_{l+1} = x_l + F_l(x_l)
        derivatives.append(derivative)

    grad = rng.normal(size=width)
    grad /= np.linalg.norm(grad)  # dL/dx_{L+1}, a unit vector
    log10_norms = np.full(depth + 1, -np.inf)
    log10_norms[depth] = 0.0
    for layer in reversed(range(depth)):
        grad_branch = W[layer].T @ (derivatives[layer] * grad)
        grad = grad + grad_branch if residual else grad_branch
        norm = np.linalg.norm(grad)
        if norm == 0.0:
            break  # exactly zero, so every layer below receives exactly zero too
        log10_norms[layer] = log10_norms[layer + 1] + math.log10(norm)
        grad /= norm
    return log10_norms


def plot_layer_grad_norms(
    depth: int = 50,
    activation: str = "tanh",
    weight_scale: float = 1.0,
    residual: bool = False,
    bias: float = 0.0,
) -> Figure:
    """Draw ``||dL/dx_l||`` against the layer ``l`` on a log scale; the callback of 01's interactive figure.

    Layers whose gradient is exactly zero are drawn as crosses on a floor
    below the smallest nonzero norm and labelled "exactly 0", because a log
    scale has no place for 0. The figure is not registered with pyplot, so
    calling this repeatedly opens no windows and keeps no figures alive.
    """
    log10_norms = layer_log10_grad_norms(depth, activation, weight_scale, residual, bias=bias)
    layers = np.arange(1, depth + 2)
    zero = np.isneginf(log10_norms)
    finite = log10_norms[~zero]
    lowest, highest = math.floor(finite.min()), math.ceil(finite.max())  # whole decades
    if lowest == highest:
        lowest, highest = lowest - 1, highest + 1
    span = highest - lowest
    floor = lowest - 0.15 * span  # where exact zeros are drawn

    figure = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = figure.add_subplot()
    colour = RESIDUAL if residual else PLAIN
    ax.plot(layers[~zero], finite, marker="o", markersize=3, color=colour, label="gradient norm")
    if zero.any():
        ax.plot(layers[zero], np.full(zero.sum(), floor), "x", color=PALETTE["black"], label="exactly 0")
        ax.annotate(f"exactly 0 at layers 1 to {int(layers[zero].max())}", (1, floor),
                    xytext=(4, 6), textcoords="offset points", fontsize=10)  # fmt: skip
    _set_log10_ticks(ax, lowest, highest, floor if zero.any() else None)
    ax.set_xlim(0, depth + 2)

    kind = "residual" if residual else "plain"
    ax.set_title(f"{kind} {activation} net, depth {depth}, weight scale {weight_scale:g}, bias {bias:g}")
    ax.set_xlabel(r"layer $l$ (the output is $l$ = depth + 1)")
    ax.set_ylabel(r"$\|\partial \mathcal{L} / \partial x_l\|$ (log scale)")
    ax.legend(loc="best")
    return figure


def _set_log10_ticks(ax, lowest: int, highest: int, floor: float | None) -> None:
    """Label a y-axis that contains log10 values like a log scale, with a tick "0" at ``floor`` if given."""
    locator = MaxNLocator(nbins=6, integer=True, steps=[1, 2, 5, 10])
    ticks = [float(tick) for tick in locator.tick_values(lowest, highest) if lowest <= tick <= highest]
    labels = [f"$10^{{{int(tick)}}}$" for tick in ticks]
    minor = []
    if highest - lowest <= 8:  # minor ticks at 2..9 times each power of ten, as on a log axis
        minor = [decade + math.log10(k) for decade in range(lowest, highest) for k in range(2, 10)]
    if floor is not None:
        ticks, labels = [floor, *ticks], ["0", *labels]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FixedFormatter(labels))
    ax.yaxis.set_minor_locator(FixedLocator(minor))
    span = highest - lowest
    ax.set_ylim(lowest if floor is None else floor - 0.08 * span, highest)


# Self-checks for the exercises of 01. Each prints a verdict and returns True for a correct answer.


def check_sigmoid_depth(answer: int) -> bool:
    """Check the smallest depth ``L`` at which the bound ``(|w|/4)^L`` for ``w = 2`` is below 1e-6."""
    _check_answer(answer)
    expected = math.ceil(math.log(1e-6) / math.log(2 / 4))
    return report_answer(answer, expected, isinstance(answer, (int, np.integer)) and answer == expected,
                   hint="solve (1/2)^L < 1e-6 for the smallest integer L")  # fmt: skip


def check_he_uniform_bound(answer: float, width: int = 1000) -> bool:
    """Check the bound ``a`` of U[-a, a] that gives a ReLU layer of ``width`` inputs He's variance 2/width."""
    _check_answer(answer)
    _check_count("width", width, low=1)
    expected = math.sqrt(6 / width)
    correct = isinstance(answer, (int, float, np.floating)) and math.isclose(answer, expected, rel_tol=1e-3)
    return report_answer(answer, expected, correct, hint="U[-a, a] has variance a^2/3; set it equal to 2/width")


def check_path_count(answer: int, depth: int = 12, length: int = 4) -> bool:
    """Check how many of the 2^depth paths through a residual stack pass through exactly ``length`` branches."""
    _check_answer(answer)
    _check_count("depth", depth, low=1)
    _check_count("length", length, low=0, high=depth)
    expected = math.comb(depth, length)
    correct = isinstance(answer, (int, np.integer)) and answer == expected
    return report_answer(answer, expected, correct, hint="a path chooses, for each block, the branch or the shortcut")


def check_tanh_layer_backward(backward: Callable) -> bool:
    """Check that ``backward(W, b, x, grad_y)`` returns ``dL/dx`` for ``y = tanh(W x + b)``.

    ``grad_y`` is ``dL/dy``. The answer is compared with central differences
    of ``L = grad_y . tanh(W x + b)`` at a random point.
    """
    if not callable(backward):
        raise TypeError(f"backward must be a function backward(W, b, x, grad_y), got {type(backward).__name__}")
    rng = np.random.default_rng(1)
    W, b, x, grad_y = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=4), rng.normal(size=3)
    answer = backward(W, b, x, grad_y)
    if answer is None:
        print("No answer yet: make backward return dL/dx.")
        return False
    try:
        answer = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"backward returned {answer!r}; return dL/dx as an array of shape {x.shape}") from error
    if answer.shape != x.shape:
        print(f"Not yet: dL/dx must have the shape of x, {x.shape}, got {answer.shape}.")
        return False
    result = check_gradient(lambda v: float(grad_y @ np.tanh(W @ v + b)), x, answer, tolerance=1e-6)
    if result.passed:
        print(f"Correct: the largest relative error against central differences is {result.max_relative_error:.1e}.")
    else:
        print(f"Not yet: at index {result.worst_index} you return {result.analytic:.4g}, "
              f"central differences give {result.numeric:.4g}. Hint: multiply by tanh' first, then by W^T.")  # fmt: skip
    return result.passed




def _check_depth(depth: int, max_depth: int | None) -> None:
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
        raise ValueError(f"depth must be a positive int, got {depth!r}")
    if max_depth is not None and depth > max_depth:
        raise ValueError(f"depth must be at most {max_depth} so that activations stay finite, got {depth}")


def _check_activation(activation: str) -> None:
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a string, one of {ACTIVATIONS}, got {activation!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation={activation!r} is not supported; use one of {ACTIVATIONS}")


def _check_count(name: str, value: int, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < low or (high is not None and value > high):
        upper = "" if high is None else f" and at most {high}"
        raise ValueError(f"{name} must be at least {low}{upper}, got {value!r}")


def _check_answer(answer) -> None:
    if answer is not None and (isinstance(answer, bool) or not isinstance(answer, (int, float, np.integer, np.floating))):
        raise TypeError(f"answer must be a number (int or float), or None before you have one, got {answer!r}")


def _as_float_array(name: str, value) -> np.ndarray:
    if value is None or isinstance(value, (str, bytes)):  # np.asarray would turn None into nan
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from error


def _check_finite(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
