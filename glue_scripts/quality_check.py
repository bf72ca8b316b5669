"""Glue 5.0 job ``quality_check``: route a dataset's cleaned rows to passed / failed and write a report.

Thin entry point: arguments, read, write. The rules come from the dataset's declaration (``[[rules.*]]``
of its dataset.toml, read by ``dataset_etl.declaration``) and the checks live in ``dataset_etl``
(shipped with ``--extra-py-files``). ``run()`` is what a local runner calls in-process with its own
session.

Arguments (``--name value``; Glue's own arguments are ignored):
  --dataset               the dataset's id, e.g. business_licences                        required
  --dataset_declaration   its dataset.toml, local path or s3://bucket/key                   required
  --input_path            cleaned Parquet root (partitioned by the dataset's partition)   required
  --passed_path           output root for passing rows (Parquet, same partitioning)        required
  --failed_path           output root for failing rows, plus ``failed_rules``             required
  --report_path           JSON report, local path or s3://bucket/key                       required
  --freshness_days        max age of a freshness rule's column in days                     30
  --fail_on_dataset_rule  true/false: fail the job (after writing) if a dataset rule fails true
  --run_time              ISO timestamp the run is evaluated at                            now (UTC)
  --metrics_pipeline      if set, publish CloudWatch metrics with Pipeline=<value>, Dataset=<id>  unset

Zero rows: a missing input folder, or one without data files (a header-only CSV upstream), reads as
an empty frame with the cleaned schema. The job writes empty outputs and a report with zero counts;
a ``row_count_above`` rule then fails, so with ``--fail_on_dataset_rule true`` the job exits non-zero
after writing the report.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dataset_etl import io, quality
from dataset_etl import rules as R
from dataset_etl.jobargs import load_job_dataset, optional_text, parse_bool, parse_known, parse_run_time

if TYPE_CHECKING:
    from dataset_etl.declaration import Dataset


class DatasetRuleFailure(RuntimeError):
    """A dataset rule failed; raised after the outputs and the report were written."""

    def __init__(self, report: dict[str, Any]):
        failed = [o["name"] for o in report["dataset_rules"] if not o["passed"]]
        super().__init__(f"dataset rules failed: {', '.join(failed)} (report: {report.get('report_path')})")
        self.report = report


def configure(spark) -> None:
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    spark.conf.set("spark.sql.session.timeZone", "UTC")


def run(
    spark,
    dataset: Dataset,
    input_path: str,
    passed_path: str,
    failed_path: str,
    report_path: str,
    *,
    freshness_days: int = R.DEFAULT_FRESHNESS_DAYS,
    fail_on_dataset_rule: bool = True,
    run_time: datetime | None = None,
    metrics_pipeline: str | None = None,
) -> dict[str, Any]:
    """Run the gate; returns the report. Raises ``DatasetRuleFailure`` (after writing) when asked."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    configure(spark)
    run_time = run_time or parse_run_time(None)
    ruleset = R.RuleSet.of(dataset)
    part = dataset.partition_column
    cleaned = io.read_parquet_or_empty(spark, input_path, dataset.cleaned_ddl()).select(*dataset.column_names)

    annotated = quality.annotate(cleaned, ruleset).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        counts = quality.row_rule_counts(annotated, ruleset)
        n = F.size(F.col(quality.FAILED_RULES))
        per_part = {
            str(r[part]): {"passed": int(r["passed"]), "failed": int(r["failed"])}
            for r in annotated.groupBy(part)
            .agg(
                F.sum(F.when(n == 0, 1).otherwise(0)).alias("passed"),
                F.sum(F.when(n > 0, 1).otherwise(0)).alias("failed"),
            )
            .collect()
        }
        outcomes = quality.evaluate_dataset_rules(cleaned, ruleset, run_time, freshness_days)

        passed, failed = quality.split_annotated(annotated)
        # Partitions this run covers but writes no rows to are cleared (see io.write_partitioned).
        io.write_partitioned(
            passed, passed_path, part, clear=[p for p, c in per_part.items() if not c["passed"]]
        )
        io.write_partitioned(
            failed, failed_path, part, clear=[p for p, c in per_part.items() if not c["failed"]]
        )
    finally:
        annotated.unpersist()

    report = quality.build_report(
        counts,
        outcomes,
        run_time,
        ruleset=ruleset,
        freshness_days=freshness_days,
        input_path=input_path,
        passed_path=passed_path,
        failed_path=failed_path,
        by_partition=per_part,
    )
    report["report_path"] = report_path
    report["metrics_pipeline"] = metrics_pipeline
    io.write_json(report, report_path)
    if metrics_pipeline:
        io.publish_metrics(
            metrics_pipeline, dataset.id, counts["rows_in"], counts["passed"], counts["failed"]
        )
    if fail_on_dataset_rule and not report["dataset_rules_passed"]:
        raise DatasetRuleFailure(report)
    return report


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="quality_check", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--dataset_declaration", required=True)
    p.add_argument("--input_path", required=True)
    p.add_argument("--passed_path", required=True)
    p.add_argument("--failed_path", required=True)
    p.add_argument("--report_path", required=True)
    p.add_argument("--freshness_days", type=int, default=R.DEFAULT_FRESHNESS_DAYS)
    p.add_argument("--fail_on_dataset_rule", type=parse_bool, default=True)
    p.add_argument("--run_time", default=None)
    p.add_argument("--metrics_pipeline", default=None)
    return p


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_known(build_parser(), sys.argv[1:] if argv is None else argv)
    dataset = load_job_dataset(args.dataset, args.dataset_declaration)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    return run(
        spark,
        dataset,
        args.input_path,
        args.passed_path,
        args.failed_path,
        args.report_path,
        freshness_days=args.freshness_days,
        fail_on_dataset_rule=args.fail_on_dataset_rule,
        run_time=parse_run_time(optional_text(args.run_time)),
        metrics_pipeline=optional_text(args.metrics_pipeline),
    )


if __name__ == "__main__":
    main()
