"""Seeding, device selection and the CPU/GPU scale switch (introduced in 00).

Every notebook runs one code path at one of two scales:

- ``"cpu"``: small sizes that finish within the series' budget on a 2-core
  laptop, Binder or CI;
- ``"gpu"``: larger sizes, chosen automatically when a CUDA device is used.

Two environment variables override the automatic choice:

- ``RESIDUAL_DEVICE``: ``cpu``, ``cuda`` or ``cuda:N``;
- ``RESIDUAL_SCALE``: ``cpu`` or ``gpu`` (for example ``cpu`` on a slow GPU,
  or ``gpu`` to try the large sizes on a fast CPU).
"""

from __future__ import annotations

import os
import platform
import random
from typing import TypeVar

import numpy as np
import torch

DEVICE_ENV = "RESIDUAL_DEVICE"
SCALE_ENV = "RESIDUAL_SCALE"
SCALES = ("cpu", "gpu")

T = TypeVar("T")


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's, NumPy's and torch's generators (CUDA included).

    Returns a fresh ``np.random.Generator`` seeded with ``seed``, which new
    NumPy code should prefer over the global NumPy state.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r} of type {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}; pass a smaller non-negative int")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return np.random.default_rng(seed)


def select_device() -> torch.device:
    """Return the device the series runs on: CUDA if available, else the CPU.

    ``RESIDUAL_DEVICE`` overrides the choice; asking for CUDA on a machine
    without it raises an error instead of silently using the CPU.
    """
    requested = os.environ.get(DEVICE_ENV, "").strip().lower()
    if not requested:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError as error:
        raise ValueError(
            f"{DEVICE_ENV}={requested!r} is not a device name; use cpu, cuda or cuda:N"
        ) from error
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"{DEVICE_ENV}={requested!r} is not supported; use cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"{DEVICE_ENV}={requested!r} but torch finds no CUDA device; unset it or use cpu"
        )
    return device


def select_scale(device: torch.device | str | None = None) -> str:
    """Return ``"gpu"`` when ``device`` is a CUDA device, else ``"cpu"``.

    ``RESIDUAL_SCALE`` overrides the choice. ``device`` defaults to
    :func:`select_device`.
    """
    if device is not None:
        device = _as_device(device)  # checked even where RESIDUAL_SCALE decides
    requested = os.environ.get(SCALE_ENV, "").strip().lower()
    if requested:
        if requested not in SCALES:
            raise ValueError(f"{SCALE_ENV}={requested!r} is not a scale; use one of {SCALES}")
        return requested
    if device is None:
        device = select_device()
    return "gpu" if device.type == "cuda" else "cpu"


def _as_device(device: torch.device | str) -> torch.device:
    if not isinstance(device, (torch.device, str)):
        raise TypeError(
            f"device must be a torch.device or a device name such as 'cpu' or 'cuda', got {device!r}"
        )
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device={device!r} is not a device name; use cpu, cuda or cuda:N") from error


def by_scale(cpu: T, gpu: T, scale: str | None = None) -> T:
    """Return ``cpu`` or ``gpu`` for the current scale (or for ``scale``)."""
    scale = select_scale() if scale is None else scale
    if not isinstance(scale, str):
        raise TypeError(f"scale must be one of the strings {SCALES} or None, got {scale!r}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    return gpu if scale == "gpu" else cpu


def environment_report() -> dict[str, str]:
    """Collect the versions, device and scale that a notebook will use."""
    import matplotlib
    import transformers

    device = select_device()
    report = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "matplotlib": matplotlib.__version__,
        "device": str(device),
        "scale": select_scale(device),
    }
    if device.type == "cuda":
        report["gpu"] = torch.cuda.get_device_name(device)
    return report
