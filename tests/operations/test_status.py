"""dap status: last runs, DQ counts from the latest quality report, freshness."""

from __future__ import annotations

import json

import boto3

from .conftest import FAIL_DEFINITION, QUALITY_REPORT_KEY, REGION, bucket

REPORT = {
    "rows_in": 2600,
    "rows_passed": 2588,
    "rows_failed": 12,
    "failed_row_rate": 12 / 2600,
    "failures_by_rule": {"fee_not_negative": 3, "issued_date_present": 9},
    "dataset_rules": [
        {"name": "RowCount", "passed": True, "measured": 2600, "expected": "> 0"},
        {"name": "DataFreshness", "passed": False, "measured": "41 days", "expected": "<= 30 days"},
    ],
    "run_time": "2026-01-02T03:04:05+00:00",
}


def run_once(deploy_pipeline, dap):
    deploy_pipeline()
    assert dap("run", "--dataset", "business_licences", "--wait", "--poll-seconds", "0.05")[0] == 0


def test_status_lists_runs_dq_counts_and_freshness(deploy_pipeline, dap):
    run_once(deploy_pipeline, dap)
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=bucket("transformed"), Key=QUALITY_REPORT_KEY, Body=json.dumps(REPORT).encode())

    code, out, err = dap("status", "--dataset", "business_licences", "--limit", "3")

    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    assert (
        lines[0] == "stage dev (ca-central-1), dataset business_licences: vdap-dev-business-licences-pipeline"
    )
    assert lines[1] == "last 1 run(s), newest first:"
    assert lines[2].split() == ["execution", "outcome", "started", "duration"]
    assert lines[4].split()[0].startswith("manual-") and lines[4].split()[1] == "SUCCEEDED"
    assert "freshness: last successful run manual-" in out and " ago)" in out
    assert "  rows in 2,600  passed 2,588  failed 12 (0.46% failed)" in lines
    assert "  failed rows by rule: issued_date_present 9, fee_not_negative 3" in lines
    assert "  dataset rule RowCount: pass (measured 2600, expected > 0)" in lines
    assert "  dataset rule DataFreshness: FAIL (measured 41 days, expected <= 30 days)" in lines
    assert any(line.startswith("  report run time 2026-01-02 03:04:05Z (") for line in lines), out


def test_status_after_a_failed_run_and_before_any_report(deploy_pipeline, dap):
    deploy_pipeline(FAIL_DEFINITION)
    assert dap("run", "--dataset", "business_licences", "--wait", "--poll-seconds", "0.05")[0] == 3

    code, out, _ = dap("status", "--dataset", "business_licences")

    assert code == 0
    assert " FAILED " in out
    assert "freshness: no successful run yet" in out
    assert "no quality report yet at s3://" in out


def test_status_with_no_runs(deploy_pipeline, dap):
    deploy_pipeline()
    code, out, _ = dap("status", "--dataset", "business_licences")
    assert (
        code == 0
        and "no runs yet; start one with: dap run --stage dev --dataset business_licences --wait" in out
    )
