"""An S3 bucket that keeps every promise the platform makes about storage, in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.components.lifecycle import expire_after_rule
from stacks.components.nag import acknowledge


@dataclass(frozen=True)
class ReplicaTarget:
    """Where a bucket replicates to: a bucket known by name (in another region) and its key."""

    bucket_name: str
    key: kms.IKey
    region: str


@dataclass(frozen=True)
class SecureBucketProps:
    bucket_name: str
    removal_policy: RemovalPolicy
    # None means SSE-S3: only for the access-log bucket, since S3 log delivery cannot use SSE-KMS.
    encryption_key: kms.IKey | None
    access_logs_bucket: s3.IBucket | None
    access_logs_prefix: str = ""
    versioned: bool = True
    lifecycle_rules: Sequence[s3.LifecycleRule] = ()
    replica: ReplicaTarget | None = None
    event_bridge_enabled: bool = False


def s3_arn(scope: Construct, bucket_name: str, path: str = "") -> str:
    """The ARN of a bucket (or of keys under it) from its name: a plain string, no cross-stack token."""
    return f"arn:{Stack.of(scope).partition}:s3:::{bucket_name}{path}"


class SecureBucket(Construct):
    """Private (all four public-access blocks), TLS 1.2+ only, owner-enforced, logged, encrypted.

    Data buckets use the platform key with S3 bucket keys (fewer KMS calls, lower cost). A bucket
    with a replica gets its own replication role, scoped to exactly this bucket, its replica and
    their two keys (the role CDK generates grants the replica key's actions on ``*``).
    """

    def __init__(self, scope: Construct, construct_id: str, props: SecureBucketProps) -> None:
        super().__init__(scope, construct_id)
        replication_role = None
        replication_rules = None
        if props.replica is not None:
            if props.encryption_key is None:
                raise ValueError(f"{props.bucket_name}: a replicated bucket must be KMS-encrypted")
            replication_role = self._replication_role(props.bucket_name, props.encryption_key, props.replica)
            replication_rules = [
                s3.ReplicationRule(
                    id=f"replicate-to-{props.replica.region}",
                    destination=s3.Bucket.from_bucket_attributes(
                        self,
                        "ReplicaBucket",
                        bucket_name=props.replica.bucket_name,
                        region=props.replica.region,
                    ),
                    kms_key=props.replica.key,
                    sse_kms_encrypted_objects=True,
                    delete_marker_replication=True,
                    priority=0,
                )
            ]
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=props.bucket_name,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            encryption=s3.BucketEncryption.KMS if props.encryption_key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=props.encryption_key,
            bucket_key_enabled=True if props.encryption_key else None,
            versioned=props.versioned,
            server_access_logs_bucket=props.access_logs_bucket,
            server_access_logs_prefix=props.access_logs_prefix or None,
            lifecycle_rules=list(props.lifecycle_rules),
            replication_role=replication_role,
            replication_rules=replication_rules,
            removal_policy=props.removal_policy,
            auto_delete_objects=props.removal_policy == RemovalPolicy.DESTROY,
        )
        if props.event_bridge_enabled:
            # Native CloudFormation setting; Bucket(event_bridge_enabled=True) would deploy a Lambda
            # custom resource to do the same.
            self.bucket.node.default_child.notification_configuration = (
                s3.CfnBucket.NotificationConfigurationProperty(
                    event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                        event_bridge_enabled=True
                    )
                )
            )

    def _replication_role(self, bucket_name: str, key: kms.IKey, replica: ReplicaTarget) -> iam.Role:
        role = iam.Role(
            self,
            "ReplicationRole",
            assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
            description=f"Replicates {bucket_name} to {replica.bucket_name}",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetReplicationConfiguration", "s3:ListBucket"],
                resources=[s3_arn(self, bucket_name)],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                ],
                resources=[s3_arn(self, bucket_name, "/*")],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                resources=[s3_arn(self, replica.bucket_name, "/*")],
            )
        )

        # The keys only through S3 in each bucket's region, only for that bucket's objects (the S3 guide
        # "Replicating encrypted objects"). With S3 Bucket Keys the encryption context is the bucket ARN,
        # and the replica key also needs kms:Decrypt for the bucket-level data key.
        def through_s3(region: str, name: str) -> dict[str, dict[str, Any]]:
            arn = f"arn:{Stack.of(self).partition}:s3:::{name}"
            return {
                "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": [arn, f"{arn}/*"]},
            }

        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions=through_s3(Stack.of(self).region, bucket_name),
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"],
                resources=[replica.key.key_arn],
                conditions=through_s3(replica.region, replica.bucket_name),
            )
        )
        for name in (bucket_name, replica.bucket_name):
            acknowledge(
                role,
                f"IAM5[Resource::{s3_arn(self, name, '/*')}]",
                "Replication must read every object version of its source bucket and write every key of "
                "its replica; the role is limited to this one bucket pair and its two keys.",
            )
        return role


def access_log_bucket(
    scope: Construct, *, bucket_name: str, retention_days: int, removal: RemovalPolicy
) -> s3.Bucket:
    """A region's server-access-log target: SSE-S3 (log delivery cannot use SSE-KMS), logs expire."""
    bucket = SecureBucket(
        scope,
        "AccessLogs",
        SecureBucketProps(
            bucket_name=bucket_name,
            removal_policy=removal,
            encryption_key=None,
            access_logs_bucket=None,
            versioned=False,
            lifecycle_rules=[expire_after_rule("expire-access-logs", retention_days)],
        ),
    ).bucket
    acknowledge(
        bucket,
        "S1",
        "This is the server-access-log target of its region; logging it into itself would log its own "
        "log deliveries without end.",
    )
    return bucket
