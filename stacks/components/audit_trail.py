"""The platform's audit trail: who did what to the account and to the data, tamper-evident.

Why a hand-built trail (``CfnTrail``) instead of ``aws_cloudtrail.Trail``: the L2 only writes basic
event selectors (S3 data events need advanced ones to name buckets by ARN prefix next to the
management events), and it grants CloudTrail the bucket with no ``aws:SourceArn`` condition. Here
every service permission names this one trail or this one log group.

The platform key lives in the Storage stack, so the statements added to its policy hold only strings
(the trail and log-group ARNs are deterministic from their names); a token of this stack there would
make Storage depend on Observability and close a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Annotations, Duration, RemovalPolicy
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.components.access import allow_log_group_encryption
from stacks.components.lifecycle import versioned_data_rules
from stacks.components.secure_bucket import SecureBucket, SecureBucketProps, s3_arn

ACCESS_LOGS_PREFIX = "cloudtrail/"


@dataclass(frozen=True)
class AuditTrailProps:
    trail_name: str
    bucket_name: str
    log_group_name: str
    log_retention: logs.RetentionDays
    account: str
    region: str
    key: kms.IKey
    access_logs_bucket: s3.IBucket
    # Buckets whose object-level (data) events are recorded.
    data_buckets: Sequence[s3.IBucket]
    removal_policy: RemovalPolicy
    noncurrent_version_retention_days: int


class AuditTrail(Construct):
    """Multi-region trail with log-file validation, KMS, CloudWatch Logs and S3 data events."""

    def __init__(self, scope: Construct, construct_id: str, props: AuditTrailProps) -> None:
        super().__init__(scope, construct_id)
        self.trail_arn = f"arn:aws:cloudtrail:{props.region}:{props.account}:trail/{props.trail_name}"
        log_group_arn = f"arn:aws:logs:{props.region}:{props.account}:log-group:{props.log_group_name}"
        self._allow_key_use(props, log_group_arn)

        self.bucket = self._bucket(props)
        trail_only = {"StringEquals": {"aws:SourceArn": self.trail_arn}}
        cloudtrail_principal = iam.ServicePrincipal("cloudtrail.amazonaws.com")
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisTrailToCheckTheBucketAcl",
                principals=[cloudtrail_principal],
                actions=["s3:GetBucketAcl"],
                resources=[self.bucket.bucket_arn],
                conditions=trail_only,
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisTrailToDeliverLogs",
                principals=[cloudtrail_principal],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"AWSLogs/{props.account}/*")],
                conditions={
                    "StringEquals": {
                        "aws:SourceArn": self.trail_arn,
                        "s3:x-amz-acl": "bucket-owner-full-control",
                    }
                },
            )
        )

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=props.log_group_name,
            retention=props.log_retention,
            encryption_key=props.key,
            removal_policy=props.removal_policy,
        )
        logs_role = iam.Role(
            self,
            "LogsRole",
            assumed_by=iam.ServicePrincipal("cloudtrail.amazonaws.com", conditions=trail_only),
            description=f"Lets trail {props.trail_name} write to log group {props.log_group_name}",
        )
        logs_role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],  # "…:log-group:<name>:*", its streams only
            )
        )

        self.trail = cloudtrail.CfnTrail(
            self,
            "Trail",
            trail_name=props.trail_name,
            is_logging=True,
            s3_bucket_name=self.bucket.bucket_name,
            kms_key_id=props.key.key_arn,
            enable_log_file_validation=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            cloud_watch_logs_log_group_arn=self.log_group.log_group_arn,
            cloud_watch_logs_role_arn=logs_role.role_arn,
            advanced_event_selectors=[
                cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
                    name="Management events (read and write)",
                    field_selectors=[
                        cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(
                            field="eventCategory", equal_to=["Management"]
                        )
                    ],
                ),
                cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
                    name="S3 object events on the platform's data buckets",
                    field_selectors=[
                        cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(
                            field="eventCategory", equal_to=["Data"]
                        ),
                        cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(
                            field="resources.type", equal_to=["AWS::S3::Object"]
                        ),
                        cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(
                            field="resources.ARN",
                            starts_with=[f"{bucket.bucket_arn}/" for bucket in props.data_buckets],
                        ),
                    ],
                ),
            ],
        )
        # CloudTrail checks its bucket policy and role's permissions when the trail is created (the
        # role itself is already a dependency through CloudWatchLogsRoleArn).
        self.trail.node.add_dependency(self.bucket.policy, logs_role.node.find_child("DefaultPolicy"))

    def _bucket(self, props: AuditTrailProps) -> s3.Bucket:
        # The access-log bucket is in another stack: given the real bucket, CDK would add an
        # *unconditioned* log-delivery grant to it. Point S3 at it by name instead and add the grant
        # below, narrowed to this bucket and account (literals again: no token of this stack there).
        target = s3.Bucket.from_bucket_name(self, "AccessLogsTarget", props.access_logs_bucket.bucket_name)
        secure = SecureBucket(
            self,
            "Bucket",
            SecureBucketProps(
                bucket_name=props.bucket_name,
                removal_policy=props.removal_policy,
                encryption_key=props.key,
                access_logs_bucket=target,
                access_logs_prefix=ACCESS_LOGS_PREFIX,
                lifecycle_rules=versioned_data_rules(props.noncurrent_version_retention_days),
            ),
        )
        Annotations.of(secure.bucket).acknowledge_warning(
            "@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
            "The log-delivery grant is added to the access-log bucket explicitly, with conditions",
        )
        props.access_logs_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailBucketAccessLogs",
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[props.access_logs_bucket.arn_for_objects(f"{ACCESS_LOGS_PREFIX}*")],
                conditions={
                    "ArnLike": {"aws:SourceArn": s3_arn(self, props.bucket_name)},
                    "StringEquals": {"aws:SourceAccount": props.account},
                },
            )
        )
        return secure.bucket

    def access_denied_metric(self, bucket_names: Sequence[str], namespace: str) -> cloudwatch.Metric:
        """A metric filter on the trail's log group: S3 requests on ``bucket_names`` that were denied
        (CloudTrail records them with errorCode AccessDenied), counted per 5 minutes."""
        buckets = " || ".join(f'($.requestParameters.bucketName = "{name}")' for name in bucket_names)
        metric_filter = logs.MetricFilter(
            self,
            "S3AccessDenied",
            log_group=self.log_group,
            filter_pattern=logs.FilterPattern.literal(
                f'{{ ($.eventSource = "s3.amazonaws.com") && ($.errorCode = "AccessDenied") && ({buckets}) }}'
            ),
            metric_namespace=namespace,
            metric_name="S3AccessDenied",
            metric_value="1",
            default_value=0,
        )
        return metric_filter.metric(statistic="Sum", period=Duration.minutes(5))

    def _allow_key_use(self, props: AuditTrailProps, log_group_arn: str) -> None:
        """Key-policy statements for CloudTrail (this trail only) and CloudWatch Logs (this group)."""
        trail_only = {"StringEquals": {"aws:SourceArn": self.trail_arn}}
        cloudtrail_principal = iam.ServicePrincipal("cloudtrail.amazonaws.com")
        props.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAuditTrailToEncryptLogs",
                principals=[cloudtrail_principal],
                actions=["kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    **trail_only,
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:aws:cloudtrail:*:{props.account}:trail/*"
                        )
                    },
                },
            )
        )
        # DescribeKey when the trail is configured; Decrypt because the bucket uses S3 Bucket Keys.
        props.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAuditTrailToDescribeKeyAndUseBucketKey",
                principals=[cloudtrail_principal],
                actions=["kms:DescribeKey", "kms:Decrypt"],
                resources=["*"],
                conditions=trail_only,
            )
        )
        allow_log_group_encryption(
            props.key,
            sid="AllowCloudWatchLogsForTheAuditLogGroup",
            region=props.region,
            log_group_arn=log_group_arn,
        )
