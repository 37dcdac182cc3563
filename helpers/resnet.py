"""Residual and plain networks in PyTorch: convolutional and MLP (introduced in 03).

Every builder takes ``residual=True/False``, and the plain network is the
residual one with its shortcuts taken away, so that a comparison changes only
the shortcut. For one seed, :func:`mlp` gives both the same initial weights;
:func:`conv_net`'s residual version also has projection shortcuts, whose
initialisation shifts the random draws of the layers after them.

- :class:`ResidualBlock` is the basic block of He et al. (2015), "Deep
  Residual Learning for Image Recognition", arXiv:1512.03385: two 3x3
  convolutions with batch normalisation, and a projection shortcut (a 1x1
  convolution with batch normalisation) where the block changes the shape.
- :class:`PreActivationBlock` is the MLP form of the pre-activation block of
  He et al. (2016), "Identity Mappings in Deep Residual Networks",
  arXiv:1603.05027: ``x + Linear(ReLU(BN(x)))``, so nothing follows the
  addition and the shortcut is an exact identity.
- :class:`Residual` wraps any module as ``x + scale * block(x)``, the PyTorch
  twin of :class:`helpers.numpy_nn.Residual`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_residual(residual: bool) -> None:
    if not isinstance(residual, bool):
        raise TypeError(f"residual must be True or False, got {residual!r}")


class Residual(nn.Module):
    """``y = x + scale * block(x)``: the block's output is added to a shortcut that copies ``x``."""

    def __init__(self, block: nn.Module, scale: float = 1.0) -> None:
        super().__init__()
        if not isinstance(block, nn.Module):
            raise TypeError(f"block must be a torch.nn.Module, got {type(block).__name__}")
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
            raise ValueError(f"scale must be a finite number, got {scale!r}")
        self.block = block
        self.scale = float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        branch = self.block(x)
        return shortcut + self.scale * branch  # the residual addition


class ResidualBlock(nn.Module):
    """He et al.'s (2015) basic block: conv-BN-ReLU-conv-BN, plus the shortcut, then ReLU.

    The shortcut is the identity when the block keeps the shape. A block that
    changes the number of channels, or halves the height and width with
    ``stride=2``, can no longer add ``x`` as it is. Its shortcut is then a 1x1
    convolution with the same stride followed by batch normalisation (their
    option B). With ``residual=False`` the block has no shortcut and is one
    stage of a plain CNN.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, residual: bool = True) -> None:
        super().__init__()
        _check_positive_int("in_channels", in_channels)
        _check_positive_int("out_channels", out_channels)
        if isinstance(stride, bool) or not isinstance(stride, int) or stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride!r}")
        _check_residual(residual)
        self.residual = residual
        # No bias in a convolution that batch normalisation follows: BN's shift replaces it.
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if residual and (stride != 1 or in_channels != out_channels):
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out = out + self.shortcut(x)  # the residual addition
        return F.relu(out)


def conv_net(num_blocks: int, width: int = 8, residual: bool = True, num_classes: int = 10) -> nn.Sequential:
    """Build a small ResNet (or, with ``residual=False``, a plain CNN) for 1-channel 8x8 images.

    The layers are a 3x3 stem convolution with BN and ReLU, ``num_blocks``
    blocks of ``width`` channels at 8x8, ``num_blocks`` blocks of
    ``2 * width`` channels at 4x4 (the first with stride 2), global average
    pooling and a linear classifier. That makes ``4 * num_blocks + 2``
    weighted layers, counted as He et al. count them without the projection,
    so 8 blocks give 34 layers.
    """
    _check_positive_int("num_blocks", num_blocks)
    _check_positive_int("width", width)
    _check_positive_int("num_classes", num_classes)
    _check_residual(residual)
    layers: list[nn.Module] = [nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    in_channels = width
    for channels, stride in ((width, 1), (2 * width, 2)):
        for index in range(num_blocks):
            layers.append(ResidualBlock(in_channels, channels, stride if index == 0 else 1, residual))
            in_channels = channels
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_channels, num_classes)]
    return nn.Sequential(*layers)


class PreActivationBlock(nn.Module):
    """``x + Linear(ReLU(BN(x)))``, or ``Linear(ReLU(BN(x)))`` with ``residual=False``."""

    def __init__(self, width: int, residual: bool = True) -> None:
        super().__init__()
        _check_positive_int("width", width)
        _check_residual(residual)
        self.residual = residual
        self.norm = nn.BatchNorm1d(width)
        self.linear = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.linear(F.relu(self.norm(x)))
        if self.residual:
            return x + branch  # the residual addition
        return branch


def mlp(num_blocks: int, width: int, in_features: int, out_features: int, residual: bool = True) -> nn.Sequential:
    """Build an MLP with batch normalisation: stem, ``num_blocks`` pre-activation blocks, head.

    Index 0 is the stem ``Linear(in_features, width)``, BN, ReLU; indices
    ``1 .. num_blocks`` are :class:`PreActivationBlock`; the last index is
    the head BN, ReLU, ``Linear(width, out_features)``. Replacing block ``i``
    with ``nn.Identity()`` deletes it, as in the lesion study.
    """
    if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks < 0:
        raise ValueError(f"num_blocks must be an int >= 0, got {num_blocks!r}")
    _check_positive_int("width", width)
    _check_positive_int("in_features", in_features)
    _check_positive_int("out_features", out_features)
    _check_residual(residual)
    stem = nn.Sequential(nn.Linear(in_features, width), nn.BatchNorm1d(width), nn.ReLU())
    blocks = [PreActivationBlock(width, residual) for _ in range(num_blocks)]
    head = nn.Sequential(nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, out_features))
    return nn.Sequential(stem, *blocks, head)


def fit(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    lr: float = 3e-3,
    batch_size: int = 64,
    seed: int = 0,
) -> list[float]:
    """Train a classifier with Adam and cross-entropy; return each epoch's mean training loss.

    Each epoch shuffles the examples with a generator seeded by ``seed`` and
    the epoch number, and drops the last incomplete batch, because batch
    normalisation is noisy on a batch of a few examples.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} examples but y has {len(y)}; pass one label per example")
    _check_positive_int("epochs", epochs)
    _check_positive_int("batch_size", batch_size)
    if batch_size > len(X):
        raise ValueError(f"batch_size={batch_size} exceeds the {len(X)} examples; pass at most {len(X)}")
    if not (isinstance(lr, float) and lr > 0):
        raise ValueError(f"lr must be a positive float, got {lr!r}")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    curve = []
    model.train()
    for epoch in range(epochs):
        generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
        order = torch.randperm(len(X), generator=generator).to(X.device)
        losses = []
        for start in range(0, len(X) - batch_size + 1, batch_size):
            batch = order[start : start + batch_size]
            loss = F.cross_entropy(model(X[batch]), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        curve.append(sum(losses) / len(losses))
    model.eval()
    return curve


@torch.no_grad()
def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Return the fraction of examples whose largest logit is the label, with the model in eval mode."""
    model.eval()
    return (model(X).argmax(dim=1) == y).double().mean().item()


def check_residual_block(block_class: type) -> bool:
    """Check an exercise's residual block: ``block_class(in_channels, out_channels, stride)``.

    A block from 8 to 16 channels with stride 2 must map ``(4, 8, 8, 8)`` to
    ``(4, 16, 4, 4)``. A block that keeps the shape must return its
    non-negative input when every convolution weight is zero, because then
    its branch is zero and its shortcut an identity. Prints a verdict and
    returns True when both hold.
    """
    torch.manual_seed(0)
    x = torch.relu(torch.randn(4, 8, 8, 8))
    try:
        output = block_class(8, 16, stride=2)(x)
        same_shape = block_class(8, 8, stride=1)
    except Exception as error:  # the exercise's code may fail in any way; report it instead of stopping
        print(f"Not yet: building or calling the block raised {type(error).__name__}: {error}")
        return False
    if not isinstance(output, torch.Tensor):
        print(f"No answer yet: forward returned {type(output).__name__}; make it return the block's output tensor.")
        return False
    if tuple(output.shape) != (4, 16, 4, 4):
        print(f"Not yet: from 8 to 16 channels with stride 2 the output should be (4, 16, 4, 4), got {tuple(output.shape)}.")
        return False
    with torch.no_grad():
        for module in same_shape.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.zero_()
        output = same_shape(x)
    if not torch.allclose(output, x, atol=1e-6):
        print("Not yet: with zero convolution weights, batch normalisation makes the branch 0, "
              "so a block that keeps the shape should return its non-negative input unchanged.")
        return False
    print("Correct: the projection fixes the shape, and the identity shortcut passes x through.")
    return True
