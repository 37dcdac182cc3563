"""Gradient checking with central finite differences (introduced in 01, used in 02).

A hand-derived gradient is trusted once it matches the central difference

    (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

at every index ``i``. The differences are always taken in float64: in float32
a step of ``eps = 1e-6`` moves ``x`` by about as much as one rounding step, so
the difference would be rounding noise rather than a derivative.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# Smallest positive normal float64, the floor of the relative error's denominator.
TINY = np.finfo(np.float64).tiny


def _as_float64(name: str, value: Any) -> np.ndarray:
    """Copy ``value`` (array-like or torch tensor) to a float64 array, rejecting non-finite values."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().double().numpy()
    if value is None or isinstance(value, (str, bytes)):  # np.array would turn None into nan
        raise TypeError(f"{name} must be an array of real numbers, got {value!r}")
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} must be an array of real numbers, got {reprlib.repr(value)} of type {type(value).__name__}"
        ) from error
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}); pass at least one element")
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(
            f"{name} contains a non-finite value {array[tuple(bad)]} at index {tuple(int(i) for i in bad)}; "
            "pass finite values"
        )
    return array


def _check_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"{name} must be a positive float, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    """Return the elementwise ``|a - n| / max(|a| + |n|, tiny)`` in float64.

    The result is in [0, 1], and exactly 0 where both gradients are 0.
    """
    analytic = _as_float64("analytic", analytic)
    numeric = _as_float64("numeric", numeric)
    if analytic.shape != numeric.shape:
        raise ValueError(
            f"analytic has shape {analytic.shape} but numeric has shape {numeric.shape}; pass arrays of one shape"
        )
    denominator = np.maximum(np.abs(analytic) + np.abs(numeric), TINY)
    return np.abs(analytic - numeric) / denominator


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Estimate the gradient of the scalar function ``f`` at ``x`` by central differences.

    ``f`` is called with float64 arrays of ``x``'s shape and must return a
    finite scalar. ``x`` itself is not modified, and the result is float64.
    """
    if not callable(f):
        raise TypeError(f"f must be a function of an array that returns a scalar, got {type(f).__name__}")
    _check_positive("eps", eps)
    x = _as_float64("x", x)
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        f_plus = _scalar_output(f, x)
        x[index] = original - eps
        f_minus = _scalar_output(f, x)
        x[index] = original
        gradient[index] = (f_plus - f_minus) / (2 * eps)
    return gradient


def _scalar_output(f: Callable[[np.ndarray], float], x: np.ndarray) -> float:
    output = f(x.copy())  # a copy, so that f cannot change the point being differentiated
    if hasattr(output, "detach"):
        output = output.detach().cpu().double()
    try:
        value = float(output)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"f must return a scalar, got {type(output).__name__} of shape {np.shape(output)}; "
            "reduce it to one number, for example with .sum()"
        ) from error
    if not math.isfinite(value):
        raise ValueError(f"f returned {value} near x; check f at this point or use a smaller eps")
    return value


@dataclass(frozen=True)
class GradientCheck:
    """Result of comparing an analytic gradient with central differences."""

    max_relative_error: float
    worst_index: tuple[int, ...]
    analytic: float  # analytic gradient at the worst index
    numeric: float  # numerical gradient at the worst index
    tolerance: float
    passed: bool


def check_gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic_gradient: np.ndarray,
    *,
    eps: float = 1e-6,
    tolerance: float = 1e-6,
) -> GradientCheck:
    """Compare ``analytic_gradient`` with the central-difference gradient of ``f`` at ``x``.

    The check passes when the maximum elementwise relative error is at most
    ``tolerance``. Both gradients are compared in float64, so a float32
    analytic gradient shows its own rounding (a relative error near 1e-7).

    NOTE: the relative error has no absolute floor. An entry whose true
    gradient is nonzero but below the differences' rounding noise (about
    1e-16 |f| / eps) fails the check even when the analytic value is right.
    """
    _check_positive("tolerance", tolerance)
    analytic = _as_float64("analytic_gradient", analytic_gradient)
    x = _as_float64("x", x)
    if analytic.shape != x.shape:
        raise ValueError(
            f"analytic_gradient has shape {analytic.shape} but x has shape {x.shape}; "
            "the gradient of a scalar function has the shape of its input"
        )
    numeric = numerical_gradient(f, x, eps=eps)
    errors = relative_error(analytic, numeric)
    worst = np.unravel_index(int(np.argmax(errors)), errors.shape)
    max_error = float(errors[worst])
    return GradientCheck(
        max_relative_error=max_error,
        worst_index=tuple(int(i) for i in worst),
        analytic=float(analytic[worst]),
        numeric=float(numeric[worst]),
        tolerance=float(tolerance),
        passed=max_error <= tolerance,
    )
