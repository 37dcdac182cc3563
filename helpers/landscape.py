"""Loss-landscape slices along filter-normalised random directions (introduced in 03).

Li, Xu, Taylor, Studer and Goldstein (2018), "Visualizing the Loss Landscape
of Neural Nets", arXiv:1712.09913, plot the loss at ``theta + a d1 + b d2``
for two random directions ``d1``, ``d2`` in weight space. Batch normalisation
makes a network's function unchanged when the weights of a filter are
scaled, so a raw random direction would move small filters much further,
relative to their size, than large ones. Filter normalisation rescales each
filter of the direction (each output unit of a Linear or Conv layer) to the
norm of the same filter of ``theta``. Like their code's ``ignore='biasbn'``
option, the direction is zero for biases and batch-normalisation parameters
(every parameter with fewer than 2 dimensions).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def filter_normalized_direction(model: nn.Module, generator: torch.Generator) -> list[torch.Tensor]:
    """Draw a Gaussian direction with one tensor per parameter of ``model``, filter by filter normalised.

    For a weight of shape ``(out, ...)`` each slice ``d[i]`` gets the norm of
    ``weight[i]``. Parameters with fewer than 2 dimensions get zeros.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    direction = []
    for parameter in model.parameters():
        weight = parameter.detach()
        if weight.dim() < 2:
            direction.append(torch.zeros_like(weight))
            continue
        noise = torch.randn(weight.shape, generator=generator, dtype=weight.dtype).to(weight.device)
        filter_dims = tuple(range(1, weight.dim()))
        weight_norms = torch.linalg.vector_norm(weight, dim=filter_dims, keepdim=True)
        noise_norms = torch.linalg.vector_norm(noise, dim=filter_dims, keepdim=True)
        direction.append(noise * weight_norms / noise_norms)
    return direction


@torch.no_grad()
def loss_surface(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    directions: Sequence[list[torch.Tensor]],
    coordinates: np.ndarray,
) -> np.ndarray:
    """Return the cross-entropy of ``model`` on ``(X, y)`` along one or two directions.

    With one direction the result has ``len(coordinates)`` values, the loss at
    ``theta + a d1``. With two it is a ``(len, len)`` grid whose entry
    ``[i, j]`` is the loss at ``theta + coordinates[i] d1 + coordinates[j] d2``.
    The model runs in eval mode, so batch normalisation uses its running
    statistics, as in Li et al.'s code. The weights are restored afterwards.
    """
    if len(directions) not in (1, 2):
        raise ValueError(f"pass one or two directions, got {len(directions)}")
    parameters = list(model.parameters())
    for direction in directions:
        if len(direction) != len(parameters) or any(d.shape != p.shape for d, p in zip(direction, parameters)):
            raise ValueError("a direction must have one tensor per parameter of model, each of the parameter's shape")
    coordinates = np.asarray(coordinates, dtype=np.float64)
    if coordinates.ndim != 1 or len(coordinates) < 3 or not np.all(np.isfinite(coordinates)):
        raise ValueError(f"coordinates must be at least 3 finite numbers in a 1-D array, got {coordinates!r:.80}")
    grid = [coordinates] if len(directions) == 1 else [coordinates, coordinates]
    surface = np.zeros([len(axis) for axis in grid])
    original = [parameter.detach().clone() for parameter in parameters]
    was_training = model.training
    model.eval()
    try:
        for index in np.ndindex(surface.shape):
            steps = [grid[axis][i] for axis, i in enumerate(index)]
            for k, parameter in enumerate(parameters):
                shifted = original[k].clone()
                for step, direction in zip(steps, directions):
                    shifted += step * direction[k]
                parameter.copy_(shifted)
            surface[index] = F.cross_entropy(model(X), y).item()
    finally:
        for parameter, value in zip(parameters, original):
            parameter.copy_(value)
        model.train(was_training)
    return surface


def nonconvex_mask(surface: np.ndarray) -> np.ndarray:
    """Mark the interior points of a 1-D or 2-D loss slice where the slice is not convex.

    Along one direction a point is non-convex where the central second
    difference is negative. On a 2-D grid the Hessian of the slice is
    estimated with central second differences, and a point is non-convex
    where that 2x2 matrix has a negative eigenvalue. The slice's curvature
    along ``a d1 + b d2`` is the network's curvature along that direction in
    weight space, so where the slice is non-convex, so is the network's loss.
    The result drops the border, so it has 2 fewer entries along each axis.
    """
    surface = np.asarray(surface, dtype=np.float64)
    if surface.ndim not in (1, 2) or min(surface.shape) < 3:
        raise ValueError(f"surface must be a 1-D or 2-D grid with at least 3 values per axis, got shape {surface.shape}")
    if not np.all(np.isfinite(surface)):
        raise ValueError("surface contains NaN or infinity; evaluate it over a smaller range")
    if surface.ndim == 1:
        return np.diff(surface, 2) < 0
    centre = surface[1:-1, 1:-1]
    d_aa = surface[2:, 1:-1] - 2 * centre + surface[:-2, 1:-1]
    d_bb = surface[1:-1, 2:] - 2 * centre + surface[1:-1, :-2]
    d_ab = (surface[2:, 2:] - surface[2:, :-2] - surface[:-2, 2:] + surface[:-2, :-2]) / 4
    # A symmetric 2x2 matrix has a negative eigenvalue exactly when a diagonal entry or its determinant is negative.
    return (d_aa < 0) | (d_bb < 0) | (d_aa * d_bb - d_ab**2 < 0)


def nonconvex_fraction(surface: np.ndarray) -> float:
    """Return the fraction of the interior points of a 1-D or 2-D loss slice where it is not convex."""
    return float(nonconvex_mask(surface).mean())
