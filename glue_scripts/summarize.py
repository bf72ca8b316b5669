"""Glue 5.0 job ``summarize``: the daily summary and the analysis table from the PASSED licences.

Thin entry point: arguments, read, write; the logic is ``licence_etl.summary``.

Arguments (``--name value``; Glue's own arguments are ignored):
  --input_path        passed Parquet root (quality_check output)                         required
  --summary_path      summary Parquet (Snappy), partitioned by year                      required
  --summary_csv_path  folder receiving ONE CSV file with a header (for people)           required
  --licences_path     analysis Parquet (Snappy), partitioned by year                     required
  --min_employees     keep licences with MORE than this many employees                   15
  --status            keep licences with this status                                     Issued
  --run_time          ISO timestamp; report_date is its Vancouver-local date             now (UTC)
  --report_html_path  if set: the HTML run report (local path or s3://bucket/key)       unset
  --quality_report_path  the quality job's JSON report, for the HTML report's counts     unset
  --failed_rows_path  the quality job's failed rows, for the HTML report's examples     unset
  --stage             stage name shown in the HTML report                                unset

Re-running on the same input gives the same output: Parquet partitions are overwritten (dynamic
partition overwrite; years this run covers but writes no rows to are cleared), the CSV folder is
overwritten. Zero rows in (missing folder or no data files): empty outputs, header-only CSV.

The HTML run report (``licence_etl.run_report``, the renderer ``dap local`` uses) is written last, after
every data output: the quality report's counts and rules, a few failed rows per rule, the chart of the
daily summary (``licence_etl.chart``), this job's timings. It needs Jinja2, which Glue 5.0 does not
provide: the job definition installs it with ``--additional-python-modules``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime
from typing import Any

from licence_etl import io, schema, summary
from licence_etl.jobargs import optional_text, parse_known, parse_run_time


def configure(spark) -> None:
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    spark.conf.set("spark.sql.session.timeZone", "UTC")


def run(
    spark,
    input_path: str,
    summary_path: str,
    summary_csv_path: str,
    licences_path: str,
    *,
    min_employees: int = summary.DEFAULT_MIN_EMPLOYEES,
    status: str = summary.DEFAULT_STATUS,
    run_time: datetime | None = None,
    report_html_path: str | None = None,
    quality_report_path: str | None = None,
    failed_rows_path: str | None = None,
    stage: str | None = None,
) -> dict[str, Any]:
    """Write the three outputs (and the HTML report when asked); returns row counts."""
    from pyspark import StorageLevel

    started = time.perf_counter()
    configure(spark)
    run_time = run_time or parse_run_time(None)
    passed = io.read_parquet_or_empty(spark, input_path, schema.cleaned_ddl()).select(*schema.CLEANED_NAMES)

    licences = summary.licences_for_analysis(passed).persist(StorageLevel.MEMORY_AND_DISK)
    daily = (
        summary.summarize_licences(passed, run_time, status=status, min_employees=min_employees)
        .orderBy("issue_date")
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        licence_years = {
            r["year"]: r["n"]
            for r in licences.groupBy("year").count().withColumnRenamed("count", "n").collect()
        }
        summary_years = {r["year"] for r in daily.select("year").distinct().collect()}
        covered = [y for y in licence_years if y is not None]
        io.write_partitioned(licences, licences_path, summary.PARTITION_COLUMN)
        io.write_partitioned(
            daily,
            summary_path,
            summary.PARTITION_COLUMN,
            clear=[y for y in covered if y not in summary_years],
        )
        io.write_single_csv(daily.orderBy("issue_date"), summary_csv_path)
        summary_rows = daily.count()
        chart_rows = (
            daily.select("issue_date", "max_number_of_employees", "avg_fee_paid").collect()
            if report_html_path
            else []
        )
    finally:
        licences.unpersist()
        daily.unpersist()
    result = {
        "rows_in": sum(licence_years.values()),
        "licences_rows": sum(licence_years.values()),
        "summary_rows": summary_rows,
        "years": sorted(y for y in licence_years if y is not None),
        "report_date": summary.local_report_date(run_time).isoformat(),
        "status": status,
        "min_employees": min_employees,
    }
    if report_html_path:
        write_run_report(
            spark,
            result,
            chart_rows,
            report_html_path,
            quality_report_path=quality_report_path,
            failed_rows_path=failed_rows_path,
            stage=stage,
            run_time=run_time,
            steps={"summarize": round(time.perf_counter() - started, 3)},
        )
        result["report_html_path"] = report_html_path
    return result


def write_run_report(
    spark,
    result: dict[str, Any],
    chart_rows: list,
    report_html_path: str,
    *,
    quality_report_path: str | None,
    failed_rows_path: str | None,
    stage: str | None,
    run_time: datetime,
    steps: dict[str, float],
) -> str:
    """Render and write the HTML run report (one PutObject on S3); returns its path."""
    from licence_etl import chart, run_report

    started = time.perf_counter()
    quality = io.read_json(quality_report_path) if quality_report_path else None
    examples = {}
    if failed_rows_path:
        ddl = schema.cleaned_ddl() + ", `failed_rules` array<string>"
        examples = run_report.failure_examples(io.read_parquet_or_empty(spark, failed_rows_path, ddl))
    steps = {**steps, "failure_examples": round(time.perf_counter() - started, 3)}
    started = time.perf_counter()
    png = chart.chart_png(
        chart.points_from_rows(chart_rows),
        min_employees=result["min_employees"],
        report_date=date.fromisoformat(result["report_date"]),
    )
    steps["chart"] = round(time.perf_counter() - started, 3)
    doc = run_report.deployed_report_document(
        quality,
        {**result, "run_time": run_time.isoformat()},
        stage=stage or "-",
        steps=steps,
        examples=examples,
    )
    html = run_report.render_run_report(doc, chart_png=png, origin="Glue job summarize")
    return io.write_text(html, report_html_path, content_type="text/html; charset=utf-8")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="summarize", description=__doc__.splitlines()[0])
    p.add_argument("--input_path", required=True)
    p.add_argument("--summary_path", required=True)
    p.add_argument("--summary_csv_path", required=True)
    p.add_argument("--licences_path", required=True)
    p.add_argument("--min_employees", type=int, default=summary.DEFAULT_MIN_EMPLOYEES)
    p.add_argument("--status", default=summary.DEFAULT_STATUS)
    p.add_argument("--run_time", default=None)
    p.add_argument("--report_html_path", default=None)
    p.add_argument("--quality_report_path", default=None)
    p.add_argument("--failed_rows_path", default=None)
    p.add_argument("--stage", default=None)
    return p


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_known(build_parser(), sys.argv[1:] if argv is None else argv)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    return run(
        spark,
        args.input_path,
        args.summary_path,
        args.summary_csv_path,
        args.licences_path,
        min_employees=args.min_employees,
        status=args.status,
        run_time=parse_run_time(optional_text(args.run_time)),
        report_html_path=optional_text(args.report_html_path),
        quality_report_path=optional_text(args.quality_report_path),
        failed_rows_path=optional_text(args.failed_rows_path),
        stage=optional_text(args.stage),
    )


if __name__ == "__main__":
    main()
