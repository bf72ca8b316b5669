"""One CloudWatch dashboard that answers "is each pipeline healthy, how big, how good, how costly".

Shared rows first (bucket sizes and objects, Athena bytes), then one section per dataset (its runs
and their duration, its Glue jobs' time, its data-quality pass rate and rows).

Why by name: like the alarms, every widget addresses its metric by the names in PlatformNames, so
the dashboard exists (empty) before the pipeline's first deploy and never blocks replacing it.
Glue job durations (``Glue`` ``glue.driver.aggregate.elapsedTime``, ``JobName``, ``JobRunId=ALL``,
``Type=count``) appear once the jobs run with ``--enable-metrics``.
"""

from __future__ import annotations

from collections.abc import Mapping
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
from stacks.names import DatasetNames, PlatformNames

HOURLY = Duration.hours(1)


@dataclass(frozen=True)
class PipelineDashboardProps:
    dashboard_name: str
    names: PlatformNames
    # purpose ("raw", "transformed", "curated") -> bucket name
    bucket_names: Mapping[str, str]


def glue_elapsed_time_metric(job_name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="Glue",
        metric_name="glue.driver.aggregate.elapsedTime",
        dimensions_map={"JobName": job_name, "JobRunId": "ALL", "Type": "count"},
        statistic="Sum",
        period=DAILY,
        label=job_name,
    )


def dataset_widgets(names: PlatformNames, dataset: DatasetNames) -> list[list[cloudwatch.IWidget]]:
    """The rows of one dataset: a title, runs and duration, Glue job time and data quality."""

    def run_count(metric_name: str, label: str) -> cloudwatch.Metric:
        return state_machine_metric(dataset, metric_name, HOURLY).with_(label=label)

    title = cloudwatch.TextWidget(
        markdown=f"## {dataset.dataset_id}\nState machine `{dataset.state_machine}`", width=24, height=2
    )
    executions = cloudwatch.GraphWidget(
        title=f"{dataset.dataset_id}: pipeline executions",
        left=[
            run_count("ExecutionsSucceeded", "succeeded"),
            run_count("ExecutionsFailed", "failed"),
            run_count("ExecutionsTimedOut", "timed out"),
        ],
        width=12,
    )
    duration = cloudwatch.GraphWidget(
        title=f"{dataset.dataset_id}: pipeline duration (ms)",
        left=[
            state_machine_metric(dataset, "ExecutionTime", HOURLY, "Average").with_(label="average"),
            state_machine_metric(dataset, "ExecutionTime", HOURLY, "Maximum").with_(label="maximum"),
        ],
        width=12,
    )
    glue = cloudwatch.GraphWidget(
        title=f"{dataset.dataset_id}: Glue job elapsed time per day (ms)",
        left=[glue_elapsed_time_metric(job) for job in dataset.glue_jobs],
        width=12,
    )
    quality = cloudwatch.GraphWidget(
        title=f"{dataset.dataset_id}: data quality, pass rate and rows",
        left=[
            cloudwatch.MathExpression(
                expression="1 - failed_rate",
                using_metrics={
                    "failed_rate": quality_metric(
                        names, dataset.dataset_id, "FailedRowRate", "Maximum", HOURLY
                    )
                },
                label="pass rate (1 - FailedRowRate)",
                period=HOURLY,
            )
        ],
        right=[
            quality_metric(names, dataset.dataset_id, metric, "Sum", HOURLY).with_(label=metric)
            for metric in ("RowsIn", "RowsPassed", "RowsFailed")
        ],
        left_y_axis=cloudwatch.YAxisProps(min=0, max=1),
        width=12,
    )
    return [[title], [executions, duration], [glue, quality]]


class PipelineDashboard(Construct):
    """Bucket sizes and object counts, Athena bytes; per dataset runs, duration, Glue time, DQ pass rate."""

    def __init__(self, scope: Construct, construct_id: str, props: PipelineDashboardProps) -> None:
        super().__init__(scope, construct_id)
        names = props.names
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
        athena = cloudwatch.GraphWidget(
            title=f"Athena bytes scanned per day ({names.workgroup})",
            left=[athena_bytes_metric(names).with_(label="ProcessedBytes")],
            width=12,
        )
        rows: list[list[cloudwatch.IWidget]] = [[sizes, objects], [athena]]
        for dataset in names.datasets:
            rows += dataset_widgets(names, dataset)
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=props.dashboard_name, widgets=rows
        )
