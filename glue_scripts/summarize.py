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

Re-running on the same input gives the same output: Parquet partitions are overwritten (dynamic
partition overwrite; years this run covers but writes no rows to are cleared), the CSV folder is
overwritten. Zero rows in (missing folder or no data files): empty outputs, header-only CSV.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
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
) -> dict[str, Any]:
    """Write the three outputs; returns row counts (summary rows, licences rows, years)."""
    from pyspark import StorageLevel

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
    finally:
        licences.unpersist()
        daily.unpersist()
    return {
        "rows_in": sum(licence_years.values()),
        "licences_rows": sum(licence_years.values()),
        "summary_rows": summary_rows,
        "years": sorted(y for y in licence_years if y is not None),
        "report_date": summary.local_report_date(run_time).isoformat(),
        "status": status,
        "min_employees": min_employees,
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="summarize", description=__doc__.splitlines()[0])
    p.add_argument("--input_path", required=True)
    p.add_argument("--summary_path", required=True)
    p.add_argument("--summary_csv_path", required=True)
    p.add_argument("--licences_path", required=True)
    p.add_argument("--min_employees", type=int, default=summary.DEFAULT_MIN_EMPLOYEES)
    p.add_argument("--status", default=summary.DEFAULT_STATUS)
    p.add_argument("--run_time", default=None)
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
    )


if __name__ == "__main__":
    main()
