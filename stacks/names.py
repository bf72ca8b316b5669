"""Names of every platform resource, derived from the stage config in one place.

The observability stack watches the pipeline by these names (metric dimensions, event patterns)
instead of by CloudFormation references, so it can deploy before the pipeline that publishes to its
topic, and neither stack depends on the other in both directions.

Shared resources (the alerts topic, the Athena workgroup, the Glue security configuration) are named by
the stage (``vdap-dev-alerts``); each dataset's resources by the stage and the dataset's id with hyphens
(``vdap-dev-business-licences-pipeline``). Glue and Athena names use underscores
(``vdap_dev_business_licences``: the declaration's ``catalog.database``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stacks.config import StageConfig

if TYPE_CHECKING:
    from dataset_etl.declaration import Dataset

METRIC_NAMESPACE = "VancouverDAP"

# Name-length limits of the services (their API references), checked at synth for every dataset.
NAME_LIMITS = {
    "Glue job": 255,
    "Glue crawler": 255,
    "Glue database": 255,
    "Glue Data Quality ruleset": 255,
    "DataBrew dataset": 255,
    "DataBrew ruleset": 255,
    "DataBrew recipe": 255,
    "DataBrew job": 240,
    "DataBrew schedule": 255,
    "Step Functions state machine": 80,
    "Lambda function": 64,
    "EventBridge rule": 64,
    "CloudWatch alarm": 255,
}


def pascal(dataset_id: str) -> str:
    """``business_licences`` -> ``BusinessLicences``: construct ids and CloudFormation output names."""
    return "".join(part.capitalize() for part in dataset_id.split("_"))


@dataclass(frozen=True)
class DatasetNames:
    """The names of one dataset's resources (everything ``DatasetPipeline`` creates)."""

    prefix: str  # the stage's resource prefix, vdap-dev
    region: str
    account: str
    dataset_id: str  # business_licences
    database_suffix: str  # the declaration's catalog.database
    cleaned_table: str
    output_tables: tuple[tuple[str, str], ...]  # (output key, Glue table) in declaration order

    @classmethod
    def of(cls, prefix: str, region: str, account: str, dataset: Dataset) -> DatasetNames:
        return cls(
            prefix=prefix,
            region=region,
            account=account,
            dataset_id=dataset.id,
            database_suffix=dataset.database,
            cleaned_table=dataset.cleaned_table,
            output_tables=tuple((o.key, o.table) for o in dataset.outputs),
        )

    @property
    def slug(self) -> str:
        return self.dataset_id.replace("_", "-")

    @property
    def pascal(self) -> str:
        return pascal(self.dataset_id)

    @property
    def base(self) -> str:
        """Starts every name of the dataset's resources: ``vdap-dev-business-licences``."""
        return f"{self.prefix}-{self.slug}"

    @property
    def glue_database(self) -> str:  # Glue and Athena want underscores
        return self.prefix.replace("-", "_") + "_" + self.database_suffix

    @property
    def output_table_names(self) -> tuple[str, ...]:
        return tuple(table for _, table in self.output_tables)

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.cleaned_table, *self.output_table_names)

    @property
    def databrew_dataset(self) -> str:
        return f"{self.base}-raw"

    @property
    def databrew_ruleset(self) -> str:
        return f"{self.base}-raw-rules"

    @property
    def databrew_recipe(self) -> str:
        return f"{self.base}-recipe"

    @property
    def databrew_profile_job(self) -> str:
        return f"{self.base}-profile"

    @property
    def databrew_profile_schedule(self) -> str:
        return f"{self.databrew_profile_job}-schedule"

    @property
    def databrew_recipe_job(self) -> str:
        return f"{self.base}-clean"

    @property
    def databrew_jobs(self) -> tuple[str, ...]:
        return (self.databrew_recipe_job, self.databrew_profile_job)

    @property
    def cleaned_crawler(self) -> str:
        return f"{self.base}-cleaned-crawler"

    @property
    def curated_crawler(self) -> str:
        return f"{self.base}-curated-crawler"

    @property
    def crawlers(self) -> tuple[str, ...]:
        return (self.cleaned_crawler, self.curated_crawler)

    @property
    def quality_ruleset(self) -> str:
        """The Glue Data Quality ruleset on the cleaned table."""
        return f"{self.base}-cleaned"

    @property
    def quality_job(self) -> str:
        return f"{self.base}-quality-check"

    @property
    def summary_job(self) -> str:
        return f"{self.base}-summarize"

    @property
    def glue_jobs(self) -> tuple[str, ...]:
        return (self.quality_job, self.summary_job)

    @property
    def state_machine(self) -> str:
        return f"{self.base}-pipeline"

    @property
    def state_machine_arn(self) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{self.state_machine}"

    @property
    def portal_ingest_function(self) -> str:
        return f"{self.base}-portal-ingest"

    @property
    def portal_ingest_schedule(self) -> str:
        return f"{self.portal_ingest_function}-schedule"

    @property
    def alarm_prefix(self) -> str:
        return self.base

    def output(self, name: str) -> str:
        """A Pipeline stack output of this dataset: ``BusinessLicencesStateMachineArn``."""
        return f"{self.pascal}{name}"

    def limited_names(self) -> list[tuple[str, str, int]]:
        """(what, name, the service's limit) of every name the dataset's id goes into."""
        named = [
            ("Glue job", self.quality_job),
            ("Glue job", self.summary_job),
            ("Glue crawler", self.cleaned_crawler),
            ("Glue crawler", self.curated_crawler),
            ("Glue database", self.glue_database),
            ("Glue Data Quality ruleset", self.quality_ruleset),
            ("DataBrew dataset", self.databrew_dataset),
            ("DataBrew ruleset", self.databrew_ruleset),
            ("DataBrew recipe", self.databrew_recipe),
            ("DataBrew job", self.databrew_recipe_job),
            ("DataBrew job", self.databrew_profile_job),
            ("DataBrew schedule", self.databrew_profile_schedule),
            ("Step Functions state machine", self.state_machine),
            ("Lambda function", self.portal_ingest_function),
            ("EventBridge rule", self.portal_ingest_schedule),
            ("CloudWatch alarm", f"{self.alarm_prefix}-dq-failed-row-rate"),
        ]
        return [(what, name, NAME_LIMITS[what]) for what, name in named]


@dataclass(frozen=True)
class PlatformNames:
    prefix: str
    region: str
    account: str
    datasets: tuple[DatasetNames, ...] = ()  # the stage's datasets, in config order

    @classmethod
    def of(cls, config: StageConfig) -> PlatformNames:
        prefix, region, account = config.resource_prefix, config.primary_region, config.account
        return cls(
            prefix=prefix,
            region=region,
            account=account,
            datasets=tuple(DatasetNames.of(prefix, region, account, d.dataset) for d in config.datasets),
        )

    def dataset(self, dataset_id: str) -> DatasetNames:
        for names in self.datasets:
            if names.dataset_id == dataset_id:
                return names
        raise KeyError(f"no dataset {dataset_id!r}; the stage runs {[d.dataset_id for d in self.datasets]}")

    @property
    def glue_jobs(self) -> tuple[str, ...]:
        """Every dataset's Glue jobs."""
        return tuple(job for d in self.datasets for job in d.glue_jobs)

    @property
    def databrew_jobs(self) -> tuple[str, ...]:
        return tuple(job for d in self.datasets for job in d.databrew_jobs)

    @property
    def crawlers(self) -> tuple[str, ...]:
        return tuple(c for d in self.datasets for c in d.crawlers)

    @property
    def glue_security_configuration(self) -> str:
        return f"{self.prefix}-glue-security"

    @property
    def workgroup(self) -> str:
        return f"{self.prefix}-analytics"

    @property
    def analyst_policy(self) -> str:
        return f"{self.prefix}-analyst"

    @property
    def operator_policy(self) -> str:
        return f"{self.prefix}-operator"

    @property
    def alerts_topic(self) -> str:
        return f"{self.prefix}-alerts"

    @property
    def metrics_pipeline(self) -> str:
        """The ``Pipeline`` dimension of the metrics the quality jobs publish (with ``Dataset``)."""
        return self.prefix
