"""Re-execute notebooks in place from a clean kernel, so stored outputs come from one run.

Usage: python scripts/execute_notebooks.py notebooks/*.ipynb

Each notebook runs top to bottom in a fresh kernel started in its own folder,
as nbval does, with the environment of this process. `make execute` sets the
CPU scale and offline mode. Widget state is dropped before the notebook is
written, because GitHub cannot render it and it only makes the files larger.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def execute(path: Path, timeout: int) -> float:
    """Execute one notebook in place and return its wall time in seconds."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # run times an older run may have stored
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,  # nbclient 0.11 raises KeyError on Output widgets when False
        record_timing=False,  # keeps run times out of the stored cell metadata
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    notebook.metadata.pop("widgets", None)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(notebook, path)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebook files to execute in place")
    parser.add_argument("--timeout", type=int, default=600, help="limit for one cell, in seconds")
    args = parser.parse_args()

    failed = []
    for path in args.notebooks:
        if not path.is_file():
            print(f"{path}: not found", file=sys.stderr)
            failed.append(path)
            continue
        try:
            elapsed = execute(path, args.timeout)
        except CellExecutionError as error:
            print(f"{path}: a cell raised an error; the notebook was not written\n{error}", file=sys.stderr)
            failed.append(path)
            continue
        print(f"{path}: executed in {elapsed:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
