"""Any dataset folder deploys without new Python: the app synthesized with context ``datasets_dir``
pointing at the test fixtures (``tests/fixtures/datasets/street_trees``, a made-up comma-separated
dataset) instead of ``datasets/``, every check of the real app applied to it.
"""

from __future__ import annotations

import json

import pytest
from cfnlint.api import ManualArgs, lint

from stacks.config import PROJECT_ROOT
from stacks.layout import DatasetLayout
from tests.stacks.test_iam_coverage import coverage_problems
from tests.stacks.test_security_checks import violations

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "datasets"
DATASET = "street_trees"


@pytest.fixture(scope="module")
def trees(synthesize):
    return synthesize("dev", datasets_dir=str(FIXTURES), datasets=[{"id": DATASET}])


def pipeline_named(trees, resource_type: str, name: str, key: str = "Name") -> dict:
    (found,) = [
        r["Properties"]
        for r in trees.resources("Pipeline", resource_type).values()
        if r["Properties"].get(key) == name
    ]
    return found


def test_the_stage_runs_the_fixture_dataset_only(trees):
    assert trees.config.dataset_ids == (DATASET,)
    assert trees.config.datasets_dir == FIXTURES
    machines = trees.resources("Pipeline", "AWS::StepFunctions::StateMachine")
    assert [m["Properties"]["StateMachineName"] for m in machines.values()] == [
        "vdap-dev-street-trees-pipeline"
    ]


def test_its_resources_follow_its_declaration(trees):
    names, dataset = trees.dataset_names(DATASET), trees.config.dataset(DATASET).dataset
    raw = pipeline_named(trees, "AWS::DataBrew::Dataset", names.databrew_dataset)
    assert raw["FormatOptions"] == {"Csv": {"Delimiter": ",", "HeaderRow": True}}
    assert raw["Input"]["S3InputDefinition"]["Key"] == "raw/street_trees/"
    profile = pipeline_named(trees, "AWS::DataBrew::Job", names.databrew_profile_job)
    assert "PERSON_NAME" in profile["ProfileConfiguration"]["EntityDetectorConfiguration"]["EntityTypes"]
    database = [
        r["Properties"]["DatabaseInput"]["Name"]
        for r in trees.resources("Pipeline", "AWS::Glue::Database").values()
    ]
    assert database == ["vdap_dev_trees"]
    tables = {
        t["Properties"]["TableInput"]["Name"]
        for t in trees.resources("Pipeline", "AWS::Glue::Table").values()
    }
    assert tables == {dataset.cleaned_table, *(o.table for o in dataset.outputs)}
    quality = pipeline_named(trees, "AWS::Glue::Job", names.quality_job)["DefaultArguments"]
    assert quality["--dataset"] == DATASET
    assert quality["--input_path"].endswith(f"/{DatasetLayout(DATASET).cleaned}")
    summary = pipeline_named(trees, "AWS::Glue::Job", names.summary_job)["DefaultArguments"]
    assert summary["--curated_path"].endswith("/street_trees/") and json.loads(summary["--parameters"]) == {}
    queries = {
        q["Properties"]["Name"] for q in trees.resources("Pipeline", "AWS::Athena::NamedQuery").values()
    }
    assert queries == {f"{DATASET}-{p.stem}" for p in (FIXTURES / DATASET / "queries").glob("*.sql")}
    env = pipeline_named(trees, "AWS::Lambda::Function", names.portal_ingest_function, "FunctionName")
    assert env["Environment"]["Variables"]["CSV_DELIMITER"] == ","


def test_its_alarms_watch_it(trees):
    """Its own metrics get its two alarms; its failures and overlong Glue runs join the shared rules."""
    names = trees.dataset_names(DATASET)
    alarms = {
        a["Properties"]["AlarmName"]
        for a in trees.resources("Observability", "AWS::CloudWatch::Alarm").values()
    }
    assert sorted(a for a in alarms if a.startswith(names.base)) == [
        "vdap-dev-street-trees-dq-failed-row-rate",
        "vdap-dev-street-trees-pipeline-freshness",
    ]
    assert {"vdap-dev-pipeline-executions-failed", "vdap-dev-glue-job-runtime"} <= alarms
    patterns = {
        r["Properties"]["Name"]: r["Properties"]["EventPattern"]["detail"]
        for r in trees.resources("Observability", "AWS::Events::Rule").values()
    }
    assert patterns["vdap-dev-pipeline-execution-failed"]["stateMachineArn"] == [names.state_machine_arn]
    assert patterns["vdap-dev-glue-job-running-long"]["jobName"] == list(names.glue_jobs)
    for job in names.glue_jobs:
        notify = pipeline_named(trees, "AWS::Glue::Job", job)["NotificationProperty"]
        assert notify == {"NotifyDelayAfter": trees.config.alarms.glue_job_max_minutes}


def test_cdk_nag_cfn_lint_and_the_iam_table_hold_for_it(trees):
    assert violations(trees) == [] and trees.validation_error is None
    for stack in ("Pipeline", "Observability"):
        matches = lint(
            json.dumps(trees.templates[stack]), config=ManualArgs(regions=[trees.config.primary_region])
        )
        assert [f"{m.rule.id} {m.message}" for m in matches] == [], stack
    problems = coverage_problems(trees)
    assert problems == [], "\n".join(problems)
