"""Alerts, alarms, dashboard and audit trail for the platform: stateless, replaceable, watching by name.

Deployed after Storage and before Pipeline: it refers to the pipeline only through PlatformNames
(metric dimensions, event patterns, ARNs built from names), so the pipeline can publish to
``alerts_topic`` without the two stacks depending on each other both ways.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.components.alerts_topic import AlertsTopic, AlertsTopicProps
from stacks.components.audit_trail import AuditTrail, AuditTrailProps
from stacks.components.failure_events import FailureEvents, FailureEventsProps
from stacks.components.log_retention import retention_days
from stacks.components.pipeline_alarms import PipelineAlarms, PipelineAlarmsProps
from stacks.components.pipeline_dashboard import PipelineDashboard, PipelineDashboardProps
from stacks.config import StageConfig
from stacks.names import METRIC_NAMESPACE, PlatformNames
from stacks.removal import removal_policy


class ObservabilityStack(Stack):
    """SNS alerts topic, EventBridge failure rules, CloudWatch alarms and dashboard, CloudTrail."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        names: PlatformNames,
        key: kms.Key,
        raw_bucket: s3.IBucket,
        transformed_bucket: s3.IBucket,
        curated_bucket: s3.IBucket,
        access_logs_bucket: s3.IBucket,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix = config.resource_prefix

        self.alerts_topic: sns.ITopic = AlertsTopic(
            self,
            "Alerts",
            AlertsTopicProps(
                topic_name=names.alerts_topic,
                display_name=f"vancouver-dap {config.stage} alerts",
                email=config.alarm_email,
                account=config.account,
                key=key,
            ),
        ).topic

        self.failure_events = FailureEvents(
            self,
            "FailureEvents",
            FailureEventsProps(
                rule_prefix=prefix,
                topic=self.alerts_topic,
                glue_jobs=names.glue_jobs,
                databrew_jobs=names.databrew_jobs,
                crawlers=names.crawlers,
                state_machine_arns=[d.state_machine_arn for d in names.datasets],
            ),
        )

        self.alarms = PipelineAlarms(
            self,
            "Alarms",
            PipelineAlarmsProps(
                alarm_prefix=prefix,
                names=names,
                settings=config.alarms,
                topic=self.alerts_topic,
                glue_failure_rule_name=self.failure_events.glue_job_rule.rule_name,
                execution_failure_rule_name=self.failure_events.execution_rule.rule_name,
                glue_runtime_rule_name=self.failure_events.glue_runtime_rule.rule_name,
                raw_bucket_name=raw_bucket.bucket_name,
                curated_bucket_name=curated_bucket.bucket_name,
            ),
        )

        PipelineDashboard(
            self,
            "Dashboard",
            PipelineDashboardProps(
                dashboard_name=f"{prefix}-pipeline",
                names=names,
                bucket_names={
                    "raw": raw_bucket.bucket_name,
                    "transformed": transformed_bucket.bucket_name,
                    "curated": curated_bucket.bucket_name,
                },
            ),
        )

        for dataset in names.datasets:  # each dataset's freshness and rejected rows
            self.alarms.watch_dataset(dataset)

        trail = AuditTrail(
            self,
            "AuditTrail",
            AuditTrailProps(
                trail_name=f"{prefix}-audit",
                bucket_name=config.bucket_name("cloudtrail"),
                log_group_name=f"/aws/cloudtrail/{prefix}-audit",
                log_retention=retention_days(config.log_retention_days),
                account=config.account,
                region=config.primary_region,
                key=key,
                access_logs_bucket=access_logs_bucket,
                data_buckets=(raw_bucket, transformed_bucket, curated_bucket),
                removal_policy=removal_policy(config),
                noncurrent_version_retention_days=config.storage.noncurrent_version_retention_days,
            ),
        )
        data_buckets = (raw_bucket.bucket_name, transformed_bucket.bucket_name, curated_bucket.bucket_name)
        self.alarms.watch_access_denied(
            trail.access_denied_metric(data_buckets, METRIC_NAMESPACE), ", ".join(data_buckets)
        )
