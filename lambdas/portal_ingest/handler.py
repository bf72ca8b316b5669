"""The scheduled ingestion Lambda: the portal's export into the raw bucket (see :mod:`.ingest`).

Configured by environment variables that the CDK construct sets from the stage config and the dataset's
declaration (one function per dataset: its portal id, raw header as a JSON list, delimiter, encoding).
A failure is published to the alerts topic (HTTP status, URL, bytes read, reason) and then raised, so
the function's Errors metric (alarmed) counts it; the function is invoked with no automatic retries,
since the requests inside it already retry what is worth retrying.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import boto3

from portal_ingest.csv_check import PortalCsvError
from portal_ingest.ingest import Target, ingest_from_portal
from portal_ingest.portal import PortalError, PortalSettings

ENVIRONMENT = (
    "PORTAL_BASE_URL", "DATASET_ID", "EXPECTED_COLUMNS", "CSV_DELIMITER", "CSV_ENCODING", "RAW_BUCKET",
    "RAW_KEY", "STAGING_KEY", "KMS_KEY_ARN", "ALERTS_TOPIC_ARN", "PIPELINE",
)  # fmt: skip


@dataclass(frozen=True)
class CsvFormat:
    """The export's header and format as the dataset declares them."""

    columns: list[str]
    delimiter: str
    encoding: str


def settings_from(environ: dict[str, str]) -> tuple[PortalSettings, Target, CsvFormat]:
    missing = [name for name in ENVIRONMENT if not environ.get(name)]
    if missing:
        raise RuntimeError(f"portal ingestion is missing environment variables: {', '.join(missing)}")
    settings = PortalSettings(
        base_url=environ["PORTAL_BASE_URL"],
        dataset_id=environ["DATASET_ID"],
        where=environ.get("PORTAL_WHERE") or None,
        timeout_seconds=float(environ.get("HTTP_TIMEOUT_SECONDS", "60")),
        attempts=int(environ.get("HTTP_ATTEMPTS", "4")),
    )
    target = Target(environ["RAW_BUCKET"], environ["RAW_KEY"], environ["STAGING_KEY"], environ["KMS_KEY_ARN"])
    # The stack writes the declaration's raw header as a JSON list (a column name may hold any character).
    csv_format = CsvFormat(
        json.loads(environ["EXPECTED_COLUMNS"]), environ["CSV_DELIMITER"], environ["CSV_ENCODING"]
    )
    return settings, target, csv_format


def handler(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    environ = dict(os.environ)
    settings, target, csv_format = settings_from(environ)
    force = bool((event or {}).get("force"))
    try:
        result = ingest_from_portal(
            boto3.client("s3"),
            settings,
            target,
            csv_format.columns,
            delimiter=csv_format.delimiter,
            encoding=csv_format.encoding,
            force=force,
        )
    except (PortalError, PortalCsvError) as error:
        details = {
            "status": getattr(error, "status", None),
            "url": getattr(error, "url", settings.export_url),
            "bytes_read": getattr(error, "bytes_read", None),
            "error": str(error),
        }
        boto3.client("sns").publish(
            TopicArn=environ["ALERTS_TOPIC_ARN"],
            Subject=f"{environ['PIPELINE']}: portal ingestion of {settings.dataset_id} failed"[:100],
            Message=json.dumps(details, indent=2),
        )
        print(json.dumps({"outcome": "failed", **details}))
        raise
    print(json.dumps({"outcome": result.outcome, "uri": result.uri, "reason": result.reason}))
    return {
        "outcome": result.outcome,
        "uri": result.uri,
        "bytes": result.bytes_read,
        "rows": result.data_rows,
    }
