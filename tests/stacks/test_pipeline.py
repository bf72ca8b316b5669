"""The pipeline's promises, asserted per stage on the synthesized Pipeline template.

DataBrew runs the committed recipe over the raw prefix; the catalog declares the tables from the
jobs' schemas; the Glue jobs are sized by the stage and see only their prefixes; the state machine
runs the steps in order with retries and a catch on every task; Athena runs the committed SQL.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from licence_etl import rules, schema, summary
from moto import mock_aws

from stacks.components.analytics_workgroup import query_files
from stacks.components.databrew_cleaning import PII_ENTITY_TYPES, load_recipe_steps
from stacks.layout import (
    CLEANED_PREFIX,
    FAILED_PREFIX,
    LICENCES_PREFIX,
    PASSED_PREFIX,
    PROFILES_PREFIX,
    RAW_PREFIX,
    REPORTS_PREFIX,
    RUN_REPORT_HTML_KEY,
    SUMMARY_CSV_PREFIX,
    SUMMARY_PREFIX,
)
from stacks.names import PlatformNames
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


def names(synthesized) -> PlatformNames:
    return PlatformNames.of(synthesized.config)


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


def test_recipe_steps_are_the_committed_json(synthesized):
    recipe = by_name(synthesized, "AWS::DataBrew::Recipe", names(synthesized).databrew_recipe)
    assert recipe["Steps"] == load_recipe_steps()


def test_dataset_reads_the_raw_prefix_as_semicolon_csv(synthesized):
    dataset = by_name(synthesized, "AWS::DataBrew::Dataset", names(synthesized).databrew_dataset)
    assert dataset["Format"] == "CSV"
    assert dataset["FormatOptions"] == {"Csv": {"Delimiter": ";", "HeaderRow": True}}
    assert dataset["Input"] == {
        "S3InputDefinition": {"Bucket": synthesized.config.bucket_name("raw"), "Key": RAW_PREFIX}
    }


def test_ruleset_is_rendered_from_the_declared_rules(synthesized):
    ruleset = by_name(synthesized, "AWS::DataBrew::Ruleset", names(synthesized).databrew_ruleset)
    assert [r["Name"] for r in ruleset["Rules"]] == [r["Name"] for r in rules.databrew_rules()]
    assert ruleset["Rules"] == rules.databrew_rules()
    assert ruleset["TargetArn"].endswith(f":dataset/{names(synthesized).databrew_dataset}")


def test_profile_job_profiles_everything_and_detects_pii(synthesized):
    config = synthesized.config
    job = by_name(synthesized, "AWS::DataBrew::Job", names(synthesized).databrew_profile_job)
    assert job["Type"] == "PROFILE"
    assert job["JobSample"] == {"Mode": "FULL_DATASET"}
    assert job["ProfileConfiguration"]["EntityDetectorConfiguration"]["EntityTypes"] == list(PII_ENTITY_TYPES)
    (validation,) = job["ValidationConfigurations"]
    assert validation["RulesetArn"].endswith(f":ruleset/{names(synthesized).databrew_ruleset}")
    assert job["OutputLocation"] == {"Bucket": config.bucket_name("transformed"), "Key": PROFILES_PREFIX}
    assert (job["EncryptionMode"], job["EncryptionKeyArn"]) == ("SSE-KMS", platform_key_ref(synthesized))
    assert job["LogSubscription"] == "ENABLE"


def test_recipe_job_writes_partitioned_snappy_parquet_with_the_platform_key(synthesized):
    config = synthesized.config
    job = by_name(synthesized, "AWS::DataBrew::Job", names(synthesized).databrew_recipe_job)
    assert job["Type"] == "RECIPE"
    assert job["Recipe"] == {"Name": names(synthesized).databrew_recipe}
    assert job["Outputs"] == [
        {
            "Location": {"Bucket": config.bucket_name("transformed"), "Key": CLEANED_PREFIX},
            "Format": "PARQUET",
            "CompressionFormat": "SNAPPY",
            "PartitionColumns": ["file_year"],
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


def test_recipe_is_published_before_the_job_runs_it(synthesized):
    (publish,) = resources(synthesized, "Custom::AWS").values()
    create = (
        json.loads(publish["Properties"]["Create"])
        if isinstance(publish["Properties"]["Create"], str)
        else None
    )
    assert create is not None and create["action"] == "publishRecipe"
    assert create["parameters"]["Name"] == names(synthesized).databrew_recipe
    (job_id,) = [
        k
        for k, r in resources(synthesized, "AWS::DataBrew::Job").items()
        if r["Properties"]["Type"] == "RECIPE"
    ]
    (publish_id,) = resources(synthesized, "Custom::AWS")
    assert publish_id in resources(synthesized, "AWS::DataBrew::Job")[job_id]["DependsOn"]


def test_databrew_role_reads_raw_and_writes_only_its_outputs(synthesized):
    config = synthesized.config
    job = by_name(synthesized, "AWS::DataBrew::Job", names(synthesized).databrew_recipe_job)
    statements = role_statements(synthesized, role_of(job))
    raw, transformed = config.bucket_name("raw"), config.bucket_name("transformed")
    assert s3_resources(statements, "s3:PutObject") == {
        f"arn:aws:s3:::{transformed}/{CLEANED_PREFIX}*",
        f"arn:aws:s3:::{transformed}/{PROFILES_PREFIX}*",
    }
    assert s3_resources(statements, "s3:GetObject") == s3_resources(statements, "s3:PutObject") | {
        f"arn:aws:s3:::{raw}/{RAW_PREFIX}*"
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


def test_tables_carry_the_jobs_schemas_with_comments_and_governance(synthesized):
    n = names(synthesized)
    cleaned = table(synthesized, n.cleaned_table)
    assert columns(cleaned) == [
        (c.name, c.type, c.comment) for c in schema.CLEANED_COLUMNS if c.name != "file_year"
    ]
    assert [p["Name"] for p in cleaned["PartitionKeys"]] == ["file_year"]
    for name, declared in (
        (n.summary_table, summary.SUMMARY_COLUMNS),
        (n.licences_table, summary.LICENCES_COLUMNS),
    ):
        curated = table(synthesized, name)
        assert columns(curated) == [(c.name, c.type, c.comment) for c in declared if c.name != "year"]
        assert [(p["Name"], p["Type"], p["Comment"]) for p in curated["PartitionKeys"]] == [
            (c.name, c.type, c.comment) for c in declared if c.name == "year"
        ]
        params = curated["Parameters"]
        assert params["projection.enabled"] == "true"
        assert params["projection.year.type"] == "integer"
        assert params["classification_level"] == synthesized.config.data_classification
        assert params["owner"] == synthesized.config.owner
        assert params["source"] == f"Glue job {n.summary_job}"
    bucket = synthesized.config.bucket_name("curated")
    assert (
        table(synthesized, n.summary_table)["StorageDescriptor"]["Location"]
        == f"s3://{bucket}/{SUMMARY_PREFIX}"
    )


def test_crawlers_register_partitions_of_the_declared_tables_only(synthesized):
    n = names(synthesized)
    (security,) = resources(synthesized, "AWS::Glue::SecurityConfiguration")
    expected = {n.cleaned_crawler: [n.cleaned_table], n.curated_crawler: [n.summary_table, n.licences_table]}
    crawlers = {
        r["Properties"]["Name"]: r["Properties"]
        for r in resources(synthesized, "AWS::Glue::Crawler").values()
    }
    assert set(crawlers) == set(expected)
    for name, crawler in crawlers.items():
        (target,) = crawler["Targets"]["CatalogTargets"]
        assert target["Tables"] == expected[name]
        assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}
        assert crawler["CrawlerSecurityConfiguration"] == {"Ref": security}


# --- Glue jobs -------------------------------------------------------------------------------------


def glue_job(synthesized, name: str) -> dict[str, Any]:
    return by_name(synthesized, "AWS::Glue::Job", name)


@pytest.mark.parametrize("job_name", ["quality_job", "summary_job"])
def test_jobs_are_glue5_sized_by_the_stage(synthesized, job_name):
    config = synthesized.config
    job = glue_job(synthesized, getattr(names(synthesized), job_name))
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


def test_job_arguments_point_at_the_layout_and_the_config(synthesized):
    config, n = synthesized.config, names(synthesized)
    transformed, curated = config.bucket_name("transformed"), config.bucket_name("curated")
    quality = glue_job(synthesized, n.quality_job)["DefaultArguments"]
    assert quality["--input_path"] == f"s3://{transformed}/{CLEANED_PREFIX}"
    assert quality["--passed_path"] == f"s3://{transformed}/{PASSED_PREFIX}"
    assert quality["--failed_path"] == f"s3://{transformed}/{FAILED_PREFIX}"
    assert quality["--freshness_days"] == str(config.quality.freshness_days)
    assert quality["--fail_on_dataset_rule"] == str(config.quality.fail_on_dataset_rule).lower()
    assert quality["--metrics_pipeline"] == n.metrics_pipeline
    summary_args = glue_job(synthesized, n.summary_job)["DefaultArguments"]
    assert summary_args["--input_path"] == f"s3://{transformed}/{PASSED_PREFIX}"
    assert summary_args["--summary_path"] == f"s3://{curated}/{SUMMARY_PREFIX}"
    assert summary_args["--summary_csv_path"] == f"s3://{curated}/{SUMMARY_CSV_PREFIX}"
    assert summary_args["--licences_path"] == f"s3://{curated}/{LICENCES_PREFIX}"
    assert summary_args["--min_employees"] == str(config.quality.min_employees)


def test_each_job_role_sees_only_its_prefixes(synthesized):
    config, n = synthesized.config, names(synthesized)
    transformed, curated = config.bucket_name("transformed"), config.bucket_name("curated")
    quality = role_statements(synthesized, role_of(glue_job(synthesized, n.quality_job), "Role"))
    assert s3_resources(quality, "s3:PutObject") == {
        f"arn:aws:s3:::{transformed}/{p}*" for p in (PASSED_PREFIX, FAILED_PREFIX)
    } | {f"arn:aws:s3:::{transformed}/{REPORTS_PREFIX}latest.json"}
    summarize = role_statements(synthesized, role_of(glue_job(synthesized, n.summary_job), "Role"))
    assert s3_resources(summarize, "s3:PutObject") == {
        f"arn:aws:s3:::{curated}/{p}*" for p in (SUMMARY_PREFIX, SUMMARY_CSV_PREFIX, LICENCES_PREFIX)
    } | {f"arn:aws:s3:::{curated}/{RUN_REPORT_HTML_KEY}"}
    assert f"arn:aws:s3:::{transformed}/{PASSED_PREFIX}*" in s3_resources(summarize, "s3:GetObject")
    assert f"arn:aws:s3:::{transformed}/{CLEANED_PREFIX}*" not in s3_resources(summarize, "s3:GetObject")
    for statements in (quality, summarize):
        wildcard = [s for s in statements if s["Resource"] == "*"]
        assert [s["Action"] for s in wildcard] == ["cloudwatch:PutMetricData"]
        assert "cloudwatch:namespace" in wildcard[0]["Condition"]["StringEquals"]


def test_quality_ruleset_is_the_rendered_dqdl_on_the_cleaned_table(synthesized):
    (ruleset,) = resources(synthesized, "AWS::Glue::DataQualityRuleset").values()
    props = ruleset["Properties"]
    assert props["Ruleset"] == rules.to_dqdl(synthesized.config.quality.freshness_days)
    table_id = props["TargetTable"]["TableName"]["Ref"]
    cleaned = resources(synthesized, "AWS::Glue::Table")[table_id]["Properties"]["TableInput"]
    assert cleaned["Name"] == names(synthesized).cleaned_table


# --- orchestration ---------------------------------------------------------------------------------


def state_machine(synthesized) -> tuple[str, dict[str, Any]]:
    ((logical_id, machine),) = resources(synthesized, "AWS::StepFunctions::StateMachine").items()
    return logical_id, machine


def definition(synthesized) -> dict[str, Any]:
    """The state machine definition as ASL, with CloudFormation tokens rendered as ``${...}``."""
    return state_machine_definition(state_machine(synthesized)[1]["Properties"]["DefinitionString"])


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


def test_steps_run_in_order(synthesized):
    states = definition(synthesized)["States"]
    assert definition(synthesized)["StartAt"] == "Start run"
    walked, name = [], "Start run"
    while name:
        walked.append(name)
        state = states[name]
        name = state["Choices"][0]["Next"] if state["Type"] == "Choice" else state.get("Next")
    assert walked == MAIN_PATH


def test_tasks_use_the_right_integrations(synthesized):
    n = names(synthesized)
    states = definition(synthesized)["States"]
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
        "Prefix": "raw/business_licences/",
    }
    for step in ("Read last successful run", "Record successful run"):
        assert states[step]["Parameters"]["Bucket"] == config.bucket_name("transformed")
        assert states[step]["Parameters"]["Key"] == "quality_check/reports/last_successful_run.json"
    assert states["Record successful run"]["Parameters"]["Body.$"] == "States.JsonToString($.record)"


def test_no_crawler_and_no_profile_job_on_the_run_path(synthesized):
    """Their fixed minimums (10 billed minutes a crawl, a profile per run) stay off every run."""
    n = names(synthesized)
    text = json.dumps(definition(synthesized))
    for name in (n.cleaned_crawler, n.curated_crawler, n.databrew_profile_job):
        assert name not in text
    assert "startCrawler" not in text and "getCrawler" not in text


def test_crawlers_and_the_profile_job_run_on_their_own_schedules(synthesized):
    config, n = synthesized.config, names(synthesized)
    crawlers = {
        c["Properties"]["Name"]: c["Properties"]
        for c in resources(synthesized, "AWS::Glue::Crawler").values()
    }
    assert set(crawlers) == {n.cleaned_crawler, n.curated_crawler}
    for crawler in crawlers.values():
        assert crawler["Schedule"] == {"ScheduleExpression": config.catalog.crawler_schedule}
        assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}
    (schedule,) = [r["Properties"] for r in resources(synthesized, "AWS::DataBrew::Schedule").values()]
    assert {k: v for k, v in schedule.items() if k != "Tags"} == {
        "Name": f"{n.databrew_profile_job}-schedule",
        "CronExpression": config.databrew.profile_schedule,
        "JobNames": [n.databrew_profile_job],
    }


def test_every_table_is_read_through_partition_projection(synthesized):
    """No query and no run needs a crawler to find a new partition."""
    tables = {
        t["Properties"]["TableInput"]["Name"]: t["Properties"]["TableInput"]
        for t in resources(synthesized, "AWS::Glue::Table").values()
    }
    n = names(synthesized)
    cleaned = tables[n.cleaned_table]["Parameters"]
    assert cleaned["projection.enabled"] == "true"
    assert (cleaned["projection.file_year.type"], cleaned["projection.file_year.range"]) == (
        "integer",
        "0,99",
    )
    assert cleaned["projection.file_year.digits"] == "2"  # "24", "97": the portal's two-digit years
    for table in (n.summary_table, n.licences_table):
        params = tables[table]["Parameters"]
        assert params["projection.enabled"] == "true" and params["projection.year.type"] == "integer"


def test_an_unchanged_input_ends_the_run_early_with_a_notice(synthesized):
    states = definition(synthesized)["States"]
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
    states = definition(synthesize("dev"))["States"]
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


def test_every_task_retries_transient_errors_and_catches_the_rest(synthesized):
    states = definition(synthesized)["States"]
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


def test_waits_are_bounded(synthesized):
    states = definition(synthesized)["States"]
    guard_choices = states["Oldest running?"]["Choices"]
    assert guard_choices[0] == {
        "Variable": "$.guard.running.oldest",
        "StringEqualsPath": "$.execution",
        "Next": "List raw input",
    }
    assert any(c.get("Variable") == "$.guard.waits" for c in guard_choices)


def test_success_notice_carries_the_counts_to_the_alerts_topic(synthesized):
    states = definition(synthesized)["States"]
    message = states["Notify success"]["Parameters"]["Message.$"]
    for field in ("rows_in", "rows_passed", "rows_failed"):
        assert f"$.report.counts.{field}" in message
    topic_output = synthesized.templates["Observability"]["Outputs"]
    assert states["Notify success"]["Parameters"]["TopicArn"].strip("${}") in topic_output


def test_logging_is_encrypted_and_tracing_on(synthesized):
    _, machine = state_machine(synthesized)
    props = machine["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    (destination,) = props["LoggingConfiguration"]["Destinations"]
    group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    group = resources(synthesized, "AWS::Logs::LogGroup")[group_id]["Properties"]
    assert group["KmsKeyId"] == platform_key_ref(synthesized)
    assert group["RetentionInDays"] == synthesized.config.log_retention_days


def test_definition_is_valid_states_language_in_moto(synthesized):
    with mock_aws():
        client = boto3.client("stepfunctions", region_name=synthesized.config.primary_region)
        role = "arn:aws:iam::123456789012:role/pipeline"
        created = client.create_state_machine(
            name=names(synthesized).state_machine,
            definition=json.dumps(definition(synthesized)),
            roleArn=role,
        )
        described = client.describe_state_machine(stateMachineArn=created["stateMachineArn"])
        assert json.loads(described["definition"])["StartAt"] == "Start run"


def test_raw_object_created_and_the_schedule_start_the_state_machine(synthesized):
    config = synthesized.config
    machine_id, _ = state_machine(synthesized)
    rules_ = list(resources(synthesized, "AWS::Events::Rule").values())
    on_object = [r["Properties"] for r in rules_ if "EventPattern" in r["Properties"]]
    on_schedule = [r["Properties"] for r in rules_ if "ScheduleExpression" in r["Properties"]]
    assert on_object[0]["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [config.bucket_name("raw")]},
            "object": {"key": [{"prefix": RAW_PREFIX}]},
        },
    }
    assert on_schedule[0]["ScheduleExpression"] == config.schedule.expression
    assert on_schedule[0]["State"] == ("ENABLED" if config.schedule.enabled else "DISABLED")
    for rule in (on_object[0], on_schedule[0]):
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
    workgroup = by_name(synthesized, "AWS::Athena::WorkGroup", names(synthesized).workgroup)
    settings = workgroup["WorkGroupConfiguration"]
    assert settings["EnforceWorkGroupConfiguration"] is True
    assert settings["PublishCloudWatchMetricsEnabled"] is True
    assert settings["BytesScannedCutoffPerQuery"] == config.athena.bytes_scanned_cutoff_per_query
    assert settings["EngineVersion"] == {"SelectedEngineVersion": "Athena engine version 3"}
    assert settings["ResultConfiguration"] == {
        "OutputLocation": f"s3://{config.bucket_name('query-results')}/athena/",
        "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": platform_key_ref(synthesized)},
    }


def test_each_sql_file_is_a_named_query(synthesized):
    deployed = {
        r["Properties"]["Name"]: r["Properties"]
        for r in resources(synthesized, "AWS::Athena::NamedQuery").values()
    }
    files = query_files()
    assert set(deployed) == {q.name for q in files}
    for query in files:
        assert deployed[query.name]["QueryString"] == query.sql
        assert deployed[query.name]["Database"] == names(synthesized).glue_database
        assert deployed[query.name]["Description"] == query.description


def test_analyst_policy_grants_exactly_the_analytics_path(synthesized):
    config = synthesized.config
    policy = by_name(
        synthesized,
        "AWS::IAM::ManagedPolicy",
        f"{names(synthesized).prefix}-licence-analyst",
        "ManagedPolicyName",
    )
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
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
    assert statements["UseTheWorkgroup"]["Resource"].endswith(f":workgroup/{names(synthesized).workgroup}")
    curated = config.bucket_name("curated")
    assert set(statements["ReadCuratedData"]["Resource"]) == {
        f"arn:aws:s3:::{curated}/{SUMMARY_PREFIX}*",
        f"arn:aws:s3:::{curated}/{LICENCES_PREFIX}*",
    }
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


def test_outputs_for_the_operations_cli(synthesized):
    outputs = synthesized.templates[STACK]["Outputs"]
    assert {
        "StateMachineArn",
        "WorkgroupName",
        "GlueDatabaseName",
        "QualityReportUri",
        "AnalystPolicyArn",
    } <= set(outputs)
    assert outputs["WorkgroupName"]["Value"] == names(synthesized).workgroup
