"""Checked claims: every sentence of the prose that states a number (introduced in 00).

A claim prints one line when it holds and raises :class:`ClaimError` when it
does not, naming the measured values. Numbers are printed with 3 significant
digits so that stored outputs do not change with the last bits of a float.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class ClaimError(AssertionError):
    """A claim of the prose that the measurement contradicts."""


def format_value(value: Any) -> str:
    """Format a measured value compactly with 3 significant digits."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3g}"
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return format_value(value.item())
        return np.array2string(
            value, separator=", ", max_line_width=10_000, formatter={"float_kind": lambda item: f"{item:.3g}"}
        )
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    return str(value)


def _describe(measured: dict[str, Any]) -> str:
    return ", ".join(f"{name}={format_value(value)}" for name, value in measured.items())


def claim(statement: str, holds: bool, **measured: Any) -> None:
    """Check a claim: print ``OK: statement (measured)`` or raise ``ClaimError``.

    ``holds`` is the result of the comparison that proves the statement.
    ``measured`` names the values it was computed from, and both the
    confirmation and the error show them.
    """
    _check_statement(statement)
    if not isinstance(holds, (bool, np.bool_)):
        raise TypeError(
            f"holds must be a bool (the result of a comparison), got {holds!r} of type {type(holds).__name__}; "
            "compare the measured value against its threshold first, and reduce an array with .all() or .any()"
        )
    details = f" ({_describe(measured)})" if measured else ""
    if not holds:
        raise ClaimError(f"claim failed: {statement}{details}")
    print(f"OK: {statement}{details}")


def claim_close(statement: str, actual: Any, expected: Any, *, atol: float) -> None:
    """Check that ``actual`` equals ``expected`` elementwise within ``atol``.

    Prints or raises with the maximum absolute difference, which is also the
    number to quote in the prose.
    """
    _check_statement(statement)
    if isinstance(atol, bool) or not (isinstance(atol, (int, float)) and atol >= 0 and math.isfinite(atol)):
        raise ValueError(f"atol must be a finite number >= 0, got {atol!r}")
    actual_array = _as_float_array("actual", actual)
    expected_array = _as_float_array("expected", expected)
    if actual_array.shape != expected_array.shape:
        raise ClaimError(
            f"claim failed: {statement} (shapes differ: {actual_array.shape} vs {expected_array.shape})"
        )
    if actual_array.size == 0:
        raise ValueError(f"claim_close needs non-empty arrays, got shape {actual_array.shape} for {statement!r}")
    difference = np.abs(actual_array - expected_array)
    max_abs_difference = float(np.max(difference)) if np.all(np.isfinite(difference)) else math.inf
    claim(statement, max_abs_difference <= atol, max_abs_diff=max_abs_difference, atol=atol)


def claim_between(statement: str, value: float, low: float, high: float) -> None:
    """Check that ``low <= value <= high`` (for "about" statements)."""
    _check_statement(statement)
    for name, bound in (("low", low), ("high", high)):
        if isinstance(bound, bool) or not isinstance(bound, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a real number, got {bound!r}")
        if math.isnan(bound):
            raise ValueError(f"{name} must be a number, got {bound!r}; pass -math.inf or math.inf for an open end")
    if low > high:
        raise ValueError(f"low must not exceed high, got low={low!r}, high={high!r}")
    value = _as_float_array("value", value)
    if value.size != 1:
        raise ValueError(f"value must be one number, got an array of shape {value.shape}; reduce it first")
    value = float(value.item())
    claim(statement, bool(low <= value <= high), value=value, low=low, high=high)


def _check_statement(statement: str) -> None:
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError(f"statement must be a non-empty string, got {statement!r}")


def _as_float_array(name: str, value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().double().numpy()
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from error


def report_answer(answer: Any, expected: Any, correct: bool, hint: str) -> bool:
    """Print an exercise self-check's verdict and return whether ``answer`` is right.

    ``None`` means the learner has not answered yet. ``expected`` (a number)
    is shown only once the answer is right, and ``hint`` only when it is wrong.
    """
    if answer is None:
        print("No answer yet: replace None with your answer.")
    elif correct:
        print(f"Correct: {expected:.4g}.")
    else:
        print(f"Not yet: {answer!r} is not right. Hint: {hint}.")
    return bool(correct)

