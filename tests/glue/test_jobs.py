"""End to end through quality_check.run then summarize.run on temp dirs (real local Spark)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from .conftest import RUN_TIME, frame, licence, ts, write_cleaned

MALFORMED = [
    licence(licence_rsn="ok1", file_year="24", number_of_employees=20, fee_paid=100.0),
    licence(licence_rsn="ok2", file_year="24", number_of_employees=16, fee_paid=None),
    licence(licence_rsn="ok3", file_year="25", issued_date=ts("2024-11-02T23:30:00-07:00"),
            number_of_employees=50, expired_date=date(2025, 12, 31)),
    licence(licence_rsn="emp_text", file_year="24", number_of_employees=None),  # "n/a" became null upstream
    licence(licence_rsn="fee_neg", file_year="24", fee_paid=-5.0),
    licence(licence_rsn="no_date", file_year="25", issued_date=None),  # unparseable date became null
    licence(licence_rsn="reversed", file_year="25", issued_date=ts("2026-01-05T10:00:00-08:00"),
            expired_date=date(2025, 12, 31)),
    licence(licence_rsn="no_status", file_year="25", status=None),
]  # fmt: skip

EXPECTED_FAILED = {
    "emp_text": ["employees_in_range"],
    "fee_neg": ["fee_paid_non_negative"],
    "no_date": ["issued_has_issued_date"],
    "reversed": ["issued_not_after_expiry"],
    "no_status": ["status_allowed"],
}


def paths(tmp: Path) -> dict[str, str]:
    """Where the jobs write; ``curated`` is the summary job's root, its outputs are folders under it."""
    return {
        k: str(tmp / v)
        for k, v in {
            "passed": "quality_check/passed",
            "failed": "quality_check/failed",
            "report": "quality_check/report.json",
            "summary": "curated/summary",
            "csv": "curated/summary_csv",
            "licences": "curated/licences",
        }.items()
    } | {"curated": f"{tmp / 'curated'}/"}


def run_both(qc, sm, spark, dataset, input_path, p, **qc_kwargs):
    report = qc.run(
        spark, dataset, input_path, p["passed"], p["failed"], p["report"], run_time=RUN_TIME, **qc_kwargs
    )
    result = sm.run(spark, dataset, p["passed"], p["curated"], run_time=RUN_TIME)
    return report, result


def csv_files(folder: str) -> list[Path]:
    return sorted(Path(folder).glob("*.csv"))


def test_malformed_rows_end_to_end(spark, tmp_path, licences, quality_check, summarize):
    p = paths(tmp_path)
    src = write_cleaned(spark, MALFORMED, tmp_path / "cleaned")
    # 7 of 8 rows have a status: completeness 0.875 < 0.95, so the job fails AFTER writing everything.
    with pytest.raises(quality_check.DatasetRuleFailure, match="status_completeness") as excinfo:
        quality_check.run(spark, licences, src, p["passed"], p["failed"], p["report"], run_time=RUN_TIME)
    report = json.loads(Path(p["report"]).read_text())
    assert report == json.loads(json.dumps(excinfo.value.report, default=str))
    assert report["dataset"] == "business_licences"
    assert (report["rows_in"], report["rows_passed"], report["rows_failed"]) == (8, 3, 5)
    assert report["counts_add_up"] and report["failed_row_rate"] == pytest.approx(5 / 8)
    assert report["failures_by_rule"] == {
        "licence_rsn_present": 0,
        "status_allowed": 1,
        "employees_in_range": 1,
        "fee_paid_non_negative": 1,
        "issued_has_issued_date": 1,
        "issued_not_after_expiry": 1,
    }
    outcome = {o["name"]: o for o in report["dataset_rules"]}
    assert not outcome["status_completeness"]["passed"]
    assert outcome["status_completeness"]["measured"] == pytest.approx(0.875)
    assert outcome["row_count_positive"]["passed"] and outcome["extract_date_fresh"]["passed"]
    assert report["by_partition"] == {"24": {"passed": 2, "failed": 2}, "25": {"passed": 1, "failed": 3}}

    # Re-read what was written: nothing lost, every failure kept with its reasons.
    passed = spark.read.parquet(p["passed"])
    failed = spark.read.parquet(p["failed"])
    assert passed.count() + failed.count() == len(MALFORMED)
    assert {r["licence_rsn"]: list(r["failed_rules"]) for r in failed.collect()} == EXPECTED_FAILED
    assert sorted(passed.columns) == sorted(licences.column_names)
    assert sorted(failed.columns) == sorted([*licences.column_names, "failed_rules"])

    result = summarize.run(spark, licences, p["passed"], p["curated"], run_time=RUN_TIME)
    assert result["rows_in"] == 3 and result["summary_rows"] == 2
    daily = {r["issue_date"]: r for r in spark.read.parquet(p["summary"]).collect()}
    assert daily[date(2024, 1, 16)]["licence_count"] == 2
    assert daily[date(2024, 1, 16)]["avg_fee_paid"] == 100.0
    assert daily[date(2024, 11, 2)]["max_expired_date"] == date(2025, 12, 31)
    assert {r["year"] for r in daily.values()} == {2024}
    assert spark.read.parquet(p["licences"]).count() == 3
    [csv] = csv_files(p["csv"])
    lines = csv.read_text().splitlines()
    assert lines[0] == ",".join(licences.output("summary").names) and len(lines) == 3
    assert not Path(p["curated"], "licences_csv").exists()  # csv only where the output says so


def test_passing_run_returns_report(spark, tmp_path, licences, quality_check, summarize):
    p = paths(tmp_path)
    src = write_cleaned(spark, [licence(licence_rsn=str(i)) for i in range(5)], tmp_path / "cleaned")
    report, result = run_both(quality_check, summarize, spark, licences, src, p)
    assert report["dataset_rules_passed"] and report["rows_passed"] == 5
    assert result["summary_rows"] == 1


@pytest.mark.parametrize("kind", ["missing_folder", "header_only"])
def test_zero_rows(spark, tmp_path, licences, quality_check, summarize, kind):
    p = paths(tmp_path)
    src = tmp_path / "cleaned"
    if kind == "header_only":  # what the recipe job writes for a header-only CSV: a folder, no data files
        write_cleaned(spark, [], src)
        assert src.exists() and not list(src.rglob("*.parquet"))
    with pytest.raises(quality_check.DatasetRuleFailure, match="row_count_positive"):
        quality_check.run(spark, licences, str(src), p["passed"], p["failed"], p["report"], run_time=RUN_TIME)
    report = json.loads(Path(p["report"]).read_text())
    assert (report["rows_in"], report["rows_passed"], report["rows_failed"]) == (0, 0, 0)
    assert report["counts_add_up"] and report["failed_row_rate"] == 0.0

    report, result = run_both(
        quality_check, summarize, spark, licences, str(src), p, fail_on_dataset_rule=False
    )
    assert not report["dataset_rules_passed"] and report["rows_in"] == 0
    assert result == {**result, "rows_in": 0, "summary_rows": 0, "licences_rows": 0}
    assert spark.read.schema(licences.cleaned_ddl()).parquet(p["passed"]).count() == 0
    [csv] = csv_files(p["csv"])
    assert csv.read_text().splitlines() in ([",".join(licences.output("summary").names)], [])


def snapshot(spark, p):
    def rows(path, ddl=None):
        reader = spark.read.schema(ddl) if ddl else spark.read
        return Counter(tuple(r) for r in reader.parquet(path).collect())

    files = {k: sorted(x.relative_to(v).as_posix() for x in Path(v).rglob("*.parquet")) for k, v in p.items()
             if k not in ("report", "csv", "curated")}  # fmt: skip
    return {
        "passed": rows(p["passed"]),
        "failed": Counter(str(r) for r in spark.read.parquet(p["failed"]).collect()),
        "summary": rows(p["summary"]),
        "licences": rows(p["licences"]),
        "csv": [f.read_text() for f in csv_files(p["csv"])],
        "file_counts": {k: len(v) for k, v in files.items()},
    }


def test_rerun_is_idempotent(spark, tmp_path, licences, quality_check, summarize):
    p = paths(tmp_path)
    src = write_cleaned(spark, MALFORMED, tmp_path / "cleaned")
    run_both(quality_check, summarize, spark, licences, src, p, fail_on_dataset_rule=False)
    first = snapshot(spark, p)
    run_both(quality_check, summarize, spark, licences, src, p, fail_on_dataset_rule=False)
    second = snapshot(spark, p)
    assert first == second
    assert sum(first["passed"].values()) + sum(first["failed"].values()) == len(MALFORMED)
    assert len(first["csv"]) == 1


def test_fixed_rows_leave_no_stale_failed_partition(spark, tmp_path, licences, quality_check, summarize):
    p = paths(tmp_path)
    bad = [licence(licence_rsn="a", file_year="23", fee_paid=-1.0), licence(licence_rsn="b", file_year="24")]
    run_both(quality_check, summarize, spark, licences, write_cleaned(spark, bad, tmp_path / "v1"), p)
    assert spark.read.parquet(p["failed"]).count() == 1
    fixed = [licence(licence_rsn="a", file_year="23"), licence(licence_rsn="b", file_year="24")]
    run_both(quality_check, summarize, spark, licences, write_cleaned(spark, fixed, tmp_path / "v2"), p)
    assert spark.read.schema(licences.cleaned_ddl()).parquet(p["failed"]).count() == 0
    assert spark.read.parquet(p["passed"]).count() == 2


def test_main_parses_glue_style_arguments(spark, tmp_path, licences, quality_check, summarize):
    p = paths(tmp_path)
    src = write_cleaned(spark, [licence()], tmp_path / "cleaned")
    declaration = str(licences.path / "dataset.toml")
    glue_noise = ["--JOB_NAME", "vancouver-dap-quality", "--job-bookmark-option", "job-bookmark-disable",
                  "--TempDir", str(tmp_path / "tmp"), "--enable-metrics", "true"]  # fmt: skip
    report = quality_check.main(
        [*glue_noise, "--dataset", "business_licences", "--dataset_declaration", declaration,
         "--input_path", src, "--passed_path", p["passed"], "--failed_path", p["failed"],
         "--report_path", p["report"], "--freshness_days", "3", "--fail_on_dataset_rule", "false",
         "--run_time", "2025-10-05T12:00:00Z", "--metrics_pipeline", ""]
    )  # fmt: skip
    assert report["freshness_days"] == 3 and report["run_time"] == "2025-10-05T12:00:00+00:00"
    assert not report["dataset_rules_passed"]  # extract is 4 days old, limit 3: reported, not raised
    assert spark.conf.get("spark.sql.sources.partitionOverwriteMode") == "dynamic"
    result = summarize.main(
        [*glue_noise, "--dataset", "business_licences", "--dataset_declaration", declaration,
         "--input_path", p["passed"], "--curated_path", p["curated"],
         "--parameters", '{"min_employees": 50, "status": "Issued"}', "--run_time", "2025-10-05T12:00:00Z"]
    )  # fmt: skip
    assert result["summary_rows"] == 0 and result["licences_rows"] == 1  # 43 employees is not > 50
    assert result["parameters"] == {"status": "Issued", "min_employees": 50}
    assert result["dataset"] == "business_licences" and result["report_date"] == "2025-10-05"


def test_frame_helper_matches_cleaned_schema(spark, licences):
    df = frame(spark, [licence()])
    assert [(f.name, f.dataType.simpleString()) for f in df.schema] == [
        (c.name, c.type) for c in licences.columns
    ]
