"""Run notebook 05 at GPU scale and the encoder benchmark on a CUDA machine, and print the figures.

Usage:
    python scripts/gpu_check.py                 # on a CUDA machine; estimated 3 to 5 minutes on one GPU
    python scripts/gpu_check.py --out DIR       # also keep the executed notebook and the benchmark table
    python scripts/gpu_check.py --dry-run       # on a CPU: the same steps at CPU scale, to test this script

The notebook runs in a fresh kernel with ``RESIDUAL_SCALE`` and ``RESIDUAL_DEVICE``
unset, so it picks the GPU and the GPU scale itself, and with ``HF_HUB_OFFLINE=1``
(nothing is downloaded). Every cell runs even after a failed check, so that one
run reports every failing claim. The executed notebook is never written over
``notebooks/05_*.ipynb``, whose stored outputs come from the CPU scale.

The script prints the GPU, the notebook's wall time, each training run's wall
time and final loss, the unigram loss, the failed cells if any, and the table
of ``scripts/benchmark_encoder.py``, whose ratio column is the helpers encoder's
throughput over transformers'. Record them in docs/benchmarks.md. It exits
with status 1 when a notebook cell or the benchmark failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "05_roberta_encoder_on_a_gpu.ipynb"
BENCHMARK = ROOT / "scripts" / "benchmark_encoder.py"
SUMMARY_MARKER = "GPU_CHECK_SUMMARY "

# Appended to the notebook: prints the figures as one JSON line that this script reads back.
SUMMARY_CELL = f"""
import json
summary = {{"device": str(device), "scale": scale}}
for name in ("final_loss", "run_seconds", "unigram_loss", "similarity_at_init", "STEPS", "BATCH_SIZE", "SEQ_LEN", "LR"):
    if name in globals():
        summary[name] = globals()[name]
if torch.cuda.is_available():
    summary["gpu"] = torch.cuda.get_device_name(device)
    summary["max_memory_allocated_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
print("{SUMMARY_MARKER}" + json.dumps(summary))
"""


def run_notebook(dry_run: bool, cell_timeout: int) -> tuple[nbformat.NotebookNode, float]:
    """Execute a copy of notebook 05 with the summary cell appended; return it and its wall time."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(SUMMARY_CELL))
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    if dry_run:
        os.environ["RESIDUAL_SCALE"] = "cpu"
        os.environ["RESIDUAL_DEVICE"] = "cpu"
    else:
        os.environ.pop("RESIDUAL_SCALE", None)  # the notebook chooses the GPU scale on CUDA itself
        os.environ.pop("RESIDUAL_DEVICE", None)
    client = NotebookClient(
        notebook,
        timeout=cell_timeout,
        kernel_name="python3",
        allow_errors=True,  # run every cell, so that one run lists every failed check
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellTimeoutError as error:  # allow_errors does not cover a cell that runs out of time
        notebook.cells[-1].outputs = [nbformat.v4.new_output("error", ename="CellTimeoutError",
                                                             evalue=str(error).splitlines()[0], traceback=[])]
    return notebook, time.perf_counter() - start


def failed_cells(notebook: nbformat.NotebookNode) -> list[str]:
    """Describe every cell that raised: its index, the exception and its message."""
    failures = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                failures.append(f"cell {index}: {output.ename}: {output.evalue}")
    return failures


def read_summary(notebook: nbformat.NotebookNode) -> dict:
    """Return the JSON that the appended cell printed, or {} when it did not run."""
    for output in notebook.cells[-1].get("outputs", []):
        if output.output_type == "stream" and SUMMARY_MARKER in output.text:
            return json.loads(output.text.split(SUMMARY_MARKER, 1)[1].strip())
    return {}


def run_benchmark(dry_run: bool, repeats: int, timeout: int) -> tuple[int, str]:
    """Run the encoder benchmark and return its exit status and output."""
    device = ["--device", "cpu", "--threads", "1"] if dry_run else ["--device", "cuda"]
    command = [sys.executable, str(BENCHMARK), *device, "--repeats", str(repeats)]
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 1, f"benchmark timed out after {timeout} s"
    return result.returncode, result.stdout + result.stderr


def print_report(summary: dict, notebook_seconds: float, failures: list[str], benchmark: str) -> None:
    print(f"device: {summary.get('gpu', summary.get('device', 'unknown'))}; scale: {summary.get('scale', 'unknown')}")
    print(f"notebook 05 wall time: {notebook_seconds:.0f} s")
    settings = {name: summary[name] for name in ("STEPS", "BATCH_SIZE", "SEQ_LEN", "LR") if name in summary}
    print(f"training settings: {settings}")
    if "max_memory_allocated_gib" in summary:
        print(f"peak GPU memory allocated: {summary['max_memory_allocated_gib']:.1f} GiB")
    for name, loss in summary.get("final_loss", {}).items():
        seconds = summary.get("run_seconds", {}).get(name, float("nan"))
        print(f"  {name:12s} final loss {loss:.3f} nats, {seconds:.0f} s")
    if "unigram_loss" in summary:
        print(f"  unigram loss {summary['unigram_loss']:.3f} nats")
    if "similarity_at_init" in summary:
        rounded = {name: round(value, 3) for name, value in summary["similarity_at_init"].items()}
        print(f"  mean cosine similarity of final hidden states at step 0: {rounded}")
    print("failed cells:" if failures else "failed cells: none")
    for failure in failures:
        print("  " + failure.splitlines()[0][:300])
    print("encoder benchmark:")
    print(benchmark.rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true",
                        help="run on the CPU at CPU scale, to test this script on a machine without a GPU")
    parser.add_argument("--out", type=Path, help="folder for the executed notebook and the benchmark output")
    parser.add_argument("--cell-timeout", type=int, default=240, help="limit for one notebook cell, in seconds")
    parser.add_argument("--benchmark-repeats", type=int, default=3, help="rounds of the encoder benchmark")
    parser.add_argument("--benchmark-timeout", type=int, default=150, help="limit for the benchmark, in seconds")
    args = parser.parse_args()

    import torch  # after argument parsing, so that --help is fast

    if not args.dry_run and not torch.cuda.is_available():
        parser.error("torch finds no CUDA device; run this on a GPU machine, or pass --dry-run to test it on a CPU")

    notebook, notebook_seconds = run_notebook(args.dry_run, args.cell_timeout)
    failures = failed_cells(notebook)
    status, benchmark = run_benchmark(args.dry_run, args.benchmark_repeats, args.benchmark_timeout)
    print_report(read_summary(notebook), notebook_seconds, failures, benchmark)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, args.out / "05_roberta_encoder_on_a_gpu.executed.ipynb")
        (args.out / "benchmark_encoder.txt").write_text(benchmark, encoding="utf-8")
    return 1 if failures or status != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
