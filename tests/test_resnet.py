import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.resnet import (
    PreActivationBlock,
    Residual,
    ResidualBlock,
    accuracy,
    check_residual_block,
    conv_net,
    fit,
    mlp,
)


def test_residual_adds_scaled_branch():
    torch.manual_seed(0)
    block = nn.Linear(5, 5)
    x = torch.randn(3, 5)
    assert torch.equal(Residual(block, scale=0.5)(x), x + 0.5 * block(x))


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), True, "1"])
def test_residual_rejects_invalid_scale(scale):
    with pytest.raises(ValueError, match="scale must be a finite number"):
        Residual(nn.Identity(), scale=scale)


def test_residual_rejects_non_module():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        Residual(lambda x: x)


def test_block_keeps_identity_shortcut():
    block = ResidualBlock(8, 8)
    assert isinstance(block.shortcut, nn.Identity)
    assert tuple(block(torch.randn(2, 8, 8, 8)).shape) == (2, 8, 8, 8)


@pytest.mark.parametrize("in_channels, out_channels, stride", [(8, 16, 1), (8, 8, 2), (8, 16, 2)])
def test_block_projects_when_shape_changes(in_channels, out_channels, stride):
    block = ResidualBlock(in_channels, out_channels, stride=stride)
    projection, norm = block.shortcut
    assert isinstance(projection, nn.Conv2d)
    assert projection.kernel_size == (1, 1)
    assert projection.stride == (stride, stride)
    assert isinstance(norm, nn.BatchNorm2d)
    size = 8 // stride
    assert tuple(block(torch.randn(2, in_channels, 8, 8)).shape) == (2, out_channels, size, size)


def test_plain_block_has_no_shortcut():
    torch.manual_seed(0)
    block = ResidualBlock(8, 16, stride=2, residual=False)
    x = torch.randn(2, 8, 8, 8)
    expected = F.relu(block.bn2(block.conv2(F.relu(block.bn1(block.conv1(x))))))
    assert isinstance(block.shortcut, nn.Identity)
    assert not any("shortcut" in name for name, _ in block.named_parameters())
    assert torch.equal(block(x), expected)


def test_block_output_adds_shortcut():
    torch.manual_seed(0)
    block = ResidualBlock(8, 16, stride=2)
    x = torch.randn(2, 8, 8, 8)
    branch = block.bn2(block.conv2(F.relu(block.bn1(block.conv1(x)))))
    assert torch.allclose(block(x), F.relu(branch + block.shortcut(x)), atol=1e-6)


def test_zero_branch_passes_gradient_through():
    block = ResidualBlock(4, 4)
    with torch.no_grad():
        block.bn2.weight.zero_()
    x = torch.relu(torch.randn(2, 4, 8, 8)) + 0.1  # positive, so the final ReLU passes everything
    x.requires_grad_(True)
    block(x).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


@pytest.mark.parametrize("stride", [0, 3, 1.0])
def test_block_rejects_invalid_stride(stride):
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        ResidualBlock(8, 8, stride=stride)


def test_block_rejects_non_bool_residual():
    with pytest.raises(TypeError, match="residual must be True or False"):
        ResidualBlock(8, 8, residual=1)


@pytest.mark.parametrize("num_blocks", [1, 2, 8])
def test_conv_net_counts_weighted_layers(num_blocks):
    plain = conv_net(num_blocks, residual=False)
    weighted = [m for m in plain.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weighted) == 4 * num_blocks + 2


def test_conv_net_output_shape():
    for residual in (True, False):
        assert tuple(conv_net(2, width=4, residual=residual)(torch.randn(5, 1, 8, 8)).shape) == (5, 10)


def test_conv_net_has_one_projection():
    residual = conv_net(3, width=4, residual=True)
    projections = [m for m in residual.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]
    assert len(projections) == 1


def test_conv_net_rejects_zero_blocks():
    with pytest.raises(ValueError, match="num_blocks must be a positive int"):
        conv_net(0)


def test_preactivation_residual_adds_input():
    torch.manual_seed(0)
    block = PreActivationBlock(6, residual=True).eval()
    x = torch.randn(4, 6)
    branch = block.linear(F.relu(block.norm(x)))
    assert torch.equal(block(x), x + branch)
    block.residual = False
    assert torch.equal(block(x), branch)


def test_mlp_layout():
    model = mlp(3, 16, 64, 10)
    assert len(model) == 5
    assert all(isinstance(model[i], PreActivationBlock) for i in (1, 2, 3))
    assert tuple(model(torch.randn(7, 64)).shape) == (7, 10)


def test_mlp_without_blocks():
    assert tuple(mlp(0, 8, 1, 1)(torch.randn(5, 1)).shape) == (5, 1)


def test_mlp_twins_share_initial_weights():
    torch.manual_seed(3)
    residual = mlp(4, 8, 5, 3, residual=True)
    torch.manual_seed(3)
    plain = mlp(4, 8, 5, 3, residual=False)
    for (name, a), (other, b) in zip(residual.named_parameters(), plain.named_parameters()):
        assert name == other
        assert torch.equal(a, b)


@pytest.mark.parametrize("num_blocks", [-1, 2.0, True])
def test_mlp_rejects_invalid_num_blocks(num_blocks):
    with pytest.raises(ValueError, match="num_blocks must be an int >= 0"):
        mlp(num_blocks, 8, 4, 2)


def separable_data():
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(256, 4, generator=generator)
    y = (X[:, 0] > 0).long()
    return X, y


def test_fit_lowers_the_loss():
    X, y = separable_data()
    torch.manual_seed(0)
    model = mlp(1, 16, 4, 2)
    curve = fit(model, X, y, epochs=10, batch_size=32)
    assert len(curve) == 10
    assert curve[-1] < curve[0]
    assert not model.training
    assert accuracy(model, X, y) > 0.9


def test_fit_is_reproducible():
    X, y = separable_data()
    curves = []
    for _ in range(2):
        torch.manual_seed(0)
        curves.append(fit(mlp(1, 8, 4, 2), X, y, epochs=2, batch_size=32, seed=4))
    assert curves[0] == curves[1]


def test_fit_rejects_large_batch():
    X, y = separable_data()
    with pytest.raises(ValueError, match="batch_size=512 exceeds"):
        fit(mlp(1, 8, 4, 2), X, y, epochs=1, batch_size=512)


def test_fit_rejects_mismatched_labels():
    X, y = separable_data()
    with pytest.raises(ValueError, match="one label per example"):
        fit(mlp(1, 8, 4, 2), X, y[:10], epochs=1)


@pytest.mark.parametrize("lr", [0.0, -1e-3, 1])
def test_fit_rejects_invalid_lr(lr):
    X, y = separable_data()
    with pytest.raises(ValueError, match="lr must be a positive float"):
        fit(mlp(1, 8, 4, 2), X, y, epochs=1, lr=lr)


def test_accuracy_counts_matching_labels():
    model = nn.Identity()
    logits = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    assert accuracy(model, logits, torch.tensor([0, 1, 1, 1])) == 0.5


def test_check_accepts_resnet_block(capsys):
    assert check_residual_block(ResidualBlock)
    assert capsys.readouterr().out.startswith("Correct")


class SketchBlock(nn.Module):
    """The sketch without batch normalisation or projection."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv2(F.relu(self.conv1(x))) + x)


def test_check_rejects_sketch_block(capsys):
    assert not check_residual_block(SketchBlock)
    assert "raised RuntimeError" in capsys.readouterr().out


class EmptyBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()

    def forward(self, x):
        return None


def test_check_reports_missing_answer(capsys):
    assert not check_residual_block(EmptyBlock)
    assert capsys.readouterr().out.startswith("No answer yet")
