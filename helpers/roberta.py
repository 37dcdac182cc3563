"""RoBERTa, written from the helpers' encoder layers (introduced in 05).

Read top to bottom, this file is RoBERTa's block diagram (Liu et al. 2019,
"RoBERTa: A Robustly Optimized BERT Pretraining Approach", arXiv 1907.11692)::

    input_ids ─► RobertaEmbeddings: word + position + token type, LayerNorm, dropout
              ─► Encoder (helpers.transformer): num_hidden_layers x EncoderLayer,
                 each LN(x + Attention(x)) then LN(x + FeedForward(x))
              ─► last_hidden_state
              ─► RobertaLMHead: Linear, GELU, LayerNorm, decoder tied to the word embeddings
              ─► logits over the vocabulary

Config field names and parameter layouts match ``transformers``' RoBERTa, so the
loaders at the end of the file copy its weights, and the tests check that both
models give the same outputs and gradients. Two teaching switches, which
``transformers`` does not have, change each sublayer's wrapping:
``ln_position="pre"`` (``x + F(LN(x))``) and ``residual=False``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from helpers.transformer import ACTIVATIONS, LN_POSITIONS, Encoder

IGNORE_INDEX = -100  # label value that the masked-LM loss skips, as in torch and transformers
INIT_SCHEMES = ("roberta", "small")
SMALL_EMBEDDING_STD = 0.1


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class RobertaConfig:
    """RoBERTa's hyperparameters; the defaults are roberta-base's.

    The field names are ``transformers.RobertaConfig``'s, but its defaults are
    BERT's (``layer_norm_eps=1e-12``, 512 positions, 2 token types), so build
    a transformers config from this one with :meth:`to_transformers`. Use
    ``dataclasses.replace(config, field=value)`` for a variant: the copy is
    validated again.
    """

    vocab_size: int = 50265
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"  # exact, erf-based GELU
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 514  # 512 tokens + the 2 ids up to and including pad_token_id
    type_vocab_size: int = 1
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-5
    pad_token_id: int = 1
    bos_token_id: int = 0
    eos_token_id: int = 2
    ln_position: str = "post"  # teaching switch: "post" as published, or "pre"
    residual: bool = True  # teaching switch: False removes both shortcuts of every layer

    def __post_init__(self) -> None:
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "max_position_embeddings", "type_vocab_size"):
            _check_int(name, getattr(self, name), minimum=1)
        for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
            _check_int(name, getattr(self, name), minimum=0)
            if getattr(self, name) >= self.vocab_size:
                raise ValueError(
                    f"{name}={getattr(self, name)} is not below vocab_size={self.vocab_size}; "
                    f"pass an id in [0, {self.vocab_size})"
                )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1), got {value!r}")
        for name in ("initializer_range", "layer_norm_eps"):
            value = getattr(self, name)
            if not isinstance(value, float) or not value > 0.0:
                raise ValueError(f"{name} must be a positive float, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} is not divisible by num_attention_heads="
                f"{self.num_attention_heads}; choose a number of heads that divides {self.hidden_size}"
            )
        if self.max_position_embeddings < self.pad_token_id + 2:
            raise ValueError(
                f"max_position_embeddings={self.max_position_embeddings} leaves no position for a token: "
                f"ids 0..pad_token_id={self.pad_token_id} are reserved, so pass at least {self.pad_token_id + 2}"
            )
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(f"hidden_act={self.hidden_act!r} is not supported; use one of {sorted(ACTIVATIONS)}")
        if self.ln_position not in LN_POSITIONS:
            raise ValueError(f"ln_position={self.ln_position!r} is not supported; use 'post' (RoBERTa) or 'pre'")
        if not isinstance(self.residual, bool):
            raise TypeError(f"residual must be True or False, got {self.residual!r}")

    @property
    def max_tokens(self) -> int:
        """Maximum tokens per input: position ids start at pad_token_id + 1, so 512 for roberta-base."""
        return self.max_position_embeddings - self.pad_token_id - 1

    def to_transformers(self, **kwargs: Any):
        """Build the equivalent ``transformers.RobertaConfig``; ``kwargs`` (e.g. ``attn_implementation``) pass through."""
        from transformers import RobertaConfig as TransformersRobertaConfig

        if self.ln_position != "post" or not self.residual:
            raise ValueError(
                f"transformers' RoBERTa is Post-LN with residuals; this config has ln_position="
                f"{self.ln_position!r}, residual={self.residual}. Convert only ln_position='post', residual=True"
            )
        fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        del fields["ln_position"], fields["residual"]
        return TransformersRobertaConfig(**fields, **kwargs)

    @classmethod
    def from_transformers(cls, config: Any, **switches: Any) -> RobertaConfig:
        """Build a config from a ``transformers.RobertaConfig``; ``switches`` set ``ln_position`` or ``residual``."""
        unsupported = {
            "is_decoder": (getattr(config, "is_decoder", False), False),
            "add_cross_attention": (getattr(config, "add_cross_attention", False), False),
            "position_embedding_type": (getattr(config, "position_embedding_type", "absolute"), "absolute"),
            "tie_word_embeddings": (getattr(config, "tie_word_embeddings", True), True),
        }
        for name, (value, supported) in unsupported.items():
            if value != supported:
                raise ValueError(f"{name}={value!r} is not supported by helpers.roberta; use {name}={supported!r}")
        unknown = set(switches) - {"ln_position", "residual"}
        if unknown:
            raise TypeError(f"unknown switches {sorted(unknown)}; pass only ln_position or residual")
        names = [field.name for field in dataclasses.fields(cls) if field.name not in ("ln_position", "residual")]
        return cls(**{name: getattr(config, name) for name in names}, **switches)


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


# --------------------------------------------------------------------------- outputs


@dataclass
class RobertaOutput:
    """Output of :class:`RobertaModel`.

    ``hidden_states`` (on request) contains ``num_hidden_layers + 1`` tensors:
    the embeddings' output, then each layer's output. For Pre-LN the last one
    is taken after the final LayerNorm, so it equals ``last_hidden_state``.
    """

    last_hidden_state: torch.Tensor  # (batch, seq, hidden)
    hidden_states: tuple[torch.Tensor, ...] | None = None


@dataclass
class MaskedLMOutput:
    """Output of :class:`RobertaForMaskedLM`; ``loss`` is None unless labels are given."""

    logits: torch.Tensor  # (batch, seq, vocab)
    loss: torch.Tensor | None = None
    last_hidden_state: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


# --------------------------------------------------------------------------- model


def position_ids_from_input_ids(input_ids: torch.Tensor, pad_token_id: int) -> torch.Tensor:
    """Number the real tokens pad_token_id + 1, pad_token_id + 2, ...; padding keeps pad_token_id.

    Counting only real tokens gives a left-padded sequence the same positions
    as the unpadded one, as transformers' port of fairseq's ``make_positions`` does.
    """
    is_token = input_ids.ne(pad_token_id).int()
    return torch.cumsum(is_token, dim=1) * is_token + pad_token_id


class RobertaEmbeddings(nn.Module):
    """Word, position and token-type embeddings, summed, then LayerNorm and dropout."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__()
        self.config = config
        hidden = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, hidden, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(
            config.max_position_embeddings, hidden, padding_idx=config.pad_token_id
        )
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, hidden)
        self.layer_norm = nn.LayerNorm(hidden, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        check_input_ids(input_ids, self.config)
        if token_type_ids is None:
            # Every token has type 0. Adding row 0 directly gives the same sum as
            # looking up a tensor of zeros, and its backward is one reduction.
            token_type = self.token_type_embeddings.weight[0]
        else:
            check_token_type_ids(token_type_ids, input_ids, self.config)
            token_type = self.token_type_embeddings(token_type_ids)
        position_ids = position_ids_from_input_ids(input_ids, self.config.pad_token_id)
        embeddings = self.word_embeddings(input_ids) + token_type  # (batch, seq, hidden)
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.dropout(self.layer_norm(embeddings))


class RobertaModel(nn.Module):
    """The RoBERTa encoder: embeddings, then ``num_hidden_layers`` encoder layers.

    The Pre-LN variant keeps the embeddings' LayerNorm and ends with the
    encoder's ``final_norm``, so its output is normalised like Post-LN's.
    """

    def __init__(self, config: RobertaConfig | None = None) -> None:
        super().__init__()
        config = RobertaConfig() if config is None else config
        if not isinstance(config, RobertaConfig):
            raise TypeError(
                f"config must be a helpers.roberta.RobertaConfig, got {type(config).__name__}; "
                "convert a transformers config with RobertaConfig.from_transformers(config)"
            )
        self.config = config
        self.embeddings = RobertaEmbeddings(config)
        self.encoder = Encoder(
            config.num_hidden_layers,
            config.hidden_size,
            num_attention_heads=config.num_attention_heads,
            intermediate_size=config.intermediate_size,
            hidden_act=config.hidden_act,
            hidden_dropout_prob=config.hidden_dropout_prob,
            attention_probs_dropout_prob=config.attention_probs_dropout_prob,
            layer_norm_eps=config.layer_norm_eps,
            ln_position=config.ln_position,
            residual=config.residual,
        )
        init_weights(self, "roberta")

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        output_hidden_states: bool = False,
    ) -> RobertaOutput:
        """Encode ``input_ids`` (batch, seq); ``attention_mask`` has 1 for tokens, 0 for padding."""
        hidden_states = self.embeddings(input_ids, token_type_ids)
        if not output_hidden_states:
            return RobertaOutput(self.encoder(hidden_states, attention_mask))
        last_hidden_state, all_hidden_states = self.encoder(hidden_states, attention_mask, output_hidden_states=True)
        return RobertaOutput(last_hidden_state, tuple(all_hidden_states))


class RobertaLMHead(nn.Module):
    """Masked-LM head: Linear, exact GELU, LayerNorm, then the decoder to vocabulary logits.

    :class:`RobertaForMaskedLM` makes ``decoder.weight`` the word-embedding
    matrix itself, and ``decoder.bias`` is the head's only output bias. The
    GELU is exact whatever ``hidden_act`` is, as in transformers' RobertaLMHead.
    """

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.GELU()
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = self.layer_norm(self.activation(self.dense(hidden_states)))
        return self.decoder(hidden_states)  # (batch, seq, vocab)


class RobertaForMaskedLM(nn.Module):
    """RoBERTa with its masked-LM head; the loss is cross-entropy over labels other than -100."""

    def __init__(self, config: RobertaConfig | None = None) -> None:
        super().__init__()
        self.roberta = RobertaModel(config)
        self.config = self.roberta.config
        self.lm_head = RobertaLMHead(self.config)
        self.lm_head.decoder.weight = self.roberta.embeddings.word_embeddings.weight  # tied: one matrix
        init_weights(self, "roberta")

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool = False,
    ) -> MaskedLMOutput:
        """Predict every position's token; with ``labels`` (batch, seq), also return the mean loss.

        As in torch and transformers, the loss is NaN when every label is -100.
        """
        if labels is not None and labels.shape != input_ids.shape:
            raise ValueError(
                f"labels has shape {tuple(labels.shape)}, expected the shape of input_ids "
                f"{tuple(input_ids.shape)}; use -100 for positions without a target"
            )
        outputs = self.roberta(input_ids, attention_mask, token_type_ids, output_hidden_states)
        logits = self.lm_head(outputs.last_hidden_state)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(
                logits.view(-1, self.config.vocab_size), labels.reshape(-1), ignore_index=IGNORE_INDEX
            )
        return MaskedLMOutput(logits, loss, outputs.last_hidden_state, outputs.hidden_states)


# --------------------------------------------------------------------------- input checks


def check_input_ids(input_ids: torch.Tensor, config: RobertaConfig) -> None:
    """Raise ValueError for input_ids of the wrong type or shape, too long, or outside the vocabulary.

    The vocabulary range is checked only for tensors on the CPU, because on a
    GPU the check would wait for the device at every step.
    """
    if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 2 or input_ids.dtype != torch.long:
        shape = tuple(input_ids.shape) if isinstance(input_ids, torch.Tensor) else type(input_ids).__name__
        raise ValueError(f"input_ids must be a (batch, seq) tensor of torch.long, got {shape}")
    seq = input_ids.shape[1]
    if seq > config.max_tokens:
        raise ValueError(
            f"input has {seq} tokens but the model has max_position_embeddings={config.max_position_embeddings}, "
            f"which fits {config.max_tokens} tokens (positions start at pad_token_id + 1 = "
            f"{config.pad_token_id + 1}); truncate the input to {config.max_tokens} tokens or build the model "
            f"with max_position_embeddings >= {seq + config.pad_token_id + 1}"
        )
    if input_ids.device.type == "cpu" and input_ids.numel():
        low, high = int(input_ids.min()), int(input_ids.max())
        if low < 0 or high >= config.vocab_size:
            raise ValueError(
                f"input_ids range over [{low}, {high}] but vocab_size={config.vocab_size}; "
                f"pass ids in [0, {config.vocab_size}) or a config with a larger vocab_size"
            )


def check_token_type_ids(token_type_ids: torch.Tensor, input_ids: torch.Tensor, config: RobertaConfig) -> None:
    """Raise ValueError for token_type_ids of the wrong shape or without an embedding row.

    Unlike the input_ids check, this one also runs on a GPU (and waits for it),
    because RoBERTa callers rarely pass token types.
    """
    if token_type_ids.shape != input_ids.shape:
        raise ValueError(
            f"token_type_ids has shape {tuple(token_type_ids.shape)}, expected {tuple(input_ids.shape)} "
            "(one type per token); or omit it, which gives every token type 0"
        )
    if token_type_ids.numel():
        low, high = int(token_type_ids.min()), int(token_type_ids.max())
        if low < 0 or high >= config.type_vocab_size:
            raise ValueError(
                f"token_type_ids range over [{low}, {high}] but the model has type_vocab_size="
                f"{config.type_vocab_size} (roberta-base has 1); omit token_type_ids, pass ids below "
                f"{config.type_vocab_size}, or build the model with type_vocab_size > {high}"
            )


# --------------------------------------------------------------------------- initialisation


def init_weights(model: nn.Module, scheme: str = "roberta") -> nn.Module:
    """Initialise every Linear, Embedding and LayerNorm of ``model`` in place; return it.

    - ``"roberta"``: RoBERTa's and BERT's scheme, N(0, initializer_range) for
      every Linear and Embedding weight, zero biases, LayerNorm at (1, 0).
    - ``"small"``: PyTorch's default Linear and LayerNorm init, and every
      embedding N(0, 0.1). The tied decoder's initial logits are then about 5
      times larger than with N(0, 0.02) (the ratio of the stds), which helps
      narrow models (hidden size of a few dozen) leave the unigram loss sooner.

    Both schemes zero the padding rows of the word and position embeddings.
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"scheme={scheme!r} is not an init scheme; use one of {INIT_SCHEMES}")
    config = getattr(model, "config", None)
    if not isinstance(config, RobertaConfig):
        raise TypeError(f"model must be a helpers.roberta model with a RobertaConfig, got {type(model).__name__}")
    std = config.initializer_range if scheme == "roberta" else SMALL_EMBEDDING_STD
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.LayerNorm) or (isinstance(module, nn.Linear) and scheme == "small"):
                module.reset_parameters()  # LayerNorm (1, 0); Linear U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            elif isinstance(module, nn.Linear):
                module.weight.normal_(0.0, std)
                module.bias.zero_()
        # Embeddings last: the tied decoder's weight is the word-embedding matrix.
        for module in model.modules():
            if isinstance(module, nn.Embedding):
                module.weight.normal_(0.0, std)
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
        if isinstance(model, RobertaForMaskedLM):
            model.lm_head.decoder.bias.zero_()
    return model


# --------------------------------------------------------------------------- transformers weights

TIED_DECODER_KEY = "lm_head.decoder.weight"  # the same tensor as roberta.embeddings.word_embeddings.weight
# transformers' names for parts of each layer -> this module's names (helpers.transformer.EncoderLayer)
LAYER_KEY_MAP = {
    "attention.self.query": "attention.query",
    "attention.self.key": "attention.key",
    "attention.self.value": "attention.value",
    "attention.output.dense": "attention.output",
    "attention.output.LayerNorm": "attention_norm",
    "intermediate.dense": "ffn.intermediate",
    "output.dense": "ffn.output",
    "output.LayerNorm": "ffn_norm",
}
# transformers keys with no counterpart here: RobertaModel's pooler (a tanh layer
# for classification, unused by the masked-LM head) and buffers that older
# transformers versions saved.
IGNORED_TRANSFORMERS_KEYS = ("pooler.dense.weight", "pooler.dense.bias", "embeddings.position_ids",
                             "embeddings.token_type_ids")


def transformers_key_map(config: RobertaConfig, masked_lm: bool) -> dict[str, str]:
    """Map each parameter name of transformers' RoBERTa to the same parameter's name here."""
    key_map = {
        "embeddings.word_embeddings.weight": "embeddings.word_embeddings.weight",
        "embeddings.position_embeddings.weight": "embeddings.position_embeddings.weight",
        "embeddings.token_type_embeddings.weight": "embeddings.token_type_embeddings.weight",
        "embeddings.LayerNorm.weight": "embeddings.layer_norm.weight",
        "embeddings.LayerNorm.bias": "embeddings.layer_norm.bias",
    }
    for index in range(config.num_hidden_layers):
        for theirs, ours in LAYER_KEY_MAP.items():
            for kind in ("weight", "bias"):
                key_map[f"encoder.layer.{index}.{theirs}.{kind}"] = f"encoder.layers.{index}.{ours}.{kind}"
    if not masked_lm:
        return key_map
    key_map = {f"roberta.{theirs}": f"roberta.{ours}" for theirs, ours in key_map.items()}
    for name in ("dense.weight", "dense.bias", "layer_norm.weight", "layer_norm.bias",
                 "decoder.weight", "decoder.bias"):
        key_map[f"lm_head.{name}"] = f"lm_head.{name}"
    key_map["lm_head.bias"] = "lm_head.decoder.bias"  # transformers ties lm_head.bias to decoder.bias
    return key_map


def load_transformers_state_dict(model: RobertaModel | RobertaForMaskedLM, state_dict: dict) -> nn.Module:
    """Copy a state dict with transformers' key names into ``model``; return the model.

    Keys of a ``transformers.RobertaModel`` go into :class:`RobertaModel`,
    keys of a ``RobertaForMaskedLM`` (prefixed ``roberta.``) into
    :class:`RobertaForMaskedLM`. Unknown, missing or misshapen keys raise.
    """
    if not isinstance(model, (RobertaModel, RobertaForMaskedLM)):
        raise TypeError(f"model must be a helpers.roberta RobertaModel or RobertaForMaskedLM, got {type(model).__name__}")
    masked_lm = isinstance(model, RobertaForMaskedLM)
    key_map = transformers_key_map(model.config, masked_lm)
    prefix = "roberta." if masked_lm else ""
    ignored = {prefix + key for key in IGNORED_TRANSFORMERS_KEYS}
    unknown = sorted(set(state_dict) - set(key_map) - ignored)
    if unknown:
        hint = (
            "a RobertaForMaskedLM state dict (keys 'roberta.*' and 'lm_head.*') loads into "
            "helpers.roberta.RobertaForMaskedLM, a RobertaModel state dict into helpers.roberta.RobertaModel"
        )
        raise ValueError(f"{len(unknown)} unknown keys for {type(model).__name__}: {_preview(unknown)}; {hint}")
    if masked_lm:
        _check_same_tensor(state_dict, "lm_head.bias", "lm_head.decoder.bias")
    converted = {key_map[key]: value for key, value in state_dict.items() if key in key_map}
    return load_checked_state_dict(model, converted)


def load_checked_state_dict(model: nn.Module, state_dict: dict) -> nn.Module:
    """Load ``state_dict`` (this module's key names) into ``model``, raising on any key or shape mismatch.

    The tied decoder weight may be absent; if present it must equal the word embeddings.
    """
    expected = model.state_dict()
    tied = {TIED_DECODER_KEY} if isinstance(model, RobertaForMaskedLM) else set()
    missing = sorted(set(expected) - set(state_dict) - tied)
    unknown = sorted(set(state_dict) - set(expected))
    if missing or unknown:
        raise ValueError(
            f"state dict does not fit {type(model).__name__}: missing {len(missing)} keys {_preview(missing)}, "
            f"unknown {len(unknown)} keys {_preview(unknown)}; load a checkpoint of the same model class "
            "and config (Pre-LN models also have encoder.final_norm)"
        )
    for key, value in state_dict.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise ValueError(
                f"{key} has shape {tuple(value.shape)} in the state dict but {tuple(expected[key].shape)} in the "
                "model; build the model with the config the weights were saved with"
            )
    if tied:
        _check_same_tensor(state_dict, TIED_DECODER_KEY, "roberta.embeddings.word_embeddings.weight")
    model.load_state_dict(state_dict, strict=False)
    return model


def _check_same_tensor(state_dict: dict, key: str, other: str) -> None:
    if key in state_dict and other in state_dict and not torch.equal(state_dict[key], state_dict[other]):
        raise ValueError(f"{key} differs from {other}, but this model ties them; pass one tensor for both")


def _preview(keys: list[str], count: int = 5) -> str:
    return str(keys[:count])[:-1] + (", ...]" if len(keys) > count else "]")


def from_transformers(model: nn.Module, **switches: Any) -> RobertaModel | RobertaForMaskedLM:
    """Copy a transformers ``RobertaModel`` or ``RobertaForMaskedLM`` into the matching model here.

    The copy has the source's device, dtype and train/eval mode. ``switches``
    (``ln_position``, ``residual``) change the copy's architecture, e.g. to
    remove the residuals of trained weights.
    """
    import transformers

    if isinstance(model, transformers.RobertaForMaskedLM):
        model_class = RobertaForMaskedLM
    elif isinstance(model, transformers.RobertaModel):
        model_class = RobertaModel
    else:
        raise TypeError(
            f"model must be a transformers RobertaModel or RobertaForMaskedLM, got {type(model).__name__}"
        )
    copy = model_class(RobertaConfig.from_transformers(model.config, **switches))
    load_transformers_state_dict(copy, model.state_dict())
    parameter = next(model.parameters())
    return copy.to(device=parameter.device, dtype=parameter.dtype).train(model.training)


def from_pretrained(
    directory: str | Path, masked_lm: bool = True, **switches: Any
) -> RobertaModel | RobertaForMaskedLM:
    """Load a local ``save_pretrained`` directory of transformers' RoBERTa; nothing is downloaded.

    ``masked_lm=True`` returns :class:`RobertaForMaskedLM` and needs the
    checkpoint's LM head; ``False`` returns :class:`RobertaModel` (an LM head
    in the checkpoint is then left out). The model is in eval mode.
    """
    import transformers

    directory = Path(directory)
    if not (directory / "config.json").is_file():
        raise FileNotFoundError(
            f"{directory} has no config.json; pass a directory written by save_pretrained, or a local copy "
            "of roberta-base (nothing is downloaded)"
        )
    source_class = transformers.RobertaForMaskedLM if masked_lm else transformers.RobertaModel
    source, info = source_class.from_pretrained(directory, local_files_only=True, output_loading_info=True)
    missing = [key for key in info["missing_keys"] if not key.startswith("pooler.")]
    if missing:
        raise ValueError(
            f"the checkpoint in {directory} lacks {len(missing)} weights of {source_class.__name__}: "
            f"{_preview(sorted(missing))}; pass masked_lm=False for a checkpoint without an LM head"
        )
    return from_transformers(source.eval(), **switches)


# --------------------------------------------------------------------------- our checkpoints

MODEL_CLASSES = {"RobertaModel": RobertaModel, "RobertaForMaskedLM": RobertaForMaskedLM}


def save_checkpoint(model: RobertaModel | RobertaForMaskedLM, path: str | Path) -> Path:
    """Save weights and config to ``path``: safetensors for a ``.safetensors`` suffix, else ``torch.save``.

    The tied decoder weight is stored once, as the word embeddings.
    """
    if not isinstance(model, tuple(MODEL_CLASSES.values())):
        raise TypeError(f"model must be a helpers.roberta RobertaModel or RobertaForMaskedLM, got {type(model).__name__}")
    path = Path(path)
    state_dict = {key: value.detach().contiguous() for key, value in model.state_dict().items() if key != TIED_DECODER_KEY}
    metadata = {"model_class": type(model).__name__, "config": json.dumps(dataclasses.asdict(model.config))}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state_dict, path, metadata=metadata)
    else:
        torch.save({**metadata, "state_dict": state_dict}, path)
    return path


def load_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> RobertaModel | RobertaForMaskedLM:
    """Rebuild the model that :func:`save_checkpoint` wrote to ``path``, on ``map_location``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; pass the path that save_checkpoint wrote")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file, safe_open

        with safe_open(path, framework="pt") as file:
            metadata = file.metadata() or {}
        state_dict = load_file(path, device=str(map_location))
    else:
        metadata = torch.load(path, map_location=map_location, weights_only=True)
        state_dict = metadata.pop("state_dict", None)
    if metadata.get("model_class") not in MODEL_CLASSES or "config" not in metadata or state_dict is None:
        raise ValueError(f"{path} was not written by helpers.roberta.save_checkpoint (no model class and config)")
    config = RobertaConfig(**json.loads(metadata["config"]))
    model = MODEL_CLASSES[metadata["model_class"]](config).to(map_location)
    return load_checked_state_dict(model, state_dict)
