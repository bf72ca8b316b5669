"""The managed policy ``<prefix>-operator``: exactly what ``dap ingest | run | status | report`` and
``dap cost --measured`` call, for every dataset of the stage (each command takes ``--dataset``).

The ``dap`` commands run with an operator's own credentials; this policy is what the city attaches to
the operators' roles. ``dap query`` runs Athena queries, which read the catalog and the data with the
caller's credentials: that is the analyst policy's job, so operators attach both. Every statement is
one call (or one group of calls) of ``dap/``; ``tests/stacks/iam_calls.py`` lists them with their pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct
from dataset_etl.declaration import Dataset

from stacks.components.access import KEY_FOR_SSE_KMS
from stacks.components.nag import acknowledge
from stacks.components.secure_bucket import s3_arn
from stacks.layout import DatasetLayout
from stacks.names import DatasetNames, PlatformNames


def csv_prefixes(dataset: Dataset) -> list[str]:
    """The CSV folders of a dataset's outputs (``dap report`` downloads them)."""
    layout = DatasetLayout(dataset.id)
    return [layout.output_csv(o.key) for o in dataset.outputs if o.csv]


@dataclass(frozen=True)
class OperatorPolicyProps:
    names: PlatformNames
    datasets: Sequence[tuple[Dataset, DatasetNames]]
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
        layouts = [DatasetLayout(dataset.id) for dataset, _ in props.datasets]
        raw_exports = [s3_arn(self, props.raw_bucket_name, f"/{layout.raw}*") for layout in layouts]
        staged_exports = [s3_arn(self, props.raw_bucket_name, f"/{layout.incoming}*") for layout in layouts]
        csv_folders = [p for dataset, _ in props.datasets for p in csv_prefixes(dataset)]
        csv_objects = [s3_arn(self, props.curated_bucket_name, f"/{p}*") for p in csv_folders]
        machines, executions, profile_jobs = [], [], []
        brew_jobs, glue_jobs, crawlers = [], [], []
        for _, dataset_names in props.datasets:
            brew_jobs += [
                stack.format_arn(service="databrew", resource="job", resource_name=job)
                for job in dataset_names.databrew_jobs
            ]
            glue_jobs += [
                stack.format_arn(service="glue", resource="job", resource_name=job)
                for job in dataset_names.glue_jobs
            ]
            crawlers += [
                stack.format_arn(service="glue", resource="crawler", resource_name=crawler)
                for crawler in dataset_names.crawlers
            ]
            machines.append(
                stack.format_arn(
                    service="states",
                    resource="stateMachine",
                    resource_name=dataset_names.state_machine,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            )
            executions.append(
                stack.format_arn(
                    service="states",
                    resource="execution",
                    resource_name=f"{dataset_names.state_machine}:*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            )
            profile_jobs.append(
                stack.format_arn(
                    service="databrew", resource="job", resource_name=dataset_names.databrew_profile_job
                )
            )
        reports = [
            s3_arn(self, props.transformed_bucket_name, f"/{layout.quality_report_key}") for layout in layouts
        ]
        csv_statements = (
            [
                iam.PolicyStatement(sid="ReadSummaryCsv", actions=["s3:GetObject"], resources=csv_objects),
                iam.PolicyStatement(
                    sid="ListSummaryCsv",
                    actions=["s3:ListBucket"],
                    resources=[s3_arn(self, props.curated_bucket_name)],
                    conditions={"StringEquals": {"s3:prefix": csv_folders}},
                ),
            ]
            if csv_folders
            else []
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            managed_policy_name=names.operator_policy,
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
                    resources=raw_exports,
                ),
                # --from-portal: multipart upload to the staging key, read by copy_object, then deleted
                iam.PolicyStatement(
                    sid="StagePortalExports",
                    actions=["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject", "s3:DeleteObject"],
                    resources=staged_exports,
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
                    resources=machines,
                ),
                iam.PolicyStatement(  # dap profile
                    sid="StartProfileJob", actions=["databrew:StartJobRun"], resources=profile_jobs
                ),
                iam.PolicyStatement(
                    sid="FollowRuns",
                    actions=["states:DescribeExecution", "states:GetExecutionHistory"],
                    resources=executions,
                ),
                iam.PolicyStatement(sid="ReadQualityReport", actions=["s3:GetObject"], resources=reports),
                # dap cost --measured: what the recent runs were billed
                iam.PolicyStatement(
                    sid="MeasureDataBrewRuns", actions=["databrew:ListJobRuns"], resources=brew_jobs
                ),
                iam.PolicyStatement(
                    sid="MeasureGlueJobRuns", actions=["glue:GetJobRuns"], resources=glue_jobs
                ),
                iam.PolicyStatement(sid="MeasureCrawls", actions=["glue:ListCrawls"], resources=crawlers),
                *csv_statements,
            ],
        )
        reasons = {
            **{
                arn: "dap ingest uploads a dataset's exports under its raw prefix with the file's own name."
                for arn in raw_exports
            },
            **{
                arn: "dap ingest --from-portal stages a dataset's export under incoming/ before the copy."
                for arn in staged_exports
            },
            **{
                arn: "dap report downloads the one CSV Spark writes in an output's CSV folder (any name)."
                for arn in csv_objects
            },
            **{
                arn: "dap run --wait follows executions it starts; their names are made at run time."
                for arn in executions
            },
        }
        reasons |= {arn: "CloudFormation stack ARNs end with a stack id made at creation." for arn in stacks}
        for resource, reason in reasons.items():
            acknowledge(
                self.policy,
                f"IAM5[Resource::{resource}]",
                f"{reason} The grant names the one bucket prefix, state machine or stack and nothing wider.",
            )
