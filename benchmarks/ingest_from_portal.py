"""Benchmark: `dap ingest --from-portal` end to end against a portal on loopback, with moto's AWS.

A generated real-format export (``--rows``, default 100,000) is served by the test suite's portal
server on 127.0.0.1 (chunked, like the portal's streamed exports); the real `dap` CLI resolves the
storage stack's outputs from moto's CloudFormation and streams the export through the portal-CSV check
into moto's S3 (multipart to the staging key, then the copy into the raw prefix). Prints the wall time
of the first (uploading) call and of the second ("unchanged": one metadata request, nothing read).

    .venv/bin/python benchmarks/ingest_from_portal.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time

from _common import OUT_DIR, emit, machine

ACCOUNT, REGION = "123456789012", "ca-central-1"


def storage_stack(bucket: str) -> None:
    """The outputs `dap` reads, from moto's CloudFormation (a key and the raw bucket)."""
    import boto3

    template = {
        "Resources": {
            "PlatformKey": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                               "Action": "kms:*", "Resource": "*"}]}}},
            "Raw": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": bucket}},
        },
        "Outputs": {
            "PlatformKeyArn": {"Value": {"Fn::GetAtt": ["PlatformKey", "Arn"]}},
            "RawBucketName": {"Value": {"Ref": "Raw"}},
        },
    }  # fmt: skip
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="vdap-dev-storage", TemplateBody=json.dumps(template))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
        "DAP_ACCOUNT_ID": ACCOUNT, "AWS_EC2_METADATA_DISABLED": "true",
    }.items():  # fmt: skip
        os.environ[name] = value
    from moto import mock_aws

    from dap import cli
    from sample_data.generate import generate
    from tests.ingestion.portal_server import running_portal

    machine()
    export = OUT_DIR / f"portal_{args.rows}.csv"
    if not export.exists():
        export.parent.mkdir(parents=True, exist_ok=True)
        export.write_bytes(generate(args.rows).encode("utf-8"))
    body = export.read_bytes()
    emit("export_rows", args.rows)
    emit("export_bytes", len(body))

    with mock_aws(), running_portal() as portal:
        storage_stack(f"vdap-dev-raw-{ACCOUNT}-{REGION}")
        portal.serve("business-licences", modified="2026-12-07T08:00:00+00:00", export=[("csv", body)])
        argv = ["ingest", "--dataset", "business_licences", "--from-portal", "--portal-url", portal.base_url]
        for label in ("upload", "unchanged"):
            out, err = io.StringIO(), io.StringIO()
            started = time.perf_counter()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli.main(argv)
            seconds = time.perf_counter() - started
            emit(f"{label}_exit_code", code)
            emit(f"{label}_seconds", seconds)
            emit(f"{label}_outcome", out.getvalue().split(" ", 1)[0])
            if code != 0:
                print(f"dap ingest failed: {err.getvalue().strip()}", file=sys.stderr)
                return 1
            if label == "upload":
                emit("upload_mb_per_second", len(body) / 1e6 / seconds)
        emit("exports_downloaded", portal.exports_requested("business-licences"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
