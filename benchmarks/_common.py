"""Small helpers the benchmark scripts share: `name: value` output, medians, machine facts."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "benchmarks" / "out"  # git-ignored cache of generated data and outputs

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def emit(name: str, value) -> None:
    """One figure per line: ``name: value`` (floats with 3 decimals, booleans in lower case)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:.3f}" if abs(value) >= 1 or value == 0 else f"{value:.6g}"
    else:
        text = str(value)
    print(f"{name}: {text}", flush=True)


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def load_average() -> float:
    return os.getloadavg()[0]


def machine() -> None:
    """Print the machine facts a figure needs to be read (cores, memory, load, versions)."""
    emit("machine_nproc", os.cpu_count())
    try:
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if "MemTotal" in line
        )
        emit("machine_memory_gib", round(mem_kb / 1024 / 1024, 1))
    except (OSError, StopIteration):
        pass
    emit("machine_load_average_1min", round(load_average(), 2))
    emit("python_version", platform.python_version())
