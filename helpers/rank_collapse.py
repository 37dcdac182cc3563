"""Rank collapse of token representations in pure-attention stacks (introduced in 04).

Dong, Cordonnier and Loukas (2021), "Attention is Not All You Need: Pure
Attention Loses Rank Doubly Exponentially with Depth" (arXiv 2103.03404),
show that self-attention without skip connections drives the token
representations ``X`` (tokens x hidden) toward a matrix whose rows are all
equal, ``1 x^T``, and that skip connections prevent it. They measure the
distance to that rank-1 matrix with a composite l1/l-inf norm. This module
uses the Frobenius norm instead, because the best such ``x`` is then simply
the mean token.
"""

from __future__ import annotations

import torch

from helpers.transformer import Encoder, check_positive_int, check_seed


def rank_one_residual(hidden_states: torch.Tensor) -> torch.Tensor:
    """Return ``||X - 1 x^T||_F / ||X||_F`` for each sequence, where ``x`` is the mean token.

    ``hidden_states`` is ``(batch, seq, hidden)`` or ``(seq, hidden)``. The
    result is 0 when every token has the same vector (rank 1 with equal rows)
    and 1 when the tokens average to zero. Sequences that are all zeros have
    no direction and give NaN.
    """
    if not isinstance(hidden_states, torch.Tensor) or hidden_states.dim() not in (2, 3):
        raise ValueError(
            "hidden_states must be a tensor of shape (batch, seq, hidden) or (seq, hidden), "
            f"got {getattr(hidden_states, 'shape', type(hidden_states).__name__)}"
        )
    mean_token = hidden_states.mean(dim=-2, keepdim=True)  # the best x in the Frobenius norm
    residual = torch.linalg.matrix_norm(hidden_states - mean_token)
    return residual / torch.linalg.matrix_norm(hidden_states)


def collapse_profile(
    num_layers: int,
    *,
    residual: bool,
    feed_forward: bool,
    hidden_size: int = 64,
    num_attention_heads: int = 4,
    batch_size: int = 8,
    seq_len: int = 32,
    seed: int = 0,
) -> list[float]:
    """Return the mean :func:`rank_one_residual` of the input and of each layer's output.

    The stack has no LayerNorm (``ln_position=None``), PyTorch's default
    initialisation, and Gaussian tokens as input. It runs in float64 so that
    the residual can fall to about 1e-16 before rounding stops it. ``seed``
    fixes the weights and the input without touching torch's global generator.
    """
    check_positive_int("batch_size", batch_size)
    check_positive_int("seq_len", seq_len)
    check_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = Encoder(
            num_layers,
            hidden_size,
            num_attention_heads=num_attention_heads,
            intermediate_size=4 * hidden_size,
            ln_position=None,
            residual=residual,
            feed_forward=feed_forward,
        ).double()
        X = torch.randn(batch_size, seq_len, hidden_size, dtype=torch.float64)
    with torch.no_grad():
        _, all_hidden_states = encoder(X, output_hidden_states=True)
    return [rank_one_residual(hidden_states).mean().item() for hidden_states in all_hidden_states]
