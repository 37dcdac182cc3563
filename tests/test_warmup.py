"""Tests of helpers.warmup: the digits encoder, the warm-up schedule and the training loop."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.transformer import build_encoder
from helpers.warmup import DigitsEncoder, digits_tensors, linear_warmup, train_digits


@pytest.fixture(scope="module")
def data():
    return digits_tensors()


def small_model(variant: str = "pre") -> DigitsEncoder:
    torch.manual_seed(0)
    return DigitsEncoder(build_encoder(variant, 2, 16, 2, 32, init="pytorch"))


def learning_rates(warmup_steps: int, steps: int = 6) -> list[float]:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([parameter], lr=1.0)
    schedule = linear_warmup(optimizer, warmup_steps)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return rates


def test_digits_tensors_shapes(data):
    X_train, y_train, X_test, y_test = data
    assert X_train.shape[1:] == (8, 8)
    assert X_train.dtype == torch.float32
    assert len(X_train) == len(y_train)
    assert len(X_test) == len(y_test)
    assert X_train.min().item() >= 0.0
    assert X_train.max().item() <= 1.0


def test_model_returns_ten_logits(data):
    logits = small_model()(data[0][:5])
    assert logits.shape == (5, 10)


def test_model_rejects_a_layer():
    with pytest.raises(TypeError, match="Encoder"):
        DigitsEncoder(torch.nn.Linear(8, 8))


def test_warmup_ramps_then_holds():
    rates = learning_rates(4)
    assert rates[0] == pytest.approx(0.25)
    assert all(a < b for a, b in zip(rates[:4], rates[1:5]))
    assert rates[4:] == pytest.approx([1.0, 1.0])


def test_no_warmup_keeps_rate():
    assert learning_rates(0) == pytest.approx([1.0] * 6)


def test_warmup_rejects_negative_steps():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="warmup_steps must be an int >= 0"):
        linear_warmup(optimizer, -1)


def test_training_returns_losses_and_accuracy(data):
    result = train_digits(small_model(), steps=3, lr=1e-3, warmup_steps=1, batch_size=8, data=data)
    assert len(result["losses"]) == 3
    assert all(math.isfinite(loss) for loss in result["losses"])
    assert 0.0 <= result["test_accuracy"] <= 1.0


def test_training_repeats_with_seed(data):
    first = train_digits(small_model(), steps=3, lr=1e-3, warmup_steps=0, batch_size=8, seed=2, data=data)
    second = train_digits(small_model(), steps=3, lr=1e-3, warmup_steps=0, batch_size=8, seed=2, data=data)
    assert first == second


def test_training_lowers_the_loss(data):
    result = train_digits(small_model(), steps=60, lr=3e-3, warmup_steps=0, batch_size=32, data=data)
    assert sum(result["losses"][-10:]) < sum(result["losses"][:10])


@pytest.mark.parametrize("warmup_steps", [-1, 4, 1.5, True])
def test_training_rejects_bad_warmup(data, warmup_steps):
    with pytest.raises(ValueError, match="warmup_steps"):
        train_digits(small_model(), steps=3, lr=1e-3, warmup_steps=warmup_steps, data=data)


@pytest.mark.parametrize("lr", [0, -1e-3, True])
def test_training_rejects_bad_lr(data, lr):
    with pytest.raises(ValueError, match="lr must be a positive"):
        train_digits(small_model(), steps=3, lr=lr, warmup_steps=0, data=data)
