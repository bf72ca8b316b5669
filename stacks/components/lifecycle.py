"""Lifecycle rules shared by the data buckets and their replicas."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_s3 as s3

INCOMPLETE_UPLOAD_DAYS = 7


def versioned_data_rules(noncurrent_days: int) -> list[s3.LifecycleRule]:
    """Abort stale multipart uploads, expire old versions, then clean up lone delete markers."""
    return [
        s3.LifecycleRule(
            id="abort-incomplete-uploads-and-expire-noncurrent",
            abort_incomplete_multipart_upload_after=Duration.days(INCOMPLETE_UPLOAD_DAYS),
            noncurrent_version_expiration=Duration.days(noncurrent_days),
        ),
        s3.LifecycleRule(id="remove-expired-delete-markers", expired_object_delete_marker=True),
    ]


def infrequent_access_rule(after_days: int) -> s3.LifecycleRule:
    return s3.LifecycleRule(
        id="raw-to-infrequent-access",
        transitions=[
            s3.Transition(
                storage_class=s3.StorageClass.INFREQUENT_ACCESS, transition_after=Duration.days(after_days)
            )
        ],
    )


def expire_after_rule(rule_id: str, days: int, prefix: str | None = None) -> s3.LifecycleRule:
    """Objects (under ``prefix``, or all) expire after ``days``; their old versions a day later."""
    return s3.LifecycleRule(
        id=rule_id,
        prefix=prefix,
        expiration=Duration.days(days),
        abort_incomplete_multipart_upload_after=Duration.days(INCOMPLETE_UPLOAD_DAYS),
        noncurrent_version_expiration=Duration.days(1),
    )
