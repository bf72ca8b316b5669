"""`dap local` end to end on the business licences' committed sample (one run per session, see
conftest.all_runs), checked against an independent reading of the CSV."""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from dap.athena_sql import check, to_spark
from dap.local_run import load_queries, register_views, stage_config, stage_parameters
from dap.report import png_size

from .conftest import LICENCES

DEFAULT_INPUT = LICENCES.sample_path
SETTINGS = stage_config("dev").quality
PARAMETERS = stage_parameters(stage_config("dev"), LICENCES)
CLEANED_NAMES = LICENCES.column_names
ALLOWED_STATUSES = next(r.params["values"] for r in LICENCES.row_rules if r.name == "status_allowed")
ANSWER_QUERIES = ("average_fee_issued", "lowest_daily_average_fee", "employees_by_business_type")
REQUIRED_KEYS = {
    "rows_read", "duplicates_removed", "rows_passed", "rows_failed", "failed_by_rule", "dataset_rules",
    "summary_rows", "steps", "answers", "dataset", "parameters", "settings", "total_seconds",
}  # fmt: skip
# The first dataset of `dap local` starts Spark (the CLI is given no session).
STEPS = ("check_input", "raw_copy", "spark_start", "recipe", "quality_check", "summarize", "queries", "chart")


# -- an independent reading of the sample: csv module + the documented meaning of each step ----------
_JAVA_WS = "[ \t\n\x0b\f\r]"  # Java regex \s, as the recipe's REMOVE_COMBINED uses
_DECIMAL = re.compile(r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$")
_TRIMMED = {
    "business_name", "business_trade_name", "status", "business_type", "business_sub_type", "unit",
    "unit_type", "house", "street", "city", "province", "country", "postal_code", "local_area",
}  # fmt: skip
VANCOUVER = ZoneInfo("America/Vancouver")


def _text(v):
    if v is None:
        return None
    v = re.sub(f"^{_JAVA_WS}+|{_JAVA_WS}+$", "", v)
    return re.sub(f"{_JAVA_WS}{{2,}}", " ", v)


def _double(v):
    return float(v) if v is not None and _DECIMAL.match(v) else None


def _instant(v):
    try:
        t = datetime.fromisoformat(v)
    except (TypeError, ValueError):
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def _day(v):
    try:
        return date.fromisoformat(v)
    except (TypeError, ValueError):
        return None


def clean(raw: dict[str, str]) -> dict:
    row = dict(zip(CLEANED_NAMES, (raw[k] or None for k in raw), strict=True))  # blank -> null
    for name in _TRIMMED:
        row[name] = _text(row[name])
    row["postal_code"] = row["postal_code"].upper() if row["postal_code"] is not None else None
    emp = _double(row["number_of_employees"])
    row["number_of_employees"] = int(emp) if emp is not None and emp == math.floor(emp) else None
    row["fee_paid"] = _double(row["fee_paid"])
    row["issued_date"] = _instant(row["issued_date"])
    row["expired_date"] = _day(row["expired_date"])
    row["extract_date"] = _instant(row["extract_date"])
    return row


def broken_rules(r: dict) -> list[str]:
    out = []
    if r["licence_rsn"] is None or not r["licence_rsn"].strip(" "):
        out.append("licence_rsn_present")
    if r["status"] not in ALLOWED_STATUSES:
        out.append("status_allowed")
    if r["number_of_employees"] is None or not 0 <= r["number_of_employees"] <= 100000:
        out.append("employees_in_range")
    if r["fee_paid"] is not None and (math.isnan(r["fee_paid"]) or r["fee_paid"] < 0):
        out.append("fee_paid_non_negative")
    if r["status"] == "Issued" and r["issued_date"] is None:
        out.append("issued_has_issued_date")
    if (
        r["issued_date"]
        and r["expired_date"]
        and r["issued_date"].astimezone(VANCOUVER).date() > r["expired_date"]
    ):
        out.append("issued_not_after_expiry")
    return out


@pytest.fixture(scope="module")
def expected() -> dict:
    with DEFAULT_INPUT.open(encoding="utf-8-sig", newline="") as fh:
        raw_rows = list(csv.DictReader(fh, delimiter=";"))
    seen, unique = set(), []
    for row in map(clean, raw_rows):
        key = tuple(row[c] for c in CLEANED_NAMES)
        if key not in seen:
            seen.add(key)
            unique.append(row)
    failures = Counter()
    passed = []
    for row in unique:
        broken = broken_rules(row)
        failures.update(broken)
        if not broken:
            passed.append(row)
    issued = [r for r in passed if r["status"] == "Issued"]
    fees = [r["fee_paid"] for r in issued if r["fee_paid"] is not None]
    daily = defaultdict(list)
    for r in issued:
        if r["number_of_employees"] > PARAMETERS["min_employees"] and r["issued_date"] is not None:
            daily[r["issued_date"].astimezone(VANCOUVER).date()].append(r["fee_paid"])
    daily_avg = {
        d: sum(f for f in v if f is not None) / n
        for d, v in daily.items()
        if (n := sum(f is not None for f in v))
    }
    lowest_day = min(daily_avg, key=lambda d: (daily_avg[d], d))
    by_type = defaultdict(list)
    for r in passed:
        by_type[r["business_type"] or "(unknown)"].append(r["number_of_employees"])
    return {
        "rows_read": len(raw_rows),
        "duplicates_removed": len(raw_rows) - len(unique),
        "rows_passed": len(passed),
        "rows_failed": len(unique) - len(passed),
        "failures": failures,
        "summary_days": len(daily),
        "avg_fee_issued": sum(fees) / len(fees),
        "fees_known": len(fees),
        "issued": len(issued),
        "lowest_day": lowest_day,
        "lowest_avg": daily_avg[lowest_day],
        "employees_by_type": {t: (sum(v) / len(v), len(v)) for t, v in by_type.items()},
    }


# -- the run ----------------------------------------------------------------------------------------
def test_every_output_exists(sample_run):
    out = sample_run.layout
    assert out.root.name == "business_licences" and (out.root / ".dap-local-run").is_file()
    assert (out.raw / DEFAULT_INPUT.name).is_file()
    for folder in (out.cleaned, out.passed, out.failed, out.output("summary"), out.output("licences")):
        assert list(folder.rglob("*.parquet")), folder
    assert sorted(p.name for p in out.cleaned.iterdir() if p.is_dir()) == ["file_year=24", "file_year=25"]
    assert list(out.output("summary").glob("year=*"))
    assert json.loads(out.quality_report.read_text())["rows_in"] == sample_run.report["rows_cleaned"]
    assert out.output_csv_file("summary") is not None
    assert out.output_csv_file("licences") is None  # csv = false
    assert sorted(p.stem for p in out.athena_results.glob("*.csv")) == sorted(
        q.name for q in load_queries(LICENCES.queries_path)
    )
    assert out.report.is_file() and out.chart.is_file()
    # the same tree the buckets hold, under <out>/<id>/<bucket purpose>/
    rel = {k: v.relative_to(out.root).as_posix() for k, v in {
        "raw": out.raw, "cleaned": out.cleaned, "passed": out.passed, "failed": out.failed,
        "quality_report": out.quality_report, "summary": out.output("summary"),
        "summary_csv": out.output_csv("summary"), "licences": out.output("licences"),
    }.items()}  # fmt: skip
    assert rel == {
        "raw": "raw/business_licences",
        "cleaned": "transformed/cleaned/business_licences",
        "passed": "transformed/quality_check/passed/business_licences",
        "failed": "transformed/quality_check/failed/business_licences",
        "quality_report": "transformed/quality_check/reports/business_licences/latest.json",
        "summary": "curated/business_licences/summary",
        "summary_csv": "curated/business_licences/summary_csv",
        "licences": "curated/business_licences/licences",
    }
    assert {k: v.rstrip("/") for k, v in sample_run.report["outputs"].items() if k in rel} == rel


def test_report_json_counts_add_up(sample_run):
    report = json.loads(sample_run.layout.report.read_text())
    assert set(report) >= REQUIRED_KEYS
    assert report["rows_read"] - report["duplicates_removed"] == report["rows_passed"] + report["rows_failed"]
    assert report["counts_add_up"] is True
    assert report["dataset"] == "business_licences"
    assert report["rows_read"] == 600
    assert sum(report["failed_by_rule"].values()) >= report["rows_failed"] > 0
    assert tuple(report["steps"]) == STEPS
    assert all(isinstance(s, float) and s >= 0 for s in report["steps"].values())
    with sample_run.layout.output_csv_file("summary").open() as fh:
        assert report["summary_rows"] == sum(1 for _ in fh) - 1
    assert report["licences_rows"] == report["rows_passed"]
    assert set(report["answers"]) == set(ANSWER_QUERIES)
    assert isinstance(report["answers"]["employees_by_business_type"], list)  # rows = "all"
    assert isinstance(report["answers"]["average_fee_issued"], dict)  # the first row
    # the declared parameters with the stage's overrides (cdk.json stages.dev.datasets[i].parameters)
    stage_entry = stage_config("dev").dataset("business_licences")
    assert report["parameters"] == {**LICENCES.parameters, **stage_entry.overrides} == PARAMETERS
    assert set(report["parameters"]) == {"status", "min_employees"}
    assert report["settings"] == {
        **report["parameters"],
        "freshness_days": SETTINGS.freshness_days,
        "fail_on_dataset_rule": SETTINGS.fail_on_dataset_rule,
        "strict": False,
    }


def test_counts_match_an_independent_reading_of_the_csv(sample_run, expected):
    r = sample_run.report
    assert r["rows_read"] == expected["rows_read"]
    assert r["duplicates_removed"] == expected["duplicates_removed"] > 0
    assert r["rows_passed"] == expected["rows_passed"]
    assert r["rows_failed"] == expected["rows_failed"]
    assert {k: v for k, v in r["failed_by_rule"].items() if v} == dict(expected["failures"])
    assert r["summary_rows"] == expected["summary_days"]


def test_answers_match_an_independent_computation(sample_run, expected):
    answers = sample_run.report["answers"]
    avg = answers["average_fee_issued"]
    assert avg["avg_fee_paid"] == pytest.approx(expected["avg_fee_issued"], abs=0.0051)
    assert avg["licences_with_fee"] == expected["fees_known"]
    assert avg["issued_licences"] == expected["issued"]

    low = answers["lowest_daily_average_fee"]
    assert low["issue_date"] == expected["lowest_day"].isoformat()
    assert low["avg_fee_paid"] == pytest.approx(expected["lowest_avg"], abs=0.0051)

    by_type = {row["business_type"]: row for row in answers["employees_by_business_type"]}
    assert set(by_type) == set(expected["employees_by_type"])
    for name, (mean, count) in expected["employees_by_type"].items():
        assert by_type[name]["avg_employees"] == pytest.approx(mean, abs=0.051), name
        assert by_type[name]["licences"] == count
    means = [row["avg_employees"] for row in answers["employees_by_business_type"]]
    assert means == sorted(means, reverse=True)


def test_failed_freshness_rule_is_reported_and_the_run_completes(sample_run):
    report = sample_run.report
    outcomes = {r["name"]: r["outcome"] for r in report["dataset_rules"]}
    assert outcomes == {
        "status_completeness": "passed",
        "row_count_positive": "passed",
        "extract_date_fresh": "FAILED",
    }
    assert report["dataset_rules_passed"] is False
    assert report["status"].startswith("completed")
    text = sample_run.console_text
    assert text.count("FAILED dataset rule extract_date_fresh") == 2  # at the step and in the summary
    assert "--strict stops" in text
    assert "Answers" in text and "What is the average fee paid by issued licences?" in text
    assert re.search(r"\[5/8\] quality check \(Glue job\) \.+ +\d+\.\d\ds", text)


def test_console_shows_the_declared_answers_formatted(sample_run):
    """Each declared question (its {param} filled in) and its values in the declared formats."""
    text, answers = sample_run.console_text, sample_run.report["answers"]
    minimum = PARAMETERS["min_employees"]
    assert (
        f"Which issue day had the lowest average fee (licences with more than {minimum} employees)?" in text
    )
    avg = answers["average_fee_issued"]
    assert (
        f"Average fee paid: CAD {avg['avg_fee_paid']:,.2f}; Licences with a known fee: "
        f"{avg['licences_with_fee']:,}; Issued licences: {avg['issued_licences']:,}"
    ) in text
    low = answers["lowest_daily_average_fee"]
    assert f"Issue date: {low['issue_date']}; Average fee paid: CAD {low['avg_fee_paid']:,.2f}" in text
    by_type = answers["employees_by_business_type"]
    assert re.search(r"Business type +Licences +Average employees +Largest", text)
    first = by_type[0]
    assert re.search(
        rf"{re.escape(first['business_type'])} +{first['licences']:,} +{first['avg_employees']:,.1f} "
        rf"+{first['max_employees']:,}",
        text,
    )
    assert f"... {len(by_type) - 5:,} more row(s) in athena_results/employees_by_business_type.csv" in text
    assert "curated/business_licences/summary_csv/" in text and "Total " in text


def test_chart_is_a_png_of_sensible_size(sample_run):
    path = sample_run.layout.chart
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = png_size(path)
    assert (width, height) == (1320, 660)
    assert path.name == "chart.png" and sample_run.report["outputs"]["chart"] == "chart.png"
    from matplotlib.image import imread

    pixels = imread(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels.std() > 0.05  # not a blank canvas


# -- the named queries ------------------------------------------------------------------------------
EXPECTED_COLUMNS = {
    "average_fee_issued": ["avg_fee_paid", "licences_with_fee", "issued_licences"],
    "lowest_daily_average_fee": ["issue_date", "avg_fee_paid", "licence_count"],
    "employees_by_business_type": ["business_type", "licences", "avg_employees", "max_employees"],
    "licences_by_local_area_and_year": ["local_area", "year", "licences", "issued_licences", "avg_fee_paid"],
    "issued_licences_trend": [
        "issue_year",
        "issue_month",
        "issued_licences",
        "avg_fee_paid",
        "avg_employees",
    ],
}


def test_query_files_are_athena_named_queries():
    """The files are Athena SQL (dap.athena_sql.check, see tests/local_run/test_athena_sql.py)."""
    assert LICENCES.queries_path.parts[-3:] == ("datasets", "business_licences", "queries")
    queries = load_queries(LICENCES.queries_path)
    assert {q.name for q in queries} == set(EXPECTED_COLUMNS)
    for q in queries:
        body = "\n".join(q.sql.splitlines()[1:])
        assert q.description and len(q.description) < 1024  # AWS::Athena::NamedQuery Description limit
        assert check(q.sql) == [], q.name
        assert not q.sql.rstrip().endswith(";")
        tables = set(re.findall(r"\bfrom\s+([\w.]+)", body, flags=re.I))
        assert tables and tables <= {"licence_summary", "licences"}, (q.name, tables)


def test_load_queries_requires_a_description(tmp_path):
    (tmp_path / "bad.sql").write_text("select 1\n")
    with pytest.raises(ValueError, match="first line must be"):
        load_queries(tmp_path)


@pytest.mark.parametrize("query", load_queries(LICENCES.queries_path), ids=lambda q: q.name)
def test_each_query_runs_on_spark_sql(spark, sample_run, expected, query):
    """The transpiled query (what dap local runs; the file itself is Athena SQL) runs and answers."""
    register_views(spark, sample_run.layout, LICENCES)
    assert query.spark_sql == to_spark(query.sql)
    df = spark.sql(query.spark_sql)
    assert df.columns == EXPECTED_COLUMNS[query.name]
    rows = [r.asDict() for r in df.collect()]
    assert rows, query.name
    with (sample_run.layout.athena_results / f"{query.name}.csv").open(newline="") as fh:
        written = list(csv.reader(fh))
    assert written[0] == df.columns and len(written) == len(rows) + 1
    passed = sample_run.report["rows_passed"]
    if query.name == "average_fee_issued":
        (row,) = rows
        assert (
            0 < row["avg_fee_paid"] < 10_000
            and 0 < row["licences_with_fee"] <= row["issued_licences"] <= passed
        )
    elif query.name == "lowest_daily_average_fee":
        (row,) = rows
        daily = spark.table("licence_summary").where("avg_fee_paid is not null")
        assert row["avg_fee_paid"] == pytest.approx(daily.agg({"avg_fee_paid": "min"}).first()[0], abs=0.005)
        assert isinstance(row["issue_date"], date) and row["licence_count"] >= 1
    elif query.name == "employees_by_business_type":
        assert sum(r["licences"] for r in rows) == passed
        assert all(0 <= r["avg_employees"] <= r["max_employees"] for r in rows)
    elif query.name == "licences_by_local_area_and_year":
        assert sum(r["licences"] for r in rows) == passed
        assert all(2023 <= r["year"] <= 2026 and r["issued_licences"] <= r["licences"] for r in rows)
        assert sum(r["issued_licences"] for r in rows) == expected["issued"]
        assert [(r["local_area"], r["year"]) for r in rows] == sorted(
            (r["local_area"], r["year"]) for r in rows
        )
    elif query.name == "issued_licences_trend":
        assert all(1 <= r["issue_month"] <= 12 for r in rows)
        assert (
            sum(r["issued_licences"] for r in rows)
            == sample_run.report["answers"]["average_fee_issued"]["issued_licences"]
        )
        keys = [(r["issue_year"], r["issue_month"]) for r in rows]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_views_have_the_declared_schemas(spark, sample_run):
    views = register_views(spark, sample_run.layout, LICENCES)
    assert views == ["cleaned_business_licences", "licence_summary", "licences"]
    # as in Athena: a partitioned table's partition column comes after the data columns
    part = LICENCES.partition_column
    cleaned = [c for c in LICENCES.column_names if c != part] + [part]
    assert spark.table("cleaned_business_licences").columns == cleaned
    assert spark.table("licence_summary").columns == list(LICENCES.output("summary").names)
    assert spark.table("licences").columns == list(LICENCES.output("licences").names)
    assert spark.table("licences").count() == sample_run.report["licences_rows"]
