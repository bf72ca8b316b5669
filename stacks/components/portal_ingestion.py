"""PortalIngestion: a Lambda per dataset that pulls the dataset's export from the City's open-data portal on a
schedule and lands it in the raw prefix only when it changed (code: ``lambdas/portal_ingest/``).

Why a Lambda and not a Glue or DataBrew step: the download is I/O, a few minutes at most, and most
scheduled calls end after one metadata request ("unchanged"), so it must cost nothing when idle. Its
upload's ``Object Created`` event starts the state machine exactly as a manual ``dap ingest`` does.

Least privilege, all by name: read the raw copy's metadata (HeadObject) and list only that key (so a
missing copy answers 404, not 403); stage the multipart download under ``incoming/`` (put, read for the
copy, delete, abort); put the one raw key; the platform key for SSE-KMS through S3 only; publish to the
alerts topic; write its own encrypted log group. No retries by Lambda: the code retries what is worth
retrying, and a failure is published once and counted by the ``Errors`` alarm.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.components.access import allow_log_group_encryption
from stacks.components.log_retention import retention_days
from stacks.components.nag import acknowledge
from stacks.components.secure_bucket import s3_arn
from stacks.config import PROJECT_ROOT, IngestionSettings, raw_file_name
from stacks.layout import DatasetLayout
from stacks.names import DatasetNames

CODE_DIR = PROJECT_ROOT / "lambdas"
HANDLER = "portal_ingest.handler.handler"
HTTP_ATTEMPTS = 4


@dataclass(frozen=True)
class PortalIngestionProps:
    names: DatasetNames
    settings: IngestionSettings  # stage-wide: portal, schedule, timeout, filter
    portal_dataset_id: str  # the declaration's portal_dataset_id
    expected_columns: tuple[str, ...]  # the raw CSV's header, checked before anything is written
    delimiter: str  # the declaration's [format]
    encoding: str
    key: kms.IKey
    topic: sns.ITopic
    raw_bucket_name: str
    log_retention_days: int
    removal_policy: RemovalPolicy


class PortalIngestion(Construct):
    """The function, its schedule (enabled per stage) and the alarm on its errors."""

    def __init__(self, scope: Construct, construct_id: str, props: PortalIngestionProps) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        settings = props.settings
        layout = DatasetLayout(props.names.dataset_id)
        file_name = raw_file_name(props.portal_dataset_id)
        self.raw_key = layout.raw + file_name
        self.staging_key = layout.incoming + file_name
        self.function_name = props.names.portal_ingest_function

        log_group_name = f"/aws/lambda/{self.function_name}"
        log_group_arn = (
            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{log_group_name}"
        )
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=log_group_name,
            retention=retention_days(props.log_retention_days),
            encryption_key=props.key,
            removal_policy=props.removal_policy,
        )
        allow_log_group_encryption(
            props.key,
            sid=f"{props.names.pascal}PortalIngestionLogGroup",
            region=stack.region,
            log_group_arn=log_group_arn,
        )

        # The grants are the role's inline policy, so they exist with the role; the function gets the
        # role by ARN, which orders the two without the DependsOn CDK would add (cfn-lint W3005).
        streams = f"{log_group_arn}:*"
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{self.function_name}: portal export into {props.raw_bucket_name}/{self.raw_key}",
            inline_policies={"PortalIngest": iam.PolicyDocument(statements=self._grants(props, streams))},
        )
        acknowledge(
            self.role,
            f"IAM5[Resource::{streams}]",
            "Lambda names its log streams at run time; the grant is limited to this function's log group.",
        )

        self.function = lambda_.Function(
            self,
            "Function",
            function_name=self.function_name,
            description=f"Pulls {props.portal_dataset_id} from the open-data portal into the raw bucket",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(CODE_DIR), exclude=["**/__pycache__", "**/*.pyc"]),
            role=iam.Role.from_role_arn(self, "RoleByArn", self.role.role_arn, mutable=False),
            memory_size=512,
            timeout=Duration.minutes(settings.timeout_minutes),
            retry_attempts=0,
            reserved_concurrent_executions=1,  # never two downloads of the same export at once
            log_group=log_group,
            environment={
                "PORTAL_BASE_URL": settings.portal_base_url,
                "DATASET_ID": props.portal_dataset_id,
                "PORTAL_WHERE": settings.where,
                "EXPECTED_COLUMNS": json.dumps(list(props.expected_columns)),
                "CSV_DELIMITER": props.delimiter,
                "CSV_ENCODING": props.encoding,
                "RAW_BUCKET": props.raw_bucket_name,
                "RAW_KEY": self.raw_key,
                "STAGING_KEY": self.staging_key,
                "KMS_KEY_ARN": props.key.key_arn,
                "ALERTS_TOPIC_ARN": props.topic.topic_arn,
                "PIPELINE": props.names.base,
                "HTTP_ATTEMPTS": str(HTTP_ATTEMPTS),
            },
        )

        self.schedule = events.Rule(
            self,
            "Schedule",
            rule_name=props.names.portal_ingest_schedule,
            description=f"Pull {props.portal_dataset_id} from the portal ({settings.schedule_expression})",
            schedule=events.Schedule.expression(settings.schedule_expression),
            enabled=settings.schedule_enabled,
            targets=[targets.LambdaFunction(self.function, retry_attempts=0)],
        )

        self.errors_alarm = cloudwatch.Alarm(
            self,
            "ErrorsAlarm",
            alarm_name=f"{props.names.portal_ingest_function}-errors",
            alarm_description="The portal ingestion failed (its SNS message has the HTTP status, URL and "
            "bytes read); the raw bucket was not changed.",
            metric=self.function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.errors_alarm.add_alarm_action(actions.SnsAction(props.topic))

    def _grants(self, props: PortalIngestionProps, log_streams: str) -> list[iam.PolicyStatement]:
        """Exactly what lambdas/portal_ingest calls (tests/stacks/iam_calls.py lists each call)."""
        region = Stack.of(self).region
        raw = s3_arn(self, props.raw_bucket_name, f"/{self.raw_key}")
        staging = s3_arn(self, props.raw_bucket_name, f"/{self.staging_key}")
        return [
            # HeadObject of the current copy (its metadata says what was ingested last), copy source
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[raw, staging]),
            # HeadObject of a missing copy answers 404 ("nothing ingested yet") only to a caller with
            # ListBucket; HeadObject carries no s3:prefix, so the grant cannot be prefix-conditioned
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[s3_arn(self, props.raw_bucket_name)]),
            # multipart upload of the staged download (Create/UploadPart/Complete are s3:PutObject)
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"], resources=[staging]
            ),
            # the copy into the watched raw prefix: exactly one key
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[raw]),
            iam.PolicyStatement(actions=["sns:Publish"], resources=[props.topic.topic_arn]),
            # the platform key only through S3 (SSE-KMS objects; multipart uploads and copies also
            # decrypt) and SNS (the alerts topic is encrypted with it)
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[props.key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": [f"{service}.{region}.amazonaws.com" for service in ("s3", "sns")]
                    }
                },
            ),
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_streams]
            ),
        ]
