"""A byte-level BPE tokenizer with RoBERTa's special tokens, trained offline (introduced in 05).

RoBERTa (Liu et al. 2019) uses GPT-2's byte-level BPE: text is split into
bytes shown as printable characters (a leading space becomes ``Ġ``), and
merges learned from a corpus build the vocabulary. Every string can be
encoded, so ``<unk>`` is never produced. The special tokens keep RoBERTa's ids
and ``<mask>`` absorbs the space before it, as in ``roberta-base``.
"""

from __future__ import annotations

from collections.abc import Sequence

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

# In id order: <s>=0, <pad>=1, </s>=2, <unk>=3, <mask>=4.
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
MIN_VOCAB_SIZE = len(SPECIAL_TOKENS) + 256  # the special tokens and one token per byte


def train_bpe_tokenizer(texts: Sequence[str], vocab_size: int = 2000, min_frequency: int = 2) -> Tokenizer:
    """Train a byte-level BPE tokenizer on ``texts`` with RoBERTa's special tokens and post-processor.

    The result adds ``<s>`` and ``</s>`` around every encoded text (and
    ``</s></s>`` between the two texts of a pair), as ``roberta-base`` does.
    """
    if isinstance(texts, str) or not texts or not all(isinstance(text, str) for text in texts):
        raise TypeError("texts must be a non-empty sequence of strings, such as stdlib_docstrings()")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < MIN_VOCAB_SIZE:
        raise ValueError(
            f"vocab_size must be an int >= {MIN_VOCAB_SIZE} (5 special tokens and 256 bytes), got {vocab_size!r}"
        )
    if isinstance(min_frequency, bool) or not isinstance(min_frequency, int) or min_frequency < 1:
        raise ValueError(f"min_frequency must be a positive int, got {min_frequency!r}")

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    special_tokens = [*SPECIAL_TOKENS[:-1], AddedToken("<mask>", lstrip=True, special=True)]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer, length=len(texts))
    tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    return tokenizer


def to_transformers_tokenizer(tokenizer: Tokenizer, model_max_length: int = 512) -> PreTrainedTokenizerFast:
    """Wrap a trained tokenizer for transformers: padding, batching, ``DataCollatorForLanguageModeling``."""
    if not isinstance(tokenizer, Tokenizer):
        raise TypeError(
            f"tokenizer must be a tokenizers.Tokenizer such as train_bpe_tokenizer() returns, "
            f"got {type(tokenizer).__name__}"
        )
    missing = [token for token in SPECIAL_TOKENS if tokenizer.token_to_id(token) is None]
    if missing:
        raise ValueError(f"tokenizer lacks the special tokens {missing}; train it with train_bpe_tokenizer()")
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        mask_token="<mask>",
        cls_token="<s>",
        sep_token="</s>",
        model_max_length=model_max_length,
    )


def special_token_ids(tokenizer: Tokenizer) -> list[int]:
    """Return the ids of RoBERTa's special tokens in ``tokenizer``, in id order."""
    if not isinstance(tokenizer, Tokenizer):
        raise TypeError(f"tokenizer must be a tokenizers.Tokenizer, got {type(tokenizer).__name__}")
    ids = [tokenizer.token_to_id(token) for token in SPECIAL_TOKENS]
    if None in ids:
        raise ValueError(f"tokenizer lacks some of {SPECIAL_TOKENS}; train it with train_bpe_tokenizer()")
    return sorted(ids)
