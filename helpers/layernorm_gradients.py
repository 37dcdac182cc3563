"""Gradients through LayerNorm in Post-LN and Pre-LN encoders (introduced in 04).

LayerNorm with gain 1 and bias 0 maps a vector ``z`` of size ``d`` to
``LN(z) = (z - mean(z)) / s`` with ``s = sqrt(var(z) + eps)``. Its Jacobian,

    J_LN(z) = (I - 1 1^T / d - zhat zhat^T / d) / s,    zhat = LN(z),

is a projection (it removes the mean and the direction of ``zhat``) divided
by ``s``: a gradient that passes through LayerNorm is scaled by the inverse
standard deviation of what LayerNorm normalised. Xiong et al. (2020), "On
Layer Normalization in the Transformer Architecture" (arXiv 2002.04745),
build Theorem 1 on this fact: at initialisation the gradient of the last
layer's second feed-forward weight does not depend on the depth ``L`` in a
Post-LN Transformer and scales like ``1 / sqrt(L)`` in a Pre-LN one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from helpers.checks import report_answer
from helpers.plotting import POST_LN, PRE_LN
from helpers.transformer import LN_POSITIONS, Encoder, check_positive_int, check_seed, xavier_init_

MAX_PROFILE_LAYERS = 48  # deepest encoder that plot_grad_norm_profile draws
NORM_FLOOR = 1e-30  # plotted in place of an exact 0, which a log axis cannot show


def layernorm_jacobian(z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Return the ``(d, d)`` Jacobian of LayerNorm (gain 1, bias 0) at the vector ``z``, by the formula above."""
    if not isinstance(z, torch.Tensor) or z.dim() != 1 or z.numel() < 2:
        raise ValueError(f"z must be a 1-D tensor of at least 2 features, got {getattr(z, 'shape', z)!r}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps < 0:
        raise ValueError(f"eps must be a number >= 0 such as LayerNorm's 1e-5, got {eps!r}")
    d = z.numel()
    s = torch.sqrt(z.var(unbiased=False) + eps)
    z_hat = (z - z.mean()) / s
    identity = torch.eye(d, dtype=z.dtype, device=z.device)
    return (identity - 1.0 / d - torch.outer(z_hat, z_hat) / d) / s


def ffn_output_grad_norms(
    num_layers: int,
    ln_position: str,
    *,
    residual: bool = True,
    hidden_size: int = 128,
    num_attention_heads: int = 4,
    intermediate_size: int = 512,
    vocab_size: int = 1000,
    batch_size: int = 8,
    seq_len: int = 32,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> list[float]:
    """Return the gradient norm of every layer's second feed-forward weight ``W_2`` at initialisation.

    The setting of Xiong et al. (2020), encoder only: random token ids,
    embeddings drawn from N(0, 1), a Xavier-initialised encoder, a Linear
    output layer over the vocabulary, and the cross-entropy against random
    targets. Entry ``l`` is the Frobenius norm of ``dL/dW_2`` of layer ``l+1``.
    ``seed`` fixes everything without touching torch's global generator.
    """
    if ln_position not in LN_POSITIONS:
        raise ValueError(f"ln_position={ln_position!r} is not supported; use 'post' or 'pre'")
    for name, value in [("vocab_size", vocab_size), ("batch_size", batch_size), ("seq_len", seq_len)]:
        check_positive_int(name, value)
    check_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = Encoder(
            num_layers,
            hidden_size,
            num_attention_heads=num_attention_heads,
            intermediate_size=intermediate_size,
            ln_position=ln_position,
            residual=residual,
        )
        xavier_init_(encoder)
        embedding = nn.Embedding(vocab_size, hidden_size)
        output_layer = xavier_init_(nn.Linear(hidden_size, vocab_size))
        input_ids = torch.randint(vocab_size, (batch_size, seq_len))
        targets = torch.randint(vocab_size, (batch_size, seq_len))
    for module in (encoder, embedding, output_layer):
        module.to(device)
    logits = output_layer(encoder(embedding(input_ids.to(device))))
    loss = F.cross_entropy(logits.flatten(0, 1), targets.to(device).flatten())
    loss.backward()
    return [layer.ffn.output.weight.grad.norm().item() for layer in encoder.layers]


def plot_grad_norm_profile(num_layers: int = 12, ln_position: str = "post", residual: bool = True) -> Figure:
    """Draw :func:`ffn_output_grad_norms` against the layer index, on a log axis, and return the figure.

    The callback of the notebook's interactive figure: ``num_layers`` from 1
    to ``MAX_PROFILE_LAYERS``, ``ln_position`` ``"post"`` or ``"pre"``. The
    figure is not registered with pyplot, so repeated calls keep no figures
    alive. A norm that is exactly 0 is drawn at ``NORM_FLOOR``.
    """
    check_positive_int("num_layers", num_layers)
    if num_layers > MAX_PROFILE_LAYERS:
        raise ValueError(f"num_layers must be at most {MAX_PROFILE_LAYERS} to draw in about a second, got {num_layers}")
    grad_norms = ffn_output_grad_norms(num_layers, ln_position, residual=residual)
    plotted_norms = [max(norm, NORM_FLOOR) for norm in grad_norms]
    layers = range(1, num_layers + 1)
    label = "Post-LN" if ln_position == "post" else "Pre-LN"
    if not residual:
        label += ", no residual"
    colour = POST_LN if ln_position == "post" else PRE_LN

    figure = Figure(figsize=(7.0, 4.2), layout="constrained")  # not registered with pyplot
    axes = figure.add_subplot()
    axes.plot(layers, plotted_norms, marker="o", color=colour, label=label)
    axes.set_yscale("log")
    low, high = min(plotted_norms), max(plotted_norms)
    axes.set_ylim(min(low / 2, 1e-2), max(high * 2, 1.0))  # a fixed band keeps sliders comparable
    axes.set_xlim(0.5, num_layers + 0.5)
    axes.set_xlabel("layer l")
    axes.set_ylabel(r"$\|\partial \mathcal{L} / \partial W^{2,l}\|_F$ at init")
    axes.set_title(f"FFN weight gradient per layer, L = {num_layers}")
    axes.legend(loc="upper right")
    return figure


# Self-checks for the exercises of 04. Each prints a verdict and returns True for a correct answer.


def check_shortcut_scale(answer: float | None, branch_std: float = 1.0) -> bool:
    """Check the factor by which LayerNorm scales the shortcut's gradient in ``LN(x + F(x))``.

    ``x`` has standard deviation 1 across features and ``F(x)`` has
    ``branch_std``, independent of ``x``.
    """
    expected = 1 / math.sqrt(1 + branch_std**2)
    return _report(answer, expected, hint="the variances of independent terms add; LN divides by the standard deviation")


def check_final_norm_scale(answer: float | None, num_layers: int = 24) -> bool:
    """Check the factor by which a Pre-LN encoder's final LayerNorm scales the gradient.

    The input has variance 1 and each of the ``2 * num_layers`` sublayers adds
    an independent branch output of variance 1.
    """
    check_positive_int("num_layers", num_layers)
    expected = 1 / math.sqrt(1 + 2 * num_layers)
    return _report(answer, expected, hint="count the sublayers: two per layer, each adds variance 1")


def check_layernorm_backward(backward: Callable) -> bool:
    """Check that ``backward(z, grad_output, eps)`` returns ``dL/dz`` for ``y = LN(z)`` (gain 1, bias 0).

    ``z`` and ``grad_output`` are float64 tensors of shape ``(tokens, d)``;
    The answer is compared with autograd through ``torch.nn.functional.layer_norm``.
    """
    if not callable(backward):
        raise TypeError(f"backward must be a function backward(z, grad_output, eps), got {type(backward).__name__}")
    generator = torch.Generator().manual_seed(4)
    z = torch.randn(3, 16, dtype=torch.float64, generator=generator) * 3 + 1
    grad_output = torch.randn(3, 16, dtype=torch.float64, generator=generator)
    answer = backward(z.clone(), grad_output.clone(), 1e-5)
    if answer is None:
        print("No answer yet: make backward return dL/dz.")
        return False
    z.requires_grad_(True)
    (expected,) = torch.autograd.grad(F.layer_norm(z, (16,), eps=1e-5), z, grad_output)
    answer = torch.as_tensor(answer, dtype=torch.float64)
    if answer.shape != expected.shape:
        print(f"Not yet: dL/dz must have the shape of z, {tuple(expected.shape)}, got {tuple(answer.shape)}.")
        return False
    error = (answer - expected).abs().max().item()
    if error <= 1e-10:
        print(f"Correct: the largest difference from autograd is {error:.1e}.")
        return True
    print(f"Not yet: the largest difference from autograd is {error:.3g}. "
          "Hint: dL/dz = (g - mean(g) - zhat * mean(g * zhat)) / s, per token.")  # fmt: skip
    return False


def _report(answer: float | None, expected: float, hint: str) -> bool:
    correct = (
        isinstance(answer, (int, float))
        and not isinstance(answer, bool)
        and math.isclose(answer, expected, rel_tol=1e-2)
    )
    return report_answer(answer, expected, correct, hint)
