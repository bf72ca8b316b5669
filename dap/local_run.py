"""``dap local`` and ``dap report``: the whole pipeline on local Spark, then the named queries and a chart.

Every step is the deployed code, called in-process (no second implementation):

* check input: ``dap.portal_csv.check_portal_csv``; a bad file stops here, nothing is written;
* copy to raw: ``dap.portal_csv.normalize_portal_csv`` (what ``dap ingest`` uploads)
  -> ``raw/business_licences/<file>``;
* clean: ``dap.recipe_runner.run_recipe_job`` -> ``transformed/cleaned/business_licences/``;
* quality check: ``glue_scripts/quality_check.py`` ``run``
  -> ``transformed/quality_check/{passed,failed,reports}/``;
* summarize: ``glue_scripts/summarize.py`` ``run`` -> ``curated/{summary,summary_csv,licences}/``;
* named queries: every ``queries/*.sql`` (Athena SQL, checked by ``dap.athena_sql.check``) transpiled
  to Spark SQL by ``dap.athena_sql.to_spark``, over temp views named like the Glue tables
  -> ``athena_results/<query>.csv``;
* chart: ``dap.report.draw_summary_chart`` -> ``summary_chart.png``;

plus ``report.json`` (counts, rules, timings, answers). The tree mirrors the buckets: ``<bucket
purpose>/<key prefix from stacks.layout>``; the raw prefix already starts with ``raw/``, and the
query results go to ``athena_results/`` (``query-results/athena/`` in AWS, where Athena names files by
query id). Settings come from the stage config (``cdk.json``), as the deployed jobs get them.

A failed dataset rule (for example freshness on an old extract) is shown and recorded, and the run
goes on; ``--strict`` stops after the quality step instead, with exit code 3, as the stage's Glue job
does when its ``fail_on_dataset_rule`` is true.

The output folder is replaced on each run, but only if it is new, empty or an earlier ``dap local``
output (it then holds ``.dap-local-run``): the run never deletes a folder it did not write.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from dap.cli import CommandError
from stacks import layout

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from stacks.config import StageConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
GLUE_SCRIPTS = REPO_ROOT / "glue_scripts"
QUERIES_DIR = REPO_ROOT / "queries"
DEFAULT_INPUT = REPO_ROOT / "sample_data" / "business_licences_sample.csv"
DEFAULT_OUT = Path("local_run")
MARKER = ".dap-local-run"
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
SCREENSHOTS = ("report.png", "report_phone.png")  # of report.html, by its browser test or a reviewer
CHART_PNG = "summary_chart.png"
EXIT_DATASET_RULE = 3
ANSWER_QUERIES = ("average_fee_issued", "lowest_daily_average_fee", "employees_by_business_type")


# -- where things go ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LocalLayout:
    """The local twin of the buckets: ``<root>/<bucket purpose>/<prefix from stacks.layout>``."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / layout.RAW_PREFIX

    def _in(self, bucket: str, prefix: str) -> Path:
        return self.root / bucket / prefix

    @property
    def cleaned(self) -> Path:
        return self._in("transformed", layout.CLEANED_PREFIX)

    @property
    def passed(self) -> Path:
        return self._in("transformed", layout.PASSED_PREFIX)

    @property
    def failed(self) -> Path:
        return self._in("transformed", layout.FAILED_PREFIX)

    @property
    def quality_report(self) -> Path:
        return self._in("transformed", layout.QUALITY_REPORT_KEY)

    @property
    def summary(self) -> Path:
        return self._in("curated", layout.SUMMARY_PREFIX)

    @property
    def summary_csv(self) -> Path:
        return self._in("curated", layout.SUMMARY_CSV_PREFIX)

    @property
    def licences(self) -> Path:
        return self._in("curated", layout.LICENCES_PREFIX)

    @property
    def athena_results(self) -> Path:
        return self.root / "athena_results"

    @property
    def report(self) -> Path:
        return self.root / REPORT_JSON

    @property
    def chart(self) -> Path:
        return self.root / CHART_PNG

    @property
    def html(self) -> Path:
        return self.root / REPORT_HTML

    def owned(self) -> tuple[Path, ...]:
        """What a run (re)creates; removed before a new run writes."""
        return (
            self.raw,
            self.root / "transformed",
            self.root / "curated",
            self.athena_results,
            self.report,
            self.chart,
            self.html,
            *(self.root / name for name in SCREENSHOTS),
        )

    def rel(self, path: Path) -> str:
        try:
            text = path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)
        return text + "/" if path.is_dir() else text

    def summary_csv_file(self) -> Path | None:
        files = sorted(self.summary_csv.glob("*.csv"))
        return files[0] if files else None


# -- the deployed pieces ------------------------------------------------------------------------------
def load_glue_script(name: str):
    """Import ``glue_scripts/<name>.py`` by path (Glue runs files, the folder is not a package).

    One module object per script in a process (key ``glue_job_<name>``), shared with the tests.
    """
    key = f"glue_job_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, GLUE_SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[key]
        raise
    return module


def stage_config(stage: str | None) -> StageConfig:
    """The stage's config from ``cdk.json`` context (raises ``stacks.config.ConfigError``)."""
    from stacks.config import load_stage

    return load_stage(stage)


@dataclass(frozen=True)
class NamedQuery:
    """One ``queries/<name>.sql`` file: the Athena named query (``sql``, Athena's dialect) and, derived
    from it, the local query (``spark_sql``)."""

    name: str
    description: str
    sql: str
    path: Path

    @property
    def spark_sql(self) -> str:
        """What ``dap local`` runs: ``sql`` transpiled from Athena SQL to Spark SQL, never a second text."""
        from dap.athena_sql import to_spark

        return to_spark(self.sql)


def load_queries(folder: str | Path = QUERIES_DIR) -> list[NamedQuery]:
    """Every ``*.sql`` in ``folder`` by name; the first line must be ``-- <description>``.

    Raises ``ValueError`` naming the file and every problem ``dap.athena_sql.check`` finds (so a query
    Athena would reject never runs locally as if it were fine), then every construct whose Spark
    transpilation would answer differently (``dap.athena_sql.transpile_problems``).
    """
    from dap.athena_sql import check, transpile_problems

    queries = []
    for path in sorted(Path(folder).glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        first = text.splitlines()[0] if text.strip() else ""
        if not first.startswith("-- ") or not first[3:].strip():
            raise ValueError(f"{path.name}: the first line must be '-- <one-line description>'")
        sql = text.strip().rstrip(";")
        problems = check(sql) or transpile_problems(sql)
        if problems:
            raise ValueError(f"{path.name} is not Athena engine 3 SQL:\n  " + "\n  ".join(problems))
        queries.append(NamedQuery(path.stem, first[3:].strip(), sql, path))
    return queries


def _ddl(columns) -> str:
    return ", ".join(f"`{c.name}` {c.type}" for c in columns)


def register_views(spark: SparkSession, out: LocalLayout, config: StageConfig) -> None:
    """Temp views named like the Glue tables, over the local Parquet (the catalog's role locally)."""
    from licence_etl import io, schema, summary

    from stacks.names import PlatformNames

    names = PlatformNames.of(config)
    for table, path, ddl in (
        (names.cleaned_table, out.cleaned, schema.cleaned_ddl()),
        (names.summary_table, out.summary, _ddl(summary.SUMMARY_COLUMNS)),
        (names.licences_table, out.licences, _ddl(summary.LICENCES_COLUMNS)),
    ):
        io.read_parquet_or_empty(spark, str(path), ddl).createOrReplaceTempView(table)


def _plain(value: Any) -> Any:
    """A JSON/CSV-friendly value: dates as ISO text, Decimal as float."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is not None and type(value).__name__ == "Decimal":
        return float(value)
    return value


@dataclass
class QueryResult:
    name: str
    description: str
    columns: list[str]
    rows: list[dict[str, Any]]
    csv_path: Path


def run_queries(spark: SparkSession, queries: list[NamedQuery], results_dir: Path) -> dict[str, QueryResult]:
    """Run each query transpiled to Spark SQL; write ``<results_dir>/<name>.csv`` (header + rows) for each."""
    results_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for query in queries:
        df = spark.sql(query.spark_sql)
        columns = list(df.columns)
        rows = [{c: _plain(r[c]) for c in columns} for r in df.collect()]
        path = results_dir / f"{query.name}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            writer.writerows([["" if r[c] is None else r[c] for c in columns] for r in rows])
        results[query.name] = QueryResult(query.name, query.description, columns, rows, path)
    return results


def answers_from(results: dict[str, QueryResult]) -> dict[str, Any]:
    """The three business questions, from their named queries' results."""

    def first(name: str) -> dict[str, Any] | None:
        result = results.get(name)
        return result.rows[0] if result and result.rows else None

    by_type = results.get("employees_by_business_type")
    return {
        "average_fee_issued": first("average_fee_issued"),
        "lowest_daily_average_fee": first("lowest_daily_average_fee"),
        "employees_by_business_type": by_type.rows if by_type else None,
    }


# -- progress -----------------------------------------------------------------------------------------
@dataclass
class Step:
    key: str
    label: str
    detail: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Console:
    """One line per step with its time; a ticker on stderr while a step runs (only on a terminal)."""

    SPINNER = "|/-\\"
    WIDTH = 34

    def __init__(self, out: IO[str] | None = None, err: IO[str] | None = None, total: int = 0) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.total = total
        self.number = 0
        self.steps: dict[str, float] = {}
        self.ticker = bool(getattr(self.err, "isatty", lambda: False)())

    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def _tick(self, label: str, started: float, stop: threading.Event) -> None:
        i = 0
        while not stop.wait(0.1):
            elapsed = time.perf_counter() - started
            self.err.write(f"\r  {self.SPINNER[i % 4]} {label} ... {elapsed:5.1f}s ")
            self.err.flush()
            i += 1
        self.err.write("\r\033[K")
        self.err.flush()

    @contextmanager
    def step(self, key: str, label: str) -> Iterator[Step]:
        self.number += 1
        step = Step(key, label)
        started = time.perf_counter()
        stop = threading.Event()
        thread = None
        if self.ticker:
            thread = threading.Thread(target=self._tick, args=(label, started, stop), daemon=True)
            thread.start()
        ok = False
        try:
            yield step
            ok = True
        finally:
            stop.set()
            if thread:
                thread.join()
            self._line(step, time.perf_counter() - started, ok)

    def done(self, key: str, label: str, seconds: float, detail: str, *, header: str | None = None) -> None:
        """Record and print a step that already ran (before the console could print anything)."""
        if header:
            self.print(header)
        self.number += 1
        self._line(Step(key, label, detail), seconds, True)

    def _line(self, step: Step, seconds: float, ok: bool) -> None:
        step.seconds = round(seconds, 3)
        self.steps[step.key] = step.seconds
        counter = f"[{self.number}/{self.total}]" if self.total else ""
        status = "" if ok else "  (failed)"
        dots = " " + "." * max(2, self.WIDTH - len(step.label)) + " "
        self.print(f"  {counter} {step.label}{dots}{step.seconds:6.2f}s  {step.detail}{status}".rstrip())
        for note in step.notes:
            self.print(f"        {note}")


# -- the run ------------------------------------------------------------------------------------------
def _prepare_out(out: Path, input_csv: Path) -> LocalLayout:
    """Check ``out`` may be (re)written, then clear what an earlier run left; nothing else is touched."""
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise CommandError(
            f"--out {out} is not empty and was not written by dap local; choose a new or empty folder"
        )
    if input_csv.resolve().is_relative_to(out):
        raise CommandError(f"the input {input_csv} is inside the output folder {out}; move it first")
    local = LocalLayout(out)
    for path in local.owned():
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by 'dap local'; the next run replaces this folder's outputs\n")
    return local


def _fmt_count(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def _rule_line(rule: dict[str, Any]) -> str:
    detail = f": {rule['detail']}" if rule.get("detail") else ""
    return f"FAILED dataset rule {rule['name']}{detail} (expected {rule['expected']})"


def run_local(
    spark: SparkSession | None,
    input_csv: str | Path = DEFAULT_INPUT,
    out_dir: str | Path = DEFAULT_OUT,
    *,
    stage: str = "dev",
    strict: bool = False,
    run_time: datetime | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run the pipeline locally and return the report (also written to ``<out>/report.json``).

    ``spark=None`` starts (or reuses) a local session as the first Spark step. Raises ``CommandError``
    for a bad input or output folder (before anything is written) and, with ``strict``, after the
    quality step when a dataset rule fails (exit code 3; the report is written first).
    """
    from licence_etl.jobargs import parse_run_time

    from dap.portal_csv import PortalCsvError, check_portal_csv, normalize_portal_csv

    total_started = time.perf_counter()
    input_csv = Path(input_csv)
    config = stage_config(stage)
    settings = config.quality
    run_time = run_time or parse_run_time(None)
    try:
        queries = load_queries()
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    console = console or Console()
    console.total = 7 + (spark is None)

    # Everything that can be wrong with the request is checked before anything is written or printed.
    started = time.perf_counter()
    try:
        info = check_portal_csv(input_csv)
    except PortalCsvError as exc:
        raise CommandError(str(exc)) from None
    local = _prepare_out(Path(out_dir), input_csv)
    console.done(
        "check_input",
        "check input",
        time.perf_counter() - started,
        f"{input_csv.name}: {info.data_rows:,} rows, {len(info.columns)} columns, "
        f"UTF-8{' with BOM' if info.has_bom else ''}, {info.line_ending}, {info.size_bytes / 1024:,.0f} KB",
        header=f"dap local: business licences through the pipeline on local Spark (stage {config.stage}, "
        f"run time {run_time:%Y-%m-%d %H:%M} UTC)",
    )

    report: dict[str, Any] = {
        "tool": "dap local",
        "status": "running",
        "stage": config.stage,
        "input": str(input_csv.resolve()),
        "output": str(local.root),
        "run_time": run_time.isoformat(),
        "settings": {
            "freshness_days": settings.freshness_days,
            "min_employees": settings.min_employees,
            "fail_on_dataset_rule": settings.fail_on_dataset_rule,
            "strict": strict,
        },
        "steps": console.steps,
    }

    with console.step("raw_copy", "copy to raw") as step:
        raw_file = local.raw / input_csv.name
        normalize_portal_csv(input_csv, raw_file)
        step.detail = local.rel(raw_file)

    if spark is None:
        with console.step("spark_start", "start Spark") as step:
            from dap.spark import SMALL_DATA_BYTES, local_session

            spark = local_session(small_data=info.size_bytes <= SMALL_DATA_BYTES)
            step.detail = f"Spark {spark.version}, {spark.sparkContext.master}"

    with console.step("recipe", "clean (DataBrew recipe)") as step:
        from dap.recipe_runner import run_recipe_job

        recipe = run_recipe_job(spark, raw_file, local.cleaned)
        step.detail = (
            f"{recipe['rows_read']:,} read, {recipe['duplicates_removed']:,} duplicate(s) removed"
            f" -> {local.rel(local.cleaned)}"
        )
    report.update(
        rows_read=recipe["rows_read"],
        duplicates_removed=recipe["duplicates_removed"],
        rows_cleaned=recipe["rows_written"],
    )

    quality_check = load_glue_script("quality_check")
    stop_here = strict and settings.fail_on_dataset_rule
    with console.step("quality_check", "quality check (Glue job)") as step:
        try:
            quality = quality_check.run(
                spark,
                str(local.cleaned),
                str(local.passed),
                str(local.failed),
                str(local.quality_report),
                freshness_days=settings.freshness_days,
                fail_on_dataset_rule=stop_here,
                run_time=run_time,
            )
        except quality_check.DatasetRuleFailure as failure:
            quality = failure.report
        failed_rules = [r for r in quality["dataset_rules"] if not r["passed"]]
        by_rule = ", ".join(f"{k} {v:,}" for k, v in quality["failures_by_rule"].items() if v)
        step.detail = f"{quality['rows_passed']:,} passed, {quality['rows_failed']:,} failed" + (
            f" ({by_rule})" if by_rule else ""
        )
        rules = quality["dataset_rules"]
        step.notes = [f"dataset rules: {len(rules) - len(failed_rules)} of {len(rules)} passed"]
        step.notes += [f"!! {_rule_line(r)}" for r in failed_rules]
        if failed_rules and not stop_here:
            if settings.fail_on_dataset_rule:
                step.notes.append(
                    f"   the {config.stage} Glue job stops the pipeline here (fail_on_dataset_rule); "
                    "this local run goes on (--strict stops)"
                )
            else:
                step.notes.append(f"   the {config.stage} Glue job goes on too (fail_on_dataset_rule false)")
    report.update(
        rows_passed=quality["rows_passed"],
        rows_failed=quality["rows_failed"],
        counts_add_up=report["rows_cleaned"] == quality["rows_passed"] + quality["rows_failed"],
        failed_by_rule=quality["failures_by_rule"],
        dataset_rules=[
            {**r, "outcome": "passed" if r["passed"] else "FAILED"} for r in quality["dataset_rules"]
        ],
        dataset_rules_passed=quality["dataset_rules_passed"],
        quality_report=local.rel(local.quality_report),
    )

    if failed_rules and stop_here:
        report["status"] = "stopped after the quality check: dataset rule failed (--strict)"
        _add_failure_examples(spark, report, local)
        _finish(report, local, total_started, complete=False)
        _write_html(console, report, local)
        names = ", ".join(r["name"] for r in failed_rules)
        raise CommandError(
            f"dataset rule(s) failed: {names}; stopped after the quality check (--strict). "
            f"Report: {local.report}",
            exit_code=EXIT_DATASET_RULE,
        )

    summarize = load_glue_script("summarize")
    with console.step("summarize", "summarize (Glue job)") as step:
        summary = summarize.run(
            spark,
            str(local.passed),
            str(local.summary),
            str(local.summary_csv),
            str(local.licences),
            min_employees=settings.min_employees,
            run_time=run_time,
        )
        step.detail = (
            f"{summary['summary_rows']:,} daily rows, {summary['licences_rows']:,} licences -> "
            f"{local.rel(local.root / 'curated')}"
        )
    report.update(summary_rows=summary["summary_rows"], licences_rows=summary["licences_rows"])

    with console.step("queries", "named queries (Spark SQL)") as step:
        register_views(spark, local, config)
        results = run_queries(spark, queries, local.athena_results)
        step.detail = f"{len(results)} queries -> {local.rel(local.athena_results)}"
    report["queries"] = {
        name: {
            "description": r.description,
            "csv": local.rel(r.csv_path),
            "rows": len(r.rows),
            "columns": r.columns,
        }
        for name, r in results.items()
    }
    report["answers"] = answers_from(results)

    with console.step("chart", "chart") as step:
        from dap.report import draw_summary_chart

        csv_file = local.summary_csv_file()
        if csv_file is None:
            raise CommandError(f"summarize wrote no CSV under {local.summary_csv}")
        chart = draw_summary_chart(csv_file, local.chart, min_employees=settings.min_employees)
        step.detail = f"{local.rel(chart.path)} ({chart.width}x{chart.height}, {chart.days} days)"

    _add_failure_examples(spark, report, local)
    report["status"] = "completed" + ("" if report["dataset_rules_passed"] else " (a dataset rule FAILED)")
    _finish(report, local, total_started, complete=True)
    _print_answers(console, report, local, csv_file)
    _write_html(console, report, local)
    return report


def _add_failure_examples(spark: SparkSession, report: dict[str, Any], local: LocalLayout) -> None:
    """A few failed rows per rule into the report, for the HTML page (``dap.html_report``)."""
    from dap.html_report import failure_examples_at

    report["failure_examples"] = failure_examples_at(spark, local.failed) if report["rows_failed"] else {}


def _write_html(console: Console, report: dict[str, Any], local: LocalLayout) -> None:
    """``report.html`` beside report.json; its path is the run's last line of output."""
    from dap.html_report import write_html_report

    console.print(f"HTML report: {write_html_report(local.root, report)}")


def _finish(report: dict[str, Any], local: LocalLayout, started: float, *, complete: bool) -> None:
    report["total_seconds"] = round(time.perf_counter() - started, 3)
    report["outputs"] = {
        "raw": local.rel(local.raw),
        "cleaned": local.rel(local.cleaned),
        "passed": local.rel(local.passed),
        "failed": local.rel(local.failed),
        "quality_report": local.rel(local.quality_report),
        **(
            {
                "summary": local.rel(local.summary),
                "summary_csv": local.rel(local.summary_csv),
                "licences": local.rel(local.licences),
                "athena_results": local.rel(local.athena_results),
                "chart": local.rel(local.chart),
            }
            if complete
            else {}
        ),
    }
    local.report.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")


def _money(value: float | None) -> str:
    return "-" if value is None else f"CAD {value:,.2f}"


def _print_answers(console: Console, report: dict[str, Any], local: LocalLayout, csv_file: Path) -> None:
    answers = report["answers"]
    avg = answers["average_fee_issued"] or {}
    low = answers["lowest_daily_average_fee"]
    by_type = answers["employees_by_business_type"] or []
    p = console.print
    p()
    failed = [r for r in report["dataset_rules"] if r["outcome"] != "passed"]
    for rule in failed:
        p(f"!! {_rule_line(rule)}")
    p(
        f"Rows: {_fmt_count(report['rows_read'])} read, "
        f"{_fmt_count(report['duplicates_removed'])} duplicate(s) removed, "
        f"{_fmt_count(report['rows_passed'])} passed the checks, "
        f"{_fmt_count(report['rows_failed'])} failed"
    )
    p()
    p("Answers (the named queries over the curated tables)")
    p(
        f"  {'Average fee paid, issued licences':<38} {_money(avg.get('avg_fee_paid')):>14}"
        f"   over {_fmt_count(avg.get('licences_with_fee'))} of {_fmt_count(avg.get('issued_licences'))}"
        " issued licences with a known fee"
    )
    if low:
        p(
            f"  {'Lowest daily average fee':<38} {_money(low['avg_fee_paid']):>14}"
            f"   on {low['issue_date']} ({low['licence_count']} licence(s) with more than "
            f"{report['settings']['min_employees']} employees)"
        )
    else:
        p(f"  {'Lowest daily average fee':<38} {'-':>14}   no day with a known fee")
    shown = by_type[:5]
    p(f"  {'Average employees by business type':<38} {'':>14}   top {len(shown)} of {len(by_type)} types")
    for row in shown:
        p(f"      {row['business_type']:<34} {row['avg_employees']:>14,.1f}   ({row['licences']:,} licences)")
    p()
    p(f"Outputs in {local.root}")
    for path, what in (
        (local.report, "run report (counts, rules, step times, answers)"),
        (local.chart, "chart: max employees and average fee per day"),
        (local.athena_results, "named query results, one CSV per query"),
        (csv_file, "daily summary as CSV"),
        (local.failed, "rows that failed a rule (Parquet, failed_rules)"),
    ):
        p(f"  {what:<48} {local.rel(path)}")
    p(f"Total {report['total_seconds']:.1f}s")


# -- the commands -------------------------------------------------------------------------------------
def _run_local(args) -> int:
    from licence_etl.jobargs import parse_run_time

    try:
        run_time = parse_run_time(args.run_time) if args.run_time else None
    except ValueError:
        raise CommandError(f"--run-time {args.run_time!r} is not an ISO 8601 timestamp") from None
    run_local(None, args.input, args.out, stage=args.stage or "dev", strict=args.strict, run_time=run_time)
    return 0


def _report(args) -> int:
    from dap.report import ChartError, chart_from_s3, draw_summary_chart

    stage = args.stage or "dev"
    if args.html:
        return _report_html(args)
    if args.from_s3:
        out = Path(args.out) if args.out else DEFAULT_OUT / f"summary_chart_{stage}.png"
        uri, info = chart_from_s3(stage, out)
        print(f"dap report: {info.path} ({info.width}x{info.height}, {info.days} days) from {uri}")
        return 0
    local = LocalLayout(Path(args.run_dir).resolve())
    csv_file = local.summary_csv_file()
    if csv_file is None:
        raise CommandError(f"no summary CSV under {local.summary_csv}: run 'dap local' first")
    out = Path(args.out) if args.out else local.chart
    try:
        info = draw_summary_chart(csv_file, out, min_employees=stage_config(stage).quality.min_employees)
    except ChartError as exc:
        raise CommandError(str(exc)) from None
    print(f"dap report: {info.path} ({info.width}x{info.height}, {info.days} days) from {csv_file}")
    return 0


def _report_html(args) -> int:
    """``dap report --html``: report.html again from a local run's report.json and chart (no Spark)."""
    from dap.html_report import write_html_report

    if args.from_s3:
        raise CommandError("--html renders a local run (the deployed summary job writes its own report)")
    local = LocalLayout(Path(args.run_dir).resolve())
    if not local.report.is_file():
        raise CommandError(f"no {REPORT_JSON} in {local.root}: run 'dap local' first")
    try:
        report = json.loads(local.report.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CommandError(f"{local.report} is not JSON: {exc}") from None
    path = write_html_report(local.root, report, out=args.out)
    chart = "with the chart" if local.chart.is_file() else "without a chart (none in the run)"
    print(f"dap report: {path} from {local.report}, {chart}")
    return 0


def register(commands) -> None:
    local = commands.add_parser(
        "local",
        help="run the whole pipeline on local Spark (no AWS): clean, check, summarize, query, chart",
        description="Run the pipeline on local Spark over a portal CSV, writing the bucket layout under "
        "--out, then the named queries and the chart.",
    )
    local.add_argument("--input", default=str(DEFAULT_INPUT), help="portal CSV (default: the bundled sample)")
    local.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: local_run/)")
    local.add_argument("--stage", help="stage whose settings apply (default: dev)")
    local.add_argument(
        "--strict",
        action="store_true",
        help="stop after the quality check when a dataset rule fails (exit 3), as the stage's Glue job",
    )
    local.add_argument("--run-time", help="ISO timestamp the run is evaluated at (default: now)")
    local.set_defaults(handler=_run_local)

    report = commands.add_parser(
        "report",
        help="draw the summary chart from a local run or the deployed curated bucket; --html: the run report",
    )
    report.add_argument(
        "--from-s3", action="store_true", help="download the curated summary CSV of --stage from S3"
    )
    report.add_argument("--stage", help="stage (default: dev)")
    report.add_argument("--run-dir", default=str(DEFAULT_OUT), help="local run folder (default: local_run/)")
    report.add_argument(
        "--html",
        action="store_true",
        help="write the HTML run report from <run-dir>/report.json and the chart (default out: report.html)",
    )
    report.add_argument(
        "--out",
        help="file to write (default: <run-dir>/summary_chart.png; with --html <run-dir>/report.html)",
    )
    report.set_defaults(handler=_report)
