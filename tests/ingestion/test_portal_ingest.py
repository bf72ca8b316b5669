"""Portal ingestion against a real HTTP server on loopback and moto's S3, KMS and SNS.

Each case says what reaches the raw prefix: the normalized export once, nothing when the portal says
the data is unchanged or the bytes are identical, and nothing partial on any failure.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from portal_ingest import handler as lambda_handler
from portal_ingest.csv_check import PortalCsvError
from portal_ingest.ingest import META_MODIFIED, META_SHA256, Target, ingest_from_portal
from portal_ingest.portal import PortalError, PortalSettings

from stacks.datasets import project_dataset

from .portal_server import running_portal

RAW_HEADER = project_dataset("business_licences").raw_header  # the declared raw header of the export

REGION = "ca-central-1"
DATASET = "business-licences"
BUCKET = "vdap-dev-raw-111111111111-ca-central-1"
RAW_KEY = "raw/business_licences/business-licences.csv"
STAGING_KEY = "incoming/business_licences/business-licences.csv"
SAMPLE = (Path(__file__).parents[2] / "sample_data" / "business_licences_sample.csv").read_bytes()
NORMALIZED = b";".join(c.encode() for c in RAW_HEADER) + b"\r\n" + SAMPLE.split(b"\r\n", 1)[1]
CHANGED = SAMPLE.replace(b";Issued;", b";Pending;", 1)


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        yield s3, Target(BUCKET, RAW_KEY, STAGING_KEY, key_arn)


@pytest.fixture
def portal():
    with running_portal() as running:
        yield running


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.lines: list[str] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def log(self, line: str) -> None:
        self.lines.append(line)


def run(aws, portal, recorder: Recorder | None = None, **options):
    s3, target = aws
    recorder = recorder or Recorder()
    settings = PortalSettings(base_url=portal.base_url, dataset_id=DATASET, backoff_seconds=0.5, attempts=3)
    return ingest_from_portal(
        s3, settings, target, RAW_HEADER, log=recorder.log, sleep=recorder.sleep, **options
    )


def raw_versions(s3) -> list[dict]:
    return s3.list_object_versions(Bucket=BUCKET, Prefix="raw/").get("Versions", [])


def assert_nothing_partial(s3) -> None:
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="incoming/")["KeyCount"] == 0
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")


def test_first_export_lands_normalized_encrypted_and_labelled(aws, portal):
    s3, target = aws
    portal.serve(DATASET, modified="2026-12-06T10:00:00+00:00", export=[("csv", SAMPLE)])

    result = run(aws, portal)

    assert result.outcome == "uploaded"
    assert result.data_rows == 600 and result.bytes_read == len(SAMPLE)
    obj = s3.get_object(Bucket=BUCKET, Key=RAW_KEY)
    assert obj["Body"].read() == NORMALIZED  # canonical header, no BOM, data byte for byte
    assert obj["ServerSideEncryption"] == "aws:kms" and obj["SSEKMSKeyId"] == target.kms_key_arn
    assert obj["Metadata"][META_MODIFIED] == "2026-12-06T10:00:00+00:00"
    assert len(obj["Metadata"][META_SHA256]) == 64
    assert len(raw_versions(s3)) == 1
    assert_nothing_partial(s3)
    export_request = next(r for r in portal.requests if "/exports/csv" in r)
    assert "delimiter=%3B" in export_request and "timezone=America%2FVancouver" in export_request


def test_unchanged_portal_date_skips_the_download(aws, portal):
    s3, _ = aws
    portal.serve(DATASET, modified="2026-12-06T10:00:00+00:00", export=[("csv", SAMPLE)])
    run(aws, portal)
    recorder = Recorder()

    result = run(aws, portal, recorder)

    assert result.outcome == "unchanged"
    assert portal.exports_requested(DATASET) == 1  # only the first run downloaded
    assert any(line.startswith("unchanged: the portal says the data last changed") for line in recorder.lines)
    assert len(raw_versions(s3)) == 1


def test_identical_bytes_under_a_new_date_write_nothing(aws, portal):
    s3, _ = aws
    portal.serve(DATASET, modified="2026-12-06T10:00:00+00:00", export=[("csv", SAMPLE)])
    run(aws, portal)
    portal.serve(DATASET, modified="2026-12-07T10:00:00+00:00", export=[("csv", SAMPLE)])

    result = run(aws, portal)

    assert result.outcome == "unchanged" and "byte-identical" in result.reason
    assert len(raw_versions(s3)) == 1  # no new version, so no Object Created event, no run
    assert_nothing_partial(s3)


def test_changed_data_becomes_a_new_version(aws, portal):
    s3, _ = aws
    portal.serve(DATASET, modified="2026-12-06T10:00:00+00:00", export=[("csv", SAMPLE)])
    run(aws, portal)
    portal.serve(DATASET, modified="2026-12-07T10:00:00+00:00", export=[("csv", CHANGED)])

    result = run(aws, portal)

    assert result.outcome == "uploaded"
    assert len(raw_versions(s3)) == 2
    assert b";Pending;" in s3.get_object(Bucket=BUCKET, Key=RAW_KEY)["Body"].read()


def test_force_downloads_even_when_unchanged(aws, portal):
    portal.serve(DATASET, modified="2026-12-06T10:00:00+00:00", export=[("csv", SAMPLE)])
    run(aws, portal)
    assert run(aws, portal, force=True).outcome == "uploaded"
    assert portal.exports_requested(DATASET) == 2


def test_a_500_is_retried_with_backoff_then_succeeds(aws, portal):
    s3, _ = aws
    portal.serve(DATASET, modified="2026-12-06T10:00:00+00:00", export=[("status", 500), ("csv", SAMPLE)])
    recorder = Recorder()

    result = run(aws, portal, recorder)

    assert result.outcome == "uploaded"
    assert recorder.sleeps == [0.5]
    assert portal.exports_requested(DATASET) == 2
    assert s3.get_object(Bucket=BUCKET, Key=RAW_KEY)["Body"].read() == NORMALIZED


def test_a_truncated_body_is_retried_and_never_written(aws, portal):
    s3, _ = aws
    portal.serve(DATASET, modified="2026-12-06T10:00:00+00:00", export=[("truncated", SAMPLE)])
    recorder = Recorder()

    with pytest.raises(PortalError) as raised:
        run(aws, portal, recorder)

    assert portal.exports_requested(DATASET) == 3  # bounded: three attempts
    assert recorder.sleeps == [0.5, 1.0]  # exponential backoff
    message = str(raised.value)
    assert "body cut short" in message and portal.base_url in message
    assert raised.value.bytes_read == len(SAMPLE) // 2
    assert raw_versions(s3) == []
    assert_nothing_partial(s3)


def test_an_html_error_page_fails_the_csv_check_without_retry(aws, portal):
    s3, _ = aws
    page = "<!DOCTYPE html>\n<html><body>Service temporarily unavailable</body></html>\n"
    portal.serve(DATASET, modified="2026-12-06T10:00:00+00:00", export=[("html", page)])

    with pytest.raises(PortalCsvError, match="header has a single column '<!DOCTYPE html>'"):
        run(aws, portal)

    assert portal.exports_requested(DATASET) == 1
    assert raw_versions(s3) == []
    assert_nothing_partial(s3)


def test_a_404_fails_at_once_with_status_and_url(aws, portal):
    portal.serve(DATASET, modified="2026-12-06T10:00:00+00:00", export=[("status", 404)])
    with pytest.raises(PortalError) as raised:
        run(aws, portal)
    assert raised.value.status == 404 and "HTTP 404" in str(raised.value)
    assert portal.exports_requested(DATASET) == 1


def test_a_large_export_is_sent_in_several_parts(aws, portal, monkeypatch):
    """Parts are cut at PART_BYTES while the body streams; the object is the whole export."""
    from portal_ingest import ingest

    monkeypatch.setattr(ingest, "PART_BYTES", 5 * 2**20)  # S3's smallest part
    s3, _ = aws
    body = SAMPLE + SAMPLE.split(b"\r\n", 1)[1] * 60  # ~12 MB, 36,600 rows
    portal.serve(DATASET, modified=None, export=[("csv", body)])

    result = run(aws, portal)

    assert result.outcome == "uploaded" and result.data_rows == 600 * 61
    head = s3.head_object(Bucket=BUCKET, Key=RAW_KEY)
    assert head["ContentLength"] == len(body) - len(SAMPLE.split(b"\r\n", 1)[0]) + len(
        NORMALIZED.split(b"\r\n", 1)[0]
    )
    assert META_MODIFIED not in head["Metadata"]  # the portal gave no date: the checksum decides next time


def test_the_lambda_publishes_a_failure_to_the_topic_and_raises(aws, portal, monkeypatch):
    _, target = aws
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="vdap-dev-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    environment = {
        "PORTAL_BASE_URL": portal.base_url, "DATASET_ID": DATASET, "EXPECTED_COLUMNS": json.dumps(RAW_HEADER),
        "CSV_DELIMITER": ";", "CSV_ENCODING": "utf-8-sig",
        "RAW_BUCKET": BUCKET, "RAW_KEY": RAW_KEY, "STAGING_KEY": STAGING_KEY, "KMS_KEY_ARN": target.kms_key_arn,
        "ALERTS_TOPIC_ARN": topic, "PIPELINE": "vdap-dev", "HTTP_ATTEMPTS": "1",
    }  # fmt: skip
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    portal.serve(DATASET, modified="2026-12-06T10:00:00+00:00", export=[("status", 403)])

    with pytest.raises(PortalError):
        lambda_handler.handler({}, None)

    [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    notification = json.loads(message["Body"])
    assert notification["Subject"] == "vdap-dev: portal ingestion of business-licences failed"
    details = json.loads(notification["Message"])
    assert details["status"] == 403 and details["url"].startswith(portal.base_url)
    assert "HTTP 403" in details["error"]

    portal.serve(DATASET, modified="2026-12-06T10:00:00+00:00", export=[("csv", SAMPLE)])
    assert lambda_handler.handler({}, None)["outcome"] == "uploaded"
    assert lambda_handler.handler({}, None)["outcome"] == "unchanged"


def test_the_lambda_names_missing_configuration():
    with pytest.raises(RuntimeError, match="missing environment variables: PORTAL_BASE_URL, DATASET_ID"):
        lambda_handler.settings_from({})
