"""The managed policy ``<prefix>-operator``: exactly what ``dap ingest | run | status | report`` call.

The ``dap`` commands run with an operator's own credentials; this policy is what the city attaches to
the operators' roles. ``dap query`` runs Athena queries, which read the catalog and the data with the
caller's credentials: that is the analyst policy's job, so operators attach both. Every statement is
one call (or one group of calls) of ``dap/``; ``tests/stacks/iam_calls.py`` lists them with their pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.components.access import KEY_FOR_SSE_KMS
from stacks.components.nag import acknowledge
from stacks.components.secure_bucket import s3_arn
from stacks.layout import INCOMING_PREFIX, QUALITY_REPORT_KEY, RAW_PREFIX, SUMMARY_CSV_PREFIX
from stacks.names import PlatformNames


@dataclass(frozen=True)
class OperatorPolicyProps:
    names: PlatformNames
    key: kms.IKey
    stack_names: tuple[str, ...]  # the stacks whose outputs dap reads (storage, pipeline)
    raw_bucket_name: str
    transformed_bucket_name: str
    curated_bucket_name: str


class OperatorPolicy(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: OperatorPolicyProps) -> None:
        super().__init__(scope, construct_id)
        names, stack = props.names, Stack.of(self)
        stacks = [
            f"arn:{stack.partition}:cloudformation:{stack.region}:{stack.account}:stack/{name}/*"
            for name in props.stack_names
        ]
        raw_exports = s3_arn(self, props.raw_bucket_name, f"/{RAW_PREFIX}*")
        staged_exports = s3_arn(self, props.raw_bucket_name, f"/{INCOMING_PREFIX}*")
        summary_csv = s3_arn(self, props.curated_bucket_name, f"/{SUMMARY_CSV_PREFIX}*")
        machine = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=names.state_machine,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{names.state_machine}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            managed_policy_name=f"{names.prefix}-operator",
            description="What the dap ingest, run, status and report commands call (dap query: attach the "
            "analyst policy too)",
            statements=[
                iam.PolicyStatement(
                    sid="ReadStackOutputs", actions=["cloudformation:DescribeStacks"], resources=stacks
                ),
                # upload_file (single or multipart, aborted on failure), then head_object;
                # --from-portal: head_object of the current copy, copy_object from the staging key
                iam.PolicyStatement(
                    sid="IngestRawExports",
                    actions=["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"],
                    resources=[raw_exports],
                ),
                # --from-portal: multipart upload to the staging key, read by copy_object, then deleted
                iam.PolicyStatement(
                    sid="StagePortalExports",
                    actions=["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject", "s3:DeleteObject"],
                    resources=[staged_exports],
                ),
                # head_object of a raw copy that is not there yet answers 404 (not 403) only with
                # ListBucket, and HeadObject carries no s3:prefix to condition it on
                iam.PolicyStatement(
                    sid="SeeMissingRawCopy",
                    actions=["s3:ListBucket"],
                    resources=[s3_arn(self, props.raw_bucket_name)],
                ),
                iam.PolicyStatement(
                    sid="UseThePlatformKey", actions=list(KEY_FOR_SSE_KMS), resources=[props.key.key_arn]
                ),
                iam.PolicyStatement(
                    sid="RunThePipeline",
                    actions=["states:StartExecution", "states:ListExecutions"],
                    resources=[machine],
                ),
                iam.PolicyStatement(  # dap profile
                    sid="StartProfileJob",
                    actions=["databrew:StartJobRun"],
                    resources=[
                        stack.format_arn(
                            service="databrew", resource="job", resource_name=names.databrew_profile_job
                        )
                    ],
                ),
                iam.PolicyStatement(
                    sid="FollowRuns",
                    actions=["states:DescribeExecution", "states:GetExecutionHistory"],
                    resources=[executions],
                ),
                iam.PolicyStatement(
                    sid="ReadQualityReport",
                    actions=["s3:GetObject"],
                    resources=[s3_arn(self, props.transformed_bucket_name, f"/{QUALITY_REPORT_KEY}")],
                ),
                iam.PolicyStatement(sid="ReadSummaryCsv", actions=["s3:GetObject"], resources=[summary_csv]),
                iam.PolicyStatement(
                    sid="ListSummaryCsv",
                    actions=["s3:ListBucket"],
                    resources=[s3_arn(self, props.curated_bucket_name)],
                    conditions={"StringEquals": {"s3:prefix": SUMMARY_CSV_PREFIX}},
                ),
            ],
        )
        reasons = {
            raw_exports: "dap ingest uploads exports under the raw prefix with the file's own name.",
            staged_exports: "dap ingest --from-portal stages the export under incoming/ before the copy.",
            summary_csv: "dap report downloads the one CSV Spark writes under summary_csv/ (generated name).",
            executions: "dap run --wait follows executions it starts; their names are made at run time.",
        }
        reasons |= {arn: "CloudFormation stack ARNs end with a stack id made at creation." for arn in stacks}
        for resource, reason in reasons.items():
            acknowledge(
                self.policy,
                f"IAM5[Resource::{resource}]",
                f"{reason} The grant names the one bucket prefix, state machine or stack and nothing wider.",
            )
