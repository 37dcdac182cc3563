"""Tests for helpers.roberta: equality with transformers' RoBERTa, loaders, variants and errors.

Every comparison runs in float32, in eval mode, offline, on small random
configurations built with transformers' own RobertaConfig. The tolerance is
1e-5 on the last hidden state and on the masked-LM logits.
"""

import dataclasses
import json

import pytest
import torch
import transformers

from helpers import roberta
from helpers.roberta import RobertaConfig, RobertaForMaskedLM, RobertaModel

ATOL = 1e-5
PAD = 1
VOCAB = 97


def transformers_config(**overrides) -> transformers.RobertaConfig:
    """A small transformers config with roberta-base's conventions (eps 1e-5, 1 token type, pad id 1)."""
    fields = dict(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=34, type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=PAD,
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
    )
    fields.update(overrides)
    return transformers.RobertaConfig(**fields, attn_implementation="sdpa")


def randomize_(model: torch.nn.Module, std: float) -> torch.nn.Module:
    """Draw every parameter at random (LayerNorm weights around 1), so no parameter can be skipped unnoticed."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator) * std
            is_norm_weight = "LayerNorm.weight" in name or "layer_norm.weight" in name
            parameter.copy_(1.0 + noise if is_norm_weight else noise)
    return model


def model_pair(masked_lm: bool = False, std: float = 0.1, **overrides):
    """A random transformers model in eval mode and its copy in helpers.roberta."""
    torch.manual_seed(0)
    source_class = transformers.RobertaForMaskedLM if masked_lm else transformers.RobertaModel
    if masked_lm:
        source = source_class(transformers_config(**overrides))
    else:
        source = source_class(transformers_config(**overrides), add_pooling_layer=False)
    source = randomize_(source, std).eval()
    return source, roberta.from_transformers(source)


def random_ids(batch: int, seq: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(3, VOCAB, (batch, seq), generator=generator)  # no special ids


def max_difference(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return (actual - expected).abs().max().item()


def padded_batch(lengths: list[int], seq: int, side: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Random ids padded with PAD to ``seq`` on ``side``, and the attention mask."""
    input_ids = torch.full((len(lengths), seq), PAD)
    for row, length in enumerate(lengths):
        tokens = random_ids(1, length, seed=row)[0]
        if side == "right":
            input_ids[row, :length] = tokens
        else:
            input_ids[row, seq - length:] = tokens
    return input_ids, input_ids.ne(PAD).long()


# --------------------------------------------------------------------------- config


def test_config_defaults_are_roberta_base():
    config = RobertaConfig()
    expected = dict(
        vocab_size=50265, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, hidden_act="gelu", hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1, max_position_embeddings=514, type_vocab_size=1,
        initializer_range=0.02, layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2,
        ln_position="post", residual=True,
    )
    assert dataclasses.asdict(config) == expected
    assert config.max_tokens == 512


def test_config_round_trip_through_transformers():
    config = RobertaConfig(vocab_size=101, hidden_size=16, num_attention_heads=2, layer_norm_eps=1e-6)
    converted = config.to_transformers()
    assert isinstance(converted, transformers.RobertaConfig)
    assert converted.layer_norm_eps == 1e-6
    assert converted.type_vocab_size == 1
    assert RobertaConfig.from_transformers(converted) == config
    assert RobertaConfig.from_transformers(converted, ln_position="pre").ln_position == "pre"


def test_config_field_names_are_transformers():
    transformers_fields = transformers.RobertaConfig().to_dict()
    for field in dataclasses.fields(RobertaConfig):
        if field.name not in ("ln_position", "residual"):
            assert field.name in transformers_fields, field.name


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("hidden_size", 0, "hidden_size must be an int >= 1"),
        ("num_attention_heads", 5, "not divisible by num_attention_heads=5"),
        ("hidden_dropout_prob", 1.0, "probability in \\[0, 1\\)"),
        ("layer_norm_eps", 0.0, "layer_norm_eps must be a positive float"),
        ("initializer_range", -0.02, "initializer_range must be a positive float"),
        ("pad_token_id", 50265, "pad_token_id=50265 is not below vocab_size"),
        ("max_position_embeddings", 2, "leaves no position for a token"),
        ("hidden_act", "swish", "hidden_act='swish' is not supported"),
        ("ln_position", "middle", "ln_position='middle' is not supported"),
    ],
)
def test_config_rejects_invalid_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        RobertaConfig(**{field: value})


def test_config_rejects_non_bool_residual():
    with pytest.raises(TypeError, match="residual must be True or False"):
        RobertaConfig(residual=1)


def test_config_replace_validates_again():
    with pytest.raises(ValueError, match="hidden_size must be"):
        dataclasses.replace(RobertaConfig(), hidden_size=-1)


def test_to_transformers_rejects_pre_ln():
    with pytest.raises(ValueError, match="ln_position='post', residual=True"):
        RobertaConfig(ln_position="pre").to_transformers()


def test_from_transformers_rejects_decoder_config():
    with pytest.raises(ValueError, match="is_decoder=True is not supported"):
        RobertaConfig.from_transformers(transformers_config(is_decoder=True))


# --------------------------------------------------------------------------- equality with transformers


def test_right_padded_batch_matches_transformers():
    source, ours = model_pair()
    input_ids, attention_mask = padded_batch([30, 17, 5], seq=30, side="right")
    with torch.no_grad():
        expected = source(input_ids, attention_mask=attention_mask).last_hidden_state
        actual = ours(input_ids, attention_mask).last_hidden_state
    assert max_difference(actual, expected) <= ATOL


def test_left_padded_batch_matches_transformers():
    source, ours = model_pair()
    input_ids, attention_mask = padded_batch([30, 17, 5], seq=30, side="left")
    with torch.no_grad():
        expected = source(input_ids, attention_mask=attention_mask).last_hidden_state
        actual = ours(input_ids, attention_mask).last_hidden_state
    assert max_difference(actual, expected) <= ATOL


@pytest.mark.parametrize("side", ["right", "left"])
def test_padded_tokens_match_unpadded_run(side):
    _, ours = model_pair()
    lengths = [30, 17, 5]
    input_ids, attention_mask = padded_batch(lengths, seq=30, side=side)
    with torch.no_grad():
        padded = ours(input_ids, attention_mask).last_hidden_state
        for row, length in enumerate(lengths):
            real = slice(0, length) if side == "right" else slice(30 - length, 30)
            alone = ours(input_ids[row:row + 1, real]).last_hidden_state[0]
            assert max_difference(padded[row, real], alone) <= ATOL


def test_all_padding_row_stays_finite():
    source, ours = model_pair()
    input_ids, attention_mask = padded_batch([10, 0], seq=10, side="right")
    with torch.no_grad():
        expected = source(input_ids, attention_mask=attention_mask).last_hidden_state
        actual = ours(input_ids, attention_mask).last_hidden_state
    assert torch.isfinite(actual).all()
    assert max_difference(actual[0], expected[0]) <= ATOL


def test_position_ids_skip_padding():
    input_ids = torch.tensor([[0, 5, 6, 2, PAD, PAD], [PAD, PAD, 0, 5, 6, 2]])
    expected = torch.tensor([[2, 3, 4, 5, 1, 1], [1, 1, 2, 3, 4, 5]])
    assert torch.equal(roberta.position_ids_from_input_ids(input_ids, PAD), expected)
    reference = transformers.models.roberta.modeling_roberta.RobertaEmbeddings
    assert torch.equal(reference.create_position_ids_from_input_ids(input_ids, PAD), expected)


def test_full_length_sequences_match_transformers():
    source, ours = model_pair()
    seq = source.config.max_position_embeddings - 2
    input_ids = random_ids(2, seq)
    with torch.no_grad():
        expected = source(input_ids).last_hidden_state
        actual = ours(input_ids).last_hidden_state
    assert actual.shape == (2, seq, 32)
    assert max_difference(actual, expected) <= ATOL


def test_omitted_token_types_match_transformers():
    source, ours = model_pair()
    input_ids = random_ids(2, 12)
    with torch.no_grad():
        expected = source(input_ids, token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
        omitted = ours(input_ids).last_hidden_state
        zeros = ours(input_ids, token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
    assert max_difference(omitted, expected) <= ATOL
    assert max_difference(zeros, expected) <= ATOL


def test_two_token_types_match_transformers():
    source, ours = model_pair(type_vocab_size=2)
    input_ids = random_ids(2, 12)
    token_type_ids = (torch.arange(12) >= 6).long().expand(2, 12)
    with torch.no_grad():
        expected = source(input_ids, token_type_ids=token_type_ids).last_hidden_state
        actual = ours(input_ids, token_type_ids=token_type_ids).last_hidden_state
    assert max_difference(actual, expected) <= ATOL


def test_hidden_states_match_per_layer():
    source, ours = model_pair(num_hidden_layers=3)
    input_ids, attention_mask = padded_batch([20, 9], seq=20, side="right")
    with torch.no_grad():
        expected = source(input_ids, attention_mask=attention_mask, output_hidden_states=True).hidden_states
        actual = ours(input_ids, attention_mask, output_hidden_states=True).hidden_states
    assert len(actual) == len(expected) == 4
    for layer, (ours_state, their_state) in enumerate(zip(actual, expected)):
        assert max_difference(ours_state, their_state) <= ATOL, f"hidden state {layer}"


def test_masked_lm_logits_and_loss_match():
    source, ours = model_pair(masked_lm=True)
    input_ids, attention_mask = padded_batch([24, 11], seq=24, side="right")
    labels = torch.where(torch.rand(input_ids.shape, generator=torch.Generator().manual_seed(2)) < 0.3,
                         input_ids, torch.full_like(input_ids, -100))
    with torch.no_grad():
        expected = source(input_ids, attention_mask=attention_mask, labels=labels)
        actual = ours(input_ids, attention_mask, labels=labels)
    assert actual.logits.shape == (2, 24, VOCAB)
    assert max_difference(actual.logits, expected.logits) <= ATOL
    assert abs(actual.loss.item() - expected.loss.item()) <= ATOL


def test_eager_attention_matches_too():
    source, ours = model_pair(masked_lm=True)
    source.config._attn_implementation = "eager"
    input_ids, attention_mask = padded_batch([24, 11], seq=24, side="left")
    with torch.no_grad():
        expected = source(input_ids, attention_mask=attention_mask).logits
        actual = ours(input_ids, attention_mask).logits
    assert max_difference(actual, expected) <= ATOL


# --------------------------------------------------------------------------- the tolerance is tight enough


def wrong_variant_difference(**wrong) -> float:
    """Max logit difference to transformers of a model with the same weights but one wrong config field."""
    source, ours = model_pair(masked_lm=True, std=0.3)
    variant = RobertaForMaskedLM(dataclasses.replace(ours.config, **wrong)).eval()
    roberta.load_checked_state_dict(variant, ours.state_dict())
    input_ids = random_ids(2, 16)
    with torch.no_grad():
        return max_difference(variant(input_ids).logits, source(input_ids).logits)


def test_large_init_range_still_matches():
    assert wrong_variant_difference() <= ATOL


def test_tanh_gelu_exceeds_tolerance():
    assert wrong_variant_difference(hidden_act="gelu_new") > 10 * ATOL


def test_bert_layer_norm_eps_exceeds_tolerance():
    assert wrong_variant_difference(layer_norm_eps=1e-12) > 10 * ATOL


# --------------------------------------------------------------------------- gradients and tied weights


def test_gradients_match_transformers():
    source, ours = model_pair(masked_lm=True)
    input_ids, attention_mask = padded_batch([24, 13], seq=24, side="right")
    labels = torch.where(input_ids % 3 == 0, input_ids, torch.full_like(input_ids, -100))
    source(input_ids, attention_mask=attention_mask, labels=labels).loss.backward()
    ours(input_ids, attention_mask, labels=labels).loss.backward()
    their_parameters = dict(source.named_parameters())
    our_parameters = dict(ours.named_parameters())
    key_map = roberta.transformers_key_map(ours.config, masked_lm=True)
    compared = 0
    for their_name, our_name in key_map.items():
        if their_name in their_parameters and our_name in our_parameters:
            expected = their_parameters[their_name].grad
            actual = our_parameters[our_name].grad
            assert max_difference(actual, expected) <= ATOL, their_name
            compared += 1
    assert compared == len(our_parameters)


def test_parameter_count_matches_transformers():
    source, ours = model_pair(masked_lm=True)
    their_count = sum(parameter.numel() for parameter in source.parameters())
    our_count = sum(parameter.numel() for parameter in ours.parameters())
    assert our_count == their_count
    tied_size = VOCAB * 32
    assert sum(parameter.numel() for _, parameter in ours.named_parameters(remove_duplicate=False)) == our_count + tied_size


def test_decoder_weight_is_word_embeddings():
    model = RobertaForMaskedLM(RobertaConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1,
                                             num_attention_heads=2, intermediate_size=16))
    assert model.lm_head.decoder.weight is model.roberta.embeddings.word_embeddings.weight
    input_ids = torch.tensor([[0, 7, 9, 2]])
    before = model.eval()(input_ids).logits
    with torch.no_grad():
        model.roberta.embeddings.word_embeddings.weight[7] += 1.0
    assert torch.equal(model.lm_head.decoder.weight[7], model.roberta.embeddings.word_embeddings.weight[7])
    assert not torch.allclose(model(input_ids).logits, before)


def test_decoder_bias_counted_once():
    model = RobertaForMaskedLM(RobertaConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1,
                                             num_attention_heads=2, intermediate_size=16)).eval()
    input_ids = torch.tensor([[0, 7, 9, 2]])
    before = model(input_ids).logits
    with torch.no_grad():
        model.lm_head.decoder.bias += 0.5
    shift = model(input_ids).logits - before
    assert torch.allclose(shift, torch.full_like(shift, 0.5), atol=1e-6)
    bias_names = [name for name, _ in model.named_parameters() if name.startswith("lm_head") and "bias" in name]
    assert bias_names == ["lm_head.dense.bias", "lm_head.layer_norm.bias", "lm_head.decoder.bias"]


# --------------------------------------------------------------------------- input errors


def small_model(**fields) -> RobertaModel:
    config = dict(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                  intermediate_size=16, max_position_embeddings=12)
    config.update(fields)
    return RobertaModel(RobertaConfig(**config)).eval()


def test_too_long_input_names_limit():
    model = small_model()
    assert model(torch.full((1, 10), 5)).last_hidden_state.shape == (1, 10, 8)
    with pytest.raises(ValueError, match="input has 11 tokens.*max_position_embeddings=12.*fits 10 tokens"):
        model(torch.full((1, 11), 5))


def test_token_type_out_of_range_raises():
    with pytest.raises(ValueError, match="token_type_ids range over \\[0, 1\\].*type_vocab_size=1"):
        small_model()(torch.full((1, 4), 5), token_type_ids=torch.tensor([[0, 0, 1, 1]]))


def test_token_type_shape_mismatch_raises():
    with pytest.raises(ValueError, match="token_type_ids has shape \\(1, 3\\), expected \\(1, 4\\)"):
        small_model()(torch.full((1, 4), 5), token_type_ids=torch.zeros(1, 3, dtype=torch.long))


def test_input_id_out_of_vocab_raises():
    with pytest.raises(ValueError, match="input_ids range over \\[5, 50\\] but vocab_size=50"):
        small_model()(torch.tensor([[5, 50]]))


def test_float_input_ids_raise():
    with pytest.raises(ValueError, match="tensor of torch.long"):
        small_model()(torch.ones(1, 4))


def test_labels_shape_mismatch_raises():
    model = RobertaForMaskedLM(small_model().config)
    with pytest.raises(ValueError, match="labels has shape \\(1, 3\\)"):
        model(torch.full((1, 4), 5), labels=torch.full((1, 3), 5))


def test_labels_all_ignored_give_nan_loss():
    model = RobertaForMaskedLM(small_model().config)
    loss = model(torch.full((1, 4), 5), labels=torch.full((1, 4), -100)).loss
    assert torch.isnan(loss)


# --------------------------------------------------------------------------- loaders


def test_state_dict_loader_matches_object_loader():
    source, ours = model_pair(masked_lm=True)
    loaded = roberta.load_transformers_state_dict(RobertaForMaskedLM(ours.config), source.state_dict()).eval()
    input_ids = random_ids(2, 10)
    with torch.no_grad():
        assert torch.equal(loaded(input_ids).logits, ours(input_ids).logits)


def test_pooler_keys_are_ignored():
    torch.manual_seed(0)
    source = transformers.RobertaModel(transformers_config())  # with its pooler
    assert "pooler.dense.weight" in source.state_dict()
    assert isinstance(roberta.from_transformers(source), RobertaModel)


def test_old_checkpoint_buffers_are_ignored():
    source, ours = model_pair(masked_lm=True)
    state_dict = dict(source.state_dict())
    state_dict["roberta.embeddings.position_ids"] = torch.arange(34)[None]
    del state_dict["lm_head.decoder.bias"]  # lm_head.bias alone carries the output bias
    loaded = roberta.load_transformers_state_dict(RobertaForMaskedLM(ours.config), state_dict)
    assert torch.equal(loaded.lm_head.decoder.bias, source.lm_head.bias)


def test_differing_output_biases_raise():
    source, ours = model_pair(masked_lm=True)
    state_dict = dict(source.state_dict())
    state_dict["lm_head.decoder.bias"] = state_dict["lm_head.bias"] + 1.0
    with pytest.raises(ValueError, match="lm_head.bias differs from lm_head.decoder.bias"):
        roberta.load_transformers_state_dict(RobertaForMaskedLM(ours.config), state_dict)


def test_unknown_key_raises():
    source, ours = model_pair()
    state_dict = dict(source.state_dict(), **{"encoder.layer.9.output.dense.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="1 unknown keys for RobertaModel: \\['encoder.layer.9"):
        roberta.load_transformers_state_dict(RobertaModel(ours.config), state_dict)


def test_masked_lm_keys_into_base_raise():
    source, ours = model_pair(masked_lm=True)
    with pytest.raises(ValueError, match="unknown keys for RobertaModel.*loads into"):
        roberta.load_transformers_state_dict(RobertaModel(ours.config), source.state_dict())


def test_missing_key_raises():
    source, ours = model_pair()
    state_dict = dict(source.state_dict())
    del state_dict["encoder.layer.1.output.LayerNorm.bias"]
    with pytest.raises(ValueError, match="missing 1 keys \\['encoder.layers.1.ffn_norm.bias'\\]"):
        roberta.load_transformers_state_dict(RobertaModel(ours.config), state_dict)


def test_shape_mismatch_raises():
    source, ours = model_pair()
    config = dataclasses.replace(ours.config, intermediate_size=48)
    with pytest.raises(ValueError, match="intermediate.weight has shape \\(64, 32\\).*\\(48, 32\\)"):
        roberta.load_transformers_state_dict(RobertaModel(config), source.state_dict())


def test_from_transformers_keeps_mode_and_dtype():
    source, _ = model_pair()
    copy = roberta.from_transformers(source.train().double())
    assert copy.training
    assert next(copy.parameters()).dtype == torch.float64


def test_from_transformers_rejects_other_models():
    with pytest.raises(TypeError, match="transformers RobertaModel or RobertaForMaskedLM, got Linear"):
        roberta.from_transformers(torch.nn.Linear(2, 2))


def test_from_pretrained_reads_local_directory(tmp_path):
    source, ours = model_pair(masked_lm=True)
    source.save_pretrained(tmp_path)
    loaded = roberta.from_pretrained(tmp_path)
    input_ids = random_ids(2, 10)
    with torch.no_grad():
        assert max_difference(loaded(input_ids).logits, source(input_ids).logits) <= ATOL
    encoder = roberta.from_pretrained(tmp_path, masked_lm=False)
    assert isinstance(encoder, RobertaModel)


def test_from_pretrained_without_head_raises(tmp_path):
    source, _ = model_pair()
    source.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="lacks .* weights of RobertaForMaskedLM.*masked_lm=False"):
        roberta.from_pretrained(tmp_path)


def test_from_pretrained_missing_directory_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        roberta.from_pretrained(tmp_path / "roberta-base")


# --------------------------------------------------------------------------- our checkpoints


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_checkpoint_round_trip(tmp_path, suffix):
    config = RobertaConfig(vocab_size=50, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=16, max_position_embeddings=20, ln_position="pre")
    model = roberta.init_weights(RobertaForMaskedLM(config), "small").eval()
    path = roberta.save_checkpoint(model, tmp_path / f"model{suffix}")
    loaded = roberta.load_checkpoint(path).eval()
    assert loaded.config == config
    assert loaded.lm_head.decoder.weight is loaded.roberta.embeddings.word_embeddings.weight
    input_ids = torch.tensor([[0, 7, 9, 2, PAD]])
    assert torch.equal(loaded(input_ids).logits, model(input_ids).logits)


def test_checkpoint_stores_tied_weight_once(tmp_path):
    from safetensors import safe_open

    model = RobertaForMaskedLM(small_model().config)
    path = roberta.save_checkpoint(model, tmp_path / "model.safetensors")
    with safe_open(path, framework="pt") as file:
        keys = set(file.keys())
        metadata = file.metadata()
    assert roberta.TIED_DECODER_KEY not in keys
    assert "roberta.embeddings.word_embeddings.weight" in keys
    assert json.loads(metadata["config"])["vocab_size"] == 50


def test_foreign_checkpoint_raises(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="not written by helpers.roberta.save_checkpoint"):
        roberta.load_checkpoint(path)


def test_missing_checkpoint_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        roberta.load_checkpoint(tmp_path / "model.safetensors")


# --------------------------------------------------------------------------- variants and init


@pytest.mark.parametrize("ln_position, residual", [("pre", True), ("post", False), ("pre", False)])
def test_variant_runs_forward_and_backward(ln_position, residual):
    config = RobertaConfig(vocab_size=50, hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                           intermediate_size=32, max_position_embeddings=20, ln_position=ln_position,
                           residual=residual)
    model = RobertaForMaskedLM(config)
    input_ids = torch.randint(3, 50, (2, 10), generator=torch.Generator().manual_seed(0))
    output = model(input_ids, labels=input_ids, output_hidden_states=True)
    output.loss.backward()
    assert torch.isfinite(output.loss)
    assert len(output.hidden_states) == 4
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name


def test_pre_ln_ends_with_final_norm():
    config = RobertaConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=32, ln_position="pre")
    model = RobertaModel(config).eval()
    assert isinstance(model.encoder.final_norm, torch.nn.LayerNorm)
    assert isinstance(model.embeddings.layer_norm, torch.nn.LayerNorm)
    output = model(torch.tensor([[0, 5, 6, 2]]), output_hidden_states=True)
    assert torch.equal(output.hidden_states[-1], output.last_hidden_state)
    features = output.last_hidden_state[0]
    assert features.mean(-1).abs().max().item() < 1e-5  # a LayerNorm at (1, 0) ends the stack


def test_roberta_init_uses_initializer_range():
    config = RobertaConfig(vocab_size=2000, hidden_size=64, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=256, initializer_range=0.05)
    model = RobertaForMaskedLM(config)
    query = model.roberta.encoder.layers[0].attention.query
    assert abs(query.weight.std().item() - 0.05) < 0.005
    assert torch.count_nonzero(query.bias) == 0
    assert abs(model.roberta.embeddings.word_embeddings.weight.std().item() - 0.05) < 0.005
    assert torch.count_nonzero(model.lm_head.decoder.bias) == 0


def test_small_init_scheme():
    config = RobertaConfig(vocab_size=2000, hidden_size=64, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=256)
    model = roberta.init_weights(RobertaForMaskedLM(config), "small")
    embeddings = model.roberta.embeddings
    assert abs(embeddings.word_embeddings.weight.std().item() - 0.1) < 0.01
    assert torch.count_nonzero(embeddings.word_embeddings.weight[PAD]) == 0
    assert torch.count_nonzero(embeddings.position_embeddings.weight[PAD]) == 0
    bound = 1 / 64**0.5  # PyTorch's default Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    query = model.roberta.encoder.layers[0].attention.query.weight
    assert query.abs().max().item() <= bound
    assert query.std().item() > 0.5 * bound / 3**0.5
    assert model.lm_head.decoder.weight is embeddings.word_embeddings.weight
    assert torch.count_nonzero(model.lm_head.decoder.bias) == 0


def test_small_init_gives_larger_logits():
    config = RobertaConfig(vocab_size=500, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=128)
    input_ids = torch.randint(3, 500, (4, 32), generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    standard = RobertaForMaskedLM(config).eval()
    small = roberta.init_weights(RobertaForMaskedLM(config), "small").eval()
    with torch.no_grad():
        ratio = (small(input_ids).logits.std() / standard(input_ids).logits.std()).item()
    expected = roberta.SMALL_EMBEDDING_STD / config.initializer_range  # the tied decoder's std ratio, 5
    assert 0.8 * expected < ratio < 1.2 * expected


def test_init_rejects_unknown_scheme():
    with pytest.raises(ValueError, match="scheme='xavier' is not an init scheme"):
        roberta.init_weights(small_model(), "xavier")


def test_dropout_active_only_in_training():
    model = small_model(hidden_dropout_prob=0.5)
    input_ids = torch.tensor([[0, 5, 6, 7, 2]])
    with torch.no_grad():
        assert torch.equal(model.eval()(input_ids).last_hidden_state, model(input_ids).last_hidden_state)
        model.train()
        assert not torch.equal(model(input_ids).last_hidden_state, model(input_ids).last_hidden_state)
