import math

import numpy as np
import pytest
import torch
from torch import nn

from helpers.lesion import (
    MAX_BLOCKS,
    check_surviving_fraction,
    path_length_counts,
    single_deletion_accuracies,
    without_blocks,
)
from helpers.resnet import accuracy, mlp


def test_without_blocks_shares_other_layers():
    model = mlp(3, 8, 4, 2)
    lesioned = without_blocks(model, [2])
    assert isinstance(lesioned[2], nn.Identity)
    assert all(lesioned[i] is model[i] for i in (0, 1, 3, 4))
    assert not isinstance(model[2], nn.Identity)


def test_without_blocks_skips_the_block():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3), nn.Linear(3, 3))
    x = torch.randn(2, 3)
    assert torch.equal(without_blocks(model, [1])(x), model[2](model[0](x)))


def test_without_no_blocks_is_same_function():
    torch.manual_seed(0)
    model = mlp(2, 8, 4, 2).eval()
    x = torch.randn(5, 4)
    assert torch.equal(without_blocks(model, [])(x), model(x))


@pytest.mark.parametrize("indices", [[5], [-1], [1.0]])
def test_without_blocks_rejects_invalid_index(indices):
    with pytest.raises(ValueError, match="are not layers of this model"):
        without_blocks(mlp(3, 8, 4, 2), indices)


def test_without_blocks_rejects_non_sequential():
    with pytest.raises(TypeError, match="torch.nn.Sequential"):
        without_blocks(nn.Linear(2, 2), [0])


def test_deleting_a_zero_branch_changes_nothing():
    torch.manual_seed(0)
    model = mlp(3, 8, 4, 3, residual=True).eval()
    with torch.no_grad():
        model[2].linear.weight.zero_()
        model[2].linear.bias.zero_()
    X = torch.randn(64, 4)
    y = torch.randint(0, 3, (64,))
    accuracies = single_deletion_accuracies(model, X, y, [1, 2, 3])
    assert accuracies.shape == (3,)
    assert accuracies[1] == accuracy(model, X, y)


def test_path_counts_are_binomial():
    counts = path_length_counts(16)
    assert counts.sum() == 2**16
    assert counts[8] == math.comb(16, 8)
    assert np.array_equal(counts, counts[::-1])


def test_path_counts_at_limits():
    assert path_length_counts(0).tolist() == [1]
    assert int(path_length_counts(MAX_BLOCKS).sum()) == 2**MAX_BLOCKS
    assert int(path_length_counts(MAX_BLOCKS)[MAX_BLOCKS // 2]) == math.comb(MAX_BLOCKS, MAX_BLOCKS // 2)


@pytest.mark.parametrize("num_blocks", [-1, MAX_BLOCKS + 1, 2.0, True])
def test_path_counts_reject_invalid(num_blocks):
    with pytest.raises(ValueError, match="num_blocks must be an int"):
        path_length_counts(num_blocks)


def test_check_surviving_fraction(capsys):
    assert check_surviving_fraction(1 / 8)
    assert check_surviving_fraction(0.25, num_deleted=2)
    assert not check_surviving_fraction(3 / 16)
    assert not check_surviving_fraction(None)
    output = capsys.readouterr().out
    assert "Correct: 0.125" in output
    assert "Not yet" in output
    assert "No answer yet" in output
