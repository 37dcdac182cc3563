"""Tests of helpers.amplification: weight perturbations and the output change they cause."""

from __future__ import annotations

import pytest
import torch

from helpers.amplification import check_deepnorm_constants, output_change, perturb_weights_
from helpers.transformer import build_encoder


def small_encoder(variant: str = "post", num_layers: int = 2) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_encoder(variant, num_layers, 16, 2, 32)


def test_zero_perturbation_changes_nothing():
    encoder = small_encoder()
    before = {name: p.clone() for name, p in encoder.named_parameters()}
    perturb_weights_(encoder, 0.0, torch.Generator().manual_seed(0))
    for name, parameter in encoder.named_parameters():
        assert torch.equal(parameter, before[name]), name


def test_perturbation_touches_only_matrices():
    encoder = small_encoder()
    before = {name: p.clone() for name, p in encoder.named_parameters()}
    perturb_weights_(encoder, 0.1, torch.Generator().manual_seed(0))
    for name, parameter in encoder.named_parameters():
        changed = not torch.equal(parameter, before[name])
        assert changed == (parameter.dim() == 2), name


def test_perturbation_has_relative_size():
    layer = torch.nn.Linear(400, 400)
    weight = layer.weight.detach().clone()
    perturb_weights_(layer, 0.01, torch.Generator().manual_seed(0))
    relative = ((layer.weight - weight).std() / weight.std()).item()
    assert relative == pytest.approx(0.01, rel=0.05)


def test_perturbation_rejects_negative_size():
    with pytest.raises(ValueError, match="relative_size"):
        perturb_weights_(small_encoder(), -0.1, torch.Generator())


def test_output_change_is_zero_without_perturbation():
    assert output_change(small_encoder(), torch.randn(2, 4, 16), relative_size=0.0) == 0.0


def test_output_change_leaves_encoder_alone():
    encoder = small_encoder()
    before = [p.clone() for p in encoder.parameters()]
    change = output_change(encoder, torch.randn(2, 4, 16), relative_size=0.05)
    assert change > 0
    assert all(torch.equal(p, q) for p, q in zip(encoder.parameters(), before))


def test_output_change_repeats_with_seed():
    encoder, x = small_encoder(), torch.randn(2, 4, 16)
    assert output_change(encoder, x, seed=3) == output_change(encoder, x, seed=3)


def test_output_change_grows_with_perturbation():
    encoder, x = small_encoder(), torch.randn(2, 4, 16)
    assert output_change(encoder, x, relative_size=0.1) > output_change(encoder, x, relative_size=0.01)


def test_rezero_output_ignores_branch_weights():
    assert output_change(small_encoder("rezero"), torch.randn(2, 4, 16), relative_size=0.1) == 0.0


def test_deepnorm_check():
    assert check_deepnorm_constants(36**0.25, 144**-0.25)
    assert not check_deepnorm_constants(36**0.25, 0.5)
    assert not check_deepnorm_constants(None, None)
