"""The summary job: passed licences → the curated daily summary (Parquet + CSV) and licences table,
then the HTML run report (``reports/latest.html`` in the curated bucket).

The report reads the quality job's JSON report (one GetObject of its exact key) and a few failed rows
(the failed prefix, read only); it is rendered with Jinja2, which Glue 5.0 does not provide
(awslabs/aws-glue-libs glue-5.0 base-requirements.txt lists matplotlib, not Jinja2), so the job
installs the pinned pair of ``requirements.lock`` with ``--additional-python-modules``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.components.glue_etl_job import BucketPrefixes, GlueEtlJob, GlueEtlJobProps
from stacks.config import GlueSettings, QualitySettings
from stacks.layout import (
    FAILED_PREFIX,
    LICENCES_PREFIX,
    PASSED_PREFIX,
    QUALITY_REPORT_KEY,
    RUN_REPORT_HTML_KEY,
    SUMMARY_CSV_PREFIX,
    SUMMARY_PREFIX,
)
from stacks.names import PlatformNames

# The versions of requirements.lock, so the deployed report renders with what the tests ran.
REPORT_PYTHON_MODULES = "jinja2==3.1.6,markupsafe==3.0.4"


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
                    "report_html_path": f"s3://{target}/{RUN_REPORT_HTML_KEY}",
                    "quality_report_path": f"s3://{source}/{QUALITY_REPORT_KEY}",
                    "failed_rows_path": f"s3://{source}/{FAILED_PREFIX}",
                    "stage": props.names.prefix,
                    "additional-python-modules": REPORT_PYTHON_MODULES,
                },
                reads=[BucketPrefixes(source, [PASSED_PREFIX, FAILED_PREFIX])],
                writes=[BucketPrefixes(target, [SUMMARY_PREFIX, SUMMARY_CSV_PREFIX, LICENCES_PREFIX])],
                put_objects=[(target, RUN_REPORT_HTML_KEY)],  # licence_etl.io.write_text: one put_object
                get_objects=[(source, QUALITY_REPORT_KEY)],  # licence_etl.io.read_json: one get_object
            ),
        ).job
