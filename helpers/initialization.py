"""Weight initialisation and the per-layer factor it sets (introduced in 01).

Three schemes for a weight matrix ``W`` of shape ``(fan_out, fan_in)``:

- ``"standard"``: U[-1/sqrt(fan_in), 1/sqrt(fan_in)], variance 1/(3 fan_in), the
  "standard" initialisation of Glorot and Bengio (2010) and PyTorch's default
  for ``nn.Linear`` weights;
- ``"xavier"``: U[-a, a] with a = sqrt(6 / (fan_in + fan_out)), variance
  2/(fan_in + fan_out), their "normalised" initialisation;
- ``"he"``: N(0, 2/fan_in), He et al. (2015), for ReLU layers;
- ``"orthogonal"``: a random (semi-)orthogonal matrix, Saxe et al. (2014), whose
  singular values are all exactly 1.

Backpropagating through a layer multiplies the gradient's mean square by
``fan_in Var(W)`` for a linear layer and by half that for a ReLU layer, whose
derivative is 0 for about half the units. The square root of that number is
the per-layer factor, and a product of ``L`` such factors is what vanishes or
explodes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

INITS = ("standard", "xavier", "he", "orthogonal")
FACTOR_ACTIVATIONS = ("linear", "relu", "tanh")


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_init(init: str) -> None:
    if not isinstance(init, str):
        raise TypeError(f"init must be a string, one of {INITS}, got {init!r}")
    if init not in INITS:
        raise ValueError(f"init={init!r} is not supported; use one of {INITS}")


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be a non-negative int, got {seed!r}")
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed!r}")


def _as_device(device: torch.device | str) -> torch.device:
    if not isinstance(device, (torch.device, str)):
        raise TypeError(f"device must be a torch.device or a name such as 'cpu' or 'cuda', got {device!r}")
    try:
        device = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device={device!r} is not a device name; use cpu, cuda or cuda:N") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} but torch finds no CUDA device; pass 'cpu'")
    return device


def init_weight_(weight: torch.Tensor, init: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``weight`` (shape ``(fan_out, fan_in)``) in place with the scheme ``init`` and return it."""
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a 2-D torch.Tensor (fan_out, fan_in), got {type(weight).__name__}")
    if weight.dim() != 2 or weight.numel() == 0:
        raise ValueError(
            f"weight must be a non-empty 2-D tensor (fan_out, fan_in), got shape {tuple(weight.shape)}"
        )
    if not weight.is_floating_point():
        raise TypeError(f"weight must have a floating-point dtype, got {weight.dtype}; create it with dtype=torch.float32")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {generator!r}")
    _check_init(init)
    if init == "standard":
        bound = 1.0 / math.sqrt(weight.shape[1])
        return nn.init.uniform_(weight, -bound, bound, generator=generator)
    if init == "xavier":
        return nn.init.xavier_uniform_(weight, generator=generator)
    if init == "he":
        return nn.init.kaiming_normal_(weight, nonlinearity="relu", generator=generator)
    if init == "orthogonal":
        return nn.init.orthogonal_(weight, generator=generator)
    raise ValueError(f"init={init!r} is not supported; use one of {INITS}")


def weight_variance(init: str, fan_in: int, fan_out: int) -> float:
    """Return the variance of one weight under the scheme ``init``."""
    _check_init(init)
    _check_positive_int("fan_in", fan_in)
    _check_positive_int("fan_out", fan_out)
    variances = {
        "standard": 1 / (3 * fan_in),
        "xavier": 2 / (fan_in + fan_out),
        "he": 2 / fan_in,
        "orthogonal": 1 / max(fan_in, fan_out),  # rows or columns of unit norm
    }
    return variances[init]


def per_layer_factor(init: str, activation: str, width: int) -> float:
    """Return the theoretical per-layer factor ``sqrt(width Var(W) c)`` of a square layer.

    ``c`` is 1 for a linear layer and 1/2 for ReLU. tanh has no closed form,
    because its derivative depends on the activations, so it is rejected.
    """
    halving = {"linear": 1.0, "relu": 0.5}
    _check_positive_int("width", width)
    if not isinstance(activation, str) or activation not in halving:
        raise ValueError(f"activation={activation!r} has no closed-form factor; use 'linear' or 'relu'")
    return math.sqrt(width * weight_variance(init, width, width) * halving[activation])


def jacobian_product_singular_values(
    init: str,
    activation: str,
    width: int,
    depths: Iterable[int],
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> dict[int, np.ndarray]:
    """Return the singular values of ``J_L ... J_1`` at each depth ``L`` in ``depths``.

    Layer ``l`` maps ``x_l`` to ``phi(W_l x_l)`` with a fresh ``width x width``
    matrix ``W_l``, so its Jacobian is ``J_l = diag(phi'(W_l x_l)) W_l``. The
    product is taken at one random input, in float64.
    """
    _check_init(init)
    if not isinstance(activation, str) or activation not in FACTOR_ACTIVATIONS:
        raise ValueError(f"activation={activation!r} is not supported; use one of {FACTOR_ACTIVATIONS}")
    _check_positive_int("width", width)
    depths = _sorted_depths(depths)
    _check_seed(seed)
    device = _as_device(device)
    generator = torch.Generator(device).manual_seed(seed)
    x = torch.randn(width, generator=generator, dtype=torch.float64, device=device)
    jacobian = torch.eye(width, dtype=torch.float64, device=device)
    singular_values = {}
    for layer in range(1, depths[-1] + 1):
        W = init_weight_(torch.empty(width, width, dtype=torch.float64, device=device), init, generator)
        z = W @ x
        if activation == "linear":
            x, derivative = z, torch.ones_like(z)
        elif activation == "relu":
            x, derivative = torch.relu(z), (z > 0).double()
        else:
            x = torch.tanh(z)
            derivative = 1 - x**2
        jacobian = derivative[:, None] * (W @ jacobian)  # J_l (J_{l-1} ... J_1)
        if layer in depths:
            singular_values[layer] = torch.linalg.svdvals(jacobian).cpu().numpy()
    return singular_values


def _sorted_depths(depths: Iterable[int]) -> list[int]:
    if isinstance(depths, (str, bytes)) or not isinstance(depths, Iterable):
        raise TypeError(f"depths must be a list of positive ints such as [1, 10, 20], got {depths!r}")
    depths = list(depths)
    bad = [depth for depth in depths if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1]
    if not depths or bad:
        raise ValueError(f"depths must be a non-empty list of positive ints such as [1, 10, 20], got {depths!r}")
    return sorted({int(depth) for depth in depths})


def singular_values(matrix: np.ndarray) -> np.ndarray:
    """Return the singular values of a square ``matrix`` as square roots of the eigenvalues of ``M M^T``.

    On a 2-core CPU, NumPy's symmetric eigensolver took about half the time of
    an SVD for a 1000 x 1000 matrix. Singular values below about 1e-8 times the largest lose
    their accuracy, which does not matter for their mean.
    """
    matrix = np.asarray(matrix)
    if not np.issubdtype(matrix.dtype, np.number):
        raise TypeError(f"matrix must be a square array of real numbers, got dtype {matrix.dtype}")
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.size == 0:
        raise ValueError(f"matrix must be a non-empty square 2-D array, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("matrix contains NaN or infinite entries; pass a finite matrix")
    eigenvalues = np.linalg.eigvalsh(matrix @ matrix.T)
    return np.sqrt(np.clip(eigenvalues, 0.0, None))


def glorot_bengio_statistics(
    init: str,
    *,
    num_layers: int = 5,
    width: int = 1000,
    batch_size: int = 256,
    num_classes: int = 10,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> dict[str, np.ndarray]:
    """Measure a tanh network at initialisation, as in Glorot and Bengio (2010), Section 4.2.

    ``num_layers`` tanh layers of ``width`` units (biases 0), a linear output
    layer and softmax cross-entropy on random labels. Inputs are uniform in
    [0, 1], like pixel intensities. Returns, for each hidden layer ``l``:
    ``activation_std`` (of tanh(s_l)), ``backprop_std`` (of dL/ds_l, the
    back-propagated gradient), ``weight_grad_std`` (of dL/dW_l),
    ``tanh_derivative_ms`` (the mean of tanh'(s_l)^2) and
    ``jacobian_mean_singular_value`` (of d tanh(s_l) / d tanh(s_{l-1}) for the
    first example, for layers 2 and up; layer 1 gets NaN because its input is
    the data).
    """
    if init not in ("standard", "xavier"):
        raise ValueError(f"init={init!r} is not one of Glorot and Bengio's schemes; use 'standard' or 'xavier'")
    for name, value in (("num_layers", num_layers), ("width", width), ("batch_size", batch_size), ("num_classes", num_classes)):
        _check_positive_int(name, value)
    _check_seed(seed)
    device = _as_device(device)
    generator = torch.Generator(device).manual_seed(seed)
    layers = [nn.Linear(width, width, device=device) for _ in range(num_layers)]
    output_layer = nn.Linear(width, num_classes, device=device)
    for layer in [*layers, output_layer]:
        init_weight_(layer.weight.data, init, generator)
        nn.init.zeros_(layer.bias)
    X = torch.rand(batch_size, width, generator=generator, device=device)
    y = torch.randint(0, num_classes, (batch_size,), generator=generator, device=device)

    hidden, pre_activations, activations = X, [], []
    for layer in layers:
        s = layer(hidden)
        s.retain_grad()  # keep dL/ds_l, the back-propagated gradient
        hidden = torch.tanh(s)
        pre_activations.append(s)
        activations.append(hidden)
    F.cross_entropy(output_layer(hidden), y).backward()

    mean_singular_value = [math.nan]
    for l in range(1, num_layers):
        derivative = 1 - activations[l][0].detach() ** 2
        jacobian = (derivative[:, None] * layers[l].weight.detach()).double().cpu().numpy()
        mean_singular_value.append(float(np.mean(singular_values(jacobian))))
    return {
        "activation_std": np.array([h.std().item() for h in activations]),
        "backprop_std": np.array([s.grad.std().item() for s in pre_activations]),
        "weight_grad_std": np.array([layer.weight.grad.std().item() for layer in layers]),
        "tanh_derivative_ms": np.array([((1 - h.detach() ** 2) ** 2).mean().item() for h in activations]),
        "jacobian_mean_singular_value": np.array(mean_singular_value),
    }
