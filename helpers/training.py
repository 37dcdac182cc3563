"""Masked-LM pre-training loop with per-layer gradient norms (introduced in 05).

The loop follows RoBERTa's recipe at small scale (Liu et al. 2019, arXiv
1907.11692, and the roberta-base model card): AdamW with betas (0.9, 0.98),
eps 1e-6 and weight decay 0.01, and a learning rate that rises linearly over
the warm-up steps and then falls linearly to zero. Gradients are clipped at
norm 1, the default of transformers' ``Trainer``, and every batch gets a new
mask. On CUDA the loop runs in mixed precision: bfloat16 where the GPU
supports it, otherwise float16 with a gradient scaler. On the CPU it runs in
float32.

Gradient norms are read between ``backward()`` and the optimizer step, after
the scaler has unscaled the gradients and before clipping changes them, so
they are the true gradients of the loss.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from helpers.grad_norms import grad_norms
from helpers.masking import IGNORE_INDEX, mask_tokens

LAYER_PATTERN = re.compile(r"\blayers?\.(\d+)\.")


@dataclass
class TrainingHistory:
    """What :func:`train_mlm` records: one entry per step, gradient norms every ``record_every`` steps."""

    losses: list[float] = field(default_factory=list)
    learning_rates: list[float] = field(default_factory=list)
    recorded_steps: list[int] = field(default_factory=list)
    grad_norms: list[dict[str, float]] = field(default_factory=list)

    def grad_norm_matrix(self, groups: Sequence[str]) -> np.ndarray:
        """Return the recorded norms of ``groups`` as a ``(len(groups), len(recorded_steps))`` array."""
        if not self.grad_norms:
            raise ValueError("no gradient norms were recorded; train with record_every >= 1 first")
        unknown = [name for name in groups if name not in self.grad_norms[0]]
        if unknown:
            raise ValueError(f"unknown groups {unknown}; recorded groups are {list(self.grad_norms[0])}")
        return np.array([[norms[name] for norms in self.grad_norms] for name in groups])


def layer_group(parameter_name: str) -> str:
    """Group a parameter by encoder layer: ``"layer 3"``, else ``"embeddings"``, ``"lm_head"``, ...

    Pass it as ``group`` to :func:`helpers.grad_norms.grad_norms`. The tied
    word embeddings count under ``"embeddings"``, since the model holds the
    matrix once.
    """
    match = LAYER_PATTERN.search(parameter_name)
    if match:
        return f"layer {match.group(1)}"
    parts = parameter_name.split(".")
    if parts[0] == "roberta" and len(parts) > 1:
        parts = parts[1:]
    if parts[0] == "encoder" and len(parts) > 1:
        return parts[1]  # e.g. the final LayerNorm of a Pre-LN stack
    return parts[0]


def mixed_precision(device: torch.device) -> tuple[torch.dtype | None, torch.amp.GradScaler]:
    """Choose the autocast dtype and gradient scaler for ``device``.

    CUDA with bfloat16 support: bfloat16, no scaling (it has float32's range).
    Older CUDA GPUs: float16 with an enabled scaler, because small float16
    gradients underflow to zero. CPU: ``None`` (float32) and a disabled
    scaler, whose methods then do nothing.
    """
    device = torch.device(device)
    if device.type != "cuda":
        return None, torch.amp.GradScaler("cpu", enabled=False)
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16, torch.amp.GradScaler("cuda", enabled=False)
    return torch.float16, torch.amp.GradScaler("cuda")


def masked_lm_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Return the masked-LM loss, running the LM head only at the selected positions.

    This is ``model(**batch).loss`` computed as fairseq's RoBERTa does: the
    vocabulary projection and softmax, which cost the most in a small model,
    run on the 15% of positions that have a label instead of all of them.
    ``model`` needs the ``roberta`` and ``lm_head`` parts that
    ``transformers.RobertaForMaskedLM`` and ``helpers.roberta`` both have.
    """
    labels = batch["labels"]
    inputs = {name: value for name, value in batch.items() if name != "labels"}
    hidden_states = model.roberta(**inputs).last_hidden_state  # (batch, seq, hidden)
    selected = labels != IGNORE_INDEX
    logits = model.lm_head(hidden_states[selected])  # (selected, vocab)
    return F.cross_entropy(logits.float(), labels[selected])


def training_step(
    model: nn.Module,
    batch: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    autocast_dtype: torch.dtype | None = None,
    max_grad_norm: float = 1.0,
    record_norms: bool = True,
) -> tuple[float, dict[str, float] | None]:
    """Run one optimizer step on ``batch``; return the loss and the per-layer gradient norms.

    The norms are ``None`` when ``record_norms`` is False, which saves one
    device-to-host copy per parameter.
    """
    device_type = batch["input_ids"].device.type
    autocast = torch.autocast(device_type, dtype=autocast_dtype) if autocast_dtype else nullcontext()
    with autocast:
        loss = masked_lm_loss(model, batch)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)  # from here on the gradients are the true ones
    norms = grad_norms(model, group=layer_group) if record_norms else None
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    scaler.step(optimizer)  # skipped when a float16 gradient overflowed
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach()), norms


def make_optimizer(
    model: nn.Module, lr: float, warmup_steps: int, total_steps: int, weight_decay: float = 0.01
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW with RoBERTa's betas and eps, and a linear warm-up then linear decay to zero.

    Biases and LayerNorm weights (every parameter with fewer than 2
    dimensions) get no weight decay, as in BERT and RoBERTa.
    """
    if not (isinstance(lr, float) and lr > 0):
        raise ValueError(f"lr must be a positive float, got {lr!r}")
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(f"total_steps must be a positive int, got {total_steps!r}")
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or not 0 <= warmup_steps <= total_steps:
        raise ValueError(f"warmup_steps must be an int in [0, total_steps={total_steps}], got {warmup_steps!r}")
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # The fused kernel updates all parameters in one call, about 5x faster for the CPU-scale model of 05.
    optimizer = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.98), eps=1e-6, fused=True)
    return optimizer, get_linear_schedule_with_warmup(optimizer, warmup_steps, total_steps)


def masked_batches(
    blocks: torch.Tensor, batch_size: int, generator: torch.Generator, **masking
):
    """Yield masked batches forever: a new shuffle every epoch and a new mask every batch."""
    while True:
        order = torch.randperm(len(blocks), generator=generator)
        for start in range(0, len(blocks) - batch_size + 1, batch_size):
            input_ids = blocks[order[start : start + batch_size]]
            masked_input_ids, labels = mask_tokens(input_ids, generator=generator, **masking)
            yield {"input_ids": masked_input_ids, "labels": labels}


def train_mlm(
    model: nn.Module,
    blocks: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    warmup_steps: int,
    seed: int,
    mask_token_id: int,
    special_ids: Sequence[int],
    max_grad_norm: float = 1.0,
    record_every: int = 1,
    progress: bool = False,
) -> TrainingHistory:
    """Pre-train ``model`` with masked-LM on ``blocks`` (num_blocks, seq_len) of packed token ids.

    ``model`` runs on the device it is on. Batches are shuffled and masked on
    the CPU with a generator seeded by ``seed``, and dropout draws from the
    global generator re-seeded with ``seed`` inside the call (restored after),
    so on the CPU the same model, data and seed repeat the run exactly.
    """
    _check_training_arguments(blocks, steps, batch_size, record_every)
    device = next(model.parameters()).device
    autocast_dtype, scaler = mixed_precision(device)
    optimizer, scheduler = make_optimizer(model, lr, warmup_steps, steps)
    generator = torch.Generator().manual_seed(seed)
    batches = masked_batches(blocks.cpu(), batch_size, generator, mask_token_id=mask_token_id,
                             special_ids=special_ids, vocab_size=model.config.vocab_size)
    history = TrainingHistory()
    model.train()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for step in tqdm(range(steps), disable=not progress, desc="training", mininterval=2.0):
            batch = {name: tensor.to(device, non_blocking=True) for name, tensor in next(batches).items()}
            history.learning_rates.append(scheduler.get_last_lr()[0])
            record = step % record_every == 0 or step == steps - 1
            loss, norms = training_step(model, batch, optimizer, scaler, autocast_dtype, max_grad_norm, record)
            scheduler.step()
            history.losses.append(loss)
            if record:
                history.recorded_steps.append(step)
                history.grad_norms.append(norms)
    model.eval()
    return history


def _check_training_arguments(blocks: torch.Tensor, steps: int, batch_size: int, record_every: int) -> None:
    if not isinstance(blocks, torch.Tensor) or blocks.dim() != 2 or blocks.dtype != torch.long:
        raise ValueError(
            "blocks must be a (num_blocks, seq_len) LongTensor of token ids, such as pack_sequences() returns"
        )
    for name, value in (("steps", steps), ("batch_size", batch_size), ("record_every", record_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if batch_size > len(blocks):
        raise ValueError(f"batch_size={batch_size} exceeds the {len(blocks)} blocks; pass a smaller batch_size")


# Self-check for the exercises of 05: prints a verdict and returns True for a correct answer.


def check_learning_rates(answer: tuple[float, float] | None) -> bool:
    """Check the learning rates at steps 30 and 420 of a 600-step run, peak 2e-3, 60 warm-up steps.

    Steps count from 0, as ``TrainingHistory.learning_rates`` does.
    """
    peak, warmup_steps, total_steps = 2e-3, 60, 600
    expected = (peak * 30 / warmup_steps, peak * (total_steps - 420) / (total_steps - warmup_steps))
    if answer is None:
        print("No answer yet: replace None with your answer, a pair (lr at step 30, lr at step 420).")
        return False
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        print(f"Not yet: the answer is a pair of two numbers, got {answer!r}.")
        return False
    correct = [np.isclose(value, target, rtol=1e-6, atol=0.0) for value, target in zip(answer, expected)]
    if all(correct):
        print(f"Correct: {expected[0]:.3g} and {expected[1]:.3g}.")
        return True
    step = 30 if not correct[0] else 420
    print(f"Not yet: the value at step {step} is off. Hint: warm-up rises as step / warmup_steps, "
          "then the rate falls linearly to 0 at the last step.")
    return False
