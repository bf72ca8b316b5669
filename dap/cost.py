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

    dap cost [--stage NAME] [--rows N] [--runs-per-month K]
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRICES_PATH = Path(__file__).with_name("prices.json")
GIB = 2**30
DAYS_PER_MONTH = 30.0
HOURS_PER_MONTH = 730.0
DPU_PER_WORKER = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0, "Standard": 1.0}

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


# Athena tables: the name in SQL -> (columns, partition column); the Glue table names of stacks/names.py
def athena_tables() -> dict[str, tuple[str, ...]]:
    from licence_etl import summary

    return {"licences": summary.LICENCES_NAMES, "licence_summary": summary.SUMMARY_NAMES}


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
    workers: int
    execution_class: str  # STANDARD or FLEX

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
class Deployment:
    """What the synthesized templates declare, as the cost model needs it."""

    kms_keys: int
    buckets: tuple[Bucket, ...]
    alarm_metrics: int  # standard-resolution alarm metrics (a metric-math alarm counts each metric)
    high_resolution_alarm_metrics: int
    alarms: int
    dashboards: int
    glue_jobs: tuple[GlueJob, ...]
    databrew_jobs: tuple[tuple[str, str, int], ...]  # (logical id, type, MaxCapacity)
    crawlers: int
    data_event_selectors: int  # advanced selectors of category Data on S3 objects
    data_event_buckets: int  # buckets those selectors name (ARN prefixes)
    trail_to_cloudwatch_logs: bool
    email_subscriptions: int
    named_queries: tuple[tuple[str, str], ...] = ()  # (name, SQL)


def _name(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def read_templates(templates: Mapping[str, Mapping[str, Any]]) -> Deployment:
    """Count what costs money in ``{stack id: template}`` (the synthesized cdk.out templates)."""
    keys = alarms = std_metrics = hi_metrics = dashboards = crawlers = emails = 0
    selectors = selector_buckets = 0
    to_logs = False
    buckets, glue_jobs, brew, queries = [], [], [], []
    for stack, template in sorted(templates.items()):
        for logical_id, res in template.get("Resources", {}).items():
            kind, props = res.get("Type"), res.get("Properties", {})
            if kind == "AWS::KMS::Key":
                keys += 1
            elif kind == "AWS::S3::Bucket":
                rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
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
                    )
                )
            elif kind == "AWS::DataBrew::Job":
                brew.append((logical_id, props.get("Type", "RECIPE"), int(props.get("MaxCapacity", 5))))
            elif kind == "AWS::Glue::Crawler":
                crawlers += 1
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
        crawlers=crawlers,
        data_event_selectors=selectors,
        data_event_buckets=selector_buckets,
        trail_to_cloudwatch_logs=to_logs,
        email_subscriptions=emails,
        named_queries=tuple(sorted(queries)),
    )


def synthesize_templates(stage: str | None = None) -> tuple[Any, dict[str, dict[str, Any]]]:
    """(stage config, {stack id: template}) of the app for ``stage``, synthesized offline."""
    from stacks.platform_app import build_app

    outdir = tempfile.mkdtemp(prefix="dap-cost-")
    app, config = build_app(
        {"stage": stage} if stage else None, outdir=outdir, cloudformation_validation=False
    )
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


# -- the estimate ------------------------------------------------------------------------------------
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
    per_month: float
    basis: str


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
    measured: Mapping[str, float] = MEASURED,
) -> Estimate:
    """The line items. ``storage_retention``: ``noncurrent_version_retention_days`` etc. (stage config)."""
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

    # DataBrew node-minutes
    for logical_id, job_type, nodes in deployment.databrew_jobs:
        cost = databrew_job_cost(
            nodes,
            usage.databrew_minutes_per_job,
            prices["databrew_node_hour"],
            int(prices["databrew_minimum_minutes"]),
        )
        add(
            LineItem(
                "DataBrew",
                f"{job_type.lower()} job {logical_id[:30]}",
                cost,
                cost * runs,
                f"{nodes} nodes x {math.ceil(usage.databrew_minutes_per_job)} min",
            )
        )

    # Glue jobs: DPU-seconds with the 1-minute minimum; standard and Flex both shown
    minimum = prices["glue_etl_minimum_seconds"]
    for job in deployment.glue_jobs:
        kind = "summary" if "summar" in job.name.lower() else "quality"
        seconds = (
            usage.glue_startup_seconds + rows / 1e6 * measured[f"local_spark_{kind}_seconds_per_million_rows"]
        )
        standard = glue_job_cost(job.dpus, seconds, prices["glue_etl_dpu_hour_standard"], minimum)
        flex = glue_job_cost(job.dpus, seconds, prices["glue_etl_dpu_hour_flex"], minimum)
        used = flex if job.execution_class == "FLEX" else standard
        est.flex_alternative[job.name] = flex if job.execution_class != "FLEX" else standard
        add(
            LineItem(
                "Glue",
                f"job {job.name[:28]} ({job.execution_class})",
                used,
                used * runs,
                f"{job.dpus:g} DPU ({job.workers} x {job.worker_type}) x {max(seconds, minimum):.0f} s; "
                f"standard ${standard:.4f}, Flex ${flex:.4f}",
            )
        )
    crawl = crawler_cost(
        prices["glue_crawler_dpus"],
        usage.crawler_seconds,
        prices["glue_crawler_dpu_hour"],
        prices["glue_crawler_minimum_seconds"],
    )
    add(
        LineItem(
            "Glue",
            f"{deployment.crawlers} crawlers",
            crawl * deployment.crawlers,
            crawl * deployment.crawlers * runs,
            f"{prices['glue_crawler_dpus']:g} DPU x max({usage.crawler_seconds:.0f} s, "
            f"{prices['glue_crawler_minimum_seconds']:.0f} s minimum)",
        )
    )

    # Athena: every named query of the workgroup once per run, bytes from its columns
    per_query = [query_scan_bytes(sql, rows, measured) for _, sql in deployment.named_queries]
    athena = sum(athena_query_cost(b, prices) for b in per_query) * usage.athena_runs_per_query
    largest = max(per_query, default=0)
    add(
        LineItem(
            "Athena",
            f"{len(per_query)} named queries x {usage.athena_runs_per_query:g}/run",
            athena,
            athena * runs,
            f"largest scans {largest / 1e6:.2f} MB; 10 MB minimum each",
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
        f"vancouver-dap cost estimate, stage {est.stage}: {u.rows:,} rows, {u.runs_per_month:g} runs/month "
        f"(USD, list prices of {json.loads(PRICES_PATH.read_text())['taken']}, dap/prices.json)",
        f"{'service':<11} {'item':<52} {'per run':>10} {'per month':>10}  basis",
    ]
    for i in est.items:
        lines.append(f"{i.service:<11} {i.item[:52]:<52} {i.per_run:>10.4f} {i.per_month:>10.4f}  {i.basis}")
    lines.append(f"{'TOTAL':<11} {'':<52} {est.per_run:>10.4f} {est.per_month:>10.4f}")
    fixed = sum(i.per_month for i in est.items if i.per_run == 0)
    lines.append(f"  of which not billed per run (keys, storage, alarms, dashboards): {fixed:.4f}")
    for job, alt in est.flex_alternative.items():
        lines.append(f"  {job}: the other execution class would cost {alt:.4f} per run")
    assumed = [k for k, s in price_status().items() if s == "assumed"]
    lines.append(f"  assumed prices ({len(assumed)}): {', '.join(assumed)}")
    lines.append(
        f"  usage assumptions: DataBrew {u.databrew_minutes_per_job:g} min/job, Glue start-up "
        f"{u.glue_startup_seconds:g} s, crawl {u.crawler_seconds:g} s, {u.s3_put_requests_per_run} PUT + "
        f"{u.s3_get_requests_per_run} GET per run"
    )
    return "\n".join(lines)


def _run(args) -> int:
    from dap.cli import CommandError

    if args.rows < 0:
        raise CommandError("--rows must be >= 0")
    if args.runs_per_month <= 0:
        raise CommandError("--runs-per-month must be > 0")
    try:
        prices = load_prices()
    except (OSError, KeyError, ValueError) as exc:
        raise CommandError(f"cannot read {PRICES_PATH}: {exc}") from None
    config, templates = synthesize_templates(args.stage)
    deployment = read_templates(templates)
    retention = {
        "noncurrent_version_retention_days": config.storage.noncurrent_version_retention_days,
        "query_results_retention_days": config.storage.query_results_retention_days,
    }
    usage = Usage(rows=args.rows, runs_per_month=args.runs_per_month)
    print(format_estimate(estimate(deployment, retention, usage, prices, stage=config.stage)))
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
    parser.set_defaults(handler=_run)
