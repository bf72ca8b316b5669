"""`dap cost`: exit code, line items, errors (the synthesized templates are reused from the session)."""

from __future__ import annotations

import pytest

from dap import cost
from dap.cli import main

EXPECTED_ITEMS = (
    "customer managed keys", "storage raw", "storage transformed", "storage curated",
    "cross-region replication transfer", "profile job", "recipe job", "vdap-dev-quality-check (FLEX)",
    "vdap-dev-summarize (FLEX)", "2 crawlers", "5 named queries", "8 alarms", "1 dashboards",
    "S3 data events", "e-mail", "TOTAL",
)  # fmt: skip


@pytest.fixture
def reuse_synth(monkeypatch, dev_synth):
    monkeypatch.setattr(cost, "synthesize_templates", lambda stage=None: dev_synth)


def test_dap_cost_prints_the_line_items(reuse_synth, capsys):
    assert main(["cost", "--rows", "100000", "--runs-per-month", "4"]) == 0
    out = capsys.readouterr().out
    assert "stage dev: 100,000 rows, 4 runs/month" in out
    for item in EXPECTED_ITEMS:
        assert item in out, item
    assert "assumed prices" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cost", "--rows", "-1"], "--rows must be >= 0"),
        (["cost", "--runs-per-month", "0"], "--runs-per-month must be > 0"),
    ],
)
def test_bad_arguments_exit_1_with_one_line(reuse_synth, capsys, argv, message):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"dap cost: {message}"


def test_unknown_stage_is_a_config_error(capsys):
    assert main(["cost", "--stage", "nope"]) == 2
    assert "stage: 'nope' is not a configured stage" in capsys.readouterr().err
