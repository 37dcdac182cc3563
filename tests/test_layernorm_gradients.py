"""Tests of helpers.layernorm_gradients: the LayerNorm Jacobian, Xiong et al.'s measurement and the figure."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from helpers.layernorm_gradients import (
    MAX_PROFILE_LAYERS,
    check_final_norm_scale,
    check_layernorm_backward,
    check_shortcut_scale,
    ffn_output_grad_norms,
    layernorm_jacobian,
    plot_grad_norm_profile,
)


def autograd_layernorm_jacobian(z: torch.Tensor, eps: float) -> torch.Tensor:
    return torch.autograd.functional.jacobian(lambda v: F.layer_norm(v, v.shape, eps=eps), z)


@pytest.mark.parametrize("eps", [1e-5, 0.0, 0.5])
def test_jacobian_matches_autograd(eps):
    z = torch.randn(12, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2 + 3
    torch.testing.assert_close(layernorm_jacobian(z, eps), autograd_layernorm_jacobian(z, eps), rtol=0, atol=1e-12)


def test_jacobian_of_tiny_vector_matches_autograd():
    z = torch.tensor([1e-4, -2e-4, 3e-4], dtype=torch.float64)  # var far below eps
    torch.testing.assert_close(layernorm_jacobian(z), autograd_layernorm_jacobian(z, 1e-5), rtol=0, atol=1e-9)


def test_jacobian_removes_mean_direction():
    z = torch.randn(10, dtype=torch.float64)
    ones = torch.ones(10, dtype=torch.float64)
    assert (layernorm_jacobian(z) @ ones).abs().max().item() < 1e-12


def test_jacobian_is_projection_over_std():
    z = torch.randn(10, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 5
    singular_values = torch.linalg.svdvals(layernorm_jacobian(z, eps=0.0))
    std = z.std(unbiased=False).item()
    torch.testing.assert_close(singular_values[:8], torch.full((8,), 1 / std, dtype=torch.float64))
    assert singular_values[8:].max().item() < 1e-12


@pytest.mark.parametrize("z", [torch.zeros(3, 3), torch.ones(1), [1.0, 2.0]])
def test_jacobian_rejects_bad_input(z):
    with pytest.raises(ValueError, match="1-D tensor"):
        layernorm_jacobian(z)


def test_jacobian_rejects_negative_eps():
    with pytest.raises(ValueError, match="eps"):
        layernorm_jacobian(torch.ones(3), eps=-1.0)


def test_grad_norms_one_per_layer():
    norms = ffn_output_grad_norms(3, "pre", hidden_size=16, num_attention_heads=2, intermediate_size=32, vocab_size=50)
    assert len(norms) == 3
    assert all(math.isfinite(norm) and norm > 0 for norm in norms)


def test_grad_norms_repeat_with_seed():
    options = dict(hidden_size=16, num_attention_heads=2, intermediate_size=32, vocab_size=50, seed=3)
    assert ffn_output_grad_norms(2, "post", **options) == ffn_output_grad_norms(2, "post", **options)


def test_grad_norms_leave_global_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ffn_output_grad_norms(1, "post", hidden_size=16, num_attention_heads=2, intermediate_size=32, vocab_size=50)
    assert torch.equal(torch.rand(3), expected)


def test_pre_ln_last_layer_falls_with_depth():
    options = dict(hidden_size=32, num_attention_heads=2, intermediate_size=64, vocab_size=100)
    shallow = np.mean([ffn_output_grad_norms(2, "pre", seed=seed, **options)[-1] for seed in range(3)])
    deep = np.mean([ffn_output_grad_norms(16, "pre", seed=seed, **options)[-1] for seed in range(3)])
    assert deep < shallow / 2  # 1/sqrt(8) ~ 0.35 in theory


def test_grad_norms_reject_none_position():
    with pytest.raises(ValueError, match="ln_position=None is not supported"):
        ffn_output_grad_norms(2, None)


def test_grad_norms_reject_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        ffn_output_grad_norms(2, "post", seed=-1)


@pytest.mark.parametrize("num_layers", [1, MAX_PROFILE_LAYERS])
@pytest.mark.parametrize("ln_position", ["post", "pre"])
@pytest.mark.parametrize("residual", [True, False])
def test_profile_extremes_draw_without_warnings(num_layers, ln_position, residual):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = plot_grad_norm_profile(num_layers, ln_position, residual)
        figure.canvas.draw()
    assert isinstance(figure, Figure)
    y = figure.axes[0].lines[0].get_ydata()
    assert len(y) == num_layers
    assert np.all(np.isfinite(y))
    assert np.all(y > 0)
    low, high = figure.axes[0].get_ylim()
    assert low <= y.min()
    assert y.max() <= high


def test_profile_rejects_too_deep():
    with pytest.raises(ValueError, match=f"at most {MAX_PROFILE_LAYERS}"):
        plot_grad_norm_profile(MAX_PROFILE_LAYERS + 1)


def test_profile_rejects_zero_layers():
    with pytest.raises(ValueError, match="num_layers must be a positive int"):
        plot_grad_norm_profile(0)


def test_shortcut_scale_check(capsys):
    assert check_shortcut_scale(1 / math.sqrt(2))
    assert not check_shortcut_scale(0.5)
    assert not check_shortcut_scale(None)
    assert "No answer yet" in capsys.readouterr().out


def test_final_norm_scale_check():
    assert check_final_norm_scale(1 / 7)
    assert not check_final_norm_scale(1 / math.sqrt(24))


def test_layernorm_backward_check_accepts_solution():
    def backward(z, grad_output, eps):
        s = torch.sqrt(z.var(dim=-1, unbiased=False, keepdim=True) + eps)
        z_hat = (z - z.mean(dim=-1, keepdim=True)) / s
        g = grad_output
        return (g - g.mean(dim=-1, keepdim=True) - z_hat * (g * z_hat).mean(dim=-1, keepdim=True)) / s

    assert check_layernorm_backward(backward)


def test_layernorm_backward_check_rejects_identity(capsys):
    assert not check_layernorm_backward(lambda z, grad_output, eps: grad_output)
    assert "Not yet" in capsys.readouterr().out


def test_layernorm_backward_check_handles_none():
    assert not check_layernorm_backward(lambda z, grad_output, eps: None)
