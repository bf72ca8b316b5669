"""Build the whole CDK app for one stage: the single entry point for app.py, tests and benchmarks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Environment, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from stacks.config import StageConfig, cdk_json_context, load_config
from stacks.names import PlatformNames
from stacks.observability_stack import ObservabilityStack
from stacks.pipeline_stack import PipelineStack
from stacks.replica_stack import ReplicaStack
from stacks.storage_stack import StorageStack


def build_app(
    context: Mapping[str, Any] | None = None,
    *,
    outdir: str | None = None,
    cloudformation_validation: bool = True,
    environ: Mapping[str, str] | None = None,
) -> tuple[App, StageConfig]:
    """Return the app (not yet synthesized) and the stage config it was built from.

    ``context`` is merged over cdk.json's context, so ``python app.py`` and ``cdk synth`` agree;
    context the CDK CLI passes (``-c stage=prod``) still wins, as the App reads it last.
    """
    app = App(
        context={**cdk_json_context(), **(context or {})},
        outdir=outdir,
        builtin_cloud_formation_validation=cloudformation_validation,
    )
    config = load_config(
        {
            key: app.node.try_get_context(key)
            for key in ("stage", "stages", "account", "datasets_dir")
            if app.node.try_get_context(key) is not None
        },
        environ,
    )
    primary = Environment(account=config.account, region=config.primary_region)
    backup = Environment(account=config.account, region=config.backup_region)

    replica = ReplicaStack(
        app,
        "Replica",
        stack_name=config.stack_name("replica"),
        description=f"vancouver-dap {config.stage}: replica key and buckets in the backup region",
        env=backup,
        config=config,
    )
    storage = StorageStack(
        app,
        "Storage",
        stack_name=config.stack_name("storage"),
        description=f"vancouver-dap {config.stage}: platform key and data buckets",
        env=primary,
        cross_region_references=True,
        config=config,
        replica_key=replica.key,
        replicated_purposes=tuple(replica.replicas),
    )
    names = PlatformNames.of(config)
    observability = ObservabilityStack(
        app,
        "Observability",
        stack_name=config.stack_name("observability"),
        description=f"vancouver-dap {config.stage}: alerts, alarms, dashboard, failure rules, audit trail",
        env=primary,
        config=config,
        names=names,
        key=storage.key,
        raw_bucket=storage.raw_bucket,
        transformed_bucket=storage.transformed_bucket,
        curated_bucket=storage.curated_bucket,
        access_logs_bucket=storage.access_logs_bucket,
    )
    pipeline = PipelineStack(
        app,
        "Pipeline",
        stack_name=config.stack_name("pipeline"),
        description=f"vancouver-dap {config.stage}: DataBrew, Glue catalog and jobs, orchestration, Athena",
        env=primary,
        config=config,
        names=names,
        key=storage.key,
        alerts_topic=observability.alerts_topic,
    )
    pipeline.add_stack_dependency(storage, "buckets are referenced by name")

    for key, value in config.tags.items():
        Tags.of(app).add(key, value)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, config
