"""Fixtures for the local run: ONE ``dap local`` over every declared dataset's sample per test session
(``all_runs``: business_licences, employee_remuneration, ...), and one over the made-up third dataset
(``trees_run``, a fixture folder); each through ``dap.cli.main`` as a user types it."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dataset_etl.declaration import Dataset

from dap.local_run import LocalLayout
from stacks.datasets import project_dataset

# The licence sample's ExtractDate values are 2025-09-29..2025-10-01: at this run time the freshness
# rule (30 days) fails, which is what `make demo` shows on the bundled sample today.
STALE_RUN_TIME = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
LICENCES = project_dataset("business_licences")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "datasets"
TREES_FOLDER = FIXTURES / "street_trees"


@dataclass(frozen=True)
class SampleRun:
    dataset: Dataset
    report: dict[str, Any]
    layout: LocalLayout
    console_text: str  # this dataset's part of the run's output


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str
    out: Path


def run_cli(argv: list[Any]) -> tuple[int, str, str]:
    """``dap <argv>`` in-process through dap.cli.main, output captured (usable in any fixture scope)."""
    from dap.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main([str(a) for a in argv])
    return code, stdout.getvalue(), stderr.getvalue()


def dataset_sections(text: str) -> dict[str, str]:
    """The console output of a several-dataset run, cut at each dataset's header line, by id."""
    parts = re.split(r"(?m)^(?=dap local: .+ \((\w+)\) through the pipeline)", text)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


@pytest.fixture(scope="session")
def all_runs(spark, tmp_path_factory) -> CliRun:
    """`dap local --out X --run-time ...`: every dataset of datasets/, in one process and Spark session."""
    out = tmp_path_factory.mktemp("local_run") / "out"
    code, stdout, stderr = run_cli(["local", "--out", out, "--run-time", STALE_RUN_TIME.isoformat()])
    assert (code, stderr) == (0, ""), stderr  # no ticker when stderr is not a terminal
    return CliRun(code, stdout, stderr, out.resolve())


def _sample_run(all_runs: CliRun, dataset_id: str) -> SampleRun:
    import json

    layout = LocalLayout.of(all_runs.out, dataset_id)
    report = json.loads(layout.report.read_text(encoding="utf-8"))
    text = dataset_sections(all_runs.stdout)[dataset_id]
    return SampleRun(project_dataset(dataset_id), report, layout, text)


@pytest.fixture(scope="session")
def sample_run(all_runs) -> SampleRun:
    """The business licences' part of ``all_runs``."""
    return _sample_run(all_runs, "business_licences")


@pytest.fixture(scope="session")
def remuneration_run(all_runs) -> SampleRun:
    """The employee remuneration's part of ``all_runs``."""
    return _sample_run(all_runs, "employee_remuneration")


@pytest.fixture(scope="session")
def trees_run(spark, tmp_path_factory) -> CliRun:
    """`dap local --dataset tests/fixtures/datasets/street_trees`: a dataset folder outside datasets/."""
    out = tmp_path_factory.mktemp("trees") / "out"
    code, stdout, stderr = run_cli(["local", "--dataset", TREES_FOLDER, "--out", out])
    return CliRun(code, stdout, stderr, out.resolve())


def cli(argv: list[Any], capsys) -> tuple[int, str, str]:
    """``dap <argv>`` in-process through dap.cli.main; returns (exit code, stdout, stderr)."""
    from dap.cli import main

    capsys.readouterr()
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def small_input(tmp_path: Path, rows: int = 60) -> Path:
    """The first ``rows`` data lines of the licence sample, byte for byte (BOM, CRLF)."""
    lines = LICENCES.sample_path.read_bytes().split(b"\r\n")
    path = tmp_path / "small.csv"
    path.write_bytes(b"\r\n".join(lines[: rows + 1]) + b"\r\n")
    return path
