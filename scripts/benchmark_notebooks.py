"""Time each notebook in a fresh kernel at CPU scale and check the series' budgets.

Usage:
    python scripts/benchmark_notebooks.py                      # every notebook, print a table
    python scripts/benchmark_notebooks.py notebooks/01_*.ipynb --repeats 3
    python scripts/benchmark_notebooks.py --write docs/benchmarks.md   # what `make benchmark` runs

Each run starts a new kernel in notebooks/ with RESIDUAL_SCALE=cpu,
RESIDUAL_DEVICE=cpu, HF_HUB_OFFLINE=1 and TRANSFORMERS_OFFLINE=1, executes
every cell, and never writes the notebook back. For each notebook it records:

- wall time: from the kernel's start to the end of the last cell (kernel
  shutdown excluded);
- kernel CPU time: user + system seconds of the kernel process and of its
  finished child processes, from the kernel's own ``resource.getrusage``;
- peak memory: the larger of two lower bounds on the peak resident set size
  (RSS) of the kernel and its child processes together. The first bound is the
  kernel process's exact high-water mark (``ru_maxrss``), read by one extra
  cell that runs after the notebook and is not part of it. The second bound is
  the largest sum of RSS over the kernel and its live child processes, sampled
  with psutil every 0.1 s, so that memory held by child processes counts too.
  When the kernel starts no child process, the result is the exact peak.

The budgets are those of an idle 2-core machine: 60 s of wall time per
notebook, 240 s for the series, 1500 MB (1.5 GB, 10^6 bytes per MB) of peak
memory per kernel. With ``--repeats N`` each notebook runs N times in N fresh
kernels; the table reports the median wall and CPU times and the largest peak
memory. The exit status is 1 when a notebook fails or exceeds a budget.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

NOTEBOOK_WALL_BUDGET_S = 60.0
SERIES_WALL_BUDGET_S = 240.0
KERNEL_MEMORY_BUDGET_MB = 1500.0
MB = 1_000_000

CPU_SCALE_ENV = {
    "RESIDUAL_SCALE": "cpu",
    "RESIDUAL_DEVICE": "cpu",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}
SAMPLE_INTERVAL_S = 0.1

SECTION_START = "<!-- notebook-budgets: start (written by scripts/benchmark_notebooks.py) -->"
SECTION_END = "<!-- notebook-budgets: end -->"
COMMAND = "make benchmark"
SCRIPT_COMMAND = "python scripts/benchmark_notebooks.py --write docs/benchmarks.md"

# Runs in the kernel after the notebook. On Linux ru_maxrss is in KiB, on macOS in bytes.
USAGE_PROBE = """\
import json as _json, resource as _resource, sys as _sys
_unit = 1 if _sys.platform == "darwin" else 1024
_usage = {name: _resource.getrusage(getattr(_resource, name)) for name in ("RUSAGE_SELF", "RUSAGE_CHILDREN")}
print(_json.dumps({
    "cpu_s": sum(u.ru_utime + u.ru_stime for u in _usage.values()),
    "max_rss_bytes": _usage["RUSAGE_SELF"].ru_maxrss * _unit,
}))
"""


@dataclass
class Run:
    """One execution of one notebook in a fresh kernel."""

    wall_s: float
    cpu_s: float
    peak_rss_bytes: int


@dataclass
class Result:
    """The runs of one notebook, summarised as the table reports them."""

    name: str
    runs: list[Run]
    error: str | None = None

    @property
    def wall_s(self) -> float:
        return statistics.median(run.wall_s for run in self.runs)

    @property
    def cpu_s(self) -> float:
        return statistics.median(run.cpu_s for run in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(run.peak_rss_bytes for run in self.runs) / MB

    def over_budget(self) -> list[str]:
        if self.error is not None:
            return ["failed"]
        reasons = []
        if self.wall_s > NOTEBOOK_WALL_BUDGET_S:
            reasons.append(f"wall time over {NOTEBOOK_WALL_BUDGET_S:.0f} s")
        if self.peak_mb > KERNEL_MEMORY_BUDGET_MB:
            reasons.append(f"memory over {KERNEL_MEMORY_BUDGET_MB:.0f} MB")
        return reasons


class TreeMemorySampler:
    """Sample the summed RSS of a process and its descendants in a background thread."""

    def __init__(self, pid: int, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.process = psutil.Process(pid)
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def __enter__(self) -> TreeMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _sample_until_stopped(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._tree_rss())
            self._stop.wait(self.interval_s)

    def _tree_rss(self) -> int:
        try:
            processes = [self.process, *self.process.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue  # the process ended between listing and reading
        return total


def run_once(path: Path, timeout_s: int) -> Run:
    """Execute ``path`` in a fresh kernel without writing it back, and measure it."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout_s,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        # nbclient 0.11's Output-widget hook raises KeyError without the stored state.
        store_widget_state=True,
    )
    env = {**os.environ, **CPU_SCALE_ENV}

    start = time.perf_counter()
    with client.setup_kernel(env=env):
        with TreeMemorySampler(client.km.provisioner.pid) as sampler:
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
            wall_s = time.perf_counter() - start

            # The probe is appended to the in-memory copy only, which is never written.
            probe = nbformat.v4.new_code_cell(USAGE_PROBE)
            notebook.cells.append(probe)
            client.execute_cell(probe, len(notebook.cells) - 1, store_history=False)
    usage = json.loads(probe.outputs[-1]["text"].strip().splitlines()[-1])
    return Run(
        wall_s=wall_s,
        cpu_s=usage["cpu_s"],
        peak_rss_bytes=max(usage["max_rss_bytes"], sampler.peak_bytes),
    )


def benchmark(path: Path, repeats: int, timeout_s: int) -> Result:
    """Run one notebook ``repeats`` times, and stop at the first failed run, recording its error."""
    result = Result(name=path.name, runs=[])
    for repeat in range(repeats):
        try:
            run = run_once(path, timeout_s)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            result.error = f"{type(error).__name__}: {error}"
            print(f"{path.name}: run {repeat + 1} failed\n{error}", file=sys.stderr)
            return result
        result.runs.append(run)
        print(
            f"{path.name}: run {repeat + 1}/{repeats}: {run.wall_s:.1f} s wall, "
            f"{run.cpu_s:.1f} s CPU, {run.peak_rss_bytes / MB:.0f} MB peak",
            file=sys.stderr,
            flush=True,
        )
    return result


def format_table(results: list[Result], repeats: int) -> str:
    """Return the results as a Markdown table with a total row."""
    median = f"median of {repeats}" if repeats > 1 else "1 run"
    lines = [
        f"| notebook | wall s ({median}) | kernel CPU s ({median}) | peak memory MB | within budget |",
        "|---|---:|---:|---:|---|",
    ]
    for result in results:
        if result.error is not None:
            lines.append(f"| {result.name} | failed | failed | failed | no: the run failed |")
            continue
        verdict = "no: " + ", ".join(result.over_budget()) if result.over_budget() else "yes"
        lines.append(
            f"| {result.name} | {result.wall_s:.1f} | {result.cpu_s:.1f} | {result.peak_mb:.0f} | {verdict} |"
        )
    total_wall, total_cpu = series_totals(results)
    within = "yes" if total_wall <= SERIES_WALL_BUDGET_S else f"no: over {SERIES_WALL_BUDGET_S:.0f} s"
    lines.append(f"| **series** | **{total_wall:.1f}** | **{total_cpu:.1f}** | | {within} |")
    return "\n".join(lines)


def series_totals(results: list[Result]) -> tuple[float, float]:
    """Return the summed wall and CPU seconds of the notebooks that ran."""
    finished = [result for result in results if result.error is None]
    return sum(result.wall_s for result in finished), sum(result.cpu_s for result in finished)


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or from platform.processor() elsewhere."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def describe_machine(load_before: float) -> str:
    """Return one Markdown line naming the machine, the versions and the load before the run."""
    physical = psutil.cpu_count(logical=False)  # None where the platform does not report it
    cores = f"{os.cpu_count()} logical cores" + (f" ({physical} physical)" if physical else "")
    memory_gb = psutil.virtual_memory().total / 1e9
    return (
        f"{cores}, {cpu_model()}, {memory_gb:.0f} GB of memory; "
        f"Python {platform.python_version()}, torch {importlib.metadata.version('torch')}, "
        f"{platform.system()} {platform.release()}. "
        f"Load average over the minute before the run: {load_before:.2f}."
    )


def format_section(table: str, machine: str, repeats: int) -> str:
    """Return the docs section: heading, method, budgets, table and machine."""
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""{SECTION_START}
## Notebook budgets

Every notebook must run at CPU scale within {NOTEBOOK_WALL_BUDGET_S:.0f} s of wall time on an idle
2-core machine, the whole series within {SERIES_WALL_BUDGET_S:.0f} s, and each kernel within
{KERNEL_MEMORY_BUDGET_MB:.0f} MB (1.5 GB) of peak memory.

`{COMMAND}` runs `{SCRIPT_COMMAND}`.
It executes each notebook in a fresh kernel started in `notebooks/`, with
`RESIDUAL_SCALE=cpu RESIDUAL_DEVICE=cpu HF_HUB_OFFLINE=1`, and does not write the notebook back.

- Wall time runs from the kernel's start to the end of the last cell.
- Kernel CPU time is the user plus system time of the kernel process and its finished child
  processes.
- Peak memory is the larger of the kernel process's high-water resident set size (`ru_maxrss`)
  and the largest summed resident set size of the kernel and its child processes, sampled every
  {SAMPLE_INTERVAL_S} s.

Wall times depend on what else the machine runs, and the load average below shows how busy it
was.

{table}

- Runs per notebook: {repeats}. Times are medians, and memory is the largest of the runs.
- Machine: {machine}
- Date: {date}
- Command: `{COMMAND}`
{SECTION_END}
"""


def write_section(document: Path, section: str) -> None:
    """Replace the section between the markers in ``document``, or append it."""
    text = document.read_text(encoding="utf-8") if document.exists() else "# Benchmarks\n"
    if SECTION_START in text and SECTION_END in text:
        before, _, rest = text.partition(SECTION_START)
        _, _, after = rest.partition(SECTION_END)
        text = before + section.rstrip("\n") + after
    else:
        text = text.rstrip("\n") + "\n\n" + section
    document.parent.mkdir(parents=True, exist_ok=True)
    document.write_text(text, encoding="utf-8")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        help="notebooks to benchmark (default: every notebooks/*.ipynb)",
    )
    parser.add_argument("--repeats", type=int, default=1, help="fresh-kernel runs per notebook (default: 1)")
    parser.add_argument("--timeout", type=int, default=600, help="limit for one cell, in seconds (default: 600)")
    parser.add_argument(
        "--write",
        type=Path,
        metavar="MARKDOWN",
        help="replace the notebook-budgets section of this file (for example docs/benchmarks.md)",
    )
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.timeout < 1:
        parser.error(f"--timeout must be at least 1 second, got {args.timeout}")
    if args.write is not None and args.notebooks:
        parser.error("--write records the whole series; leave out the notebook arguments")
    for path in args.notebooks:
        if path.suffix != ".ipynb" or not path.is_file():
            parser.error(f"{path} is not a notebook file; pass paths such as notebooks/01_*.ipynb")
    return args


def main() -> int:
    args = parse_args()
    paths = [path.resolve() for path in args.notebooks] or sorted(NOTEBOOKS.glob("*.ipynb"))
    if not paths:
        print(f"no notebooks found in {NOTEBOOKS}", file=sys.stderr)
        return 1

    load_before = os.getloadavg()[0]
    results = [benchmark(path, args.repeats, args.timeout) for path in paths]
    table = format_table(results, args.repeats)
    print(table)

    if args.write is not None:
        write_section(args.write, format_section(table, describe_machine(load_before), args.repeats))
        print(f"wrote the notebook-budgets section of {args.write}", file=sys.stderr)

    failures = [f"{result.name}: {', '.join(result.over_budget())}" for result in results if result.over_budget()]
    total_wall, _ = series_totals(results)
    if total_wall > SERIES_WALL_BUDGET_S:
        failures.append(f"series: {total_wall:.1f} s of wall time, over {SERIES_WALL_BUDGET_S:.0f} s")
    for failure in failures:
        print(f"over budget: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
