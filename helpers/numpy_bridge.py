"""The NumPy networks of 02 as PyTorch modules with the same weights (introduced in 03).

:func:`to_torch` builds the PyTorch twin of a :mod:`helpers.numpy_nn` network
in float64, so that autograd's gradients can be compared with the
hand-written backward passes. Names line up: the NumPy key ``"2.block.1.W"``
is the PyTorch parameter ``"2.block.1.weight"``. One layout differs: NumPy's
``W`` is ``(in_features, out_features)`` because batches multiply it from the
left (``X @ W``), while ``nn.Linear.weight`` is ``(out_features,
in_features)``, so the weight is transposed on the way.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from helpers import numpy_nn
from helpers.resnet import Residual

ACTIVATIONS = {numpy_nn.ReLU: nn.ReLU, numpy_nn.Tanh: nn.Tanh, numpy_nn.Sigmoid: nn.Sigmoid}
TORCH_NAMES = {"W": "weight", "b": "bias"}


def to_torch(layer: numpy_nn.Layer) -> nn.Module:
    """Return a float64 PyTorch module that computes what the NumPy ``layer`` computes, with copies of its weights."""
    if isinstance(layer, numpy_nn.Linear):
        in_features, out_features = layer.W.shape
        linear = nn.Linear(in_features, out_features, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.W.T))  # (out, in) in PyTorch
            linear.bias.copy_(torch.from_numpy(layer.b))
        return linear
    if type(layer) in ACTIVATIONS:
        return ACTIVATIONS[type(layer)]()
    if isinstance(layer, numpy_nn.Sequential):
        return nn.Sequential(*(to_torch(inner) for inner in layer.layers))
    if isinstance(layer, numpy_nn.Residual):
        return Residual(to_torch(layer.block), scale=layer.scale)
    if type(layer) is numpy_nn.Layer:
        return nn.Identity()
    raise TypeError(f"no PyTorch twin for {type(layer).__name__}; pass a network built from helpers.numpy_nn layers")


def grads_as_numpy(module: nn.Module) -> dict[str, np.ndarray]:
    """Return the ``.grad`` of each parameter under its NumPy key and in NumPy's layout (``dW`` as ``(in, out)``).

    Raises ``RuntimeError`` for a parameter without a gradient: call it after ``backward()``.
    """
    numpy_names = {torch_name: numpy_name for numpy_name, torch_name in TORCH_NAMES.items()}
    grads = {}
    for name, parameter in module.named_parameters():
        if parameter.grad is None:
            raise RuntimeError(f"parameter {name!r} has no gradient; call loss.backward() first")
        prefix, _, leaf = name.rpartition(".")
        key = f"{prefix}.{numpy_names[leaf]}" if prefix else numpy_names[leaf]
        grad = parameter.grad.detach().cpu().double().numpy()
        grads[key] = grad.T if leaf == "weight" else grad
    return grads
