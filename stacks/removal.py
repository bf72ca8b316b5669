"""Removal policy from the stage config: data and keys are retained unless dev explicitly allows it."""

from __future__ import annotations

from aws_cdk import RemovalPolicy

from stacks.config import StageConfig


def removal_policy(config: StageConfig) -> RemovalPolicy:
    return RemovalPolicy.DESTROY if config.allow_destroy else RemovalPolicy.RETAIN
