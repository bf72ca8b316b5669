"""One CloudWatch dashboard that answers "is the pipeline healthy, how big, how good, how costly".

Why by name: like the alarms, every widget addresses its metric by the names in PlatformNames, so
the dashboard exists (empty) before the pipeline's first deploy and never blocks replacing it.
Glue job durations (``Glue`` ``glue.driver.aggregate.elapsedTime``, ``JobName``, ``JobRunId=ALL``,
``Type=count``) appear once the jobs run with ``--enable-metrics``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from stacks.components.pipeline_alarms import (
    DAILY,
    athena_bytes_metric,
    bucket_size_metric,
    quality_metric,
    state_machine_metric,
)
from stacks.names import PlatformNames

HOURLY = Duration.hours(1)


@dataclass(frozen=True)
class PipelineDashboardProps:
    dashboard_name: str
    names: PlatformNames
    # purpose ("raw", "transformed", "curated") -> bucket name
    bucket_names: Mapping[str, str]
    glue_jobs: Sequence[str]


def glue_elapsed_time_metric(job_name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="Glue",
        metric_name="glue.driver.aggregate.elapsedTime",
        dimensions_map={"JobName": job_name, "JobRunId": "ALL", "Type": "count"},
        statistic="Sum",
        period=DAILY,
        label=job_name,
    )


class PipelineDashboard(Construct):
    """Runs and duration; Glue job time; bucket sizes and object counts; DQ pass rate; Athena bytes."""

    def __init__(self, scope: Construct, construct_id: str, props: PipelineDashboardProps) -> None:
        super().__init__(scope, construct_id)
        names = props.names

        def run_count(metric_name: str, label: str) -> cloudwatch.Metric:
            return state_machine_metric(names, metric_name, HOURLY).with_(label=label)

        executions = cloudwatch.GraphWidget(
            title="Pipeline executions",
            left=[
                run_count("ExecutionsSucceeded", "succeeded"),
                run_count("ExecutionsFailed", "failed"),
                run_count("ExecutionsTimedOut", "timed out"),
            ],
            width=12,
        )
        duration = cloudwatch.GraphWidget(
            title="Pipeline duration (ms)",
            left=[
                state_machine_metric(names, "ExecutionTime", HOURLY, "Average").with_(label="average"),
                state_machine_metric(names, "ExecutionTime", HOURLY, "Maximum").with_(label="maximum"),
            ],
            width=12,
        )
        glue = cloudwatch.GraphWidget(
            title="Glue job elapsed time per day (ms)",
            left=[glue_elapsed_time_metric(job) for job in props.glue_jobs],
            width=12,
        )
        sizes = cloudwatch.GraphWidget(
            title="Bucket size (bytes, Standard + Standard-IA)",
            left=[
                bucket_size_metric(name, storage).with_(label=f"{purpose} {storage}")
                for purpose, name in props.bucket_names.items()
                for storage in ("StandardStorage", "StandardIAStorage")
            ],
            width=12,
        )
        objects = cloudwatch.GraphWidget(
            title="Objects per bucket",
            left=[
                cloudwatch.Metric(
                    namespace="AWS/S3",
                    metric_name="NumberOfObjects",
                    dimensions_map={"BucketName": name, "StorageType": "AllStorageTypes"},
                    statistic="Average",
                    period=DAILY,
                    label=purpose,
                )
                for purpose, name in props.bucket_names.items()
            ],
            width=12,
        )
        quality = cloudwatch.GraphWidget(
            title="Data quality: pass rate and rows",
            left=[
                cloudwatch.MathExpression(
                    expression="1 - failed_rate",
                    using_metrics={"failed_rate": quality_metric(names, "FailedRowRate", "Maximum", HOURLY)},
                    label="pass rate (1 - FailedRowRate)",
                    period=HOURLY,
                )
            ],
            right=[
                quality_metric(names, metric, "Sum", HOURLY).with_(label=metric)
                for metric in ("RowsIn", "RowsPassed", "RowsFailed")
            ],
            left_y_axis=cloudwatch.YAxisProps(min=0, max=1),
            width=12,
        )
        athena = cloudwatch.GraphWidget(
            title=f"Athena bytes scanned per day ({names.workgroup})",
            left=[athena_bytes_metric(names).with_(label="ProcessedBytes")],
            width=12,
        )
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=props.dashboard_name,
            widgets=[[executions, duration], [glue, athena], [sizes, objects], [quality]],
        )
