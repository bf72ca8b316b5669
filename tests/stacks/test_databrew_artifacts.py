"""The synthesized ``AWS::DataBrew::Recipe`` and ``AWS::DataBrew::Ruleset`` of every stage, against the
DataBrew reference (``dap.databrew_reference``): what CloudFormation hands DataBrew, not our Python.

cfn-lint (test_security_checks) covers the CloudFormation shape; these check what DataBrew itself parses
at run time: recipe operations and parameters, and the CheckExpression grammar of each rule.
"""

from __future__ import annotations

import copy
import json

import pytest

from dap.databrew_reference import check_recipe, check_ruleset_rules
from stacks.names import PlatformNames


def named(synthesized, resource_type: str, name: str) -> dict:
    found = [
        r["Properties"]
        for r in synthesized.resources("Pipeline", resource_type).values()
        if r["Properties"]["Name"] == name
    ]
    assert len(found) == 1, f"expected one {resource_type} {name}, found {len(found)}"
    return found[0]


def datasets(synthesized):
    """(stage dataset, its names) of every dataset the stage runs."""
    names = PlatformNames.of(synthesized.config)
    return [(entry, names.dataset(entry.id)) for entry in synthesized.config.datasets]


def test_each_deployed_recipe_is_its_committed_file_and_conforms(synthesized):
    assert len(synthesized.resources("Pipeline", "AWS::DataBrew::Recipe")) == len(synthesized.config.datasets)
    for entry, names in datasets(synthesized):
        steps = named(synthesized, "AWS::DataBrew::Recipe", names.databrew_recipe)["Steps"]
        assert steps == json.loads(entry.dataset.recipe_path.read_text(encoding="utf-8")), entry.id
        assert check_recipe(steps) == [], entry.id


def test_each_deployed_ruleset_conforms(synthesized):
    for entry, names in datasets(synthesized):
        rules = named(synthesized, "AWS::DataBrew::Ruleset", names.databrew_ruleset)["Rules"]
        assert check_ruleset_rules(rules) == [], entry.id
        # The profile job validates the RAW dataset: selectors name the dataset's raw CSV columns.
        selected = {s.get("Name") for r in rules for s in r.get("ColumnSelectors", [])}
        header = set(entry.dataset.raw_header)
        assert selected <= header, (entry.id, selected - header)


def licences_recipe(synthesized) -> list:
    names = PlatformNames.of(synthesized.config).dataset("business_licences")
    return named(synthesized, "AWS::DataBrew::Recipe", names.databrew_recipe)["Steps"]


def licences_ruleset(synthesized) -> list:
    names = PlatformNames.of(synthesized.config).dataset("business_licences")
    return named(synthesized, "AWS::DataBrew::Ruleset", names.databrew_ruleset)["Rules"]


def test_a_planted_bad_step_in_the_template_is_caught(synthesize):
    steps = copy.deepcopy(licences_recipe(synthesize("dev")))
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
    rules = copy.deepcopy(licences_ruleset(synthesize("dev")))
    target = next(r for r in rules if r["Name"] == "row_count_positive")
    target[field] = value
    errors = check_ruleset_rules(rules)
    assert errors and all(e.startswith("rule row_count_positive: ") for e in errors), errors
    assert any(expected in e for e in errors), errors
