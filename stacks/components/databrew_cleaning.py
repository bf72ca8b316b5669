"""DataBrew, per dataset: the raw dataset, its ruleset, a profile job and the recipe job that cleans it.

The recipe's steps are read from the dataset's ``recipe`` file (the same file the local runner executes),
the raw format from its ``[format]`` and the ruleset from ``dataset_etl.rules``, so none of them can
drift from what the tests exercise.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_databrew as databrew
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import custom_resources as cr
from constructs import Construct
from dataset_etl.declaration import Dataset
from dataset_etl.rules import RuleSet

from stacks.components.access import (
    KEY_FOR_SSE_KMS,
    allow_key_use,
    allow_log_writing,
    allow_prefix_read,
    allow_prefix_write,
)
from stacks.components.nag import acknowledge
from stacks.config import PROJECT_ROOT, DataBrewSettings
from stacks.layout import DatasetLayout
from stacks.names import DatasetNames

# Entity types every profile job looks for (declared PII or not): documented values of
# AWS::DataBrew::Job EntityDetectorConfiguration.EntityTypes (USA_ALL would add only US identifiers).
PII_ENTITY_TYPES = ("PERSON_NAME", "EMAIL", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD", "BANK_ACCOUNT")


def load_recipe_steps(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return path.name


def _recipe_step(step: dict[str, Any]) -> databrew.CfnRecipe.RecipeStepProperty:
    action = step["Action"]
    return databrew.CfnRecipe.RecipeStepProperty(
        action=databrew.CfnRecipe.ActionProperty(
            operation=action["Operation"], parameters=action.get("Parameters")
        ),
        condition_expressions=[
            databrew.CfnRecipe.ConditionExpressionProperty(
                condition=c["Condition"], target_column=c["TargetColumn"], value=c.get("Value")
            )
            for c in step.get("ConditionExpressions", [])
        ]
        or None,
    )


def _ruleset_rule(rule: dict[str, Any]) -> databrew.CfnRuleset.RuleProperty:
    threshold = rule.get("Threshold")
    return databrew.CfnRuleset.RuleProperty(
        name=rule["Name"],
        check_expression=rule["CheckExpression"],
        substitution_map=[
            databrew.CfnRuleset.SubstitutionValueProperty(
                value_reference=s["ValueReference"], value=s["Value"]
            )
            for s in rule.get("SubstitutionMap", [])
        ]
        or None,
        column_selectors=[
            databrew.CfnRuleset.ColumnSelectorProperty(name=c["Name"])
            for c in rule.get("ColumnSelectors", [])
        ]
        or None,
        threshold=databrew.CfnRuleset.ThresholdProperty(
            value=threshold["Value"], type=threshold.get("Type"), unit=threshold.get("Unit")
        )
        if threshold
        else None,
    )


@dataclass(frozen=True)
class DataBrewCleaningProps:
    dataset: Dataset
    names: DatasetNames
    settings: DataBrewSettings
    key: kms.IKey
    raw_bucket_name: str
    transformed_bucket_name: str


class DataBrewCleaning(Construct):
    """Profile (statistics, PII detection where PII is declared, ruleset validation) and clean the raw
    CSV of one dataset."""

    def __init__(self, scope: Construct, construct_id: str, props: DataBrewCleaningProps) -> None:
        super().__init__(scope, construct_id)
        names, settings, declared = props.names, props.settings, props.dataset
        layout = DatasetLayout(declared.id)
        stack = Stack.of(self)

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "databrew.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"DataBrew for {declared.id}: read its raw exports, write its cleaned data, profiles",
        )
        allow_prefix_read(self.role, props.raw_bucket_name, [layout.raw])
        allow_prefix_write(self.role, props.transformed_bucket_name, [layout.cleaned, layout.profiles])
        allow_key_use(self.role, props.key, KEY_FOR_SSE_KMS)  # SSE-KMS input and outputs
        allow_log_writing(self.role, "/aws-glue-databrew/", associate_key=False)

        dataset = databrew.CfnDataset(
            self,
            "RawDataset",
            name=names.databrew_dataset,
            format="CSV",
            format_options=databrew.CfnDataset.FormatOptionsProperty(
                csv=databrew.CfnDataset.CsvOptionsProperty(
                    delimiter=declared.format.delimiter, header_row=True
                )
            ),
            input=databrew.CfnDataset.InputProperty(
                s3_input_definition=databrew.CfnDataset.S3LocationProperty(
                    bucket=props.raw_bucket_name, key=layout.raw
                )
            ),
        )
        dataset_arn = stack.format_arn(
            service="databrew", resource="dataset", resource_name=names.databrew_dataset
        )

        ruleset = databrew.CfnRuleset(
            self,
            "Ruleset",
            name=names.databrew_ruleset,
            description=f"Data-quality rules of {declared.id} on the raw export (from dataset_etl.rules)",
            target_arn=dataset_arn,
            rules=[_ruleset_rule(rule) for rule in RuleSet.of(declared).databrew_rules()],
        )
        ruleset.add_resource_dependency(dataset)

        encryption = {"encryption_mode": "SSE-KMS", "encryption_key_arn": props.key.key_arn}
        # Entity detection on every dataset, not only where the declaration says personal information
        # lives: the profile shows where it is found, so an undeclared PII column is noticed before it
        # spreads (a declared one is kept out of the curated layer by the loader).
        pii_detection = databrew.CfnJob.ProfileConfigurationProperty(
            entity_detector_configuration=databrew.CfnJob.EntityDetectorConfigurationProperty(
                entity_types=list(PII_ENTITY_TYPES)
            ),
        )
        self.profile_job = databrew.CfnJob(
            self,
            "ProfileJob",
            name=names.databrew_profile_job,
            type="PROFILE",
            role_arn=self.role.role_arn,
            dataset_name=names.databrew_dataset,
            output_location=databrew.CfnJob.OutputLocationProperty(
                bucket=props.transformed_bucket_name, key=layout.profiles
            ),
            job_sample=databrew.CfnJob.JobSampleProperty(mode="FULL_DATASET"),
            profile_configuration=pii_detection,
            validation_configurations=[
                databrew.CfnJob.ValidationConfigurationProperty(
                    ruleset_arn=stack.format_arn(
                        service="databrew", resource="ruleset", resource_name=names.databrew_ruleset
                    ),
                    validation_mode="CHECK_ALL",
                )
            ],
            log_subscription="ENABLE",
            max_capacity=settings.max_capacity,
            max_retries=settings.max_retries,
            timeout=settings.timeout_minutes,
            **encryption,
        )
        self.profile_job.add_resource_dependency(dataset)
        self.profile_job.add_resource_dependency(ruleset)
        # Statistics and PII detection are not needed per run: the profile job runs on its own
        # schedule (and `dap profile`), off the run path, so a run pays for the recipe job only.
        self.profile_schedule = databrew.CfnSchedule(
            self,
            "ProfileSchedule",
            name=names.databrew_profile_schedule,
            cron_expression=settings.profile_schedule,
            job_names=[names.databrew_profile_job],
        )
        self.profile_schedule.add_resource_dependency(self.profile_job)

        steps = load_recipe_steps(declared.recipe_path)
        recipe = databrew.CfnRecipe(
            self,
            "Recipe",
            name=names.databrew_recipe,
            description=f"Cleans the {declared.id} portal export; source: {_shown(declared.recipe_path)}",
            steps=[_recipe_step(step) for step in steps],
        )
        publication = self._publish(recipe, steps)

        self.recipe_job = databrew.CfnJob(
            self,
            "RecipeJob",
            name=names.databrew_recipe_job,
            type="RECIPE",
            role_arn=self.role.role_arn,
            dataset_name=names.databrew_dataset,
            # no version: the job runs the latest published version, which _publish keeps current
            recipe=databrew.CfnJob.RecipeProperty(name=names.databrew_recipe),
            outputs=[
                databrew.CfnJob.OutputProperty(
                    location=databrew.CfnJob.S3LocationProperty(
                        bucket=props.transformed_bucket_name, key=layout.cleaned
                    ),
                    format="PARQUET",
                    compression_format="SNAPPY",
                    partition_columns=[declared.partition_column],
                    overwrite=True,
                )
            ],
            job_sample=databrew.CfnJob.JobSampleProperty(mode="FULL_DATASET"),
            log_subscription="ENABLE",
            max_capacity=settings.max_capacity,
            max_retries=settings.max_retries,
            timeout=settings.timeout_minutes,
            **encryption,
        )
        self.recipe_job.add_resource_dependency(dataset)
        self.recipe_job.node.add_dependency(publication)

    def _publish(self, recipe: databrew.CfnRecipe, steps: list[dict[str, Any]]) -> Construct:
        """CloudFormation creates only a recipe's working version; jobs run published versions.

        A new version is published whenever the steps change (the physical id carries their hash).
        """
        digest = hashlib.sha256(json.dumps(steps, sort_keys=True).encode()).hexdigest()[:16]
        call = cr.AwsSdkCall(
            service="DataBrew",
            action="publishRecipe",
            parameters={"Name": recipe.name, "Description": f"steps {digest}"},
            physical_resource_id=cr.PhysicalResourceId.of(f"{recipe.name}-{digest}"),
        )
        recipe_arn = Stack.of(self).format_arn(
            service="databrew", resource="recipe", resource_name=recipe.name
        )
        publish = cr.AwsCustomResource(
            self,
            "PublishRecipe",
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["databrew:PublishRecipe"], resources=[recipe_arn])]
            ),
            install_latest_aws_sdk=False,
        )
        publish.node.add_dependency(recipe)
        provider = Stack.of(self).node.find_child(
            "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        )
        for rule, reason in (
            (
                "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                "The CDK AwsCustomResource provider only writes its own CloudWatch log streams with this "
                "AWS-maintained policy; its DataBrew call is limited to publishing this one recipe.",
            ),
        ):
            acknowledge(provider, rule, reason)
        # CDK adds DependsOn the role that the function's Role GetAtt already implies (cfn-lint W3005)
        provider.node.find_child("Resource").add_deletion_override("DependsOn")
        return publish
