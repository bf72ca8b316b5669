"""The backup region: its own KMS key and the versioned buckets that receive replication.

Storage only: DataBrew does not exist in ca-west-1, and nothing here is processed.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.components.lifecycle import versioned_data_rules
from stacks.components.platform_key import PlatformKey, PlatformKeyProps
from stacks.components.secure_bucket import SecureBucket, SecureBucketProps, access_log_bucket
from stacks.config import StageConfig
from stacks.removal import removal_policy

REPLICATED_PURPOSES = ("raw", "transformed", "curated")


class ReplicaStack(Stack):
    """Replica key, one replica bucket per replicated data bucket, and the region's access-log bucket."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = removal_policy(config)
        self.key = PlatformKey(
            self,
            "ReplicaKey",
            PlatformKeyProps(
                alias=f"alias/{config.resource_prefix}-replica",
                description=f"vancouver-dap {config.stage}: encrypts the replicas in {config.backup_region}",
                removal_policy=removal,
            ),
        ).key
        self.access_logs_bucket = access_log_bucket(
            self,
            bucket_name=config.bucket_name("access-logs", replica=True),
            retention_days=config.storage.access_log_retention_days,
            removal=removal,
        )
        self.replicas: dict[str, s3.IBucket] = {
            purpose: SecureBucket(
                self,
                f"{purpose.capitalize()}Replica",
                SecureBucketProps(
                    bucket_name=config.bucket_name(purpose, replica=True),
                    removal_policy=removal,
                    encryption_key=self.key,
                    access_logs_bucket=self.access_logs_bucket,
                    access_logs_prefix=f"{purpose}-replica/",
                    lifecycle_rules=versioned_data_rules(config.storage.noncurrent_version_retention_days),
                ),
            ).bucket
            for purpose in REPLICATED_PURPOSES
        }
