"""Tests for helpers.masking: dynamic 80/10/10 masking.

Proportions are checked over about 10^6 tokens against the binomial standard
error with a tolerance of 5 standard errors (a false alarm has probability
below 1e-6 for a correct implementation).
"""

import math

import pytest
import torch

from helpers.masking import IGNORE_INDEX, check_expected_mask_count, mask_tokens

SPECIAL_IDS = [0, 1, 2, 3, 4]
MASK_ID = 4
VOCAB_SIZE = 1000
Z = 5.0


def make_batch(batch=512, seq=2048, padding=200, seed=0):
    """Random ordinary tokens between <s> and </s>, the last `padding` positions padded."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, VOCAB_SIZE, (batch, seq), generator=generator)
    input_ids[:, 0] = 0
    input_ids[:, seq - padding - 1] = 2
    input_ids[:, seq - padding :] = 1
    return input_ids


def run_masking(input_ids, seed=0, **options):
    options = {"mask_token_id": MASK_ID, "special_ids": SPECIAL_IDS, "vocab_size": VOCAB_SIZE, **options}
    return mask_tokens(input_ids, generator=torch.Generator().manual_seed(seed), **options)


def within_binomial_error(successes, trials, p):
    standard_error = math.sqrt(p * (1 - p) / trials)
    return abs(successes / trials - p) <= Z * standard_error


@pytest.fixture(scope="module")
def masked():
    input_ids = make_batch()
    masked_input_ids, labels = run_masking(input_ids)
    return input_ids, masked_input_ids, labels


def test_selects_fifteen_percent(masked):
    input_ids, _, labels = masked
    maskable = int((input_ids >= 5).sum())
    selected = int((labels != IGNORE_INDEX).sum())
    assert within_binomial_error(selected, maskable, 0.15), selected / maskable


def test_eighty_percent_become_mask(masked):
    _, masked_input_ids, labels = masked
    selected = labels != IGNORE_INDEX
    count = int((masked_input_ids[selected] == MASK_ID).sum())
    assert within_binomial_error(count, int(selected.sum()), 0.8), count / int(selected.sum())


def test_ten_percent_become_random(masked):
    input_ids, masked_input_ids, labels = masked
    selected = labels != IGNORE_INDEX
    replaced = (masked_input_ids != input_ids) & (masked_input_ids != MASK_ID)
    count = int(replaced[selected].sum())
    # A random draw equal to the original token counts as unchanged: p = 0.1 * (1 - 1/995).
    p = 0.1 * (1 - 1 / (VOCAB_SIZE - len(SPECIAL_IDS)))
    assert within_binomial_error(count, int(selected.sum()), p), count / int(selected.sum())


def test_ten_percent_stay_unchanged(masked):
    input_ids, masked_input_ids, labels = masked
    selected = labels != IGNORE_INDEX
    count = int((masked_input_ids[selected] == input_ids[selected]).sum())
    p = 0.1 + 0.1 / (VOCAB_SIZE - len(SPECIAL_IDS))
    assert within_binomial_error(count, int(selected.sum()), p), count / int(selected.sum())


def test_special_tokens_never_selected(masked):
    input_ids, _, labels = masked
    special = torch.isin(input_ids, torch.tensor(SPECIAL_IDS))
    assert labels[special].eq(IGNORE_INDEX).all()


def test_padding_never_selected(masked):
    input_ids, masked_input_ids, labels = masked
    padding = input_ids == 1
    assert labels[padding].eq(IGNORE_INDEX).all()
    assert masked_input_ids[padding].eq(1).all()


def test_special_tokens_never_changed(masked):
    input_ids, masked_input_ids, _ = masked
    special = torch.isin(input_ids, torch.tensor(SPECIAL_IDS))
    assert torch.equal(masked_input_ids[special], input_ids[special])


def test_random_replacements_never_special(masked):
    input_ids, masked_input_ids, _ = masked
    replaced = (masked_input_ids != input_ids) & (masked_input_ids != MASK_ID)
    assert not torch.isin(masked_input_ids[replaced], torch.tensor(SPECIAL_IDS)).any()


def test_random_replacements_cover_vocabulary(masked):
    input_ids, masked_input_ids, _ = masked
    replaced = (masked_input_ids != input_ids) & (masked_input_ids != MASK_ID)
    assert masked_input_ids[replaced].unique().numel() == VOCAB_SIZE - len(SPECIAL_IDS)


def test_unselected_tokens_unchanged(masked):
    input_ids, masked_input_ids, labels = masked
    unselected = labels == IGNORE_INDEX
    assert torch.equal(masked_input_ids[unselected], input_ids[unselected])


def test_labels_hold_original_ids(masked):
    input_ids, _, labels = masked
    selected = labels != IGNORE_INDEX
    assert torch.equal(labels[selected], input_ids[selected])


def test_input_ids_not_modified():
    input_ids = make_batch(batch=4, seq=64, padding=8)
    original = input_ids.clone()
    run_masking(input_ids)
    assert torch.equal(input_ids, original)


def test_same_seed_same_masks():
    input_ids = make_batch(batch=8, seq=128, padding=16)
    first = run_masking(input_ids, seed=3)
    second = run_masking(input_ids, seed=3)
    assert torch.equal(first[0], second[0])
    assert torch.equal(first[1], second[1])


def test_masks_differ_between_epochs():
    input_ids = make_batch(batch=8, seq=128, padding=16)
    generator = torch.Generator().manual_seed(3)
    options = {"mask_token_id": MASK_ID, "special_ids": SPECIAL_IDS, "vocab_size": VOCAB_SIZE}
    _, epoch_one = mask_tokens(input_ids, generator=generator, **options)
    _, epoch_two = mask_tokens(input_ids, generator=generator, **options)
    assert not torch.equal(epoch_one, epoch_two)


def test_all_padding_selects_nothing():
    input_ids = torch.ones(4, 32, dtype=torch.long)
    masked_input_ids, labels = run_masking(input_ids)
    assert labels.eq(IGNORE_INDEX).all()
    assert torch.equal(masked_input_ids, input_ids)


def test_probability_one_selects_every_token():
    input_ids = make_batch(batch=4, seq=64, padding=8)
    _, labels = run_masking(input_ids, mlm_probability=1.0)
    assert torch.equal(labels != IGNORE_INDEX, input_ids >= 5)


def test_probability_zero_selects_nothing():
    input_ids = make_batch(batch=4, seq=64, padding=8)
    masked_input_ids, labels = run_masking(input_ids, mlm_probability=0.0)
    assert labels.eq(IGNORE_INDEX).all()
    assert torch.equal(masked_input_ids, input_ids)


def test_special_id_inside_vocabulary_never_drawn():
    # An added special token in the middle of the vocabulary must not be drawn either.
    special_ids = [*SPECIAL_IDS, 7]
    input_ids = make_batch(batch=64, seq=256, padding=0)
    masked_input_ids, _ = run_masking(input_ids, special_ids=special_ids, mlm_probability=1.0,
                                      mask_replace_prob=0.0, random_replace_prob=1.0)
    changed = input_ids != 7  # tokens with id 7 are special now and stay as they are
    assert not masked_input_ids[changed].eq(7).any()


def test_mask_id_outside_special_ids_raises():
    with pytest.raises(ValueError, match="mask_token_id=9 must be one of special_ids"):
        run_masking(make_batch(batch=2, seq=16, padding=0), mask_token_id=9)


def test_probabilities_over_one_raise():
    with pytest.raises(ValueError, match="must not exceed 1"):
        run_masking(make_batch(batch=2, seq=16, padding=0), mask_replace_prob=0.95, random_replace_prob=0.1)


def test_probability_out_of_range_raises():
    with pytest.raises(ValueError, match="mlm_probability must be a fraction"):
        run_masking(make_batch(batch=2, seq=16, padding=0), mlm_probability=1.5)


def test_float_input_ids_raise():
    with pytest.raises(TypeError, match="LongTensor"):
        run_masking(torch.zeros(2, 16))


def test_missing_generator_raises():
    with pytest.raises(TypeError, match="torch.Generator"):
        mask_tokens(make_batch(batch=2, seq=16, padding=0), mask_token_id=MASK_ID,
                    special_ids=SPECIAL_IDS, vocab_size=VOCAB_SIZE, generator=0)


def test_mask_count_self_check_accepts_answer(capsys):
    assert check_expected_mask_count(0.15 * 0.8 * 16 * 62)
    assert "Correct" in capsys.readouterr().out


def test_mask_count_self_check_rejects_special_tokens_counted():
    assert not check_expected_mask_count(0.15 * 0.8 * 16 * 64)


def test_mask_count_self_check_without_answer(capsys):
    assert not check_expected_mask_count(None)
    assert "No answer yet" in capsys.readouterr().out


def test_mask_count_measured_matches_expectation():
    # The self-check's formula against the function itself, over many batches.
    input_ids = make_batch(batch=16 * 400, seq=64, padding=0)
    masked_input_ids, _ = run_masking(input_ids)
    per_batch = int((masked_input_ids == MASK_ID).sum()) / 400
    expected = 0.15 * 0.8 * 16 * 62
    standard_error = math.sqrt(16 * 62 * 0.12 * 0.88 / 400)
    assert abs(per_batch - expected) <= Z * standard_error, per_batch
