"""Report JSON to S3 and CloudWatch metrics, against moto (the only things mocked)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from dataset_etl import io
from dataset_etl.jobargs import optional_text, parse_bool, parse_run_time
from moto import mock_aws

from .conftest import RUN_TIME, licence, write_cleaned

REGION = "ca-central-1"


@pytest.fixture
def aws(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="dap-reports", CreateBucketConfiguration={"LocationConstraint": REGION})
        yield s3


def test_write_json_to_s3(aws):
    io.write_json({"rows_in": 3, "when": datetime(2025, 1, 1, tzinfo=UTC)}, "s3://dap-reports/qc/run.json")
    obj = aws.get_object(Bucket="dap-reports", Key="qc/run.json")
    assert obj["ContentType"] == "application/json"
    assert json.loads(obj["Body"].read()) == {"rows_in": 3, "when": "2025-01-01 00:00:00+00:00"}


def test_write_json_locally(tmp_path):
    target = tmp_path / "deep" / "report.json"
    io.write_json({"a": 1}, str(target))
    assert json.loads(target.read_text()) == {"a": 1}


def test_split_s3_rejects_a_bucket_without_key():
    with pytest.raises(ValueError):
        io.split_s3("s3://bucket-only")


def test_publish_metrics(aws):
    io.publish_metrics("dev-licences", "business_licences", rows_in=10, passed=7, failed=3)
    cw = boto3.client("cloudwatch", region_name=REGION)
    listed = cw.list_metrics(Namespace="VancouverDAP")["Metrics"]
    assert {m["MetricName"] for m in listed} == {"RowsIn", "RowsPassed", "RowsFailed", "FailedRowRate"}
    dims = [{"Name": "Pipeline", "Value": "dev-licences"}, {"Name": "Dataset", "Value": "business_licences"}]
    assert all(m["Dimensions"] == dims for m in listed)
    now = datetime.now(UTC)
    stats = cw.get_metric_statistics(
        Namespace="VancouverDAP",
        MetricName="FailedRowRate",
        Dimensions=dims,
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum"],
    )
    assert [p["Maximum"] for p in stats["Datapoints"]] == [0.3]


def test_read_text_from_s3_and_local(aws, tmp_path):
    aws.put_object(Bucket="dap-reports", Key="datasets/x/dataset.toml", Body='id = "x" # é'.encode())
    assert io.read_text("s3://dap-reports/datasets/x/dataset.toml") == 'id = "x" # é'
    local = tmp_path / "dataset.toml"
    local.write_text("title = 'ü'", encoding="utf-8")
    assert io.read_text(str(local)) == io.read_text(f"file://{local}") == "title = 'ü'"


def test_quality_job_reports_to_s3_and_publishes(aws, spark, tmp_path, licences, quality_check):
    src = write_cleaned(spark, [licence(), licence(fee_paid=-1.0)], tmp_path / "cleaned")
    quality_check.run(
        spark,
        licences,
        src,
        str(tmp_path / "passed"),
        str(tmp_path / "failed"),
        "s3://dap-reports/quality/report.json",
        run_time=RUN_TIME,
        metrics_pipeline="test",
    )
    report = json.loads(aws.get_object(Bucket="dap-reports", Key="quality/report.json")["Body"].read())
    assert (report["rows_in"], report["rows_passed"], report["rows_failed"]) == (2, 1, 1)
    cw = boto3.client("cloudwatch", region_name=REGION)
    listed = cw.list_metrics(Namespace="VancouverDAP")["Metrics"]
    assert {m["MetricName"] for m in listed} == {"RowsIn", "RowsPassed", "RowsFailed", "FailedRowRate"}
    assert all({d["Name"]: d["Value"] for d in m["Dimensions"]} == {"Pipeline": "test", "Dataset": licences.id}
               for m in listed)  # fmt: skip


def test_metric_data_zero_rows():
    data = {d["MetricName"]: d for d in io.metric_data("p", "d", 0, 0, 0)}
    assert data["FailedRowRate"]["Value"] == 0.0 and data["FailedRowRate"]["Unit"] == "None"


@pytest.mark.parametrize(("text", "value"), [("true", True), ("False", False), ("1", True), ("no", False)])
def test_parse_bool(text, value):
    assert parse_bool(text) is value


def test_parse_bool_rejects_garbage():
    with pytest.raises(Exception, match="true or false"):
        parse_bool("maybe")


def test_parse_run_time():
    assert parse_run_time("2025-10-05T05:00:00-07:00") == RUN_TIME.replace(hour=12)
    assert parse_run_time("2025-10-05T12:00:00") == RUN_TIME
    assert parse_run_time(None).tzinfo is UTC
    assert optional_text("") is None and optional_text("none") is None and optional_text("x") == "x"
