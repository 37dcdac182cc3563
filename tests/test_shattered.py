import copy
import warnings

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from helpers.shattered import (
    MAX_DEPTH,
    check_autocorrelation,
    check_piece_count,
    input_gradients,
    lag1_autocorrelation,
    plot_input_gradients,
    shattered_net,
)


class Square(nn.Module):
    def forward(self, x):
        return x**2


def test_gradients_of_square():
    x = torch.linspace(-2, 2, 9)
    assert np.allclose(input_gradients(Square(), x), 2 * x.numpy())


def test_gradients_use_frozen_batch_statistics():
    torch.manual_seed(0)
    linear = nn.Linear(1, 1)
    model = nn.Sequential(linear, nn.BatchNorm1d(1))
    x = torch.linspace(-2, 2, 64)
    a = linear.weight.item()
    # Frozen statistics make BN affine, so dy/dx = a / sqrt(var(a x) + eps) at every point.
    # The running variance is the unbiased one.
    expected = a / np.sqrt(a**2 * np.var(x.numpy(), ddof=1) + 1e-5)
    assert np.allclose(input_gradients(model, x), expected, rtol=1e-5)


def test_gradients_leave_model_unchanged():
    torch.manual_seed(0)
    model = shattered_net(2, residual=True, width=16)
    before = {name: value.clone() for name, value in model.state_dict().items()}
    input_gradients(model, torch.linspace(-2, 2, 32))
    assert model.training
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_gradients_are_jacobian_diagonal():
    torch.manual_seed(0)
    model = shattered_net(3, residual=False, width=16)
    x = torch.linspace(-2, 2, 32)
    frozen = copy.deepcopy(model)
    for module in frozen.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.momentum = None
    with torch.no_grad():
        frozen(x.reshape(-1, 1))  # one training-mode pass stores this batch's statistics
    frozen.eval()
    jacobian = torch.autograd.functional.jacobian(lambda inputs: frozen(inputs.reshape(-1, 1)).reshape(-1), x)
    diagonal = torch.diagonal(jacobian)
    assert torch.equal(jacobian, torch.diag(diagonal))  # each output depends on its own input only
    assert np.allclose(input_gradients(model, x), diagonal.double().numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("x", [torch.zeros(2), torch.zeros(4, 1), [0.0, 1.0, 2.0]])
def test_gradients_reject_invalid_input(x):
    with pytest.raises(ValueError, match="x must be a 1-D tensor"):
        input_gradients(Square(), x)


def test_gradients_reject_wrong_output_shape():
    with pytest.raises(ValueError, match=r"\(n, 1\) outputs"):
        input_gradients(nn.Linear(1, 3), torch.linspace(0, 1, 5))


def test_autocorrelation_of_ramp_and_alternation():
    assert lag1_autocorrelation(np.arange(1000.0)) > 0.99
    assert lag1_autocorrelation(np.tile([1.0, -1.0], 500)) < -0.99


def test_autocorrelation_of_white_noise():
    values = np.random.default_rng(0).normal(size=4096)
    assert abs(lag1_autocorrelation(values)) < 3 / np.sqrt(4096)


def test_autocorrelation_matches_formula():
    values = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    centred = values - 3.0
    expected = np.sum(centred[:-1] * centred[1:]) / np.sum(centred**2)
    assert lag1_autocorrelation(values) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    "values, message",
    [(np.ones(10), "constant"), (np.array([1.0, np.nan, 2.0]), "NaN"), (np.zeros((3, 3)), "1-D"), ([1.0, 2.0], "1-D")],
)
def test_autocorrelation_rejects_invalid(values, message):
    with pytest.raises(ValueError, match=message):
        lag1_autocorrelation(values)


def test_shattered_net_layout():
    model = shattered_net(3, residual=True, width=8)
    assert isinstance(model[0], nn.Linear)
    assert len(model) == 5
    assert tuple(model(torch.randn(6, 1)).shape) == (6, 1)


@pytest.mark.parametrize("depth", [-1, MAX_DEPTH + 1, 2.5, True])
def test_shattered_net_rejects_invalid_depth(depth):
    with pytest.raises(ValueError, match="depth must be an int"):
        shattered_net(depth, residual=True)


def test_deep_plain_shatters_more_than_residual():
    x = torch.linspace(-2, 2, 256)
    means = {}
    for residual in (False, True):
        values = []
        for seed in range(3):
            torch.manual_seed(seed)
            values.append(lag1_autocorrelation(input_gradients(shattered_net(30, residual, width=64), x)))
        means[residual] = np.mean(values)
    assert means[True] > means[False] + 0.3


@pytest.mark.parametrize("depth, residual", [(0, True), (0, False), (MAX_DEPTH, True), (MAX_DEPTH, False)])
def test_plot_at_extremes_is_finite(depth, residual):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = plot_input_gradients(depth=depth, residual=residual)
    assert isinstance(figure, Figure)
    line = figure.axes[0].lines[0]
    assert np.all(np.isfinite(line.get_ydata()))
    assert "lag-1 autocorrelation" in figure.axes[0].get_title()


def test_plot_rejects_non_bool_residual():
    with pytest.raises(TypeError, match="residual must be True or False"):
        plot_input_gradients(residual="yes")


def test_check_piece_count(capsys):
    assert check_piece_count(2)
    assert not check_piece_count(3)
    assert not check_piece_count(None)
    assert not check_piece_count(True)
    output = capsys.readouterr().out
    assert "Correct" in output
    assert "No answer yet" in output


def test_check_autocorrelation(capsys):
    assert check_autocorrelation(lag1_autocorrelation)
    assert not check_autocorrelation(lambda values: np.corrcoef(values[:-1], values[1:])[0, 1] + 0.1)
    assert not check_autocorrelation(lambda values: None)
    assert not check_autocorrelation(lambda values: values.undefined)
    output = capsys.readouterr().out
    assert "Correct" in output
    assert "raised AttributeError" in output
