"""`dap cost`: exit code, line items, errors (the synthesized templates are reused from the session)."""

from __future__ import annotations

import re

import pytest

from dap import cost
from dap.cli import main

EXPECTED_ITEMS = (
    "customer managed keys", "storage raw", "storage transformed", "storage curated",
    "cross-region replication transfer", "profile job", "recipe job", "vdap-dev-business-licences-quality-check (FLEX)",
    "vdap-dev-business-licences-summarize (FLEX)", "2 crawlers", "state transitions", "5 named queries", "alarms",
    "1 dashboards", "S3 data events", "e-mail", "TOTAL",
)  # fmt: skip


@pytest.fixture
def reuse_synth(monkeypatch, dev_synth):
    monkeypatch.setattr(cost, "synthesize_templates", lambda stage=None, settings=None: dev_synth)


def test_dap_cost_prints_the_line_items(reuse_synth, capsys):
    assert main(["cost", "--rows", "100000", "--runs-per-month", "4"]) == 0
    out = capsys.readouterr().out
    assert "stage dev, dataset business_licences and what is shared: 100,000 rows, 4 runs/month" in out
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


def test_the_bill_at_1_10_and_100_times_the_data(reuse_synth, capsys):
    assert main(["cost", "--rows", "100000"]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith("  per month as the data grows: 1x (100,000 rows) $")
    figures = [float(f) for f in re.findall(r"\$(\d+\.\d+)", line)]
    assert "10x (1,000,000 rows)" in line and "100x (10,000,000 rows)" in line
    assert len(figures) == 3 and figures[0] < figures[1] < figures[2]


def test_compare_a_setting_change_side_by_side(capsys):
    """`--set` synthesizes the stage again with the setting changed; both columns line up by item."""
    assert main(["cost", "--rows", "100000", "--set", "databrew.max_capacity=2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("changed: databrew.max_capacity=2\n")
    rows = {line[:70].strip(): line[70:].split() for line in out.splitlines()[3:] if line[:1].strip()}
    recipe = next(v for k, v in rows.items() if k.startswith("DataBrew") and "recipe job" in k)
    before, after = float(recipe[0]), float(recipe[1])
    assert after == pytest.approx(2 * before)  # dev has 1 node; the change gives 2
    glue = next(v for k, v in rows.items() if "quality-check" in k)
    assert glue[0] == glue[1]  # untouched items are equal
    assert "changed: per month as the data grows" in out


def test_compare_two_stages_and_a_bad_setting(capsys):
    assert main(["cost", "--rows", "100000", "--compare", "prod"]) == 0
    out = capsys.readouterr().out
    assert "dev vs prod" in out and "run:prod" in out and "month:dev" in out
    assert "job vdap-<stage>-business-licences-quality-check" in out
    assert main(["cost", "--set", "glue.max_workers=1"]) == 2
    assert "stages.dev.glue.max_workers: 1 is not allowed" in capsys.readouterr().err
