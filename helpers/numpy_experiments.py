"""Plain against residual MLPs in NumPy: training, gradient norms, Jacobians (introduced in 02).

Everything here runs the layers of :mod:`helpers.numpy_nn` on scikit-learn's
8x8 digits. The figure function behind the notebook's interactive plot and the
self-checks of its exercises are here too, so that tests can call them.
"""

from __future__ import annotations

import math
from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits

from helpers.data import load_digits
from helpers.checks import report_answer
from helpers.gradcheck import check_gradient
from helpers.numpy_nn import SGD, INITS, Layer, Sequential, mlp, softmax_cross_entropy
from helpers.plotting import PALETTE, PLAIN, RESIDUAL

NUM_CLASSES = 10
# The matrices here are at most 1347 x 64, too small for several BLAS threads to pay off. On a
# busy 2-core machine the extra threads' spinning tripled the CPU time of the notebook's training
# runs (32 s against 11 s with one thread), so the loops below run with one BLAS thread.
BLAS_THREADS = 1
MAX_DEPTH = 200
MAX_WIDTH = 1024


def _check_int_range(name: str, value: int, low: int, high: int | None = None) -> None:
    expected = f"an int from {low} to {high}" if high is not None else f"an int >= {low}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {expected}, got {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be {expected}, got {value!r}")


def _check_model(model: Layer) -> None:
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a helpers.numpy_nn.Layer such as mlp(...), got {type(model).__name__}")


def _check_data(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``X`` and ``y`` as arrays after checking that they are a batch of features and its labels."""
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"X must be an array of real numbers, got {type(X).__name__}") from error
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"X must be a non-empty array of shape (examples, features), got shape {X.shape}")
    y = np.asarray(y)
    if y.shape != (len(X),) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be integer labels of shape ({len(X)},), got {y.dtype} of shape {y.shape}")
    return X, y


def error_rate(model: Layer, X: np.ndarray, y: np.ndarray) -> float:
    """Return the fraction of examples whose largest logit is not the label."""
    _check_model(model)
    X, y = _check_data(X, y)
    return float(np.mean(model.forward(X).argmax(axis=1) != y))


def train(
    model: Layer,
    X: np.ndarray,
    y: np.ndarray,
    optimizer,
    *,
    epochs: int,
    batch_size: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Train ``model`` with mini-batches and return its training curves.

    Returns ``{"loss": ..., "error": ...}``, each with ``epochs + 1`` values:
    the full training set's mean loss and error rate at initialisation and
    after every epoch. ``rng`` shuffles the examples each epoch.
    """
    _check_model(model)
    X, y = _check_data(X, y)
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer must have a step(model) method, such as SGD(0.1), got {type(optimizer).__name__}")
    _check_int_range("epochs", epochs, 0, 10_000)
    _check_int_range("batch_size", batch_size, 1, len(X))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator such as np.random.default_rng(0), got {rng!r}")
    history = {"loss": [], "error": []}

    def record() -> None:
        logits = model.forward(X)
        history["loss"].append(softmax_cross_entropy(logits, y)[0])
        history["error"].append(float(np.mean(logits.argmax(axis=1) != y)))

    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        record()
        for _ in range(epochs):
            order = rng.permutation(len(X))
            for start in range(0, len(X), batch_size):
                batch = order[start : start + batch_size]
                _, dlogits = softmax_cross_entropy(model.forward(X[batch]), y[batch])
                model.backward(dlogits)
                optimizer.step(model)
            record()
    return {name: np.array(values) for name, values in history.items()}


def train_mlp(
    depth: int,
    residual: bool,
    X: np.ndarray,
    y: np.ndarray,
    *,
    width: int = 64,
    epochs: int = 10,
    lr: float = 0.1,
    batch_size: int = 32,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Build ``mlp(depth, width, ...)``, train it with SGD and return its curves.

    One generator seeded with ``seed`` draws the weights and then the batch
    order, so a plain network and its residual twin with the same seed start
    from the same weights and see the same batches.
    """
    X, y = _check_data(X, y)
    _check_int_range("seed", seed, 0)
    rng = np.random.default_rng(seed)
    model = mlp(depth, width, X.shape[1], NUM_CLASSES, residual=residual, rng=rng)
    return train(model, X, y, SGD(lr), epochs=epochs, batch_size=batch_size, rng=rng)


def gradient_norms_by_layer(model: Sequential, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return ``||dL/dx_l||`` for the input ``x_l`` of each of the model's layers.

    Runs one forward and backward pass of the mean cross-entropy on ``(X, y)``
    and records, layer by layer from the top, the norm (over the whole batch)
    of the gradient that reaches each layer's input. Entry 0 is the gradient
    with respect to ``X`` itself.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a helpers.numpy_nn.Sequential, got {type(model).__name__}")
    _, grad = softmax_cross_entropy(model.forward(X), y)
    norms = []
    for layer in reversed(model.layers):
        grad = layer.backward(grad)
        norms.append(float(np.linalg.norm(grad)))
    return np.array(norms[::-1])


def input_output_jacobian(model: Layer, x: np.ndarray) -> np.ndarray:
    """Return the Jacobian of the model's output with respect to one input ``x``.

    The result has shape ``(num_outputs, in_features)``. Row ``k`` is the
    gradient of output ``k``: one backward pass of a batch of identical rows
    with the identity matrix as ``dY`` gives all rows at once. This relies on
    each example of a batch being computed independently, which holds for
    every layer of :mod:`helpers.numpy_nn`.
    """
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a helpers.numpy_nn.Layer such as Sequential, got {type(model).__name__}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"x must be one example of shape (in_features,), got shape {x.shape}")
    num_outputs = model.forward(x[None, :]).shape[1]
    model.forward(np.repeat(x[None, :], num_outputs, axis=0))
    return model.backward(np.eye(num_outputs))


@lru_cache(maxsize=1)
def _digits_batch(size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    X_train, y_train, _, _ = load_digits(seed=0)
    X_train = X_train - X_train.mean(axis=0)  # centred pixels, as in the notebook
    return X_train[:size], y_train[:size]


def gradient_profiles(depth: int, width: int, init: str = "he", seed: int = 0) -> dict[str, np.ndarray]:
    """Return ``gradient_norms_by_layer`` at initialisation for the plain and the residual MLP.

    Both networks are ``mlp(depth, width, 64, 10)`` with the same weights,
    measured on the first 256 centred training digits.
    """
    _check_int_range("depth", depth, 2, MAX_DEPTH)
    _check_int_range("width", width, 1, MAX_WIDTH)
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    _check_int_range("seed", seed, 0)
    X, y = _digits_batch()
    profiles = {}
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        for name, residual in (("plain", False), ("residual", True)):
            model = mlp(depth, width, X.shape[1], NUM_CLASSES, residual=residual, init=init, rng=seed)
            profiles[name] = gradient_norms_by_layer(model, X, y)
    return profiles


def hidden_ratio(norms: np.ndarray) -> float:
    """Return ``||dL/dx_2|| / ||dL/dx_L||``, from the first hidden layer's input to the last layer's.

    Both ``x_2`` and ``x_L`` are hidden states of the same width, so the ratio
    shows what the hidden blocks between them do to the gradient. It is 0 when
    the gradient at ``x_L`` is exactly 0.
    """
    norms = np.asarray(norms, dtype=np.float64)
    if norms.ndim != 1 or norms.size < 2:
        raise ValueError(f"norms must be a 1-D array of at least 2 layers, got shape {norms.shape}")
    if np.isnan(norms).any() or (norms < 0).any():
        raise ValueError(f"norms must be non-negative numbers without NaN, got {norms!r}; pass the output of gradient_norms_by_layer")
    return float(norms[1] / norms[-1]) if norms[-1] > 0 else 0.0


def plot_gradient_profiles(depth: int = 50, width: int = 8, init: str = "he", seed: int = 0) -> Figure:
    """Draw ``||dL/dx_l||`` against the layer ``l`` for a plain and a residual MLP at initialisation.

    A norm that is exactly 0 (every ReLU of a layer inactive, which happens
    in narrow plain networks) cannot be drawn on a log scale, so it is drawn
    as a cross at the bottom of the axes.
    """
    profiles = gradient_profiles(depth, width, init, seed)
    positive = np.concatenate([values[values > 0] for values in profiles.values()])
    floor = positive.min() / 10 if positive.size else 1e-30

    figure, axes = plt.subplots()
    layers = np.arange(1, depth + 1)
    for name, colour in (("plain", PLAIN), ("residual", RESIDUAL)):
        values = profiles[name]
        ratio = hidden_ratio(values)
        axes.plot(layers, np.maximum(values, floor), "o-", color=colour, markersize=3,
                  label=f"{name}: layer 2 / layer {depth} = {ratio:.2g}")
        zero = values == 0
        if zero.any():
            axes.plot(layers[zero], np.full(zero.sum(), floor), "x", color=PALETTE["black"], markersize=8,
                      label=f"{name}: exactly 0")
    axes.set_yscale("log")
    axes.set_xlabel("layer l (1 = input)")
    axes.set_ylabel("gradient norm ||dL/dx_l||")
    axes.set_title(f"Gradient at initialisation, depth {depth}, width {width}, {init} init")
    axes.legend()
    figure.tight_layout()
    return figure


# Self-checks for the notebook's exercises. Each prints what it found and returns True when the answer is right.




def _as_answer(answer) -> float | None:
    if answer is None:
        return None
    message = f"answer must be a number or None, got {answer!r} of type {type(answer).__name__}"
    if isinstance(answer, (str, bytes, bool)):  # float("32") would accept text
        raise TypeError(message)
    try:
        return float(answer)
    except (TypeError, ValueError) as error:
        raise TypeError(message) from error


def check_leaky_relu(layer: Layer, negative_slope: float = 0.01) -> bool:
    """Check a LeakyReLU layer: forward against the formula, backward against central differences."""
    if isinstance(layer, type):
        raise TypeError(f"layer must be an instance, got the class {layer.__name__}; pass {layer.__name__}()")
    if not (callable(getattr(layer, "forward", None)) and callable(getattr(layer, "backward", None))):
        raise TypeError(f"layer must have forward and backward methods, got {type(layer).__name__}")
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float, np.floating)):
        raise TypeError(f"negative_slope must be a finite number such as 0.01, got {negative_slope!r}")
    if not math.isfinite(negative_slope):
        raise ValueError(f"negative_slope must be a finite number such as 0.01, got {negative_slope!r}")

    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 6))
    X += np.sign(X) * 0.1  # keep every input away from the kink at 0
    expected = np.where(X > 0, X, negative_slope * X)
    output = layer.forward(X.copy())
    if output is None or np.shape(output) != X.shape or not np.allclose(output, expected):
        print(f"Not yet: forward(X) should return X where X > 0 and {negative_slope} * X elsewhere.")
        return False
    R = rng.normal(size=X.shape)  # the loss is sum(forward(X) * R), so dY = R
    layer.forward(X.copy())
    dX = layer.backward(R)
    if dX is None or np.shape(dX) != X.shape:
        print(f"Not yet: backward(dY) should return dL/dX of shape {X.shape}, got {None if dX is None else np.shape(dX)}.")
        return False
    result = check_gradient(lambda x: float(np.sum(layer.forward(x) * R)), X, dX)
    if result.passed:
        print(f"Correct: the largest relative error against central differences is {result.max_relative_error:.1e}.")
    else:
        print(f"Not yet: at index {result.worst_index} backward returns {result.analytic:.4g}, "
              f"central differences give {result.numeric:.4g}.")
    return result.passed


def check_sum_bug_ratio(answer: float | None, batch_size: int = 32) -> bool:
    """Check the ratio analytic / numeric when the mean loss's ``dlogits`` is not divided by the batch size."""
    _check_int_range("batch_size", batch_size, 1)
    value = _as_answer(answer)
    correct = value is not None and math.isclose(value, batch_size, rel_tol=1e-9)
    return report_answer(answer, batch_size, correct, "the loss averages over the batch; which factor did the gradient miss?")


def check_total_growth(answer: float | None, num_blocks: int = 48) -> bool:
    """Check the expected growth of ``||x||^2`` through ``num_blocks`` branches scaled by ``1/sqrt(num_blocks)``."""
    _check_int_range("num_blocks", num_blocks, 1)
    expected = (1 + 1 / num_blocks) ** num_blocks
    value = _as_answer(answer)
    correct = value is not None and math.isclose(value, expected, rel_tol=1e-3)
    return report_answer(answer, expected, correct, f"each block multiplies the expected square by 1 + 1/{num_blocks}")
