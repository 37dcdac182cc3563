"""Lesion study: delete blocks from a trained network and measure the accuracy left (introduced in 03).

Veit, Wilber and Belongie (2016), "Residual Networks Behave Like Ensembles of
Relatively Shallow Networks", arXiv:1605.06431, delete single blocks of a
trained ResNet at test time and find that the error barely changes, while
deleting one layer of a plain VGG network drops it to chance. Their reading:
a residual network of ``n`` blocks is a collection of ``2 ** n`` paths of
different lengths, and deleting a block removes only half of the paths.
"""

from __future__ import annotations

from collections.abc import Iterable
from math import comb

import numpy as np
import torch
from torch import nn

from helpers.resnet import accuracy

# The counts are int64, and so is their sum 2 ** num_blocks, which must stay below 2 ** 63.
MAX_BLOCKS = 62


def without_blocks(model: nn.Sequential, indices: Iterable[int]) -> nn.Sequential:
    """Return a network that skips the layers at ``indices`` of ``model`` and shares all the others.

    The deleted layers become ``nn.Identity()``, so each must map its input
    to an output of the same shape. ``model`` itself is not changed.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be a torch.nn.Sequential, got {type(model).__name__}")
    deleted = set(indices)
    invalid = sorted(index for index in deleted if not (isinstance(index, int) and 0 <= index < len(model)))
    if invalid:
        raise ValueError(f"indices {invalid} are not layers of this model; pass ints from 0 to {len(model) - 1}")
    return nn.Sequential(*(nn.Identity() if index in deleted else layer for index, layer in enumerate(model)))


def single_deletion_accuracies(
    model: nn.Sequential, X: torch.Tensor, y: torch.Tensor, indices: Iterable[int]
) -> np.ndarray:
    """Return the accuracy of ``model`` with each layer of ``indices`` deleted on its own, in that order."""
    return np.array([accuracy(without_blocks(model, [index]), X, y) for index in indices])


def path_length_counts(num_blocks: int) -> np.ndarray:
    """Return how many of the ``2 ** num_blocks`` paths through a residual network pass through ``k`` blocks.

    Each block is either taken or skipped by a path, so ``comb(num_blocks, k)``
    paths have length ``k``, for ``k = 0 .. num_blocks``.
    """
    if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or not 0 <= num_blocks <= MAX_BLOCKS:
        raise ValueError(f"num_blocks must be an int from 0 to {MAX_BLOCKS}, got {num_blocks!r}")
    return np.array([comb(num_blocks, k) for k in range(num_blocks + 1)], dtype=np.int64)


def check_surviving_fraction(answer: float | None, num_deleted: int = 3) -> bool:
    """Check the fraction of a residual network's paths that survive deleting ``num_deleted`` blocks."""
    expected = 0.5**num_deleted
    if answer is None:
        print("No answer yet: replace None with your answer.")
        return False
    if isinstance(answer, (int, float, np.floating)) and not isinstance(answer, bool) and np.isclose(answer, expected):
        print(f"Correct: {expected:.4g}. A path survives when it takes the shortcut at every deleted block.")
        return True
    print(f"Not yet: {answer!r} is not right. Hint: a path survives only if it skips every deleted block.")
    return False
