"""The pinned CDK CLI drives the app through cdk.json exactly as a user's `cdk synth` would.

This is the one place the suite keeps CloudFormation's built-in template validation on.
"""

from __future__ import annotations

import json
import os
import subprocess

from stacks.config import PROJECT_ROOT

CDK = [str(PROJECT_ROOT / "node_modules" / ".bin" / "cdk")]


def run_cdk(*args: str, tmp_path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    env.pop("DAP_ACCOUNT_ID", None)
    return subprocess.run(
        [*CDK, *args, "--output", str(tmp_path / "cdk.out")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_synthesizes_prod_with_validation(tmp_path):
    result = run_cdk("synth", "--all", "-c", "stage=prod", "--quiet", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((tmp_path / "cdk.out" / "manifest.json").read_text())
    stacks = {
        a["properties"]["stackName"]: a["environment"]
        for a in manifest["artifacts"].values()
        if a["type"] == "aws:cloudformation:stack"
    }
    assert stacks == {
        "vdap-prod-replica": "aws://222222222222/ca-west-1",
        "vdap-prod-storage": "aws://222222222222/ca-central-1",
        "vdap-prod-observability": "aws://222222222222/ca-central-1",
        "vdap-prod-pipeline": "aws://222222222222/ca-central-1",
    }


def test_cli_rejects_an_unknown_stage_with_a_clear_message(tmp_path):
    result = run_cdk("synth", "-c", "stage=staging", "--quiet", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "config error: stage: 'staging' is not a configured stage; allowed: dev, prod" in result.stderr
    assert "Traceback" not in result.stderr
