import numpy as np
import pytest
import torch

from helpers.gradcheck import GradientCheck, check_gradient, numerical_gradient, relative_error


def sum_of_sin_times_x(x):
    return float(np.sum(np.sin(x) * x))


def grad_sum_of_sin_times_x(x):
    return np.cos(x) * x + np.sin(x)


# relative_error


def test_relative_error_zero_where_both_zero():
    errors = relative_error(np.array([0.0, 0.0, 1.0]), np.array([0.0, 1e-300, 1.0]))
    assert errors[0] == 0.0
    assert errors[2] == 0.0


def test_relative_error_is_one_against_zero():
    errors = relative_error(np.array([1e-300, 2.0]), np.array([0.0, 0.0]))
    np.testing.assert_array_equal(errors, [1.0, 1.0])


def test_relative_error_symmetric_and_bounded():
    rng = np.random.default_rng(0)
    a, n = rng.normal(size=50), rng.normal(size=50)
    np.testing.assert_array_equal(relative_error(a, n), relative_error(n, a))
    assert np.all(relative_error(a, n) <= 1.0)


def test_relative_error_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape"):
        relative_error(np.zeros(3), np.zeros(4))


def test_relative_error_nan_raises():
    with pytest.raises(ValueError, match="non-finite"):
        relative_error(np.array([np.nan]), np.array([1.0]))


# numerical_gradient


def test_numerical_gradient_matches_analytic():
    x = np.linspace(-2, 2, 7)
    numeric = numerical_gradient(sum_of_sin_times_x, x)
    assert np.max(relative_error(grad_sum_of_sin_times_x(x), numeric)) < 1e-8


def test_numerical_gradient_keeps_shape_and_float64():
    x = np.ones((2, 3, 4), dtype=np.float32)
    numeric = numerical_gradient(lambda v: float(np.sum(v**2)), x)
    assert numeric.shape == x.shape
    assert numeric.dtype == np.float64


def test_numerical_gradient_leaves_x_unchanged():
    x = np.array([0.1, 0.2, 0.3])
    before = x.copy()
    numerical_gradient(sum_of_sin_times_x, x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_calls_f_with_float64():
    dtypes = set()

    def f(v):
        dtypes.add(v.dtype)
        return float(v.sum())

    numerical_gradient(f, np.ones(3, dtype=np.float32))
    assert dtypes == {np.dtype(np.float64)}


def test_numerical_gradient_float32_input_not_fooled():
    # Near 1.3, float32 values are 1.2e-7 apart, so x +- 1e-6 computed in float32
    # moves by a step that is wrong by up to 6%, and so would the difference.
    x32 = np.array([1.3, -0.7, 2.9], dtype=np.float32)
    numeric = numerical_gradient(sum_of_sin_times_x, x32)
    exact = grad_sum_of_sin_times_x(x32.astype(np.float64))
    assert np.max(relative_error(exact, numeric)) < 1e-8


def test_numerical_gradient_accepts_torch_output():
    numeric = numerical_gradient(lambda v: torch.from_numpy(v).pow(2).sum(), np.array([1.0, -2.0]))
    np.testing.assert_allclose(numeric, [2.0, -4.0], rtol=1e-8)


def test_numerical_gradient_rejects_bad_eps():
    for eps in (0.0, -1e-6, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="eps"):
            numerical_gradient(sum_of_sin_times_x, np.ones(2), eps=eps)


def test_numerical_gradient_rejects_nonfinite_x():
    with pytest.raises(ValueError, match="non-finite value inf at index \\(1,\\)"):
        numerical_gradient(sum_of_sin_times_x, np.array([0.0, np.inf]))


def test_numerical_gradient_rejects_vector_output():
    with pytest.raises(TypeError, match="scalar"):
        numerical_gradient(lambda v: v * 2, np.ones(3))


def test_numerical_gradient_rejects_nan_output():
    with pytest.raises(ValueError, match="nan"):
        numerical_gradient(lambda v: float(np.log(v[0] - 1.0)) if v[0] > 1 else float("nan"), np.ones(1))


def test_numerical_gradient_rejects_non_callable():
    with pytest.raises(TypeError, match="function"):
        numerical_gradient(3.0, np.ones(2))


# check_gradient


def test_check_gradient_passes_correct_gradient():
    x = np.linspace(-1, 1, 5)
    result = check_gradient(sum_of_sin_times_x, x, grad_sum_of_sin_times_x(x))
    assert isinstance(result, GradientCheck)
    assert result.passed
    assert result.max_relative_error < 1e-8


def test_check_gradient_exact_zero_gradients():
    # The loss ignores x[0] and is flat at x[1] = 0: both gradients are exactly 0 there.
    x = np.array([3.0, 0.0, 2.0])
    result = check_gradient(lambda v: float(v[1] ** 2 + v[2] ** 2), x, np.array([0.0, 0.0, 4.0]))
    assert result.passed
    assert result.max_relative_error < 1e-9


def test_check_gradient_relu_dead_units_zero():
    x = np.array([-1.0, -0.5, 0.7])
    result = check_gradient(lambda v: float(np.sum(np.maximum(v, 0.0))), x, (x > 0).astype(float))
    assert result.passed
    assert result.analytic == pytest.approx(result.numeric)


def test_check_gradient_float32_error_larger_but_bounded():
    x64 = np.linspace(-2, 2, 9)
    x32 = x64.astype(np.float32)
    grad32 = np.cos(x32) * x32 + np.sin(x32)  # float32 arithmetic
    error64 = check_gradient(sum_of_sin_times_x, x64, grad_sum_of_sin_times_x(x64)).max_relative_error
    error32 = check_gradient(sum_of_sin_times_x, x32, grad32).max_relative_error
    assert error32 > error64
    assert error32 < 1e-5  # a few float32 rounding steps (eps 6e-8), far above float64's


def test_check_gradient_batch_of_examples():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4, 3))
    W = rng.normal(size=(3, 2))

    def loss(X_):
        return float(np.sum(np.tanh(X_ @ W)))

    dX = (1 - np.tanh(X @ W) ** 2) @ W.T
    result = check_gradient(loss, X, dX)
    assert result.passed
    assert len(result.worst_index) == 2


def test_check_gradient_reports_worst_index():
    X = np.arange(12, dtype=np.float64).reshape(3, 4) / 10
    analytic = 2 * X
    analytic[2, 1] *= 1.01  # one wrong entry
    result = check_gradient(lambda v: float(np.sum(v**2)), X, analytic)
    assert not result.passed
    assert result.worst_index == (2, 1)
    assert result.analytic == pytest.approx(2 * 0.9 * 1.01)
    assert result.numeric == pytest.approx(2 * 0.9)
    assert result.max_relative_error == pytest.approx(0.01 / 2.01, rel=1e-6)


def test_check_gradient_accepts_torch_gradient():
    x = torch.tensor([0.5, -1.5], dtype=torch.float64, requires_grad=True)
    (torch.sin(x) * x).sum().backward()
    result = check_gradient(sum_of_sin_times_x, x.detach().numpy(), x.grad)
    assert result.passed


def test_check_gradient_scalar_input():
    result = check_gradient(lambda v: float(v**3), np.array(2.0), np.array(12.0))
    assert result.worst_index == ()
    assert result.passed


def test_check_gradient_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape"):
        check_gradient(sum_of_sin_times_x, np.ones((2, 3)), np.ones(6))


def test_check_gradient_nonfinite_gradient_raises():
    with pytest.raises(ValueError, match="analytic_gradient"):
        check_gradient(sum_of_sin_times_x, np.ones(2), np.array([1.0, np.nan]))


def test_check_gradient_rejects_bad_tolerance():
    with pytest.raises(ValueError, match="tolerance"):
        check_gradient(sum_of_sin_times_x, np.ones(2), np.ones(2), tolerance=0.0)


def test_check_gradient_result_is_frozen():
    result = check_gradient(sum_of_sin_times_x, np.ones(2), grad_sum_of_sin_times_x(np.ones(2)))
    with pytest.raises(AttributeError):
        result.passed = False
