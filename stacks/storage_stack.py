"""The primary region's stateful layer: the platform key and every data bucket.

Deployed rarely and retained: the stateless pipeline and observability stacks can be replaced
freely without touching a byte of data.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.components.lifecycle import expire_after_rule, infrequent_access_rule, versioned_data_rules
from stacks.components.platform_key import PlatformKey, PlatformKeyProps
from stacks.components.secure_bucket import ReplicaTarget, SecureBucket, SecureBucketProps, access_log_bucket
from stacks.config import StageConfig
from stacks.layout import INCOMING_ROOT
from stacks.removal import removal_policy


class StorageStack(Stack):
    """Platform key; raw, transformed, curated, query-results and access-log buckets; replication."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        replica_key: kms.IKey,
        replicated_purposes: tuple[str, ...],
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = removal_policy(config)
        self.key = PlatformKey(
            self,
            "PlatformKey",
            PlatformKeyProps(
                alias=f"alias/{config.resource_prefix}-platform",
                description=f"vancouver-dap {config.stage}: encrypts data, logs, queries and alerts",
                removal_policy=removal,
            ),
        ).key

        self.access_logs_bucket = access_log_bucket(
            self,
            bucket_name=config.bucket_name("access-logs"),
            retention_days=config.storage.access_log_retention_days,
            removal=removal,
        )

        def data_bucket(
            construct_id: str, purpose: str, extra_rules: list[s3.LifecycleRule], *, events: bool = False
        ) -> s3.Bucket:
            replica = None
            if purpose in replicated_purposes:
                replica = ReplicaTarget(
                    bucket_name=config.bucket_name(purpose, replica=True),
                    key=replica_key,
                    region=config.backup_region,
                )
            return SecureBucket(
                self,
                construct_id,
                SecureBucketProps(
                    bucket_name=config.bucket_name(purpose),
                    removal_policy=removal,
                    encryption_key=self.key,
                    access_logs_bucket=self.access_logs_bucket,
                    access_logs_prefix=f"{purpose}/",
                    lifecycle_rules=versioned_data_rules(config.storage.noncurrent_version_retention_days)
                    + extra_rules,
                    replica=replica,
                    event_bridge_enabled=events,
                ),
            ).bucket

        self.raw_bucket = data_bucket(
            "Raw",
            "raw",
            [
                infrequent_access_rule(config.storage.raw_infrequent_access_after_days),
                # portal downloads (every dataset's) are staged here and deleted once copied; a crashed
                # copy is gone in a day
                expire_after_rule("expire-staged-downloads", 1, prefix=INCOMING_ROOT),
            ],
            events=True,  # "Object Created" events start the pipeline
        )
        self.transformed_bucket = data_bucket("Transformed", "transformed", [])
        self.curated_bucket = data_bucket("Curated", "curated", [])
        self.query_results_bucket = data_bucket(
            "QueryResults",
            "query-results",
            [expire_after_rule("expire-query-results", config.storage.query_results_retention_days)],
        )

        for name, bucket in (
            ("RawBucketName", self.raw_bucket),
            ("TransformedBucketName", self.transformed_bucket),
            ("CuratedBucketName", self.curated_bucket),
            ("QueryResultsBucketName", self.query_results_bucket),
        ):
            CfnOutput(self, name, value=bucket.bucket_name)
        CfnOutput(self, "PlatformKeyArn", value=self.key.key_arn)
