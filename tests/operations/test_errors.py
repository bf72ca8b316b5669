"""One-line errors: no credentials, wrong account, stack not deployed, missing output, throttling."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from dap.aws.deployed import RETRY_CONFIG, Deployed, stack_outputs
from dap.cli import CommandError
from stacks.config import load_stage
from stacks.datasets import project_dataset

from .conftest import DATASET, REGION, bucket
from .test_ingest import portal_file

RAW_HEADER = project_dataset(DATASET).raw_header


def test_missing_credentials(aws_env, monkeypatch, dap, tmp_path):
    # no mock: nothing is sent, botocore refuses to sign without credentials
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    code, out, err = dap("status", "--dataset", "business_licences")
    assert (code, out) == (1, "")
    assert err.startswith(
        "dap status: no usable AWS credentials (Unable to locate credentials); set AWS_PROFILE"
    )
    assert err.count("\n") == 1


def test_stack_not_deployed(aws, dap):
    code, _, err = dap("status", "--dataset", "business_licences")
    assert code == 1
    assert (
        err
        == "dap status: stack vdap-dev-pipeline is not deployed in ca-central-1; run `make deploy STAGE=dev`\n"
    )


def test_storage_stack_not_deployed_for_ingest(aws, dap, tmp_path):
    code, _, err = dap(
        "ingest", "--dataset", "business_licences", str(portal_file(tmp_path, ";".join(RAW_HEADER)))
    )
    assert (code, err) == (
        1,
        "dap ingest: stack vdap-dev-storage is not deployed in ca-central-1; run `make deploy STAGE=dev`\n",
    )


def test_missing_output(deploy_pipeline, dap):
    deploy_pipeline(omit=("BusinessLicencesQualityReportUri",))
    code, _, err = dap("status", "--dataset", "business_licences")
    assert code == 1
    assert err == (
        "dap status: stack vdap-dev-pipeline has no output BusinessLicencesQualityReportUri (stack status "
        "CREATE_COMPLETE); "
        "it predates this version of the code, run `make deploy STAGE=dev`\n"
    )


def test_credentials_of_another_account(storage, monkeypatch, dap):
    monkeypatch.setenv("DAP_ACCOUNT_ID", "999999999999")
    code, _, err = dap("query", "--dataset", "business_licences", "x")
    assert code == 1
    assert (
        "the AWS credentials are for account 123456789012, but stage dev is deployed to account 999999999999"
        in err
    )


def test_stack_outputs_resolver_for_other_commands(storage):
    outputs = stack_outputs("dev", "storage")
    assert outputs["CuratedBucketName"] == bucket("curated")
    assert set(outputs) == {
        "RawBucketName", "TransformedBucketName", "CuratedBucketName", "QueryResultsBucketName",
        "PlatformKeyArn",
    }  # fmt: skip


def test_every_client_retries_adaptively(aws_env):
    deployed = Deployed.from_stage("dev")
    for service in ("sts", "cloudformation", "s3", "stepfunctions", "athena"):
        client = deployed.client(service)
        assert client.meta.region_name == REGION
        # botocore stores retries={"max_attempts": 10} as 10 retries after the first call
        assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 11}


def test_throttling_after_retries_is_one_clear_line(aws_env):
    """moto never throttles: a stubbed ThrottlingException (the error botocore raises once adaptive
    retries are exhausted; Stubber bypasses the retry loop) must become a CommandError."""
    cloudformation = boto3.client("cloudformation", region_name=REGION, config=RETRY_CONFIG)
    sts = boto3.client("sts", region_name=REGION, config=RETRY_CONFIG)
    with Stubber(sts) as sts_stub, Stubber(cloudformation) as cfn_stub:
        sts_stub.add_response(
            "get_caller_identity",
            {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/ops", "UserId": "AIDAEXAMPLE"},
        )
        cfn_stub.add_client_error("describe_stacks", "ThrottlingException", "Rate exceeded", 400)
        deployed = Deployed.from_stage("dev", clients={"sts": sts, "cloudformation": cloudformation})
        with pytest.raises(CommandError) as raised:
            deployed.output("storage", "RawBucketName")
    assert str(raised.value) == (
        "AWS kept throttling DescribeStacks while trying to read stack vdap-dev-storage (ThrottlingException, "
        "still refused after 10 adaptive retries); wait a minute and try again"
    )


def test_config_error_for_unknown_stage(aws_env, dap):
    code, _, err = dap("status", "--dataset", "business_licences", "--stage", "qa")
    assert code == 2 and err.startswith("config error: stage: 'qa' is not a configured stage")


def test_a_stage_with_several_datasets_needs_dataset(aws, dap):
    """cdk.json's stages run more than one dataset: the error names the choices, before any AWS call."""
    code, _, err = dap("status")
    assert code == 1
    assert err.startswith("dap status: stage dev runs ")
    assert "datasets; choose one with --dataset: business_licences, " in err
    code, _, err = dap("run", "--dataset", "parking")
    assert (code, err.strip()) == (
        1,
        "dap run: --dataset 'parking' is not a dataset of stage dev; choose one of: "
        + ", ".join(load_stage("dev").dataset_ids),
    )
