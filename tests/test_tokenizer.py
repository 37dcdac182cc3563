"""Tests for helpers.tokenizer: RoBERTa-style byte-level BPE trained offline."""

import pytest
from tokenizers import Tokenizer

from helpers.corpus import stdlib_docstrings
from helpers.tokenizer import SPECIAL_TOKENS, special_token_ids, to_transformers_tokenizer, train_bpe_tokenizer

VOCAB_SIZE = 500


@pytest.fixture(scope="module")
def texts():
    return stdlib_docstrings(["json", "textwrap", "queue"])


@pytest.fixture(scope="module")
def tokenizer(texts):
    return train_bpe_tokenizer(texts, vocab_size=VOCAB_SIZE)


def test_special_token_ids_match_roberta(tokenizer):
    ids = {token: tokenizer.token_to_id(token) for token in SPECIAL_TOKENS}
    assert ids == {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}


def test_special_token_ids_helper(tokenizer):
    assert special_token_ids(tokenizer) == [0, 1, 2, 3, 4]


def test_mask_absorbs_preceding_space(tokenizer):
    with_space = tokenizer.encode("Return the <mask> value.").ids
    without_space = tokenizer.encode("Return the<mask> value.").ids
    assert with_space == without_space


def test_mask_is_one_token(tokenizer):
    encoding = tokenizer.encode("Return the <mask> value.")
    assert encoding.ids.count(4) == 1
    assert "Ġ<mask>" not in encoding.tokens


def test_vocab_size_as_trained(tokenizer):
    assert tokenizer.get_vocab_size() == VOCAB_SIZE


def test_vocab_size_after_reload(tokenizer, tmp_path):
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    loaded = Tokenizer.from_file(str(path))
    assert loaded.get_vocab_size() == VOCAB_SIZE


def test_reloaded_mask_keeps_lstrip(tokenizer, tmp_path):
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    loaded = Tokenizer.from_file(str(path))
    assert loaded.encode("a <mask>").ids == tokenizer.encode("a<mask>").ids


@pytest.mark.parametrize(
    "text",
    [
        "Return the value of x.",
        "  leading spaces and\ttabs\nand newlines  ",
        "Unicode: naïve café, 東京, emoji 🙂",
        "",
    ],
)
def test_round_trip_of_text(tokenizer, text):
    ids = tokenizer.encode(text).ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == text


def test_unseen_bytes_never_unknown(tokenizer):
    ids = tokenizer.encode("東京 🙂 \x00").ids
    assert 3 not in ids


def test_single_text_wrapped_in_bos_eos(tokenizer):
    ids = tokenizer.encode("Return the value.").ids
    assert ids[0] == 0
    assert ids[-1] == 2


def test_pair_separated_like_roberta(tokenizer):
    ids = tokenizer.encode("first", "second").ids
    first = tokenizer.encode("first", add_special_tokens=False).ids
    second = tokenizer.encode("second", add_special_tokens=False).ids
    assert ids == [0, *first, 2, 2, *second, 2]


def test_training_is_deterministic(texts, tokenizer):
    again = train_bpe_tokenizer(texts, vocab_size=VOCAB_SIZE)
    assert again.to_str() == tokenizer.to_str()


def test_transformers_wrapper_pads_with_pad_id(tokenizer):
    wrapped = to_transformers_tokenizer(tokenizer, model_max_length=64)
    batch = wrapped(["short", "a longer text with <mask> inside"], padding=True, return_tensors="pt")
    short_length = int(batch["attention_mask"][0].sum())
    assert batch["input_ids"][0, short_length:].eq(1).all()
    assert batch["attention_mask"][0, short_length:].eq(0).all()
    assert batch["attention_mask"][1].eq(1).all()


def test_transformers_wrapper_special_ids(tokenizer):
    wrapped = to_transformers_tokenizer(tokenizer)
    assert (wrapped.bos_token_id, wrapped.pad_token_id, wrapped.eos_token_id) == (0, 1, 2)
    assert (wrapped.unk_token_id, wrapped.mask_token_id) == (3, 4)
    assert len(wrapped) == VOCAB_SIZE


def test_transformers_wrapper_matches_tokenizer(tokenizer):
    wrapped = to_transformers_tokenizer(tokenizer)
    text = "Return the <mask> value."
    assert wrapped(text)["input_ids"] == tokenizer.encode(text).ids


def test_small_vocab_size_raises(texts):
    with pytest.raises(ValueError, match="vocab_size must be an int >= 261"):
        train_bpe_tokenizer(texts, vocab_size=100)


def test_single_string_texts_raises():
    with pytest.raises(TypeError, match="sequence of strings"):
        train_bpe_tokenizer("one long string")


def test_wrapper_rejects_other_objects():
    with pytest.raises(TypeError, match="tokenizers.Tokenizer"):
        to_transformers_tokenizer("roberta-base")
