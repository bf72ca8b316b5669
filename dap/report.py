"""The summary chart from the curated summary CSV, for ``dap local``, ``dap report`` and ``--from-s3``.

The drawing itself (one house style: title, both axes labelled with units, readable dates, the report
date and data source in a caption) is ``licence_etl.chart``, shared with the Glue summary job, which
embeds the same chart in the deployed HTML run report. This module reads the summary CSV
(``summary_csv/``, one file with a header, columns of ``licence_etl.summary.SUMMARY_COLUMNS``) so the
same function serves the local run (``local_run/curated/summary_csv/``) and ``dap report --from-s3``
(the deployed curated bucket).

The CSV is read with the ``csv`` module: a blank ``avg_fee_paid`` (no known fee that day) is a gap in
the fee line, not a zero. ``--from-s3`` finds the curated bucket through the storage stack's outputs
(``dap.aws.deployed``).
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from licence_etl.chart import (  # noqa: F401  (re-exported: the chart's public names)
    DENSE_DAYS,
    EMPLOYEES_COLOUR,
    FEE_COLOUR,
    ROLLING_DAYS,
    SummaryPoint,
    draw_chart,
    rolling_mean,
)

REQUIRED_COLUMNS = ("issue_date", "max_number_of_employees", "avg_fee_paid")
STORAGE_STACK_ROLE = "storage"
CURATED_BUCKET_OUTPUT = "CuratedBucketName"


class ChartError(ValueError):
    """The summary CSV cannot be charted (message: one line)."""


@dataclass(frozen=True)
class ChartInfo:
    path: Path
    width: int
    height: int
    days: int
    first_day: date | None
    last_day: date | None
    report_date: date | None = None


def _number(text: str | None, kind: type) -> Any:
    text = (text or "").strip()
    if not text:
        return None
    return kind(float(text)) if kind is int else kind(text)


def read_summary(csv_path: str | Path) -> tuple[list[SummaryPoint], date | None]:
    """(day-sorted points, the latest ``report_date`` in the file or None); raises :class:`ChartError`
    if the file is not a summary CSV."""
    path = Path(csv_path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ChartError(f"{path.name}: not a summary CSV, missing column(s) {', '.join(missing)}")
        points, report_dates = [], set()
        for line_no, row in enumerate(reader, start=2):
            try:
                points.append(
                    SummaryPoint(
                        date.fromisoformat(row["issue_date"].strip()),
                        _number(row["max_number_of_employees"], int),
                        _number(row["avg_fee_paid"], float),
                    )
                )
                if (row.get("report_date") or "").strip():
                    report_dates.add(date.fromisoformat(row["report_date"].strip()))
            except (ValueError, AttributeError) as exc:
                raise ChartError(f"{path.name}: line {line_no}: {exc}") from None
    return sorted(points, key=lambda p: p.issue_date), max(report_dates, default=None)


def read_summary_csv(csv_path: str | Path) -> list[SummaryPoint]:
    """The summary rows sorted by day; raises :class:`ChartError` if the file is not a summary CSV."""
    return read_summary(csv_path)[0]


def draw_summary_chart(
    csv_path: str | Path,
    png_path: str | Path,
    *,
    min_employees: int | None = None,
    source: str | None = None,
    report_date: date | None = None,
    dpi: int = 110,
) -> ChartInfo:
    """Draw the chart of ``csv_path`` into ``png_path`` (folders created); returns its size in pixels.

    The caption's report date is ``report_date``, else the CSV's own ``report_date`` column.
    """
    points, csv_report_date = read_summary(csv_path)
    when = report_date or csv_report_date
    width, height = draw_chart(
        points, png_path, min_employees=min_employees, report_date=when, source=source, dpi=dpi
    )
    first = points[0].issue_date if points else None
    last = points[-1].issue_date if points else None
    return ChartInfo(Path(png_path), width, height, len(points), first, last, when)


def png_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; raises ValueError if the file is not a PNG."""
    head = Path(path).read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path}: not a PNG file")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


# -- the deployed platform ----------------------------------------------------------------------------
def download_summary_csv(stage: str, dest_dir: str | Path, *, session=None) -> tuple[str, Path]:
    """Download the newest CSV under ``summary_csv/`` of the stage's curated bucket.

    Returns ``(s3 uri, local path)``. The bucket is the ``CuratedBucketName`` output of the stage's
    storage stack (``<prefix>-<stage>-storage``) in its primary region.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from dap.aws.deployed import Deployed
    from dap.cli import CommandError
    from stacks.layout import SUMMARY_CSV_PREFIX

    deployed = Deployed.from_stage(stage, session=session)
    bucket = deployed.output(STORAGE_STACK_ROLE, CURATED_BUCKET_OUTPUT)
    s3 = deployed.client("s3")
    try:
        found = [
            obj
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=SUMMARY_CSV_PREFIX)
            for obj in page.get("Contents", [])
            if obj["Key"].endswith(".csv")
        ]
        if not found:
            raise CommandError(
                f"no summary CSV under s3://{bucket}/{SUMMARY_CSV_PREFIX}: run the pipeline first (dap run)"
            )
        newest = max(found, key=lambda o: (o["LastModified"], o["Key"]))
        local = Path(dest_dir) / Path(newest["Key"]).name
        local.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, newest["Key"], str(local))
    except (ClientError, BotoCoreError) as exc:
        raise CommandError(f"cannot read s3://{bucket}/{SUMMARY_CSV_PREFIX}: {exc}") from None
    return f"s3://{bucket}/{newest['Key']}", local


def chart_from_s3(stage: str, png_path: str | Path, *, session=None) -> tuple[str, ChartInfo]:
    """Download the deployed summary CSV of ``stage`` and draw the chart; returns (s3 uri, info)."""
    from dap.local_run import stage_config

    min_employees = stage_config(stage).quality.min_employees
    with tempfile.TemporaryDirectory(prefix="dap-report-") as tmp:
        uri, local = download_summary_csv(stage, tmp, session=session)
        info = draw_summary_chart(local, png_path, min_employees=min_employees, source=uri)
    return uri, info
