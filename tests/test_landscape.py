import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.landscape import filter_normalized_direction, loss_surface, nonconvex_fraction, nonconvex_mask
from helpers.resnet import conv_net, mlp


def small_problem():
    torch.manual_seed(0)
    model = mlp(2, 8, 4, 3)
    X = torch.randn(32, 4)
    y = torch.randint(0, 3, (32,))
    return model, X, y


def test_direction_matches_filter_norms():
    torch.manual_seed(0)
    model = conv_net(1, width=4)
    direction = filter_normalized_direction(model, torch.Generator().manual_seed(1))
    for parameter, d in zip(model.parameters(), direction):
        assert d.shape == parameter.shape
        if parameter.dim() < 2:
            assert torch.count_nonzero(d) == 0
            continue
        dims = tuple(range(1, parameter.dim()))
        expected = torch.linalg.vector_norm(parameter.detach(), dim=dims)
        assert torch.allclose(torch.linalg.vector_norm(d, dim=dims), expected, rtol=1e-5)


def test_direction_repeats_with_seed():
    model, _, _ = small_problem()
    first = filter_normalized_direction(model, torch.Generator().manual_seed(5))
    second = filter_normalized_direction(model, torch.Generator().manual_seed(5))
    assert all(torch.equal(a, b) for a, b in zip(first, second))


def test_direction_rejects_non_generator():
    model, _, _ = small_problem()
    with pytest.raises(TypeError, match="torch.Generator"):
        filter_normalized_direction(model, 0)


def test_surface_centre_is_model_loss():
    model, X, y = small_problem()
    direction = filter_normalized_direction(model, torch.Generator().manual_seed(0))
    surface = loss_surface(model, X, y, [direction], np.linspace(-1, 1, 5))
    model.eval()
    with torch.no_grad():
        expected = F.cross_entropy(model(X), y).item()
    assert surface.shape == (5,)
    assert surface[2] == pytest.approx(expected, rel=1e-6)


def test_surface_restores_weights_and_mode():
    model, X, y = small_problem()
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    generator = torch.Generator().manual_seed(0)
    directions = [filter_normalized_direction(model, generator) for _ in range(2)]
    loss_surface(model, X, y, directions, np.linspace(-1, 1, 3))
    assert model.training
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))


def test_two_directions_contain_one():
    model, X, y = small_problem()
    generator = torch.Generator().manual_seed(0)
    directions = [filter_normalized_direction(model, generator) for _ in range(2)]
    coordinates = np.linspace(-1, 1, 5)
    grid = loss_surface(model, X, y, directions, coordinates)
    line = loss_surface(model, X, y, directions[:1], coordinates)
    assert grid.shape == (5, 5)
    assert np.allclose(grid[:, 2], line, rtol=1e-6)


def test_zero_direction_gives_flat_surface():
    model, X, y = small_problem()
    zero = [torch.zeros_like(p) for p in model.parameters()]
    surface = loss_surface(model, X, y, [zero], np.linspace(-1, 1, 4))
    assert np.allclose(surface, surface[0], rtol=0, atol=0)


def test_surface_rejects_wrong_direction():
    model, X, y = small_problem()
    with pytest.raises(ValueError, match="one tensor per parameter"):
        loss_surface(model, X, y, [[torch.zeros(3)]], np.linspace(-1, 1, 3))


def test_surface_rejects_three_directions():
    model, X, y = small_problem()
    direction = filter_normalized_direction(model, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="one or two directions"):
        loss_surface(model, X, y, [direction] * 3, np.linspace(-1, 1, 3))


def test_surface_rejects_short_coordinates():
    model, X, y = small_problem()
    direction = filter_normalized_direction(model, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="at least 3 finite numbers"):
        loss_surface(model, X, y, [direction], [0.0, 1.0])


def quadratic_grid(a_coefficient, b_coefficient):
    axis = np.linspace(-1, 1, 11)
    a, b = np.meshgrid(axis, axis, indexing="ij")
    return a_coefficient * a**2 + b_coefficient * b**2


def test_convex_bowl_has_no_nonconvex_points():
    assert nonconvex_fraction(quadratic_grid(1.0, 2.0)) == 0.0


def test_saddle_and_cap_are_nonconvex():
    assert nonconvex_fraction(quadratic_grid(1.0, -1.0)) == 1.0
    assert nonconvex_fraction(quadratic_grid(-1.0, -1.0)) == 1.0


def test_twisted_surface_is_nonconvex():
    axis = np.linspace(-1, 1, 9)
    a, b = np.meshgrid(axis, axis, indexing="ij")
    # a^2 + b^2 + 3ab has Hessian [[2, 3], [3, 2]] with eigenvalues 5 and -1.
    assert nonconvex_fraction(a**2 + b**2 + 3 * a * b) == 1.0


def test_one_dimensional_mask():
    values = np.array([4.0, 1.0, 0.0, 1.0, 1.5, 1.8])  # second differences 2, 2, -0.5, -0.2
    assert nonconvex_mask(values).tolist() == [False, False, True, True]
    assert nonconvex_fraction(values) == 0.5


@pytest.mark.parametrize("surface", [np.zeros((2, 5)), np.zeros(2), np.zeros((3, 3, 3))])
def test_mask_rejects_small_or_3d(surface):
    with pytest.raises(ValueError, match="1-D or 2-D grid"):
        nonconvex_mask(surface)


def test_mask_rejects_infinite():
    surface = quadratic_grid(1.0, 1.0)
    surface[3, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        nonconvex_mask(surface)
