"""The quality gate of one dataset: the DQDL ruleset on its cleaned table and the job that routes every row.

Both come from ``dataset_etl.rules`` over the dataset's declared rules: Glue Data Quality scores the
table with the DQDL rendering, and the ``quality_check`` job applies the same rules row by row, so
passed + failed = rows in.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct
from dataset_etl.declaration import Dataset
from dataset_etl.rules import RuleSet

from stacks.components.glue_etl_job import BucketPrefixes, GlueEtlJob, GlueEtlJobProps
from stacks.config import GlueSettings, QualitySettings
from stacks.layout import DatasetLayout
from stacks.names import DatasetNames


@dataclass(frozen=True)
class QualityGateProps:
    dataset: Dataset
    names: DatasetNames
    metrics_pipeline: str  # the Pipeline dimension of the row metrics (the job adds Dataset=<id>)
    declaration: s3_assets.Asset
    glue_settings: GlueSettings
    glue_notify_delay_minutes: int  # alarms.glue_job_max_minutes: Glue's delay notification
    quality: QualitySettings
    key: kms.IKey
    security_configuration: glue.ISecurityConfiguration
    transformed_bucket_name: str
    database: glue.IDatabase
    cleaned_table: glue.ITable


class QualityGate(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: QualityGateProps) -> None:
        super().__init__(scope, construct_id)
        dataset, names, bucket = props.dataset, props.names, props.transformed_bucket_name
        layout = DatasetLayout(dataset.id)
        self.ruleset = glue.DataQualityRuleset(
            self,
            "Ruleset",
            ruleset_name=names.quality_ruleset,
            description=f"Rules of {dataset.id} (dataset_etl.rules; the quality job applies them row by row)",
            dqdl=glue.Dqdl.from_string(RuleSet.of(dataset).to_dqdl(props.quality.freshness_days)),
            target_table=glue.DataQualityTargetTable.from_table(props.database, props.cleaned_table),
        )
        self.report_uri = f"s3://{bucket}/{layout.quality_report_key}"
        self.job = GlueEtlJob(
            self,
            "QualityCheck",
            GlueEtlJobProps(
                job_name=names.quality_job,
                script="quality_check.py",
                description=f"Routes the cleaned {dataset.id} rows to quality_check/passed and /failed",
                settings=props.glue_settings,
                notify_delay_minutes=props.glue_notify_delay_minutes,
                key=props.key,
                security_configuration=props.security_configuration,
                arguments={
                    "dataset": dataset.id,
                    "input_path": f"s3://{bucket}/{layout.cleaned}",
                    "passed_path": f"s3://{bucket}/{layout.passed}",
                    "failed_path": f"s3://{bucket}/{layout.failed}",
                    "report_path": self.report_uri,
                    "freshness_days": str(props.quality.freshness_days),
                    "fail_on_dataset_rule": str(props.quality.fail_on_dataset_rule).lower(),
                    # <pipeline>/<dataset>: metrics with Pipeline and Dataset (dataset_etl.io.metric_data)
                    "metrics_pipeline": props.metrics_pipeline,
                },
                reads=[BucketPrefixes(bucket, [layout.cleaned])],
                writes=[BucketPrefixes(bucket, [layout.passed, layout.failed])],
                put_objects=[
                    (bucket, layout.quality_report_key)
                ],  # dataset_etl.io.write_json: one put_object
                publishes_metrics=True,
                declaration=props.declaration,
            ),
        ).job
