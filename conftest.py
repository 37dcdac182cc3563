"""Settings shared by the unit tests and the nbval notebook runs.

The tests run offline at CPU scale on the CPU wherever they are started, so
that a GPU machine gives the same checked outputs as CI. Variables already set
in the environment win.
"""

import os
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent

for name, value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "RESIDUAL_SCALE": "cpu",
    "RESIDUAL_DEVICE": "cpu",
}.items():
    os.environ.setdefault(name, value)

# The unit tests build tiny models, for which a second thread costs more in
# synchronisation than it gains, many times more on a busy machine. The
# notebooks' kernels are separate processes and keep their own setting.
torch.set_num_threads(1)


def pytest_configure(config):
    # nbval opens the sanitize file relative to the working directory, so give
    # it an absolute path: the notebook runs then match from any folder.
    if getattr(config.option, "nbval_sanitize_with", "unset") is None:
        config.option.nbval_sanitize_with = str(ROOT / "tests" / "sanitize.cfg")
