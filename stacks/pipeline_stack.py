"""The stateless pipeline in the primary region: per dataset, DataBrew, the Glue catalog and jobs and
the orchestration; shared, the Glue security configuration, Athena and the operator policy. Replaceable
at will: it holds no data of its own (the buckets live in the storage stack).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.components.access import allow_log_group_encryption
from stacks.components.analytics_workgroup import AnalyticsWorkgroup, AnalyticsWorkgroupProps
from stacks.components.dataset_pipeline import DatasetPipeline, DatasetPipelineProps
from stacks.components.operator_policy import OperatorPolicy, OperatorPolicyProps
from stacks.config import StageConfig
from stacks.layout import DatasetLayout
from stacks.names import PlatformNames
from stacks.removal import removal_policy


class PipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        names: PlatformNames,
        key: kms.Key,
        alerts_topic: sns.ITopic,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._allow_glue_log_encryption(key)
        # Buckets by their predictable names: plain strings in policies, no export/import coupling.
        raw_bucket, transformed_bucket, curated_bucket = (
            s3.Bucket.from_bucket_name(self, f"{purpose.capitalize()}Bucket", config.bucket_name(purpose))
            for purpose in ("raw", "transformed", "curated")
        )
        # One security configuration for every Glue job and crawler: the platform key everywhere.
        self.security_configuration = glue.SecurityConfiguration(
            self,
            "GlueSecurityConfiguration",
            security_configuration_name=names.glue_security_configuration,
            s3_encryption=glue.S3Encryption.kms(key),
            cloud_watch_encryption=glue.CloudWatchEncryption.kms(key),
            job_bookmarks_encryption=glue.JobBookmarksEncryption.client_side_kms(key),
        )

        self.datasets: dict[str, DatasetPipeline] = {}
        for entry, dataset_names in zip(config.datasets, names.datasets, strict=True):
            self.datasets[entry.id] = DatasetPipeline(
                self,
                dataset_names.pascal,
                DatasetPipelineProps(
                    config=config,
                    entry=entry,
                    names=dataset_names,
                    metrics_pipeline=names.metrics_pipeline,
                    key=key,
                    topic=alerts_topic,
                    security_configuration=self.security_configuration,
                    raw_bucket=raw_bucket,
                    transformed_bucket=transformed_bucket,
                    curated_bucket=curated_bucket,
                    removal_policy=removal_policy(config),
                ),
            )
        declared = [(entry.dataset, n) for entry, n in zip(config.datasets, names.datasets, strict=True)]

        self.analytics = AnalyticsWorkgroup(
            self,
            "AnalyticsWorkgroup",
            AnalyticsWorkgroupProps(
                names=names,
                datasets=declared,
                key=key,
                query_results_bucket_name=config.bucket_name("query-results"),
                curated_bucket_name=curated_bucket.bucket_name,
                bytes_scanned_cutoff_per_query=config.athena.bytes_scanned_cutoff_per_query,
            ),
        )
        self.operator_policy = OperatorPolicy(
            self,
            "OperatorPolicy",
            OperatorPolicyProps(
                names=names,
                datasets=declared,
                key=key,
                stack_names=(config.stack_name("storage"), config.stack_name("pipeline")),
                raw_bucket_name=raw_bucket.bucket_name,
                transformed_bucket_name=transformed_bucket.bucket_name,
                curated_bucket_name=curated_bucket.bucket_name,
            ),
        ).policy

        # What `dap` resolves for the stage (never hard-coded names on the operator's side).
        for output_id, value in (
            ("WorkgroupName", names.workgroup),
            ("AnalystPolicyArn", self.analytics.analyst_policy.managed_policy_arn),
            ("OperatorPolicyArn", self.operator_policy.managed_policy_arn),
            ("DatasetIds", ",".join(config.dataset_ids)),
        ):
            CfnOutput(self, output_id, value=value)
        for dataset_id, pipeline in self.datasets.items():
            n = names.dataset(dataset_id)
            layout = DatasetLayout(dataset_id)
            for name, value in (
                ("StateMachineArn", pipeline.orchestration.state_machine.state_machine_arn),
                ("GlueDatabaseName", n.glue_database),
                ("QualityReportUri", pipeline.quality_gate.report_uri),
                ("PortalIngestFunctionName", pipeline.ingestion.function.function_name),
                ("ProfileJobName", n.databrew_profile_job),
                ("RawPrefix", layout.raw),
            ):
                CfnOutput(self, n.output(name), value=value, description=f"{dataset_id}: {name}")

    def _allow_glue_log_encryption(self, key: kms.Key) -> None:
        """Glue's security configuration encrypts its CloudWatch log groups with the platform key."""
        allow_log_group_encryption(
            key,
            sid="GlueLogGroupsInThisAccount",
            region=self.region,
            log_group_arn=f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:/aws-glue/*",
        )
