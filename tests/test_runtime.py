import random

import numpy as np
import pytest
import torch

from helpers.runtime import by_scale, environment_report, seed_everything, select_device, select_scale


def test_seed_everything_repeats_every_generator():
    seed_everything(3)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(3)
    second = (random.random(), np.random.rand(), torch.rand(1).item())
    assert first == second


def test_seed_everything_returns_seeded_generator():
    assert seed_everything(5).random() == np.random.default_rng(5).random()


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (2**32, ValueError), (1.5, TypeError), (True, TypeError), ("0", TypeError)])
def test_seed_everything_rejects_bad_seed(seed, error):
    with pytest.raises(error, match="seed must be"):
        seed_everything(seed)


def test_select_device_defaults_to_available(monkeypatch):
    monkeypatch.delenv("RESIDUAL_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device().type == expected


def test_select_device_honours_variable(monkeypatch):
    monkeypatch.setenv("RESIDUAL_DEVICE", "CPU")
    assert select_device() == torch.device("cpu")


@pytest.mark.parametrize("value", ["gpu0", "mps", "tpu"])
def test_select_device_rejects_unknown_names(monkeypatch, value):
    monkeypatch.setenv("RESIDUAL_DEVICE", value)
    with pytest.raises(ValueError, match="RESIDUAL_DEVICE="):
        select_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_select_device_rejects_missing_cuda(monkeypatch):
    monkeypatch.setenv("RESIDUAL_DEVICE", "cuda")
    with pytest.raises(ValueError, match="finds no CUDA device"):
        select_device()


def test_select_scale_follows_device(monkeypatch):
    monkeypatch.delenv("RESIDUAL_SCALE", raising=False)
    assert select_scale("cpu") == "cpu"
    assert select_scale(torch.device("cuda", 0)) == "gpu"


def test_select_scale_variable_wins(monkeypatch):
    monkeypatch.setenv("RESIDUAL_SCALE", "gpu")
    assert select_scale("cpu") == "gpu"


def test_select_scale_rejects_unknown(monkeypatch):
    monkeypatch.setenv("RESIDUAL_SCALE", "huge")
    with pytest.raises(ValueError, match="RESIDUAL_SCALE='huge' is not a scale"):
        select_scale("cpu")


def test_by_scale_picks_value():
    assert by_scale(cpu=1, gpu=2, scale="cpu") == 1
    assert by_scale(cpu=1, gpu=2, scale="gpu") == 2


def test_by_scale_rejects_unknown_scale():
    with pytest.raises(ValueError, match="scale must be one of"):
        by_scale(cpu=1, gpu=2, scale="tpu")


def test_environment_report_names_device_and_scale(monkeypatch):
    monkeypatch.setenv("RESIDUAL_DEVICE", "cpu")
    monkeypatch.setenv("RESIDUAL_SCALE", "cpu")
    report = environment_report()
    assert report["device"] == "cpu"
    assert report["scale"] == "cpu"
    assert report["torch"] == torch.__version__
