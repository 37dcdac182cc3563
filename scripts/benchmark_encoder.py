"""Measure the throughput of helpers.roberta's encoder against transformers' RobertaModel.

Usage:
    python scripts/benchmark_encoder.py                      # CPU: a small config, prints a table
    python scripts/benchmark_encoder.py --device cuda        # roberta-base shape, 128 tokens, bf16 autocast
    python scripts/benchmark_encoder.py --write docs/benchmarks.md   # also update that device's block

Both models have the same configuration and weights (the helpers model is
copied from the transformers one with ``from_transformers``) and run on the
same device in the same precision. transformers uses its SDPA attention, like
the helpers' attention. Inputs are full-length sequences of random tokens
without padding, so neither model gets an attention mask. Two passes are timed:

- forward: eval mode under ``torch.no_grad``;
- forward + backward: train mode (dropout on), the loss being the mean square
  of the last hidden state, gradients cleared before each iteration.

A measurement is ``--warmup`` untimed iterations of each model, then
``--iterations`` timed iterations in which the two models take turns, so that
load from other processes falls on both alike. A model's throughput is tokens
per iteration over its median iteration time. On CUDA the device is
synchronised before a timer starts and before it is read. ``--repeats`` rounds
repeat the measurement and alternate which model goes first. The table reports
each model's median throughput over rounds. Its helpers/transformers ratio is
the median of the per-round ratios, with their min and max as the spread.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers.roberta import RobertaConfig, from_transformers  # noqa: E402

SECTION_HEADING = "## Encoder throughput: helpers against transformers"
SECTION_INTRO = """\
`scripts/benchmark_encoder.py` times the encoder of `helpers.roberta` against
transformers' `RobertaModel` with SDPA attention: the same configuration,
weights, device and precision, full-length sequences of random tokens without
padding. *forward* is eval mode under `torch.no_grad`. *forward + backward* is
train mode with dropout, and its loss is the mean square of the last hidden
state. After warm-up, the two models take turns iteration by iteration, and a
model's throughput is tokens per iteration over its median iteration time.
The ratio is helpers over transformers: the median over rounds, with the min
and max over rounds as its spread. A ratio of at least 1.0 means that the
helpers encoder is no slower.

On a 2-core machine that other processes load, pass `--threads 1`. With 2
torch threads there, one forward pass of the CPU shape took 5 to 20 times
longer than with 1 thread, and its time varied by as much.
"""
BLOCK_START = "<!-- encoder-throughput {device}: start (written by scripts/benchmark_encoder.py) -->"
BLOCK_END = "<!-- encoder-throughput {device}: end -->"
NOT_MEASURED = "Not measured yet. Run `python scripts/benchmark_encoder.py --device {device} --write docs/benchmarks.md`.\n"
DEVICE_TITLES = {"cpu": "### CPU", "cuda": "### CUDA"}

# The CPU shape took about 15 s of CPU time for 7 rounds with one thread (2-core AMD EPYC).
# CUDA uses roberta-base's shape.
SHAPES = {
    "cpu": dict(config=dict(vocab_size=8000, hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                            intermediate_size=512), batch=8, seq=64, warmup=2, iterations=8),
    # NOTE: the CUDA path has not been run yet; only its code has been reviewed.
    "cuda": dict(config=dict(), batch=32, seq=128, warmup=10, iterations=30),
}


@dataclass
class Measurement:
    model: str
    mode: str
    tokens_per_s: float


def build_models(device: torch.device, config_fields: dict) -> dict[str, torch.nn.Module]:
    """Build transformers' RobertaModel (SDPA) and its helpers copy, with the same weights."""
    import transformers

    torch.manual_seed(0)
    config = RobertaConfig(**config_fields).to_transformers(attn_implementation="sdpa")
    reference = transformers.RobertaModel(config, add_pooling_layer=False).to(device)
    return {"helpers": from_transformers(reference), "transformers": reference}


def autocast(device: torch.device):
    """bf16 autocast on CUDA; float32 (no autocast) on the CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def last_hidden_state(model: torch.nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    return model(input_ids).last_hidden_state  # both models' outputs have this field


def iteration_seconds(model: torch.nn.Module, input_ids: torch.Tensor, mode: str, device: torch.device) -> float:
    """Time one iteration of ``mode`` ("forward" or "forward + backward")."""
    if mode == "forward":
        synchronize(device)
        start = time.perf_counter()
        with torch.no_grad(), autocast(device):
            last_hidden_state(model, input_ids)
    else:
        model.zero_grad(set_to_none=True)
        synchronize(device)
        start = time.perf_counter()
        with autocast(device):
            loss = last_hidden_state(model, input_ids).float().square().mean()
        loss.backward()
    synchronize(device)
    return time.perf_counter() - start


def measure_pair(models: dict, input_ids: torch.Tensor, mode: str, device: torch.device, shape: dict,
                 first: str) -> dict[str, float]:
    """Return each model's tokens per second in ``mode``: the median over timed iterations after warm-up.

    The models take turns iteration by iteration, starting with ``first``, so
    that load from other processes falls on both alike.
    """
    names = [first] + [name for name in models if name != first]
    for name in names:
        models[name].train(mode != "forward")
        for _ in range(shape["warmup"]):
            iteration_seconds(models[name], input_ids, mode, device)
    times = {name: [] for name in names}
    for _ in range(shape["iterations"]):
        for name in names:
            times[name].append(iteration_seconds(models[name], input_ids, mode, device))
    return {name: input_ids.numel() / statistics.median(seconds) for name, seconds in times.items()}


def run(device: torch.device, repeats: int, shape: dict) -> list[list[Measurement]]:
    """Measure both models in both modes, ``repeats`` rounds, alternating which model goes first."""
    models = build_models(device, shape["config"])
    vocab_size = models["helpers"].config.vocab_size
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(3, vocab_size, (shape["batch"], shape["seq"]), generator=generator).to(device)
    rounds = []
    for index in range(repeats):
        first = "helpers" if index % 2 == 0 else "transformers"
        results = []
        for mode in ("forward", "forward + backward"):
            for name, speed in measure_pair(models, input_ids, mode, device, shape, first).items():
                results.append(Measurement(name, mode, speed))
        rounds.append(results)
        print(f"round {index + 1}/{repeats} done", file=sys.stderr)
    return rounds


def summarize(rounds: list[list[Measurement]]) -> list[dict]:
    """Summarize each mode: median tokens/s per model, and the median, min and max of the per-round ratios."""
    rows = []
    for mode in ("forward", "forward + backward"):
        speeds = {"helpers": [], "transformers": []}
        ratios = []
        for results in rounds:
            by_model = {m.model: m.tokens_per_s for m in results if m.mode == mode}
            for name, speed in by_model.items():
                speeds[name].append(speed)
            ratios.append(by_model["helpers"] / by_model["transformers"])
        rows.append(dict(
            mode=mode,
            helpers=statistics.median(speeds["helpers"]),
            transformers=statistics.median(speeds["transformers"]),
            ratio=statistics.median(ratios),
            ratio_min=min(ratios),
            ratio_max=max(ratios),
        ))
    return rows


def format_table(rows: list[dict]) -> str:
    lines = [
        "| pass | helpers (tokens/s) | transformers (tokens/s) | ratio (median) | ratio (min to max) |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['mode']} | {row['helpers']:,.0f} | {row['transformers']:,.0f} | {row['ratio']:.2f} | "
            f"{row['ratio_min']:.2f} to {row['ratio_max']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def cpu_name() -> str:
    """Return the CPU model from /proc/cpuinfo where it exists, else what platform reports."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def describe_setup(device: torch.device, shape: dict, repeats: int) -> str:
    """Describe a run's conditions for the docs: versions, hardware, shape, precision and repetitions."""
    import transformers

    config = RobertaConfig(**shape["config"])
    if device.type == "cuda":
        hardware = torch.cuda.get_device_name(device)
        precision = "bf16 autocast (float32 weights)"
    else:
        load = os.getloadavg()[0]
        threads = torch.get_num_threads()
        hardware = (
            f"{cpu_name()}, {os.cpu_count()} cores, {threads} torch thread{'s' if threads != 1 else ''}, "
            f"load average {load:.1f} at the end"
        )
        precision = "float32"
    return (
        f"Measured {datetime.date.today().isoformat()} on {hardware}; torch {torch.__version__}, "
        f"transformers {transformers.__version__}. Shape: {config.num_hidden_layers} layers, hidden "
        f"{config.hidden_size}, {config.num_attention_heads} heads, FFN {config.intermediate_size}, "
        f"batch {shape['batch']} x {shape['seq']} tokens, {precision}. {repeats} rounds of "
        f"{shape['warmup']} warm-up and {shape['iterations']} timed iterations per model and pass. "
        f"Command: `python scripts/benchmark_encoder.py {' '.join(sys.argv[1:])}`.\n"
    )


def write_block(path: Path, device: str, text: str) -> None:
    """Replace this device's block of the encoder-throughput section, creating the file or section if needed."""
    content = path.read_text() if path.exists() else "# Benchmarks\n"
    if SECTION_HEADING not in content:
        blocks = []
        for name, title in DEVICE_TITLES.items():
            body = NOT_MEASURED.format(device=name)
            blocks.append(f"{title}\n\n{BLOCK_START.format(device=name)}\n{body}{BLOCK_END.format(device=name)}\n")
        content = content.rstrip("\n") + f"\n\n{SECTION_HEADING}\n\n{SECTION_INTRO}\n" + "\n".join(blocks)
    start, end = BLOCK_START.format(device=device), BLOCK_END.format(device=device)
    if start not in content or end not in content:
        raise ValueError(f"{path} has the section {SECTION_HEADING!r} but no {device} block; restore its markers")
    before, rest = content.split(start, 1)
    _, after = rest.split(end, 1)
    path.write_text(f"{before}{start}\n{text}{end}{after}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="device to measure on (default: cpu)")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of measurements of both models (default: 5)")
    parser.add_argument("--warmup", type=int, help=f"untimed iterations per model and measurement (default: {SHAPES['cpu']['warmup']} on cpu, "
                        f"{SHAPES['cuda']['warmup']} on cuda)")
    parser.add_argument("--iterations", type=int, help=f"timed iterations per model and measurement (default: {SHAPES['cpu']['iterations']} on cpu, "
                        f"{SHAPES['cuda']['iterations']} on cuda)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice); "
                        "1 keeps timings stable on a machine that other processes load")
    parser.add_argument("--write", type=Path, metavar="MARKDOWN", help="update this device's block in this file")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but torch finds no CUDA device; run on a GPU machine or use --device cpu")
    shape = dict(SHAPES[args.device])
    for name in ("warmup", "iterations", "repeats"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "warmup" else 1):
            parser.error(f"--{name} must be at least {0 if name == 'warmup' else 1}, got {value}")
        if value is not None and name != "repeats":
            shape[name] = value
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    rows = summarize(run(device, args.repeats, shape))
    table = format_table(rows)
    setup = describe_setup(device, shape, args.repeats)
    print(setup)
    print(table)
    if args.write:
        write_block(args.write, args.device, f"{setup}\n{table}")
        print(f"updated the {args.device} block of {args.write}")


if __name__ == "__main__":
    main()
