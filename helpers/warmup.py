"""Learning-rate warm-up, measured on a small real task (introduced in 04).

The task: classify scikit-learn's 8x8 handwritten digits with a Transformer
encoder that reads each image as a sequence of 8 tokens, one per row of 8
pixels. It is small enough to train a 6-layer encoder in seconds on a CPU,
and real enough that a model that learns nothing stays at the chance loss
``ln 10``.

Warm-up (:func:`linear_warmup`) raises the learning rate linearly from
``lr / warmup_steps`` to ``lr`` over the first ``warmup_steps`` updates and
keeps it constant after.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from helpers.data import load_digits
from helpers.transformer import Encoder, check_positive_int, check_seed

NUM_CLASSES = 10
IMAGE_SIZE = 8  # 8 rows of 8 pixels: 8 tokens of 8 features


class DigitsEncoder(nn.Module):
    """A Transformer encoder that classifies 8x8 digit images read row by row.

    Rows are embedded by a Linear map, a learned position embedding is added,
    a LayerNorm normalises the sum (as RoBERTa's embedding LayerNorm does),
    and the classifier reads the mean of the encoder's output tokens.
    """

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        if not isinstance(encoder, Encoder):
            raise TypeError(f"encoder must be a helpers.transformer.Encoder, got {type(encoder).__name__}")
        hidden_size = encoder.layers[0].attention.query.in_features
        self.row_embedding = nn.Linear(IMAGE_SIZE, hidden_size)
        self.position_embedding = nn.Parameter(0.1 * torch.randn(IMAGE_SIZE, hidden_size))
        self.embedding_norm = nn.LayerNorm(hidden_size)
        self.encoder = encoder
        self.classifier = nn.Linear(hidden_size, NUM_CLASSES)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return class logits ``(batch, 10)`` for images ``(batch, 8, 8)``."""
        hidden_states = self.embedding_norm(self.row_embedding(images) + self.position_embedding)
        hidden_states = self.encoder(hidden_states)  # (batch, 8 rows, hidden)
        return self.classifier(hidden_states.mean(dim=1))


def digits_tensors(device: torch.device | str = "cpu") -> tuple[torch.Tensor, ...]:
    """Return the digits split as float32 images ``(n, 8, 8)`` in [0, 1] and int64 labels on ``device``."""
    X_train, y_train, X_test, y_test = load_digits()
    images = [torch.tensor(X, dtype=torch.float32, device=device).view(-1, IMAGE_SIZE, IMAGE_SIZE) for X in (X_train, X_test)]
    labels = [torch.tensor(y, dtype=torch.long, device=device) for y in (y_train, y_test)]
    return images[0], labels[0], images[1], labels[1]


def linear_warmup(optimizer: torch.optim.Optimizer, warmup_steps: int) -> torch.optim.lr_scheduler.LinearLR:
    """Return a schedule that raises the learning rate linearly over ``warmup_steps`` steps, then keeps it.

    With ``w = warmup_steps``, step ``k`` (counted from 0) uses
    ``lr * (1/w + (1 - 1/w) * k/w)`` while ``k < w`` and ``lr`` after: from
    ``lr / w`` at the first step up to ``lr``. ``w = 0`` keeps ``lr`` throughout.
    Call ``step()`` on the schedule after each ``optimizer.step()``.
    """
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError(f"warmup_steps must be an int >= 0, got {warmup_steps!r}")
    if warmup_steps == 0:
        return torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1.0, end_factor=1.0, total_iters=0)
    return torch.optim.lr_scheduler.LinearLR(
        optimizer, start_factor=1.0 / warmup_steps, end_factor=1.0, total_iters=warmup_steps
    )


def train_digits(
    model: DigitsEncoder,
    *,
    steps: int,
    lr: float,
    warmup_steps: int,
    batch_size: int = 64,
    seed: int = 0,
    data: tuple[torch.Tensor, ...] | None = None,
) -> dict[str, list[float] | float]:
    """Train ``model`` with AdamW on the digits and return its per-step training losses and test accuracy.

    ``warmup_steps=0`` trains at ``lr`` from the first step. ``data`` is what
    :func:`digits_tensors` returns, on the model's device; pass it to avoid
    loading the digits again on every call. ``seed`` fixes the batches.
    """
    check_positive_int("steps", steps)
    check_positive_int("batch_size", batch_size)
    check_seed(seed)
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or not 0 <= warmup_steps <= steps:
        raise ValueError(f"warmup_steps must be an int from 0 to steps={steps}, got {warmup_steps!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive learning rate such as 1e-3, got {lr!r}")
    device = next(model.parameters()).device
    X_train, y_train, X_test, y_test = digits_tensors(device) if data is None else data
    generator = torch.Generator(device=device).manual_seed(seed)

    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    schedule = linear_warmup(optimizer, warmup_steps)
    losses = []
    model.train()
    for _ in range(steps):
        batch = torch.randint(len(X_train), (batch_size,), generator=generator, device=device)
        loss = F.cross_entropy(model(X_train[batch]), y_train[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())

    model.eval()
    with torch.no_grad():
        test_accuracy = (model(X_test).argmax(dim=1) == y_test).float().mean().item()
    return {"losses": losses, "test_accuracy": test_accuracy}
