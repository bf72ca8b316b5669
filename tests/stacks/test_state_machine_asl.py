"""The state machine's definition, checked the way Step Functions will read it at deploy and run time.

1. The maintained ASL validator (``asl-validator`` 4.0.0, npm) accepts every definition once the
   CloudFormation tokens are rendered as the values CloudFormation will put there.
2. Every service-integration Task names an integration and pattern the Step Functions documentation
   lists (tests/stacks/asl/integrations.py), passes only request members that the API accepts (and all
   the required ones), and its ResultSelector reads only fields the integration returns: a missing
   path fails the execution with States.Runtime, which no ``States.ALL`` catcher catches.
3. Every error name in a Retry or Catch is a predefined ``States.*`` name or an exception that the
   task's own operation can raise, spelled as Step Functions spells it; ``States.ALL`` is alone and last.

Each check also runs on a planted broken copy of the real definition, to show it can fail.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.stacks.asl.integrations import (
    INTEGRATIONS,
    PREDEFINED_ERRORS,
    output_shapes,
    pascal,
    path_exists,
    request_problems,
    result_paths,
    service_error_names,
    split_resource,
)
from tests.stacks.asl.render import TokenRenderer
from tests.stacks.conftest import state_machine_definition

REPO = Path(__file__).resolve().parents[2]
ASL_VALIDATOR = REPO / "node_modules" / ".bin" / "asl-validator"


def definitions(synthesized) -> dict[str, dict[str, Any]]:
    """Every state machine of the Pipeline stack, as ASL with its tokens rendered for the stage."""
    renderer = TokenRenderer(synthesized.config.primary_region, synthesized.config.account)
    machines = synthesized.resources("Pipeline", "AWS::StepFunctions::StateMachine")
    assert machines, "the Pipeline stack has no state machine"
    return {
        logical_id: renderer.definition(machine["Properties"]["DefinitionString"])
        for logical_id, machine in machines.items()
    }


def tasks(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Task state, including those inside Parallel branches and Map iterators."""
    for name, state in definition["States"].items():
        if state["Type"] == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from tasks(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from tasks(state[key])


# --- 1. the ASL validator ------------------------------------------------------------------------


def run_asl_validator(paths: list[Path]) -> tuple[int, dict[str, str]]:
    """One validator run over many files: its exit code and, per file, what it said about it."""
    assert ASL_VALIDATOR.exists(), f"{ASL_VALIDATOR} is missing: run npm ci"
    command = [str(ASL_VALIDATOR)]
    for path in paths:
        command += ["--json-path", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    output = result.stdout + result.stderr
    verdicts = {}
    for path in paths:
        match = re.search(rf'"{re.escape(str(path))}" is (valid|invalid)(:?[^✓✕]*)', output)
        assert match, f"asl-validator said nothing about {path}:\n{output}"
        verdicts[str(path)] = (match.group(1) + match.group(2)).strip()
    return result.returncode, verdicts


def licences_machine(synthesized) -> tuple[str, dict[str, Any]]:
    """(logical id, resource) of the business licences' state machine: the planted tests' subject."""
    name = synthesized.dataset_names("business_licences").state_machine
    machines = synthesized.resources("Pipeline", "AWS::StepFunctions::StateMachine")
    ((logical_id, machine),) = [
        (k, m) for k, m in machines.items() if m["Properties"]["StateMachineName"] == name
    ]
    return logical_id, machine


def licences_definition(synthesized) -> dict[str, Any]:
    return definitions(synthesized)[licences_machine(synthesized)[0]]


def write_definitions(directory: Path, machines: dict[str, dict[str, Any]]) -> list[Path]:
    paths = []
    for name, definition in machines.items():
        path = directory / f"{name}.asl.json"
        path.write_text(json.dumps(definition, indent=1))
        paths.append(path)
    return paths


def test_every_definition_passes_the_asl_validator(synthesized, tmp_path):
    paths = write_definitions(tmp_path, definitions(synthesized))
    returncode, verdicts = run_asl_validator(paths)
    invalid = {path: verdict for path, verdict in verdicts.items() if verdict != "valid"}
    assert not invalid, f"asl-validator rejects {synthesized.config.stage} definitions: {invalid}"
    assert returncode == 0


def planted(definition: dict[str, Any], change) -> dict[str, Any]:
    broken = copy.deepcopy(definition)
    change(broken["States"])
    return broken


def test_the_asl_validator_rejects_planted_broken_definitions(synthesize, tmp_path):
    synthesized = synthesize("dev")
    real = licences_definition(synthesized)
    _, machine = licences_machine(synthesized)
    cases = {
        "next-to-missing-state": (
            planted(real, lambda s: s["Summarize"].update(Next="Summarise")),
            "MISSING_TRANSITION_TARGET",
        ),
        "unknown-field": (
            planted(real, lambda s: s["Earlier run still busy"].update(Secs=30)),
            "SCHEMA_VALIDATION_FAILED",
        ),
        "tokens-as-placeholders": (  # why the renderer: ${AWS::Partition} is no ARN partition
            state_machine_definition(machine["Properties"]["DefinitionString"]),
            "/Resource is invalid",
        ),
    }
    paths = write_definitions(tmp_path, {name: definition for name, (definition, _) in cases.items()})
    returncode, verdicts = run_asl_validator(paths)
    assert returncode != 0
    for path, (name, (_, expected)) in zip(paths, cases.items(), strict=True):
        assert verdicts[str(path)].startswith("invalid"), f"{name}: {verdicts[str(path)]}"
        assert expected in verdicts[str(path)], f"{name}: {verdicts[str(path)]}"


# --- 2. integrations, their parameters and their results ---------------------------------------


def integration_problems(definition: dict[str, Any]) -> list[str]:
    problems = []
    for name, task in tasks(definition):
        parts = split_resource(task["Resource"])
        if parts is None:
            problems.append(
                f"{name}: Resource {task['Resource']!r} is not a Step Functions service integration"
            )
            continue
        integration, pattern = parts
        if integration not in INTEGRATIONS:
            problems.append(f"{name}: {integration!r} is not in the transcribed integration table")
        elif pattern not in INTEGRATIONS[integration].patterns:
            allowed = sorted(p or "(request response)" for p in INTEGRATIONS[integration].patterns)
            problems.append(
                f"{name}: {integration} does not support the {pattern!r} pattern (docs allow {allowed}, "
                f"{INTEGRATIONS[integration].doc})"
            )
    return problems


def parameter_problems(definition: dict[str, Any]) -> list[str]:
    problems = []
    for name, task in tasks(definition):
        parts = split_resource(task["Resource"])
        if parts is None or parts[0] not in INTEGRATIONS:
            continue
        parameters = task.get("Parameters", task.get("Arguments", {}))
        problems += [f"{name}: {p}" for p in request_problems(INTEGRATIONS[parts[0]], parameters)]
    return problems


def result_selector_problems(definition: dict[str, Any]) -> list[str]:
    problems = []
    for name, task in tasks(definition):
        parts = split_resource(task["Resource"])
        if parts is None or parts[0] not in INTEGRATIONS or "ResultSelector" not in task:
            continue
        shapes = output_shapes(INTEGRATIONS[parts[0]], parts[1])
        for path in result_paths(task["ResultSelector"]):
            if not any(path_exists(shape, path) for shape in shapes):
                members = sorted({pascal(m) for s in shapes for m in getattr(s, "members", {})})
                problems.append(
                    f"{name}: ResultSelector reads {path}, which {parts[0]}{parts[1]} does not return "
                    f"(top-level fields {members}); the execution would fail with States.Runtime"
                )
    return problems


def test_every_task_uses_a_documented_integration_and_pattern(synthesized):
    for machine, definition in definitions(synthesized).items():
        assert not integration_problems(definition), f"{machine}: {integration_problems(definition)}"


def test_every_task_passes_only_request_members_the_api_accepts(synthesized):
    for machine, definition in definitions(synthesized).items():
        assert not parameter_problems(definition), f"{machine}: {parameter_problems(definition)}"


def test_every_result_selector_reads_fields_the_integration_returns(synthesized):
    for machine, definition in definitions(synthesized).items():
        assert not result_selector_problems(definition), f"{machine}: {result_selector_problems(definition)}"


def test_the_integration_table_names_real_operations():
    """Each row's Resource action is the botocore operation it is checked against (camelCase there)."""
    for resource, integration in INTEGRATIONS.items():
        action = resource.rsplit(":", 1)[1]
        assert pascal(action) == integration.operation, resource
        assert integration.doc.startswith("https://docs.aws.amazon.com/step-functions/"), resource
        assert service_error_names(integration), resource
    for integration in (i for i in INTEGRATIONS.values() if ".sync" in i.patterns):
        assert integration.sync_output, f"{integration.operation}: .sync needs its output shape"


@pytest.mark.parametrize(
    "change, check, expected",
    [
        (
            lambda s: s["Check quality"].update(
                Resource="arn:aws:states:::glue:startJobRun.waitForTaskToken"
            ),
            integration_problems,
            "does not support the '.waitForTaskToken' pattern",
        ),
        (
            lambda s: s["List raw input"].update(Resource="arn:aws:states:::aws-sdk:s3:listObjects"),
            integration_problems,
            "'aws-sdk:s3:listObjects' is not in the transcribed integration table",
        ),
        (
            lambda s: s["Summarize"]["Parameters"].update(JobNme="x"),
            parameter_problems,
            "Parameters.JobNme is not a request member",
        ),
        (
            lambda s: s["Notify success"]["Parameters"].pop("Message.$"),
            parameter_problems,
            "misses the required member 'Message'",
        ),
        (
            lambda s: s["Summarize"]["ResultSelector"].update({"run.$": "$.JobRunID"}),
            result_selector_problems,
            "reads $.JobRunID",
        ),
        (
            lambda s: s["List running executions"]["ResultSelector"].update({"n.$": "$.Executions[0].Arn"}),
            result_selector_problems,
            "reads $.Executions[0].Arn",
        ),
    ],
    ids=["pattern", "integration", "unknown-member", "required-member", "result-field", "nested-field"],
)
def test_the_integration_checks_catch_planted_mistakes(synthesize, change, check, expected):
    real = licences_definition(synthesize("dev"))
    assert not check(real)
    problems = check(planted(real, change))
    assert any(expected in p for p in problems), problems


# --- 3. error names in Retry and Catch ---------------------------------------------------------------


def error_name_problems(definition: dict[str, Any]) -> list[str]:
    problems = []
    for name, task in tasks(definition):
        parts = split_resource(task["Resource"])
        integration = INTEGRATIONS.get(parts[0]) if parts else None
        allowed = PREDEFINED_ERRORS | (service_error_names(integration) if integration else frozenset())
        for field in ("Retry", "Catch"):
            for i, handler in enumerate(task.get(field, [])):
                for error in handler["ErrorEquals"]:
                    if error in allowed:
                        continue
                    own = sorted(allowed - PREDEFINED_ERRORS)
                    problems.append(
                        f"{name}: {field}[{i}] names {error!r}, which {parts[0] if parts else 'this task'} "
                        f"cannot raise (its own errors: {own})"
                    )
    return problems


def states_all_problems(definition: dict[str, Any]) -> list[str]:
    """ASL: States.ALL "MUST appear alone in its ErrorEquals array and MUST appear in the last"
    retrier/catcher (https://states-language.net/spec.html#retrying-after-error)."""
    problems = []
    for name, task in tasks(definition):
        for field in ("Retry", "Catch"):
            handlers = task.get(field, [])
            for i, handler in enumerate(handlers):
                if "States.ALL" not in handler["ErrorEquals"]:
                    continue
                if handler["ErrorEquals"] != ["States.ALL"]:
                    problems.append(f"{name}: {field}[{i}] has States.ALL beside other errors")
                if i != len(handlers) - 1:
                    problems.append(f"{name}: {field}[{i}] has States.ALL but is not the last")
    return problems


def test_every_retried_or_caught_error_exists(synthesized):
    for machine, definition in definitions(synthesized).items():
        problems = error_name_problems(definition)
        assert not problems, f"{machine}:\n" + "\n".join(problems)


def test_states_all_is_alone_and_last(synthesized):
    for machine, definition in definitions(synthesized).items():
        assert not states_all_problems(definition), f"{machine}: {states_all_problems(definition)}"


@pytest.mark.parametrize(
    "change, check, expected",
    [
        (
            lambda s: s["Summarize"]["Retry"][0]["ErrorEquals"].append("Glue.CrawlerRunningException"),
            error_name_problems,
            "names 'Glue.CrawlerRunningException', which glue:startJobRun cannot raise",
        ),
        (
            lambda s: s["Read quality report"]["Retry"][0]["ErrorEquals"].append("S3.NoSuchKey"),
            error_name_problems,
            "names 'S3.NoSuchKey'",  # Step Functions spells it S3.NoSuchKeyException
        ),
        (
            lambda s: s["Notify failure"]["Retry"][0]["ErrorEquals"].append("States.Timeot"),
            error_name_problems,
            "names 'States.Timeot'",
        ),
        (
            lambda s: s["Summarize"]["Catch"][0]["ErrorEquals"].append("States.TaskFailed"),
            states_all_problems,
            "Catch[0] has States.ALL beside other errors",
        ),
        (
            lambda s: s["Summarize"]["Catch"].append(
                {"ErrorEquals": ["States.Timeout"], "Next": "Run failed"}
            ),
            states_all_problems,
            "Catch[0] has States.ALL but is not the last",
        ),
    ],
    ids=["other-operation", "no-exception-suffix", "misspelt-predefined", "all-not-alone", "all-not-last"],
)
def test_the_error_checks_catch_planted_mistakes(synthesize, change, check, expected):
    real = licences_definition(synthesize("dev"))
    assert not check(real)
    problems = check(planted(real, change))
    assert any(expected in p for p in problems), problems
