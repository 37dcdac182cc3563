import math

import pytest
import torch
from torch import nn

from helpers.grad_norms import grad_norms, group_name


def small_network() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))


def backward_once(module: nn.Module) -> torch.Tensor:
    X = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    loss = module(X).pow(2).mean()
    loss.backward()
    return loss


def test_norms_match_autograd_grad():
    network = small_network()
    X = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    parameters = dict(network.named_parameters())
    expected = torch.autograd.grad(network(X).pow(2).mean(), list(parameters.values()))
    network(X).pow(2).mean().backward()
    norms = grad_norms(network)
    assert list(norms) == list(parameters)
    for name, gradient in zip(parameters, expected):
        assert norms[name] == pytest.approx(gradient.double().norm().item(), rel=1e-12)


def test_group_norm_combines_parameters():
    network = small_network()
    backward_once(network)
    per_parameter = grad_norms(network)
    per_layer = grad_norms(network, group=1)
    assert list(per_layer) == ["0", "2", "4"]
    for layer in per_layer:
        expected = math.sqrt(per_parameter[f"{layer}.weight"] ** 2 + per_parameter[f"{layer}.bias"] ** 2)
        assert per_layer[layer] == pytest.approx(expected, rel=1e-12)


def test_callable_group_maps_names():
    network = small_network()
    backward_once(network)
    by_kind = grad_norms(network, group=lambda name: name.split(".")[-1])
    per_parameter = grad_norms(network)
    assert list(by_kind) == ["weight", "bias"]
    weights = [value for name, value in per_parameter.items() if name.endswith("weight")]
    assert by_kind["weight"] == pytest.approx(math.sqrt(sum(v**2 for v in weights)), rel=1e-12)


def test_group_name_keeps_prefix():
    assert group_name("layers.3.ffn.output.weight", 2) == "layers.3"
    assert group_name("layers.3.ffn.output.weight", 10) == "layers.3.ffn.output.weight"
    assert group_name("bias", None) == "bias"


@pytest.mark.parametrize("group", [0, -1, True, 1.5, "layers"])
def test_group_name_rejects_invalid(group):
    with pytest.raises(ValueError, match="group must be None"):
        group_name("layers.0.weight", group)


def test_callable_group_must_return_string():
    network = small_network()
    backward_once(network)
    with pytest.raises(TypeError, match="must return a group name"):
        grad_norms(network, group=lambda name: len(name))


def test_error_before_backward():
    with pytest.raises(RuntimeError, match="after loss.backward"):
        grad_norms(small_network())


def test_error_after_zero_grad_set_to_none():
    network = small_network()
    backward_once(network)
    network.zero_grad(set_to_none=True)
    with pytest.raises(RuntimeError, match="before optimizer.zero_grad"):
        grad_norms(network)


def test_zero_grad_without_none_gives_zeros():
    network = small_network()
    backward_once(network)
    network.zero_grad(set_to_none=False)
    norms = grad_norms(network)
    assert all(value == 0.0 for value in norms.values())


def test_frozen_parameters_are_skipped():
    network = small_network()
    network[0].requires_grad_(False)
    backward_once(network)
    norms = grad_norms(network)
    assert "0.weight" not in norms
    assert "0.bias" not in norms
    assert set(norms) == {"2.weight", "2.bias", "4.weight", "4.bias"}


def test_all_frozen_raises_value_error():
    network = small_network().requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        grad_norms(network)


def test_unused_parameter_counts_as_zero():
    network = small_network()
    network.add_module("unused", nn.Linear(3, 3))  # registered, never called in forward
    X = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    network[:5](X).pow(2).mean().backward()
    norms = grad_norms(network)
    assert network.unused.weight.grad is None
    assert norms["unused.weight"] == 0.0
    assert norms["unused.bias"] == 0.0
    assert norms["0.weight"] > 0.0


def test_zero_gradient_is_zero_not_missing():
    network = small_network()
    X = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    (0.0 * network(X).sum()).backward()
    norms = grad_norms(network)
    assert len(norms) == 6
    assert all(value == 0.0 for value in norms.values())


def test_float32_gradient_summed_in_float64():
    # 4096 entries of 1e20 overflow float32 when squared (1e40 > 3.4e38).
    parameter = nn.Parameter(torch.zeros(4096))
    module = nn.Module()
    module.register_parameter("weight", parameter)
    parameter.grad = torch.full((4096,), 1e20)
    assert grad_norms(module)["weight"] == pytest.approx(1e20 * 64, rel=1e-6)


def test_sparse_gradient_with_repeated_index():
    embedding = nn.Embedding(10, 3, sparse=True)
    embedding(torch.tensor([2, 2, 5])).sum().backward()
    dense = torch.zeros(10, 3)
    dense[2] = 2.0  # index 2 was looked up twice
    dense[5] = 1.0
    assert embedding.weight.grad.is_sparse
    assert grad_norms(embedding)["weight"] == pytest.approx(dense.double().norm().item(), rel=1e-12)


def test_non_module_raises_type_error():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        grad_norms(torch.zeros(3))
