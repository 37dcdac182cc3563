"""The Binder environment, the pinned requirements and pyproject.toml agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def conda_dependencies() -> list:
    return environment()["dependencies"]


def binder_pins() -> dict[str, Version]:
    pip_section = next(item["pip"] for item in conda_dependencies() if isinstance(item, dict))
    pins = {}
    for line in pip_section:
        if line.startswith("-"):
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"environment.yml must pin exact versions: {line}"
        pins[canonicalize_name(requirement.name)] = Version(specifier.version)
    return pins


def requirement_pins() -> dict[str, Version]:
    """Pins that apply to the Python of environment.yml (3.11)."""
    environment_markers = {"python_version": "3.11", "python_full_version": "3.11.0"}
    pins = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate(environment_markers):
            continue
        (specifier,) = requirement.specifier
        pins[canonicalize_name(requirement.name)] = Version(specifier.version)
    return pins


def project_dependencies() -> list[Requirement]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^dependencies = \[(.*?)^\]", text, flags=re.MULTILINE | re.DOTALL).group(1)
    return [Requirement(item) for item in re.findall(r'"([^"]+)"', block)]


def test_pip_is_listed_before_pip_section():
    dependencies = conda_dependencies()
    pip_index = dependencies.index("pip")
    section_index = next(i for i, item in enumerate(dependencies) if isinstance(item, dict))
    assert pip_index < section_index


def test_python_version_is_supported():
    python = next(item for item in conda_dependencies() if isinstance(item, str) and item.startswith("python="))
    assert Version(python.split("=")[1]) >= Version("3.10")


def test_torch_is_cpu_build():
    pip_section = next(item["pip"] for item in conda_dependencies() if isinstance(item, dict))
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip_section
    assert binder_pins()["torch"].local == "cpu"


def test_no_cuda_packages():
    names = set(binder_pins()) | {str(item).split("=")[0] for item in conda_dependencies() if isinstance(item, str)}
    assert not [name for name in names if "cuda" in name or name.startswith("nvidia")]


def test_widget_extension_included():
    assert "jupyterlab-widgets" in binder_pins()
    assert "ipywidgets" in binder_pins()


def test_slides_extension_included():
    assert "jupyterlab-rise" in binder_pins()


@pytest.mark.parametrize("name", sorted(binder_pins()))
def test_binder_pin_matches_requirements(name):
    pinned = requirement_pins()
    assert name in pinned, f"{name} is in environment.yml but not in requirements.txt"
    assert binder_pins()[name].public == pinned[name].public


@pytest.mark.parametrize("requirement", project_dependencies(), ids=str)
def test_project_dependency_in_both_pins(requirement):
    name = canonicalize_name(requirement.name)
    for pins in (binder_pins(), requirement_pins()):
        assert name in pins
        assert requirement.specifier.contains(Version(pins[name].public))
