"""Tests for helpers.corpus: the standard-library docstring corpus and block packing."""

import pytest
import torch

from helpers.corpus import STDLIB_MODULES, module_source_path, pack_sequences, stdlib_docstrings


def test_stdlib_docstrings_repeat_exactly():
    first = stdlib_docstrings(["json", "textwrap"])
    second = stdlib_docstrings(["json", "textwrap"])
    assert first == second
    assert len(first) > 10


def test_stdlib_docstrings_are_english_prose():
    text = " ".join(stdlib_docstrings(["json"]))
    assert "Return" in text or "return" in text
    assert " the " in text


def test_every_listed_module_has_source():
    for name in STDLIB_MODULES:
        assert module_source_path(name).suffix == ".py", name


def test_module_list_is_sorted():
    assert list(STDLIB_MODULES) == sorted(STDLIB_MODULES)


def test_frozen_module_source_found():
    # os is frozen into CPython 3.11+, so its import spec names no file.
    assert module_source_path("os").name == "os.py"


def test_unknown_module_raises():
    with pytest.raises(ValueError, match="no Python source file"):
        module_source_path("no_such_module_here")


def test_dotted_module_name_raises():
    with pytest.raises(ValueError, match="top-level module name"):
        module_source_path("os.path")


def test_single_string_modules_raises():
    with pytest.raises(ValueError, match="sequence of module names"):
        stdlib_docstrings("json")


def test_pack_sequences_block_layout():
    documents = [[10, 11, 12], [20, 21], [30, 31, 32, 33]]
    blocks = pack_sequences(documents, seq_len=5, bos_token_id=0, eos_token_id=2)
    # Stream: 10 11 12 </s> 20 21 </s> 30 31 32 33 </s> -> 4 blocks of 3 content tokens.
    expected = torch.tensor(
        [[0, 10, 11, 12, 2], [0, 2, 20, 21, 2], [0, 2, 30, 31, 2], [0, 32, 33, 2, 2]]
    )
    assert torch.equal(blocks, expected)


def test_pack_sequences_drops_partial_tail():
    blocks = pack_sequences([[5] * 10], seq_len=6, bos_token_id=0, eos_token_id=2)
    assert blocks.shape == (2, 6)


def test_pack_sequences_too_little_text_raises():
    with pytest.raises(ValueError, match="fewer than one block"):
        pack_sequences([[5]], seq_len=64, bos_token_id=0, eos_token_id=2)


def test_pack_sequences_tiny_seq_len_raises():
    with pytest.raises(ValueError, match="seq_len must be an int >= 3"):
        pack_sequences([[5, 6, 7]], seq_len=2, bos_token_id=0, eos_token_id=2)
