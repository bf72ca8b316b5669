"""The stateless pipeline in the primary region: DataBrew, the Glue catalog and jobs, orchestration and
Athena. Replaceable at will: it holds no data of its own (the buckets live in the storage stack).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct
from licence_etl.schema import RAW_HEADER

from stacks.components.access import allow_log_group_encryption
from stacks.components.analytics_workgroup import AnalyticsWorkgroup, AnalyticsWorkgroupProps
from stacks.components.databrew_cleaning import DataBrewCleaning, DataBrewCleaningProps
from stacks.components.licence_catalog import LicenceCatalog, LicenceCatalogProps
from stacks.components.operator_policy import OperatorPolicy, OperatorPolicyProps
from stacks.components.pipeline_orchestration import PipelineOrchestration, PipelineOrchestrationProps
from stacks.components.portal_ingestion import PortalIngestion, PortalIngestionProps
from stacks.components.quality_gate import QualityGate, QualityGateProps
from stacks.components.summary_job import SummaryJob, SummaryJobProps
from stacks.config import StageConfig
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

        self.cleaning = DataBrewCleaning(
            self,
            "DataBrewCleaning",
            DataBrewCleaningProps(
                names=names,
                settings=config.databrew,
                key=key,
                raw_bucket_name=raw_bucket.bucket_name,
                transformed_bucket_name=transformed_bucket.bucket_name,
            ),
        )
        self.catalog = LicenceCatalog(
            self,
            "LicenceCatalog",
            LicenceCatalogProps(
                names=names,
                key=key,
                transformed_bucket=transformed_bucket,
                curated_bucket=curated_bucket,
                crawler_schedule=config.catalog.crawler_schedule,
                owner=config.owner,
                data_classification=config.data_classification,
                removal_policy=removal_policy(config),
            ),
        )
        self.quality_gate = QualityGate(
            self,
            "QualityGate",
            QualityGateProps(
                names=names,
                glue_settings=config.glue,
                quality=config.quality,
                key=key,
                security_configuration=self.catalog.security_configuration,
                transformed_bucket_name=transformed_bucket.bucket_name,
                database=self.catalog.database,
                cleaned_table=self.catalog.cleaned_table,
            ),
        )
        self.summary = SummaryJob(
            self,
            "SummaryJob",
            SummaryJobProps(
                names=names,
                glue_settings=config.glue,
                quality=config.quality,
                key=key,
                security_configuration=self.catalog.security_configuration,
                transformed_bucket_name=transformed_bucket.bucket_name,
                curated_bucket_name=curated_bucket.bucket_name,
            ),
        )

        self.orchestration = PipelineOrchestration(
            self,
            "PipelineOrchestration",
            PipelineOrchestrationProps(
                names=names,
                key=key,
                topic=alerts_topic,
                schedule=config.schedule,
                raw_bucket_name=raw_bucket.bucket_name,
                transformed_bucket_name=transformed_bucket.bucket_name,
                log_retention_days=config.log_retention_days,
                removal_policy=removal_policy(config),
            ),
        )
        self.ingestion = PortalIngestion(
            self,
            "PortalIngestion",
            PortalIngestionProps(
                names=names,
                settings=config.ingestion,
                expected_columns=RAW_HEADER,
                key=key,
                topic=alerts_topic,
                raw_bucket_name=raw_bucket.bucket_name,
                log_retention_days=config.log_retention_days,
                removal_policy=removal_policy(config),
            ),
        )
        self.analytics = AnalyticsWorkgroup(
            self,
            "AnalyticsWorkgroup",
            AnalyticsWorkgroupProps(
                names=names,
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
                key=key,
                stack_names=(config.stack_name("storage"), config.stack_name("pipeline")),
                raw_bucket_name=raw_bucket.bucket_name,
                transformed_bucket_name=transformed_bucket.bucket_name,
                curated_bucket_name=curated_bucket.bucket_name,
            ),
        ).policy

        # What `dap` resolves for the stage (never hard-coded names on the operator's side).
        for output_id, value in (
            ("StateMachineArn", self.orchestration.state_machine.state_machine_arn),
            ("WorkgroupName", names.workgroup),
            ("GlueDatabaseName", names.glue_database),
            ("QualityReportUri", self.quality_gate.report_uri),
            ("AnalystPolicyArn", self.analytics.analyst_policy.managed_policy_arn),
            ("OperatorPolicyArn", self.operator_policy.managed_policy_arn),
            ("PortalIngestFunctionName", self.ingestion.function.function_name),
            ("ProfileJobName", names.databrew_profile_job),
        ):
            CfnOutput(self, output_id, value=value)

    def _allow_glue_log_encryption(self, key: kms.Key) -> None:
        """Glue's security configuration encrypts its CloudWatch log groups with the platform key."""
        allow_log_group_encryption(
            key,
            sid="GlueLogGroupsInThisAccount",
            region=self.region,
            log_group_arn=f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:/aws-glue/*",
        )
