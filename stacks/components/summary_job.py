"""The summary job of one dataset: its passed rows → every declared curated output (Parquet, and a CSV
where the output says so) under ``<curated>/<id>/``, then the HTML run report (``<id>/reports/latest.html``).

The report reads the quality job's JSON report (one GetObject of its exact key) and a few failed rows
(the failed prefix, read only); it is rendered with Jinja2, which Glue 5.0 does not provide
(awslabs/aws-glue-libs glue-5.0 base-requirements.txt lists matplotlib, not Jinja2), so the job
installs the pinned pair of ``requirements.lock`` with ``--additional-python-modules``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct
from dataset_etl.declaration import Dataset

from stacks.components.glue_etl_job import BucketPrefixes, GlueEtlJob, GlueEtlJobProps
from stacks.config import GlueSettings
from stacks.layout import DatasetLayout
from stacks.names import DatasetNames

# The versions of requirements.lock, so the deployed report renders with what the tests ran.
REPORT_PYTHON_MODULES = "jinja2==3.1.6,markupsafe==3.0.4"


def output_prefixes(dataset: Dataset) -> list[str]:
    """What the job writes under the curated bucket: each output's folder, and its CSV folder if any."""
    layout = DatasetLayout(dataset.id)
    prefixes = []
    for output in dataset.outputs:
        prefixes.append(layout.output(output.key))
        if output.csv:
            prefixes.append(layout.output_csv(output.key))
    return prefixes


@dataclass(frozen=True)
class SummaryJobProps:
    dataset: Dataset
    names: DatasetNames
    parameters: Mapping[str, Any]  # the stage's overrides of the declared parameters
    stage: str  # the stage's resource prefix, shown in the run report
    declaration: s3_assets.Asset
    glue_settings: GlueSettings
    glue_notify_delay_minutes: int  # alarms.glue_job_max_minutes: Glue's delay notification
    key: kms.IKey
    security_configuration: glue.ISecurityConfiguration
    transformed_bucket_name: str
    curated_bucket_name: str


class SummaryJob(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: SummaryJobProps) -> None:
        super().__init__(scope, construct_id)
        dataset, source, target = props.dataset, props.transformed_bucket_name, props.curated_bucket_name
        layout = DatasetLayout(dataset.id)
        self.job = GlueEtlJob(
            self,
            "Summarize",
            GlueEtlJobProps(
                job_name=props.names.summary_job,
                script="summarize.py",
                description=f"Builds the curated outputs of {dataset.id}: "
                + ", ".join(o.table for o in dataset.outputs),
                settings=props.glue_settings,
                notify_delay_minutes=props.glue_notify_delay_minutes,
                key=props.key,
                security_configuration=props.security_configuration,
                arguments={
                    "dataset": dataset.id,
                    "input_path": f"s3://{source}/{layout.passed}",
                    "curated_path": f"s3://{target}/{layout.curated}",
                    "parameters": json.dumps(dict(props.parameters), sort_keys=True, separators=(",", ":")),
                    "report_html_path": f"s3://{target}/{layout.run_report_html_key}",
                    "quality_report_path": f"s3://{source}/{layout.quality_report_key}",
                    "failed_rows_path": f"s3://{source}/{layout.failed}",
                    "stage": props.stage,
                    "additional-python-modules": REPORT_PYTHON_MODULES,
                },
                reads=[BucketPrefixes(source, [layout.passed, layout.failed])],
                writes=[BucketPrefixes(target, output_prefixes(dataset))],
                put_objects=[
                    (target, layout.run_report_html_key)
                ],  # dataset_etl.io.write_text: one put_object
                get_objects=[(source, layout.quality_report_key)],  # dataset_etl.io.read_json: one get_object
                declaration=props.declaration,
            ),
        ).job
