"""A dataset's chart, for ``dap local``, ``dap report`` and ``dap report --from-s3``.

Every dataset may declare a ``[chart]`` of one of its curated outputs (``datasets/<id>/dataset.toml``:
``kind``, ``output``, and the output columns it draws). The drawing itself (one house style: title,
labelled axes with units, readable dates, the report date and data source in a caption) is
``dataset_etl.chart``, shared with the Glue summary job, which embeds the same chart in the deployed
HTML run report. This module gets the chart output's rows to it:

* ``dap local``: from the output's Parquet it has just written (:func:`chart_rows_from_parquet`);
* ``dap report``: from the output's CSV when it declares ``csv = true`` (no Spark needed,
  :func:`chart_rows_from_csv`), else from its Parquet;
* ``dap report --from-s3``: from the output's CSV in the stage's curated bucket (found through the
  storage stack's outputs, ``dap.aws.deployed``), ``<id>/<output>_csv/``.

The CSV is read with the ``csv`` module and typed by the output's declared column types: a blank value
is a missing one (a gap in a line), not a zero.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataset_etl.declaration import Dataset
    from pyspark.sql import SparkSession

STORAGE_STACK_ROLE = "storage"
CURATED_BUCKET_OUTPUT = "CuratedBucketName"


class ChartError(ValueError):
    """The chart's rows cannot be read or drawn (message: one line)."""


@dataclass(frozen=True)
class ChartInfo:
    path: Path
    width: int
    height: int
    rows: int
    report_date: date | None = None


def chart_columns(dataset: Dataset) -> tuple[str, ...]:
    """The columns of the chart's output the chart reads (its settings that name output columns)."""
    if dataset.chart is None:
        return ()
    names = dataset.output(dataset.chart.output).names
    return tuple(dict.fromkeys(v for v in dataset.chart.settings.values() if v in names))


_PARSERS = {
    "date": date.fromisoformat,
    "timestamp": datetime.fromisoformat,
    "int": int,
    "bigint": int,
    "double": float,
    "boolean": lambda text: text.lower() == "true",
    "string": str,
}


def chart_rows_from_csv(csv_path: str | Path, dataset: Dataset) -> list[dict[str, Any]]:
    """The chart output's rows from its CSV (header + rows, as summarize writes it), typed by the
    declaration; raises :class:`ChartError` if the file is not that output's CSV."""
    path = Path(csv_path)
    output = dataset.output(dataset.chart.output)
    wanted = chart_columns(dataset)
    types = {c.name: c.type for c in output.columns}
    if "report_date" in types:
        wanted = (*wanted, "report_date") if "report_date" not in wanted else wanted
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in wanted if c not in (reader.fieldnames or [])]
        if missing:
            raise ChartError(
                f"{path.name}: not a CSV of output {output.key!r}, missing column(s) {', '.join(missing)}"
            )
        rows = []
        for line_no, raw in enumerate(reader, start=2):
            row = {}
            for name in wanted:
                text = (raw[name] or "").strip()
                try:
                    row[name] = _PARSERS[types[name]](text) if text else None
                except ValueError as exc:
                    raise ChartError(f"{path.name}: line {line_no}: {name}: {exc}") from None
            rows.append(row)
    return rows


def chart_rows_from_parquet(spark: SparkSession, dataset: Dataset, path: str | Path) -> list[dict[str, Any]]:
    """The chart output's rows from its Parquet folder (none when the folder holds no data)."""
    from dataset_etl import io

    output = dataset.output(dataset.chart.output)
    wanted = list(chart_columns(dataset))
    if "report_date" in output.names and "report_date" not in wanted:
        wanted.append("report_date")
    df = io.read_parquet_or_empty(spark, str(Path(path).resolve()), output.ddl())
    return [r.asDict() for r in df.select(*[f"`{c}`" for c in wanted]).collect()]


def _latest_report_date(rows: Sequence[Mapping[str, Any]]) -> date | None:
    dates = [r["report_date"] for r in rows if isinstance(r.get("report_date"), date)]
    return max(dates, default=None)


def draw_dataset_chart(
    dataset: Dataset,
    rows: Sequence[Mapping[str, Any]],
    png_path: str | Path,
    *,
    report_date: date | None = None,
    parameters: Mapping[str, Any] | None = None,
    source: str | None = None,
) -> ChartInfo:
    """Draw the dataset's chart of ``rows`` into ``png_path`` (folders created); returns its size.

    The caption's report date is ``report_date``, else the rows' own latest ``report_date``.
    """
    from dataset_etl.chart import draw_chart

    if dataset.chart is None:
        raise ChartError(f"{dataset.folder}/dataset.toml declares no [chart]")
    when = report_date or _latest_report_date(rows)
    params = dict(dataset.parameters) if parameters is None else dict(parameters)
    Path(png_path).parent.mkdir(parents=True, exist_ok=True)
    width, height = draw_chart(
        dataset.chart, list(rows), png_path, report_date=when, parameters=params, source=source
    )
    return ChartInfo(Path(png_path), width, height, len(rows), when)


def png_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; raises ValueError if the file is not a PNG."""
    head = Path(path).read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path}: not a PNG file")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


# -- the deployed platform ----------------------------------------------------------------------------
def download_output_csv(
    stage: str, dataset: Dataset, key: str, dest_dir: str | Path, *, session=None
) -> tuple[str, Path]:
    """Download the newest CSV of output ``key`` (``<id>/<key>_csv/``) of the stage's curated bucket.

    Returns ``(s3 uri, local path)``. The bucket is the ``CuratedBucketName`` output of the stage's
    storage stack (``<prefix>-<stage>-storage``) in its primary region.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from dap.aws.deployed import Deployed
    from dap.cli import CommandError
    from stacks.layout import DatasetLayout

    prefix = DatasetLayout(dataset.id).output_csv(key)
    deployed = Deployed.from_stage(stage, session=session)
    bucket = deployed.output(STORAGE_STACK_ROLE, CURATED_BUCKET_OUTPUT)
    s3 = deployed.client("s3")
    try:
        found = [
            obj
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
            if obj["Key"].endswith(".csv")
        ]
        if not found:
            raise CommandError(f"no {key} CSV under s3://{bucket}/{prefix}: run the pipeline first (dap run)")
        newest = max(found, key=lambda o: (o["LastModified"], o["Key"]))
        local = Path(dest_dir) / Path(newest["Key"]).name
        local.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, newest["Key"], str(local))
    except (ClientError, BotoCoreError) as exc:
        raise CommandError(f"cannot read s3://{bucket}/{prefix}: {exc}") from None
    return f"s3://{bucket}/{newest['Key']}", local


def chart_from_s3(
    stage: str, dataset: Dataset, png_path: str | Path, *, session=None
) -> tuple[str, ChartInfo]:
    """Download the deployed CSV of the dataset's chart output and draw the chart; (s3 uri, info)."""
    from dap.cli import CommandError
    from dap.local_run import stage_config, stage_parameters

    if dataset.chart is None:
        raise CommandError(f"{dataset.folder}/dataset.toml declares no [chart]")
    output = dataset.output(dataset.chart.output)
    if not output.csv:
        raise CommandError(
            f"output {output.key!r} of {dataset.id} writes no CSV (csv = false): --from-s3 draws from the CSV"
        )
    parameters = stage_parameters(stage_config(stage), dataset)
    with tempfile.TemporaryDirectory(prefix="dap-report-") as tmp:
        uri, local = download_output_csv(stage, dataset, output.key, tmp, session=session)
        try:
            rows = chart_rows_from_csv(local, dataset)
        except ChartError as exc:
            raise CommandError(str(exc)) from None
        info = draw_dataset_chart(dataset, rows, png_path, parameters=parameters, source=uri)
    return uri, info
