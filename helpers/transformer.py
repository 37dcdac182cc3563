"""The Transformer encoder layer, written for reading (introduced in 04, used in 05).

Argument names follow ``transformers.RobertaConfig`` (``hidden_size``,
``num_attention_heads``, ``intermediate_size``, ``hidden_act``,
``layer_norm_eps``, ...) so that Part V's RoBERTa passes its config straight
through. Two teaching switches change how each sublayer ``F`` is wrapped:

====================  =========================  ======================
``ln_position``       ``residual=True``           ``residual=False``
====================  =========================  ======================
``"post"`` (RoBERTa)  ``x = LN(x + F(x))``        ``x = LN(F(x))``
``"pre"`` (GPT-2)     ``x = x + F(LN(x))``        ``x = F(LN(x))``
``None``              ``x = x + F(x)``            ``x = F(x)``
====================  =========================  ======================

Three more options, off by default, turn a layer into the variants that
notebook 04 measures:

- ``rezero=True`` multiplies each branch by a learned scalar ``a`` that starts
  at 0, so ``x = x + a F(x)`` with ``ln_position=None`` is ReZero
  (Bachlechner et al. 2020, arXiv 2003.04887);
- ``shortcut_scale=alpha`` multiplies the shortcut, so ``x = LN(alpha x + F(x))``
  with ``ln_position="post"`` is DeepNorm (Wang et al. 2022, arXiv 2203.00555,
  with :func:`deepnorm_constants` and :func:`deepnorm_init_`);
- ``feed_forward=False`` keeps only the attention sublayer, the pure-attention
  network of Dong et al. 2021 (arXiv 2103.03404).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

LN_POSITIONS = ("post", "pre")  # None, meaning no LayerNorm, is accepted too
ACTIVATIONS = {
    "gelu": lambda: nn.GELU(),  # exact, erf-based: what RoBERTa uses
    "gelu_new": lambda: nn.GELU(approximate="tanh"),
    "relu": lambda: nn.ReLU(),
}


def check_positive_int(name: str, value: int) -> None:
    """Raise ``ValueError`` unless ``value`` is an int of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def check_seed(seed: int) -> None:
    """Raise ``ValueError`` unless ``seed`` is a non-negative int."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")


def _check_probability(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1), got {value!r}")


def _check_bool(name: str, value: bool) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")


def additive_attention_mask(attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """Turn a ``(batch, seq)`` mask of 1 (token) and 0 (padding) into an additive mask.

    The result, shaped ``(batch, 1, 1, seq)``, is 0 for keys to attend to and
    the most negative finite value of ``dtype`` for padded keys, as in
    transformers. A finite value (not -inf) keeps a row whose keys are all
    padding finite: its softmax becomes uniform instead of NaN.
    """
    if attention_mask is None:
        return None
    if not isinstance(attention_mask, torch.Tensor):
        raise TypeError(
            f"attention_mask must be a torch.Tensor of shape (batch, seq) or None, "
            f"got {type(attention_mask).__name__}"
        )
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point dtype such as torch.float32, got {dtype!r}")
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
        check_positive_int("hidden_size", hidden_size)
        check_positive_int("num_attention_heads", num_attention_heads)
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

    def check_inputs(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None) -> None:
        if hidden_states.dim() != 3:
            raise ValueError(
                f"hidden_states must have shape (batch, seq, hidden), got {tuple(hidden_states.shape)}"
            )
        batch, seq, hidden = hidden_states.shape
        if hidden != self.query.in_features:
            raise ValueError(
                f"hidden_states has hidden size {hidden}, but this layer was built for "
                f"hidden_size={self.query.in_features}; pass (batch, seq, {self.query.in_features})"
            )
        if attention_mask is not None and tuple(attention_mask.shape) != (batch, seq):
            raise ValueError(
                f"attention_mask has shape {tuple(attention_mask.shape)}, expected (batch, seq) = {(batch, seq)}"
            )

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        self.check_inputs(hidden_states, attention_mask)
        batch, seq, hidden = hidden_states.shape
        query = self.split_heads(self.query(hidden_states))
        key = self.split_heads(self.key(hidden_states))
        value = self.split_heads(self.value(hidden_states))
        mask = additive_attention_mask(attention_mask, query.dtype)
        dropout = self.attention_probs_dropout_prob if self.training else 0.0
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout)
        # (batch, heads, seq, head_size) -> (batch, seq, hidden)
        context = context.transpose(1, 2).reshape(batch, seq, hidden)
        return self.dropout(self.output(context))

    def attention_probs(
        self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Return the attention weights ``softmax(Q K^T / sqrt(head_size))``, shaped (batch, heads, query, key).

        Written out by hand for teaching; ``forward`` computes the same
        weights inside ``scaled_dot_product_attention`` (without dropout).
        """
        self.check_inputs(hidden_states, attention_mask)
        query = self.split_heads(self.query(hidden_states))
        key = self.split_heads(self.key(hidden_states))
        scores = query @ key.transpose(-1, -2) / math.sqrt(self.head_size)  # (batch, heads, seq, seq)
        mask = additive_attention_mask(attention_mask, scores.dtype)
        if mask is not None:
            scores = scores + mask
        return scores.softmax(dim=-1)


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
        check_positive_int("hidden_size", hidden_size)
        check_positive_int("intermediate_size", intermediate_size)
        _check_probability("hidden_dropout_prob", hidden_dropout_prob)
        if hidden_act not in ACTIVATIONS:
            raise ValueError(f"hidden_act={hidden_act!r} is not supported; use one of {sorted(ACTIVATIONS)}")
        self.intermediate = nn.Linear(hidden_size, intermediate_size)
        self.activation = ACTIVATIONS[hidden_act]()
        self.output = nn.Linear(intermediate_size, hidden_size)
        self.dropout = nn.Dropout(hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if hidden_states.shape[-1] != self.intermediate.in_features:
            raise ValueError(
                f"hidden_states has hidden size {hidden_states.shape[-1]}, but this network was built for "
                f"hidden_size={self.intermediate.in_features}; pass (..., {self.intermediate.in_features})"
            )
        return self.dropout(self.output(self.activation(self.intermediate(hidden_states))))


class EncoderLayer(nn.Module):
    """One encoder layer: self-attention then feed-forward, each wrapped by a residual and LayerNorm.

    With ``ln_position=None`` the norms are ``nn.Identity``; with
    ``feed_forward=False`` the attributes ``ffn`` and ``ffn_norm`` are None.
    With ``rezero=True`` the scalars ``attention_resweight`` and
    ``ffn_resweight`` (0 at initialisation) multiply the branches.
    """

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
        ln_position: str | None = "post",
        residual: bool = True,
        rezero: bool = False,
        shortcut_scale: float = 1.0,
        feed_forward: bool = True,
    ) -> None:
        super().__init__()
        if ln_position is not None and ln_position not in LN_POSITIONS:
            raise ValueError(
                f"ln_position={ln_position!r} is not supported; use 'post' (RoBERTa), 'pre' or None (no LayerNorm)"
            )
        _check_bool("residual", residual)
        _check_bool("rezero", rezero)
        _check_bool("feed_forward", feed_forward)
        if not (isinstance(layer_norm_eps, float) and layer_norm_eps > 0):
            raise ValueError(f"layer_norm_eps must be a positive float, got {layer_norm_eps!r}")
        if (
            isinstance(shortcut_scale, bool)
            or not isinstance(shortcut_scale, (int, float))
            or not 0 < shortcut_scale < math.inf
        ):
            raise ValueError(f"shortcut_scale must be a positive number (1.0 for a plain residual), got {shortcut_scale!r}")
        self.ln_position = ln_position
        self.residual = residual
        self.shortcut_scale = float(shortcut_scale)

        def norm() -> nn.Module:
            return nn.Identity() if ln_position is None else nn.LayerNorm(hidden_size, eps=layer_norm_eps)

        self.attention = MultiHeadSelfAttention(
            hidden_size, num_attention_heads, attention_probs_dropout_prob, hidden_dropout_prob
        )
        self.attention_norm = norm()
        self.attention_resweight = nn.Parameter(torch.zeros(())) if rezero else None
        self.ffn = FeedForward(hidden_size, intermediate_size, hidden_act, hidden_dropout_prob) if feed_forward else None
        self.ffn_norm = norm() if feed_forward else None
        self.ffn_resweight = nn.Parameter(torch.zeros(())) if rezero and feed_forward else None

    def sublayer(
        self,
        x: torch.Tensor,
        branch: Callable[[torch.Tensor], torch.Tensor],
        norm: nn.Module,
        resweight: nn.Parameter | None,
    ) -> torch.Tensor:
        """Wrap one sublayer ``branch`` with the residual and LayerNorm this layer uses."""
        if self.ln_position == "pre":
            branch_output = branch(norm(x))  # F(LN(x))
        else:
            branch_output = branch(x)  # F(x)
        if resweight is not None:
            branch_output = resweight * branch_output  # ReZero: a F(x)
        if self.residual:
            shortcut = x if self.shortcut_scale == 1.0 else self.shortcut_scale * x  # DeepNorm: alpha x
            hidden_states = shortcut + branch_output  # the residual connection: x + F(x)
        else:
            hidden_states = branch_output
        if self.ln_position == "post":
            hidden_states = norm(hidden_states)  # LN(x + F(x))
        return hidden_states

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        hidden_states = self.sublayer(
            hidden_states,
            lambda x: self.attention(x, attention_mask),
            self.attention_norm,
            self.attention_resweight,
        )
        if self.ffn is None:
            return hidden_states
        return self.sublayer(hidden_states, self.ffn, self.ffn_norm, self.ffn_resweight)


class Encoder(nn.Module):
    """A stack of encoder layers; a Pre-LN stack ends with one more LayerNorm."""

    def __init__(self, num_hidden_layers: int, hidden_size: int, **layer_options) -> None:
        super().__init__()
        check_positive_int("num_hidden_layers", num_hidden_layers)
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
        """Run every layer; with ``output_hidden_states``, also return the input and each layer's output.

        The last entry of the list is the stack's output, after ``final_norm``.
        """
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
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    for sub in module.modules():
        if isinstance(sub, nn.Linear):
            nn.init.xavier_uniform_(sub.weight)
            nn.init.zeros_(sub.bias)
        elif isinstance(sub, nn.LayerNorm):
            nn.init.ones_(sub.weight)
            nn.init.zeros_(sub.bias)
    return module


def deepnorm_constants(num_layers: int) -> tuple[float, float]:
    """Return DeepNorm's ``(alpha, beta) = ((2N)^(1/4), (8N)^(-1/4))`` for an encoder of ``N`` layers.

    ``alpha`` scales the shortcut, ``x = LN(alpha x + F(x))``, and ``beta``
    scales the initial weights of the value, attention output and
    feed-forward projections (Wang et al. 2022, encoder-only case).
    """
    check_positive_int("num_layers", num_layers)
    return (2 * num_layers) ** 0.25, (8 * num_layers) ** -0.25


def deepnorm_init_(encoder: Encoder, beta: float) -> Encoder:
    """Initialise ``encoder`` as DeepNorm does: Xavier-normal weights, with gain ``beta`` on the branches' outputs.

    Query and key keep gain 1; value, attention output and both feed-forward
    projections get gain ``beta``. Biases are zero, LayerNorm is (1, 0).
    """
    if not isinstance(encoder, Encoder):
        raise TypeError(f"encoder must be a helpers.transformer.Encoder, got {type(encoder).__name__}")
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta > 0:
        raise ValueError(f"beta must be a positive number such as deepnorm_constants(num_layers)[1], got {beta!r}")
    xavier_init_(encoder)
    for layer in encoder.layers:
        attention = layer.attention
        for linear in (attention.query, attention.key):
            nn.init.xavier_normal_(linear.weight, gain=1.0)
        scaled = [attention.value, attention.output]
        if layer.ffn is not None:
            scaled += [layer.ffn.intermediate, layer.ffn.output]
        for linear in scaled:
            nn.init.xavier_normal_(linear.weight, gain=beta)
    return encoder


# The encoders that notebook 04 compares, by name.
VARIANTS = {
    "post": "LN(x + F(x)), as in RoBERTa",
    "pre": "x + F(LN(x)), as in GPT-2",
    "rezero": "x + a F(x) with a = 0 at initialisation and no LayerNorm (ReZero)",
    "deepnorm": "LN(alpha x + F(x)) with branches initialised with gain beta (DeepNorm)",
}


def build_encoder(
    variant: str,
    num_layers: int,
    hidden_size: int,
    num_attention_heads: int,
    intermediate_size: int,
    *,
    init: str = "xavier",
    **layer_options,
) -> Encoder:
    """Build an :class:`Encoder` of one of :data:`VARIANTS`.

    ``init="xavier"`` applies :func:`xavier_init_`, ``init="pytorch"`` keeps
    PyTorch's default initialisation. DeepNorm always uses its own
    initialisation, :func:`deepnorm_init_`.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} is not supported; use one of {list(VARIANTS)}")
    if init not in ("xavier", "pytorch"):
        raise ValueError(f"init={init!r} is not supported; use 'xavier' or 'pytorch'")
    check_positive_int("num_layers", num_layers)
    options = dict(num_attention_heads=num_attention_heads, intermediate_size=intermediate_size, **layer_options)
    if variant == "deepnorm":
        alpha, beta = deepnorm_constants(num_layers)
        encoder = Encoder(num_layers, hidden_size, ln_position="post", shortcut_scale=alpha, **options)
        return deepnorm_init_(encoder, beta)
    if variant == "rezero":
        encoder = Encoder(num_layers, hidden_size, ln_position=None, rezero=True, **options)
    else:
        encoder = Encoder(num_layers, hidden_size, ln_position=variant, **options)
    return xavier_init_(encoder) if init == "xavier" else encoder
