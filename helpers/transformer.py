"""The Transformer encoder layer, written for reading (introduced in 04, used in 05).

Argument names follow ``transformers.RobertaConfig`` (``hidden_size``,
``num_attention_heads``, ``intermediate_size``, ``hidden_act``,
``layer_norm_eps``, ...) so that Part V's RoBERTa passes its config straight
through. Two teaching switches change how each sublayer ``F`` is wrapped:

===================  =========================  ======================
``ln_position``      ``residual=True``           ``residual=False``
===================  =========================  ======================
``"post"`` (RoBERTa)  ``x = LN(x + F(x))``        ``x = LN(F(x))``
``"pre"`` (GPT-2)     ``x = x + F(LN(x))``        ``x = F(LN(x))``
===================  =========================  ======================
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LN_POSITIONS = ("post", "pre")
ACTIVATIONS = {
    "gelu": lambda: nn.GELU(),  # exact, erf-based: what RoBERTa uses
    "gelu_new": lambda: nn.GELU(approximate="tanh"),
    "relu": lambda: nn.ReLU(),
}


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_probability(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1), got {value!r}")


def additive_attention_mask(attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """Turn a ``(batch, seq)`` mask of 1 (token) and 0 (padding) into an additive mask.

    The result, shaped ``(batch, 1, 1, seq)``, is 0 for keys to attend to and
    the most negative finite value of ``dtype`` for padded keys, as in
    transformers. A finite value (not -inf) keeps a row whose keys are all
    padding finite: its softmax becomes uniform instead of NaN.
    """
    if attention_mask is None:
        return None
    if attention_mask.dim() != 2:
        raise ValueError(
            f"attention_mask must have shape (batch, seq) with 1 for tokens and 0 for padding, "
            f"got shape {tuple(attention_mask.shape)}"
        )
    keep = attention_mask.to(torch.bool)[:, None, None, :]  # (batch, 1, 1, seq)
    return torch.zeros(keep.shape, dtype=dtype, device=attention_mask.device).masked_fill(
        ~keep, torch.finfo(dtype).min
    )


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention with a padding mask, through ``scaled_dot_product_attention``."""

    def __init__(
        self,
        hidden_size: int,
        num_attention_heads: int,
        attention_probs_dropout_prob: float = 0.0,
        hidden_dropout_prob: float = 0.0,
    ) -> None:
        super().__init__()
        _check_positive_int("hidden_size", hidden_size)
        _check_positive_int("num_attention_heads", num_attention_heads)
        if hidden_size % num_attention_heads:
            raise ValueError(
                f"hidden_size={hidden_size} is not divisible by num_attention_heads={num_attention_heads}; "
                f"choose a number of heads that divides {hidden_size}"
            )
        _check_probability("attention_probs_dropout_prob", attention_probs_dropout_prob)
        _check_probability("hidden_dropout_prob", hidden_dropout_prob)
        self.num_attention_heads = num_attention_heads
        self.head_size = hidden_size // num_attention_heads
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.output = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(hidden_dropout_prob)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, _ = x.shape
        # (batch, seq, hidden) -> (batch, heads, seq, head_size)
        return x.view(batch, seq, self.num_attention_heads, self.head_size).transpose(1, 2)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        if hidden_states.dim() != 3:
            raise ValueError(
                f"hidden_states must have shape (batch, seq, hidden), got {tuple(hidden_states.shape)}"
            )
        batch, seq, hidden = hidden_states.shape
        if attention_mask is not None and tuple(attention_mask.shape) != (batch, seq):
            raise ValueError(
                f"attention_mask has shape {tuple(attention_mask.shape)}, expected (batch, seq) = {(batch, seq)}"
            )
        query = self.split_heads(self.query(hidden_states))
        key = self.split_heads(self.key(hidden_states))
        value = self.split_heads(self.value(hidden_states))
        mask = additive_attention_mask(attention_mask, query.dtype)
        dropout = self.attention_probs_dropout_prob if self.training else 0.0
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout)
        # (batch, heads, seq, head_size) -> (batch, seq, hidden)
        context = context.transpose(1, 2).reshape(batch, seq, hidden)
        return self.dropout(self.output(context))


class FeedForward(nn.Module):
    """The position-wise feed-forward network: Linear, activation, Linear."""

    def __init__(
        self,
        hidden_size: int,
        intermediate_size: int,
        hidden_act: str = "gelu",
        hidden_dropout_prob: float = 0.0,
    ) -> None:
        super().__init__()
        _check_positive_int("hidden_size", hidden_size)
        _check_positive_int("intermediate_size", intermediate_size)
        _check_probability("hidden_dropout_prob", hidden_dropout_prob)
        if hidden_act not in ACTIVATIONS:
            raise ValueError(f"hidden_act={hidden_act!r} is not supported; use one of {sorted(ACTIVATIONS)}")
        self.intermediate = nn.Linear(hidden_size, intermediate_size)
        self.activation = ACTIVATIONS[hidden_act]()
        self.output = nn.Linear(intermediate_size, hidden_size)
        self.dropout = nn.Dropout(hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.output(self.activation(self.intermediate(hidden_states))))


class EncoderLayer(nn.Module):
    """One encoder layer: self-attention then feed-forward, each wrapped by a residual and LayerNorm."""

    def __init__(
        self,
        hidden_size: int,
        num_attention_heads: int,
        intermediate_size: int,
        *,
        hidden_act: str = "gelu",
        hidden_dropout_prob: float = 0.0,
        attention_probs_dropout_prob: float = 0.0,
        layer_norm_eps: float = 1e-5,
        ln_position: str = "post",
        residual: bool = True,
    ) -> None:
        super().__init__()
        if ln_position not in LN_POSITIONS:
            raise ValueError(f"ln_position={ln_position!r} is not supported; use 'post' (RoBERTa) or 'pre'")
        if not isinstance(residual, bool):
            raise TypeError(f"residual must be True or False, got {residual!r}")
        if not (isinstance(layer_norm_eps, float) and layer_norm_eps > 0):
            raise ValueError(f"layer_norm_eps must be a positive float, got {layer_norm_eps!r}")
        self.ln_position = ln_position
        self.residual = residual
        self.attention = MultiHeadSelfAttention(
            hidden_size, num_attention_heads, attention_probs_dropout_prob, hidden_dropout_prob
        )
        self.attention_norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.ffn = FeedForward(hidden_size, intermediate_size, hidden_act, hidden_dropout_prob)
        self.ffn_norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)

    def sublayer(self, x: torch.Tensor, branch, norm: nn.LayerNorm) -> torch.Tensor:
        """Wrap one sublayer ``branch`` with the residual and LayerNorm this layer uses."""
        if self.ln_position == "post":
            branch_output = branch(x)
            if self.residual:
                return norm(x + branch_output)  # LN(x + F(x))
            return norm(branch_output)  # LN(F(x))
        branch_output = branch(norm(x))
        if self.residual:
            return x + branch_output  # x + F(LN(x))
        return branch_output  # F(LN(x))

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        hidden_states = self.sublayer(
            hidden_states, lambda x: self.attention(x, attention_mask), self.attention_norm
        )
        return self.sublayer(hidden_states, self.ffn, self.ffn_norm)


class Encoder(nn.Module):
    """A stack of encoder layers; a Pre-LN stack ends with one more LayerNorm."""

    def __init__(self, num_hidden_layers: int, hidden_size: int, **layer_options) -> None:
        super().__init__()
        _check_positive_int("num_hidden_layers", num_hidden_layers)
        self.layers = nn.ModuleList(
            [EncoderLayer(hidden_size, **layer_options) for _ in range(num_hidden_layers)]
        )
        pre_ln = self.layers[0].ln_position == "pre"
        eps = layer_options.get("layer_norm_eps", 1e-5)
        self.final_norm = nn.LayerNorm(hidden_size, eps=eps) if pre_ln else nn.Identity()

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        output_hidden_states: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Run every layer; with ``output_hidden_states``, also return the input and each layer's output."""
        all_hidden_states = [hidden_states]
        for layer in self.layers:
            hidden_states = layer(hidden_states, attention_mask)
            all_hidden_states.append(hidden_states)
        hidden_states = self.final_norm(hidden_states)
        if output_hidden_states:
            all_hidden_states[-1] = hidden_states
            return hidden_states, all_hidden_states
        return hidden_states


def xavier_init_(module: nn.Module) -> nn.Module:
    """Xavier-uniform weights and zero biases for every Linear, LayerNorm at (1, 0)."""
    for sub in module.modules():
        if isinstance(sub, nn.Linear):
            nn.init.xavier_uniform_(sub.weight)
            nn.init.zeros_(sub.bias)
        elif isinstance(sub, nn.LayerNorm):
            nn.init.ones_(sub.weight)
            nn.init.zeros_(sub.bias)
    return module


def attention_scale(head_size: int) -> float:
    """The 1/sqrt(d_head) factor that scaled dot-product attention applies."""
    return 1.0 / math.sqrt(head_size)
