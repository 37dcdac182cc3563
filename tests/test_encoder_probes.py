"""Tests for helpers.encoder_probes: unigram entropy, rank collapse, fixed masks and lesions."""

import math

import pytest
import torch

from helpers.encoder_probes import (
    evaluate_mlm_loss,
    fixed_masked_batches,
    layer_removed,
    check_unigram_entropy,
    mean_cosine_similarity,
    sentence_gradients,
    unigram_entropy,
)
from helpers.roberta import RobertaConfig, RobertaForMaskedLM, init_weights
from helpers.training import masked_lm_loss

SPECIAL_IDS = [0, 1, 2, 3, 4]
MASKING = {"mask_token_id": 4, "special_ids": SPECIAL_IDS, "vocab_size": 50}


def tiny_model(num_hidden_layers=3):
    config = RobertaConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=num_hidden_layers, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=18, hidden_dropout_prob=0.1,
    )
    torch.manual_seed(0)
    return init_weights(RobertaForMaskedLM(config), "small")


def random_blocks(num_blocks=10, seq=16):
    blocks = torch.randint(5, 50, (num_blocks, seq), generator=torch.Generator().manual_seed(0))
    blocks[:, 0], blocks[:, -1] = 0, 2
    return blocks


def test_unigram_entropy_of_uniform_tokens():
    blocks = torch.tensor([[0, 5, 6, 7, 8, 2]])
    assert unigram_entropy(blocks, SPECIAL_IDS) == pytest.approx(math.log(4))


def test_unigram_entropy_of_one_token():
    blocks = torch.tensor([[0, 9, 9, 9, 1, 1]])
    assert unigram_entropy(blocks, SPECIAL_IDS) == 0.0


def test_unigram_entropy_skips_special_tokens():
    with_padding = torch.tensor([[0, 5, 6, 2, 1, 1, 1, 1]])
    assert unigram_entropy(with_padding, SPECIAL_IDS) == pytest.approx(math.log(2))


def test_unigram_entropy_only_special_raises():
    with pytest.raises(ValueError, match="no ordinary token"):
        unigram_entropy(torch.tensor([[0, 1, 2]]), SPECIAL_IDS)


def test_cosine_of_identical_positions_is_one():
    hidden_states = torch.randn(1, 1, 8).expand(2, 5, 8)
    assert mean_cosine_similarity(hidden_states) == pytest.approx(1.0)


def test_cosine_of_orthogonal_positions_is_zero():
    hidden_states = torch.eye(4)[None]
    assert mean_cosine_similarity(hidden_states) == pytest.approx(0.0)


def test_cosine_of_opposite_positions_is_minus_one():
    vector = torch.randn(8)
    hidden_states = torch.stack([vector, -vector])[None]
    assert mean_cosine_similarity(hidden_states) == pytest.approx(-1.0)


def test_cosine_ignores_vector_length():
    vector = torch.randn(8)
    hidden_states = torch.stack([vector, 1e6 * vector, 1e-6 * vector])[None]
    assert mean_cosine_similarity(hidden_states) == pytest.approx(1.0)


def test_cosine_of_one_position_raises():
    with pytest.raises(ValueError, match="seq >= 2"):
        mean_cosine_similarity(torch.randn(2, 1, 8))


def test_fixed_masks_repeat_for_a_seed():
    first = fixed_masked_batches(random_blocks(), batch_size=4, seed=1, **MASKING)
    second = fixed_masked_batches(random_blocks(), batch_size=4, seed=1, **MASKING)
    assert all(torch.equal(a["labels"], b["labels"]) for a, b in zip(first, second))


def test_fixed_masks_keep_partial_batch():
    batches = fixed_masked_batches(random_blocks(num_blocks=10), batch_size=4, seed=1, **MASKING)
    assert [len(batch["input_ids"]) for batch in batches] == [4, 4, 2]


def test_evaluation_weights_tokens_not_batches():
    model = tiny_model().eval()
    batches = fixed_masked_batches(random_blocks(), batch_size=4, seed=1, **MASKING)
    counts = [int((batch["labels"] != -100).sum()) for batch in batches]
    with torch.no_grad():
        losses = [float(masked_lm_loss(model, batch)) for batch in batches]
    expected = sum(loss * count for loss, count in zip(losses, counts)) / sum(counts)
    assert evaluate_mlm_loss(model, batches) == pytest.approx(expected)


def test_evaluation_restores_training_mode():
    model = tiny_model().train()
    evaluate_mlm_loss(model, fixed_masked_batches(random_blocks(), batch_size=4, seed=1, **MASKING))
    assert model.training


def test_evaluation_of_no_batches_raises():
    with pytest.raises(ValueError, match="batches is empty"):
        evaluate_mlm_loss(tiny_model(), [])


def test_layer_removed_skips_that_layer():
    model = tiny_model().eval()
    input_ids = random_blocks(num_blocks=2)
    layers = model.roberta.encoder.layers
    with torch.no_grad():
        expected = model.roberta.embeddings(input_ids)
        for index in (0, 2):
            expected = layers[index](expected)
        with layer_removed(model, 1):
            assert len(model.roberta.encoder.layers) == 2
            actual = model.roberta(input_ids).last_hidden_state
    torch.testing.assert_close(actual, expected)


def test_layer_removed_puts_layer_back():
    model = tiny_model()
    before = list(model.roberta.encoder.layers)
    with layer_removed(model, 1):
        pass
    assert list(model.roberta.encoder.layers) == before


def test_layer_put_back_after_error():
    model = tiny_model()
    before = list(model.roberta.encoder.layers)
    with pytest.raises(RuntimeError, match="inside"):
        with layer_removed(model, 0):
            raise RuntimeError("inside")
    assert list(model.roberta.encoder.layers) == before


def test_layer_index_out_of_range_raises():
    with pytest.raises(ValueError, match=r"index must be a layer index in \[0, 3\)"):
        with layer_removed(tiny_model(), 3):
            pass


@pytest.fixture(scope="module")
def wrapped_tokenizer():
    from helpers.corpus import stdlib_docstrings
    from helpers.tokenizer import to_transformers_tokenizer, train_bpe_tokenizer

    return to_transformers_tokenizer(train_bpe_tokenizer(stdlib_docstrings(["json"]), vocab_size=300))


def sentence_model(**switches):
    config = RobertaConfig(vocab_size=300, hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                           intermediate_size=32, max_position_embeddings=66, **switches)
    torch.manual_seed(0)
    return init_weights(RobertaForMaskedLM(config), "small").eval()


SENTENCES = ["Return the decoded value.", "Serialize obj to a JSON formatted string with padding."]


def test_sentence_gradients_one_norm_per_layer(wrapped_tokenizer):
    result = sentence_gradients(sentence_model(), wrapped_tokenizer, SENTENCES)
    assert len(result["grad_norms"]) == 3
    assert all(norm > 0 for norm in result["grad_norms"])


def test_sentence_gradients_clear_gradients(wrapped_tokenizer):
    model = sentence_model()
    sentence_gradients(model, wrapped_tokenizer, SENTENCES)
    assert all(p.grad is None for p in model.parameters())


def test_sentence_gradients_see_collapse(wrapped_tokenizer):
    collapsed = sentence_gradients(sentence_model(residual=False), wrapped_tokenizer, SENTENCES)
    intact = sentence_gradients(sentence_model(), wrapped_tokenizer, SENTENCES)
    assert collapsed["similarity"] > 0.99
    assert intact["similarity"] < 0.9


def test_sentence_gradients_ignore_padding(wrapped_tokenizer):
    model = sentence_model()
    short, long = SENTENCES
    together = sentence_gradients(model, wrapped_tokenizer, [short, long])  # pads the short one
    alone = [sentence_gradients(model, wrapped_tokenizer, [text])["similarity"] for text in (short, long)]
    assert together["similarity"] == pytest.approx(sum(alone) / 2, abs=1e-6)


def test_sentence_gradients_empty_list_raises(wrapped_tokenizer):
    with pytest.raises(ValueError, match="non-empty list"):
        sentence_gradients(sentence_model(), wrapped_tokenizer, [])


def test_unigram_self_check_accepts_correct_function(capsys):
    assert check_unigram_entropy(unigram_entropy)
    assert "Correct" in capsys.readouterr().out


def test_unigram_self_check_rejects_log2():
    def entropy_in_bits(blocks, special_ids):
        return unigram_entropy(blocks, special_ids) / math.log(2)

    assert not check_unigram_entropy(entropy_in_bits)


def test_unigram_self_check_counts_padding_wrong():
    def with_special_tokens(blocks, special_ids):
        return unigram_entropy(blocks, [])

    assert not check_unigram_entropy(with_special_tokens)


def test_unigram_self_check_without_answer(capsys):
    assert not check_unigram_entropy(lambda blocks, special_ids: None)
    assert "No answer yet" in capsys.readouterr().out
