"""The DataBrew recipe and ruleset against the transcribed AWS reference (``dap.databrew_reference``).

Three kinds of checks: the documentation's own samples pass (the tables are not stricter than AWS);
the committed artifacts pass; a mutated copy of each fails with the step number or rule name.
"""

from __future__ import annotations

import copy
import json

import pytest
from dataset_etl.rules import RuleSet

from dap import databrew_reference as ref
from dap.recipe_runner import DEFAULT_RECIPE, RecipeError, load_recipe, run_recipe_job
from stacks.datasets import project_dataset

LICENCES = project_dataset("business_licences")


def committed_recipe() -> list[dict]:
    return json.loads(DEFAULT_RECIPE.read_text(encoding="utf-8"))


def subs(**values: str) -> list[dict[str, str]]:
    return [{"ValueReference": f":{k}", "Value": v} for k, v in values.items()]


# --- the tables ------------------------------------------------------------------------------------


def test_every_table_row_cites_its_page():
    for spec in ref.RECIPE_ACTIONS.values():
        assert spec.url == f"{ref.DG}/recipe-actions.{spec.operation}.html"
        assert spec.required.isdisjoint(spec.optional)
        assert set(spec.allowed_values) <= spec.parameters
    assert ref.AVAILABLE_CHECKS_URL.startswith("https://docs.aws.amazon.com/databrew/")


def test_the_table_covers_exactly_the_operations_the_recipe_uses():
    used = {step["Action"]["Operation"] for step in committed_recipe()}
    assert used == set(ref.RECIPE_ACTIONS)


# Samples from the per-action pages ("RecipeAction" there is the API's RecipeStep "Action").
DOC_RECIPE_SAMPLES = [
    {"Operation": "RENAME", "Parameters": {"sourceColumn": "date_of_birth", "targetColumn": "birth_date"}},
    {
        "Operation": "CHANGE_DATA_TYPE",
        "Parameters": {"sourceColumn": "columnName", "columnDataType": "boolean"},
    },
    {
        "Operation": "REMOVE_COMBINED",
        "Parameters": {
            **{flag: "false" for flag in ref.REMOVE_COMBINED_FLAGS},
            "removeSpecialCharacters": "true",
            "sourceColumn": "info_url",
        },
    },
    {"Operation": "UPPER_CASE", "Parameters": {"sourceColumn": "nationality"}},
    {"Operation": "DELETE_DUPLICATE_ROWS"},
]


def test_the_documentation_samples_pass():
    assert ref.check_recipe([{"Action": action} for action in DOC_RECIPE_SAMPLES]) == []


# Samples from "Available checks" and API_Rule, in CloudFormation shape (SubstitutionMap as a list).
DOC_RULE_SAMPLES = [
    {"CheckExpression": "AGG(ROWS_COUNT) > :val", "SubstitutionMap": subs(val="10000")},
    {"CheckExpression": "AGG(COLUMNS_COUNT) == :val", "SubstitutionMap": subs(val="20")},
    {"CheckExpression": "AGG(DUPLICATE_ROWS_PERCENTAGE) < :val", "SubstitutionMap": subs(val="5")},
    {
        "CheckExpression": "AGG(MISSING_VALUES_PERCENTAGE) < :val",
        "SubstitutionMap": subs(val="5"),
        "ColumnSelectors": [{"Name": "id"}],
    },
    {
        "CheckExpression": "AGG(DISTINCT_VALUES_PERCENTAGE) >= :val",
        "SubstitutionMap": subs(val="50"),
        "ColumnSelectors": [{"Regex": "amount.*"}],
    },
    {
        "CheckExpression": "AGG(Z_SCORE_OUTLIERS_COUNT, :zscore_dev) < :val",
        "SubstitutionMap": subs(zscore_dev="4", val="100"),
        "ColumnSelectors": [{"Name": "x"}],
    },
    {
        "CheckExpression": "AGG(QUANTILE, :pct) > :val",
        "SubstitutionMap": subs(pct="0.25", val="0"),
        "ColumnSelectors": [{"Name": "x"}],
    },
    {"CheckExpression": ":col IN :list", "SubstitutionMap": subs(col="`size`", list='["S","M","L","XL"]')},
    {"CheckExpression": ":col NOT IN :list", "SubstitutionMap": subs(col="`domain`", list='["GOV","ORG"]')},
    {"CheckExpression": ":col STARTS_WITH :val", "SubstitutionMap": subs(col="`url`", val="http")},
    {"CheckExpression": ":col1 contains :col2", "SubstitutionMap": subs(col1="`url`", col2="`company_name`")},
    {"CheckExpression": ":col1 <= :col2", "SubstitutionMap": subs(col1="`bank_rate`", col2="`fed_rate`")},
    {"CheckExpression": "length(:col1) <= :col2", "SubstitutionMap": subs(col1="`name`", col2="`max_len`")},
    {
        "CheckExpression": "(:col1 starts_with :prefix1 or :col1 starts_with :prefix2) and "
        "(:col1 ends_with :suffix1 or :col1 ends_with :suffix2)",
        "SubstitutionMap": subs(col1="`url`", prefix1="http", prefix2="ftp", suffix1=".ca", suffix2=".com"),
    },
    {
        "CheckExpression": "> :val",
        "SubstitutionMap": subs(val="0"),
        "ColumnSelectors": [{"Name": "a"}, {"Regex": "b.*"}],
        "Threshold": {"Value": 95, "Type": "GREATER_THAN_OR_EQUAL", "Unit": "PERCENTAGE"},
    },
]


@pytest.mark.parametrize("sample", DOC_RULE_SAMPLES, ids=lambda s: s["CheckExpression"])
def test_the_documented_check_samples_pass(sample):
    assert ref.check_ruleset_rules([{"Name": "doc_sample", **sample}]) == []


IS_BETWEEN_SAMPLES = {
    # "Numeric values" sample (explicit), the API_Rule wording (implicit) and "Value string length".
    ":col IS_BETWEEN :val1 and :val2": {"SubstitutionMap": subs(col="`APY`", val1="0", val2="10")},
    "is_between :val1 and :val2": {
        "SubstitutionMap": subs(val1="0", val2="10"),
        "ColumnSelectors": [{"Name": "APY"}],
    },
    "length(:col) IS_BETWEEN :val1 and :val2": {
        "SubstitutionMap": subs(col="`identifier`", val1="8", val2="12")
    },
}


@pytest.mark.parametrize("expression", IS_BETWEEN_SAMPLES)
def test_is_between_parses_but_is_refused_for_its_undocumented_bounds(expression):
    assert [c.operator for c in ref.parse_check_expression(expression)] == ["is_between"]
    rule = {"Name": "r", "CheckExpression": expression, **IS_BETWEEN_SAMPLES[expression]}
    assert ref.check_ruleset_rules([rule]) == [
        f"rule r: is_between: {ref.UNDOCUMENTED_SEMANTICS['is_between']}"
    ]


# --- the committed recipe --------------------------------------------------------------------------


def test_the_committed_recipe_conforms():
    assert ref.check_recipe(committed_recipe()) == []


def _with(steps: list[dict], number: int, change) -> list[dict]:
    bad = copy.deepcopy(steps)
    change(bad[number - 1])
    return bad


RECIPE_MUTATIONS = {
    "unknown operation": (
        7,
        lambda s: s["Action"].update(Operation="RENAME_COLUMN"),
        "step 7 (RENAME_COLUMN)",
    ),
    "operation off the API pattern": (3, lambda s: s["Action"].update(Operation="Rename"), "API pattern"),
    "undocumented parameter": (
        1,
        lambda s: s["Action"]["Parameters"].update(newName="x"),
        "step 1 (RENAME): parameter(s) newName not documented",
    ),
    "missing required parameter": (
        2,
        lambda s: s["Action"]["Parameters"].pop("targetColumn"),
        "step 2 (RENAME): missing required parameter(s) targetColumn",
    ),
    "columnDataType not enumerated": (
        41,
        lambda s: s["Action"]["Parameters"].update(columnDataType="integer"),
        "step 41 (CHANGE_DATA_TYPE): columnDataType 'integer' is not one of",
    ),
    "non-string value": (
        25,
        lambda s: s["Action"]["Parameters"].update(collapseConsecutiveWhitespace=True),
        "step 25 (REMOVE_COMBINED): parameter collapseConsecutiveWhitespace must be a string",
    ),
    "flag not true/false": (
        26,
        lambda s: s["Action"]["Parameters"].update(removeLeadingAndTrailingWhitespace="yes"),
        "step 26 (REMOVE_COMBINED): removeLeadingAndTrailingWhitespace 'yes' is not one of false, true",
    ),
    "the parameter list's mislabelled name": (
        27,
        lambda s: s["Action"]["Parameters"].update(punctuationally="false"),
        "step 27 (REMOVE_COMBINED): parameter(s) punctuationally not documented",
    ),
    "empty value": (
        39,
        lambda s: s["Action"]["Parameters"].update(sourceColumn=""),
        "step 39 (UPPER_CASE): parameter sourceColumn '' is shorter than 1",
    ),
    "parameters on a parameterless action": (
        46,
        lambda s: s["Action"].update(Parameters={"sourceColumn": "licence_rsn"}),
        "step 46 (DELETE_DUPLICATE_ROWS): parameter(s) sourceColumn not documented",
    ),
    "condition expressions": (
        40,
        lambda s: s.update(ConditionExpressions=[{"Condition": "IS_NOT_MISSING", "TargetColumn": "x"}]),
        "step 40 (CHANGE_DATA_TYPE): ConditionExpressions are not in the transcribed reference",
    ),
    "unknown step key": (10, lambda s: s.update(Comment="x"), "step 10 (RENAME): unknown key 'Comment'"),
}


@pytest.mark.parametrize("mutation", RECIPE_MUTATIONS.values(), ids=RECIPE_MUTATIONS.keys())
def test_a_mutated_recipe_fails_naming_the_step(mutation):
    number, change, expected = mutation
    errors = ref.check_recipe(_with(committed_recipe(), number, change))
    assert errors and all(e.startswith(f"step {number} (") for e in errors), errors
    assert any(expected in e for e in errors), errors


def test_a_recipe_over_the_step_limit_fails():
    steps = committed_recipe()
    errors = ref.check_recipe(steps + steps + steps[:9])
    assert errors == [f"recipe has 101 steps; DataBrew allows 100 ({ref.RECIPES_URL})"]


def test_the_local_runner_refuses_a_recipe_file_off_the_reference(tmp_path):
    """Same file drives DataBrew and the local runner: the runner loads only what DataBrew documents."""
    bad = _with(committed_recipe(), 41, lambda s: s["Action"]["Parameters"].update(columnDataType="integer"))
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(RecipeError, match=r"step 41 \(CHANGE_DATA_TYPE\): columnDataType 'integer'"):
        load_recipe(path)
    assert load_recipe() == committed_recipe()
    with pytest.raises(RecipeError, match=r"step 41 \(CHANGE_DATA_TYPE\): columnDataType 'integer'"):
        run_recipe_job(
            None, LICENCES, tmp_path / "never-read.csv", tmp_path / "out", recipe=bad
        )  # checked first


# --- the ruleset -----------------------------------------------------------------------------------


def test_the_rendered_ruleset_conforms():
    assert ref.check_ruleset_rules(RuleSet.of(LICENCES).databrew_rules()) == []


def test_employee_range_is_two_documented_inclusive_comparisons():
    """0 employees is a quarter of the sample: it must pass whatever ``is_between`` does at its bounds."""
    by_name = {r["Name"]: r for r in RuleSet.of(LICENCES).databrew_rules()}
    rule = by_name["employees_in_range"]
    assert rule["CheckExpression"] == ">= :val1 and <= :val2"
    assert rule["SubstitutionMap"] == subs(val1="0", val2="100000")
    assert rule["ColumnSelectors"] == [{"Name": "NumberofEmployees"}]


def _rule(name: str) -> dict:
    return copy.deepcopy({r["Name"]: r for r in RuleSet.of(LICENCES).databrew_rules()}[name])


RULE_MUTATIONS = {
    "unbound reference": (
        "row_count_positive",
        lambda r: r.update(CheckExpression="AGG(ROWS_COUNT) > :min"),
        ":min used in CheckExpression but not in SubstitutionMap",
    ),
    "unknown aggregate": (
        "row_count_positive",
        lambda r: r.update(CheckExpression="AGG(ROW_COUNT) > :val"),
        "AGG(ROW_COUNT) is not a documented check",
    ),
    "aggregate name in lower case": (
        "row_count_positive",
        lambda r: r.update(CheckExpression="AGG(rows_count) > :val"),
        "AGG(rows_count) is not a documented check",
    ),
    "column statistic without a column": (
        "licence_rsn_present",
        lambda r: r.pop("ColumnSelectors"),
        "AGG(MISSING_VALUES_COUNT) is a column statistic: the rule needs ColumnSelectors",
    ),
    "dataset condition with a column": (
        "row_count_positive",
        lambda r: r.update(ColumnSelectors=[{"Name": "Status"}]),
        "AGG(ROWS_COUNT) is a dataset condition: ColumnSelectors do not apply",
    ),
    "threshold on an aggregate": (
        "status_completeness",
        lambda r: r.update(Threshold={"Value": 1.0}),
        "a Threshold is used with a non-aggregate check expression only",
    ),
    "threshold type off the enum": (
        "employees_in_range",
        lambda r: r["Threshold"].update(Type="AT_LEAST"),
        "Threshold Type 'AT_LEAST' is not one of GREATER_THAN_OR_EQUAL",
    ),
    "threshold unit off the enum": (
        "employees_in_range",
        lambda r: r["Threshold"].update(Unit="PERCENT"),
        "Threshold Unit 'PERCENT' is not one of COUNT, PERCENTAGE",
    ),
    "negative threshold": (
        "employees_in_range",
        lambda r: r["Threshold"].update(Value=-1),
        "Threshold Value -1 is below the minimum 0",
    ),
    "threshold as a string": (
        "employees_in_range",
        lambda r: r["Threshold"].update(Value="100"),
        "Threshold Value must be a number",
    ),
    "column reference on the left with selectors": (
        "employees_in_range",
        lambda r: r.update(
            CheckExpression=":col >= :val1",
            SubstitutionMap=subs(col="`NumberofEmployees`", val1="0"),
        ),
        "with ColumnSelectors there is no column reference on the left of a condition",
    ),
    "implicit condition without selectors": (
        "employees_in_range",
        lambda r: r.pop("ColumnSelectors"),
        "a condition without a column on its left needs ColumnSelectors",
    ),
    "non-numeric bound": (
        "employees_in_range",
        lambda r: r.update(SubstitutionMap=subs(val1="zero", val2="100000")),
        ":val1='zero' is compared numerically but is not a number",
    ),
    "character outside the API pattern": (
        "row_count_positive",
        lambda r: r.update(CheckExpression="AGG(ROWS_COUNT) > :val && AGG(ROWS_COUNT) < :val"),
        "does not match the API pattern",
    ),
    "literal number": (
        "row_count_positive",
        lambda r: r.update(CheckExpression="AGG(ROWS_COUNT) > 0", SubstitutionMap=None),
        "literal numbers are not part of the documented syntax",
    ),
    "undocumented condition name": (
        "licence_rsn_present",
        lambda r: r.update(CheckExpression="matches :val", Threshold={"Value": 100.0}),
        "'matches' is not a documented condition name or comparison",
    ),
    "aggregate mixed with a row condition": (
        "status_completeness",
        lambda r: r.update(
            CheckExpression="AGG(MISSING_VALUES_PERCENTAGE) <= :val and > :val",
        ),
        "aggregated conditions cannot be combined with non-aggregated conditions",
    ),
    "selector with Name and Regex": (
        "licence_rsn_present",
        lambda r: r.update(ColumnSelectors=[{"Name": "LicenceRSN", "Regex": "Licence.*"}]),
        "must have exactly one of Name or Regex",
    ),
    "reference bound twice": (
        "row_count_positive",
        lambda r: r["SubstitutionMap"].append({"ValueReference": ":val", "Value": "1"}),
        ":val is bound twice in SubstitutionMap",
    ),
    "reference without its colon": (
        "row_count_positive",
        lambda r: r.update(SubstitutionMap=[{"ValueReference": "val", "Value": "0"}]),
        "ValueReference 'val' does not match the API pattern",
    ),
    "unknown rule key": (
        "row_count_positive",
        lambda r: r.update(Severity="HIGH"),
        "unknown key 'Severity'",
    ),
}


@pytest.mark.parametrize("mutation", RULE_MUTATIONS.values(), ids=RULE_MUTATIONS.keys())
def test_a_mutated_rule_fails_naming_the_rule(mutation):
    name, change, expected = mutation
    rule = _rule(name)
    change(rule)
    if rule.get("SubstitutionMap") is None:
        rule.pop("SubstitutionMap", None)
    errors = ref.check_ruleset_rules([rule])
    assert errors and all(e.startswith(f"rule {name}: ") for e in errors), errors
    assert any(expected in e for e in errors), errors


def test_an_unused_substitution_is_reported():
    rule = _rule("row_count_positive")
    rule["SubstitutionMap"].append({"ValueReference": ":spare", "Value": "1"})
    assert ref.check_ruleset_rules([rule]) == [
        "rule row_count_positive: :spare in SubstitutionMap but not used in CheckExpression"
    ]


def test_an_empty_ruleset_fails():
    assert ref.check_ruleset_rules([]) == [
        "a ruleset has a non-empty list of rules (CreateRuleset: Rules, minimum 1 item)"
    ]
