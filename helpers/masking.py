"""Dynamic masking for masked-language-model pre-training (introduced in 05).

BERT (Devlin et al. 2019) selects 15% of the tokens as prediction targets and
replaces 80% of those with ``<mask>``, 10% with a random token and leaves 10%
unchanged. BERT masked each sequence once during preprocessing; RoBERTa
(Liu et al. 2019) draws a new mask every time a sequence is fed to the model,
which is what calling :func:`mask_tokens` on every batch does.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

IGNORE_INDEX = -100  # label of unselected positions; cross_entropy skips them


def _check_fraction(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1], got {value!r}")


def _check_arguments(
    input_ids, mask_token_id, special_ids, vocab_size, generator,
    mlm_probability, mask_replace_prob, random_replace_prob,
) -> torch.Tensor:
    """Validate mask_tokens' arguments and return the ids that are not special."""
    if not isinstance(input_ids, torch.Tensor) or input_ids.dtype != torch.long:
        raise TypeError(f"input_ids must be a LongTensor of token ids, got {input_ids!r:.80}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator, got {type(generator).__name__}; "
            "pass torch.Generator().manual_seed(seed)"
        )
    if generator.device != input_ids.device:
        raise ValueError(
            f"generator is on {generator.device} but input_ids are on {input_ids.device}; "
            "create the generator on the device of input_ids"
        )
    _check_fraction("mlm_probability", mlm_probability)
    _check_fraction("mask_replace_prob", mask_replace_prob)
    _check_fraction("random_replace_prob", random_replace_prob)

    if mask_replace_prob + random_replace_prob > 1.0:
        raise ValueError(
            f"mask_replace_prob + random_replace_prob must not exceed 1, got {mask_replace_prob} + {random_replace_prob}"
        )

    special = torch.as_tensor(list(special_ids), dtype=torch.long, device=input_ids.device)
    if mask_token_id not in special:
        raise ValueError(f"mask_token_id={mask_token_id} must be one of special_ids={list(special_ids)}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive int, got {vocab_size!r}")

    candidates = torch.arange(vocab_size, device=input_ids.device)
    candidates = candidates[~torch.isin(candidates, special)]
    if candidates.numel() == 0:
        raise ValueError(f"vocab_size={vocab_size} leaves no ordinary token outside special_ids")
    return candidates


def mask_tokens(
    input_ids: torch.Tensor,
    *,
    mask_token_id: int,
    special_ids: Sequence[int],
    vocab_size: int,
    generator: torch.Generator,
    mlm_probability: float = 0.15,
    mask_replace_prob: float = 0.8,
    random_replace_prob: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Select ``mlm_probability`` of the tokens and corrupt them by the 80/10/10 rule.

    Tokens whose id is in ``special_ids`` (``<s>``, ``</s>``, ``<pad>``, ...)
    are never selected, and random replacements are drawn uniformly from the
    other ids below ``vocab_size``. Returns ``(masked_input_ids, labels)``:
    labels hold the original id where a token was selected and
    ``IGNORE_INDEX`` elsewhere. ``input_ids`` is not modified. All randomness
    comes from ``generator``, so a seeded generator repeats the masks and each
    further call draws new ones.
    """
    candidates = _check_arguments(
        input_ids, mask_token_id, special_ids, vocab_size, generator,
        mlm_probability, mask_replace_prob, random_replace_prob,
    )  # the ids a random replacement may take
    special = torch.as_tensor(list(special_ids), dtype=torch.long, device=input_ids.device)
    device = input_ids.device
    maskable = ~torch.isin(input_ids, special)
    selected = maskable & (torch.rand(input_ids.shape, generator=generator, device=device) < mlm_probability)
    labels = torch.where(selected, input_ids, IGNORE_INDEX)

    # One uniform draw per token picks its fate: [0, 0.8) <mask>, [0.8, 0.9) random, [0.9, 1) unchanged.
    fate = torch.rand(input_ids.shape, generator=generator, device=device)
    to_mask = selected & (fate < mask_replace_prob)
    to_random = selected & (fate >= mask_replace_prob) & (fate < mask_replace_prob + random_replace_prob)
    random_ids = candidates[torch.randint(len(candidates), input_ids.shape, generator=generator, device=device)]

    masked_input_ids = torch.where(to_mask, mask_token_id, input_ids)
    masked_input_ids = torch.where(to_random, random_ids, masked_input_ids)
    return masked_input_ids, labels


# Self-check for the exercises of 05: prints a verdict and returns True for a correct answer.


def check_expected_mask_count(answer: float | None, batch_size: int = 16, seq_len: int = 64) -> bool:
    """Check the expected number of ``<mask>`` tokens in a batch of ``batch_size`` blocks of ``seq_len``.

    Each block starts with ``<s>``, ends with ``</s>`` and has no other special token.
    """
    expected = 0.15 * 0.8 * batch_size * (seq_len - 2)
    if answer is None:
        print("No answer yet: replace None with your answer.")
        return False
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        print(f"Not yet: the answer is a number, got {type(answer).__name__}.")
        return False
    if abs(answer - expected) <= 1e-6 * expected:
        print(f"Correct: {expected:g} <mask> tokens on average.")
        return True
    print("Not yet. Hint: <s> and </s> are never selected; of the selected tokens, 80% become <mask>.")
    return False
