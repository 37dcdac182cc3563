"""Tests for helpers.training: optimizer, schedule, clipping, gradient norms and the loop."""

import copy
import math

import pytest
import torch
from transformers import RobertaForMaskedLM as TransformersRobertaForMaskedLM

from helpers.grad_norms import grad_norms
from helpers.masking import mask_tokens
from helpers.roberta import RobertaConfig, RobertaForMaskedLM, init_weights
from helpers.training import (
    TrainingHistory,
    check_learning_rates,
    layer_group,
    make_optimizer,
    masked_lm_loss,
    mixed_precision,
    train_mlm,
    training_step,
)

SPECIAL_IDS = [0, 1, 2, 3, 4]
VOCAB_SIZE = 64
SEQ_LEN = 16


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Models this small run faster on one thread: a second one mostly waits.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_config(**changes):
    options = dict(
        vocab_size=VOCAB_SIZE, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=SEQ_LEN + 2,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )
    return RobertaConfig(**{**options, **changes})


def tiny_model(seed=0, **changes):
    torch.manual_seed(seed)
    return init_weights(RobertaForMaskedLM(tiny_config(**changes)), "small")


def pattern_blocks(num_blocks=64):
    """Blocks that each repeat one token, so any unmasked neighbour gives the masked token away."""
    tokens = 5 + torch.arange(num_blocks) % (VOCAB_SIZE - 5)
    blocks = tokens[:, None].expand(num_blocks, SEQ_LEN).clone()
    blocks[:, 0] = 0
    blocks[:, -1] = 2
    return blocks


def masked_batch(seed=0, batch_size=8):
    input_ids, labels = mask_tokens(
        pattern_blocks()[:batch_size], mask_token_id=4, special_ids=SPECIAL_IDS,
        vocab_size=VOCAB_SIZE, generator=torch.Generator().manual_seed(seed), mlm_probability=0.3,
    )
    return {"input_ids": input_ids, "labels": labels}


def reference_norms(model, batch):
    """Per-layer norms of plain float32 gradients, from a copy of the model."""
    model = copy.deepcopy(model)
    masked_lm_loss(model, batch).backward()
    return grad_norms(model, group=layer_group)


def train(model, seed=0, steps=8, **options):
    options = {"batch_size": 8, "lr": 3e-3, "warmup_steps": 2, **options}
    return train_mlm(model, pattern_blocks(), steps=steps, seed=seed, mask_token_id=4,
                     special_ids=SPECIAL_IDS, **options)


# --------------------------------------------------------------------------- schedule and optimizer


def test_warmup_rises_linearly():
    optimizer, scheduler = make_optimizer(tiny_model(), lr=1e-3, warmup_steps=4, total_steps=10)
    rates = []
    for _ in range(10):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    assert rates[:5] == pytest.approx([0.0, 0.25e-3, 0.5e-3, 0.75e-3, 1e-3])


def test_decay_falls_linearly_to_zero():
    optimizer, scheduler = make_optimizer(tiny_model(), lr=1e-3, warmup_steps=4, total_steps=10)
    rates = []
    for _ in range(11):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    assert rates[4:] == pytest.approx([1e-3 * (10 - step) / 6 for step in range(4, 11)])


def test_no_warmup_starts_at_peak():
    _, scheduler = make_optimizer(tiny_model(), lr=1e-3, warmup_steps=0, total_steps=10)
    assert scheduler.get_last_lr()[0] == pytest.approx(1e-3)


def test_adamw_uses_roberta_betas():
    optimizer, _ = make_optimizer(tiny_model(), lr=1e-3, warmup_steps=0, total_steps=10)
    assert optimizer.defaults["betas"] == (0.9, 0.98)
    assert optimizer.defaults["eps"] == 1e-6


def test_no_weight_decay_on_biases_and_norms():
    model = tiny_model()
    optimizer, _ = make_optimizer(model, lr=1e-3, warmup_steps=0, total_steps=10, weight_decay=0.01)
    decayed, not_decayed = optimizer.param_groups
    assert decayed["weight_decay"] == 0.01
    assert not_decayed["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decayed["params"])
    assert any(p is model.roberta.embeddings.layer_norm.weight for p in not_decayed["params"])


def test_integer_lr_raises():
    with pytest.raises(ValueError, match="lr must be a positive float"):
        make_optimizer(tiny_model(), lr=1, warmup_steps=0, total_steps=10)


def test_warmup_longer_than_training_raises():
    with pytest.raises(ValueError, match="warmup_steps must be an int in"):
        make_optimizer(tiny_model(), lr=1e-3, warmup_steps=11, total_steps=10)


# --------------------------------------------------------------------------- one training step


def test_masked_lm_loss_matches_full_logits():
    model = tiny_model()
    batch = masked_batch()
    assert masked_lm_loss(model, batch).item() == pytest.approx(model(**batch).loss.item(), rel=1e-6)


def test_masked_lm_loss_on_transformers_model():
    config = tiny_config().to_transformers()
    torch.manual_seed(0)
    model = TransformersRobertaForMaskedLM(config)
    batch = masked_batch()
    assert masked_lm_loss(model, batch).item() == pytest.approx(model(**batch).loss.item(), rel=1e-6)


def test_step_records_unclipped_norms():
    model = tiny_model()
    batch = masked_batch()
    expected = reference_norms(model, batch)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    _, norms = training_step(model, batch, optimizer, mixed_precision("cpu")[1], max_grad_norm=1e-4)
    assert norms.keys() == expected.keys()
    for name in expected:
        assert norms[name] == pytest.approx(expected[name], rel=1e-5), name


def test_step_applies_clipped_gradients():
    model = tiny_model()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    training_step(model, masked_batch(), optimizer, mixed_precision("cpu")[1], max_grad_norm=0.01)
    change = torch.sqrt(sum(((p.detach() - b) ** 2).sum() for p, b in zip(model.parameters(), before)))
    assert change.item() == pytest.approx(0.01, rel=1e-4)


def test_norms_recorded_after_unscale():
    model = tiny_model()
    batch = masked_batch()
    expected = reference_norms(model, batch)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    _, norms = training_step(model, batch, optimizer, scaler)
    for name in expected:
        assert norms[name] == pytest.approx(expected[name], rel=1e-5), name


def test_scaled_step_matches_unscaled_step():
    scaled_model, plain_model = tiny_model(), tiny_model()
    batch = masked_batch()
    for model, scaler in ((scaled_model, torch.amp.GradScaler("cpu", init_scale=2.0**12)),
                          (plain_model, mixed_precision("cpu")[1])):
        training_step(model, batch, torch.optim.SGD(model.parameters(), lr=0.1), scaler)
    for scaled, plain in zip(scaled_model.parameters(), plain_model.parameters()):
        torch.testing.assert_close(scaled, plain, rtol=1e-5, atol=1e-7)


def test_overflow_skips_optimizer_step():
    model = tiny_model()
    with torch.no_grad():
        model.lm_head.dense.weight[0, 0] = 3e38  # the head's output overflows, so gradients are NaN
    before = [p.detach().clone() for p in model.parameters()]
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    _, norms = training_step(model, masked_batch(), optimizer, scaler)
    assert not all(math.isfinite(value) for value in norms.values())
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))
    assert scaler.get_scale() == 2.0**11


def test_step_clears_gradients():
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    training_step(model, masked_batch(), optimizer, mixed_precision("cpu")[1])
    assert all(p.grad is None for p in model.parameters())


def test_step_without_norms_returns_none():
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    _, norms = training_step(model, masked_batch(), optimizer, mixed_precision("cpu")[1], record_norms=False)
    assert norms is None


def test_cpu_runs_in_float32():
    autocast_dtype, scaler = mixed_precision(torch.device("cpu"))
    assert autocast_dtype is None
    assert not scaler.is_enabled()


# --------------------------------------------------------------------------- grouping and history


@pytest.mark.parametrize(
    ("name", "group"),
    [
        ("roberta.encoder.layers.3.ffn.output.weight", "layer 3"),
        ("roberta.encoder.layer.11.attention.self.query.weight", "layer 11"),
        ("roberta.embeddings.word_embeddings.weight", "embeddings"),
        ("roberta.encoder.final_norm.weight", "final_norm"),
        ("lm_head.dense.weight", "lm_head"),
    ],
)
def test_layer_group_names(name, group):
    assert layer_group(name) == group


def test_layer_group_covers_every_layer():
    model = tiny_model(num_hidden_layers=3)
    groups = {layer_group(name) for name, _ in model.named_parameters()}
    assert groups == {"embeddings", "layer 0", "layer 1", "layer 2", "lm_head"}


def test_grad_norm_matrix_shape():
    history = TrainingHistory(grad_norms=[{"layer 0": 1.0, "layer 1": 2.0}] * 3, recorded_steps=[0, 1, 2])
    assert history.grad_norm_matrix(["layer 1", "layer 0"]).tolist() == [[2.0] * 3, [1.0] * 3]


def test_grad_norm_matrix_unknown_group_raises():
    history = TrainingHistory(grad_norms=[{"layer 0": 1.0}], recorded_steps=[0])
    with pytest.raises(ValueError, match="unknown groups"):
        history.grad_norm_matrix(["layer 7"])


# --------------------------------------------------------------------------- the loop


def test_loss_decreases_on_tiny_task():
    history = train(tiny_model(), steps=100, batch_size=32, lr=2e-2, warmup_steps=10)
    first, last = sum(history.losses[:5]) / 5, sum(history.losses[-5:]) / 5
    # Below the unigram entropy ln(59) = 4.08, so the model reads the context.
    assert first > math.log(VOCAB_SIZE - 5) - 0.5, first
    assert last < 0.5 * math.log(VOCAB_SIZE - 5), last


def test_training_repeats_for_a_seed():
    first = train(tiny_model(), seed=5)
    second = train(tiny_model(), seed=5)
    assert first.losses == second.losses
    assert first.grad_norms == second.grad_norms


def test_other_seed_changes_training():
    first = train(tiny_model(), seed=5)
    second = train(tiny_model(), seed=6)
    assert first.losses != second.losses


def test_dropout_repeats_for_a_seed():
    first = train(tiny_model(hidden_dropout_prob=0.1), seed=5)
    second = train(tiny_model(hidden_dropout_prob=0.1), seed=5)
    assert first.losses == second.losses


def test_global_rng_left_untouched():
    model = tiny_model(hidden_dropout_prob=0.1)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    train(model, steps=2)
    assert torch.equal(torch.get_rng_state(), state)


def test_history_records_every_step():
    history = train(tiny_model(), steps=7, record_every=3)
    assert len(history.losses) == 7
    assert len(history.learning_rates) == 7
    assert history.recorded_steps == [0, 3, 6]
    assert len(history.grad_norms) == 3


def test_last_step_always_recorded():
    history = train(tiny_model(), steps=6, record_every=4)
    assert history.recorded_steps == [0, 4, 5]


def test_model_left_in_eval_mode():
    model = tiny_model()
    train(model, steps=2)
    assert not model.training


def test_quiet_without_progress(capsys):
    train(tiny_model(), steps=2)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def test_batch_larger_than_data_raises():
    with pytest.raises(ValueError, match="batch_size=100 exceeds the 64 blocks"):
        train(tiny_model(), batch_size=100)


def test_zero_steps_raises():
    with pytest.raises(ValueError, match="steps must be a positive int"):
        train(tiny_model(), steps=0)


def test_float_blocks_raise():
    with pytest.raises(ValueError, match="LongTensor of token ids"):
        train_mlm(tiny_model(), torch.zeros(8, SEQ_LEN), steps=1, batch_size=2, lr=1e-3, warmup_steps=0,
                  seed=0, mask_token_id=4, special_ids=SPECIAL_IDS)


# --------------------------------------------------------------------------- exercise self-check


def library_learning_rates(steps):
    optimizer, scheduler = make_optimizer(tiny_model(), lr=2e-3, warmup_steps=60, total_steps=600)
    rates = []
    for _ in range(max(steps) + 1):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return tuple(rates[step] for step in steps)


def test_rate_self_check_accepts_library_values(capsys):
    assert check_learning_rates(library_learning_rates((30, 420)))
    assert "Correct" in capsys.readouterr().out


def test_rate_self_check_rejects_one_based_steps():
    assert not check_learning_rates(library_learning_rates((31, 421)))


def test_rate_self_check_rejects_single_number():
    assert not check_learning_rates(1e-3)


def test_rate_self_check_without_answer(capsys):
    assert not check_learning_rates(None)
    assert "No answer yet" in capsys.readouterr().out


def test_bfloat16_autocast_step_on_cpu():
    # The CUDA path autocasts to bfloat16; CPU autocast runs the same code path.
    model = tiny_model()
    batch = masked_batch()
    expected = reference_norms(model, batch)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss, norms = training_step(model, batch, optimizer, mixed_precision("cpu")[1], autocast_dtype=torch.bfloat16)
    assert math.isfinite(loss)
    for name in expected:
        assert norms[name] == pytest.approx(expected[name], rel=0.1), name
