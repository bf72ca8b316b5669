"""The synthesized ``AWS::DataBrew::Recipe`` and ``AWS::DataBrew::Ruleset`` of every stage, against the
DataBrew reference (``dap.databrew_reference``): what CloudFormation hands DataBrew, not our Python.

cfn-lint (test_security_checks) covers the CloudFormation shape; these check what DataBrew itself parses
at run time: recipe operations and parameters, and the CheckExpression grammar of each rule.
"""

from __future__ import annotations

import copy
import json

import pytest
from licence_etl import schema

from dap.databrew_reference import check_recipe, check_ruleset_rules
from dap.recipe_runner import DEFAULT_RECIPE


def only(synthesized, resource_type: str) -> dict:
    resources = synthesized.resources("Pipeline", resource_type)
    assert len(resources) == 1, f"expected one {resource_type}, found {sorted(resources)}"
    return next(iter(resources.values()))["Properties"]


def test_the_deployed_recipe_is_the_committed_file_and_conforms(synthesized):
    steps = only(synthesized, "AWS::DataBrew::Recipe")["Steps"]
    assert steps == json.loads(DEFAULT_RECIPE.read_text(encoding="utf-8"))
    assert check_recipe(steps) == []


def test_the_deployed_ruleset_conforms(synthesized):
    rules = only(synthesized, "AWS::DataBrew::Ruleset")["Rules"]
    assert check_ruleset_rules(rules) == []
    # The profile job validates the RAW dataset: selectors name raw CSV columns.
    selected = {s.get("Name") for r in rules for s in r.get("ColumnSelectors", [])}
    assert selected <= set(schema.RAW_HEADER), selected - set(schema.RAW_HEADER)


def test_a_planted_bad_step_in_the_template_is_caught(synthesize):
    steps = copy.deepcopy(only(synthesize("dev"), "AWS::DataBrew::Recipe")["Steps"])
    steps[39]["Action"]["Parameters"]["columnDataType"] = "integer"
    steps[45]["Action"]["Operation"] = "DELETE_DUPLICATES"
    errors = check_recipe(steps)
    assert [e.split(":")[0] for e in errors] == ["step 40 (CHANGE_DATA_TYPE)", "step 46 (DELETE_DUPLICATES)"]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("CheckExpression", "AGG(ROWS_COUNT) > :minimum", ":minimum used in CheckExpression"),
        ("CheckExpression", "AGG(ROWS) > :val", "AGG(ROWS) is not a documented check"),
        ("Threshold", {"Value": 100.0, "Type": "GREATER_THAN_OR_EQUAL", "Unit": "PERCENTAGE"}, "Threshold"),
    ],
)
def test_a_planted_bad_rule_in_the_template_is_caught(synthesize, field, value, expected):
    rules = copy.deepcopy(only(synthesize("dev"), "AWS::DataBrew::Ruleset")["Rules"])
    target = next(r for r in rules if r["Name"] == "row_count_positive")
    target[field] = value
    errors = check_ruleset_rules(rules)
    assert errors and all(e.startswith("rule row_count_positive: ") for e in errors), errors
    assert any(expected in e for e in errors), errors
