"""The pipeline's promises, asserted per stage and per dataset on the synthesized Pipeline template.

For each dataset: DataBrew runs its committed recipe over its raw prefix; the catalog declares its
tables from its declaration; its Glue jobs are sized by the stage and see only its prefixes; its state
machine runs the steps in order with retries and a catch on every task. Shared: Athena runs every
dataset's committed SQL in one workgroup, and the analyst policy reads curated outputs only.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from dataset_etl.declaration import Dataset
from dataset_etl.rules import RuleSet
from moto import mock_aws

from stacks.components.analytics_workgroup import named_query_name, query_files
from stacks.components.databrew_cleaning import PII_ENTITY_TYPES, load_recipe_steps
from stacks.layout import DatasetLayout
from stacks.names import DatasetNames
from tests.stacks.conftest import state_machine_definition

STACK = "Pipeline"


def resources(synthesized, resource_type: str) -> dict[str, dict[str, Any]]:
    return synthesized.resources(STACK, resource_type)


def by_name(synthesized, resource_type: str, name: str, key: str = "Name") -> dict[str, Any]:
    found = [
        r["Properties"]
        for r in resources(synthesized, resource_type).values()
        if r["Properties"].get(key) == name
    ]
    assert len(found) == 1, f"{resource_type} {name}: found {len(found)}"
    return found[0]


def names(synthesized, dataset_id: str) -> DatasetNames:
    return synthesized.dataset_names(dataset_id)


def declared(synthesized, dataset_id: str) -> Dataset:
    return synthesized.config.dataset(dataset_id).dataset


def platform_key_ref(synthesized) -> dict[str, Any]:
    """The Pipeline stack reads the platform key ARN from the Storage stack's output."""
    (key_id,) = synthesized.resources("Storage", "AWS::KMS::Key")
    outputs = synthesized.templates["Storage"]["Outputs"]
    (output,) = [
        name
        for name, o in outputs.items()
        if o["Value"] == {"Fn::GetAtt": [key_id, "Arn"]} and "Publish" in name
    ]
    return {
        "Fn::GetStackOutput": {
            "StackName": synthesized.config.stack_name("storage"),
            "Region": synthesized.config.primary_region,
            "OutputName": output,
        }
    }


def role_statements(synthesized, role_logical_id: str) -> list[dict[str, Any]]:
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(synthesized, "AWS::IAM::Policy").values()
        if {"Ref": role_logical_id} in p["Properties"]["Roles"]
    ]
    return [s for statements in policies for s in statements]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def s3_resources(statements: list[dict[str, Any]], action: str) -> set[str]:
    return {
        r
        for s in statements
        if action in as_list(s["Action"])
        for r in as_list(s["Resource"])
        if isinstance(r, str)
    }


def role_of(props: dict[str, Any], key: str = "RoleArn") -> str:
    return props[key]["Fn::GetAtt"][0]


# --- DataBrew ------------------------------------------------------------------------------------


def test_recipe_steps_are_the_committed_json(synthesized, dataset_id):
    recipe = by_name(synthesized, "AWS::DataBrew::Recipe", names(synthesized, dataset_id).databrew_recipe)
    assert recipe["Steps"] == load_recipe_steps(declared(synthesized, dataset_id).recipe_path)


def test_dataset_reads_its_raw_prefix_as_declared_csv(synthesized, dataset_id):
    dataset = by_name(synthesized, "AWS::DataBrew::Dataset", names(synthesized, dataset_id).databrew_dataset)
    delimiter = declared(synthesized, dataset_id).format.delimiter
    assert dataset["Format"] == "CSV"
    assert dataset["FormatOptions"] == {"Csv": {"Delimiter": delimiter, "HeaderRow": True}}
    assert dataset["Input"] == {
        "S3InputDefinition": {
            "Bucket": synthesized.config.bucket_name("raw"),
            "Key": DatasetLayout(dataset_id).raw,
        }
    }


def test_the_licences_raw_csv_is_semicolon_separated(synthesized):
    dataset = by_name(
        synthesized, "AWS::DataBrew::Dataset", names(synthesized, "business_licences").databrew_dataset
    )
    assert dataset["FormatOptions"] == {"Csv": {"Delimiter": ";", "HeaderRow": True}}


def test_ruleset_is_rendered_from_the_declared_rules(synthesized, dataset_id):
    n = names(synthesized, dataset_id)
    ruleset = by_name(synthesized, "AWS::DataBrew::Ruleset", n.databrew_ruleset)
    expected = RuleSet.of(declared(synthesized, dataset_id)).databrew_rules()
    assert ruleset["Rules"] == expected
    assert ruleset["TargetArn"].endswith(f":dataset/{n.databrew_dataset}")


def test_profile_job_profiles_everything_and_detects_pii_in_every_dataset(synthesized, dataset_id):
    n = names(synthesized, dataset_id)
    job = by_name(synthesized, "AWS::DataBrew::Job", n.databrew_profile_job)
    assert job["Type"] == "PROFILE"
    assert job["JobSample"] == {"Mode": "FULL_DATASET"}
    # Declared PII or not: the profile is where an undeclared personal column shows up.
    detector = job["ProfileConfiguration"]["EntityDetectorConfiguration"]
    assert detector["EntityTypes"] == list(PII_ENTITY_TYPES)
    assert "PERSON_NAME" in detector["EntityTypes"]  # USA_ALL leaves names out
    (validation,) = job["ValidationConfigurations"]
    assert validation["RulesetArn"].endswith(f":ruleset/{n.databrew_ruleset}")
    assert job["OutputLocation"] == {
        "Bucket": synthesized.config.bucket_name("transformed"),
        "Key": DatasetLayout(dataset_id).profiles,
    }
    assert (job["EncryptionMode"], job["EncryptionKeyArn"]) == ("SSE-KMS", platform_key_ref(synthesized))
    assert job["LogSubscription"] == "ENABLE"


def test_recipe_job_writes_partitioned_snappy_parquet_with_the_platform_key(synthesized, dataset_id):
    config, n = synthesized.config, names(synthesized, dataset_id)
    job = by_name(synthesized, "AWS::DataBrew::Job", n.databrew_recipe_job)
    assert job["Type"] == "RECIPE"
    assert job["Recipe"] == {"Name": n.databrew_recipe}
    assert job["Outputs"] == [
        {
            "Location": {
                "Bucket": config.bucket_name("transformed"),
                "Key": DatasetLayout(dataset_id).cleaned,
            },
            "Format": "PARQUET",
            "CompressionFormat": "SNAPPY",
            "PartitionColumns": [declared(synthesized, dataset_id).partition_column],
            "Overwrite": True,
        }
    ]
    assert job["JobSample"] == {"Mode": "FULL_DATASET"}
    assert (job["EncryptionMode"], job["EncryptionKeyArn"]) == ("SSE-KMS", platform_key_ref(synthesized))
    assert (job["Timeout"], job["MaxRetries"], job["MaxCapacity"]) == (
        config.databrew.timeout_minutes,
        config.databrew.max_retries,
        config.databrew.max_capacity,
    )


def test_each_recipe_is_published_before_its_job_runs_it(synthesized, dataset_id):
    n = names(synthesized, dataset_id)
    publishes = {
        logical_id: json.loads(r["Properties"]["Create"])
        for logical_id, r in resources(synthesized, "Custom::AWS").items()
    }
    assert len(publishes) == len(synthesized.config.datasets)
    (publish_id,) = [
        k for k, create in publishes.items() if create["parameters"]["Name"] == n.databrew_recipe
    ]
    assert publishes[publish_id]["action"] == "publishRecipe"
    (job_id,) = [
        k
        for k, r in resources(synthesized, "AWS::DataBrew::Job").items()
        if r["Properties"]["Name"] == n.databrew_recipe_job
    ]
    assert publish_id in resources(synthesized, "AWS::DataBrew::Job")[job_id]["DependsOn"]


def test_databrew_role_reads_its_raw_prefix_and_writes_only_its_outputs(synthesized, dataset_id):
    config, layout = synthesized.config, DatasetLayout(dataset_id)
    job = by_name(synthesized, "AWS::DataBrew::Job", names(synthesized, dataset_id).databrew_recipe_job)
    statements = role_statements(synthesized, role_of(job))
    raw, transformed = config.bucket_name("raw"), config.bucket_name("transformed")
    assert s3_resources(statements, "s3:PutObject") == {
        f"arn:aws:s3:::{transformed}/{layout.cleaned}*",
        f"arn:aws:s3:::{transformed}/{layout.profiles}*",
    }
    assert s3_resources(statements, "s3:GetObject") == s3_resources(statements, "s3:PutObject") | {
        f"arn:aws:s3:::{raw}/{layout.raw}*"
    }
    assert all(s["Resource"] != "*" for s in statements)


# --- Glue catalog ----------------------------------------------------------------------------------


def test_security_configuration_encrypts_everything_with_the_platform_key(synthesized):
    (config,) = resources(synthesized, "AWS::Glue::SecurityConfiguration").values()
    encryption = config["Properties"]["EncryptionConfiguration"]
    key = platform_key_ref(synthesized)
    assert encryption["S3Encryptions"] == [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": key}]
    assert encryption["CloudWatchEncryption"] == {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": key}
    assert encryption["JobBookmarksEncryption"] == {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": key}


def table(synthesized, name: str) -> dict[str, Any]:
    tables = [r["Properties"]["TableInput"] for r in resources(synthesized, "AWS::Glue::Table").values()]
    (found,) = [t for t in tables if t["Name"] == name]
    return found


def columns(table_input: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["Name"], c["Type"], c["Comment"]) for c in table_input["StorageDescriptor"]["Columns"]]


def test_tables_carry_the_declared_schemas_with_comments_and_governance(synthesized, dataset_id):
    n, dataset = names(synthesized, dataset_id), declared(synthesized, dataset_id)
    cleaned = table(synthesized, n.cleaned_table)
    partition = dataset.partition_column
    assert columns(cleaned) == [(c.name, c.type, c.comment) for c in dataset.columns if c.name != partition]
    assert [p["Name"] for p in cleaned["PartitionKeys"]] == [partition]
    assert cleaned["Parameters"]["classification_level"] == dataset.classification
    layout = DatasetLayout(dataset_id)
    bucket = synthesized.config.bucket_name("curated")
    for output in dataset.outputs:
        curated = table(synthesized, output.table)
        declared_columns = output.columns
        assert columns(curated) == [
            (c.name, c.type, c.comment) for c in declared_columns if c.name != output.partition
        ]
        assert [(p["Name"], p["Type"], p["Comment"]) for p in curated["PartitionKeys"]] == [
            (c.name, c.type, c.comment) for c in declared_columns if c.name == output.partition
        ]
        params = curated["Parameters"]
        assert params["projection.enabled"] == "true"
        assert params[f"projection.{output.partition}.type"] == "integer"
        assert params["classification_level"] == dataset.classification
        assert params["owner"] == synthesized.config.owner
        assert params["source"] == f"Glue job {n.summary_job}"
        assert params["dataset"] == dataset_id
        assert curated["StorageDescriptor"]["Location"] == f"s3://{bucket}/{layout.output(output.key)}"


def pii_marked(table_input: dict[str, Any]) -> list[str]:
    """The columns a table's parameters mark as PII (``pii.<column>``; CloudFormation cannot set the
    Glue Column Parameters), in column order."""
    params = table_input["Parameters"]
    return [
        c["Name"]
        for c in table_input["StorageDescriptor"]["Columns"]
        if params.get(f"pii.{c['Name']}") == "true"
    ]


def test_pii_columns_are_marked_and_never_reach_a_curated_table(synthesized, dataset_id):
    n, dataset = names(synthesized, dataset_id), declared(synthesized, dataset_id)
    cleaned = table(synthesized, n.cleaned_table)
    assert pii_marked(cleaned) == list(dataset.pii_columns)
    if dataset.pii_columns:
        assert cleaned["Parameters"]["classification_pii"] == ",".join(dataset.pii_columns)
    else:
        assert "classification_pii" not in cleaned["Parameters"]
    for output in dataset.outputs:
        curated = table(synthesized, output.table)
        names_in_table = {
            c["Name"] for c in curated["StorageDescriptor"]["Columns"] + curated["PartitionKeys"]
        }
        assert not names_in_table & set(dataset.pii_columns), output.table
        assert pii_marked(curated) == [] and "classification_pii" not in curated["Parameters"]


def test_crawlers_register_partitions_of_their_datasets_tables_only(synthesized):
    (security,) = resources(synthesized, "AWS::Glue::SecurityConfiguration")
    expected = {}
    for dataset_id in synthesized.config.dataset_ids:
        n = names(synthesized, dataset_id)
        expected[n.cleaned_crawler] = (n.glue_database, [n.cleaned_table])
        expected[n.curated_crawler] = (n.glue_database, list(n.output_table_names))
    crawlers = {
        r["Properties"]["Name"]: r["Properties"]
        for r in resources(synthesized, "AWS::Glue::Crawler").values()
    }
    assert set(crawlers) == set(expected)
    databases = {
        k: r["Properties"]["DatabaseInput"]["Name"]
        for k, r in resources(synthesized, "AWS::Glue::Database").items()
    }
    for name, crawler in crawlers.items():
        (target,) = crawler["Targets"]["CatalogTargets"]
        assert (databases[target["DatabaseName"]["Ref"]], target["Tables"]) == expected[name]
        assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}
        assert crawler["CrawlerSecurityConfiguration"] == {"Ref": security}


def test_each_dataset_has_its_own_database(synthesized):
    databases = sorted(
        r["Properties"]["DatabaseInput"]["Name"]
        for r in resources(synthesized, "AWS::Glue::Database").values()
    )
    assert databases == sorted(names(synthesized, d).glue_database for d in synthesized.config.dataset_ids)
    prefix = synthesized.config.resource_prefix.replace("-", "_")
    assert names(synthesized, "business_licences").glue_database == f"{prefix}_business_licences"


# --- Glue jobs -------------------------------------------------------------------------------------


def glue_job(synthesized, name: str) -> dict[str, Any]:
    return by_name(synthesized, "AWS::Glue::Job", name)


@pytest.mark.parametrize("job_name", ["quality_job", "summary_job"])
def test_jobs_are_glue5_sized_by_the_stage(synthesized, dataset_id, job_name):
    config = synthesized.config
    job = glue_job(synthesized, getattr(names(synthesized, dataset_id), job_name))
    assert (job["GlueVersion"], job["WorkerType"], job["NumberOfWorkers"]) == (
        "5.0",
        "G.1X",
        config.glue.max_workers,
    )
    assert job.get("ExecutionClass", "STANDARD") == ("FLEX" if config.glue.flex else "STANDARD")
    assert (job["Timeout"], job["MaxRetries"]) == (config.glue.timeout_minutes, config.glue.max_retries)
    (security,) = resources(synthesized, "AWS::Glue::SecurityConfiguration")
    assert job["SecurityConfiguration"] == {"Ref": security}
    arguments = job["DefaultArguments"]
    assert arguments["--enable-auto-scaling"] == "true"
    assert arguments["--enable-continuous-cloudwatch-log"] == "true"
    assert arguments["--enable-observability-metrics"] == "true"
    assert "--enable-metrics" in arguments
    assert job["Command"]["Name"] == "glueetl" and job["Command"]["ScriptLocation"].endswith(".py")
    assert arguments["--extra-py-files"].endswith(".zip")


def test_every_dataset_runs_the_shared_entry_points(synthesized):
    """One script per kind of job for every dataset: the code is shared, the arguments are not."""
    jobs = [r["Properties"] for r in resources(synthesized, "AWS::Glue::Job").values()]
    assert len(jobs) == 2 * len(synthesized.config.datasets)
    scripts = {json.dumps(j["Command"]["ScriptLocation"], sort_keys=True) for j in jobs}
    libraries = {json.dumps(j["DefaultArguments"]["--extra-py-files"], sort_keys=True) for j in jobs}
    assert (len(scripts), len(libraries)) == (2, 1)


def declaration_uri(arguments: dict[str, Any]) -> str:
    value = arguments["--dataset_declaration"]
    return (
        value
        if isinstance(value, str)
        else "".join(p if isinstance(p, str) else json.dumps(p) for p in value["Fn::Join"][1])
    )


def test_job_arguments_point_at_the_layout_the_declaration_and_the_config(synthesized, dataset_id):
    config, n, layout = synthesized.config, names(synthesized, dataset_id), DatasetLayout(dataset_id)
    transformed, curated = config.bucket_name("transformed"), config.bucket_name("curated")
    quality = glue_job(synthesized, n.quality_job)["DefaultArguments"]
    assert quality["--dataset"] == dataset_id
    assert quality["--input_path"] == f"s3://{transformed}/{layout.cleaned}"
    assert quality["--passed_path"] == f"s3://{transformed}/{layout.passed}"
    assert quality["--failed_path"] == f"s3://{transformed}/{layout.failed}"
    assert quality["--report_path"] == f"s3://{transformed}/{layout.quality_report_key}"
    assert quality["--freshness_days"] == str(config.quality.freshness_days)
    assert quality["--fail_on_dataset_rule"] == str(config.quality.fail_on_dataset_rule).lower()
    assert quality["--metrics_pipeline"] == synthesized.names.metrics_pipeline  # the job adds Dataset=<id>
    summary_args = glue_job(synthesized, n.summary_job)["DefaultArguments"]
    assert summary_args["--dataset"] == dataset_id
    assert summary_args["--input_path"] == f"s3://{transformed}/{layout.passed}"
    assert summary_args["--curated_path"] == f"s3://{curated}/{dataset_id}/"
    assert json.loads(summary_args["--parameters"]) == config.dataset(dataset_id).overrides
    assert summary_args["--report_html_path"] == f"s3://{curated}/{layout.run_report_html_key}"
    assert summary_args["--quality_report_path"] == f"s3://{transformed}/{layout.quality_report_key}"
    assert summary_args["--failed_rows_path"] == f"s3://{transformed}/{layout.failed}"
    assert summary_args["--stage"] == config.resource_prefix
    # both jobs read the one declaration file of the dataset, an asset of datasets/<id>/dataset.toml
    uri = declaration_uri(quality)
    assert uri == declaration_uri(summary_args) and uri.startswith("s3://") and uri.endswith(".toml")


def test_the_licences_summary_runs_with_the_stage_minimum(synthesized):
    summary_args = glue_job(synthesized, names(synthesized, "business_licences").summary_job)[
        "DefaultArguments"
    ]
    assert json.loads(summary_args["--parameters"]) == {"min_employees": 15}


def test_each_job_role_sees_only_its_prefixes(synthesized, dataset_id):
    config, n, layout = synthesized.config, names(synthesized, dataset_id), DatasetLayout(dataset_id)
    dataset = declared(synthesized, dataset_id)
    transformed, curated = config.bucket_name("transformed"), config.bucket_name("curated")
    quality = role_statements(synthesized, role_of(glue_job(synthesized, n.quality_job), "Role"))
    assert s3_resources(quality, "s3:PutObject") == {
        f"arn:aws:s3:::{transformed}/{p}*" for p in (layout.passed, layout.failed)
    } | {f"arn:aws:s3:::{transformed}/{layout.quality_report_key}"}
    summarize = role_statements(synthesized, role_of(glue_job(synthesized, n.summary_job), "Role"))
    outputs = [layout.output(o.key) for o in dataset.outputs]
    outputs += [layout.output_csv(o.key) for o in dataset.outputs if o.csv]
    assert s3_resources(summarize, "s3:PutObject") == {f"arn:aws:s3:::{curated}/{p}*" for p in outputs} | {
        f"arn:aws:s3:::{curated}/{layout.run_report_html_key}"
    }
    assert f"arn:aws:s3:::{transformed}/{layout.passed}*" in s3_resources(summarize, "s3:GetObject")
    assert f"arn:aws:s3:::{transformed}/{layout.cleaned}*" not in s3_resources(summarize, "s3:GetObject")
    others = [d for d in synthesized.config.dataset_ids if d != dataset_id]
    for statements in (quality, summarize):
        wildcard = [s for s in statements if s["Resource"] == "*"]
        assert [s["Action"] for s in wildcard] == ["cloudwatch:PutMetricData"]
        assert "cloudwatch:namespace" in wildcard[0]["Condition"]["StringEquals"]
        text = json.dumps(statements)
        assert not any(f"/{other}/" in text for other in others), "a job role reaches another dataset"


def test_quality_ruleset_is_the_rendered_dqdl_on_the_cleaned_table(synthesized, dataset_id):
    n = names(synthesized, dataset_id)
    (props,) = [
        r["Properties"]
        for r in resources(synthesized, "AWS::Glue::DataQualityRuleset").values()
        if r["Properties"]["Name"] == n.quality_ruleset
    ]
    dqdl = RuleSet.of(declared(synthesized, dataset_id)).to_dqdl(synthesized.config.quality.freshness_days)
    assert props["Ruleset"] == dqdl
    table_id = props["TargetTable"]["TableName"]["Ref"]
    cleaned = resources(synthesized, "AWS::Glue::Table")[table_id]["Properties"]["TableInput"]
    assert cleaned["Name"] == n.cleaned_table


# --- orchestration ---------------------------------------------------------------------------------


def state_machine(synthesized, dataset_id: str) -> tuple[str, dict[str, Any]]:
    """One state machine per dataset, named for it."""
    machines = resources(synthesized, "AWS::StepFunctions::StateMachine")
    assert len(machines) == len(synthesized.config.datasets)
    name = names(synthesized, dataset_id).state_machine
    ((logical_id, machine),) = [
        (k, m) for k, m in machines.items() if m["Properties"]["StateMachineName"] == name
    ]
    return logical_id, machine


def definition(synthesized, dataset_id: str = "business_licences") -> dict[str, Any]:
    """The state machine definition as ASL, with CloudFormation tokens rendered as ``${...}``."""
    return state_machine_definition(
        state_machine(synthesized, dataset_id)[1]["Properties"]["DefinitionString"]
    )


MAIN_PATH = [
    "Start run",
    "List running executions",
    "Oldest running?",
    "List raw input",
    "Raw input present?",
    "Fingerprint raw input",
    "Read last successful run",
    "Input changed?",
    "Clean with DataBrew",
    "Check quality",
    "Summarize",
    "Read quality report",
    "Prepare run record",
    "Record successful run",
    "Notify success",
    "Run succeeded",
]


def test_steps_run_in_order(synthesized, dataset_id):
    states = definition(synthesized, dataset_id)["States"]
    assert definition(synthesized, dataset_id)["StartAt"] == "Start run"
    walked, name = [], "Start run"
    while name:
        walked.append(name)
        state = states[name]
        name = state["Choices"][0]["Next"] if state["Type"] == "Choice" else state.get("Next")
    assert walked == MAIN_PATH


def test_tasks_use_the_right_integrations(synthesized, dataset_id):
    n, layout = names(synthesized, dataset_id), DatasetLayout(dataset_id)
    states = definition(synthesized, dataset_id)["States"]
    assert states["Clean with DataBrew"]["Resource"].endswith(":states:::databrew:startJobRun.sync")
    assert states["Clean with DataBrew"]["Parameters"] == {"Name": n.databrew_recipe_job}
    for step, job in (("Check quality", n.quality_job), ("Summarize", n.summary_job)):
        assert states[step]["Resource"].endswith(":states:::glue:startJobRun.sync")
        assert states[step]["Parameters"]["JobName"] == job
        assert states[step]["Parameters"]["Arguments"] == {"--run_time.$": "$.started"}
    config = synthesized.config
    assert states["List raw input"]["Resource"].endswith(":states:::aws-sdk:s3:listObjectsV2")
    assert states["List raw input"]["Parameters"] == {
        "Bucket": config.bucket_name("raw"),
        "Prefix": f"raw/{dataset_id}/",
    }
    for step in ("Read last successful run", "Record successful run"):
        assert states[step]["Parameters"]["Bucket"] == config.bucket_name("transformed")
        assert (
            states[step]["Parameters"]["Key"]
            == f"quality_check/reports/{dataset_id}/last_successful_run.json"
        )
    assert states["Read quality report"]["Parameters"]["Key"] == layout.quality_report_key
    assert states["Record successful run"]["Parameters"]["Body.$"] == "States.JsonToString($.record)"


def test_no_crawler_and_no_profile_job_on_the_run_path(synthesized, dataset_id):
    """Their fixed minimums (10 billed minutes a crawl, a profile per run) stay off every run."""
    n = names(synthesized, dataset_id)
    text = json.dumps(definition(synthesized, dataset_id))
    for name in (n.cleaned_crawler, n.curated_crawler, n.databrew_profile_job):
        assert name not in text
    assert "startCrawler" not in text and "getCrawler" not in text


def test_crawlers_and_the_profile_job_run_on_their_own_schedules(synthesized, dataset_id):
    config, n = synthesized.config, names(synthesized, dataset_id)
    crawlers = {
        c["Properties"]["Name"]: c["Properties"]
        for c in resources(synthesized, "AWS::Glue::Crawler").values()
    }
    assert {n.cleaned_crawler, n.curated_crawler} <= set(crawlers)
    for crawler in crawlers.values():
        assert crawler["Schedule"] == {"ScheduleExpression": config.catalog.crawler_schedule}
        assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}
    (schedule,) = [
        r["Properties"]
        for r in resources(synthesized, "AWS::DataBrew::Schedule").values()
        if r["Properties"]["JobNames"] == [n.databrew_profile_job]
    ]
    assert {k: v for k, v in schedule.items() if k != "Tags"} == {
        "Name": f"{n.databrew_profile_job}-schedule",
        "CronExpression": config.databrew.profile_schedule,
        "JobNames": [n.databrew_profile_job],
    }


def test_every_table_is_read_through_partition_projection(synthesized, dataset_id):
    """No query and no run needs a crawler to find a new partition: a string partition column is the
    portal's two-digit year, an int one a year of 1997..2099."""
    n, dataset = names(synthesized, dataset_id), declared(synthesized, dataset_id)
    partitioned = [(n.cleaned_table, dataset.partition_column, dataset.column(dataset.partition_column).type)]
    for output in dataset.outputs:
        kind = next(c.type for c in output.columns if c.name == output.partition)
        partitioned.append((output.table, output.partition, kind))
    for name, column, kind in partitioned:
        params = table(synthesized, name)["Parameters"]
        assert params["projection.enabled"] == "true", name
        assert params[f"projection.{column}.type"] == "integer", name
        if kind == "string":  # "24", "97": the portal's two-digit years
            assert (params[f"projection.{column}.range"], params[f"projection.{column}.digits"]) == (
                "0,99",
                "2",
            )
        else:
            assert params[f"projection.{column}.range"] == "1997,2099", name


def test_the_licences_cleaned_table_projects_two_digit_file_years(synthesized):
    params = table(synthesized, names(synthesized, "business_licences").cleaned_table)["Parameters"]
    assert (params["projection.file_year.range"], params["projection.file_year.digits"]) == ("0,99", "2")


def test_an_unchanged_input_ends_the_run_early_with_a_notice(synthesized, dataset_id):
    states = definition(synthesized, dataset_id)["States"]
    fingerprint = states["Fingerprint raw input"]["Parameters"]["fingerprint.$"]
    assert fingerprint.startswith("States.Hash(") and "'SHA-256'" in fingerprint
    for field in ("Key", "ETag", "Size"):
        assert f"$.raw.Contents[*].{field}" in fingerprint
    assert states["Raw input present?"]["Choices"][0]["Variable"] == "$.raw.KeyCount"
    assert states["Raw input present?"]["Default"] == "No raw input"
    (catch,) = states["Read last successful run"]["Catch"]  # no record (first run): never skip
    assert catch["ErrorEquals"] == ["States.ALL"]
    assert states[catch["Next"]]["Next"] == "Input changed?"
    decide = states["Input changed?"]
    assert [c["Next"] for c in decide["Choices"]] == ["Clean with DataBrew", "Notify no change"]
    assert decide["Default"] == "Clean with DataBrew"
    notice = states["Notify no change"]
    assert notice["Resource"].endswith(":states:::sns:publish")
    assert "dap run --force" in notice["Parameters"]["Message.$"]
    assert states[notice["Next"]]["Type"] == "Succeed"


@pytest.mark.parametrize(
    ("execution_input", "last", "expected"),
    [
        ({}, {"record": {"fingerprint": "abc"}}, "SKIPPED"),  # the last successful run's input
        ({}, {"record": {"fingerprint": "old"}}, "PROCESSED"),  # changed input
        ({}, {"record": {}}, "PROCESSED"),  # no earlier successful run
        ({"force": True}, {"record": {"fingerprint": "abc"}}, "PROCESSED"),  # dap run --force
        ({"force": False}, {"record": {"fingerprint": "abc"}}, "SKIPPED"),
    ],
)
def test_the_checksum_comparison_runs_in_moto(synthesize, execution_input, last, expected):
    """The synthesized "Input changed?" Choice, executed by moto's Step Functions interpreter."""
    states = definition(synthesize("dev"), "business_licences")["States"]
    decide = json.loads(
        json.dumps(states["Input changed?"])
        .replace('"Clean with DataBrew"', '"PROCESSED"')
        .replace('"Notify no change"', '"SKIPPED"')
    )
    machine = {
        "StartAt": "Input changed?",
        "States": {
            "Input changed?": decide,
            "PROCESSED": {"Type": "Pass", "Result": {"branch": "PROCESSED"}, "End": True},
            "SKIPPED": {"Type": "Pass", "Result": {"branch": "SKIPPED"}, "End": True},
        },
    }
    run_input = {"trigger": execution_input, "input": {"fingerprint": "abc", "objects": 1}, "last": last}
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name="ca-central-1")
        arn = client.create_state_machine(
            name="decide", definition=json.dumps(machine), roleArn="arn:aws:iam::123456789012:role/x"
        )["stateMachineArn"]
        execution = client.start_execution(stateMachineArn=arn, input=json.dumps(run_input))["executionArn"]
        for _ in range(200):
            described = client.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.02)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"branch": expected}


def test_every_task_retries_transient_errors_and_catches_the_rest(synthesized, dataset_id):
    states = definition(synthesized, dataset_id)["States"]
    side_steps = {"Notify failure", "Read last successful run"}  # their own catch, see below
    tasks = {name: s for name, s in states.items() if s["Type"] == "Task" and name not in side_steps}
    assert len(tasks) == 9

    def retried(task: dict) -> set[str]:
        return {e for r in task["Retry"] for e in r["ErrorEquals"]}

    throttling = ("ThrottlingException", "ThrottledException", "SlowDownException")
    for task in tasks.values():  # its own service's throttling; test_state_machine_asl checks the names
        assert any(e.endswith(throttling) for e in retried(task))
        assert all(r["BackoffRate"] == 2 and r["MaxAttempts"] >= 3 for r in task["Retry"])
    assert "Glue.ConcurrentRunsExceededException" in retried(tasks["Check quality"])
    assert "Glue.ConcurrentRunsExceededException" in retried(tasks["Summarize"])
    assert "DataBrew.ConflictException" in retried(tasks["Clean with DataBrew"])
    for name, task in tasks.items():
        (catch,) = task["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"]
        recorder = states[catch["Next"]]
        assert recorder["Type"] == "Pass" and recorder["Next"] == "Notify failure"
        assert recorder["Parameters"]["step"] in {name, "Wait for earlier runs"}
    notify = states["Notify failure"]
    assert notify["Resource"].endswith(":states:::sns:publish")
    assert "$.failure.step" in notify["Parameters"]["Message.$"]
    assert states[notify["Next"]] == {
        "Type": "Fail",
        "ErrorPath": "$.failure.error",
        "CausePath": "$.failure.cause",
    }


def test_waits_are_bounded(synthesized, dataset_id):
    states = definition(synthesized, dataset_id)["States"]
    guard_choices = states["Oldest running?"]["Choices"]
    assert guard_choices[0] == {
        "Variable": "$.guard.running.oldest",
        "StringEqualsPath": "$.execution",
        "Next": "List raw input",
    }
    assert any(c.get("Variable") == "$.guard.waits" for c in guard_choices)


def test_success_notice_carries_the_counts_to_the_alerts_topic(synthesized, dataset_id):
    states = definition(synthesized, dataset_id)["States"]
    message = states["Notify success"]["Parameters"]["Message.$"]
    for field in ("rows_in", "rows_passed", "rows_failed"):
        assert f"$.report.counts.{field}" in message
    topic_output = synthesized.templates["Observability"]["Outputs"]
    assert states["Notify success"]["Parameters"]["TopicArn"].strip("${}") in topic_output


def test_logging_is_encrypted_and_tracing_on(synthesized, dataset_id):
    _, machine = state_machine(synthesized, dataset_id)
    props = machine["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    (destination,) = props["LoggingConfiguration"]["Destinations"]
    group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    group = resources(synthesized, "AWS::Logs::LogGroup")[group_id]["Properties"]
    assert group["KmsKeyId"] == platform_key_ref(synthesized)
    assert group["RetentionInDays"] == synthesized.config.log_retention_days


def test_definition_is_valid_states_language_in_moto(synthesized, dataset_id):
    with mock_aws():
        client = boto3.client("stepfunctions", region_name=synthesized.config.primary_region)
        role = "arn:aws:iam::123456789012:role/pipeline"
        created = client.create_state_machine(
            name=names(synthesized, dataset_id).state_machine,
            definition=json.dumps(definition(synthesized, dataset_id)),
            roleArn=role,
        )
        described = client.describe_state_machine(stateMachineArn=created["stateMachineArn"])
        assert json.loads(described["definition"])["StartAt"] == "Start run"


def test_raw_object_created_and_the_schedule_start_the_datasets_state_machine(synthesized, dataset_id):
    config = synthesized.config
    machine_id, _ = state_machine(synthesized, dataset_id)
    rules_ = [
        r["Properties"]
        for r in resources(synthesized, "AWS::Events::Rule").values()
        if any(t["Arn"] == {"Ref": machine_id} for t in r["Properties"]["Targets"])
    ]
    (on_object,) = [r for r in rules_ if "EventPattern" in r]
    (on_schedule,) = [r for r in rules_ if "ScheduleExpression" in r]
    assert on_object["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [config.bucket_name("raw")]},
            "object": {"key": [{"prefix": DatasetLayout(dataset_id).raw}]},
        },
    }
    assert on_schedule["ScheduleExpression"] == config.schedule.expression
    assert on_schedule["State"] == ("ENABLED" if config.schedule.enabled else "DISABLED")
    for rule in (on_object, on_schedule):
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Ref": machine_id}
    _, raw = next(
        (k, r)
        for k, r in synthesized.resources("Storage", "AWS::S3::Bucket").items()
        if r["Properties"]["BucketName"] == config.bucket_name("raw")
    )
    assert raw["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


# --- Athena ----------------------------------------------------------------------------------------


def test_workgroup_is_enforced_encrypted_capped_and_measured(synthesized):
    config = synthesized.config
    workgroup = by_name(synthesized, "AWS::Athena::WorkGroup", synthesized.names.workgroup)
    settings = workgroup["WorkGroupConfiguration"]
    assert settings["EnforceWorkGroupConfiguration"] is True
    assert settings["PublishCloudWatchMetricsEnabled"] is True
    assert settings["BytesScannedCutoffPerQuery"] == config.athena.bytes_scanned_cutoff_per_query
    assert settings["EngineVersion"] == {"SelectedEngineVersion": "Athena engine version 3"}
    assert settings["ResultConfiguration"] == {
        "OutputLocation": f"s3://{config.bucket_name('query-results')}/athena/",
        "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": platform_key_ref(synthesized)},
    }


def test_each_sql_file_is_a_named_query_in_its_datasets_database(synthesized):
    deployed = {
        r["Properties"]["Name"]: r["Properties"]
        for r in resources(synthesized, "AWS::Athena::NamedQuery").values()
    }
    expected = {}
    for entry in synthesized.config.datasets:
        for query in query_files(entry.dataset.queries_path):
            expected[named_query_name(entry.id, query.name)] = (
                query,
                names(synthesized, entry.id).glue_database,
            )
    assert set(deployed) == set(expected)
    assert "business_licences-average_fee_issued" in deployed
    for name, (query, database) in expected.items():
        assert deployed[name]["QueryString"] == query.sql
        assert deployed[name]["Database"] == database
        assert deployed[name]["Description"] == query.description


def analyst_statements(synthesized) -> dict[str, dict[str, Any]]:
    policy = by_name(
        synthesized, "AWS::IAM::ManagedPolicy", synthesized.names.analyst_policy, "ManagedPolicyName"
    )
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def test_analyst_policy_grants_exactly_the_analytics_path(synthesized):
    config = synthesized.config
    statements = analyst_statements(synthesized)
    assert set(statements) == {
        "UseTheWorkgroup",
        "ReadTheDatabase",
        "ReadTheCatalog",
        "LocateCuratedData",
        "ReadCuratedData",
        "ListCuratedData",
        "WriteQueryResults",
        "ListQueryResults",
        "UseThePlatformKey",
    }
    assert all(s["Effect"] == "Allow" and s["Resource"] != "*" for s in statements.values())
    assert statements["UseTheWorkgroup"]["Resource"].endswith(f":workgroup/{synthesized.names.workgroup}")
    curated = config.bucket_name("curated")
    outputs = [
        DatasetLayout(entry.id).output(o.key) for entry in config.datasets for o in entry.dataset.outputs
    ]
    assert set(as_list(statements["ReadCuratedData"]["Resource"])) == {
        f"arn:aws:s3:::{curated}/{p}*" for p in outputs
    }
    assert f"arn:aws:s3:::{curated}/business_licences/summary/*" in statements["ReadCuratedData"]["Resource"]
    assert (
        statements["WriteQueryResults"]["Resource"]
        == f"arn:aws:s3:::{config.bucket_name('query-results')}/athena/*"
    )
    assert not any(
        a.startswith(("s3:Delete", "glue:Create", "glue:Update", "glue:Delete"))
        for s in statements.values()
        for a in as_list(s["Action"])
    )
    assert statements["UseThePlatformKey"]["Resource"] == platform_key_ref(synthesized)


def test_analyst_policy_never_reads_a_cleaned_table_or_the_raw_and_transformed_data(synthesized, dataset_id):
    """The cleaned table is where a dataset's PII columns live: only its curated outputs are readable."""
    config, n = synthesized.config, names(synthesized, dataset_id)
    statements = analyst_statements(synthesized)
    tables = [r for r in as_list(statements["ReadTheCatalog"]["Resource"]) if ":table/" in r]
    assert sorted(tables) == sorted(
        f"arn:aws:glue:{config.primary_region}:{config.account}:table/{d.glue_database}/{t}"
        for d in synthesized.names.datasets
        for t in d.output_table_names
    )
    assert not any(t.endswith(f"/{n.glue_database}/{n.cleaned_table}") for t in tables)
    text = json.dumps(statements)
    for purpose in ("raw", "transformed"):
        assert config.bucket_name(purpose) not in text
    layout = DatasetLayout(dataset_id)
    for prefix in (layout.cleaned, layout.raw, layout.run_reports):
        assert prefix not in text
    listed = statements["ListCuratedData"]["Condition"]["StringLike"]["s3:prefix"]
    assert set(as_list(listed)) == {
        f"{layout.output(o.key)}*" for o in declared(synthesized, dataset_id).outputs
    } | {p for p in as_list(listed) if not p.startswith(f"{dataset_id}/")}


def test_outputs_for_the_operations_cli(synthesized, dataset_id):
    outputs = synthesized.templates[STACK]["Outputs"]
    n = names(synthesized, dataset_id)
    assert {"WorkgroupName", "AnalystPolicyArn", "OperatorPolicyArn", "DatasetIds"} <= set(outputs)
    assert {
        n.output(o)
        for o in (
            "StateMachineArn",
            "GlueDatabaseName",
            "QualityReportUri",
            "PortalIngestFunctionName",
            "ProfileJobName",
            "RawPrefix",
        )
    } <= set(outputs)
    assert outputs["WorkgroupName"]["Value"] == synthesized.names.workgroup
    assert outputs["DatasetIds"]["Value"] == ",".join(synthesized.config.dataset_ids)
    assert outputs[n.output("RawPrefix")]["Value"] == f"raw/{dataset_id}/"
    assert outputs[n.output("GlueDatabaseName")]["Value"] == n.glue_database
    assert n.output("StateMachineArn") == f"{n.pascal}StateMachineArn"


REMUNERATION = "employee_remuneration"


def test_remuneration_names_are_pii_in_the_cleaned_table_only(synthesized):
    n = names(synthesized, REMUNERATION)
    cleaned = table(synthesized, n.cleaned_table)
    assert cleaned["Parameters"]["classification_pii"] == "name"
    assert cleaned["Parameters"]["pii.name"] == "true"
    assert "name" in [c["Name"] for c in cleaned["StorageDescriptor"]["Columns"]]
    for output_table in n.output_table_names:
        curated = table(synthesized, output_table)
        assert "name" not in [c["Name"] for c in curated["StorageDescriptor"]["Columns"]], output_table
    profile = by_name(synthesized, "AWS::DataBrew::Job", n.databrew_profile_job)
    assert "PERSON_NAME" in profile["ProfileConfiguration"]["EntityDetectorConfiguration"]["EntityTypes"]


def test_the_analyst_cannot_read_the_remuneration_names(synthesized):
    config, n = synthesized.config, names(synthesized, REMUNERATION)
    statements = analyst_statements(synthesized)
    text = json.dumps(statements)
    assert f"table/{n.glue_database}/{n.cleaned_table}" not in text
    assert f"{config.bucket_name('transformed')}/cleaned/{REMUNERATION}/" not in text
    assert f"{config.bucket_name('curated')}/{REMUNERATION}/remuneration/*" in text  # the curated output
