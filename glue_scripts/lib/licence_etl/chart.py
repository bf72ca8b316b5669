"""The summary chart: the largest workforce and the average fee paid per issue day, one house style.

Lives in the shared package because two places draw it: ``dap local`` / ``dap report`` (from the
curated summary CSV, ``dap.report``) and the Glue summary job (from the rows it has just written, for
the HTML run report under the curated bucket). One function and one style dictionary, so a chart of
any dataset, run or stage looks the same.

Pure matplotlib with the Agg canvas (no display, no global backend switch, style applied in an
``rc_context`` so no ambient matplotlibrc changes the look). Glue 5.0 provides matplotlib (3.9.0 in
awslabs/aws-glue-libs glue-5.0 base-requirements.txt); it is imported only inside the functions.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

EMPLOYEES_COLOUR = "#1f77b4"
FEE_COLOUR = "#d95f02"
INK = "#222222"
MUTED = "#555555"
DENSE_DAYS = 120  # more issue days than this: no stems, a faint daily fee and its rolling mean
ROLLING_DAYS = 30
FIGSIZE = (12, 6)  # inches; at 110 dpi a 1320 x 660 PNG
DPI = 110
DATA_SOURCE = "City of Vancouver Open Data, business-licences (Open Government Licence - Vancouver)"
TITLE = "Business licences, City of Vancouver: largest workforce and average fee per issue day"
EMPLOYEES_LABEL = "Largest workforce that day (employees)"
FEE_LABEL = "Average fee paid that day (CAD)"
DATE_LABEL = "Issue date (local date, America/Vancouver)"

# The house style: every chart is drawn inside this context.
STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10.5,
    "axes.labelcolor": INK,
    "axes.edgecolor": "#888888",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "xtick.color": INK,
    "ytick.color": INK,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.7,
    "legend.frameon": False,
    "legend.fontsize": 9.5,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


@dataclass(frozen=True)
class SummaryPoint:
    issue_date: date
    max_employees: int | None
    avg_fee: float | None


def points_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[SummaryPoint]:
    """Day-sorted points from summary rows (dicts or Spark Rows with the SUMMARY_COLUMNS names)."""
    points = [
        SummaryPoint(
            r["issue_date"],
            None if r["max_number_of_employees"] is None else int(r["max_number_of_employees"]),
            None if r["avg_fee_paid"] is None else float(r["avg_fee_paid"]),
        )
        for r in rows
        if r["issue_date"] is not None
    ]
    return sorted(points, key=lambda p: p.issue_date)


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


def caption(report_date: date | None, source: str | None = None) -> str:
    """The line under the chart: when the data was summarised and where it comes from."""
    when = f"Report date {report_date:%d %b %Y} (America/Vancouver)" if report_date else "Report date unknown"
    return f"{when}.  Data: {DATA_SOURCE}" + (f"; {source}" if source else "") + "."


def _date_axis(ax, first: date | None, last: date | None) -> None:
    """Month-and-year ticks over long spans, day-month-year over short ones: no bare '2024' or 'Oct'."""
    from matplotlib.dates import AutoDateLocator, DateFormatter, MonthLocator

    months = (last.year - first.year) * 12 + last.month - first.month if first and last else 0
    if months >= 4:
        ax.xaxis.set_major_locator(MonthLocator(bymonthday=1, interval=-(-months // 8)))
        ax.xaxis.set_major_formatter(DateFormatter("%b %Y"))
    else:
        ax.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=8))
        ax.xaxis.set_major_formatter(DateFormatter("%d %b %Y"))


def draw_chart(
    points: list[SummaryPoint],
    out: str | Path | IO[bytes],
    *,
    min_employees: int | None = None,
    report_date: date | None = None,
    source: str | None = None,
    dpi: int = DPI,
) -> tuple[int, int]:
    """Draw ``points`` (day-sorted) as a PNG into ``out`` (a path, folders created, or a binary file).

    Returns the PNG's (width, height) in pixels.
    """
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    with rc_context(STYLE):
        fig = Figure(figsize=FIGSIZE, dpi=dpi, layout="constrained")
        FigureCanvasAgg(fig)
        ax_emp = fig.add_subplot()
        ax_fee = ax_emp.twinx()

        who = (
            f"Issued licences with more than {min_employees} employees"
            if min_employees is not None
            else "Issued licences in the summary"
        )
        first = points[0].issue_date if points else None
        last = points[-1].issue_date if points else None
        span = f"{first:%d %b %Y} to {last:%d %b %Y}, {len(points)} issue days" if points else "no data"
        fig.suptitle(TITLE, fontsize=13.5, fontweight="bold", color=INK)
        ax_emp.set_title(f"{who}, {span}", color=MUTED)

        emp = [(p.issue_date, p.max_employees) for p in points if p.max_employees is not None]
        fee = [(p.issue_date, p.avg_fee) for p in points if p.avg_fee is not None]
        dense = len(points) > DENSE_DAYS
        handles = []
        if emp:
            days, values = zip(*emp, strict=True)
            if not dense:
                ax_emp.vlines(days, 0, values, colors=EMPLOYEES_COLOUR, alpha=0.35, linewidth=1.2)
            handles.append(
                ax_emp.scatter(
                    days,
                    values,
                    s=8 if dense else 16,
                    color=EMPLOYEES_COLOUR,
                    zorder=3,
                    alpha=0.6 if dense else 1.0,
                    label="Largest workforce that day (employees, left axis)",
                )
            )
        if fee:
            # One line through the days with a known average fee (a day without one is skipped).
            days, values = zip(*fee, strict=True)
            (line,) = ax_fee.plot(
                days,
                values,
                color=FEE_COLOUR,
                linewidth=0.8 if dense else 1.4,
                alpha=0.35 if dense else 1.0,
                marker=None if dense else "o",
                markersize=3.5,
                label="Average fee paid that day (CAD, right axis)",
            )
            handles.append(line)
            if dense:
                (trend,) = ax_fee.plot(
                    days,
                    rolling_mean(fee, ROLLING_DAYS),
                    color=FEE_COLOUR,
                    linewidth=2.4,
                    label=f"{ROLLING_DAYS}-day rolling mean of the fee (CAD, right axis)",
                )
                handles.append(trend)

        ax_emp.set_xlabel(DATE_LABEL)
        ax_emp.set_ylabel(EMPLOYEES_LABEL, color=EMPLOYEES_COLOUR)
        ax_fee.set_ylabel(FEE_LABEL, color=FEE_COLOUR)
        ax_emp.tick_params(axis="y", colors=EMPLOYEES_COLOUR)
        ax_fee.tick_params(axis="y", colors=FEE_COLOUR)
        ax_emp.set_ylim(bottom=0)
        ax_fee.set_ylim(bottom=0)
        ax_emp.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax_emp.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax_fee.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        _date_axis(ax_emp, first, last)
        ax_emp.grid(axis="y")
        ax_emp.set_axisbelow(True)
        if handles:
            # Below the date axis, inside the axes' layout box so the caption under it never overlaps.
            ax_emp.legend(
                handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncols=len(handles)
            )
        else:
            ax_emp.text(0.5, 0.5, "No summary rows to draw", transform=ax_emp.transAxes, ha="center")
        fig.supxlabel(caption(report_date, source), color=MUTED, fontsize=9)

        if isinstance(out, str | Path):
            Path(out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, format="png")
    width, height = (round(float(v)) for v in fig.get_size_inches() * fig.dpi)
    return width, height


def chart_png(points: list[SummaryPoint], **kwargs: Any) -> bytes:
    """The chart as PNG bytes (for embedding in the HTML report)."""
    buffer = io.BytesIO()
    draw_chart(points, buffer, **kwargs)
    return buffer.getvalue()
