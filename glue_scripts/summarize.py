"""Glue 5.0 job ``summarize``: a dataset's curated outputs from its PASSED rows.

Thin entry point: arguments, read, write. What the outputs are is declared (``[[outputs]]`` of the
dataset's dataset.toml); ``dataset_etl.outputs`` turns each into Spark SQL.

Arguments (``--name value``; Glue's own arguments are ignored):
  --dataset              the dataset's id, e.g. business_licences                          required
  --dataset_declaration  its dataset.toml, local path or s3://bucket/key                     required
  --input_path           passed Parquet root (quality_check output)                          required
  --curated_path         curated root ending in "/": each output goes to <root><key>/ (Parquet,
                         Snappy, partitioned by its ``partition``) and, for an output with
                         ``csv = true``, ONE CSV file with a header to <root><key>_csv/         required
  --parameters           JSON object overriding declared [parameters], e.g. {"min_employees": 20}
                                                                                            declared
  --run_time             ISO timestamp; :report_date is its local date in dataset.timezone  now (UTC)
  --report_html_path     if set: the HTML run report (local path or s3://bucket/key)         unset
  --quality_report_path  the quality job's JSON report, for the HTML report's counts         unset
  --failed_rows_path     the quality job's failed rows, for the HTML report's examples       unset
  --stage                stage name shown in the HTML report                                 unset

Re-running on the same input gives the same output: Parquet partitions are overwritten (dynamic
partition overwrite). The partitions a run covers are the union of the partition values over all
its outputs; each output clears the covered partitions it writes no rows to, so no stale copy of an
earlier run survives. CSV folders are overwritten. Zero rows in (missing folder or no data files):
empty outputs, header-only CSVs.

The HTML run report (``dataset_etl.run_report``, the renderer ``dap local`` uses) is written last, after
every data output: the quality report's counts and rules, a few failed rows per rule (no PII column),
the dataset's chart (``dataset_etl.chart``), this job's timings. The answers to the business questions
come from the Athena named queries, which this job does not run: the deployed report says so instead.
It needs Jinja2, which Glue 5.0 does not provide: the job definition installs it with
``--additional-python-modules``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from dataset_etl import io, outputs
from dataset_etl.declaration import with_parameters
from dataset_etl.jobargs import (
    load_job_dataset,
    optional_text,
    parse_known,
    parse_parameters,
    parse_run_time,
)

if TYPE_CHECKING:
    from dataset_etl.declaration import Dataset


def configure(spark) -> None:
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    spark.conf.set("spark.sql.session.timeZone", "UTC")


def output_path(curated_path: str, key: str) -> str:
    return f"{curated_path}{key}/"


def output_csv_path(curated_path: str, key: str) -> str:
    return f"{curated_path}{key}_csv/"


def run(
    spark,
    dataset: Dataset,
    input_path: str,
    curated_path: str,
    *,
    parameters: Mapping[str, Any] | None = None,
    run_time: datetime | None = None,
    report_html_path: str | None = None,
    quality_report_path: str | None = None,
    failed_rows_path: str | None = None,
    stage: str | None = None,
) -> dict[str, Any]:
    """Write every declared output (and the HTML report when asked); returns row counts.

    ``parameters`` override the declared ``[parameters]`` (checked: names and types).
    """
    from pyspark import StorageLevel

    started = time.perf_counter()
    configure(spark)
    run_time = run_time or parse_run_time(None)
    curated_path = curated_path if curated_path.endswith("/") else curated_path + "/"
    params = with_parameters(dataset, parameters or {}, where="parameters")
    passed = io.read_parquet_or_empty(spark, input_path, dataset.cleaned_ddl()).select(*dataset.column_names)
    passed = passed.persist(StorageLevel.MEMORY_AND_DISK)
    frames = outputs.build_outputs(passed, dataset, params, run_time)
    for frame in frames.values():
        frame.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        rows_in = passed.count()
        counts: dict[str, int] = {}
        written: dict[str, list[Any]] = {}
        for output in dataset.outputs:
            by_part = frames[output.key].groupBy(output.partition).count().collect()
            counts[output.key] = sum(int(r["count"]) for r in by_part)
            written[output.key] = [r[output.partition] for r in by_part]
        covered, clear = outputs.partitions_to_clear(written)
        for output in dataset.outputs:
            frame = frames[output.key]
            io.write_partitioned(
                frame, output_path(curated_path, output.key), output.partition, clear=clear[output.key]
            )
            if output.csv:
                io.write_single_csv(
                    outputs.ordered_for_csv(frame, output), output_csv_path(curated_path, output.key)
                )
        chart_rows = []
        if report_html_path and dataset.chart is not None:
            chart_output = dataset.output(dataset.chart.output)
            chart_rows = outputs.ordered_for_csv(frames[chart_output.key], chart_output).collect()
    finally:
        for frame in frames.values():
            frame.unpersist()
        passed.unpersist()
    result: dict[str, Any] = {"dataset": dataset.id, "rows_in": rows_in}
    result.update({f"{key}_rows": n for key, n in counts.items()})
    result.update(
        {
            "years": covered,
            "report_date": outputs.local_report_date(run_time, dataset.timezone).isoformat(),
            "parameters": dict(params),
        }
    )
    if report_html_path:
        write_run_report(
            spark,
            dataset,
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
    dataset: Dataset,
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
    from dataset_etl import chart, run_report

    started = time.perf_counter()
    quality = io.read_json(quality_report_path) if quality_report_path else None
    examples = {}
    if failed_rows_path:
        ddl = dataset.cleaned_ddl() + ", `failed_rules` array<string>"
        examples = run_report.failure_examples(
            io.read_parquet_or_empty(spark, failed_rows_path, ddl), dataset
        )
    steps = {**steps, "failure_examples": round(time.perf_counter() - started, 3)}
    png = None
    if dataset.chart is not None:
        started = time.perf_counter()
        png = chart.chart_png(
            dataset.chart,
            chart_rows,
            report_date=date.fromisoformat(result["report_date"]),
            parameters=result["parameters"],
        )
        steps["chart"] = round(time.perf_counter() - started, 3)
    doc = run_report.deployed_report_document(
        quality,
        {**result, "run_time": run_time.isoformat()},
        dataset,
        stage=stage or "-",
        steps=steps,
        examples=examples,
    )
    html = run_report.render_run_report(doc, dataset, chart_png=png, origin="Glue job summarize")
    return io.write_text(html, report_html_path, content_type="text/html; charset=utf-8")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="summarize", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--dataset_declaration", required=True)
    p.add_argument("--input_path", required=True)
    p.add_argument("--curated_path", required=True)
    p.add_argument("--parameters", default=None)
    p.add_argument("--run_time", default=None)
    p.add_argument("--report_html_path", default=None)
    p.add_argument("--quality_report_path", default=None)
    p.add_argument("--failed_rows_path", default=None)
    p.add_argument("--stage", default=None)
    return p


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_known(build_parser(), sys.argv[1:] if argv is None else argv)
    dataset = load_job_dataset(args.dataset, args.dataset_declaration)
    parameters = parse_parameters(args.parameters, dataset)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    return run(
        spark,
        dataset,
        args.input_path,
        args.curated_path,
        parameters=parameters,
        run_time=parse_run_time(optional_text(args.run_time)),
        report_html_path=optional_text(args.report_html_path),
        quality_report_path=optional_text(args.quality_report_path),
        failed_rows_path=optional_text(args.failed_rows_path),
        stage=optional_text(args.stage),
    )


if __name__ == "__main__":
    main()
