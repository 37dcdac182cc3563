import numpy as np
import pytest
import torch

from helpers.checks import ClaimError, claim, claim_between, claim_close, format_value, report_answer


def test_claim_prints_statement_and_values(capsys):
    claim("two is below three", 2 < 3, two=2, three=3.0)
    assert capsys.readouterr().out == "OK: two is below three (two=2, three=3)\n"


def test_claim_raises_with_measured_value():
    with pytest.raises(ClaimError, match=r"claim failed: small \(value=0\.5\)"):
        claim("small", 0.5 < 0.1, value=0.5)


def test_claim_accepts_numpy_bool(capsys):
    claim("numpy comparison", np.float64(1.0) > 0)
    assert capsys.readouterr().out.startswith("OK: numpy comparison")


@pytest.mark.parametrize("holds", [1, 0.0, None, "yes", np.array([True])])
def test_claim_rejects_non_bool(holds):
    with pytest.raises(TypeError, match="holds must be a bool"):
        claim("statement", holds)


@pytest.mark.parametrize("statement", ["", "   ", None])
def test_claim_rejects_empty_statement(statement):
    with pytest.raises(ValueError, match="statement must be a non-empty string"):
        claim(statement, True)


def test_claim_close_reports_max_difference(capsys):
    claim_close("close", torch.tensor([1.0, 2.0]), np.array([1.0, 2.5]), atol=0.5)
    assert "max_abs_diff=0.5" in capsys.readouterr().out


def test_claim_close_fails_beyond_tolerance():
    with pytest.raises(ClaimError, match="max_abs_diff=0.5"):
        claim_close("close", [1.0, 2.0], [1.0, 2.5], atol=0.4)


def test_claim_close_fails_on_nan():
    with pytest.raises(ClaimError, match="max_abs_diff=inf"):
        claim_close("finite", [np.nan], [0.0], atol=1.0)


def test_claim_close_fails_on_shape_mismatch():
    with pytest.raises(ClaimError, match="shapes differ"):
        claim_close("same shape", np.zeros(3), np.zeros(4), atol=1.0)


@pytest.mark.parametrize("atol", [-1.0, float("nan"), float("inf"), "0.1"])
def test_claim_close_rejects_bad_atol(atol):
    with pytest.raises(ValueError, match="atol must be a finite number"):
        claim_close("x", [0.0], [0.0], atol=atol)


def test_claim_close_rejects_empty_arrays():
    with pytest.raises(ValueError, match="non-empty arrays"):
        claim_close("empty", [], [], atol=0.0)


def test_claim_between_includes_bounds(capsys):
    claim_between("at the bound", 2.0, 1.0, 2.0)
    assert capsys.readouterr().out.startswith("OK: at the bound")


def test_claim_between_fails_outside():
    with pytest.raises(ClaimError, match="value=3"):
        claim_between("in range", 3.0, 1.0, 2.0)


def test_claim_between_rejects_inverted_range():
    with pytest.raises(ValueError, match="low must not exceed high"):
        claim_between("x", 1.0, 2.0, 1.0)


def test_format_value_uses_three_significant_digits():
    assert format_value(0.123456) == "0.123"
    assert format_value(np.float32(1e-7)) == "1e-07"
    assert format_value(torch.tensor([1.23456, 2.0])) == "[1.23, 2]"
    assert format_value(True) == "True"
    assert format_value([1, 2.5]) == "[1, 2.5]"


def test_report_answer_without_answer(capsys):
    assert report_answer(None, 2.0, False, "think") is False
    assert capsys.readouterr().out == "No answer yet: replace None with your answer.\n"


def test_report_answer_correct_shows_expected(capsys):
    assert report_answer(0.25, 0.25, True, "think") is True
    assert capsys.readouterr().out == "Correct: 0.25.\n"


def test_report_answer_wrong_shows_hint(capsys):
    assert report_answer(3, 4, False, "count again") is False
    assert capsys.readouterr().out == "Not yet: 3 is not right. Hint: count again.\n"
