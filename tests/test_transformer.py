"""Tests of helpers.transformer: each layer against a hand-written reference."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from helpers.transformer import (
    VARIANTS,
    Encoder,
    EncoderLayer,
    FeedForward,
    MultiHeadSelfAttention,
    additive_attention_mask,
    build_encoder,
    deepnorm_constants,
    deepnorm_init_,
    xavier_init_,
)

HIDDEN, HEADS, FFN = 8, 2, 16


def make_layer(**options) -> EncoderLayer:
    torch.manual_seed(0)
    return EncoderLayer(HIDDEN, HEADS, FFN, **options).double().eval()


def random_states(batch: int = 2, seq: int = 5) -> torch.Tensor:
    return torch.randn(batch, seq, HIDDEN, dtype=torch.float64, generator=torch.Generator().manual_seed(1))


def reference_attention(attention: MultiHeadSelfAttention, x: torch.Tensor, mask: torch.Tensor | None = None):
    """softmax(Q K^T / sqrt(d)) V per head, then the output projection, written without the module's helpers."""
    batch, seq, hidden = x.shape
    heads, size = attention.num_attention_heads, hidden // attention.num_attention_heads
    q = (x @ attention.query.weight.T + attention.query.bias).view(batch, seq, heads, size)
    k = (x @ attention.key.weight.T + attention.key.bias).view(batch, seq, heads, size)
    v = (x @ attention.value.weight.T + attention.value.bias).view(batch, seq, heads, size)
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(size)
    if mask is not None:
        scores = scores.masked_fill(mask[:, None, None, :] == 0, -math.inf)
    probs = scores.softmax(dim=-1)
    context = torch.einsum("bhqk,bkhd->bqhd", probs, v).reshape(batch, seq, hidden)
    return context @ attention.output.weight.T + attention.output.bias, probs


# ----------------------------------------------------------------------------- attention


def test_attention_matches_softmax_reference():
    attention = make_layer().attention
    x = random_states()
    expected, _ = reference_attention(attention, x)
    torch.testing.assert_close(attention(x), expected, rtol=0, atol=1e-12)


def test_attention_probs_match_reference():
    attention = make_layer().attention
    x = random_states()
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    _, expected = reference_attention(attention, x, mask)
    torch.testing.assert_close(attention.attention_probs(x, mask), expected, rtol=0, atol=1e-12)


def test_attention_probs_rows_sum_to_one():
    probs = make_layer().attention.attention_probs(random_states())
    torch.testing.assert_close(probs.sum(dim=-1), torch.ones(2, HEADS, 5, dtype=torch.float64))


def test_attention_ignores_padded_keys():
    attention = make_layer().attention
    x = random_states(batch=1, seq=3)
    padding = torch.randn(1, 4, HIDDEN, dtype=torch.float64) * 100  # large, so a leak would show
    padded = torch.cat([x, padding], dim=1)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0, 0]])
    torch.testing.assert_close(attention(padded, mask)[:, :3], attention(x), rtol=0, atol=1e-12)


def test_padded_keys_get_zero_weight():
    probs = make_layer().attention.attention_probs(random_states(), torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]]))
    assert probs[0, :, :, 2:].abs().max().item() == 0.0
    assert probs[1, :, :, 4].abs().max().item() == 0.0


def test_fully_masked_row_is_finite():
    attention = make_layer().attention
    mask = torch.tensor([[0, 0, 0, 0, 0], [1, 1, 1, 1, 1]])
    output = attention(random_states(), mask)
    assert torch.isfinite(output).all()


def test_fully_masked_row_is_finite_in_float32():
    torch.manual_seed(0)
    attention = MultiHeadSelfAttention(HIDDEN, HEADS).eval()
    output = attention(torch.randn(1, 4, HIDDEN) * 1e3, torch.zeros(1, 4, dtype=torch.long))
    assert torch.isfinite(output).all()


def test_additive_mask_values():
    mask = additive_attention_mask(torch.tensor([[1, 0]]), torch.float32)
    assert mask.shape == (1, 1, 1, 2)
    assert mask[0, 0, 0, 0].item() == 0.0
    assert mask[0, 0, 0, 1].item() == torch.finfo(torch.float32).min


def test_additive_mask_none_passes_through():
    assert additive_attention_mask(None, torch.float32) is None


def test_additive_mask_rejects_3d_mask():
    with pytest.raises(ValueError, match=r"\(batch, seq\)"):
        additive_attention_mask(torch.ones(1, 2, 3), torch.float32)


def test_hidden_not_divisible_by_heads():
    with pytest.raises(ValueError, match="not divisible by num_attention_heads=3"):
        MultiHeadSelfAttention(10, 3)


def test_attention_rejects_wrong_mask_shape():
    with pytest.raises(ValueError, match="attention_mask has shape"):
        make_layer().attention(random_states(), torch.ones(2, 4))


def test_attention_rejects_2d_states():
    with pytest.raises(ValueError, match=r"\(batch, seq, hidden\)"):
        make_layer().attention(torch.randn(5, HIDDEN, dtype=torch.float64))


@pytest.mark.parametrize("value", [-0.1, 1.0, True, "0.1"])
def test_attention_rejects_bad_dropout(value):
    with pytest.raises(ValueError, match="probability"):
        MultiHeadSelfAttention(HIDDEN, HEADS, attention_probs_dropout_prob=value)


def test_dropout_is_off_in_eval_mode():
    torch.manual_seed(0)
    layer = EncoderLayer(HIDDEN, HEADS, FFN, hidden_dropout_prob=0.5, attention_probs_dropout_prob=0.5).eval()
    x = torch.randn(2, 5, HIDDEN)
    torch.testing.assert_close(layer(x), layer(x), rtol=0, atol=0)


# ----------------------------------------------------------------------------- feed-forward


def test_feed_forward_is_linear_gelu_linear():
    torch.manual_seed(0)
    ffn = FeedForward(HIDDEN, FFN).double()
    x = random_states()
    expected = F.linear(F.gelu(F.linear(x, ffn.intermediate.weight, ffn.intermediate.bias)), ffn.output.weight, ffn.output.bias)
    torch.testing.assert_close(ffn(x), expected, rtol=0, atol=1e-12)


def test_unknown_activation_rejected():
    with pytest.raises(ValueError, match="hidden_act='swish' is not supported"):
        FeedForward(HIDDEN, FFN, hidden_act="swish")


def test_feed_forward_rejects_zero_width():
    with pytest.raises(ValueError, match="intermediate_size must be a positive int"):
        FeedForward(HIDDEN, 0)


# ----------------------------------------------------------------------------- encoder layer


def post_ln_reference(layer: EncoderLayer, x: torch.Tensor) -> torch.Tensor:
    h = F.layer_norm(x + layer.attention(x), (HIDDEN,), layer.attention_norm.weight, layer.attention_norm.bias, 1e-5)
    return F.layer_norm(h + layer.ffn(h), (HIDDEN,), layer.ffn_norm.weight, layer.ffn_norm.bias, 1e-5)


def pre_ln_reference(layer: EncoderLayer, x: torch.Tensor) -> torch.Tensor:
    h = x + layer.attention(layer.attention_norm(x))
    return h + layer.ffn(layer.ffn_norm(h))


def test_post_ln_formula():
    layer = make_layer(ln_position="post")
    x = random_states()
    torch.testing.assert_close(layer(x), post_ln_reference(layer, x), rtol=0, atol=1e-12)


def test_pre_ln_formula():
    layer = make_layer(ln_position="pre")
    x = random_states()
    torch.testing.assert_close(layer(x), pre_ln_reference(layer, x), rtol=0, atol=1e-12)


def test_post_and_pre_ln_differ():
    post, pre = make_layer(ln_position="post"), make_layer(ln_position="pre")
    x = random_states()
    assert (post(x) - pre(x)).abs().max().item() > 1e-2


def test_post_ln_without_residual():
    layer = make_layer(ln_position="post", residual=False)
    x = random_states()
    h = layer.attention_norm(layer.attention(x))
    torch.testing.assert_close(layer(x), layer.ffn_norm(layer.ffn(h)), rtol=0, atol=1e-12)


def test_pre_ln_without_residual():
    layer = make_layer(ln_position="pre", residual=False)
    x = random_states()
    h = layer.attention(layer.attention_norm(x))
    torch.testing.assert_close(layer(x), layer.ffn(layer.ffn_norm(h)), rtol=0, atol=1e-12)


def test_no_layernorm_formula():
    layer = make_layer(ln_position=None)
    x = random_states()
    h = x + layer.attention(x)
    torch.testing.assert_close(layer(x), h + layer.ffn(h), rtol=0, atol=1e-12)
    assert isinstance(layer.attention_norm, torch.nn.Identity)


def test_shortcut_scale_formula():
    layer = make_layer(ln_position="post", shortcut_scale=2.0)
    x = random_states()
    h = layer.attention_norm(2.0 * x + layer.attention(x))
    torch.testing.assert_close(layer(x), layer.ffn_norm(2.0 * h + layer.ffn(h)), rtol=0, atol=1e-12)


def test_rezero_layer_is_identity_at_init():
    layer = make_layer(ln_position=None, rezero=True)
    x = random_states()
    assert torch.equal(layer(x), x)


def test_rezero_resweights_get_gradients():
    layer = make_layer(ln_position=None, rezero=True)
    layer(random_states()).pow(2).sum().backward()
    assert layer.attention_resweight.grad.abs().item() > 0
    assert layer.ffn_resweight.grad.abs().item() > 0


def test_rezero_formula_after_update():
    layer = make_layer(ln_position=None, rezero=True)
    with torch.no_grad():
        layer.attention_resweight.fill_(0.5)
        layer.ffn_resweight.fill_(-0.25)
    x = random_states()
    h = x + 0.5 * layer.attention(x)
    torch.testing.assert_close(layer(x), h - 0.25 * layer.ffn(h), rtol=0, atol=1e-12)


def test_attention_only_layer():
    layer = make_layer(ln_position=None, feed_forward=False)
    x = random_states()
    assert layer.ffn is None
    assert layer.ffn_norm is None
    torch.testing.assert_close(layer(x), x + layer.attention(x), rtol=0, atol=1e-12)


def test_layer_passes_mask_to_attention():
    layer = make_layer()
    x = random_states(batch=1, seq=3)
    padded = torch.cat([x, torch.randn(1, 2, HIDDEN, dtype=torch.float64)], dim=1)
    mask = torch.tensor([[1, 1, 1, 0, 0]])
    torch.testing.assert_close(layer(padded, mask)[:, :3], layer(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("ln_position", ["middle", "POST", ""])
def test_unknown_ln_position_rejected(ln_position):
    with pytest.raises(ValueError, match="ln_position=.* is not supported"):
        EncoderLayer(HIDDEN, HEADS, FFN, ln_position=ln_position)


@pytest.mark.parametrize("name", ["residual", "rezero", "feed_forward"])
def test_switches_must_be_bool(name):
    with pytest.raises(TypeError, match=f"{name} must be True or False"):
        EncoderLayer(HIDDEN, HEADS, FFN, **{name: 1})


@pytest.mark.parametrize("value", [0, -1.0, math.inf, math.nan, True])
def test_bad_shortcut_scale_rejected(value):
    with pytest.raises(ValueError, match="shortcut_scale must be a positive number"):
        EncoderLayer(HIDDEN, HEADS, FFN, shortcut_scale=value)


@pytest.mark.parametrize("value", [0.0, 1, -1e-5])
def test_bad_layer_norm_eps_rejected(value):
    with pytest.raises(ValueError, match="layer_norm_eps"):
        EncoderLayer(HIDDEN, HEADS, FFN, layer_norm_eps=value)


# ----------------------------------------------------------------------------- encoder


def test_pre_ln_encoder_ends_with_layernorm():
    encoder = Encoder(3, HIDDEN, num_attention_heads=HEADS, intermediate_size=FFN, ln_position="pre")
    assert isinstance(encoder.final_norm, torch.nn.LayerNorm)


@pytest.mark.parametrize("ln_position", ["post", None])
def test_other_encoders_end_with_identity(ln_position):
    encoder = Encoder(3, HIDDEN, num_attention_heads=HEADS, intermediate_size=FFN, ln_position=ln_position)
    assert isinstance(encoder.final_norm, torch.nn.Identity)


def test_encoder_hidden_states_list():
    torch.manual_seed(0)
    encoder = Encoder(3, HIDDEN, num_attention_heads=HEADS, intermediate_size=FFN, ln_position="pre").double()
    x = random_states()
    output, all_hidden_states = encoder(x, output_hidden_states=True)
    assert len(all_hidden_states) == 4
    assert all_hidden_states[0] is x
    assert torch.equal(all_hidden_states[-1], output)
    torch.testing.assert_close(output, encoder.final_norm(encoder.layers[2](all_hidden_states[2])), rtol=0, atol=0)


def test_encoder_rejects_zero_layers():
    with pytest.raises(ValueError, match="num_hidden_layers must be a positive int"):
        Encoder(0, HIDDEN, num_attention_heads=HEADS, intermediate_size=FFN)


def test_xavier_init_values():
    encoder = xavier_init_(Encoder(2, HIDDEN, num_attention_heads=HEADS, intermediate_size=FFN))
    bound = math.sqrt(6 / (HIDDEN + FFN))
    weight = encoder.layers[0].ffn.intermediate.weight
    assert weight.abs().max().item() <= bound
    assert encoder.layers[0].ffn.intermediate.bias.abs().max().item() == 0.0


# ----------------------------------------------------------------------------- DeepNorm and variants


def test_deepnorm_constants():
    alpha, beta = deepnorm_constants(6)
    assert alpha == pytest.approx(12**0.25)
    assert beta == pytest.approx(48**-0.25)


def test_deepnorm_constants_reject_zero_layers():
    with pytest.raises(ValueError, match="num_layers"):
        deepnorm_constants(0)


def test_deepnorm_init_scales_branch_weights():
    torch.manual_seed(0)
    width = 256
    encoder = Encoder(1, width, num_attention_heads=4, intermediate_size=width, ln_position="post")
    deepnorm_init_(encoder, beta=0.25)
    layer = encoder.layers[0]
    xavier_std = math.sqrt(2 / (width + width))
    assert layer.attention.query.weight.std().item() == pytest.approx(xavier_std, rel=0.05)
    assert layer.attention.value.weight.std().item() == pytest.approx(0.25 * xavier_std, rel=0.05)
    assert layer.ffn.output.weight.std().item() == pytest.approx(0.25 * xavier_std, rel=0.05)


def test_deepnorm_init_rejects_bad_beta():
    encoder = Encoder(1, HIDDEN, num_attention_heads=HEADS, intermediate_size=FFN)
    with pytest.raises(ValueError, match="beta must be a positive number"):
        deepnorm_init_(encoder, 0.0)


def test_deepnorm_init_rejects_a_layer():
    with pytest.raises(TypeError, match="Encoder"):
        deepnorm_init_(make_layer(), 0.5)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_build_encoder_variants_run(variant):
    torch.manual_seed(0)
    encoder = build_encoder(variant, 3, HIDDEN, HEADS, FFN)
    output = encoder(torch.randn(2, 5, HIDDEN))
    assert output.shape == (2, 5, HIDDEN)
    assert torch.isfinite(output).all()


def test_build_encoder_deepnorm_layers():
    encoder = build_encoder("deepnorm", 4, HIDDEN, HEADS, FFN)
    assert encoder.layers[0].shortcut_scale == pytest.approx(8**0.25)
    assert encoder.layers[0].ln_position == "post"


def test_build_encoder_rezero_is_identity():
    encoder = build_encoder("rezero", 3, HIDDEN, HEADS, FFN)
    x = torch.randn(2, 5, HIDDEN)
    assert torch.equal(encoder(x), x)


def test_build_encoder_pytorch_init_keeps_defaults():
    torch.manual_seed(0)
    encoder = build_encoder("post", 1, HIDDEN, HEADS, FFN, init="pytorch")
    assert encoder.layers[0].ffn.intermediate.bias.abs().max().item() > 0  # Xavier would zero it


def test_build_encoder_rejects_unknown_variant():
    with pytest.raises(ValueError, match="variant='admin' is not supported"):
        build_encoder("admin", 2, HIDDEN, HEADS, FFN)


def test_build_encoder_rejects_unknown_init():
    with pytest.raises(ValueError, match="init='kaiming' is not supported"):
        build_encoder("post", 2, HIDDEN, HEADS, FFN, init="kaiming")
