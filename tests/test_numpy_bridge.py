import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import numpy_nn
from helpers.numpy_bridge import grads_as_numpy, to_torch
from helpers.resnet import Residual


def batch(rows=32, features=12, classes=4):
    rng = np.random.default_rng(0)
    return rng.normal(size=(rows, features)), rng.integers(0, classes, size=rows)


def gradients_of_both(numpy_net, X, y):
    loss, dlogits = numpy_nn.softmax_cross_entropy(numpy_net.forward(X), y)
    dX = numpy_net.backward(dlogits)
    torch_net = to_torch(numpy_net)
    X_torch = torch.tensor(X, requires_grad=True)
    torch_loss = F.cross_entropy(torch_net(X_torch), torch.tensor(y))
    torch_loss.backward()
    return (loss, numpy_net.grads(), dX), (torch_loss.item(), grads_as_numpy(torch_net), X_torch.grad.numpy())


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("residual", [True, False])
def test_gradients_match_numpy(activation, residual):
    X, y = batch()
    numpy_net = numpy_nn.mlp(6, 16, 12, 4, residual=residual, activation=activation, rng=1)
    (loss, grads, dX), (torch_loss, torch_grads, torch_dX) = gradients_of_both(numpy_net, X, y)
    assert abs(loss - torch_loss) <= 1e-10
    assert list(grads) == list(torch_grads)
    for name in grads:
        assert torch_grads[name].shape == grads[name].shape, name
        assert np.max(np.abs(torch_grads[name] - grads[name])) <= 1e-10, name
    assert np.max(np.abs(torch_dX - dX)) <= 1e-10


def test_weights_are_transposed_copies():
    numpy_net = numpy_nn.mlp(3, 5, 7, 2, rng=0)
    torch_net = to_torch(numpy_net)
    weight = torch_net[0].weight
    assert weight.dtype == torch.float64
    assert tuple(weight.shape) == (5, 7)
    assert np.array_equal(weight.detach().numpy(), numpy_net[0].W.T)
    with torch.no_grad():
        weight.zero_()
    assert np.any(numpy_net[0].W != 0)  # a copy, not a view


def test_residual_keeps_scale():
    numpy_net = numpy_nn.mlp(5, 4, 3, 2, residual=True, rng=0)
    torch_net = to_torch(numpy_net)
    assert isinstance(torch_net[1], Residual)
    assert torch_net[1].scale == numpy_net[1].scale


def test_identity_layer_becomes_identity():
    assert isinstance(to_torch(numpy_nn.Layer()), nn.Identity)


def test_unknown_layer_raises():
    class Doubler(numpy_nn.Layer):
        def forward(self, X):
            return 2 * X

    with pytest.raises(TypeError, match="no PyTorch twin for Doubler"):
        to_torch(Doubler())


def test_grads_before_backward_raise():
    torch_net = to_torch(numpy_nn.mlp(3, 4, 3, 2, rng=0))
    with pytest.raises(RuntimeError, match="has no gradient"):
        grads_as_numpy(torch_net)
