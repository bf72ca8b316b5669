"""``dap cost``: what one pipeline run and one month of the platform cost, in USD, from the templates.

The model reads what is deployed from the SYNTHESIZED CloudFormation templates (cdk-nag included, no
AWS credentials): KMS keys, S3 buckets (versioning, replication, lifecycle), CloudWatch alarms (and
the metrics in metric-math alarms), dashboards, the Glue jobs' worker type, number and execution class,
the DataBrew jobs' MaxCapacity, the crawlers, the trail's data-event selectors and the SNS
subscriptions. Sizes and durations come from measurements (see ``MEASURED``; re-measure with
``benchmarks/etl_scale.py`` and ``benchmarks/athena_scan.py``), the retention windows from the stage
config, and every price from ``dap/prices.json`` (value, unit, source, verified/assumed).

Usage assumptions that no template states are parameters of :class:`Usage` with their defaults named
in the output, so an estimate is never silently based on a hidden constant.

    dap cost [--stage NAME] [--rows N] [--runs-per-month K] [--assume NAME=VALUE ...]
             [--compare STAGE | --set KEY=VALUE ... | --measured [--runs N]]

``--assume`` replaces a usage assumption by name (both sides of a comparison get it). ``--measured``
replaces the assumptions of the DataBrew jobs, Glue jobs and crawlers by the median of their last
successful runs in the stage's account (boto3, see :func:`measure_runs`); each such line says which.

What a run pays for is what the state machine starts: a DataBrew job or crawler that only runs on its
own schedule (``AWS::DataBrew::Schedule``, a crawler's ``Schedule``) is priced per scheduled run, once a
month's worth, not per pipeline run. Glue jobs with auto scaling are priced for the workers the input
needs (see :func:`glue_workers_used`), not for their maximum.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from dap.aws.deployed import Deployed

PRICES_PATH = Path(__file__).with_name("prices.json")
GIB = 2**30
DAYS_PER_MONTH = 30.0
HOURS_PER_MONTH = 730.0
DPU_PER_WORKER = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0, "Standard": 1.0}
# vCPUs per worker, i.e. the Spark tasks one executor runs at once (Glue worker types: G.1X = 4 vCPU,
# 16 GB; https://docs.aws.amazon.com/glue/latest/dg/add-job.html "Worker type").
TASK_SLOTS_PER_WORKER = {"G.025X": 2, "G.1X": 4, "G.2X": 8, "G.4X": 16, "G.8X": 32, "Standard": 4}
GLUE_MIN_WORKERS = 2  # one driver and at least one executor
# Spark's spark.sql.files.maxPartitionBytes default: one input task per 128 MiB of Parquet.
SPARK_PARTITION_BYTES = 128 * 2**20

# Measured on the generated real-format data (sample_data/generate.py, seed 42) by the benchmarks, full
# run of 2026-12-01 (benchmarks/README.md). Bytes per input row, so they scale with --rows.
MEASURED: dict[str, Any] = {
    "raw_csv_bytes_per_row": 323.23,  # licences_1000000.csv: 323,232,878 bytes
    "cleaned_parquet_bytes_per_row": 87.46,  # recipe output (transformed bucket, cleaned/)
    "quality_parquet_bytes_per_row": 87.69,  # passed/ + failed/ (transformed bucket)
    "licences_parquet_bytes_per_row": 30.50,  # curated licences/
    "summary_bytes": 68_255.0,  # curated summary/ + summary_csv/ (one row per issue day: 762 days)
    "local_spark_quality_seconds_per_million_rows": 28.1,  # local[2] (a proxy for 2 G.1X workers)
    "local_spark_summary_seconds_per_million_rows": 11.2,
    # Athena: compressed column-chunk bytes of the curated tables (what a query reading the column scans)
    "licences_column_bytes_per_row": {
        "licence_rsn": 7.0505,
        "licence_number": 6.763,
        "business_name": 3.8186,
        "business_type": 0.6247,
        "business_sub_type": 0.7044,
        "status": 0.2892,
        "local_area": 0.6247,
        "number_of_employees": 1.252,
        "fee_paid": 1.2226,
        "issued_date": 7.6782,
        "issue_date": 0.4374,
        "expired_date": 0.0021,
        "file_year": 0.0021,
    },
    "licences_footer_bytes": 8_901,  # 3 files (year partitions)
    "summary_column_bytes": {
        "issue_date": 3162,
        "licence_count": 1621,
        "max_number_of_employees": 2970,
        "avg_fee_paid": 5987,
        "max_expired_date": 191,
        "report_date": 162,
    },
    "summary_footer_bytes": 4_298,
}


# The dataset the measurements below are of: `dap cost` estimates its pipeline and the shared resources.
MODELLED_DATASET = "business_licences"


# Athena tables: the name in SQL -> its columns; the business licences' declared outputs (the measured
# sizes above are of those tables)
def athena_tables() -> dict[str, tuple[str, ...]]:
    """Every declared dataset's output tables and their columns (what the named queries read)."""
    from stacks.datasets import project_datasets

    return {o.table: o.names for d in project_datasets() for o in d.outputs}


def _strip_sql(sql: str) -> str:
    sql = re.sub(r"--[^\n]*", " ", sql)
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def parse_query(
    sql: str, known: Mapping[str, tuple[str, ...]] | None = None
) -> tuple[str, tuple[str, ...], str]:
    """(table, referenced columns in table order, WHERE clause) of a one-table query, parsed simply:
    every identifier naming a column of the table that is not a function call (comments and string
    literals removed)."""
    known = athena_tables() if known is None else known
    text = _strip_sql(sql)
    tables = [t.lower() for t in re.findall(r"\bfrom\s+(?:\"?\w+\"?\.)?\"?(\w+)\"?", text, flags=re.I)]
    if len(set(tables)) != 1 or tables[0] not in known:
        raise ValueError(f"expected one known table in FROM, found {tables}")
    table = tables[0]
    idents = {m.group(1).lower() for m in re.finditer(r"\b([A-Za-z_]\w*)\b(?!\s*\()", text)}
    columns = tuple(c for c in known[table] if c in idents)
    where = re.search(r"\bwhere\b(.*?)(\bgroup\s+by\b|\border\s+by\b|\blimit\b|$)", text, flags=re.I | re.S)
    return table, columns, where.group(1) if where else ""


def query_scan_bytes(sql: str, rows: int, measured: Mapping[str, Any] = MEASURED) -> int:
    """Bytes Athena scans for ``sql`` on the curated tables at ``rows`` input rows (all partitions)."""
    table, columns, _ = parse_query(sql)
    if table == "licences":
        per_row = measured["licences_column_bytes_per_row"]
        return int(
            rows * sum(per_row.get(c, 0.0) for c in columns if c != "year")
            + measured["licences_footer_bytes"]
        )
    per_col = measured["summary_column_bytes"]
    return int(sum(per_col.get(c, 0) for c in columns if c != "year") + measured["summary_footer_bytes"])


_WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9,
           "OCT": 10, "NOV": 11, "DEC": 12}  # fmt: skip
_RATE_MINUTES = {"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1440, "days": 1440}


def _cron_values(field_: str, low: int, high: int, names: Mapping[str, int] | None = None) -> int:
    """How many values of ``low..high`` an AWS cron field selects (lists, ranges, steps, names)."""
    if field_ in ("*", "?"):
        return high - low + 1
    selected: set[int] = set()
    once_a_month = 0  # "2#1" (first Monday), "L" (last day), "15W" (weekday nearest the 15th)
    for part in field_.upper().split(","):
        part, _, step = part.partition("/")
        if "#" in part or part.endswith(("L", "W")):
            once_a_month += 1
            continue
        start_text, _, end_text = part.partition("-")

        def value(text: str) -> int:
            return (names or {}).get(text, None) or int(text)

        start = low if start_text == "*" else value(start_text)
        end = (high if (step or start_text == "*") else start) if not end_text else value(end_text)
        selected.update(range(start, end + 1, int(step or 1)))
    return len(selected) + once_a_month


def schedule_runs_per_month(expression: str) -> float:
    """Runs a month of an EventBridge/Glue/DataBrew schedule: ``rate(7 days)`` or a 6-field AWS cron
    ``cron(min hour day-of-month month day-of-week year)``. A month is 30 days, a week 30/7 of them."""
    text = expression.strip()
    rate = re.fullmatch(r"rate\(\s*(\d+)\s+(\w+)\s*\)", text)
    if rate:
        minutes = int(rate.group(1)) * _RATE_MINUTES[rate.group(2).lower()]
        return DAYS_PER_MONTH * 1440 / minutes
    cron = re.fullmatch(r"cron\((.+)\)", text)
    if not cron or len(cron.group(1).split()) != 6:
        raise ValueError(f"not a rate() or 6-field cron() schedule: {expression!r}")
    minute, hour, day_of_month, month, day_of_week, _year = cron.group(1).split()
    per_day = _cron_values(minute, 0, 59) * _cron_values(hour, 0, 23)
    if day_of_week not in ("*", "?"):
        weekdays = _cron_values(day_of_week, 1, 7, _WEEKDAYS)
        days = weekdays if "#" in day_of_week or day_of_week.upper().endswith("L") else weekdays * 30 / 7
    elif day_of_month not in ("*", "?"):
        days = _cron_values(day_of_month, 1, 31)
    else:
        days = DAYS_PER_MONTH
    return per_day * days * _cron_values(month, 1, 12, _MONTHS) / 12


class PriceError(ValueError):
    """prices.json is missing a price or has a malformed entry."""


def load_prices(path: str | Path = PRICES_PATH) -> dict[str, float]:
    """``{name: value}`` from the prices file; every entry must have value, unit, region, status, source."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    out = {}
    for name, entry in doc["prices"].items():
        missing = [k for k in ("value", "unit", "region", "status", "source") if k not in entry]
        if missing:
            raise PriceError(f"{path}: price {name!r} lacks {', '.join(missing)}")
        if entry["status"] not in ("verified", "assumed"):
            raise PriceError(f"{path}: price {name!r} has status {entry['status']!r}")
        if entry["status"] == "assumed" and not entry.get("reason"):
            raise PriceError(f"{path}: assumed price {name!r} needs a reason")
        out[name] = float(entry["value"])
    return out


def price_status(path: str | Path = PRICES_PATH) -> dict[str, str]:
    return {k: v["status"] for k, v in json.loads(Path(path).read_text())["prices"].items()}


# -- billing rules (pure arithmetic, unit-tested) ----------------------------------------------------
def glue_job_cost(dpus: float, seconds: float, dpu_hour: float, minimum_seconds: float = 60) -> float:
    """DPU-seconds billed per second with a minimum duration per run."""
    return dpus * max(seconds, minimum_seconds) * dpu_hour / 3600.0


def databrew_job_cost(nodes: int, minutes: float, node_hour: float, minimum_minutes: int = 1) -> float:
    """Node-minutes: whole minutes, at least ``minimum_minutes``."""
    return nodes * max(math.ceil(minutes - 1e-9), minimum_minutes) * node_hour / 60.0


def crawler_cost(dpus: float, seconds: float, dpu_hour: float, minimum_seconds: float = 600) -> float:
    return dpus * max(seconds, minimum_seconds) * dpu_hour / 3600.0


def athena_query_cost(scanned_bytes: float, prices: Mapping[str, float], *, minimum: bool = True) -> float:
    """$ per TB (10^12 bytes), rounded up to the MB, with the per-query minimum."""
    billed = math.ceil(scanned_bytes / 1e6) * 1e6
    if minimum:
        billed = max(billed, prices["athena_minimum_bytes_per_query"])
    return billed / 1e12 * prices["athena_per_tb_scanned"]


def stored_gb_months(
    object_bytes: float, runs_per_month: float, noncurrent_days: int | None, *, replicas: int = 0
) -> float:
    """Average GB stored over a month by one layer that every run overwrites.

    The current copy is always there; with versioning, each run turns the previous copy into a
    noncurrent version kept ``noncurrent_days`` days (at most one a run inside the window), so on
    average ``min(runs_per_month * noncurrent_days / 30, ...)`` noncurrent copies exist. Each replica
    bucket (versioned the same way) holds as much again.
    """
    copies = 1.0
    if noncurrent_days:
        copies += runs_per_month * noncurrent_days / DAYS_PER_MONTH
    return object_bytes * copies * (1 + replicas) / GIB


# -- reading the templates ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GlueJob:
    name: str
    worker_type: str
    workers: int  # NumberOfWorkers: the maximum when auto scaling is on
    execution_class: str  # STANDARD or FLEX
    auto_scaling: bool = False  # --enable-auto-scaling true

    @property
    def dpus(self) -> float:
        return DPU_PER_WORKER.get(self.worker_type, 1.0) * self.workers


@dataclass(frozen=True)
class Bucket:
    logical_id: str
    stack: str
    name: str
    versioned: bool
    replicated: bool
    noncurrent_days: int | None
    expiration_days: int | None


@dataclass(frozen=True)
class DataBrewJob:
    logical_id: str
    name: str
    job_type: str  # PROFILE or RECIPE
    nodes: int  # MaxCapacity


@dataclass(frozen=True)
class Deployment:
    """What the synthesized templates declare, as the cost model needs it."""

    kms_keys: int
    buckets: tuple[Bucket, ...]
    alarm_metrics: int  # standard-resolution alarm metrics (a metric-math alarm counts each metric)
    high_resolution_alarm_metrics: int
    alarms: int
    dashboards: int
    glue_jobs: tuple[GlueJob, ...]
    databrew_jobs: tuple[DataBrewJob, ...]
    crawlers: tuple[str, ...]  # crawler names
    data_event_selectors: int  # advanced selectors of category Data on S3 objects
    data_event_buckets: int  # buckets those selectors name (ARN prefixes)
    trail_to_cloudwatch_logs: bool
    email_subscriptions: int
    named_queries: tuple[tuple[str, str], ...] = ()  # (name, SQL)
    # job or crawler name -> how often a pipeline run starts it (Tasks of the state machines)
    started_per_run: Mapping[str, int] = field(default_factory=dict)
    # job or crawler name -> its own schedules (cron/rate expressions)
    schedules: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    state_transitions_per_run: int = 0  # states of the state machines, each entered once

    def runs_per_month(self, name: str, pipeline_runs: float) -> tuple[int, float]:
        """(starts per pipeline run, scheduled runs a month) of a job or crawler."""
        scheduled = sum(schedule_runs_per_month(e) for e in self.schedules.get(name, ()))
        return self.started_per_run.get(name, 0), scheduled


def _name(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _definition(definition_string: Any) -> dict[str, Any]:
    """A state machine's ASL with CloudFormation tokens (partition, ARNs) rendered as short text."""
    if isinstance(definition_string, str):
        return json.loads(definition_string)
    parts = definition_string["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))


def _states(definition: Mapping[str, Any]):
    """Every state, including those inside Parallel branches and Map iterators."""
    for state in definition.get("States", {}).values():
        yield state
        for branch in state.get("Branches", []):
            yield from _states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _states(state[key])


_STARTS = ("glue:startJobRun", "databrew:startJobRun", "glue:startCrawler")


def run_path(definition: Mapping[str, Any]) -> dict[str, int]:
    """``{job or crawler name: Tasks that start it}`` in one state machine definition."""
    started: dict[str, int] = {}
    for state in _states(definition):
        resource = state.get("Resource", "")
        if state.get("Type") != "Task" or not any(api in resource for api in _STARTS):
            continue
        parameters = state.get("Parameters", state.get("Arguments", {}))
        name = parameters.get("JobName", parameters.get("Name"))
        if isinstance(name, str):
            started[name] = started.get(name, 0) + 1
    return started


def read_templates(templates: Mapping[str, Mapping[str, Any]]) -> Deployment:
    """Count what costs money in ``{stack id: template}`` (the synthesized cdk.out templates)."""
    keys = alarms = std_metrics = hi_metrics = dashboards = emails = transitions = 0
    selectors = selector_buckets = 0
    to_logs = False
    buckets, glue_jobs, brew, queries, crawlers = [], [], [], [], []
    started: dict[str, int] = {}
    schedules: dict[str, list[str]] = {}
    for stack, template in sorted(templates.items()):
        for logical_id, res in template.get("Resources", {}).items():
            kind, props = res.get("Type"), res.get("Properties", {})
            if kind == "AWS::KMS::Key":
                keys += 1
            elif kind == "AWS::S3::Bucket":
                rules = [  # whole-bucket rules: a prefix's rule (staged downloads) says nothing of the data
                    r
                    for r in props.get("LifecycleConfiguration", {}).get("Rules", [])
                    if not r.get("Prefix") and not r.get("Filter")
                ]
                nc = [
                    r["NoncurrentVersionExpiration"]["NoncurrentDays"]
                    for r in rules
                    if r.get("Status") == "Enabled" and "NoncurrentVersionExpiration" in r
                ]
                exp = [
                    r["ExpirationInDays"]
                    for r in rules
                    if r.get("Status") == "Enabled" and "ExpirationInDays" in r
                ]
                buckets.append(
                    Bucket(
                        logical_id=logical_id,
                        stack=stack,
                        name=_name(props.get("BucketName", logical_id)),
                        versioned=props.get("VersioningConfiguration", {}).get("Status") == "Enabled",
                        replicated=bool(props.get("ReplicationConfiguration", {}).get("Rules")),
                        noncurrent_days=min(nc) if nc else None,
                        expiration_days=min(exp) if exp else None,
                    )
                )
            elif kind == "AWS::CloudWatch::Alarm":
                alarms += 1
                metrics = [m for m in props.get("Metrics", []) if "MetricStat" in m]
                periods = [m["MetricStat"].get("Period", 60) for m in metrics] or [props.get("Period", 60)]
                count = max(len(metrics), 1)
                if min(int(p) for p in periods) < 60:
                    hi_metrics += count
                else:
                    std_metrics += count
            elif kind == "AWS::CloudWatch::Dashboard":
                dashboards += 1
            elif kind == "AWS::Glue::Job":
                glue_jobs.append(
                    GlueJob(
                        name=_name(props.get("Name", logical_id)),
                        worker_type=props.get("WorkerType", "Standard"),
                        workers=int(props.get("NumberOfWorkers") or props.get("MaxCapacity") or 10),
                        execution_class=props.get("ExecutionClass", "STANDARD"),
                        auto_scaling=props.get("DefaultArguments", {}).get("--enable-auto-scaling") == "true",
                    )
                )
            elif kind == "AWS::DataBrew::Job":
                brew.append(
                    DataBrewJob(
                        logical_id=logical_id,
                        name=_name(props.get("Name", logical_id)),
                        job_type=props.get("Type", "RECIPE"),
                        nodes=int(props.get("MaxCapacity", 5)),
                    )
                )
            elif kind == "AWS::DataBrew::Schedule":
                for job_name in props.get("JobNames", []):
                    schedules.setdefault(_name(job_name), []).append(props["CronExpression"])
            elif kind == "AWS::Glue::Crawler":
                name = _name(props.get("Name", logical_id))
                crawlers.append(name)
                if props.get("Schedule", {}).get("ScheduleExpression"):
                    schedules.setdefault(name, []).append(props["Schedule"]["ScheduleExpression"])
            elif kind == "AWS::StepFunctions::StateMachine":
                definition = _definition(props["DefinitionString"])
                transitions += sum(1 for _ in _states(definition))
                for name, count in run_path(definition).items():
                    started[name] = started.get(name, 0) + count
            elif kind == "AWS::CloudTrail::Trail":
                to_logs = to_logs or "CloudWatchLogsLogGroupArn" in props
                for sel in props.get("AdvancedEventSelectors", []):
                    fields_ = {f["Field"]: f for f in sel.get("FieldSelectors", [])}
                    category = fields_.get("eventCategory", {}).get("Equals", [])
                    if "Data" in category and "AWS::S3::Object" in fields_.get("resources.type", {}).get(
                        "Equals", []
                    ):
                        selectors += 1
                        selector_buckets += len(fields_.get("resources.ARN", {}).get("StartsWith", [])) or 1
                for sel in props.get("EventSelectors", []):  # basic selectors
                    for dr in sel.get("DataResources", []):
                        if dr.get("Type") == "AWS::S3::Object":
                            selectors += 1
                            selector_buckets += len(dr.get("Values", [])) or 1
            elif kind == "AWS::Athena::NamedQuery":
                queries.append((_name(props.get("Name", logical_id)), _name(props.get("QueryString", ""))))
            elif kind == "AWS::SNS::Subscription" and props.get("Protocol") in ("email", "email-json"):
                emails += 1
    return Deployment(
        kms_keys=keys,
        buckets=tuple(buckets),
        alarm_metrics=std_metrics,
        high_resolution_alarm_metrics=hi_metrics,
        alarms=alarms,
        dashboards=dashboards,
        glue_jobs=tuple(glue_jobs),
        databrew_jobs=tuple(brew),
        crawlers=tuple(sorted(crawlers)),
        data_event_selectors=selectors,
        data_event_buckets=selector_buckets,
        trail_to_cloudwatch_logs=to_logs,
        email_subscriptions=emails,
        named_queries=tuple(sorted(queries)),
        started_per_run=started,
        schedules={name: tuple(expressions) for name, expressions in schedules.items()},
        state_transitions_per_run=transitions,
    )


def with_settings(stages: Mapping[str, Any], stage: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of cdk.json's ``stages`` with dotted settings (``glue.max_workers``) set for ``stage``."""
    import copy

    from stacks.config import ConfigError

    stages = copy.deepcopy(dict(stages))
    if stage not in stages:
        raise ConfigError(f"stage: {stage!r} is not a configured stage; allowed: {', '.join(sorted(stages))}")
    for dotted, value in settings.items():
        *path, last = dotted.split(".")
        section = stages[stage]
        for part in path:
            if not isinstance(section.get(part), dict):
                raise ConfigError(f"stages.{stage}.{dotted}: no such setting section {part!r}")
            section = section[part]
        section[last] = value
    return stages


def synthesize_templates(
    stage: str | None = None, settings: Mapping[str, Any] | None = None
) -> tuple[Any, dict[str, dict[str, Any]]]:
    """(stage config, {stack id: template}) of the app for ``stage``, synthesized offline; ``settings``
    (dotted names) override cdk.json for that stage, and are validated like cdk.json itself."""
    from stacks.config import cdk_json_context
    from stacks.platform_app import build_app

    # The model's sizes are measured on the business licences: the estimate is of that dataset's
    # pipeline (plus everything shared), so the app is synthesized with the stage's entry for it only.
    name = stage or cdk_json_context()["stage"]
    stages = with_settings(cdk_json_context()["stages"], name, settings or {})
    if isinstance(stages.get(name), dict) and isinstance(stages[name].get("datasets"), list):
        entries = [
            d for d in stages[name]["datasets"] if isinstance(d, dict) and d.get("id") == MODELLED_DATASET
        ]
        stages[name]["datasets"] = entries or stages[name]["datasets"]
    context: dict[str, Any] = {"stage": name, "stages": stages}
    outdir = tempfile.mkdtemp(prefix="dap-cost-")
    app, config = build_app(context or None, outdir=outdir, cloudformation_validation=False)
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag findings fail the synth: the estimate would be of a broken app
        from dap.cli import CommandError

        raise CommandError(f"synth failed (see {outdir}/validation-report.json): {exc}") from None
    templates = {
        p.name.removesuffix(".template.json"): json.loads(p.read_text())
        for p in Path(outdir).glob("*.template.json")
    }
    return config, templates


def glue_workers_used(job: GlueJob, input_bytes: float) -> int:
    """Workers a job runs with. Without auto scaling: all of them. With it, Glue adds executors as the
    stages' parallelism asks (https://docs.aws.amazon.com/glue/latest/dg/auto-scaling.html): the model
    takes one input task per 128 MiB (Spark's default split), one executor per worker running as many
    tasks as the worker has vCPUs, plus the driver; at least 2 workers, at most the configured maximum.
    """
    if not job.auto_scaling:
        return job.workers
    tasks = max(1, math.ceil(input_bytes / SPARK_PARTITION_BYTES))
    executors = math.ceil(tasks / TASK_SLOTS_PER_WORKER.get(job.worker_type, 4))
    return max(GLUE_MIN_WORKERS, min(job.workers, 1 + executors))


# -- the estimate ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunMeasurement:
    """What one job or crawler was billed per run: the median of its last successful runs in the account.

    ``billed`` is per run: whole minutes for a DataBrew job (times its nodes to price it), DPU-seconds
    for a Glue job or a crawler. ``runs == 0``: nothing to measure, the estimate keeps its assumption.
    """

    runs: int
    billed: float = 0.0
    execution_class: str = ""  # Glue jobs: the class most of the runs ran in ("" = the template's)
    found: bool = True  # False: no such job or crawler in the account (not deployed)

    def why_assumed(self) -> str:
        """The note an assumed line carries when measuring was asked for but found nothing."""
        return " (not deployed: nothing to measure)" if not self.found else " (no successful run to measure)"


def _basis(measurement: RunMeasurement | None, measured: str, assumed: str) -> str:
    """A line's basis: "measured: median of K runs, ..." or "assumed: ..." (and why, when measuring)."""
    if measurement is not None and measurement.runs:
        return f"measured: median of {measurement.runs} runs, {measured}"
    return f"assumed: {assumed}" + (measurement.why_assumed() if measurement is not None else "")


@dataclass(frozen=True)
class Usage:
    """What a run does, where no template says it (defaults are documented in the output)."""

    rows: int = 1_000_000
    runs_per_month: float = 30.0
    databrew_minutes_per_job: float = 5.0  # start-up dominated at <= 1M rows (assumed)
    glue_startup_seconds: float = 60.0  # Glue 5.0 job start-up billed once the job runs (assumed)
    crawler_seconds: float = 60.0  # catalog-target crawls that only add partitions (assumed)
    athena_runs_per_query: float = 1.0  # each named query once per pipeline run
    s3_put_requests_per_run: int = 300  # uploads, Parquet parts, committer markers, reports (assumed)
    s3_get_requests_per_run: int = 1_500  # job reads, LIST/HEAD, Athena reads (assumed)
    kms_requests_per_run: int = 200  # bucket keys on: one KMS call per object key prefix, not per object
    cloudtrail_event_bytes: int = 1_500  # one JSON record (assumed)
    notifications_per_run: int = 1


@dataclass
class LineItem:
    service: str
    item: str
    per_run: float
    per_month: float  # per_run x runs, plus what runs on its own schedule or is billed monthly
    basis: str
    key: str = ""  # stable across stages and sizes, to line up two estimates (``--compare``)


@dataclass
class Estimate:
    stage: str
    usage: Usage
    deployment: Deployment
    items: list[LineItem] = field(default_factory=list)
    flex_alternative: dict[str, float] = field(default_factory=dict)

    @property
    def per_run(self) -> float:
        return sum(i.per_run for i in self.items)

    def by_key(self) -> dict[str, LineItem]:
        """Items by a key that does not change with the stage or the figures in their label."""
        return {i.key or re.sub(r"\d[\d.,]*", "#", f"{i.service} {i.item}"): i for i in self.items}

    @property
    def per_month(self) -> float:
        return sum(i.per_month for i in self.items)


def estimate(
    deployment: Deployment,
    storage_retention: Mapping[str, int],
    usage: Usage,
    prices: Mapping[str, float],
    *,
    stage: str = "dev",
    measured: Mapping[str, Any] = MEASURED,
    account_runs: Mapping[str, RunMeasurement] | None = None,
) -> Estimate:
    """The line items. ``storage_retention``: ``noncurrent_version_retention_days`` etc. (stage config).

    ``account_runs`` (job or crawler name -> :class:`RunMeasurement`, from :func:`measure_runs`)
    replaces the usage assumptions of the jobs and crawlers it measured; ``None``: nothing measured.
    """
    est = Estimate(stage, usage, deployment)
    runs, rows = usage.runs_per_month, usage.rows
    add = est.items.append

    # KMS
    keys = deployment.kms_keys * prices["kms_key_month"]
    add(LineItem("KMS", f"{deployment.kms_keys} customer managed keys", 0.0, keys, "per key-month"))
    kms_req = usage.kms_requests_per_run * prices["kms_requests_per_10000"] / 10_000
    add(
        LineItem(
            "KMS", "API requests", kms_req, kms_req * runs, f"{usage.kms_requests_per_run}/run, no free tier"
        )
    )

    # S3 storage by layer: sizes from measured bytes per row; versions kept for the retention window
    def bucket_for(purpose: str) -> Bucket | None:
        return next(
            (b for b in deployment.buckets if f"-{purpose}-" in b.name and "replica" not in b.name), None
        )

    layers = {
        "raw": rows * measured["raw_csv_bytes_per_row"],
        "transformed": rows
        * (measured["cleaned_parquet_bytes_per_row"] + measured["quality_parquet_bytes_per_row"]),
        "curated": rows * measured["licences_parquet_bytes_per_row"] + measured["summary_bytes"],
    }
    replicated_bytes_per_run = 0.0
    for purpose, size in layers.items():
        bucket = bucket_for(purpose)
        noncurrent = None
        replicas = 0
        if bucket is not None:
            noncurrent = bucket.noncurrent_days if bucket.versioned else None
            replicas = 1 if bucket.replicated else 0
        if noncurrent is None and bucket is not None and bucket.versioned:
            noncurrent = storage_retention.get("noncurrent_version_retention_days")
        gbm = stored_gb_months(size, runs, noncurrent, replicas=replicas)
        monthly = gbm * prices["s3_standard_gb_month"]
        basis = (
            f"{size / 1e6:.1f} MB/copy x (1 current + {runs:g} runs x {noncurrent or 0} d / 30 noncurrent)"
            f" x {1 + replicas} (replica)"
        )
        add(LineItem("S3", f"storage {purpose} ({gbm:.3f} GB-month)", 0.0, monthly, basis))
        if replicas:
            replicated_bytes_per_run += size
    transfer = replicated_bytes_per_run / GIB * prices["s3_inter_region_transfer_gb"]
    add(
        LineItem(
            "S3",
            "cross-region replication transfer",
            transfer,
            transfer * runs,
            f"{replicated_bytes_per_run / 1e6:.1f} MB/run to the backup region",
        )
    )
    requests = (
        usage.s3_put_requests_per_run * prices["s3_put_per_1000"]
        + usage.s3_get_requests_per_run * prices["s3_get_per_1000"]
    ) / 1000
    replicas_n = sum(1 for b in deployment.buckets if b.replicated)
    add(
        LineItem(
            "S3",
            "requests",
            requests,
            requests * runs,
            f"{usage.s3_put_requests_per_run} PUT/LIST + {usage.s3_get_requests_per_run} GET per run"
            f" ({replicas_n} replicated buckets)",
        )
    )

    def when(starts: int, scheduled: float) -> str:
        parts = [f"{starts}/run"] if starts else []
        parts += [f"{scheduled:.1f} scheduled/month"] if scheduled else []
        return " + ".join(parts) or "on demand only"

    # DataBrew node-minutes: per start by the state machine, plus the job's own schedule
    brew_minimum = int(prices["databrew_minimum_minutes"])
    for job in deployment.databrew_jobs:
        brew_run = (account_runs or {}).get(job.name)
        minutes = (
            brew_run.billed
            if brew_run and brew_run.runs
            else max(math.ceil(usage.databrew_minutes_per_job - 1e-9), brew_minimum)
        )
        cost = databrew_job_cost(job.nodes, minutes, prices["databrew_node_hour"], brew_minimum)
        starts, scheduled = deployment.runs_per_month(job.name, runs)
        node_minutes = f"{job.nodes} nodes x {minutes:g} min = ${cost:.4f}"
        add(
            LineItem(
                "DataBrew",
                f"{job.job_type.lower()} job {job.name[:38]}",
                cost * starts,
                cost * (starts * runs + scheduled),
                _basis(brew_run, node_minutes, node_minutes) + "; " + when(starts, scheduled),
                key=f"databrew.{job.job_type.lower()}",
            )
        )

    # Glue jobs: DPU-seconds with the 1-minute minimum, for the workers auto scaling really uses
    minimum = prices["glue_etl_minimum_seconds"]
    input_bytes_per_row = {
        "quality": measured["cleaned_parquet_bytes_per_row"],
        "summary": measured["quality_parquet_bytes_per_row"],
    }
    for job in deployment.glue_jobs:
        kind = "summary" if "summar" in job.name.lower() else "quality"
        workers = glue_workers_used(job, rows * input_bytes_per_row[kind])
        used_job = GlueJob(job.name, job.worker_type, workers, job.execution_class, job.auto_scaling)
        # measured on local[2], a proxy for one G.1X executor; more executors split the work
        processing = rows / 1e6 * measured[f"local_spark_{kind}_seconds_per_million_rows"]
        seconds = usage.glue_startup_seconds + processing / max(workers - 1, 1)
        dpu_seconds = used_job.dpus * max(seconds, minimum)
        glue_run = (account_runs or {}).get(job.name)
        execution_class = job.execution_class
        if glue_run and glue_run.runs:  # billed DPU-seconds of the real runs, in the class they ran in
            dpu_seconds, execution_class = glue_run.billed, glue_run.execution_class or job.execution_class
        standard = dpu_seconds * prices["glue_etl_dpu_hour_standard"] / 3600
        flex = dpu_seconds * prices["glue_etl_dpu_hour_flex"] / 3600
        used = flex if execution_class == "FLEX" else standard
        est.flex_alternative[job.name] = flex if execution_class != "FLEX" else standard
        scaling = f"auto scaling, max {job.workers}" if job.auto_scaling else "fixed"
        starts = deployment.started_per_run.get(job.name, 0)
        prices_both = f"standard ${standard:.4f}, Flex ${flex:.4f}"
        add(
            LineItem(
                "Glue",
                f"job {job.name[:48]} ({job.execution_class})",
                used * starts,
                used * starts * runs,
                _basis(
                    glue_run,
                    f"{dpu_seconds:.0f} DPU-s ran {execution_class}; {prices_both}",
                    f"{used_job.dpus:g} DPU ({workers} x {job.worker_type}, {scaling}) x "
                    f"{max(seconds, minimum):.0f} s; {prices_both}",
                ),
                key=f"glue.{kind}",
            )
        )
    crawl = crawler_cost(
        prices["glue_crawler_dpus"],
        usage.crawler_seconds,
        prices["glue_crawler_dpu_hour"],
        prices["glue_crawler_minimum_seconds"],
    )
    assumed_crawl = (
        f"{prices['glue_crawler_dpus']:g} DPU x max({usage.crawler_seconds:.0f} s, "
        f"{prices['glue_crawler_minimum_seconds']:.0f} s minimum) = ${crawl:.4f} a crawl"
    )
    crawl_per_run = crawl_per_month = 0.0
    crawl_starts, crawl_scheduled, crawl_bases = 0, 0.0, []
    for name in deployment.crawlers:
        starts, scheduled = deployment.runs_per_month(name, runs)
        crawl_run = (account_runs or {}).get(name)
        one = crawl
        if crawl_run and crawl_run.runs:
            one = crawl_run.billed * prices["glue_crawler_dpu_hour"] / 3600
        crawl_per_run += one * starts
        crawl_per_month += one * (starts * runs + scheduled)
        crawl_starts, crawl_scheduled = crawl_starts + starts, crawl_scheduled + scheduled
        measured_crawl = f"{crawl_run.billed / 3600 if crawl_run else 0:.3f} DPU-h = ${one:.4f} a crawl"
        crawl_bases.append(
            _basis(crawl_run, measured_crawl, assumed_crawl) + (f" ({name})" if crawl_run else "")
        )
    add(
        LineItem(
            "Glue",
            f"{len(deployment.crawlers)} crawlers",
            crawl_per_run,
            crawl_per_month,
            "; ".join(dict.fromkeys(crawl_bases) or [f"assumed: {assumed_crawl}"])
            + "; "
            + when(crawl_starts, crawl_scheduled),
            key="glue.crawlers",
        )
    )

    # Step Functions (standard workflows): state transitions
    transitions = deployment.state_transitions_per_run
    sfn = transitions * prices["sfn_state_transitions_per_1000"] / 1000
    add(
        LineItem(
            "StepFunctions",
            f"{transitions} state transitions",
            sfn,
            sfn * runs,
            "each state entered once (poll loops add a few)",
            key="sfn.transitions",
        )
    )

    # Athena: every named query of the workgroup once per run, bytes from its columns (the measured
    # tables are the business licences'; another dataset's query is counted at the 10 MB minimum)
    per_query, unmodelled = [], 0
    for _, sql in deployment.named_queries:
        try:
            per_query.append(query_scan_bytes(sql, rows, measured))
        except ValueError:
            per_query.append(0)
            unmodelled += 1
    athena = sum(athena_query_cost(b, prices) for b in per_query) * usage.athena_runs_per_query
    largest = max(per_query, default=0)
    note = f"; {unmodelled} on unmeasured tables at the minimum" if unmodelled else ""
    add(
        LineItem(
            "Athena",
            f"{len(per_query)} named queries x {usage.athena_runs_per_query:g}/run",
            athena,
            athena * runs,
            f"largest scans {largest / 1e6:.2f} MB; 10 MB minimum each{note}",
        )
    )

    # CloudWatch
    alarm_cost = (
        deployment.alarm_metrics * prices["cloudwatch_standard_alarm_month"]
        + deployment.high_resolution_alarm_metrics * prices["cloudwatch_high_resolution_alarm_month"]
    )
    add(
        LineItem(
            "CloudWatch",
            f"{deployment.alarms} alarms ({deployment.alarm_metrics} std + "
            f"{deployment.high_resolution_alarm_metrics} high-res metrics)",
            0.0,
            alarm_cost,
            "per alarm metric-month",
        )
    )
    paid_dash = max(deployment.dashboards - int(prices["cloudwatch_free_dashboards"]), 0)
    add(
        LineItem(
            "CloudWatch",
            f"{deployment.dashboards} dashboards ({paid_dash} paid)",
            0.0,
            paid_dash * prices["cloudwatch_dashboard_month"],
            "first 3 free",
        )
    )

    # CloudTrail data events: every S3 object request on the selected buckets is one event
    events = (
        (usage.s3_put_requests_per_run + usage.s3_get_requests_per_run)
        if deployment.data_event_selectors
        else 0
    )
    trail = events * prices["cloudtrail_data_events_per_100000"] / 100_000
    add(
        LineItem(
            "CloudTrail",
            f"S3 data events ({deployment.data_event_buckets} buckets selected)",
            trail,
            trail * runs,
            f"{events} events/run",
        )
    )
    if deployment.trail_to_cloudwatch_logs:
        ingest = events * usage.cloudtrail_event_bytes / GIB * prices["cloudwatch_logs_ingest_gb"]
        add(
            LineItem(
                "CloudTrail",
                "delivery to CloudWatch Logs",
                ingest,
                ingest * runs,
                f"{events} x {usage.cloudtrail_event_bytes} B ingested",
            )
        )

    # SNS e-mail
    sns = (
        deployment.email_subscriptions
        * usage.notifications_per_run
        * prices["sns_email_per_100000"]
        / 100_000
    )
    add(
        LineItem(
            "SNS",
            f"e-mail ({deployment.email_subscriptions} subscriptions)",
            sns,
            sns * runs,
            f"{usage.notifications_per_run} notification/run, no free tier",
        )
    )
    return est


def format_estimate(est: Estimate) -> str:
    u = est.usage
    lines = [
        f"vancouver-dap cost estimate, stage {est.stage}, dataset {MODELLED_DATASET} and what is shared: "
        f"{u.rows:,} rows, {u.runs_per_month:g} runs/month "
        f"(USD, list prices of {json.loads(PRICES_PATH.read_text())['taken']}, dap/prices.json)",
        f"{'service':<13} {'item':<60} {'per run':>10} {'per month':>10}  basis",
    ]
    for i in est.items:
        lines.append(f"{i.service:<13} {i.item[:60]:<60} {i.per_run:>10.4f} {i.per_month:>10.4f}  {i.basis}")
    lines.append(f"{'TOTAL':<13} {'':<60} {est.per_run:>10.4f} {est.per_month:>10.4f}")
    fixed = est.per_month - est.per_run * u.runs_per_month
    lines.append(
        "  of which not billed per pipeline run (keys, storage, alarms, scheduled crawls and profiles): "
        f"{fixed:.4f}"
    )
    transitions = est.deployment.state_transitions_per_run
    unchanged = next((i.per_run for i in est.items if i.key == "sfn.transitions"), 0.0)
    lines.append(
        f"  a run whose raw input did not change stops before any job: at most {transitions} state "
        f"transitions, {unchanged:.4f}"
    )
    for job, alt in est.flex_alternative.items():
        lines.append(f"  {job}: the other execution class would cost {alt:.4f} per run")
    assumed = [k for k, s in price_status().items() if s == "assumed"]
    lines.append(f"  assumed prices ({len(assumed)}): {', '.join(assumed)}")
    lines.append(f"  usage assumptions (--assume NAME=VALUE): {format_usage(u)}")
    return "\n".join(lines)


# Usage fields --assume may set: all but the two that have flags of their own (--rows, --runs-per-month)
ASSUMABLE = tuple(f.name for f in fields(Usage) if f.name not in ("rows", "runs_per_month"))


def format_usage(usage: Usage) -> str:
    """Every usage assumption as NAME=VALUE, the names ``--assume`` takes."""
    return ", ".join(f"{name}={getattr(usage, name):g}" for name in ASSUMABLE)


def parse_assumptions(texts: Sequence[str]) -> dict[str, float]:
    """``["databrew_minutes_per_job=2"]`` -> ``{"databrew_minutes_per_job": 2.0}``, checked against
    :class:`Usage` so a typo cannot silently leave the default in place: an unknown name, a value that
    is not a finite number >= 0, or a fraction for a whole-number field is a CommandError."""
    from dap.cli import CommandError

    whole = {f.name for f in fields(Usage) if isinstance(f.default, int)}
    out: dict[str, float] = {}
    for text in texts:
        name, sep, raw = (part.strip() for part in text.partition("="))
        if not sep or not name:
            raise CommandError(f"--assume {text!r}: expected NAME=VALUE, e.g. databrew_minutes_per_job=2")
        if name not in ASSUMABLE:
            raise CommandError(
                f"--assume: unknown usage assumption {name!r}; valid names: {', '.join(ASSUMABLE)}"
            )
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise CommandError(f"--assume {name}: {raw!r} is not a number >= 0")
        if name in whole and not value.is_integer():
            raise CommandError(f"--assume {name}: {raw!r} is not a whole number")
        out[name] = int(value) if name in whole else value
    return out


# -- measured runs (--measured) ----------------------------------------------------------------------
NOT_FOUND_CODES = frozenset({"EntityNotFoundException", "ResourceNotFoundException"})
Run = Mapping[str, Any]


def databrew_billed_minutes(run: Run, minimum_minutes: int = 1) -> int:
    """A DataBrew run's ExecutionTime (seconds) in the whole minutes DataBrew bills per node."""
    return max(math.ceil(float(run["ExecutionTime"]) / 60), minimum_minutes)


def glue_billed_dpu_seconds(run: Run, job: GlueJob, minimum_seconds: float = 60) -> float:
    """A Glue run's DPUSeconds when Glue reports it (auto-scaled and Flex runs: what it bills), else its
    ExecutionTime x its capacity (MaxCapacity, or NumberOfWorkers x the worker type's DPUs, else the
    template's) with the 1-minute minimum."""
    if run.get("DPUSeconds") is not None:
        return float(run["DPUSeconds"])
    capacity = run.get("MaxCapacity")
    if not capacity and run.get("NumberOfWorkers"):
        per_worker = DPU_PER_WORKER.get(run.get("WorkerType") or job.worker_type, 1.0)
        capacity = run["NumberOfWorkers"] * per_worker
    return float(capacity or job.dpus) * max(float(run["ExecutionTime"]), minimum_seconds)


def crawl_billed_dpu_seconds(crawl: Run, minimum_seconds: float = 600) -> float:
    """A crawl's DPUHour as DPU-seconds, scaled up to the per-crawl minimum duration when it was shorter
    (its DPUs stay what it used: DPU-hours / duration)."""
    dpu_seconds = float(crawl["DPUHour"]) * 3600
    if crawl.get("StartTime") and crawl.get("EndTime"):
        took = (crawl["EndTime"] - crawl["StartTime"]).total_seconds()
        if 0 < took < minimum_seconds:
            dpu_seconds *= minimum_seconds / took
    return dpu_seconds


def _items(call: Callable[..., Mapping[str, Any]], key: str, **kwargs: Any) -> Iterator[Run]:
    """Every item of a NextToken-paged list call (Glue's ListCrawls has no botocore paginator)."""
    while True:
        page = call(**kwargs)
        yield from page.get(key, [])
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]


def median_of_latest(
    runs: Iterable[Run] | None,
    time_key: str,
    billed: Callable[[Run], float],
    count: int,
    median: Callable[[list[float]], float] = statistics.median,
) -> RunMeasurement:
    """The median billed usage of the ``count`` newest of ``runs`` (successful ones, already filtered);
    ``None`` runs: the job or crawler does not exist. Glue runs also give the most common class."""
    if runs is None:
        return RunMeasurement(0, found=False)
    latest = sorted(runs, key=lambda r: r[time_key], reverse=True)[:count]
    if not latest:
        return RunMeasurement(0)
    classes = Counter(r["ExecutionClass"] for r in latest if r.get("ExecutionClass")).most_common(1)
    return RunMeasurement(
        len(latest), float(median([billed(r) for r in latest])), classes[0][0] if classes else ""
    )


def measure_runs(
    deployed: Deployed, deployment: Deployment, prices: Mapping[str, float], count: int = 5
) -> dict[str, RunMeasurement]:
    """What the last ``count`` successful runs of each DataBrew job, Glue job and crawler of the templates
    were billed, median per name, from the stage's account in its primary region (``deployed``).

    The names are the synthesized ones (nothing hard-coded); a name still holding a CloudFormation token
    cannot be looked up and keeps its assumption. Credentials and access errors are one-line
    CommandErrors (:func:`dap.aws.deployed.aws_errors`); a job that is not deployed is not one.
    DataBrew bills whole minutes, so its median is the upper median (a minute count of a real run).
    """
    deployed.check_identity()
    databrew = deployed.client("databrew")
    glue = deployed.client("glue")
    out: dict[str, RunMeasurement] = {}

    def measure(
        what: str,
        name: str,
        call: Callable[..., Mapping[str, Any]],
        fields_: tuple[str, str, str, str],  # (list field, state field, success state, time field)
        billed: Callable[[Run], float],
        needed: tuple[str, ...],  # a successful run counts if one of these billing fields is set
        median: Callable[[list[float]], float] = statistics.median,
        **kwargs: Any,
    ) -> None:
        if name.startswith("{"):  # a CloudFormation token, not a name
            return
        list_field, state_field, success, time_field = fields_
        runs: list[Run] | None
        with deployed.errors(f"read the runs of {what} {name}"):
            try:
                runs = list(_items(call, list_field, **kwargs))
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") not in NOT_FOUND_CODES:
                    raise
                runs = None
        if runs is not None:
            runs = [
                r
                for r in runs
                if r.get(state_field) == success
                and r.get(time_field)
                and any(r.get(k) is not None for k in needed)
            ]
        out[name] = median_of_latest(runs, time_field, billed, count, median)

    brew_minimum = int(prices["databrew_minimum_minutes"])
    # Each list call is written out (not passed as a bound method) so the IAM coverage test sees it.
    for brew in deployment.databrew_jobs:
        measure(
            "DataBrew job",
            brew.name,
            lambda **page: databrew.list_job_runs(**page),
            ("JobRuns", "State", "SUCCEEDED", "StartedOn"),
            lambda r: databrew_billed_minutes(r, brew_minimum),
            needed=("ExecutionTime",),
            median=statistics.median_high,
            Name=brew.name,
        )
    for job in deployment.glue_jobs:
        measure(
            "Glue job",
            job.name,
            lambda **page: glue.get_job_runs(**page),
            ("JobRuns", "JobRunState", "SUCCEEDED", "StartedOn"),
            lambda r, j=job: glue_billed_dpu_seconds(r, j, prices["glue_etl_minimum_seconds"]),
            needed=("DPUSeconds", "ExecutionTime"),
            JobName=job.name,
        )
    for name in deployment.crawlers:
        measure(
            "crawler",
            name,
            lambda **page: glue.list_crawls(**page),
            ("Crawls", "State", "COMPLETED", "StartTime"),
            lambda r: crawl_billed_dpu_seconds(r, prices["glue_crawler_minimum_seconds"]),
            needed=("DPUHour",),
            CrawlerName=name,
        )
    return out


GROWTH = (1, 10, 100)


def growth(
    deployment: Deployment,
    retention: Mapping[str, int],
    usage: Usage,
    prices,
    stage: str,
    account_runs: Mapping[str, RunMeasurement] | None = None,
) -> str:
    """One line: the month at 1x, 10x and 100x the rows, so the city sees how the bill grows."""
    months = [
        estimate(
            deployment,
            retention,
            replace(usage, rows=usage.rows * f),
            prices,
            stage=stage,
            account_runs=account_runs,
        ).per_month
        for f in GROWTH
    ]
    figures = [f"{f}x ({usage.rows * f:,} rows) ${m:.2f}" for f, m in zip(GROWTH, months, strict=True)]
    return f"per month as the data grows: {', '.join(figures)}"


def format_comparison(left: Estimate, right: Estimate, left_name: str, right_name: str) -> str:
    """Two estimates side by side, item by item (an item missing on one side shows as -)."""
    a, b = left.by_key(), right.by_key()
    keys = list(a) + [k for k in b if k not in a]
    columns = (f"run:{left_name}", f"run:{right_name}", f"month:{left_name}", f"month:{right_name}")
    width = max(10, *(len(c) for c in columns))
    lines = [
        f"per run and per month, {left_name} vs {right_name} "
        f"({left.usage.rows:,} rows, {left.usage.runs_per_month:g} runs/month)",
        f"{'service':<13} {'item':<56} " + " ".join(f"{c:>{width}}" for c in columns),
    ]

    def row(service: str, label: str, values: list[float | None]) -> str:
        cells = " ".join(f"{v:>{width}.4f}" if v is not None else f"{'-':>{width}}" for v in values)
        return f"{service:<13} {label[:56]:<56} {cells}"

    for key in keys:
        x, y = a.get(key), b.get(key)
        shown = x or y
        label = shown.item
        if x and y:  # one label for both sides: the stage generic, figures that differ left out
            label, other = (i.item.replace(f"-{e.stage}-", "-<stage>-") for i, e in ((x, left), (y, right)))
            label = label if label == other else re.sub(r"\s*\(.*\)$", "", label)
        values = [x and x.per_run, y and y.per_run, x and x.per_month, y and y.per_month]
        lines.append(row(shown.service, label, values))
    lines.append(row("TOTAL", "", [left.per_run, right.per_run, left.per_month, right.per_month]))
    return "\n".join(lines)


def _setting(text: str) -> tuple[str, Any]:
    """``glue.max_workers=4`` -> ("glue.max_workers", 4); values are JSON where they parse as JSON."""
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected SETTING=VALUE, got {text!r}")
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw


def _run(args, deployed: Deployed | None = None) -> int:
    """``dap cost``; ``deployed`` (tests) replaces the stage's boto3 clients for ``--measured``."""
    from dap.cli import CommandError

    if args.rows < 0:
        raise CommandError("--rows must be >= 0")
    if args.runs_per_month <= 0:
        raise CommandError("--runs-per-month must be > 0")
    if args.runs is not None and not args.measured:
        raise CommandError("--runs goes with --measured")
    count = 5 if args.runs is None else args.runs
    if count < 1:
        raise CommandError("--runs must be >= 1")
    try:
        prices = load_prices()
    except (OSError, KeyError, ValueError) as exc:
        raise CommandError(f"cannot read {PRICES_PATH}: {exc}") from None
    usage = replace(
        Usage(rows=args.rows, runs_per_month=args.runs_per_month), **parse_assumptions(args.assume or [])
    )
    account_runs: dict[str, RunMeasurement] | None = None

    def estimate_of(stage: str | None, settings: Mapping[str, Any] | None = None) -> tuple[Estimate, str]:
        nonlocal account_runs, deployed
        config, templates = synthesize_templates(stage, settings)
        deployment = read_templates(templates)
        retention = {
            "noncurrent_version_retention_days": config.storage.noncurrent_version_retention_days,
            "query_results_retention_days": config.storage.query_results_retention_days,
        }
        if args.measured:
            from dap.aws.deployed import Deployed

            deployed = deployed or Deployed.from_stage(config.stage)
            account_runs = measure_runs(deployed, deployment, prices, count)
        est = estimate(deployment, retention, usage, prices, stage=config.stage, account_runs=account_runs)
        return est, growth(deployment, retention, usage, prices, config.stage, account_runs)

    current, current_growth = estimate_of(args.stage)
    if args.compare or args.set:
        if args.compare:
            other, other_growth = estimate_of(args.compare)
            other_name = other.stage
        else:
            other, other_growth = estimate_of(current.stage, dict(args.set))
            other_name = "changed"
            print("changed: " + ", ".join(f"{name}={value!r}" for name, value in args.set))
        print(format_comparison(current, other, current.stage, other_name))
        print(f"{current.stage}: {current_growth}\n{other_name}: {other_growth}")
        print(f"  usage assumptions (both sides): {format_usage(usage)}")
        return 0
    print(format_estimate(current))
    if account_runs is not None and deployed is not None:
        done = sum(1 for m in account_runs.values() if m.runs)
        print(
            f"  measured in {deployed.region}: median of the last {count} successful runs; {done} of "
            f"{len(account_runs)} jobs and crawlers had runs, the others keep their assumptions"
        )
    print(f"  {current_growth}")
    return 0


def register(commands) -> None:
    parser = commands.add_parser(
        "cost", help="estimate USD per run and per month from the synthesized templates"
    )
    parser.add_argument("--stage", help="stage from cdk.json (default: dev)")
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="licences in the extract (default 1000000)"
    )
    parser.add_argument(
        "--runs-per-month", type=float, default=30.0, help="pipeline runs a month (default 30)"
    )
    side = parser.add_mutually_exclusive_group()
    side.add_argument("--compare", metavar="STAGE", help="show another stage side by side (e.g. prod)")
    side.add_argument(
        "--set",
        metavar="SETTING=VALUE",
        type=_setting,
        action="append",
        help="compare with this setting changed (repeatable), e.g. --set glue.max_workers=4",
    )
    side.add_argument(
        "--measured",
        action="store_true",
        help="price the jobs and crawlers by their recent successful runs in the stage's account (boto3)",
    )
    parser.add_argument(
        "--runs", type=int, help="with --measured: the median is of this many latest runs (default 5)"
    )
    parser.add_argument(
        "--assume",
        metavar="NAME=VALUE",
        action="append",
        help="set a usage assumption (repeatable; both sides of a comparison), e.g. "
        "--assume databrew_minutes_per_job=2; the names are listed under the estimate",
    )
    parser.set_defaults(handler=_run)
