"""The platform's customer-managed KMS key: one per region, rotated, aliased."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct


@dataclass(frozen=True)
class PlatformKeyProps:
    alias: str
    description: str
    removal_policy: RemovalPolicy


class PlatformKey(Construct):
    """A symmetric key whose policy only delegates to this account's IAM (the CDK default policy).

    Services that need the key directly (CloudWatch Logs, SNS publishers) get narrow, conditioned
    statements added by the construct that uses them, never a wildcard principal.
    """

    def __init__(self, scope: Construct, construct_id: str, props: PlatformKeyProps) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=props.alias,
            description=props.description,
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            removal_policy=props.removal_policy,
            pending_window=Duration.days(30),
        )
