"""dap ingest: check first, then upload the normalized file under the raw prefix with SSE-KMS."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from stacks.datasets import project_dataset

from .conftest import DATASET, RAW_PREFIX, REGION, bucket

RAW_HEADER = project_dataset(DATASET).raw_header

ROW = (
    "24;4528701;24-148301;10;299 Burrard Management Ltd;Fairmont Pacific Rim Hotel - Botanist;Issued;"
    "2024-01-16T14:37:35-08:00;2024-12-31;Restaurant;Class 1 with liquor service;;;1038;CANADA PLACE;"
    "Vancouver;BC;CA;V6C 0B9;Downtown;43.0;;2025-10-01T02:31:39-07:00;"
    '"{""coordinates"": [-123.116590608283, 49.2881583053534], ""type"": ""Point""}";'
    "49.2881583053534, -123.116590608283"
)


def portal_file(tmp_path, header: str, name: str = "business-licences.csv"):
    path = tmp_path / name
    path.write_bytes(("\ufeff" + header + "\r\n" + ROW + "\r\n" + ROW + "\r\n").encode("utf-8"))
    return path


def test_ingest_uploads_normalized_file_encrypted_with_platform_key(tmp_path, storage, dap):
    # lower-case header with BOM, as the portal API writes it: the upload carries the canonical names
    path = portal_file(tmp_path, ";".join(RAW_HEADER).lower())

    code, out, err = dap("ingest", "--dataset", "business_licences", str(path))

    assert (code, err) == (0, "")
    key = RAW_PREFIX + "business-licences.csv"
    raw = storage["RawBucketName"]
    assert raw == bucket("raw")
    assert f"uploaded s3://{raw}/{key}" in out
    s3 = boto3.client("s3", region_name=REGION)
    head = s3.head_object(Bucket=raw, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == storage["PlatformKeyArn"]
    body = s3.get_object(Bucket=raw, Key=key)["Body"].read()
    assert body.split(b"\r\n")[0] == ";".join(RAW_HEADER).encode()  # canonical, no BOM
    assert body.split(b"\r\n")[1] == ROW.encode()
    assert f"{head['ContentLength']:,} bytes, 2 data rows" in out
    assert s3.list_objects_v2(Bucket=raw)["KeyCount"] == 1


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (",".join(RAW_HEADER), "wrong delimiter: the header is comma-separated"),
        (";".join(RAW_HEADER[:-1]), "missing column(s): geo_point_2d"),
    ],
)
def test_bad_file_uploads_nothing(tmp_path, storage, dap, header, message):
    code, out, err = dap("ingest", "--dataset", "business_licences", str(portal_file(tmp_path, header)))

    assert code == 1
    assert err.startswith("dap ingest: business-licences.csv: ") and message in err
    assert err.count("\n") == 1 and out == ""
    assert (
        boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=storage["RawBucketName"])["KeyCount"]
        == 0
    )


def test_file_is_checked_before_any_aws_call(tmp_path, aws, dap):
    # nothing is deployed: a bad file must still fail on its content, not on the missing stack
    code, _, err = dap(
        "ingest", "--dataset", "business_licences", str(portal_file(tmp_path, ",".join(RAW_HEADER)))
    )
    assert code == 1 and "wrong delimiter" in err and "not deployed" not in err


def test_missing_file(tmp_path, aws, dap):
    code, _, err = dap("ingest", "--dataset", "business_licences", str(tmp_path / "nope.csv"))
    assert (code, err) == (1, "dap ingest: nope.csv: no such file\n")


def test_ingest_from_portal_pulls_the_export_like_the_lambda(storage, dap):
    """Same code path as the scheduled function: a real HTTP server on loopback stands in for the portal."""
    from tests.ingestion.portal_server import running_portal

    sample = (Path(__file__).parents[2] / "sample_data" / "business_licences_sample.csv").read_bytes()
    with running_portal() as portal:
        portal.serve("business-licences", modified="2026-12-06T10:00:00+00:00", export=[("csv", sample)])
        code, out, err = dap(
            "ingest",
            "--dataset",
            "business_licences",
            "--from-portal",
            "--portal-url",
            portal.base_url,
            "--where",
            "folderyear='25'",
        )
        assert code == 0, err
        assert f"downloaded {len(sample):>14,} bytes" in err  # the progress counter ends at the whole body
        key = RAW_PREFIX + "business-licences.csv"
        assert out.startswith(f"uploaded s3://{storage['RawBucketName']}/{key}\n")
        assert "600 data rows" in out
        assert "where=folderyear%3D%2725%27" in next(r for r in portal.requests if "/exports/csv" in r)

        code, out, _ = dap(
            "ingest", "--dataset", "business_licences", "--from-portal", "--portal-url", portal.base_url
        )
        assert code == 0 and out.startswith("unchanged ")
        assert portal.exports_requested("business-licences") == 1

    s3 = boto3.client("s3", region_name=REGION)
    head = s3.head_object(Bucket=storage["RawBucketName"], Key=RAW_PREFIX + "business-licences.csv")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == storage["PlatformKeyArn"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "give a CSV file or --from-portal (one of them)"),
        (("a.csv", "--from-portal"), "give a CSV file or --from-portal (one of them)"),
        (("a.csv", "--where", "x"), "--where, --force and --portal-url go with --from-portal"),
    ],
)
def test_ingest_arguments_are_checked(dap, argv, message):
    code, _, err = dap("ingest", "--dataset", "business_licences", *argv)
    assert code == 1 and err.strip() == f"dap ingest: {message}"


def test_each_dataset_is_checked_against_its_own_declaration_and_lands_under_its_prefix(storage, dap):
    sample = Path(__file__).parents[2] / "sample_data" / "employee_remuneration_sample.csv"

    code, out, err = dap("ingest", "--dataset", "employee_remuneration", str(sample))

    assert (code, err) == (0, "")
    key = "raw/employee_remuneration/employee_remuneration_sample.csv"
    s3 = boto3.client("s3", region_name=REGION)
    body = s3.get_object(Bucket=storage["RawBucketName"], Key=key)["Body"].read()
    assert body.split(b"\r\n")[0] == b"Year;Name;Department;Title;Remuneration;Expenses"
    assert body == sample.read_bytes()  # already canonical: no BOM, the declared header
    assert "500 data rows" in out


def test_a_file_of_another_dataset_is_refused_and_the_dataset_must_be_named(tmp_path, storage, dap):
    licences = portal_file(tmp_path, ";".join(RAW_HEADER))
    code, out, err = dap("ingest", "--dataset", "employee_remuneration", str(licences))
    assert code == 1 and out == "" and err.startswith("dap ingest: business-licences.csv: ")
    assert err.count("\n") == 1

    code, _, err = dap("ingest", str(licences))  # the stage runs two datasets: which one?
    assert code == 1 and "business_licences" in err and "employee_remuneration" in err
    assert (
        boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=storage["RawBucketName"])["KeyCount"]
        == 0
    )
