"""One Glue 5.0 PySpark job with its own least-privilege role, shared by the quality and summary jobs.

The entry point comes from ``glue_scripts/`` and the shared ``dataset_etl`` package rides along as a
zip on ``--extra-py-files``: Glue imports it exactly as the local run and the tests do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from stacks.components.access import (
    KEY_FOR_GLUE_SECURITY_CONFIGURATION,
    allow_key_use,
    allow_log_writing,
    allow_metric_publishing,
    allow_object_put,
    allow_object_read,
    allow_prefix_read,
    allow_prefix_write,
)
from stacks.components.secure_bucket import s3_arn
from stacks.config import GlueSettings
from stacks.names import METRIC_NAMESPACE

GLUE_SCRIPTS = Path(__file__).resolve().parents[2] / "glue_scripts"
# Not shipped: caches differ between machines and would change the asset hash (and the snapshots).
ASSET_EXCLUDE = ["**/__pycache__", "**/*.pyc", "**/*.egg-info"]


class AssetObjectCode(glue.Code):
    """Glue code in one S3 object; binding grants ``s3:GetObject`` on that object and nothing else.

    ``glue.Code.from_bucket`` grants ``s3:GetObject*``, ``s3:GetBucket*`` and ``s3:List*`` on the whole
    CDK staging bucket; Glue only downloads the script and the ``--extra-py-files`` zip.
    """

    def __init__(self, bucket: s3.IBucket, key: str) -> None:
        super().__init__()
        self._bucket, self._key = bucket, key

    def bind(self, scope: Construct, grantable: iam.IGrantable) -> glue.CodeConfig:
        allow_object_read(grantable.grant_principal, [self._bucket.arn_for_objects(self._key)])
        return glue.CodeConfig(
            s3_location=s3.Location(bucket_name=self._bucket.bucket_name, object_key=self._key)
        )


def asset_code(scope: Construct, construct_id: str, path: Path) -> glue.Code:
    """A file or folder of ``glue_scripts/`` as Glue code, through an S3 asset.

    A folder is zipped by CDK: ``glue_scripts/lib`` becomes a zip whose root holds ``dataset_etl/``,
    as ``--extra-py-files`` expects (``glue.Code.from_asset`` takes single files only).
    """
    asset = s3_assets.Asset(scope, construct_id, path=str(path), exclude=ASSET_EXCLUDE)
    return AssetObjectCode(asset.bucket, asset.s3_object_key)


@dataclass(frozen=True)
class BucketPrefixes:
    bucket_name: str
    prefixes: Sequence[str]


@dataclass(frozen=True)
class GlueEtlJobProps:
    job_name: str
    script: str  # file name in glue_scripts/
    description: str
    settings: GlueSettings
    key: kms.IKey
    security_configuration: glue.ISecurityConfiguration
    arguments: Mapping[str, str]
    reads: Sequence[BucketPrefixes]
    writes: Sequence[BucketPrefixes]
    # Glue's delay notification (alarms.glue_job_max_minutes): a run still going after this many minutes
    # sends one "Glue Job Run Status" event, which the observability stack's running-long rule alerts on
    notify_delay_minutes: int
    publishes_metrics: bool = False
    # one object written with a single PutObject (the quality report), granted on its exact key
    put_objects: Sequence[tuple[str, str]] = ()
    # one object read with a single GetObject (the quality report, by the summary job), its exact key
    get_objects: Sequence[tuple[str, str]] = ()
    # the dataset's declaration (datasets/<id>/dataset.toml as an asset): --dataset_declaration, read once
    declaration: s3_assets.Asset | None = None


class GlueEtlJob(Construct):
    """G.1X workers with auto scaling up to the stage's maximum, Flex where the stage allows it."""

    def __init__(self, scope: Construct, construct_id: str, props: GlueEtlJobProps) -> None:
        super().__init__(scope, construct_id)
        settings = props.settings
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description=f"Glue job {props.job_name}: its input prefixes, its output prefixes, the key",
        )
        for read in props.reads:
            allow_prefix_read(self.role, read.bucket_name, read.prefixes)
        for write in props.writes:
            allow_prefix_write(self.role, write.bucket_name, write.prefixes)
        for bucket_name, key in props.put_objects:
            allow_object_put(self.role, bucket_name, key)
        if props.get_objects:
            allow_object_read(self.role, [s3_arn(self.role, b, f"/{k}") for b, k in props.get_objects])
        arguments = dict(props.arguments)
        if props.declaration is not None:
            allow_object_read(
                self.role, [props.declaration.bucket.arn_for_objects(props.declaration.s3_object_key)]
            )
            arguments["dataset_declaration"] = props.declaration.s3_object_url
        allow_key_use(self.role, props.key, KEY_FOR_GLUE_SECURITY_CONFIGURATION)
        allow_log_writing(self.role, "/aws-glue/", associate_key=True)
        namespaces = ["Glue"] + ([METRIC_NAMESPACE] if props.publishes_metrics else [])
        allow_metric_publishing(self.role, namespaces)

        job_class = glue.PySparkFlexEtlJob if settings.flex else glue.PySparkEtlJob
        self.job = job_class(
            self,
            "Job",
            job_name=props.job_name,
            description=props.description,
            role=self.role,
            glue_version=glue.GlueVersion.V5_0,
            script=asset_code(self, "Script", GLUE_SCRIPTS / props.script),
            extra_python_files=[asset_code(self, "SharedLibrary", GLUE_SCRIPTS / "lib")],
            worker_configuration=glue.WorkerConfiguration(
                worker_type=glue.WorkerType.G_1X, number_of_workers=settings.max_workers
            ),
            timeout=Duration.minutes(settings.timeout_minutes),
            notify_delay_after=Duration.minutes(props.notify_delay_minutes),
            max_retries=settings.max_retries,
            max_concurrent_runs=1,
            security_configuration=props.security_configuration,
            continuous_logging=glue.ContinuousLoggingProps(enabled=True),
            enable_metrics=True,  # --enable-metrics: the dashboard's glue.driver.aggregate.elapsedTime
            enable_observability_metrics=True,
            default_arguments={
                "--enable-auto-scaling": "true",
                **{f"--{name}": value for name, value in arguments.items()},
            },
        )
        Validations.of(self.job).acknowledge(
            Acknowledgment(
                id="Annotation::@aws-cdk/aws-glue-alpha:plaintextJobArgumentSecret",
                reason="--passed_path names the quality_check/passed/ folder; no job argument is a secret.",
            )
        )
