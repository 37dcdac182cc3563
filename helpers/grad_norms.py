"""Per-layer gradient norms of any ``nn.Module`` (introduced in 03, used in 03, 04 and 05).

Read them after ``loss.backward()`` and before ``optimizer.step()`` and
``optimizer.zero_grad()``; with a gradient scaler, after
``scaler.unscale_(optimizer)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

Grouping = int | Callable[[str], str] | None


def group_name(parameter_name: str, group: Grouping) -> str:
    """Return the group a parameter belongs to.

    ``group=None`` keeps each parameter on its own. An int ``k`` keeps the
    first ``k`` dot-separated parts of the name, so ``"layers.3.ffn.output.weight"``
    with ``k=2`` is ``"layers.3"``. A callable maps the name itself and must
    return a string.
    """
    if group is None:
        return parameter_name
    if callable(group):
        key = group(parameter_name)
        if not isinstance(key, str):
            raise TypeError(
                f"group({parameter_name!r}) returned {key!r} of type {type(key).__name__}; "
                "the callable must return a group name as a string"
            )
        return key
    if isinstance(group, bool) or not isinstance(group, int) or group < 1:
        raise ValueError(f"group must be None, a positive int or a callable, got {group!r}")
    return ".".join(parameter_name.split(".")[:group])


def squared_norm(grad: torch.Tensor) -> torch.Tensor:
    """Return the squared L2 norm of a dense or sparse gradient as a float64 scalar on its device."""
    if not isinstance(grad, torch.Tensor):
        raise TypeError(f"grad must be a torch.Tensor, got {type(grad).__name__}")
    if grad.is_sparse:
        # An uncoalesced sparse gradient can hold one index several times, and
        # those entries must be summed before they are squared.
        grad = grad.coalesce().values()
    return torch.linalg.vector_norm(grad.detach(), dtype=torch.float64).pow(2)


def grad_norms(module: nn.Module, group: Grouping = None) -> dict[str, float]:
    """Return the L2 norm of the gradient of each parameter group, in module order.

    A group's norm is the norm of all its parameters' gradients taken together.
    Parameters with ``requires_grad=False`` are skipped; a trainable parameter
    that received no gradient (unused in the forward pass) counts as zero.

    Raises ``RuntimeError`` when no trainable parameter has a gradient: the
    call came before ``backward()`` or after ``zero_grad()`` set them to None.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    trainable = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("module has no trainable parameters; nothing to measure")
    if all(p.grad is None for _, p in trainable):
        raise RuntimeError(
            "no parameter has a gradient: call grad_norms after loss.backward() "
            "and before optimizer.zero_grad()"
        )
    device = trainable[0][1].device
    squared: dict[str, torch.Tensor] = {}
    for name, parameter in trainable:
        key = group_name(name, group)
        total = squared.get(key, torch.zeros((), dtype=torch.float64, device=device))
        if parameter.grad is not None:
            total = total + squared_norm(parameter.grad).to(device)
        squared[key] = total
    # One transfer for all groups: on a GPU, a .item() per group would wait for the device each time.
    norms = torch.stack(list(squared.values())).sqrt().tolist()
    return dict(zip(squared, norms))
