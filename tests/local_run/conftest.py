"""Fixtures for the local run: ONE full ``dap local`` over the committed sample per test session."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dap.local_run import DEFAULT_INPUT, Console, LocalLayout, run_local

# The sample's ExtractDate values are 2025-09-29..2025-10-01: at this run time the freshness rule
# (30 days) fails, which is what `make demo` shows on the bundled sample today.
STALE_RUN_TIME = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class SampleRun:
    report: dict[str, Any]
    layout: LocalLayout
    console_text: str


@pytest.fixture(scope="session")
def sample_run(spark, tmp_path_factory) -> SampleRun:
    out = tmp_path_factory.mktemp("local_run") / "out"
    stdout, stderr = io.StringIO(), io.StringIO()
    report = run_local(
        spark, DEFAULT_INPUT, out, run_time=STALE_RUN_TIME, console=Console(out=stdout, err=stderr)
    )
    assert stderr.getvalue() == ""  # no ticker when stderr is not a terminal
    return SampleRun(report, LocalLayout(out.resolve()), stdout.getvalue())


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """``dap <argv>`` in-process through dap.cli.main; returns (exit code, stdout, stderr)."""
    from dap.cli import main

    capsys.readouterr()
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def small_input(tmp_path: Path, rows: int = 60) -> Path:
    """The first ``rows`` data lines of the sample, byte for byte (BOM, CRLF)."""
    lines = DEFAULT_INPUT.read_bytes().split(b"\r\n")
    path = tmp_path / "small.csv"
    path.write_bytes(b"\r\n".join(lines[: rows + 1]) + b"\r\n")
    return path
