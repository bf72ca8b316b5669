"""``dap local`` and ``dap report``: any declared dataset through the pipeline on local Spark.

A dataset is a folder of declarations (``datasets/<id>/``: ``dataset.toml``, its recipe, its sample,
``queries/*.sql``; README, "Add a dataset"). ``dap local`` runs every dataset of ``datasets/``
(business_licences first), or the ones ``--dataset`` names (an id, or the path of a dataset folder such
as a test fixture), each into its own folder ``<out>/<id>/``. Every step is the deployed code, called
in-process with the dataset's declaration (no second implementation):

* check input: ``dap.portal_csv.check_portal_csv`` (the declared delimiter, encoding and raw header);
  a bad file stops here, nothing is written;
* copy to raw: ``dap.portal_csv.normalize_portal_csv`` (what ``dap ingest`` uploads) -> ``raw/<id>/``;
* clean: ``dap.recipe_runner.run_recipe_job`` (the dataset's recipe) -> ``transformed/cleaned/<id>/``;
* quality check: ``glue_scripts/quality_check.py`` ``run`` (the declared rules)
  -> ``transformed/quality_check/{passed,failed,reports}/<id>/``;
* summarize: ``glue_scripts/summarize.py`` ``run`` (the declared outputs, with the run's parameters)
  -> ``curated/<id>/<output key>/`` and ``curated/<id>/<output key>_csv/``;
* named queries: every ``<dataset folder>/queries/*.sql`` (Athena SQL, checked by
  ``dap.athena_sql.check``) transpiled to Spark SQL by ``dap.athena_sql.to_spark``, over temp views named
  like the dataset's Glue tables (its cleaned table and each output's table) -> ``athena_results/``;
  the declared ``answers`` are read from their results;
* chart: the declared ``[chart]`` of one output (``dataset_etl.chart``) -> ``chart.png``;

plus ``report.json`` (counts, rules, parameters, timings, answers) and ``report.html``
(``dap.html_report``). The tree under ``<out>/<id>/`` mirrors the buckets: ``<bucket purpose>/<key
prefix of stacks.layout.DatasetLayout>``; the raw prefix already starts with ``raw/``, and the query
results go to ``athena_results/`` (``query-results/athena/`` in AWS, where Athena names files by query
id).

Parameters: the dataset's declared ``[parameters]``, overridden where the stage config (``cdk.json``)
has a value (:func:`stage_parameters`, the one place that maps one to the other); the freshness window
and ``fail_on_dataset_rule`` come from the stage config, as the deployed jobs get them.

A failed dataset rule (for example freshness on an old extract) is shown and recorded, and the run
goes on; ``--strict`` stops that dataset after the quality step instead (the other datasets still run),
then exits with code 3, as the stage's Glue job does when its ``fail_on_dataset_rule`` is true.

Each dataset folder ``<out>/<id>/`` is replaced on each run, but only if it is new, empty or an earlier
``dap local`` output (it then holds ``.dap-local-run``): the run never deletes a folder it did not write.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from dap.cli import CommandError
from stacks.layout import DatasetLayout

if TYPE_CHECKING:
    from dataset_etl.declaration import Answer, Dataset
    from pyspark.sql import SparkSession

    from stacks.config import StageConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
GLUE_SCRIPTS = REPO_ROOT / "glue_scripts"
DEFAULT_OUT = Path("local_run")
MARKER = ".dap-local-run"
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
SCREENSHOTS = ("report.png", "report_phone.png")  # of report.html, by its browser test or a reviewer
CHART_PNG = "chart.png"
EXIT_DATASET_RULE = 3
ROWS_SHOWN = 5  # rows of an answer with `rows = "all"` printed on the console (all are in the CSV)


# -- where things go ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LocalLayout:
    """The local twin of one dataset's buckets: ``<root>/<bucket purpose>/<DatasetLayout prefix>``.

    ``root`` is ``<out>/<dataset id>`` (:meth:`of`).
    """

    root: Path
    dataset_id: str

    @classmethod
    def of(cls, out: str | Path, dataset_id: str) -> LocalLayout:
        return cls(Path(out).resolve() / dataset_id, dataset_id)

    @property
    def prefixes(self) -> DatasetLayout:
        return DatasetLayout(self.dataset_id)

    @property
    def raw(self) -> Path:
        return self.root / self.prefixes.raw  # the raw bucket's prefix already starts with raw/

    def _in(self, bucket: str, prefix: str) -> Path:
        return self.root / bucket / prefix

    @property
    def cleaned(self) -> Path:
        return self._in("transformed", self.prefixes.cleaned)

    @property
    def passed(self) -> Path:
        return self._in("transformed", self.prefixes.passed)

    @property
    def failed(self) -> Path:
        return self._in("transformed", self.prefixes.failed)

    @property
    def quality_report(self) -> Path:
        return self._in("transformed", self.prefixes.quality_report_key)

    @property
    def curated(self) -> Path:
        return self._in("curated", self.prefixes.curated)

    def output(self, key: str) -> Path:
        """The Parquet folder of the declared output ``key``."""
        return self._in("curated", self.prefixes.output(key))

    def output_csv(self, key: str) -> Path:
        """The CSV folder of output ``key`` (when the output declares ``csv = true``)."""
        return self._in("curated", self.prefixes.output_csv(key))

    def output_csv_file(self, key: str) -> Path | None:
        files = sorted(self.output_csv(key).glob("*.csv"))
        return files[0] if files else None

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
            self.root / "raw",
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


# -- the datasets -------------------------------------------------------------------------------------
def declared_datasets() -> list[Dataset]:
    """Every dataset of ``datasets/``, checked, by id (business_licences is the first)."""
    from dataset_etl.declaration import DeclarationError

    from stacks.datasets import dataset_folders, project_dataset

    try:
        return [project_dataset(i) for i in dataset_folders()]
    except DeclarationError as exc:
        raise CommandError(str(exc)) from None


def resolve_dataset(spec: str | Path) -> Dataset:
    """A dataset by id (a folder of ``datasets/``) or by the path of its folder (a test fixture).

    Raises ``CommandError`` with the loader's one line (file and field) for a broken declaration.
    """
    from dataset_etl.declaration import DECLARATION_FILE, DeclarationError

    from stacks.datasets import dataset_folders, load_checked, project_dataset

    folders = dataset_folders()
    text = str(spec)
    try:
        if text in folders:
            return project_dataset(text)
        path = Path(text)
        if path.is_dir():
            return load_checked(path)
    except DeclarationError as exc:
        raise CommandError(str(exc)) from None
    raise CommandError(
        f"--dataset {text}: neither a dataset of datasets/ ({', '.join(folders) or 'none'}) "
        f"nor a folder holding a {DECLARATION_FILE}"
    )


def stage_parameters(config: StageConfig, dataset: Dataset) -> dict[str, Any]:
    """The run's parameters: the declared defaults, overridden where the stage config has a value.

    The one place that maps stage settings to dataset parameters: ``stages.<stage>.datasets[i]
    .parameters`` of ``cdk.json`` for the dataset with this id (e.g. the business licences'
    ``min_employees``), as the deployed summary job gets them. A dataset the stage does not run (a test
    fixture) runs with its declared defaults.
    """
    from dataset_etl.declaration import DeclarationError, with_parameters

    entry = next((d for d in getattr(config, "datasets", ()) if d.id == dataset.id), None)
    if entry is None:
        return dict(dataset.parameters)
    try:
        return with_parameters(dataset, entry.overrides, where=f"cdk.json stages.{config.stage}.datasets")
    except DeclarationError as exc:
        raise CommandError(str(exc)) from None


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


# -- named queries and answers ------------------------------------------------------------------------
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


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def load_queries(folder: str | Path) -> list[NamedQuery]:
    """Every ``*.sql`` in ``folder`` by name (none if there is no folder); the first line must be
    ``-- <description>``.

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
            raise ValueError(f"{_shown(path)}: the first line must be '-- <one-line description>'")
        sql = text.strip().rstrip(";")
        problems = check(sql) or transpile_problems(sql)
        if problems:
            raise ValueError(f"{_shown(path)} is not Athena engine 3 SQL:\n  " + "\n  ".join(problems))
        queries.append(NamedQuery(path.stem, first[3:].strip(), sql, path))
    return queries


def dataset_queries(dataset: Dataset) -> list[NamedQuery]:
    """The dataset's named queries; every declared answer must have its ``queries/<query>.sql``."""
    from dataset_etl.declaration import DECLARATION_FILE

    try:
        queries = load_queries(dataset.queries_path)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    names = {q.name for q in queries}
    for i, answer in enumerate(dataset.answers):
        if answer.query not in names:
            raise CommandError(
                f"{dataset.folder}/{DECLARATION_FILE}: answers[{i}].query: {answer.query!r} has no "
                f"queries/{answer.query}.sql"
            )
    return queries


def register_views(spark: SparkSession, out: LocalLayout, dataset: Dataset) -> list[str]:
    """Temp views named like the dataset's Glue tables (its cleaned table and each output's table), over
    the local Parquet (the catalog's role locally); returns their names."""
    from dataset_etl import io

    views = [(dataset.cleaned_table, out.cleaned, dataset.cleaned_ddl())]
    views += [(o.table, out.output(o.key), o.ddl()) for o in dataset.outputs]
    for table, path, ddl in views:
        io.read_parquet_or_empty(spark, str(path), ddl).createOrReplaceTempView(table)
    return [table for table, _, _ in views]


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


def answers_from(dataset: Dataset, results: Mapping[str, QueryResult]) -> dict[str, Any]:
    """``{query: first row (or None) | all rows}`` for each declared answer (``rows`` says which)."""
    answers: dict[str, Any] = {}
    for answer in dataset.answers:
        rows = results[answer.query].rows
        answers[answer.query] = rows if answer.rows == "all" else (rows[0] if rows else None)
    return answers


def question_text(answer: Answer, parameters: Mapping[str, Any]) -> str:
    """The declared question with each ``{param}`` filled from the run's parameters (as the HTML report)."""
    from dataset_etl.run_report import question_text as filled

    return filled(answer, parameters)


def format_value(value: Any, fmt: str) -> str:
    """One answer value as the declaration's ``format`` says (money, count, number, date, text), the way
    the HTML run report shows it (``dataset_etl.run_report.FORMATS``)."""
    from dataset_etl.run_report import FORMATS

    return FORMATS[fmt](value)


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

    def reset(self, total: int) -> None:
        """Start counting the steps of a new dataset's run (a fresh ``steps`` dict)."""
        self.total = total
        self.number = 0
        self.steps = {}

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
class DatasetRuleStop(CommandError):
    """``--strict``: a dataset rule failed and the run stopped after the quality step (exit code 3)."""

    def __init__(self, message: str, dataset_id: str, rules: list[str], report: Path) -> None:
        super().__init__(message, exit_code=EXIT_DATASET_RULE)
        self.dataset_id = dataset_id
        self.rules = rules
        self.report = report


def _prepare_out(out: Path, dataset_id: str, input_csv: Path) -> LocalLayout:
    """Check ``<out>/<id>`` may be (re)written, then clear what an earlier run left there; nothing else
    is touched."""
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file; give a folder")
    local = LocalLayout.of(out, dataset_id)
    root = local.root
    if root.exists() and not root.is_dir():
        raise CommandError(f"{root} is a file; dap local writes the dataset {dataset_id} into a folder there")
    if root.is_dir() and any(root.iterdir()) and not (root / MARKER).exists():
        raise CommandError(
            f"{root} is not empty and was not written by dap local; choose another --out (or an empty folder)"
        )
    if input_csv.resolve().is_relative_to(root):
        raise CommandError(f"the input {input_csv} is inside the output folder {root}; move it first")
    for path in local.owned():
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("written by 'dap local'; the next run replaces this folder's outputs\n")
    return local


def _fmt_count(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def _rule_line(rule: dict[str, Any]) -> str:
    detail = f": {rule['detail']}" if rule.get("detail") else ""
    return f"FAILED dataset rule {rule['name']}{detail} (expected {rule['expected']})"


def _declaration_folder(dataset: Dataset) -> str | None:
    return None if dataset.path is None else str(dataset.path)


def run_local(
    spark: SparkSession | None,
    dataset: Dataset,
    input_csv: str | Path | None = None,
    out_dir: str | Path = DEFAULT_OUT,
    *,
    stage: str = "dev",
    strict: bool = False,
    run_time: datetime | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run one dataset's pipeline locally into ``<out_dir>/<id>/``; return the report (also written to
    ``report.json`` there).

    ``input_csv`` defaults to the dataset's ``sample``. ``spark=None`` starts (or reuses) a local session
    as the first Spark step. Raises ``CommandError`` for a bad input or output folder (before anything
    is written) and, with ``strict``, :class:`DatasetRuleStop` after the quality step when a dataset
    rule fails (exit code 3; the report is written first).
    """
    from dataset_etl.jobargs import parse_run_time

    from dap.portal_csv import PortalCsvError, check_portal_csv, normalize_portal_csv

    total_started = time.perf_counter()
    if input_csv is None:
        if dataset.sample_path is None:
            raise CommandError(f"{dataset.folder}/dataset.toml declares no sample: give --input")
        input_csv = dataset.sample_path
    input_csv = Path(input_csv)
    config = stage_config(stage)
    settings = config.quality
    parameters = stage_parameters(config, dataset)
    run_time = run_time or parse_run_time(None)
    queries = dataset_queries(dataset)
    console = console or Console()
    console.reset(6 + bool(dataset.chart) + (spark is None))

    # Everything that can be wrong with the request is checked before anything is written or printed.
    started = time.perf_counter()
    try:
        info = check_portal_csv(input_csv, dataset)
    except PortalCsvError as exc:
        raise CommandError(str(exc)) from None
    local = _prepare_out(Path(out_dir), dataset.id, input_csv)
    bom = " with BOM" if info.has_bom else ""
    console.done(
        "check_input",
        "check input",
        time.perf_counter() - started,
        f"{input_csv.name}: {info.data_rows:,} rows, {len(info.columns)} columns, "
        f"UTF-8{bom}, {info.line_ending}, {info.size_bytes / 1024:,.0f} KB",
        header=f"dap local: {dataset.title} ({dataset.id}) through the pipeline on local Spark "
        f"(stage {config.stage}, run time {run_time:%Y-%m-%d %H:%M} UTC)",
    )

    report: dict[str, Any] = {
        "tool": "dap local",
        "dataset": dataset.id,
        "title": dataset.title,
        "dataset_folder": _declaration_folder(dataset),
        "status": "running",
        "stage": config.stage,
        "input": str(input_csv.resolve()),
        "output": str(local.root),
        "run_time": run_time.isoformat(),
        "parameters": parameters,
        "settings": {
            **parameters,
            "freshness_days": settings.freshness_days,
            "fail_on_dataset_rule": settings.fail_on_dataset_rule,
            "strict": strict,
        },
        "steps": console.steps,
    }

    with console.step("raw_copy", "copy to raw") as step:
        raw_file = local.raw / input_csv.name
        normalize_portal_csv(input_csv, raw_file, dataset)
        step.detail = local.rel(raw_file)

    if spark is None:
        with console.step("spark_start", "start Spark") as step:
            from dap.spark import SMALL_DATA_BYTES, local_session

            spark = local_session(small_data=info.size_bytes <= SMALL_DATA_BYTES)
            step.detail = f"Spark {spark.version}, {spark.sparkContext.master}"

    with console.step("recipe", "clean (DataBrew recipe)") as step:
        from dap.recipe_runner import run_recipe_job

        recipe = run_recipe_job(spark, dataset, raw_file, local.cleaned)
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
                dataset,
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
        _add_failure_examples(spark, report, local, dataset)
        _finish(report, local, dataset, total_started, complete=False)
        _write_html(console, report, local, dataset)
        names = [r["name"] for r in failed_rules]
        raise DatasetRuleStop(
            f"dataset rule(s) failed: {', '.join(names)}; stopped after the quality check (--strict). "
            f"Report: {local.report}",
            dataset.id,
            names,
            local.report,
        )

    summarize = load_glue_script("summarize")
    with console.step("summarize", "summarize (Glue job)") as step:
        summary = summarize.run(
            spark,
            dataset,
            str(local.passed),
            str(local.curated) + "/",
            parameters=parameters,
            run_time=run_time,
        )
        counts = {o.key: summary[f"{o.key}_rows"] for o in dataset.outputs}
        step.detail = (
            ", ".join(f"{o.key} {counts[o.key]:,} rows" for o in dataset.outputs)
            + f" -> {local.rel(local.curated)}"
        )
    report.update({f"{key}_rows": n for key, n in counts.items()})
    report["report_date"] = summary.get("report_date")

    with console.step("queries", "named queries (Spark SQL)") as step:
        views = register_views(spark, local, dataset)
        try:
            results = run_queries(spark, queries, local.athena_results)
        finally:
            for view in views:  # the next dataset's queries must not see this one's tables
                spark.catalog.dropTempView(view)
        noun = "query" if len(results) == 1 else "queries"
        step.detail = f"{len(results)} {noun} -> {local.rel(local.athena_results)}"
    report["queries"] = {
        name: {
            "description": r.description,
            "csv": local.rel(r.csv_path),
            "rows": len(r.rows),
            "columns": r.columns,
        }
        for name, r in results.items()
    }
    report["answers"] = answers_from(dataset, results)

    if dataset.chart is not None:
        with console.step("chart", "chart") as step:
            from dap.report import chart_rows_from_parquet, draw_dataset_chart

            rows = chart_rows_from_parquet(spark, dataset, local.output(dataset.chart.output))
            chart = draw_dataset_chart(
                dataset, rows, local.chart, report_date=_report_date(report), parameters=parameters
            )
            step.detail = f"{local.rel(chart.path)} ({chart.width}x{chart.height}, {chart.rows} rows)"

    _add_failure_examples(spark, report, local, dataset)
    report["status"] = "completed" + ("" if report["dataset_rules_passed"] else " (a dataset rule FAILED)")
    _finish(report, local, dataset, total_started, complete=True)
    _print_answers(console, report, local, dataset)
    _write_html(console, report, local, dataset)
    return report


def _report_date(report: Mapping[str, Any]) -> date | None:
    text = report.get("report_date")
    return date.fromisoformat(text) if text else None


def _add_failure_examples(
    spark: SparkSession, report: dict[str, Any], local: LocalLayout, dataset: Dataset
) -> None:
    """A few failed rows per rule into the report, for the HTML page (``dap.html_report``)."""
    from dap.html_report import failure_examples_at

    report["failure_examples"] = (
        failure_examples_at(spark, local.failed, dataset) if report["rows_failed"] else {}
    )


def _write_html(console: Console, report: dict[str, Any], local: LocalLayout, dataset: Dataset) -> None:
    """``report.html`` beside report.json; its path is the dataset run's last line of output."""
    from dap.html_report import write_html_report

    console.print(f"HTML report: {write_html_report(local.root, dataset, report)}")


def _finish(
    report: dict[str, Any], local: LocalLayout, dataset: Dataset, started: float, *, complete: bool
) -> None:
    report["total_seconds"] = round(time.perf_counter() - started, 3)
    outputs = {
        "raw": local.rel(local.raw),
        "cleaned": local.rel(local.cleaned),
        "passed": local.rel(local.passed),
        "failed": local.rel(local.failed),
        "quality_report": local.rel(local.quality_report),
    }
    if complete:
        for output in dataset.outputs:
            outputs[output.key] = local.rel(local.output(output.key))
            if output.csv:
                outputs[f"{output.key}_csv"] = local.rel(local.output_csv(output.key))
        outputs["athena_results"] = local.rel(local.athena_results)
        if local.chart.is_file():
            outputs["chart"] = local.rel(local.chart)
    report["outputs"] = outputs
    local.report.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> list[str]:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "   ".join(
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)
        )

    return [line(headers).rstrip(), *(line(r).rstrip() for r in rows)]


def _print_answers(console: Console, report: dict[str, Any], local: LocalLayout, dataset: Dataset) -> None:
    p = console.print
    p()
    for rule in (r for r in report["dataset_rules"] if r["outcome"] != "passed"):
        p(f"!! {_rule_line(rule)}")
    p(
        f"Rows: {_fmt_count(report['rows_read'])} read, "
        f"{_fmt_count(report['duplicates_removed'])} duplicate(s) removed, "
        f"{_fmt_count(report['rows_passed'])} passed the checks, "
        f"{_fmt_count(report['rows_failed'])} failed"
    )
    if dataset.answers:
        p()
        p("Answers (the named queries over the curated tables)")
    for answer in dataset.answers:
        p(f"  {question_text(answer, report['parameters'])}")
        value = report["answers"][answer.query]
        rows = value if answer.rows == "all" else [value] if value else []
        if not rows:
            p("      (no rows)")
            continue
        cells = [[format_value(row.get(c.value), c.format) for c in answer.columns] for row in rows]
        if answer.rows == "first":
            p("      " + "; ".join(f"{c.header}: {v}" for c, v in zip(answer.columns, cells[0], strict=True)))
            continue
        headers = [c.header for c in answer.columns]
        for text in _table(headers, cells[:ROWS_SHOWN], [c.format != "text" for c in answer.columns]):
            p(f"      {text}")
        if len(rows) > ROWS_SHOWN:
            csv_file = report["queries"][answer.query]["csv"]
            p(f"      ... {len(rows) - ROWS_SHOWN:,} more row(s) in {csv_file}")
    p()
    p(f"Outputs in {local.root}")
    listed: list[tuple[str, Path]] = [("run report (counts, rules, step times, answers)", local.report)]
    if local.chart.is_file():
        listed.append((f"chart of output {dataset.chart.output}", local.chart))
    listed.append(("named query results, one CSV per query", local.athena_results))
    for output in dataset.outputs:
        listed.append((f"curated output {output.key} (Parquet)", local.output(output.key)))
        csv_file = local.output_csv_file(output.key) if output.csv else None
        if csv_file is not None:
            listed.append((f"curated output {output.key} as CSV", csv_file))
    listed.append(("rows that failed a rule (Parquet, failed_rules)", local.failed))
    for what, path in listed:
        p(f"  {what:<48} {local.rel(path)}")
    p(f"Total {report['total_seconds']:.1f}s")


def run_datasets(
    spark: SparkSession | None,
    datasets: Sequence[Dataset],
    input_csv: str | Path | None = None,
    out_dir: str | Path = DEFAULT_OUT,
    *,
    stage: str = "dev",
    strict: bool = False,
    run_time: datetime | None = None,
    console: Console | None = None,
) -> list[dict[str, Any]]:
    """``dap local``: each dataset in turn (one Spark session), then one line with the totals.

    ``input_csv`` only with one dataset. With ``strict``, a dataset whose rule fails stops after its
    quality step, the others still run, and :class:`DatasetRuleStop` (exit code 3) is raised at the end.
    """
    if input_csv is not None and len(datasets) != 1:
        raise CommandError("--input needs exactly one --dataset (whose export it is)")
    console = console or Console()
    started = time.perf_counter()
    reports, stops = [], []
    for number, dataset in enumerate(datasets):
        if number:
            console.print()
        try:
            report = run_local(
                spark,
                dataset,
                input_csv,
                out_dir,
                stage=stage,
                strict=strict,
                run_time=run_time,
                console=console,
            )
            reports.append(report)
        except DatasetRuleStop as stop:
            if len(datasets) == 1:
                raise
            stops.append(stop)
        if spark is None:
            from dap.spark import local_session

            spark = local_session()  # started by the first run: the same session for the next ones
    if len(datasets) > 1:
        counts = "; ".join(
            f"{r['dataset']} {r['rows_read']:,} read, {r['rows_passed']:,} passed, "
            f"{r['rows_failed']:,} failed"
            for r in reports
        )
        console.print()
        console.print(
            f"dap local: {len(reports)} of {len(datasets)} dataset(s) completed in "
            f"{time.perf_counter() - started:.1f}s: {counts}"
        )
    if stops:
        names = "; ".join(f"{s.dataset_id}: {', '.join(s.rules)}" for s in stops)
        raise DatasetRuleStop(
            f"dataset rule(s) failed: {names}; stopped after the quality check (--strict). "
            f"Reports: {', '.join(str(s.report) for s in stops)}",
            stops[0].dataset_id,
            [r for s in stops for r in s.rules],
            stops[0].report,
        )
    return reports


# -- the commands -------------------------------------------------------------------------------------
def _run_local(args) -> int:
    from dataset_etl.jobargs import parse_run_time

    try:
        run_time = parse_run_time(args.run_time) if args.run_time else None
    except ValueError:
        raise CommandError(f"--run-time {args.run_time!r} is not an ISO 8601 timestamp") from None
    if args.input is not None and len(args.dataset or ()) != 1:
        raise CommandError("--input needs exactly one --dataset (whose export it is)")
    datasets = [resolve_dataset(d) for d in args.dataset] if args.dataset else declared_datasets()
    if not datasets:
        raise CommandError("no dataset to run: datasets/ holds no dataset.toml")
    run_datasets(
        None, datasets, args.input, args.out, stage=args.stage or "dev", strict=args.strict, run_time=run_time
    )
    return 0


def _read_report(local: LocalLayout) -> dict[str, Any]:
    if not local.report.is_file():
        raise CommandError(f"no {REPORT_JSON} in {local.root}: run 'dap local' first")
    try:
        return json.loads(local.report.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CommandError(f"{local.report} is not JSON: {exc}") from None


def _dataset_of_report(report: Mapping[str, Any], where: Path) -> Dataset:
    """The dataset a local run's report.json names: by id, else the folder it was declared in."""
    from stacks.datasets import dataset_folders

    dataset_id = report.get("dataset")
    if dataset_id in dataset_folders():
        return resolve_dataset(dataset_id)
    folder = report.get("dataset_folder")
    if folder and Path(folder).is_dir():
        return resolve_dataset(folder)
    raise CommandError(f"{where} names no dataset this project declares ({dataset_id!r}); give --dataset")


def _local_runs(args) -> list[tuple[Dataset, LocalLayout]]:
    """The local runs ``dap report`` works on: ``--run-dir`` is a ``dap local --out`` folder (one run
    per dataset in it) or one dataset's run folder (holding report.json)."""
    run_dir = Path(args.run_dir).resolve()
    if (run_dir / REPORT_JSON).is_file():
        report = _read_report(LocalLayout(run_dir, run_dir.name))
        dataset = _dataset_of_report(report, run_dir / REPORT_JSON)
        asked = [resolve_dataset(d).id for d in args.dataset or ()]
        if asked and asked != [dataset.id]:
            raise CommandError(f"{run_dir} is the run of dataset {dataset.id}, not {', '.join(asked)}")
        return [(dataset, LocalLayout(run_dir, dataset.id))]
    if args.dataset:
        datasets = [resolve_dataset(d) for d in args.dataset]
    else:
        datasets = [d for d in declared_datasets() if (run_dir / d.id / REPORT_JSON).is_file()]
        if not datasets:
            raise CommandError(f"no dap local run under {run_dir}: run 'dap local' first")
    return [(d, LocalLayout.of(run_dir, d.id)) for d in datasets]


def _report(args) -> int:
    if args.html:
        return _report_html(args)
    if args.from_s3:
        return _report_from_s3(args)
    from dap.report import ChartError, chart_rows_from_csv, chart_rows_from_parquet, draw_dataset_chart

    runs = _local_runs(args)
    if args.out and len(runs) > 1:
        raise CommandError("--out names one file: give one --dataset")
    for dataset, local in runs:
        report = _read_report(local)
        if dataset.chart is None:
            print(f"dap report: {dataset.id} declares no [chart]; nothing to draw")
            continue
        output = dataset.output(dataset.chart.output)
        csv_file = local.output_csv_file(output.key) if output.csv else None
        out = Path(args.out) if args.out else local.chart
        try:
            if csv_file is not None:
                rows, source = chart_rows_from_csv(csv_file, dataset), csv_file
            elif local.output(output.key).is_dir():
                from dap.spark import local_session

                source = local.output(output.key)
                rows = chart_rows_from_parquet(local_session(small_data=True), dataset, source)
            else:
                raise CommandError(f"no output {output.key} under {local.curated}: run 'dap local' first")
            info = draw_dataset_chart(
                dataset,
                rows,
                out,
                report_date=_report_date(report),
                parameters=report.get("parameters") or dict(dataset.parameters),
            )
        except ChartError as exc:
            raise CommandError(str(exc)) from None
        print(f"dap report: {info.path} ({info.width}x{info.height}, {info.rows} rows) from {source}")
    return 0


def _report_from_s3(args) -> int:
    from dap.report import chart_from_s3

    stage = args.stage or "dev"
    if args.dataset:
        datasets = [resolve_dataset(d) for d in args.dataset]
    else:
        datasets = [d for d in declared_datasets() if d.chart is not None]
    if args.out and len(datasets) > 1:
        raise CommandError("--out names one file: give one --dataset")
    for dataset in datasets:
        out = Path(args.out) if args.out else DEFAULT_OUT / f"{dataset.id}_chart_{stage}.png"
        uri, info = chart_from_s3(stage, dataset, out)
        print(f"dap report: {info.path} ({info.width}x{info.height}, {info.rows} rows) from {uri}")
    return 0


def _report_html(args) -> int:
    """``dap report --html``: report.html again from a local run's report.json and chart (no Spark)."""
    from dap.html_report import write_html_report

    if args.from_s3:
        raise CommandError("--html renders a local run (the deployed summary job writes its own report)")
    runs = _local_runs(args)
    if args.out and len(runs) > 1:
        raise CommandError("--out names one file: give one --dataset")
    for dataset, local in runs:
        report = _read_report(local)
        path = write_html_report(local.root, dataset, report, out=args.out)
        chart = "with the chart" if local.chart.is_file() else "without a chart (none in the run)"
        print(f"dap report: {path} from {local.report}, {chart}")
    return 0


def register(commands) -> None:
    local = commands.add_parser(
        "local",
        help="run the whole pipeline on local Spark (no AWS) for every dataset, or the --dataset ones",
        description="Run each dataset's pipeline on local Spark over its sample (or --input), writing the "
        "bucket layout under --out/<dataset id>/, then the named queries, the answers and the chart.",
    )
    local.add_argument(
        "--dataset",
        action="append",
        metavar="ID_OR_FOLDER",
        help="a dataset id of datasets/ or the path of a dataset folder; repeat for several "
        "(default: every dataset of datasets/)",
    )
    local.add_argument("--input", help="the export CSV to run (only with one --dataset; default: its sample)")
    local.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        help="output folder; each dataset in <out>/<id>/ (default: local_run/)",
    )
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
        help="draw a dataset's chart from a local run or the deployed curated bucket; --html: the run report",
    )
    report.add_argument(
        "--dataset",
        action="append",
        metavar="ID_OR_FOLDER",
        help="a dataset id or folder; repeat for several (default: every dataset with a run in --run-dir; "
        "with --from-s3 every declared dataset with a chart)",
    )
    report.add_argument(
        "--from-s3", action="store_true", help="download the chart output's CSV of --stage from S3"
    )
    report.add_argument("--stage", help="stage (default: dev)")
    report.add_argument(
        "--run-dir",
        default=str(DEFAULT_OUT),
        help="dap local's --out folder, or one dataset's run folder in it (default: local_run/)",
    )
    report.add_argument(
        "--html",
        action="store_true",
        help="write the HTML run report from <run>/report.json and the chart (default out: report.html)",
    )
    report.add_argument(
        "--out",
        help="file to write, with one dataset (default: <run-dir>/<id>/chart.png; with --html "
        "<run-dir>/<id>/report.html; with --from-s3 local_run/<id>_chart_<stage>.png)",
    )
    report.set_defaults(handler=_report)
