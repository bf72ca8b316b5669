"""A dataset's chart (``[chart]`` of its dataset.toml), drawn from one curated output, one house style.

Lives in the shared package because two places draw it: ``dap local`` / ``dap report`` (from the
curated output) and the Glue summary job (from the rows it has just written, for the HTML run report
under the curated bucket). One style dictionary, so a chart of any dataset, run or stage looks the same.

Kinds (``chart.kind``; ``chart.settings`` name the output's columns and the axis labels):

* ``daily_two_measures``: one point per day (``date``): ``bars`` as stems and dots on the left axis,
  ``line`` as a line on the right axis; over ``DENSE_DAYS`` days the line fades and a rolling mean is
  drawn over it. The business licences' chart (largest workforce and average fee per issue day).
* ``bar``: horizontal bars of ``value`` by ``category``, only the rows of the latest ``latest`` value
  (e.g. the latest year), largest first (at most ``MAX_BARS``); the title says which one.

``chart.subtitle`` (optional) is filled with the run's parameters (``{min_employees}``). The caption
names the report date (in the dataset's time zone) and the dataset's source.

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
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataset_etl.declaration import Chart

EMPLOYEES_COLOUR = "#1f77b4"  # the first measure (bars) and the bar chart
FEE_COLOUR = "#d95f02"  # the second measure (line)
INK = "#222222"
MUTED = "#555555"
DENSE_DAYS = 120  # more days than this: no stems, a faint daily line and its rolling mean
ROLLING_DAYS = 30
MAX_BARS = 25
FIGSIZE = (12, 6)  # inches; at 110 dpi a 1320 x 660 PNG
DPI = 110

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
class DailyPoint:
    day: date
    bars: float | None
    line: float | None


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) or hasattr(row, "__getitem__") else getattr(row, name)


def daily_points(chart: Chart, rows: Iterable[Any]) -> list[DailyPoint]:
    """Day-sorted points of a ``daily_two_measures`` chart from output rows (dicts or Spark Rows)."""
    s = chart.settings
    points = []
    for r in rows:
        day, bars, line = _get(r, s["date"]), _get(r, s["bars"]), _get(r, s["line"])
        if day is None:
            continue
        if isinstance(day, str):
            day = date.fromisoformat(day)
        points.append(
            DailyPoint(
                day, None if bars in (None, "") else float(bars), None if line in (None, "") else float(line)
            )
        )
    return sorted(points, key=lambda p: p.day)


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


def caption(chart: Chart, report_date: date | None, source: str | None = None) -> str:
    """The line under the chart: when the data was summarised and where it comes from."""
    zone = chart.timezone or "UTC"
    when = f"Report date {report_date:%d %b %Y} ({zone})" if report_date else "Report date unknown"
    data = f"  Data: {chart.source}" if chart.source else ""
    extra = (f"; {source}" if chart.source else f"  {source}") if source else ""
    return f"{when}.{data}{extra}" + ("." if data or extra else "")


def subtitle(chart: Chart, parameters: Mapping[str, Any] | None) -> str | None:
    """``chart.subtitle`` with ``{parameter}`` filled in (None when the chart declares none)."""
    if not chart.subtitle:
        return None
    return chart.subtitle.format_map(_Placeholders(parameters or {}))


class _Placeholders(dict):
    """Format values; a parameter the caller did not pass stays visible as ``{name}``."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _axis_note(label: str, side: str) -> str:
    """'Average fee (CAD)' -> 'Average fee (CAD, right axis)'; 'Fee' -> 'Fee (right axis)'."""
    return f"{label[:-1]}, {side} axis)" if label.endswith(")") else f"{label} ({side} axis)"


def _unit(label: str) -> str | None:
    return label[label.rindex("(") + 1 : -1] if label.endswith(")") and "(" in label else None


def _day_noun(date_column: str) -> str:
    """How the points are counted: an ``issue_date`` column counts 'issue days'."""
    stem = date_column.removesuffix("_date") if date_column.endswith("_date") else ""
    return f"{stem.replace('_', ' ')} days" if stem else "days"


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


def _thousands(v: float, _pos: Any = None) -> str:
    return f"{v:,.0f}"


def _draw_daily(fig, chart: Chart, rows: Iterable[Any], who: str | None) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    s = chart.settings
    points = daily_points(chart, rows)
    ax_bars = fig.add_subplot()
    ax_line = ax_bars.twinx()
    first = points[0].day if points else None
    last = points[-1].day if points else None
    span = (
        f"{first:%d %b %Y} to {last:%d %b %Y}, {len(points)} {_day_noun(s['date'])}" if points else "no data"
    )
    fig.suptitle(chart.title, fontsize=13.5, fontweight="bold", color=INK)
    ax_bars.set_title(f"{who}, {span}" if who else span, color=MUTED)

    bars = [(p.day, p.bars) for p in points if p.bars is not None]
    line = [(p.day, p.line) for p in points if p.line is not None]
    dense = len(points) > DENSE_DAYS
    handles = []
    if bars:
        days, values = zip(*bars, strict=True)
        if not dense:
            ax_bars.vlines(days, 0, values, colors=EMPLOYEES_COLOUR, alpha=0.35, linewidth=1.2)
        handles.append(
            ax_bars.scatter(
                days,
                values,
                s=8 if dense else 16,
                color=EMPLOYEES_COLOUR,
                zorder=3,
                alpha=0.6 if dense else 1.0,
                label=_axis_note(s["bars_label"], "left"),
            )
        )
    if line:
        # One line through the days with a value (a day without one is skipped).
        days, values = zip(*line, strict=True)
        (drawn,) = ax_line.plot(
            days,
            values,
            color=FEE_COLOUR,
            linewidth=0.8 if dense else 1.4,
            alpha=0.35 if dense else 1.0,
            marker=None if dense else "o",
            markersize=3.5,
            label=_axis_note(s["line_label"], "right"),
        )
        handles.append(drawn)
        if dense:
            unit = _unit(s["line_label"])
            (trend,) = ax_line.plot(
                days,
                rolling_mean(line, ROLLING_DAYS),
                color=FEE_COLOUR,
                linewidth=2.4,
                label=f"{ROLLING_DAYS}-day rolling mean ({unit + ', ' if unit else ''}right axis)",
            )
            handles.append(trend)

    ax_bars.set_xlabel(s["date_label"])
    ax_bars.set_ylabel(s["bars_label"], color=EMPLOYEES_COLOUR)
    ax_line.set_ylabel(s["line_label"], color=FEE_COLOUR)
    ax_bars.tick_params(axis="y", colors=EMPLOYEES_COLOUR)
    ax_line.tick_params(axis="y", colors=FEE_COLOUR)
    ax_bars.set_ylim(bottom=0)
    ax_line.set_ylim(bottom=0)
    ax_bars.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax_bars.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax_line.yaxis.set_major_formatter(FuncFormatter(_thousands))
    _date_axis(ax_bars, first, last)
    ax_bars.grid(axis="y")
    ax_bars.set_axisbelow(True)
    if handles:
        # Below the date axis, inside the axes' layout box so the caption under it never overlaps.
        ax_bars.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncols=len(handles))
    else:
        ax_bars.text(0.5, 0.5, f"No {chart.output} rows to draw", transform=ax_bars.transAxes, ha="center")


def latest_bars(chart: Chart, rows: Iterable[Any]) -> tuple[Any, list[tuple[str, float]], int]:
    """(latest value, [(category, value)] largest first, how many categories it has) for a ``bar`` chart."""
    s = chart.settings
    table = [(_get(r, s["latest"]), _get(r, s["category"]), _get(r, s["value"])) for r in rows]
    present = [t for t in table if t[0] is not None]
    if not present:
        return None, [], 0
    latest = max(t[0] for t in present)
    bars = [
        ("-" if c is None else str(c), float(v)) for when, c, v in present if when == latest and v is not None
    ]
    bars.sort(key=lambda b: (-b[1], b[0]))
    return latest, bars, len(bars)


def _draw_bar(fig, chart: Chart, rows: Iterable[Any], who: str | None) -> None:
    from matplotlib.ticker import FuncFormatter

    s = chart.settings
    latest, bars, total = latest_bars(chart, rows)
    shown = bars[:MAX_BARS]
    ax = fig.add_subplot()
    which = f" ({s['latest'].replace('_', ' ')} {latest})" if latest is not None else ""
    fig.suptitle(f"{chart.title}{which}", fontsize=13.5, fontweight="bold", color=INK)
    category = s["category"].replace("_", " ")
    if total:
        span = (
            f"{total} {category} value(s)" if len(shown) == total else f"the {len(shown)} largest of {total}"
        )
    else:
        span = "no data"
    ax.set_title(f"{who}, {span}" if who else span, color=MUTED)
    if shown:
        names = [name for name, _ in shown]
        values = [value for _, value in shown]
        positions = range(len(shown))
        ax.barh(positions, values, color=EMPLOYEES_COLOUR, height=0.7)
        ax.set_yticks(list(positions), labels=names)
        ax.invert_yaxis()  # the largest at the top
        for y, value in zip(positions, values, strict=True):
            ax.text(value, y, f" {value:,.0f}", va="center", ha="left", fontsize=8.5, color=INK)
        ax.margins(x=0.12)
    else:
        ax.set_yticks([])
        ax.text(0.5, 0.5, f"No {chart.output} rows to draw", transform=ax.transAxes, ha="center")
    ax.set_xlabel(s["value_label"])
    ax.set_ylabel(category.capitalize())
    ax.set_xlim(left=0)
    ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.grid(axis="x")
    ax.set_axisbelow(True)


_DRAW = {"daily_two_measures": _draw_daily, "bar": _draw_bar}


def draw_chart(
    chart: Chart,
    rows: Iterable[Any],
    out: str | Path | IO[bytes],
    *,
    report_date: date | None = None,
    parameters: Mapping[str, Any] | None = None,
    source: str | None = None,
    dpi: int = DPI,
) -> tuple[int, int]:
    """Draw ``chart`` from its output's ``rows`` (dicts or Spark Rows) as a PNG into ``out`` (a path,
    folders created, or a binary file). ``source`` adds to the caption (e.g. the file drawn from).

    Returns the PNG's (width, height) in pixels.
    """
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if chart.kind not in _DRAW:
        raise ValueError(f"no drawing for chart kind {chart.kind!r}")
    with rc_context(STYLE):
        fig = Figure(figsize=FIGSIZE, dpi=dpi, layout="constrained")
        FigureCanvasAgg(fig)
        _DRAW[chart.kind](fig, chart, list(rows), subtitle(chart, parameters))
        fig.supxlabel(caption(chart, report_date, source), color=MUTED, fontsize=9)
        if isinstance(out, str | Path):
            Path(out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, format="png")
    width, height = (round(float(v)) for v in fig.get_size_inches() * fig.dpi)
    return width, height


def chart_png(
    chart: Chart,
    rows: Iterable[Any],
    *,
    report_date: date | None,
    parameters: Mapping[str, Any] | None,
    **kwargs: Any,
) -> bytes:
    """The chart as PNG bytes (for embedding in the HTML report)."""
    buffer = io.BytesIO()
    draw_chart(chart, rows, buffer, report_date=report_date, parameters=parameters, **kwargs)
    return buffer.getvalue()
