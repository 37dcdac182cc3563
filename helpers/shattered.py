"""Shattered gradients: how rough dy/dx of a deep network is along its input (introduced in 03).

Balduzzi et al. (2017), "The Shattered Gradients Problem: If resnets are the
answer, then what is the question?", arXiv:1702.08591, feed a network with a
1-D input on a fine grid and look at the derivative ``dy/dx`` at each point.
A shallow network's derivative changes slowly from point to point. In a deep
plain network it decorrelates like white noise, while a residual network of
the same depth keeps much of the correlation. The lag-1 autocorrelation of
the derivative measures this with one number: near 1 for a smooth derivative,
near 0 for white noise.
"""

from __future__ import annotations

import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from helpers.plotting import PLAIN, RESIDUAL
from helpers.resnet import PreActivationBlock

MAX_DEPTH = 100


def input_gradients(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Return ``dy/dx`` at each point of the 1-D input ``x`` for a model with one input and one output.

    Batch normalisation layers normalise with the mean and variance of these
    points, which are then held fixed by evaluating in ``eval`` mode. Each
    output then depends on its own input only, so the gradient of the summed
    outputs is ``dy_i/dx_i`` at every point. A copy of ``model`` gets the
    statistics, and ``model`` itself is not changed.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor) or x.dim() != 1 or len(x) < 3:
        raise ValueError(f"x must be a 1-D tensor of at least 3 points, got {x!r:.80}")
    model = copy.deepcopy(model)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # a cumulative average: after one batch, that batch's statistics
    model.train()
    inputs = x.detach().reshape(-1, 1)
    with torch.no_grad():
        model(inputs)
    model.eval()
    inputs = inputs.clone().requires_grad_(True)
    outputs = model(inputs)
    if outputs.shape != inputs.shape:
        raise ValueError(f"model must map (n, 1) inputs to (n, 1) outputs, got {tuple(outputs.shape)}")
    (gradient,) = torch.autograd.grad(outputs.sum(), inputs)
    return gradient.reshape(-1).detach().cpu().double().numpy()


def lag1_autocorrelation(values: np.ndarray) -> float:
    """Return the lag-1 autocorrelation ``sum((g_i - m)(g_{i+1} - m)) / sum((g_i - m)^2)`` with ``m`` the mean.

    It is near 1 when neighbouring values are alike and near 0 for white
    noise. A constant sequence has no defined autocorrelation and raises
    ``ValueError``.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) < 3:
        raise ValueError(f"values must be a 1-D sequence of at least 3 numbers, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("values contains NaN or infinity; pass finite numbers")
    centred = values - values.mean()
    variance = float(np.sum(centred**2))
    if variance <= np.finfo(np.float64).tiny:
        raise ValueError("values is constant, so its autocorrelation is undefined; pass a sequence that varies")
    return float(np.sum(centred[:-1] * centred[1:]) / variance)


def shattered_net(depth: int, residual: bool, width: int = 200) -> nn.Sequential:
    """Build the experiment's network: ``Linear(1, width)``, ``depth`` pre-activation blocks, then BN, ReLU, ``Linear(width, 1)``.

    The blocks are :class:`helpers.resnet.PreActivationBlock`, so with
    ``residual=False`` the network is plain. Unlike :func:`helpers.resnet.mlp`
    the stem is the Linear layer alone. With a 1-D input, batch normalisation
    gives every stem unit the same standardised input up to sign. A stem BN
    and ReLU followed by the first block's BN and ReLU would then switch every
    unit of a plain network off for inputs near the mean, where ``dy/dx``
    would be exactly 0.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be an int from 0 to {MAX_DEPTH}, got {depth!r}")
    stem = nn.Linear(1, width)
    blocks = [PreActivationBlock(width, residual) for _ in range(depth)]
    head = nn.Sequential(nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, 1))
    return nn.Sequential(stem, *blocks, head)


def plot_input_gradients(depth: int = 50, residual: bool = True, seed: int = 0) -> Figure:
    """Draw ``dy/dx`` over 256 points of ``[-2, 2]`` for one network, with its lag-1 autocorrelation.

    This is the callback of the notebook's interactive figure. It builds a
    fresh :func:`shattered_net` of ``depth`` blocks, initialised with ``seed``.
    """
    if not isinstance(residual, bool):
        raise TypeError(f"residual must be True or False, got {residual!r}")
    torch.manual_seed(seed)
    model = shattered_net(depth, residual)
    x = torch.linspace(-2, 2, 256)
    gradient = input_gradients(model, x)
    autocorrelation = lag1_autocorrelation(gradient)
    figure, axes = plt.subplots(figsize=(7.0, 3.6))
    axes.plot(x.numpy(), gradient, color=RESIDUAL if residual else PLAIN, linewidth=1.2)
    kind = "residual" if residual else "plain"
    axes.set_title(f"{kind}, {depth} blocks: lag-1 autocorrelation {autocorrelation:.2f}")
    axes.set_xlabel("input x")
    axes.set_ylabel("dy/dx")
    figure.tight_layout()
    return figure


def check_piece_count(answer: int | None) -> bool:
    """Check the number of distinct values of ``dy/dx`` for a ReLU network without biases or batch normalisation."""
    if answer is None:
        print("No answer yet: replace None with your answer.")
        return False
    if isinstance(answer, (int, np.integer)) and not isinstance(answer, bool) and answer == 2:
        print("Correct: 2. f(a x) = a f(x) for a > 0, so dy/dx is one constant for x > 0 and another for x < 0.")
        return True
    print(f"Not yet: {answer!r} is not right. Hint: compare f(2x) with 2 f(x) when every bias is zero.")
    return False


def check_autocorrelation(function) -> bool:
    """Check an exercise's lag-1 autocorrelation against :func:`lag1_autocorrelation` on three sequences."""
    rng = np.random.default_rng(0)
    white_noise = rng.normal(size=256)
    sequences = {"white noise": white_noise, "a random walk": np.cumsum(white_noise), "a sine": np.sin(np.arange(256) / 5)}
    for name, values in sequences.items():
        expected = lag1_autocorrelation(values)
        try:
            answer = function(values.copy())
            if answer is None:
                print("No answer yet: make your function return the autocorrelation.")
                return False
            answer = float(answer)
        except Exception as error:  # the exercise's code may fail in any way; report it instead of stopping
            print(f"Not yet: on {name} your function raised {type(error).__name__}: {error}")
            return False
        if not np.isclose(answer, expected, atol=1e-9):
            print(f"Not yet: on {name} you return {answer:.4g}, expected {expected:.4g}. "
                  "Hint: subtract the mean first, and divide by the sum of squares over all points.")
            return False
    print("Correct: white noise gives about 0, a random walk and a sine close to 1.")
    return True
