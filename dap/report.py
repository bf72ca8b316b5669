"""The summary chart: maximum number of employees and average fee paid per issue day.

The seed platform's figure, drawn from the curated summary CSV (``summary_csv/``, one file with a
header, columns of ``licence_etl.summary.SUMMARY_COLUMNS``) so the same function serves the local run
(``local_run/curated/summary_csv/``) and ``dap report --from-s3`` (the deployed curated bucket).

Pure matplotlib with the Agg canvas (no display, no global backend switch). The CSV is read with the
``csv`` module: a blank ``avg_fee_paid`` (no known fee that day) is a gap in the fee line, not a zero.

``--from-s3`` finds the curated bucket through the storage stack's outputs (``dap.aws.deployed``).
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

EMPLOYEES_COLOUR = "#1f77b4"
FEE_COLOUR = "#d95f02"
REQUIRED_COLUMNS = ("issue_date", "max_number_of_employees", "avg_fee_paid")
STORAGE_STACK_ROLE = "storage"
CURATED_BUCKET_OUTPUT = "CuratedBucketName"
DENSE_DAYS = 120  # more issue days than this: the chart shows a rolling mean of the fee
ROLLING_DAYS = 30


class ChartError(ValueError):
    """The summary CSV cannot be charted (message: one line)."""


@dataclass(frozen=True)
class SummaryPoint:
    issue_date: date
    max_employees: int | None
    avg_fee: float | None


@dataclass(frozen=True)
class ChartInfo:
    path: Path
    width: int
    height: int
    days: int
    first_day: date | None
    last_day: date | None


def _number(text: str | None, kind: type) -> Any:
    text = (text or "").strip()
    if not text:
        return None
    return kind(float(text)) if kind is int else kind(text)


def rolling_mean(series: list[tuple[date, float]], days: int) -> list[float]:
    """For each (day, value) of a day-sorted series: the mean of the values within +-days/2 of it."""
    half = days / 2
    out, lo, hi, total = [], 0, 0, 0.0
    for day, _ in series:
        while hi < len(series) and (series[hi][0] - day).days <= half:
            total += series[hi][1]
            hi += 1
        while (day - series[lo][0]).days > half:
            total -= series[lo][1]
            lo += 1
        out.append(total / (hi - lo))
    return out


def read_summary_csv(csv_path: str | Path) -> list[SummaryPoint]:
    """The summary rows sorted by day; raises :class:`ChartError` if the file is not a summary CSV."""
    path = Path(csv_path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ChartError(f"{path.name}: not a summary CSV, missing column(s) {', '.join(missing)}")
        points = []
        for line_no, row in enumerate(reader, start=2):
            try:
                points.append(
                    SummaryPoint(
                        date.fromisoformat(row["issue_date"].strip()),
                        _number(row["max_number_of_employees"], int),
                        _number(row["avg_fee_paid"], float),
                    )
                )
            except (ValueError, AttributeError) as exc:
                raise ChartError(f"{path.name}: line {line_no}: {exc}") from None
    return sorted(points, key=lambda p: p.issue_date)


def draw_summary_chart(
    csv_path: str | Path,
    png_path: str | Path,
    *,
    min_employees: int | None = None,
    source: str | None = None,
    dpi: int = 110,
) -> ChartInfo:
    """Draw the chart of ``csv_path`` into ``png_path`` (folders created); returns its size in pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    points = read_summary_csv(csv_path)
    fig = Figure(figsize=(12, 6), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax_emp = fig.add_subplot()
    ax_fee = ax_emp.twinx()

    who = (
        f"issued licences with more than {min_employees} employees"
        if min_employees is not None
        else ("issued licences in the summary")
    )
    if points:
        first, last = points[0].issue_date, points[-1].issue_date
        span = f"{first:%d %b %Y} to {last:%d %b %Y} ({len(points)} issue days)"
    else:
        first = last = None
        span = "no data"
    fig.suptitle(
        "Business licences, City of Vancouver: largest workforce and average fee per issue day",
        fontsize=13,
        fontweight="bold",
    )
    credit = "Source: City of Vancouver Open Data, business-licences (Open Government Licence - Vancouver)"
    ax_emp.set_title(
        f"{who.capitalize()}, {span}\n{credit}" + (f"; {source}" if source else ""),
        fontsize=9.5,
        color="#444444",
        linespacing=1.5,
    )

    emp = [(p.issue_date, p.max_employees) for p in points if p.max_employees is not None]
    fee = [(p.issue_date, p.avg_fee) for p in points if p.avg_fee is not None]
    dense = len(points) > DENSE_DAYS  # then: no stems, faint daily fee, and its 30-day rolling mean
    handles = []
    if emp:
        days, values = zip(*emp, strict=True)
        if not dense:
            ax_emp.vlines(days, 0, values, colors=EMPLOYEES_COLOUR, alpha=0.35, linewidth=1.2)
        handles.append(
            ax_emp.scatter(
                days,
                values,
                s=8 if dense else 14,
                color=EMPLOYEES_COLOUR,
                zorder=3,
                alpha=0.6 if dense else 1.0,
                label="Maximum number of employees (left)",
            )
        )
    if fee:
        # One line through the days with a known average fee (a day without any known fee is skipped).
        days, values = zip(*fee, strict=True)
        (line,) = ax_fee.plot(
            days,
            values,
            color=FEE_COLOUR,
            linewidth=0.8 if dense else 1.3,
            alpha=0.35 if dense else 1.0,
            marker=None if dense else "o",
            markersize=3.5,
            label="Average fee paid per day (right)",
        )
        handles.append(line)
        if dense:
            (trend,) = ax_fee.plot(
                days,
                rolling_mean(fee, ROLLING_DAYS),
                color=FEE_COLOUR,
                linewidth=2.4,
                label=f"{ROLLING_DAYS}-day rolling mean of the fee (right)",
            )
            handles.append(trend)

    ax_emp.set_xlabel("Issue date (America/Vancouver)")
    ax_emp.set_ylabel("Maximum number of employees (people)", color=EMPLOYEES_COLOUR)
    ax_fee.set_ylabel("Average fee paid (CAD)", color=FEE_COLOUR)
    ax_emp.tick_params(axis="y", colors=EMPLOYEES_COLOUR)
    ax_fee.tick_params(axis="y", colors=FEE_COLOUR)
    ax_emp.set_ylim(bottom=0)
    ax_fee.set_ylim(bottom=0)
    ax_emp.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax_emp.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax_fee.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.0f}"))
    locator = AutoDateLocator()
    ax_emp.xaxis.set_major_locator(locator)
    ax_emp.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax_emp.grid(axis="y", alpha=0.3)
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False, fontsize=9)
    else:
        ax_emp.text(0.5, 0.5, "No summary rows to draw", transform=ax_emp.transAxes, ha="center")

    out = Path(png_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    width, height = (round(float(v)) for v in fig.get_size_inches() * fig.dpi)
    return ChartInfo(out, width, height, len(points), first, last)


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
