"""The summary job: passed licences → the curated daily summary (Parquet + CSV) and licences table."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.components.glue_etl_job import BucketPrefixes, GlueEtlJob, GlueEtlJobProps
from stacks.config import GlueSettings, QualitySettings
from stacks.layout import LICENCES_PREFIX, PASSED_PREFIX, SUMMARY_CSV_PREFIX, SUMMARY_PREFIX
from stacks.names import PlatformNames


@dataclass(frozen=True)
class SummaryJobProps:
    names: PlatformNames
    glue_settings: GlueSettings
    quality: QualitySettings
    key: kms.IKey
    security_configuration: glue.ISecurityConfiguration
    transformed_bucket_name: str
    curated_bucket_name: str


class SummaryJob(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: SummaryJobProps) -> None:
        super().__init__(scope, construct_id)
        source, target = props.transformed_bucket_name, props.curated_bucket_name
        self.job = GlueEtlJob(
            self,
            "Summarize",
            GlueEtlJobProps(
                job_name=props.names.summary_job,
                script="summarize.py",
                description="Summarises issued licences per Vancouver day into the curated bucket",
                settings=props.glue_settings,
                key=props.key,
                security_configuration=props.security_configuration,
                arguments={
                    "input_path": f"s3://{source}/{PASSED_PREFIX}",
                    "summary_path": f"s3://{target}/{SUMMARY_PREFIX}",
                    "summary_csv_path": f"s3://{target}/{SUMMARY_CSV_PREFIX}",
                    "licences_path": f"s3://{target}/{LICENCES_PREFIX}",
                    "min_employees": str(props.quality.min_employees),
                    "status": "Issued",
                },
                reads=[BucketPrefixes(source, [PASSED_PREFIX])],
                writes=[BucketPrefixes(target, [SUMMARY_PREFIX, SUMMARY_CSV_PREFIX, LICENCES_PREFIX])],
            ),
        ).job
