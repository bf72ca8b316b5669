"""Everything one dataset runs on, instantiated once per dataset the stage lists (``stages.<s>.datasets``).

Storage, the platform key, the alerts topic, the audit trail, the Athena workgroup and the Glue security
configuration are shared; each dataset gets its own prefixes (``stacks.layout.DatasetLayout``), Glue
database and tables, DataBrew dataset, ruleset, recipe and jobs, crawlers, Glue jobs (the shared entry
points of ``glue_scripts/`` with ``--dataset`` and ``--dataset_declaration``), state machine and portal
ingestion function. Every role sees its own dataset's prefixes only.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sns as sns
from constructs import Construct
from dataset_etl.declaration import DECLARATION_FILE

from stacks.components.databrew_cleaning import DataBrewCleaning, DataBrewCleaningProps
from stacks.components.dataset_catalog import DatasetCatalog, DatasetCatalogProps
from stacks.components.pipeline_orchestration import PipelineOrchestration, PipelineOrchestrationProps
from stacks.components.portal_ingestion import PortalIngestion, PortalIngestionProps
from stacks.components.quality_gate import QualityGate, QualityGateProps
from stacks.components.summary_job import SummaryJob, SummaryJobProps
from stacks.config import StageConfig, StageDataset
from stacks.names import DatasetNames


@dataclass(frozen=True)
class DatasetPipelineProps:
    config: StageConfig
    entry: StageDataset
    names: DatasetNames
    metrics_pipeline: str
    key: kms.IKey
    topic: sns.ITopic
    security_configuration: glue.ISecurityConfiguration
    raw_bucket: s3.IBucket
    transformed_bucket: s3.IBucket
    curated_bucket: s3.IBucket
    removal_policy: RemovalPolicy


class DatasetPipeline(Construct):
    """DataBrew cleaning, catalog, quality gate, summary job, state machine and portal ingestion of one
    dataset."""

    def __init__(self, scope: Construct, construct_id: str, props: DatasetPipelineProps) -> None:
        super().__init__(scope, construct_id)
        config, dataset, names = props.config, props.entry.dataset, props.names
        transformed, curated = props.transformed_bucket, props.curated_bucket

        # The jobs read the declaration they run from S3 (--dataset_declaration): this one file.
        self.declaration = s3_assets.Asset(self, "Declaration", path=str(dataset.path / DECLARATION_FILE))

        self.cleaning = DataBrewCleaning(
            self,
            "DataBrewCleaning",
            DataBrewCleaningProps(
                dataset=dataset,
                names=names,
                settings=config.databrew,
                key=props.key,
                raw_bucket_name=props.raw_bucket.bucket_name,
                transformed_bucket_name=transformed.bucket_name,
            ),
        )
        self.catalog = DatasetCatalog(
            self,
            "Catalog",
            DatasetCatalogProps(
                dataset=dataset,
                names=names,
                key=props.key,
                security_configuration=props.security_configuration,
                transformed_bucket=transformed,
                curated_bucket=curated,
                crawler_schedule=config.catalog.crawler_schedule,
                owner=config.owner,
                removal_policy=props.removal_policy,
            ),
        )
        self.quality_gate = QualityGate(
            self,
            "QualityGate",
            QualityGateProps(
                dataset=dataset,
                names=names,
                metrics_pipeline=props.metrics_pipeline,
                declaration=self.declaration,
                glue_settings=config.glue,
                glue_notify_delay_minutes=config.alarms.glue_job_max_minutes,
                quality=config.quality,
                key=props.key,
                security_configuration=props.security_configuration,
                transformed_bucket_name=transformed.bucket_name,
                database=self.catalog.database,
                cleaned_table=self.catalog.cleaned_table,
            ),
        )
        self.summary = SummaryJob(
            self,
            "SummaryJob",
            SummaryJobProps(
                dataset=dataset,
                names=names,
                parameters=props.entry.overrides,
                stage=config.resource_prefix,
                declaration=self.declaration,
                glue_settings=config.glue,
                glue_notify_delay_minutes=config.alarms.glue_job_max_minutes,
                key=props.key,
                security_configuration=props.security_configuration,
                transformed_bucket_name=transformed.bucket_name,
                curated_bucket_name=curated.bucket_name,
            ),
        )
        self.orchestration = PipelineOrchestration(
            self,
            "Orchestration",
            PipelineOrchestrationProps(
                names=names,
                key=props.key,
                topic=props.topic,
                schedule=config.schedule,
                raw_bucket_name=props.raw_bucket.bucket_name,
                transformed_bucket_name=transformed.bucket_name,
                log_retention_days=config.log_retention_days,
                removal_policy=props.removal_policy,
            ),
        )
        self.ingestion = PortalIngestion(
            self,
            "PortalIngestion",
            PortalIngestionProps(
                names=names,
                settings=config.ingestion,
                portal_dataset_id=dataset.portal_dataset_id,
                expected_columns=dataset.raw_header,
                delimiter=dataset.format.delimiter,
                encoding=dataset.format.encoding,
                key=props.key,
                topic=props.topic,
                raw_bucket_name=props.raw_bucket.bucket_name,
                log_retention_days=config.log_retention_days,
                removal_policy=props.removal_policy,
            ),
        )
