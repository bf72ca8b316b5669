"""Names of every pipeline resource, derived from the stage config in one place.

The observability stack watches the pipeline by these names (metric dimensions, event patterns)
instead of by CloudFormation references, so it can deploy before the pipeline that publishes to its
topic, and neither stack depends on the other in both directions.
"""

from __future__ import annotations

from dataclasses import dataclass

from stacks.config import StageConfig

METRIC_NAMESPACE = "VancouverDAP"


@dataclass(frozen=True)
class PlatformNames:
    prefix: str
    region: str
    account: str

    @classmethod
    def of(cls, config: StageConfig) -> PlatformNames:
        return cls(prefix=config.resource_prefix, region=config.primary_region, account=config.account)

    @property
    def glue_database(self) -> str:  # Glue and Athena want underscores
        return self.prefix.replace("-", "_") + "_licences"

    @property
    def cleaned_table(self) -> str:
        return "cleaned_business_licences"

    @property
    def summary_table(self) -> str:
        return "licence_summary"

    @property
    def licences_table(self) -> str:
        return "licences"

    @property
    def databrew_dataset(self) -> str:
        return f"{self.prefix}-raw-business-licences"

    @property
    def databrew_ruleset(self) -> str:
        return f"{self.prefix}-raw-business-licences-rules"

    @property
    def databrew_recipe(self) -> str:
        return f"{self.prefix}-business-licences-cleaning"

    @property
    def databrew_profile_job(self) -> str:
        return f"{self.prefix}-profile-business-licences"

    @property
    def databrew_recipe_job(self) -> str:
        return f"{self.prefix}-clean-business-licences"

    @property
    def cleaned_crawler(self) -> str:
        return f"{self.prefix}-cleaned-licences-crawler"

    @property
    def curated_crawler(self) -> str:
        return f"{self.prefix}-curated-licences-crawler"

    @property
    def quality_job(self) -> str:
        return f"{self.prefix}-quality-check"

    @property
    def summary_job(self) -> str:
        return f"{self.prefix}-summarize"

    @property
    def glue_jobs(self) -> tuple[str, ...]:
        return (self.quality_job, self.summary_job)

    @property
    def state_machine(self) -> str:
        return f"{self.prefix}-pipeline"

    @property
    def state_machine_arn(self) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{self.state_machine}"

    @property
    def workgroup(self) -> str:
        return f"{self.prefix}-analytics"

    @property
    def portal_ingest_function(self) -> str:
        return f"{self.prefix}-portal-ingest"

    @property
    def alerts_topic(self) -> str:
        return f"{self.prefix}-alerts"

    @property
    def metrics_pipeline(self) -> str:
        """The ``Pipeline`` dimension of the metrics the quality job publishes."""
        return self.prefix
