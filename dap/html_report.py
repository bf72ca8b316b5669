"""``<out>/<id>/report.html``: a local run's HTML report, written by ``dap local`` and ``dap report --html``.

The page is rendered by ``dataset_etl.run_report`` (the renderer the Glue summary job uses for the
deployed ``<id>/reports/latest.html``) from the dataset's declaration (title, source, answers, rules),
``report.json`` and ``chart.png``, so regenerating it needs neither Spark nor the run's Parquet. The
failure examples are the one thing report.json does not otherwise hold: ``dap local`` takes them from
the failed rows (one small Spark job; the renderer's choice of columns, never a PII column) and stores
them in report.json under ``failure_examples`` before the page is rendered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataset_etl.declaration import Dataset
    from pyspark.sql import SparkSession

HTML_NAME = "report.html"
REPORT_JSON = "report.json"
CHART_PNG = "chart.png"


def failure_examples_at(
    spark: SparkSession, failed_path: str | Path, dataset: Dataset
) -> dict[str, list[dict[str, Any]]]:
    """A few failed rows per failed rule, from the quality job's failed output (empty if none)."""
    from dataset_etl import io
    from dataset_etl.run_report import failure_examples

    ddl = dataset.cleaned_ddl() + ", `failed_rules` array<string>"
    return failure_examples(io.read_parquet_or_empty(spark, str(failed_path), ddl), dataset)


def render_local_report(report: dict[str, Any], dataset: Dataset, chart: Path | None) -> str:
    """The page of a local run's report document, with the chart PNG embedded when there is one."""
    from dataset_etl.run_report import render_run_report

    png = chart.read_bytes() if chart is not None and chart.is_file() else None
    return render_run_report(report, dataset, chart_png=png, origin=report.get("tool") or "dap local")


def write_html_report(
    run_dir: str | Path,
    dataset: Dataset,
    report: dict[str, Any] | None = None,
    *,
    out: str | Path | None = None,
) -> Path:
    """Write ``<run_dir>/report.html`` (or ``out``) from ``report`` (default: ``<run_dir>/report.json``).

    ``run_dir`` is one dataset's run folder (``<out>/<id>``). Raises ``FileNotFoundError`` when there is
    no report to render.
    """
    root = Path(run_dir)
    if report is None:
        report = json.loads((root / REPORT_JSON).read_text(encoding="utf-8"))
    target = Path(out) if out else root / HTML_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_local_report(report, dataset, root / CHART_PNG), encoding="utf-8")
    return target.resolve()
