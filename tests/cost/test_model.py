"""The cost model's arithmetic on hand-computed cases, and the prices file's shape."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path

import pytest

from dap import cost

PRICES = cost.load_prices()


def test_glue_job_shorter_than_a_minute_bills_the_minimum():
    # 2 workers G.1X = 2 DPU, 30 s -> the 1-minute minimum: 2 DPU x 60 s x $0.44 / 3600
    assert cost.glue_job_cost(2, 30, 0.44, 60) == pytest.approx(2 * 60 * 0.44 / 3600)
    assert cost.glue_job_cost(2, 30, 0.44, 60) == pytest.approx(0.0146667, rel=1e-4)


def test_glue_job_longer_than_a_minute_bills_per_second():
    assert cost.glue_job_cost(2, 90.5, 0.44, 60) == pytest.approx(2 * 90.5 * 0.44 / 3600)


def test_glue_flex_price_is_the_flex_rate():
    flex = cost.glue_job_cost(2, 30, PRICES["glue_etl_dpu_hour_flex"], PRICES["glue_etl_minimum_seconds"])
    assert flex == pytest.approx(2 * 60 * 0.29 / 3600)
    assert PRICES["glue_etl_dpu_hour_flex"] < PRICES["glue_etl_dpu_hour_standard"]


def test_glue_dpus_from_worker_type():
    assert cost.GlueJob("j", "G.1X", 2, "FLEX").dpus == 2
    assert cost.GlueJob("j", "G.2X", 10, "STANDARD").dpus == 20
    assert cost.GlueJob("j", "G.025X", 4, "STANDARD").dpus == 1


def test_athena_minimum_is_10_mb():
    # 1 byte and 9.9 MB both bill 10 MB: 1e7 / 1e12 x $5
    assert cost.athena_query_cost(1, PRICES) == pytest.approx(5e-5)
    assert cost.athena_query_cost(9_900_000, PRICES) == pytest.approx(5e-5)
    assert cost.athena_query_cost(1, PRICES, minimum=False) == pytest.approx(1e6 / 1e12 * 5)


def test_athena_rounds_up_to_the_megabyte():
    # 323,232,878 bytes -> 324 MB billed
    assert cost.athena_query_cost(323_232_878, PRICES) == pytest.approx(324e6 / 1e12 * 5)


def test_databrew_bills_whole_minutes_per_node():
    assert cost.databrew_job_cost(2, 4.2, 0.48) == pytest.approx(2 * 5 * 0.48 / 60)
    assert cost.databrew_job_cost(5, 0.1, 0.48) == pytest.approx(5 * 1 * 0.48 / 60)
    assert cost.databrew_job_cost(2, 5.0, 0.48) == pytest.approx(2 * 5 * 0.48 / 60)


def test_crawler_minimum():
    assert cost.crawler_cost(2, 60, 0.44, 600) == pytest.approx(2 * 600 * 0.44 / 3600)
    assert cost.crawler_cost(2, 900, 0.44, 600) == pytest.approx(2 * 900 * 0.44 / 3600)


def test_s3_gb_months_with_versions_and_replica():
    gib = 2**30
    # one current copy only
    assert cost.stored_gb_months(gib, 30, None) == pytest.approx(1.0)
    # daily runs, noncurrent versions kept 30 days: 1 current + 30 noncurrent copies
    assert cost.stored_gb_months(gib, 30, 30) == pytest.approx(31.0)
    # ... and a replica bucket versioned the same way doubles it
    assert cost.stored_gb_months(gib, 30, 30, replicas=1) == pytest.approx(62.0)
    # weekly runs (~4.3 a month), 7-day window: 1 + 4.3 * 7 / 30 copies
    assert cost.stored_gb_months(gib, 4.3, 7) == pytest.approx(1 + 4.3 * 7 / 30)


def test_prices_file_entries_are_complete():
    doc = json.loads(Path(cost.PRICES_PATH).read_text())
    assert doc["taken"] == "2026-12-01"
    assert doc["region"] == "ca-central-1"
    for name, entry in doc["prices"].items():
        assert {"value", "unit", "region", "status", "source"} <= set(entry), name
        assert entry["status"] in {"verified", "assumed"}, name
        if entry["status"] == "assumed":
            assert entry.get("reason"), f"{name}: an assumed price needs a reason"
        assert isinstance(entry["value"], int | float) and entry["value"] >= 0, name


def test_a_price_without_a_source_is_refused(tmp_path):
    bad = tmp_path / "prices.json"
    bad.write_text(
        json.dumps({"prices": {"x": {"value": 1, "unit": "u", "region": "r", "status": "verified"}}})
    )
    with pytest.raises(cost.PriceError, match="lacks source"):
        cost.load_prices(bad)


@pytest.mark.parametrize(
    "path",
    sorted((Path(__file__).parents[2] / "datasets").glob("*/queries/*.sql")),
    ids=lambda p: f"{p.parent.parent.name}-{p.stem}",
)
def test_every_named_query_parses_to_a_table_and_its_columns(path):
    table, columns, _ = cost.parse_query(path.read_text())
    assert table in cost.athena_tables()
    assert columns, "a query reads at least one column"
    assert set(columns) <= set(cost.athena_tables()[table])


def test_parse_query_ignores_comments_literals_functions_and_aliases():
    sql = "-- avg fee by year\nselect year(issue_date) as y, count(*) as licences from licences where status = 'fee_paid'"
    table, columns, where = cost.parse_query(sql)
    assert table == "licences"
    assert columns == ("status", "issue_date")  # table order; 'year(' is a call, 'fee_paid' a literal
    assert "status" in where


def test_query_scan_bytes_scales_with_rows():
    sql = "select avg(fee_paid) from licences where status = 'Issued'"
    per_row = cost.MEASURED["licences_column_bytes_per_row"]
    expected = 1_000_000 * (per_row["fee_paid"] + per_row["status"]) + cost.MEASURED["licences_footer_bytes"]
    assert cost.query_scan_bytes(sql, 1_000_000) == pytest.approx(expected, abs=1)
    assert math.isclose(
        cost.query_scan_bytes(sql, 2_000_000) - cost.query_scan_bytes(sql, 1_000_000),
        1_000_000 * (per_row["fee_paid"] + per_row["status"]),
        abs_tol=1,
    )


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("cron(0 9 * * ? *)", 30.0),  # daily
        ("cron(0 6 ? * MON *)", 30 / 7),  # weekly
        ("cron(0 6 ? * MON,THU *)", 60 / 7),
        ("cron(0 6 ? * MON-FRI *)", 150 / 7),
        ("cron(0 3 ? * 2#1 *)", 1.0),  # first Monday of the month
        ("cron(0 3 1 * ? *)", 1.0),
        ("cron(0 3 L * ? *)", 1.0),
        ("cron(0/15 * * * ? *)", 30 * 24 * 4),
        ("cron(0 3 1 JAN,JUL ? *)", 2 / 12),
        ("rate(7 days)", 30 / 7),
        ("rate(1 hour)", 720.0),
        ("rate(30 minutes)", 1440.0),
    ],
)
def test_schedule_runs_per_month(expression, runs):
    assert cost.schedule_runs_per_month(expression) == pytest.approx(runs)


@pytest.mark.parametrize("expression", ["cron(0 9 * * ?)", "every monday", "rate(7 weeks)"])
def test_a_schedule_the_model_cannot_read_is_refused(expression):
    with pytest.raises((ValueError, KeyError)):
        cost.schedule_runs_per_month(expression)


def _job(workers: int, auto_scaling: bool = True) -> cost.GlueJob:
    return cost.GlueJob("vdap-dev-quality-check", "G.1X", workers, "FLEX", auto_scaling)


def test_auto_scaling_uses_the_workers_the_input_needs():
    # one 128 MiB split: the driver and one executor, whatever the maximum
    assert cost.glue_workers_used(_job(10), 10e6) == 2
    # 40 splits on 4-vCPU workers: 10 executors + the driver, capped at the maximum
    assert cost.glue_workers_used(_job(100), 40 * 128 * 2**20) == 11
    assert cost.glue_workers_used(_job(10), 40 * 128 * 2**20) == 10
    # without auto scaling every configured worker is billed
    assert cost.glue_workers_used(_job(10, auto_scaling=False), 10e6) == 10


def _deployment(**changes) -> cost.Deployment:
    base = cost.Deployment(
        kms_keys=0, buckets=(), alarm_metrics=0, high_resolution_alarm_metrics=0, alarms=0, dashboards=0,
        glue_jobs=(), databrew_jobs=(cost.DataBrewJob("P", "profile-job", "PROFILE", 1),),
        crawlers=("drift-crawler",), data_event_selectors=0, data_event_buckets=0,
        trail_to_cloudwatch_logs=False, email_subscriptions=0,
    )  # fmt: skip
    return replace(base, **changes)


def _item(est: cost.Estimate, service: str) -> cost.LineItem:
    return next(i for i in est.items if i.service == service)


def test_work_on_its_own_schedule_is_billed_per_schedule_not_per_run():
    prices = cost.load_prices()
    usage = cost.Usage(rows=100_000, runs_per_month=30)
    weekly = _deployment(
        schedules={"profile-job": ("cron(0 6 ? * MON *)",), "drift-crawler": ("rate(7 days)",)}
    )
    est = cost.estimate(weekly, {}, usage, prices)
    profile, crawlers = _item(est, "DataBrew"), next(i for i in est.items if i.item.endswith("crawlers"))
    one_profile = cost.databrew_job_cost(1, usage.databrew_minutes_per_job, prices["databrew_node_hour"])
    assert profile.per_run == 0
    assert profile.per_month == pytest.approx(one_profile * 30 / 7)
    assert crawlers.per_run == 0 and crawlers.per_month > 0
    # the same jobs started by every run are billed 30 times
    on_path = _deployment(started_per_run={"profile-job": 1, "drift-crawler": 1})
    est = cost.estimate(on_path, {}, usage, prices)
    assert _item(est, "DataBrew").per_run == pytest.approx(one_profile)
    assert _item(est, "DataBrew").per_month == pytest.approx(one_profile * 30)
    # neither scheduled nor started: nothing a month
    idle = cost.estimate(_deployment(), {}, usage, prices)
    assert _item(idle, "DataBrew").per_month == 0 and "on demand only" in _item(idle, "DataBrew").basis


def test_state_transitions_are_billed_per_run():
    prices = cost.load_prices()
    est = cost.estimate(_deployment(state_transitions_per_run=40), {}, cost.Usage(runs_per_month=10), prices)
    item = _item(est, "StepFunctions")
    assert item.per_run == pytest.approx(40 * prices["sfn_state_transitions_per_1000"] / 1000)
    assert item.per_month == pytest.approx(item.per_run * 10)


def test_settings_override_one_stage_and_are_validated():
    from stacks.config import ConfigError, cdk_json_context

    stages = cdk_json_context()["stages"]
    changed = cost.with_settings(stages, "prod", {"glue.max_workers": 7, "databrew.max_capacity": 3})
    assert changed["prod"]["glue"]["max_workers"] == 7 and changed["prod"]["databrew"]["max_capacity"] == 3
    assert stages["prod"]["glue"]["max_workers"] != 7  # cdk.json's context is left as it was
    with pytest.raises(ConfigError, match=re.escape("stages.prod.nope.x: no such setting section 'nope'")):
        cost.with_settings(stages, "prod", {"nope.x": 1})
