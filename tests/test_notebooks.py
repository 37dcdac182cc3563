"""Checks of the committed notebooks as files, and of how nbval runs them.

nbval itself executes every notebook, because pyproject's testpaths include
notebooks/. These tests check what nbval does not. The stored outputs come from
one clean run, and every notebook shares the same setup cell and badges. A
wrong stored output fails nbval, and the runs do not depend on the folder they
start from.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
MACHINE_PATH = re.compile(r"(/work/|/tmp/|/root/|/home/[a-z])")


def repository_url() -> str:
    """Read the repository address from pyproject.toml, the one place it is written."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^Repository = "([^"]+)"$', text, flags=re.MULTILINE)
    assert match, "pyproject.toml must set [project.urls] Repository"
    return match.group(1)


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def checked_outputs(notebook) -> list[list[str]]:
    """Return the text outputs of the cells marked for output checking."""
    outputs = []
    for cell in code_cells(notebook):
        if cell.source.startswith(CHECK_MARKER):
            outputs.append([output.get("text", "") for output in cell.outputs if output.output_type == "stream"])
    return outputs


def test_series_has_all_six_notebooks():
    numbers = [path.name[:2] for path in NOTEBOOKS]
    assert numbers == ["00", "01", "02", "03", "04", "05"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
class TestStoredNotebook:
    def test_kernelspec_is_python3(self, path):
        assert read(path).metadata.kernelspec.name == "python3"

    def test_execution_counts_are_consecutive(self, path):
        counts = [cell.execution_count for cell in code_cells(read(path)) if cell.source.strip()]
        assert counts == list(range(1, len(counts) + 1))

    def test_no_error_outputs(self, path):
        errors = [
            output.get("ename")
            for cell in code_cells(read(path))
            for output in cell.outputs
            if output.output_type == "error"
        ]
        assert errors == []

    def test_no_warnings_in_outputs(self, path):
        stderr = [
            output.text
            for cell in code_cells(read(path))
            for output in cell.outputs
            if output.output_type == "stream" and output.name == "stderr" and "Warning" in output.text
        ]
        assert stderr == []

    def test_outputs_show_no_machine_paths(self, path):
        for cell in code_cells(read(path)):
            for output in cell.outputs:
                text = str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
                assert not MACHINE_PATH.search(text), text[:200]

    def test_no_widget_state_stored(self, path):
        assert "widgets" not in read(path).metadata

    def test_has_checked_outputs(self, path):
        assert checked_outputs(read(path)), "mark deterministic cells with # NBVAL_CHECK_OUTPUT"

    def test_title_and_badges(self, path):
        first = read(path).cells[0]
        owner_repo = repository_url().removeprefix("https://github.com/")
        assert first.cell_type == "markdown"
        assert first.source.startswith(f"# {path.name[:2]} ")
        colab = f"https://colab.research.google.com/github/{owner_repo}/blob/main/notebooks/{path.name}"
        binder = f"https://mybinder.org/v2/gh/{owner_repo}/main?urlpath=lab/tree/notebooks/{path.name}"
        assert colab in first.source
        assert binder in first.source

    def test_setup_cell_installs_from_repository(self, path):
        setup = code_cells(read(path))[0].source
        assert f'REPOSITORY = "{repository_url()}"' in setup
        assert 'f"torch=={torch.__version__}"' in setup
        assert "--upgrade" not in setup
        assert " -U" not in setup

    def test_lesson_sections(self, path):
        text = "\n".join(cell.source for cell in read(path).cells if cell.cell_type == "markdown")
        for heading in ("## Summary", "## Exercises", "## References"):
            assert heading in text
        assert "<details>" in text

    def test_every_cell_has_slide_metadata(self, path):
        notebook = read(path)
        types = [cell.metadata.get("slideshow", {}).get("slide_type") for cell in notebook.cells]
        assert None not in types
        assert types[0] == "slide"


def test_setup_cell_is_identical_everywhere():
    setups = {code_cells(read(path))[0].source for path in NOTEBOOKS}
    assert len(setups) == 1


def test_readme_badges_use_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    owner_repo = repository_url().removeprefix("https://github.com/")
    assert f"https://mybinder.org/v2/gh/{owner_repo}/main" in readme
    assert f"https://colab.research.google.com/github/{owner_repo}/blob/main/notebooks/" in readme
    others = set(re.findall(r"github\.com/([\w.-]+/[\w.-]+?)(?:/|\.git|\)|$)", readme)) - {owner_repo}
    assert others == set()


def run_nbval(notebook: Path, cwd: Path) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "--nbval-lax", "--nbval-current-env",
        f"--nbval-sanitize-with={ROOT / 'tests' / 'sanitize.cfg'}",
        f"--rootdir={notebook.parent}", "-c", os.devnull, str(notebook),
    ]  # fmt: skip
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


def small_checked_notebook() -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(f"{CHECK_MARKER}\nprint(sum(range(10)))")]
    NotebookClient(notebook, kernel_name="python3").execute()
    return notebook


def test_planted_wrong_output_fails_nbval(tmp_path):
    notebook = small_checked_notebook()
    good = tmp_path / "good.ipynb"
    nbformat.write(notebook, good)
    planted = copy.deepcopy(notebook)
    planted.cells[0].outputs[0]["text"] = "46\n"
    bad = tmp_path / "planted.ipynb"
    nbformat.write(planted, bad)

    assert run_nbval(good, tmp_path).returncode == 0
    result = run_nbval(bad, tmp_path)
    assert result.returncode == 1
    assert "46" in result.stdout


def test_notebook_passes_from_notebooks_folder():
    """The root run is the main nbval run; this repeats notebook 00 from notebooks/."""
    notebook = ROOT / "notebooks" / "00_start_here.ipynb"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", notebook.name],
        cwd=notebook.parent,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "passed" in result.stdout


def execute_copy(path: Path) -> nbformat.NotebookNode:
    notebook = read(path)
    NotebookClient(notebook, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


def test_two_runs_give_identical_checked_outputs():
    """Seeds make checked outputs repeat exactly; the stored run is a third witness."""
    path = ROOT / "notebooks" / "00_start_here.ipynb"
    first, second = execute_copy(path), execute_copy(path)
    assert checked_outputs(first) == checked_outputs(second)
    assert checked_outputs(first) == checked_outputs(read(path))
