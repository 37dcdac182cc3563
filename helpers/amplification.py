"""How much a small change of the weights changes an encoder's output (introduced in 04).

Liu, Liu, Gao, Chen and Han (2020), "Understanding the Difficulty of Training
Transformers" (arXiv 2004.08249), trace the instability of Post-LN training
to an amplification effect. Each layer depends heavily on its residual
branch, so a small parameter perturbation (a parameter update, for example)
disturbs the model's output strongly, and more so in deeper models. Their remedy,
Admin, rescales the shortcut at initialisation; DeepNorm (Wang et al. 2022,
arXiv 2203.00555) does it with a fixed ``alpha`` and a smaller
initialisation of the branches. :func:`output_change` measures the effect.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from helpers.transformer import check_seed, deepnorm_constants


def perturb_weights_(module: nn.Module, relative_size: float, generator: torch.Generator) -> nn.Module:
    """Add Gaussian noise of standard deviation ``relative_size * std(W)`` to every weight matrix ``W``, in place.

    Only parameters with two dimensions (the Linear weights) change; biases,
    LayerNorm parameters and ReZero's scalars keep their values.
    """
    if isinstance(relative_size, bool) or not isinstance(relative_size, (int, float)) or relative_size < 0:
        raise ValueError(f"relative_size must be a number >= 0 such as 0.01, got {relative_size!r}")
    with torch.no_grad():
        for parameter in module.parameters():
            if parameter.dim() == 2:
                noise = torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype, device=parameter.device)
                parameter.add_(relative_size * parameter.std() * noise)
    return module


def output_change(encoder: nn.Module, hidden_states: torch.Tensor, relative_size: float = 0.01, seed: int = 0) -> float:
    """Return ``||f(x; W + dW) - f(x; W)|| / ||f(x; W)||`` for one random relative perturbation ``dW``.

    ``f`` is ``encoder``, ``x`` is ``hidden_states`` and ``dW`` is drawn by
    :func:`perturb_weights_` on a copy, so ``encoder`` itself is unchanged.
    """
    check_seed(seed)
    generator = torch.Generator(device=hidden_states.device).manual_seed(seed)
    perturbed = perturb_weights_(copy.deepcopy(encoder), relative_size, generator)
    with torch.no_grad():
        output = encoder(hidden_states)
        change = perturbed(hidden_states) - output
    return (change.norm() / output.norm()).item()


def check_deepnorm_constants(alpha: float | None, beta: float | None, num_layers: int = 18) -> bool:
    """Self-check for 04's exercise: DeepNorm's ``alpha`` and ``beta`` for an encoder of ``num_layers`` layers."""
    expected_alpha, expected_beta = deepnorm_constants(num_layers)
    if alpha is None or beta is None:
        print("No answer yet: replace None with your alpha and beta.")
        return False
    numbers = all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in (alpha, beta))
    if numbers and math.isclose(alpha, expected_alpha, rel_tol=1e-3) and math.isclose(beta, expected_beta, rel_tol=1e-3):
        print(f"Correct: alpha = {expected_alpha:.4g}, beta = {expected_beta:.4g}.")
        return True
    print(f"Not yet: alpha={alpha!r}, beta={beta!r}. Hint: alpha = (2N)^(1/4) and beta = (8N)^(-1/4) with N = {num_layers}.")
    return False
