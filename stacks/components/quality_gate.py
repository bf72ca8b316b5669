"""The quality gate: the DQDL ruleset on the cleaned table and the job that routes every row.

Both come from ``licence_etl.rules``: Glue Data Quality scores the table with the DQDL rendering,
and the ``quality_check`` job applies the same rules row by row, so passed + failed = rows in.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from constructs import Construct
from licence_etl import rules

from stacks.components.glue_etl_job import BucketPrefixes, GlueEtlJob, GlueEtlJobProps
from stacks.config import GlueSettings, QualitySettings
from stacks.layout import CLEANED_PREFIX, FAILED_PREFIX, PASSED_PREFIX, QUALITY_REPORT_KEY
from stacks.names import PlatformNames


@dataclass(frozen=True)
class QualityGateProps:
    names: PlatformNames
    glue_settings: GlueSettings
    quality: QualitySettings
    key: kms.IKey
    security_configuration: glue.ISecurityConfiguration
    transformed_bucket_name: str
    database: glue.IDatabase
    cleaned_table: glue.ITable


class QualityGate(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: QualityGateProps) -> None:
        super().__init__(scope, construct_id)
        names, bucket = props.names, props.transformed_bucket_name
        self.ruleset = glue.DataQualityRuleset(
            self,
            "Ruleset",
            ruleset_name=f"{names.prefix}-cleaned-licences",
            description="Rules declared in licence_etl.rules (also applied row by row by the quality job)",
            dqdl=glue.Dqdl.from_string(rules.to_dqdl(props.quality.freshness_days)),
            target_table=glue.DataQualityTargetTable.from_table(props.database, props.cleaned_table),
        )
        self.report_uri = f"s3://{bucket}/{QUALITY_REPORT_KEY}"
        self.job = GlueEtlJob(
            self,
            "QualityCheck",
            GlueEtlJobProps(
                job_name=names.quality_job,
                script="quality_check.py",
                description="Routes cleaned licences to quality_check/passed and quality_check/failed",
                settings=props.glue_settings,
                key=props.key,
                security_configuration=props.security_configuration,
                arguments={
                    "input_path": f"s3://{bucket}/{CLEANED_PREFIX}",
                    "passed_path": f"s3://{bucket}/{PASSED_PREFIX}",
                    "failed_path": f"s3://{bucket}/{FAILED_PREFIX}",
                    "report_path": self.report_uri,
                    "freshness_days": str(props.quality.freshness_days),
                    "fail_on_dataset_rule": str(props.quality.fail_on_dataset_rule).lower(),
                    "metrics_pipeline": names.metrics_pipeline,
                },
                reads=[BucketPrefixes(bucket, [CLEANED_PREFIX])],
                writes=[BucketPrefixes(bucket, [PASSED_PREFIX, FAILED_PREFIX])],
                put_objects=[(bucket, QUALITY_REPORT_KEY)],  # licence_etl.io.write_json: one put_object
                publishes_metrics=True,
            ),
        ).job
