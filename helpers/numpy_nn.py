"""A NumPy layer library with hand-written backpropagation (introduced in 02, used in 03).

Each layer keeps its ``forward`` and ``backward`` side by side, so one step of
the chain rule lives in one place:

- ``forward(X)`` computes the output of a batch and stores what ``backward``
  needs;
- ``backward(dY)`` receives ``dY = dL/dY`` for the last forward's output,
  stores the gradients of the layer's parameters (``dW``, ``db``) and returns
  ``dX = dL/dX``. Each call overwrites the stored gradients; nothing
  accumulates, so no ``zero_grad`` is needed.

Parameters and their gradients are attributes (``W`` and ``dW``, ``b`` and
``db``). ``params()`` and ``grads()`` return them as two dicts with the same
keys; a ``Sequential`` prefixes the keys with the layer's index, as PyTorch's
``named_parameters`` does (``"2.block.1.W"``). Optimizers update the arrays in
place, so references to them stay valid.

Arrays are float64 and batches are rows: ``X`` has shape ``(batch, features)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

INITS = ("he", "xavier", "standard")
ACTIVATIONS = ("relu", "tanh", "sigmoid")


def _as_float_array(name: str, X: np.ndarray) -> np.ndarray:
    if X is None or isinstance(X, (str, bytes)):  # np.asarray would turn None into nan
        raise TypeError(f"{name} must be an array of real numbers, got {X!r}")
    try:
        return np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of real numbers, got {type(X).__name__}") from error


def _as_batch(name: str, X: np.ndarray) -> np.ndarray:
    X = _as_float_array(name, X)
    if X.ndim != 2:
        raise ValueError(f"{name} must have shape (batch, features), got shape {X.shape}; reshape it with X.reshape(len(X), -1)")
    return X


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {choices}, got {value!r}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        if rng is not None and rng < 0:
            raise ValueError(f"rng must be a non-negative int seed, a np.random.Generator or None, got {rng!r}")
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"rng must be a np.random.Generator, an int seed or None, got {type(rng).__name__}")


class Layer:
    """Base class: a layer without parameters that passes its input through."""

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.forward(X)

    def forward(self, X: np.ndarray) -> np.ndarray:
        return X

    def backward(self, dY: np.ndarray) -> np.ndarray:
        return dY

    def params(self) -> dict[str, np.ndarray]:
        """Return the trainable arrays by name (empty for a layer without parameters)."""
        return {}

    def grads(self) -> dict[str, np.ndarray]:
        """Return the gradients of the last backward, with the keys of ``params()``."""
        return {}

    def _saved(self, name: str):
        value = getattr(self, name, None)
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward was called before forward; call forward(X) first")
        return value


class Linear(Layer):
    """Affine map ``Y = X W + b`` with ``W`` shaped (in_features, out_features).

    ``init`` sets the distribution of ``W`` (biases start at zero):

    - ``"he"``: normal with std ``sqrt(2 / in_features)``, which keeps the
      signal's scale through ReLU layers (He et al. 2015, arXiv:1502.01852);
    - ``"xavier"``: uniform on ``[-a, a]`` with ``a = sqrt(6 / (in + out))``
      (Glorot and Bengio 2010, "normalized initialization");
    - ``"standard"``: uniform on ``[-1/sqrt(in), 1/sqrt(in)]``, the heuristic
      Glorot and Bengio compare against.
    """

    def __init__(
        self, in_features: int, out_features: int, init: str = "he", rng: np.random.Generator | int | None = None
    ) -> None:
        _check_positive_int("in_features", in_features)
        _check_positive_int("out_features", out_features)
        _check_choice("init", init, INITS)
        rng = _as_generator(rng)
        shape = (in_features, out_features)
        if init == "he":
            self.W = rng.normal(0.0, math.sqrt(2.0 / in_features), size=shape)
        elif init == "xavier":
            limit = math.sqrt(6.0 / (in_features + out_features))
            self.W = rng.uniform(-limit, limit, size=shape)
        else:
            limit = 1.0 / math.sqrt(in_features)
            self.W = rng.uniform(-limit, limit, size=shape)
        self.b = np.zeros(out_features)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.X = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        X = _as_batch("X", X)
        if X.shape[1] != self.W.shape[0]:
            raise ValueError(f"X has {X.shape[1]} features but this Linear expects {self.W.shape[0]}")
        self.X = X
        return X @ self.W + self.b

    def backward(self, dY: np.ndarray) -> np.ndarray:
        X = self._saved("X")
        if np.shape(dY) != (X.shape[0], self.W.shape[1]):
            raise ValueError(f"dY must have shape {(X.shape[0], self.W.shape[1])}, like the last output, got shape {np.shape(dY)}")
        self.dW = X.T @ dY  # sums over the batch: dY already carries the loss's 1/batch
        self.db = dY.sum(axis=0)
        return dY @ self.W.T

    def params(self) -> dict[str, np.ndarray]:
        return {"W": self.W, "b": self.b}

    def grads(self) -> dict[str, np.ndarray]:
        return {"W": self.dW, "b": self.db}


class ReLU(Layer):
    """``max(0, x)``; its derivative at 0 is taken as 0."""

    def forward(self, X: np.ndarray) -> np.ndarray:
        X = _as_float_array("X", X)
        self.mask = X > 0
        return np.where(self.mask, X, 0.0)

    def backward(self, dY: np.ndarray) -> np.ndarray:
        return dY * self._saved("mask")  # d max(0, x)/dx = 1 where x > 0, else 0


class Tanh(Layer):
    """``tanh(x)``."""

    def forward(self, X: np.ndarray) -> np.ndarray:
        _as_float_array("X", X)  # only a check: np.tanh keeps the dtype of X
        self.Y = np.tanh(X)
        return self.Y

    def backward(self, dY: np.ndarray) -> np.ndarray:
        return dY * (1.0 - self._saved("Y") ** 2)  # tanh' = 1 - tanh^2


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Return ``1 / (1 + exp(-z))`` without overflow for any finite ``z``.

    ``exp`` only ever sees ``-|z|``, which is at most 0: for ``z >= 0`` the
    usual formula is used, for ``z < 0`` the equal ``exp(z) / (1 + exp(z))``.
    """
    z = _as_float_array("z", z)
    e = np.exp(-np.abs(z))  # in [0, 1], so it cannot overflow; underflow to 0 raises no warning
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Sigmoid(Layer):
    """The logistic sigmoid, computed without overflow."""

    def forward(self, X: np.ndarray) -> np.ndarray:
        self.Y = sigmoid(_as_float_array("X", X))
        return self.Y

    def backward(self, dY: np.ndarray) -> np.ndarray:
        Y = self._saved("Y")
        return dY * Y * (1.0 - Y)  # sigma' = sigma (1 - sigma), at most 1/4


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse."""

    def __init__(self, layers: Iterable[Layer]) -> None:
        if isinstance(layers, Layer) or not isinstance(layers, Iterable):
            raise TypeError(f"layers must be a list of Layers, got a {type(layers).__name__}; wrap one layer as Sequential([layer])")
        self.layers = list(layers)
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {index} is a {type(layer).__name__}, not a helpers.numpy_nn.Layer")

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]

    def forward(self, X: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def backward(self, dY: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            dY = layer.backward(dY)
        return dY

    def params(self) -> dict[str, np.ndarray]:
        return {f"{i}.{name}": p for i, layer in enumerate(self.layers) for name, p in layer.params().items()}

    def grads(self) -> dict[str, np.ndarray]:
        return {f"{i}.{name}": g for i, layer in enumerate(self.layers) for name, g in layer.grads().items()}


class Residual(Layer):
    """``Y = X + scale * block(X)``: the block's output is added to a shortcut that copies ``X``.

    Backward adds the two paths, ``dX = dY + block.backward(scale * dY)``, so
    the shortcut passes ``dY`` through unchanged whatever the block does.
    ``scale`` is 1 in the textbook block; ``mlp`` uses a smaller one for deep
    stacks (see there).
    """

    def __init__(self, block: Layer, scale: float = 1.0) -> None:
        if not isinstance(block, Layer):
            raise TypeError(f"block must be a helpers.numpy_nn.Layer, got {type(block).__name__}")
        if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)):
            raise TypeError(f"scale must be a finite number, got {scale!r}")
        if not math.isfinite(scale):
            raise ValueError(f"scale must be a finite number, got {scale!r}")
        self.block = block
        self.scale = float(scale)

    def forward(self, X: np.ndarray) -> np.ndarray:
        shortcut = X
        branch = self.block.forward(X)
        if branch.shape != np.shape(X):
            raise ValueError(
                f"the block maps shape {np.shape(X)} to {branch.shape}; a residual block must keep the shape"
            )
        return shortcut + self.scale * branch

    def backward(self, dY: np.ndarray) -> np.ndarray:
        return dY + self.block.backward(self.scale * dY)  # identity path + branch path

    def params(self) -> dict[str, np.ndarray]:
        return {f"block.{name}": p for name, p in self.block.params().items()}

    def grads(self) -> dict[str, np.ndarray]:
        return {f"block.{name}": g for name, g in self.block.grads().items()}


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Return ``log(softmax(logits))`` along the last axis without overflow.

    Subtracting each row's maximum first leaves the result unchanged and keeps
    every ``exp`` argument at most 0.
    """
    logits = _as_float_array("logits", logits)
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise ValueError(f"logits must have at least one class along the last axis, got shape {logits.shape}")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the mean cross-entropy over the batch and its gradient ``dlogits``.

    ``logits`` has shape (batch, num_classes) and ``y`` holds integer class
    labels. Because the loss is a mean, ``dlogits = (softmax - one_hot) / batch``.
    """
    logits = _as_batch("logits", logits)
    if logits.shape[0] == 0 or logits.shape[1] == 0:
        raise ValueError(f"logits has shape {logits.shape}; pass at least one example and one class")
    y = np.asarray(y)
    if y.shape != (logits.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be integer labels of shape ({logits.shape[0]},), got {y.dtype} of shape {y.shape}")
    if y.min() < 0 or y.max() >= logits.shape[1]:
        raise ValueError(f"labels must lie in [0, {logits.shape[1]}), got values from {y.min()} to {y.max()}")
    batch = logits.shape[0]
    log_probs = log_softmax(logits)
    loss = -log_probs[np.arange(batch), y].mean()
    dlogits = np.exp(log_probs)
    dlogits[np.arange(batch), y] -= 1.0
    return float(loss), dlogits / batch


def _check_learning_rate(lr: float) -> None:
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating)):
        raise TypeError(f"lr must be a finite number > 0, got {lr!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")


def _named_arrays(model: Layer | Sequence[Layer]) -> list[tuple[np.ndarray, np.ndarray]]:
    if not isinstance(model, (Layer, Iterable)):
        raise TypeError(f"step expects a Layer or a list of layers, got {model!r}")
    layers = [model] if isinstance(model, Layer) else list(model)
    pairs = []
    for layer in layers:
        if not isinstance(layer, Layer):
            raise TypeError(f"step expects a Layer or a list of layers, got a {type(layer).__name__}")
        params, grads = layer.params(), layer.grads()
        pairs.extend((params[name], grads[name]) for name in params)
    return pairs


class SGD:
    """Plain stochastic gradient descent: ``p -= lr * dp``, in place."""

    def __init__(self, lr: float) -> None:
        _check_learning_rate(lr)
        self.lr = lr

    def step(self, model: Layer | Sequence[Layer]) -> None:
        for param, grad in _named_arrays(model):
            param -= self.lr * grad


class Adam:
    """Adam with bias correction (Kingma and Ba 2014, arXiv:1412.6980), in place.

    The moment estimates are kept per parameter array, so call ``step`` on the
    same model every time.
    """

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        _check_learning_rate(lr)
        real = (int, float, np.integer, np.floating)
        if not isinstance(betas, (tuple, list, np.ndarray)) or not all(isinstance(beta, real) and not isinstance(beta, bool) for beta in betas):
            raise TypeError(f"betas must be a tuple of two numbers such as (0.9, 0.999), got {betas!r}")
        if len(betas) != 2 or not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        if isinstance(eps, bool) or not isinstance(eps, real):
            raise TypeError(f"eps must be a small positive number such as 1e-8, got {eps!r}")
        if not (math.isfinite(eps) and eps > 0):
            raise ValueError(f"eps must be a finite number > 0 such as 1e-8, got {eps!r}")
        self.lr, self.betas, self.eps = lr, tuple(betas), eps
        self.t = 0
        self.moments: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def step(self, model: Layer | Sequence[Layer]) -> None:
        beta1, beta2 = self.betas
        self.t += 1
        for param, grad in _named_arrays(model):
            # Keyed by id; the stored reference to param keeps that id from being reused.
            _, m, v = self.moments.setdefault(id(param), (param, np.zeros_like(param), np.zeros_like(param)))
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad**2
            m_hat = m / (1 - beta1**self.t)
            v_hat = v / (1 - beta2**self.t)
            param -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def _activation(name: str) -> Layer:
    return {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}[name]()


def mlp(
    depth: int,
    width: int,
    in_features: int,
    num_classes: int,
    residual: bool = False,
    *,
    activation: str = "relu",
    init: str = "he",
    branch_scale: float | None = None,
    rng: np.random.Generator | int | None = None,
) -> Sequential:
    """Build an MLP with ``depth`` Linear layers, plain or residual.

    The layers are ``Linear(in_features, width)``, then ``depth - 2`` hidden
    blocks ``Sequential([activation, Linear(width, width)])``, then
    ``Sequential([activation, Linear(width, num_classes)])``. With
    ``residual=True`` each hidden block is wrapped in
    ``Residual(block, scale=branch_scale)``. Take the shortcuts away and you
    get exactly the plain network: the layers and the random draws are the same.

    ``branch_scale`` defaults to ``1 / sqrt(depth - 2)``. With He init an
    unscaled block doubles the expected squared norm of the signal, forward
    and backward, so ``depth - 2`` blocks would multiply it by
    ``2 ** (depth - 2)``. With the scale, the factor is
    ``(1 + 1 / (depth - 2)) ** (depth - 2)``, which stays below ``e``
    (Hanin and Rolnick 2018, arXiv:1803.01719; Marion et al. 2022,
    arXiv:2206.06929).
    """
    _check_positive_int("in_features", in_features)
    _check_positive_int("width", width)
    _check_positive_int("num_classes", num_classes)
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)):
        raise TypeError(f"depth counts Linear layers and must be an int >= 2, got {depth!r}")
    if depth < 2:
        raise ValueError(f"depth counts Linear layers and must be an int >= 2, got {depth!r}")
    _check_choice("activation", activation, ACTIVATIONS)
    if not isinstance(residual, (bool, np.bool_)):
        raise TypeError(f"residual must be True or False, got {residual!r}")
    if branch_scale is not None and not residual:
        raise ValueError(
            f"branch_scale={branch_scale!r} only applies to residual blocks; pass residual=True or leave branch_scale unset"
        )
    rng = _as_generator(rng)
    num_blocks = depth - 2
    if branch_scale is None:
        branch_scale = 1.0 / math.sqrt(max(num_blocks, 1))

    layers: list[Layer] = [Linear(in_features, width, init=init, rng=rng)]
    for _ in range(num_blocks):
        block = Sequential([_activation(activation), Linear(width, width, init=init, rng=rng)])
        layers.append(Residual(block, scale=branch_scale) if residual else block)
    layers.append(Sequential([_activation(activation), Linear(width, num_classes, init=init, rng=rng)]))
    return Sequential(layers)
