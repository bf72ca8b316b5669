"""Least-privilege grants written out by hand, each wildcard acknowledged exactly where it is made.

CDK's ``grant_*`` helpers add action families (``s3:GetObject*``, ``kms:GenerateDataKey*``) and whole
bucket scopes; these helpers grant the named actions on the named prefixes only. The one wildcard a
prefix grant cannot avoid (``<prefix>*``) is acknowledged for cdk-nag on the role it is granted to,
finding by finding, so any other wildcard still fails the synth.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from stacks.components.nag import acknowledge
from stacks.components.secure_bucket import s3_arn

PREFIX_REASON = (
    "Object keys under this one prefix are written by Spark/DataBrew with generated names, so the grant "
    "must cover <prefix>*; it names the bucket and the prefix and nothing wider."
)


def _acknowledge_resources(role: iam.IRole, resources: Sequence[str], reason: str) -> None:
    for resource in resources:
        if "*" in resource:
            acknowledge(role, f"IAM5[Resource::{resource}]", reason)


def _allow_prefixes(role: iam.Role, bucket_name: str, prefixes: Sequence[str], actions: list[str]) -> None:
    """``actions`` on the objects under ``prefixes``, and listing of those prefixes only."""
    objects = [s3_arn(role, bucket_name, f"/{p}*") for p in prefixes]
    role.add_to_policy(iam.PolicyStatement(actions=actions, resources=objects))
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[s3_arn(role, bucket_name)],
            conditions={
                "StringLike": {"s3:prefix": [f"{p}*" for p in prefixes] + [p.rstrip("/") for p in prefixes]}
            },
        )
    )
    _acknowledge_resources(role, objects, PREFIX_REASON)


def allow_prefix_read(role: iam.Role, bucket_name: str, prefixes: Sequence[str]) -> None:
    """Get the objects under ``prefixes`` and list only those prefixes."""
    _allow_prefixes(role, bucket_name, prefixes, ["s3:GetObject"])


def allow_prefix_write(role: iam.Role, bucket_name: str, prefixes: Sequence[str]) -> None:
    """Write, overwrite and delete objects under ``prefixes`` (output folders are replaced each run)."""
    _allow_prefixes(
        role,
        bucket_name,
        prefixes,
        ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
    )


# What each kind of caller needs of the platform key (tests/stacks/iam_calls.py cites the pages):
# S3 SSE-KMS reads and writes, SNS publishing to an encrypted topic: GenerateDataKey and Decrypt only.
KEY_FOR_SSE_KMS = ("kms:Decrypt", "kms:GenerateDataKey")
# Roles passed to Glue jobs and crawlers whose security configuration names the key (SSE-KMS targets,
# encrypted CloudWatch Logs): the Glue encryption guide asks for Encrypt, Decrypt, GenerateDataKey and
# Describe on the key.
KEY_FOR_GLUE_SECURITY_CONFIGURATION = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")


def allow_key_use(role: iam.IRole, key: kms.IKey, actions: Sequence[str]) -> None:
    """The named key actions on the platform key, and nothing else."""
    role.add_to_principal_policy(iam.PolicyStatement(actions=list(actions), resources=[key.key_arn]))


def allow_object_put(role: iam.Role, bucket_name: str, key: str) -> None:
    """PutObject of exactly one key (a single-part upload needs nothing else)."""
    role.add_to_policy(
        iam.PolicyStatement(actions=["s3:PutObject"], resources=[s3_arn(role, bucket_name, f"/{key}")])
    )


def allow_object_read(role: iam.IRole, objects: Sequence[str]) -> None:
    """GetObject of exactly the named object ARNs (no bucket listing, no ``GetObject*`` family)."""
    role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=list(objects)))


def allow_log_writing(role: iam.Role, log_group_prefix: str, *, associate_key: bool) -> None:
    """Write the service's own log groups (``/aws-glue/*``), optionally KMS-encrypting them."""
    stack = Stack.of(role)
    group = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{log_group_prefix}*"
    actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    actions += ["logs:AssociateKmsKey"] if associate_key else []
    role.add_to_policy(iam.PolicyStatement(actions=actions, resources=[group]))
    acknowledge(
        role,
        f"IAM5[Resource::{group}]",
        f"The service names its log groups and streams under {log_group_prefix} at run time; the grant is "
        "limited to that path in this account and region.",
    )


def allow_metric_publishing(role: iam.Role, namespaces: Sequence[str]) -> None:
    """PutMetricData has no resource type: scope it to our namespaces with a condition instead."""
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": list(namespaces)}},
        )
    )
    acknowledge(
        role,
        "IAM5[Resource::*]",
        "cloudwatch:PutMetricData supports no resource-level permission; the statement is limited by the "
        "cloudwatch:namespace condition to the platform's own metric namespaces.",
    )


def allow_log_group_encryption(key: kms.IKey, *, sid: str, region: str, log_group_arn: str) -> None:
    """Let CloudWatch Logs use ``key`` for the log groups matching ``log_group_arn`` (``*`` allowed).

    The statement lands in the key's own stack and holds only strings, so it creates no dependency
    back on the stack that owns the log group.
    """
    operator = "ArnLike" if "*" in log_group_arn else "ArnEquals"
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
            actions=[
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey",
            ],
            resources=["*"],
            conditions={operator: {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
        )
    )
