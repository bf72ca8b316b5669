"""CloudWatch alarms on the pipelines' health, cost and data quality, all acting on the alerts topic.

Shared alarms exist once, whatever the number of datasets (CloudWatch bills each alarm metric per
month): failures of any state machine or Glue job, Glue runs past their runtime threshold, bucket
sizes, Athena spend, denied S3 requests. Each dataset adds only the two that need its own metric
(``watch_dataset``): its freshness and its share of rejected rows, named ``<prefix>-<dataset-id>-...``.

Why alarms besides the failure events: an alarm also fires on what did *not* happen (no successful
run for days), on slow drifts (bucket growth, Athena spend, the share of rejected rows), and keeps a
state and a history the events lack. Every metric is addressed by name (PlatformNames), never by a
CloudFormation reference into the pipeline stack.

Metrics used (namespace, name, dimensions):
- ``AWS/Events`` TriggeredRules, ``RuleName``: the match count of a FailureEvents rule, one alarm per
  rule shared by every dataset. The Glue-failure rule: Glue itself publishes no job-failure count (its
  ``glue.driver.*`` metrics count Spark tasks, which retry, and stop at the driver's death), so the
  rule's match count is the failure count (what ``aws_glue.Job.metric_failure()`` uses too; it covers
  TIMEOUT and ERROR as well). The execution-failure rule: FAILED and TIMED_OUT of every state machine
  (the per-state-machine ``AWS/States`` ExecutionsFailed/TimedOut would be one alarm per dataset). The
  running-long rule: Glue's own delay notification (each job's ``NotifyDelayAfter``), one event per
  run that outlasts it;
- ``AWS/States`` ExecutionsSucceeded, ``StateMachineArn`` (freshness);
- ``AWS/S3`` BucketSizeBytes, ``BucketName`` + ``StorageType`` (daily, once a day);
- ``AWS/Athena`` ProcessedBytes, ``WorkGroup`` (published when the workgroup has
  ``PublishCloudWatchMetricsEnabled``);
- ``VancouverDAP`` FailedRowRate, ``Pipeline`` + ``Dataset`` (0..1, published by a dataset's quality job
  once per run).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.config import AlarmSettings
from stacks.names import METRIC_NAMESPACE, DatasetNames, PlatformNames

FAILURE_PERIOD = Duration.minutes(5)
DAILY = Duration.days(1)


@dataclass(frozen=True)
class PipelineAlarmsProps:
    alarm_prefix: str
    names: PlatformNames
    settings: AlarmSettings
    topic: sns.ITopic
    glue_failure_rule_name: str
    execution_failure_rule_name: str
    glue_runtime_rule_name: str
    raw_bucket_name: str
    curated_bucket_name: str


def state_machine_metric(names: DatasetNames, metric_name: str, period: Duration, statistic: str = "Sum"):
    return cloudwatch.Metric(
        namespace="AWS/States",
        metric_name=metric_name,
        dimensions_map={"StateMachineArn": names.state_machine_arn},
        statistic=statistic,
        period=period,
    )


def bucket_size_metric(bucket_name: str, storage_type: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/S3",
        metric_name="BucketSizeBytes",
        dimensions_map={"BucketName": bucket_name, "StorageType": storage_type},
        statistic="Average",
        period=DAILY,
    )


def athena_bytes_metric(names: PlatformNames) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/Athena",
        metric_name="ProcessedBytes",
        dimensions_map={"WorkGroup": names.workgroup},
        statistic="Sum",
        period=DAILY,
    )


def rule_matches_metric(rule_name: str) -> cloudwatch.Metric:
    """How often an EventBridge rule matched in 5 minutes."""
    return cloudwatch.Metric(
        namespace="AWS/Events",
        metric_name="TriggeredRules",
        dimensions_map={"RuleName": rule_name},
        statistic="Sum",
        period=FAILURE_PERIOD,
    )


def quality_metric(
    names: PlatformNames, dataset_id: str, metric_name: str, statistic: str, period: Duration = DAILY
) -> cloudwatch.Metric:
    """A row metric of one dataset's quality job (dataset_etl.io.metric_data: Pipeline and Dataset)."""
    return cloudwatch.Metric(
        namespace=METRIC_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"Pipeline": names.metrics_pipeline, "Dataset": dataset_id},
        statistic=statistic,
        period=period,
    )


class PipelineAlarms(Construct):
    """The platform's alarms; each one's alarm action (and, where recovery is news, OK action) is the
    topic. Per-dataset and access-denied alarms are added by the stack (``watch_dataset``,
    ``watch_access_denied``)."""

    def __init__(self, scope: Construct, construct_id: str, props: PipelineAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        self._action = actions.SnsAction(props.topic)
        names, settings = props.names, props.settings
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        self._rule_alarm(
            "GlueJobFailures",
            slug="glue-job-failures",
            description="A pipeline Glue job failed, timed out or errored",
            rule_name=props.glue_failure_rule_name,
        )
        self._rule_alarm(
            "PipelineExecutionsFailed",
            slug="pipeline-executions-failed",
            description="A pipeline state machine execution failed or timed out",
            rule_name=props.execution_failure_rule_name,
        )
        self._rule_alarm(
            "GlueJobRuntime",
            slug="glue-job-runtime",
            description="A pipeline Glue job run passed Glue's delay notification (NotifyDelayAfter): "
            f"longer than {settings.glue_job_max_minutes} minutes",
            rule_name=props.glue_runtime_rule_name,
        )

        # Raw objects move to Standard-IA after N days, so the raw size is both storage classes.
        # FILL(…, 0): a class with no objects publishes no data point, which would blank the sum.
        raw_size = cloudwatch.MathExpression(
            expression="FILL(standard, 0) + FILL(infrequent, 0)",
            using_metrics={
                "standard": bucket_size_metric(props.raw_bucket_name, "StandardStorage"),
                "infrequent": bucket_size_metric(props.raw_bucket_name, "StandardIAStorage"),
            },
            label="Raw bucket bytes (Standard + Standard-IA)",
            period=DAILY,
        )
        # S3 storage metrics arrive once a day, often late: judge the last two days, one breach enough.
        self._alarm(
            "RawBucketSize",
            slug="raw-bucket-size",
            description=f"The raw bucket holds more than {settings.raw_bucket_max_bytes} bytes",
            metric=raw_size,
            threshold=settings.raw_bucket_max_bytes,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=2,
            ok_action=True,
        )
        self._alarm(
            "CuratedBucketSize",
            slug="curated-bucket-size",
            description=f"The curated bucket holds more than {settings.curated_bucket_max_bytes} bytes",
            metric=bucket_size_metric(props.curated_bucket_name, "StandardStorage"),
            threshold=settings.curated_bucket_max_bytes,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=2,
            ok_action=True,
        )

        self._alarm(
            "AthenaBytesScanned",
            slug="athena-daily-bytes-scanned",
            description=f"Workgroup {names.workgroup} scanned more than "
            f"{settings.athena_daily_bytes_scanned} bytes in a day",
            metric=athena_bytes_metric(names),
            threshold=settings.athena_daily_bytes_scanned,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )

    def watch_dataset(self, dataset: DatasetNames) -> None:
        """The two alarms that need the dataset's own metric, each named ``<prefix>-<dataset-id>-...``;
        its failures and overlong Glue runs are counted by the shared rule alarms."""
        settings = self._props.settings
        scope = Construct(self, dataset.pascal)
        days = settings.pipeline_freshness_days
        self._alarm(
            "PipelineFreshness",
            slug=f"{dataset.slug}-pipeline-freshness",
            description=f"No successful {dataset.dataset_id} pipeline run in the last {days} day(s)",
            metric=state_machine_metric(dataset, "ExecutionsSucceeded", Duration.days(days)),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing=cloudwatch.TreatMissingData.BREACHING,  # no run at all is exactly the problem
            ok_action=True,
            scope=scope,
        )
        self._alarm(
            "DataQualityFailedRowRate",
            slug=f"{dataset.slug}-dq-failed-row-rate",
            description=f"The {dataset.dataset_id} quality check rejected more than "
            f"{settings.dq_failed_row_rate:.0%} of the rows",
            metric=quality_metric(self._props.names, dataset.dataset_id, "FailedRowRate", "Maximum"),
            threshold=settings.dq_failed_row_rate,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            scope=scope,
        )

    def watch_access_denied(self, metric: cloudwatch.IMetric, buckets: str) -> cloudwatch.Alarm:
        """S3 refused requests on the data buckets (CloudTrail data events): probing, or a broken grant."""
        threshold = self._props.settings.access_denied_per_5_minutes
        return self._alarm(
            "DataBucketAccessDenied",
            slug="data-bucket-access-denied",
            description=f"At least {threshold} S3 request(s) on {buckets} were denied in 5 minutes",
            metric=metric,
            threshold=threshold,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )

    def _rule_alarm(self, construct_id: str, *, slug: str, description: str, rule_name: str) -> None:
        """At least one match of a FailureEvents rule in 5 minutes (the rule itself mails the details).
        The description names no job or state machine: the rule lists them, and a description stops at
        1,024 characters, which a growing list of datasets would pass."""
        self._alarm(
            construct_id,
            slug=slug,
            description=f"{description} (matches of EventBridge rule {rule_name})",
            metric=rule_matches_metric(rule_name),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )

    def _alarm(
        self,
        construct_id: str,
        *,
        slug: str,
        description: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
        evaluation_periods: int = 1,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        ok_action: bool = False,
        scope: Construct | None = None,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            scope or self,
            construct_id,
            alarm_name=f"{self._props.alarm_prefix}-{slug}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=1,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(self._action)
        if ok_action:
            alarm.add_ok_action(self._action)
        self.alarms[slug] = alarm
        return alarm
