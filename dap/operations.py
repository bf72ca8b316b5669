"""``dap ingest | run | profile | status | query``: operate the deployed platform of one stage with boto3.

Every command takes ``--stage`` (default dev) and ``--dataset`` (required when the stage runs more than
one dataset; the error names the choices); the region and stack names come from the stage config,
bucket names and ARNs from the stacks' CloudFormation outputs (:mod:`dap.aws.deployed`), each dataset's
under its own name (``BusinessLicencesStateMachineArn``, :meth:`DatasetNames.output`). Every client
uses botocore's adaptive retry mode (10 retries), so throttling is absorbed; a request still throttled
after that is reported as one line.

Exit codes: 0 success; 1 an error the user can act on (no credentials, stack not deployed, missing
output, bad CSV, unknown query ...); 2 a config error; ``dap run --wait``: 3 FAILED, 4 TIMED_OUT,
5 ABORTED; ``dap query``: 3 FAILED, 5 CANCELLED; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError

from dap.aws.deployed import Deployed, parse_s3_uri
from dap.cli import CommandError
from dap.portal_csv import PortalCsvError, normalize_portal_csv
from stacks.config import StageDataset
from stacks.layout import DatasetLayout
from stacks.names import pascal

# Athena SQL pricing, https://aws.amazon.com/athena/pricing/ : $5.00 per TB scanned, rounded up to the
# next MB, 10 MB minimum per query (same figures in /work/shared/FACTS.md). Decimal units, so the
# estimate errs slightly high if AWS means binary TB. DDL and failed queries are not charged.
ATHENA_USD_PER_TB = 5.00
ATHENA_MIN_BYTES_PER_QUERY = 10 * 1000**2
BYTES_PER_MB = 1000**2
BYTES_PER_TB = 1000**4

RUN_EXIT_CODES = {"FAILED": 3, "TIMED_OUT": 4, "ABORTED": 5}
QUERY_EXIT_CODES = {"FAILED": 3, "CANCELLED": 5}
INTERRUPTED = 130
RUNNING_STATES = {"RUNNING", "PENDING_REDRIVE"}
QUERY_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}
NUMERIC_TYPES = {"tinyint", "smallint", "integer", "int", "bigint", "double", "float", "real", "decimal"}
MAX_CAUSE_CHARS = 400


# --------------------------------------------------------------------------- formatting helpers


def one_line(text: object, limit: int | None = None) -> str:
    flat = " ".join(str(text).split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"


def format_duration(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_time(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[bool] = ()) -> str:
    rows = [list(row) for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]
    right = list(right) + [False] * (len(headers) - len(right))

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(row) for row in rows)])


def format_bytes(count: int) -> str:
    for unit, size in (("TB", 1000**4), ("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if count >= size:
            return f"{count / size:.2f} {unit}"
    return f"{count} B"


def athena_cost(bytes_scanned: int) -> tuple[int, float]:
    """(billed bytes, USD) for one query: rounded up to the MB, at least the 10 MB minimum."""
    billed = max(math.ceil(bytes_scanned / BYTES_PER_MB) * BYTES_PER_MB, ATHENA_MIN_BYTES_PER_QUERY)
    return billed, billed / BYTES_PER_TB * ATHENA_USD_PER_TB


def _cost_line(bytes_scanned: int) -> str:
    billed, usd = athena_cost(bytes_scanned)
    return (
        f"scanned {format_bytes(bytes_scanned)} ({bytes_scanned:,} bytes); billed {format_bytes(billed)} "
        f"(10 MB minimum) ≈ ${usd:.6f} at ${ATHENA_USD_PER_TB:.2f}/TB"
    )


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- datasets


def stage_dataset(deployed: Deployed, dataset_id: str | None) -> StageDataset:
    """The dataset a command acts on: ``--dataset``, or the stage's only one."""
    config = deployed.config
    choices = ", ".join(config.dataset_ids)
    if dataset_id is None:
        if len(config.datasets) == 1:
            return config.datasets[0]
        raise CommandError(
            f"stage {config.stage} runs {len(config.datasets)} datasets; choose one with --dataset: {choices}"
        )
    if dataset_id not in config.dataset_ids:
        raise CommandError(
            f"--dataset {dataset_id!r} is not a dataset of stage {config.stage}; choose one of: {choices}"
        )
    return config.dataset(dataset_id)


def dataset_output(deployed: Deployed, dataset: StageDataset, key: str) -> str:
    """A Pipeline stack output of one dataset (``<DatasetPascal><key>``)."""
    return deployed.output("pipeline", f"{pascal(dataset.id)}{key}")


def _dataset_option(deployed: Deployed, dataset: StageDataset) -> str:
    """``--dataset ID`` for the hints printed after a command, when the stage needs it."""
    return f" --dataset {dataset.id}" if len(deployed.config.datasets) > 1 else ""


# --------------------------------------------------------------------------- ingest


def ingest(
    deployed: Deployed, csv_path: str | Path, out: TextIO | None = None, dataset_id: str | None = None
) -> int:
    """Check the CSV locally against the dataset's declaration, then upload its normalized copy to the
    dataset's raw prefix with SSE-KMS."""
    out = out or sys.stdout
    csv_path = Path(csv_path)
    entry = stage_dataset(deployed, dataset_id)
    with tempfile.TemporaryDirectory(prefix="dap-ingest-") as tmp:
        normalized = Path(tmp) / csv_path.name
        try:  # checks the file first: a bad file never reaches AWS
            info = normalize_portal_csv(csv_path, normalized, entry.dataset)
        except PortalCsvError as error:
            raise CommandError(str(error)) from None
        bucket = deployed.output("storage", "RawBucketName")
        prefix = DatasetLayout(entry.id).raw  # the stacks' own layout: ingest needs only the storage stack
        key_arn = deployed.output("storage", "PlatformKeyArn")
        key = prefix.rstrip("/") + "/" + csv_path.name if prefix else csv_path.name
        uri = f"s3://{bucket}/{key}"
        s3 = deployed.client("s3")
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_arn, "ContentType": "text/csv"}
        with deployed.errors(f"upload {uri}"):
            try:
                s3.upload_file(str(normalized), bucket, key, ExtraArgs=extra)
            except S3UploadFailedError as error:
                raise CommandError(f"upload to {uri} failed: {one_line(error)}") from None
            head = s3.head_object(Bucket=bucket, Key=key)
    print(f"uploaded {uri}", file=out)
    print(
        f"  {head['ContentLength']:,} bytes, {info.data_rows:,} data rows, "
        f"encryption {head.get('ServerSideEncryption', 'none')} with {head.get('SSEKMSKeyId', '-')}",
        file=out,
    )
    command = f"dap run --stage {deployed.config.stage}{_dataset_option(deployed, entry)} --wait"
    print(f"  start the pipeline with: {command}", file=out)
    return 0


class ByteProgress:
    """A one-line progress counter in bytes on stderr, redrawn in place. The portal streams its exports
    without a Content-Length, so there is no total to draw a bar against: bytes so far and the rate."""

    def __init__(self, out: TextIO | None = None, every_seconds: float = 0.2) -> None:
        self.out = out or sys.stderr
        self.every = every_seconds
        self.started = self.shown_at = time.monotonic()
        self.bytes = 0

    def update(self, total_bytes: int) -> None:
        self.bytes = total_bytes
        now = time.monotonic()
        if now - self.shown_at >= self.every:
            self.shown_at = now
            self._show(end="")

    def _show(self, end: str) -> None:
        seconds = max(time.monotonic() - self.started, 1e-9)
        rate = self.bytes / seconds / 1e6
        print(
            f"\r  downloaded {self.bytes:>14,} bytes ({self.bytes / 1e6:.1f} MB, {rate:.1f} MB/s)",
            end=end,
            file=self.out,
        )
        self.out.flush()

    def done(self) -> None:
        if self.bytes:
            self._show(end="\n")


def ingest_from_portal(
    deployed: Deployed,
    where: str | None = None,
    force: bool = False,
    portal_url: str | None = None,
    out: TextIO | None = None,
    dataset_id: str | None = None,
) -> int:
    """Pull the dataset's portal export into its raw prefix, as the scheduled Lambda does (same code)."""
    from portal_ingest import ingest as portal_ingest
    from portal_ingest.portal import PortalError, PortalSettings

    out = out or sys.stdout
    entry = stage_dataset(deployed, dataset_id)
    declared = entry.dataset
    source = deployed.config.ingestion
    settings = PortalSettings(
        base_url=portal_url or source.portal_base_url,
        dataset_id=declared.portal_dataset_id,
        where=(where if where is not None else source.where) or None,
    )
    bucket = deployed.output("storage", "RawBucketName")
    raw_prefix = DatasetLayout(entry.id).raw
    file_name = entry.raw_file_name
    target = portal_ingest.Target(
        bucket,
        raw_prefix + file_name,
        DatasetLayout(entry.id).incoming + file_name,
        deployed.output("storage", "PlatformKeyArn"),
    )
    progress = ByteProgress()
    with deployed.errors(f"ingest {settings.dataset_id} from {settings.base_url}"):
        try:
            result = portal_ingest.ingest_from_portal(
                deployed.client("s3"),
                settings,
                target,
                declared.raw_header,
                delimiter=declared.format.delimiter,
                encoding=declared.format.encoding,
                force=force,
                progress=progress.update,
                log=lambda line: None,
            )
        except (PortalError, PortalCsvError) as error:
            raise CommandError(one_line(error)) from None
        finally:
            progress.done()
    print(f"{result.outcome} {result.uri}", file=out)
    print(f"  {result.reason}", file=out)
    if result.outcome == "uploaded":
        command = f"dap status --stage {deployed.config.stage}{_dataset_option(deployed, entry)}"
        print(f"  the upload starts a pipeline run (Object Created); follow it with: {command}", file=out)
    return 0


# --------------------------------------------------------------------------- run


def execution_name(now: datetime | None = None) -> str:
    return f"manual-{(now or _now()):%Y%m%dT%H%M%SZ}"


def start_run(
    deployed: Deployed, out: TextIO | None = None, force: bool = False, dataset_id: str | None = None
) -> str:
    """Start an execution of the dataset's state machine; ``force`` processes the raw input even if it
    is the last successful run's."""
    out = out or sys.stdout
    arn = dataset_output(deployed, stage_dataset(deployed, dataset_id), "StateMachineArn")
    name = execution_name()
    execution_input = json.dumps({"force": True} if force else {})
    with deployed.errors("start the pipeline"):
        started = deployed.client("stepfunctions").start_execution(
            stateMachineArn=arn, name=name, input=execution_input
        )
    print(f"started {name} ({format_time(started['startDate'])})", file=out)
    print(f"  {started['executionArn']}", file=out)
    return started["executionArn"]


def _details(event: dict[str, Any]) -> dict[str, Any]:
    return next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})


def _event_line(event: dict[str, Any], entered: dict[str, datetime]) -> str | None:
    kind, stamp, details = event["type"], event["timestamp"], _details(event)
    clock = format_time(stamp)
    if kind.endswith("StateEntered"):
        entered[details.get("name", "?")] = stamp
        return f"{clock}  entered  {details.get('name', '?')} ({kind.removesuffix('StateEntered')})"
    if kind.endswith("StateExited"):
        name = details.get("name", "?")
        took = f" after {format_duration(stamp - entered[name])}" if name in entered else ""
        return f"{clock}  exited   {name}{took}"
    if (kind.endswith(("Failed", "TimedOut", "Aborted"))) and not kind.startswith("Execution"):
        error = details.get("error", "")
        cause = one_line(details.get("cause", ""), MAX_CAUSE_CHARS)
        return f"{clock}  {kind}: {error}{': ' + cause if cause else ''}"
    return None


def _history(deployed: Deployed, execution_arn: str) -> list[dict[str, Any]]:
    paginator = deployed.client("stepfunctions").get_paginator("get_execution_history")
    events: list[dict[str, Any]] = []
    for page in paginator.paginate(executionArn=execution_arn, includeExecutionData=False):
        events.extend(page["events"])
    return sorted(events, key=lambda e: e["id"])


def follow_run(
    deployed: Deployed, execution_arn: str, poll_seconds: float = 5.0, out: TextIO | None = None
) -> int:
    """Print each state entered/exited once, until the execution ends; return its exit code."""
    out = out or sys.stdout
    sfn = deployed.client("stepfunctions")
    seen: set[int] = set()
    entered: dict[str, datetime] = {}
    open_states: list[str] = []
    try:
        while True:
            with deployed.errors("follow the pipeline run"):
                execution = sfn.describe_execution(executionArn=execution_arn)
                events = _history(deployed, execution_arn)
            for event in events:
                if event["id"] in seen:
                    continue
                seen.add(event["id"])
                name = _details(event).get("name")
                if event["type"].endswith("StateEntered"):
                    open_states.append(name)
                elif event["type"].endswith("StateExited") and name in open_states:
                    open_states.remove(name)
                line = _event_line(event, entered)
                if line:
                    print(line, file=out, flush=True)
            if execution["status"] not in RUNNING_STATES:
                break
            deployed.sleep(poll_seconds)
    except KeyboardInterrupt:
        print(f"stopped following; the execution keeps running: {execution_arn}", file=sys.stderr)
        return INTERRUPTED

    status = execution["status"]
    took = format_duration(execution.get("stopDate", _now()) - execution["startDate"])
    if status == "SUCCEEDED":
        print(f"{execution['name']} SUCCEEDED in {took}", file=out)
        return 0
    error, cause = execution.get("error", ""), execution.get("cause", "")
    if not error:  # older executions: take it from the last failure event
        for event in reversed(events):
            details = _details(event)
            if details.get("error"):
                error, cause = details["error"], details.get("cause", "")
                break
    where = f" in state {open_states[-1]}" if open_states else ""
    text = f"{error or 'no error given'}" + (f": {one_line(cause, MAX_CAUSE_CHARS)}" if cause else "")
    raise CommandError(
        f"execution {execution['name']} {status}{where} after {took}: {text}",
        exit_code=RUN_EXIT_CODES.get(status, 1),
    )


def run(
    deployed: Deployed,
    wait: bool,
    poll_seconds: float = 5.0,
    out: TextIO | None = None,
    force: bool = False,
    dataset_id: str | None = None,
) -> int:
    out = out or sys.stdout
    entry = stage_dataset(deployed, dataset_id)
    execution_arn = start_run(deployed, out, force, entry.id)
    if not wait:
        print(
            f"  follow it with: dap status --stage {deployed.config.stage}{_dataset_option(deployed, entry)}",
            file=out,
        )
        return 0
    return follow_run(deployed, execution_arn, poll_seconds, out)


def profile(deployed: Deployed, out: TextIO | None = None, dataset_id: str | None = None) -> int:
    """Start the dataset's DataBrew profile job now (it also runs on its own schedule, never on the run
    path)."""
    out = out or sys.stdout
    entry = stage_dataset(deployed, dataset_id)
    job = dataset_output(deployed, entry, "ProfileJobName")
    with deployed.errors(f"start the DataBrew profile job {job}"):
        run_id = deployed.client("databrew").start_job_run(Name=job)["RunId"]
    print(f"started profile job {job}: run {run_id}", file=out)
    print(f"  results under the transformed bucket's {DatasetLayout(entry.id).profiles}", file=out)
    return 0


# --------------------------------------------------------------------------- status


def _read_report(deployed: Deployed, uri: str) -> dict[str, Any] | str:
    """The quality report as a dict, or a one-line reason it could not be read."""
    bucket, key = parse_s3_uri(uri)
    try:
        with deployed.errors(f"read the quality report {uri}"):
            try:
                body = deployed.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    return f"no quality report yet at {uri} (the quality job has not run)"
                raise
    except CommandError as error:  # e.g. access denied: status still shows the runs
        return str(error)
    try:
        report = json.loads(body)
    except ValueError:
        return f"{uri} is not valid JSON"
    return report if isinstance(report, dict) else f"{uri} is not a JSON object"


_COUNTS = (("rows in", "rows_in"), ("passed", "rows_passed"), ("failed", "rows_failed"))


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value if value is not None else "?")


def _report_lines(report: dict[str, Any], now: datetime) -> list[str]:
    lines = []
    rate = report.get("failed_row_rate")
    rate_text = f" ({rate:.2%} failed)" if isinstance(rate, int | float) else ""
    counts = "  ".join(f"{label} {_count(report.get(key))}" for label, key in _COUNTS)
    lines.append(f"  {counts}{rate_text}")
    by_rule = report.get("failures_by_rule") or {}
    if isinstance(by_rule, dict) and by_rule:
        ranked = sorted(by_rule.items(), key=lambda item: (-(item[1] or 0), item[0]))
        lines.append("  failed rows by rule: " + ", ".join(f"{rule} {count:,}" for rule, count in ranked))
    for rule in report.get("dataset_rules") or []:
        verdict = "pass" if rule.get("passed") else "FAIL"
        lines.append(
            f"  dataset rule {rule.get('name', '?')}: {verdict} "
            f"(measured {rule.get('measured')}, expected {rule.get('expected')})"
        )
    run_time = _parse_time(report.get("run_time"))
    if run_time:
        lines.append(f"  report run time {format_time(run_time)} ({format_duration(now - run_time)} ago)")
    elif report.get("run_time"):
        lines.append(f"  report run time {report['run_time']}")
    return lines


def status(
    deployed: Deployed, limit: int = 5, out: TextIO | None = None, dataset_id: str | None = None
) -> int:
    out = out or sys.stdout
    entry = stage_dataset(deployed, dataset_id)
    arn = dataset_output(deployed, entry, "StateMachineArn")
    report_uri = dataset_output(deployed, entry, "QualityReportUri")
    sfn = deployed.client("stepfunctions")
    now = _now()
    with deployed.errors("list the pipeline runs"):
        executions = sfn.list_executions(stateMachineArn=arn, maxResults=limit)["executions"]
        last_ok = next((e for e in executions if e["status"] == "SUCCEEDED"), None)
        if last_ok is None and executions:
            found = sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED", maxResults=1)
            last_ok = next(iter(found["executions"]), None)

    print(
        f"stage {deployed.config.stage} ({deployed.region}), dataset {entry.id}: {arn.rsplit(':', 1)[-1]}",
        file=out,
    )
    if executions:
        rows = []
        for e in executions:
            stop = e.get("stopDate")
            took = format_duration((stop or now) - e["startDate"]) + ("" if stop else " so far")
            rows.append([e["name"], e["status"], format_time(e["startDate"]), took])
        print(f"last {len(rows)} run(s), newest first:", file=out)
        table = format_table(
            ["execution", "outcome", "started", "duration"], rows, [False, False, False, True]
        )
        print("\n".join("  " + line for line in table.splitlines()), file=out)
    else:
        print(
            f"no runs yet; start one with: dap run --stage {deployed.config.stage}"
            f"{_dataset_option(deployed, entry)} --wait",
            file=out,
        )

    if last_ok is not None:
        ended = last_ok.get("stopDate") or last_ok["startDate"]
        print(
            f"freshness: last successful run {last_ok['name']} ended {format_time(ended)} "
            f"({format_duration(now - ended)} ago)",
            file=out,
        )
    else:
        print("freshness: no successful run yet", file=out)

    report = _read_report(deployed, report_uri)
    print(f"data quality ({report_uri}):", file=out)
    if isinstance(report, str):
        print(f"  {report}", file=out)
    else:
        print("\n".join(_report_lines(report, now)), file=out)
    return 0


# --------------------------------------------------------------------------- query


def named_queries(deployed: Deployed, workgroup: str) -> dict[str, dict[str, Any]]:
    """The workgroup's named queries by Name.

    One GetNamedQuery per id rather than BatchGetNamedQuery: moto 5.2.5 does not implement the batch
    call, and a workgroup holds one named query per queries/*.sql file (a handful).
    """
    athena = deployed.client("athena")
    found: dict[str, dict[str, Any]] = {}
    with deployed.errors(f"list the named queries of workgroup {workgroup}"):
        for page in athena.get_paginator("list_named_queries").paginate(WorkGroup=workgroup):
            for query_id in page["NamedQueryIds"]:
                named = athena.get_named_query(NamedQueryId=query_id)["NamedQuery"]
                found.setdefault(named["Name"], named)
    return found


def _wait_for_query(deployed: Deployed, execution_id: str) -> dict[str, Any]:
    athena = deployed.client("athena")
    delay = 0.25
    while True:
        with deployed.errors("wait for the query"):
            execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        if execution["Status"]["State"] in QUERY_DONE:
            return execution
        deployed.sleep(delay)
        delay = min(delay * 2, 5.0)


def _cell(datum: dict[str, Any]) -> str:
    return datum.get("VarCharValue", "NULL")


def _results(
    deployed: Deployed, execution_id: str, max_rows: int
) -> tuple[list[dict], list[list[str]], bool]:
    """(column info, up to ``max_rows`` data rows, whether more rows exist)."""
    athena = deployed.client("athena")
    columns: list[dict[str, Any]] = []
    rows: list[list[str]] = []
    token = None
    first_page = True
    with deployed.errors("read the query results"):
        while True:
            kwargs = {"QueryExecutionId": execution_id, "MaxResults": min(1000, max_rows + 2)}
            if token:
                kwargs["NextToken"] = token
            page = athena.get_query_results(**kwargs)
            page_rows = [[_cell(d) for d in row.get("Data", [])] for row in page["ResultSet"]["Rows"]]
            if first_page:
                columns = page["ResultSet"].get("ResultSetMetadata", {}).get("ColumnInfo", [])
                labels = [c.get("Label") or c.get("Name", "") for c in columns]
                if page_rows and page_rows[0] == labels:  # a SELECT's first row repeats the header
                    page_rows = page_rows[1:]
                first_page = False
            rows.extend(page_rows)
            token = page.get("NextToken")
            if len(rows) > max_rows or not token:
                break
    return columns, rows[:max_rows], len(rows) > max_rows or bool(token)


def query_name(deployed: Deployed, name: str, dataset_id: str | None) -> str:
    """The named query to run: ``<dataset>-<name>`` for the dataset (``--dataset``, or the stage's only
    one); with several datasets and no ``--dataset``, ``name`` must be a full name."""
    config = deployed.config
    if dataset_id is None and len(config.datasets) > 1:
        return name
    entry = stage_dataset(deployed, dataset_id)
    return name if name.startswith(f"{entry.id}-") else f"{entry.id}-{name}"


def query(
    deployed: Deployed,
    name: str,
    max_rows: int = 100,
    out: TextIO | None = None,
    dataset_id: str | None = None,
) -> int:
    out = out or sys.stdout
    workgroup = deployed.output("pipeline", "WorkgroupName")
    wanted = query_name(deployed, name, dataset_id)
    queries = named_queries(deployed, workgroup)
    if wanted not in queries:
        known = ", ".join(sorted(queries)) or "none"
        raise CommandError(f"no named query {wanted!r} in workgroup {workgroup}; known: {known}")
    name = wanted
    named = queries[name]
    database = named.get("Database")
    if not database:
        entry = stage_dataset(deployed, name.split("-", 1)[0] if dataset_id is None else dataset_id)
        database = dataset_output(deployed, entry, "GlueDatabaseName")
    athena = deployed.client("athena")
    with deployed.errors(f"start query {name}"):
        execution_id = athena.start_query_execution(
            QueryString=named["QueryString"],
            WorkGroup=workgroup,
            QueryExecutionContext={"Database": database},
        )["QueryExecutionId"]
    try:
        execution = _wait_for_query(deployed, execution_id)
    except KeyboardInterrupt:
        with deployed.errors("cancel the query"):
            athena.stop_query_execution(QueryExecutionId=execution_id)
        raise CommandError(f"interrupted; cancelled query {execution_id}", exit_code=INTERRUPTED) from None

    state_info = execution["Status"]
    state = state_info["State"]
    scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0) or 0)
    if state != "SUCCEEDED":
        reason = state_info.get("StateChangeReason") or state_info.get("AthenaError", {}).get("ErrorMessage")
        if state == "CANCELLED":  # a cancelled query is billed for what it scanned; a failed one is not
            print(_cost_line(scanned), file=out)
        raise CommandError(
            f"query {name} {state}: {one_line(reason or 'no reason given')} (execution {execution_id})",
            exit_code=QUERY_EXIT_CODES.get(state, 1),
        )

    columns, rows, truncated = _results(deployed, execution_id, max_rows)
    headers = [c.get("Label") or c.get("Name", "") for c in columns] or [
        f"_col{i}" for i in range(len(rows[0]) if rows else 0)
    ]
    right = [c.get("Type", "").lower() in NUMERIC_TYPES for c in columns]
    if headers:
        print(format_table(headers, rows, right), file=out)
    more = f"; more not shown (--max-rows {max_rows})" if truncated else ""
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''}{more})", file=out)
    print(_cost_line(scanned), file=out)
    print(f"execution {execution_id} in workgroup {workgroup}, database {database}", file=out)
    return 0


# --------------------------------------------------------------------------- CLI


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _deployed(args: argparse.Namespace) -> Deployed:
    return Deployed.from_stage(args.stage)


def _ingest_command(args: argparse.Namespace) -> int:
    if args.from_portal == bool(args.csv):
        raise CommandError("give a CSV file or --from-portal (one of them)")
    if not args.from_portal and (args.where or args.force or args.portal_url):
        raise CommandError("--where, --force and --portal-url go with --from-portal")
    if args.from_portal:
        return ingest_from_portal(
            _deployed(args), args.where, args.force, args.portal_url, dataset_id=args.dataset
        )
    return ingest(_deployed(args), args.csv, dataset_id=args.dataset)


def register(commands) -> None:
    retry_note = " All AWS clients use adaptive retries (up to 10 retries per request)."

    def add(name: str, help_text: str, handler) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help_text, description=help_text + "." + retry_note)
        parser.add_argument("--stage", default="dev", help="stage from cdk.json (default: dev)")
        parser.add_argument(
            "--dataset",
            help="dataset id of the stage (stages.<s>.datasets in cdk.json); required when it has several",
        )
        parser.set_defaults(handler=handler)
        return parser

    parser = add(
        "ingest",
        "check a portal CSV, then upload it (normalized header, SSE-KMS) to the raw bucket; or, with "
        "--from-portal, pull the export from the open-data portal as the scheduled ingestion does",
        _ingest_command,
    )
    parser.add_argument("csv", nargs="?", help="the dataset's CSV in its portal export format (its [format])")
    parser.add_argument(
        "--from-portal", action="store_true", help="download the dataset's export from the portal"
    )
    parser.add_argument("--where", help="with --from-portal: an ODSQL filter, e.g. \"folderyear >= '24'\"")
    parser.add_argument("--force", action="store_true", help="with --from-portal: download even if unchanged")
    parser.add_argument("--portal-url", help="with --from-portal: another Explore API base URL (a mirror)")

    parser = add(
        "run",
        "start the dataset's pipeline state machine",
        lambda a: run(_deployed(a), a.wait, a.poll_seconds, force=a.force, dataset_id=a.dataset),
    )
    parser.add_argument(
        "--force", action="store_true", help="process the raw input even if the last successful run did"
    )
    parser.add_argument("--wait", action="store_true", help="follow the run state by state until it ends")
    parser.add_argument("--poll-seconds", type=float, default=5.0, help="polling interval with --wait")

    add(
        "profile",
        "start the dataset's DataBrew profile job now (column statistics, PII detection, the ruleset)",
        lambda a: profile(_deployed(a), dataset_id=a.dataset),
    )

    parser = add(
        "status",
        "the dataset's last runs, data-quality counts and data freshness",
        lambda a: status(_deployed(a), a.limit, dataset_id=a.dataset),
    )
    parser.add_argument("--limit", type=_positive_int, default=5, help="runs to list (default: 5)")

    parser = add(
        "query",
        "run a named Athena query of the workgroup and print the result with its cost",
        lambda a: query(_deployed(a), a.name, a.max_rows, dataset_id=a.dataset),
    )
    parser.add_argument(
        "name",
        help="named query: the stem of a datasets/<id>/queries/*.sql file (with --dataset), or <id>-<stem>",
    )
    parser.add_argument("--max-rows", type=_positive_int, default=100, help="rows to print (default: 100)")
