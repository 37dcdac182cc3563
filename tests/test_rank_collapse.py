"""Tests of helpers.rank_collapse: the rank-1 residual and Dong et al.'s pure-attention stacks."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.rank_collapse import collapse_profile, rank_one_residual


def test_equal_tokens_have_zero_residual():
    token = torch.randn(1, 6)
    assert rank_one_residual(token.repeat(4, 1)).item() == 0.0


def test_zero_mean_tokens_have_unit_residual():
    X = torch.randn(5, 6, dtype=torch.float64)
    X = X - X.mean(dim=0)
    assert rank_one_residual(X).item() == pytest.approx(1.0)


def test_residual_is_scale_invariant():
    X = torch.randn(2, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(rank_one_residual(1e3 * X), rank_one_residual(X))


def test_residual_one_value_per_sequence():
    assert rank_one_residual(torch.randn(3, 5, 6)).shape == (3,)


def test_residual_of_all_zeros_is_nan():
    assert math.isnan(rank_one_residual(torch.zeros(4, 6)).item())


@pytest.mark.parametrize("bad", [torch.randn(6), torch.randn(1, 2, 3, 4), [[1.0, 2.0]]])
def test_residual_rejects_bad_shapes(bad):
    with pytest.raises(ValueError, match=r"\(batch, seq, hidden\)"):
        rank_one_residual(bad)


def test_profile_has_input_and_every_layer():
    assert len(collapse_profile(4, residual=True, feed_forward=False, batch_size=2, seq_len=8)) == 5


def test_pure_attention_collapses():
    profile = collapse_profile(3, residual=False, feed_forward=False, batch_size=2, seq_len=16)
    assert profile[0] > 0.9
    assert profile[3] < 1e-3


def test_skip_connections_keep_rank():
    profile = collapse_profile(6, residual=True, feed_forward=True, batch_size=2, seq_len=16)
    assert min(profile) > 0.5


def test_profile_leaves_global_generator_alone():
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    collapse_profile(1, residual=True, feed_forward=False, batch_size=1, seq_len=4)
    assert torch.equal(torch.rand(2), expected)


def test_profile_repeats_with_seed():
    first = collapse_profile(2, residual=True, feed_forward=True, batch_size=1, seq_len=4, seed=7)
    assert first == collapse_profile(2, residual=True, feed_forward=True, batch_size=1, seq_len=4, seed=7)


@pytest.mark.parametrize("name", ["batch_size", "seq_len"])
def test_profile_rejects_zero_sizes(name):
    with pytest.raises(ValueError, match=f"{name} must be a positive int"):
        collapse_profile(2, residual=True, feed_forward=True, **{name: 0})
