"""Measurements on a masked-LM encoder: unigram loss, rank collapse, lesions (introduced in 05).

- :func:`unigram_entropy` is the loss of the best model that ignores the
  context: it predicts every masked token from the token frequencies alone.
- :func:`mean_cosine_similarity` measures rank collapse (Dong et al. 2021,
  arXiv 2103.03404): when every position carries the same vector, the
  similarity is 1 and the encoder output no longer depends on the context.
- :func:`sentence_gradients` reads a model's per-layer gradient norms and
  rank collapse on a few masked sentences, e.g. for a pre-trained roberta-base.
- :func:`layer_removed` deletes one encoder layer for a lesion study
  (Veit et al. 2016, arXiv 1605.06431), and :func:`evaluate_mlm_loss` scores
  a model on fixed masks, so that every variant sees the same targets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from helpers.grad_norms import grad_norms
from helpers.masking import mask_tokens
from helpers.training import layer_group, masked_lm_loss


def unigram_entropy(blocks: torch.Tensor, special_ids: Sequence[int]) -> float:
    """Return the entropy, in nats, of the frequencies of the tokens that masking may select.

    Masking selects non-special tokens uniformly, so this is the masked-LM
    loss of a model that always predicts these frequencies.
    """
    if not isinstance(blocks, torch.Tensor) or blocks.dtype != torch.long:
        raise TypeError("blocks must be a LongTensor of token ids, such as pack_sequences() returns")
    tokens = blocks[~torch.isin(blocks, torch.as_tensor(list(special_ids), device=blocks.device))]
    if tokens.numel() == 0:
        raise ValueError("blocks hold no ordinary token; pass blocks of text, not only special ids")
    probabilities = torch.bincount(tokens).double() / tokens.numel()
    probabilities = probabilities[probabilities > 0]
    return float(-(probabilities * probabilities.log()).sum())


def mean_cosine_similarity(hidden_states: torch.Tensor) -> float:
    """Return the mean cosine similarity between different positions of each sequence.

    ``hidden_states`` is ``(batch, seq, hidden)``; the mean runs over all
    ordered pairs of distinct positions and over the batch. About 1 means the
    positions collapsed to one direction; near 0 means they point anywhere.
    """
    if not isinstance(hidden_states, torch.Tensor) or hidden_states.dim() != 3 or hidden_states.shape[1] < 2:
        raise ValueError(
            "hidden_states must be a (batch, seq, hidden) tensor with seq >= 2, "
            f"got {getattr(hidden_states, 'shape', type(hidden_states).__name__)}"
        )
    unit = F.normalize(hidden_states.detach().double(), dim=-1)
    similarity = unit @ unit.transpose(1, 2)  # (batch, seq, seq)
    seq = hidden_states.shape[1]
    off_diagonal = similarity.sum(dim=(1, 2)) - similarity.diagonal(dim1=1, dim2=2).sum(dim=1)
    return float((off_diagonal / (seq * (seq - 1))).mean())


def fixed_masked_batches(
    blocks: torch.Tensor, batch_size: int, seed: int, **masking
) -> list[dict[str, torch.Tensor]]:
    """Mask ``blocks`` once, in order, into batches that every evaluation can reuse."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for start in range(0, len(blocks), batch_size):
        input_ids, labels = mask_tokens(blocks[start : start + batch_size].cpu(), generator=generator, **masking)
        batches.append({"input_ids": input_ids, "labels": labels})
    return batches


@torch.no_grad()
def evaluate_mlm_loss(model: nn.Module, batches: Sequence[dict[str, torch.Tensor]]) -> float:
    """Return the masked-LM loss of ``model`` over ``batches``, averaged over all selected tokens."""
    if not batches:
        raise ValueError("batches is empty; pass the output of fixed_masked_batches()")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for batch in batches:
        batch = {name: tensor.to(device) for name, tensor in batch.items()}
        selected = int((batch["labels"] != -100).sum())
        total += float(masked_lm_loss(model, batch)) * selected
        count += selected
    model.train(was_training)
    return total / count


@contextmanager
def layer_removed(model: nn.Module, index: int) -> Iterator[nn.Module]:
    """Delete encoder layer ``index`` of ``model`` inside a ``with`` block, then put it back.

    The remaining layers keep their trained weights and feed each other
    directly, as in a lesion study.
    """
    layers = model.roberta.encoder.layers
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(layers):
        raise ValueError(f"index must be a layer index in [0, {len(layers)}), got {index!r}")
    removed = layers[index]
    del layers[index]
    try:
        yield model
    finally:
        layers.insert(index, removed)



def sentence_gradients(model: nn.Module, tokenizer, sentences: Sequence[str], seed: int = 0) -> dict:
    """Mask ``sentences`` (15%, 80/10/10), back-propagate the masked-LM loss once, and measure.

    ``tokenizer`` is a transformers tokenizer that matches ``model``. Returns
    ``{"grad_norms": [...], "similarity": ...}``: the gradient norm of each
    encoder layer, and the mean cosine similarity between the final hidden
    states of each unmasked sentence's tokens (padding left out), averaged
    over the sentences. The gradients are cleared afterwards.
    """
    if isinstance(sentences, str) or len(sentences) == 0:
        raise ValueError("sentences must be a non-empty list of strings")
    device = next(model.parameters()).device
    batch = tokenizer(list(sentences), padding=True, return_tensors="pt")
    input_ids, labels = mask_tokens(
        batch["input_ids"], mask_token_id=tokenizer.mask_token_id, special_ids=tokenizer.all_special_ids,
        vocab_size=model.config.vocab_size, generator=torch.Generator().manual_seed(seed),
    )
    inputs = {"input_ids": input_ids.to(device), "attention_mask": batch["attention_mask"].to(device)}
    model.zero_grad(set_to_none=True)
    masked_lm_loss(model, {**inputs, "labels": labels.to(device)}).backward()
    norms = grad_norms(model, group=layer_group)
    model.zero_grad(set_to_none=True)
    with torch.no_grad():  # the similarity is measured on the sentences without masks
        hidden_states = model.roberta(batch["input_ids"].to(device), inputs["attention_mask"]).last_hidden_state
    lengths = batch["attention_mask"].sum(dim=1).tolist()
    similarity = sum(mean_cosine_similarity(hidden_states[i : i + 1, :n]) for i, n in enumerate(lengths))
    layers = [norms[f"layer {index}"] for index in range(len(model.roberta.encoder.layers))]
    return {"grad_norms": layers, "similarity": similarity / len(lengths)}

# Self-check for the exercises of 05: prints a verdict and returns True for a correct answer.


def check_unigram_entropy(function: Callable[[torch.Tensor, Sequence[int]], float]) -> bool:
    """Check that ``function(blocks, special_ids)`` returns the unigram entropy in nats."""
    if not callable(function):
        raise TypeError(f"function must be callable as function(blocks, special_ids), got {type(function).__name__}")
    generator = torch.Generator().manual_seed(5)
    blocks = torch.randint(5, 40, (8, 30), generator=generator) ** 2 % 97  # uneven frequencies
    blocks[:, 0], blocks[:, -1], blocks[-1, 20:] = 0, 2, 1  # <s>, </s> and some padding
    special_ids = [0, 1, 2, 3, 4]
    answer = function(blocks, special_ids)
    if answer is None:
        print("No answer yet: make the function return the entropy.")
        return False
    expected = unigram_entropy(blocks, special_ids)
    if isinstance(answer, torch.Tensor):
        answer = answer.item()
    if math.isclose(float(answer), expected, rel_tol=1e-6):
        print(f"Correct: {expected:.4f} nats on the test blocks.")
        return True
    print(f"Not yet: you return {float(answer):.4f}, expected {expected:.4f}. Hint: leave out the special "
          "ids, use natural logarithms, and count each token once per occurrence.")
    return False
