"""moto-backed AWS for the operations commands: real moto resources, no hand-made fakes.

The storage stack is created through moto's CloudFormation (a KMS key and the buckets as resources,
outputs by Ref/GetAtt). The pipeline resources moto's CloudFormation would skip or build in the wrong
backend (Athena, the executing Step Functions backend) are created by API and their names passed to a
pipeline stack as parameters, so the commands still read every name from stack outputs.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import boto3
import pytest
from moto import mock_aws

from dap import cli as dap_cli
from stacks.layout import DatasetLayout

DATASET = "business_licences"  # the dataset the commands act on (cdk.json lists more: --dataset)
LICENCES = DatasetLayout(DATASET)
QUALITY_REPORT_KEY = LICENCES.quality_report_key
RAW_PREFIX = LICENCES.raw

ACCOUNT = "123456789012"  # moto's default account
REGION = "ca-central-1"  # stage dev's primary region in cdk.json
STORAGE_STACK = "vdap-dev-storage"
PIPELINE_STACK = "vdap-dev-pipeline"
WORKGROUP = "vdap-dev-analytics"
DATABASE = "vdap_dev_licences"

PASS_DEFINITION = {
    "StartAt": "Clean",
    "States": {
        "Clean": {"Type": "Pass", "Next": "QualityCheck"},
        "QualityCheck": {"Type": "Pass", "End": True},
    },
}
SLOW_DEFINITION = {  # the Wait makes several polls see the execution RUNNING
    "StartAt": "Clean",
    "States": {
        "Clean": {"Type": "Pass", "Next": "Settle"},
        "Settle": {"Type": "Wait", "Seconds": 1, "Next": "QualityCheck"},
        "QualityCheck": {"Type": "Pass", "End": True},
    },
}
FAIL_DEFINITION = {
    "StartAt": "Clean",
    "States": {
        "Clean": {"Type": "Pass", "Next": "QualityGate"},
        "QualityGate": {"Type": "Fail", "Error": "QualityGateFailed", "Cause": "failed_row_rate 0.31 > 0.2"},
    },
}
NAMED_QUERIES = {  # as the stack names them: <dataset id>-<file stem>
    f"{DATASET}-average_fee_issued": "SELECT businesstype, avg(feepaid) AS avg_fee FROM licences GROUP BY 1",
    f"{DATASET}-licences_by_area": "SELECT localarea, count(*) AS n FROM licences GROUP BY 1",
}


def bucket(purpose: str) -> str:
    return f"vdap-dev-{purpose}-{ACCOUNT}-{REGION}"


@pytest.fixture
def aws(aws_env):
    # keep boto3's default session between tests: it would reload every service model each time
    config = {"stepfunctions": {"execute_state_machine": True}, "core": {"reset_boto3_session": False}}
    with mock_aws(config=config):
        yield


@pytest.fixture
def storage(aws) -> dict[str, str]:
    """The storage stack through moto's CloudFormation; returns its outputs."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    resources = {"PlatformKey": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": policy}}}
    outputs = {"PlatformKeyArn": {"Value": {"Fn::GetAtt": ["PlatformKey", "Arn"]}}}
    for purpose, output in (
        ("raw", "RawBucketName"),
        ("transformed", "TransformedBucketName"),
        ("curated", "CuratedBucketName"),
        ("query-results", "QueryResultsBucketName"),
    ):
        logical = output.removesuffix("Name")
        resources[logical] = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": bucket(purpose)}}
        outputs[output] = {"Value": {"Ref": logical}}
    cfn = boto3.client("cloudformation", region_name=REGION)
    template = {"Resources": resources, "Outputs": outputs}
    cfn.create_stack(StackName=STORAGE_STACK, TemplateBody=json.dumps(template))
    stack = cfn.describe_stacks(StackName=STORAGE_STACK)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


@pytest.fixture
def deploy_pipeline(storage) -> Callable[..., dict[str, str]]:
    """Create a state machine, the workgroup and named queries, then the pipeline stack's outputs."""

    def deploy(definition: dict = PASS_DEFINITION, omit: tuple[str, ...] = ()) -> dict[str, str]:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="vdap-dev-business-licences-pipeline",
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/vdap-dev-business-licences-pipeline",
        )["stateMachineArn"]
        athena = boto3.client("athena", region_name=REGION)
        athena.create_work_group(
            Name=WORKGROUP,
            Configuration={
                "ResultConfiguration": {"OutputLocation": f"s3://{bucket('query-results')}/athena/"}
            },
        )
        for name, sql in NAMED_QUERIES.items():
            athena.create_named_query(Name=name, Database=DATABASE, QueryString=sql, WorkGroup=WORKGROUP)
        values = {  # the Pipeline stack's outputs: shared, then the dataset's (<DatasetPascal><name>)
            "WorkgroupName": WORKGROUP,
            "BusinessLicencesStateMachineArn": machine,
            "BusinessLicencesGlueDatabaseName": DATABASE,
            "BusinessLicencesQualityReportUri": f"s3://{bucket('transformed')}/{QUALITY_REPORT_KEY}",
            "BusinessLicencesProfileJobName": "vdap-dev-business-licences-profile",
            "BusinessLicencesRawPrefix": RAW_PREFIX,
        }
        values = {k: v for k, v in values.items() if k not in omit}
        template = {
            "Parameters": {key: {"Type": "String"} for key in values},
            "Resources": {"Alerts": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "vdap-dev-x"}}},
            "Outputs": {key: {"Value": {"Ref": key}} for key in values},
        }
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName=PIPELINE_STACK,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        )
        return values

    return deploy


@pytest.fixture
def dap(monkeypatch, capsys):
    """Run ``dap ARGS...`` through the real CLI entry point; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(dap_cli, "COMMAND_MODULES", ("dap.operations",))  # no Spark import

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = dap_cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
