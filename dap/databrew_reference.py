"""DataBrew recipe steps and ruleset rules, checked offline against what AWS publishes.

DataBrew parses a recipe's ``Steps`` and a ruleset's ``CheckExpression`` only at deploy or run time, and
no offline validator for either exists. So this module holds two tables transcribed from the AWS Glue
DataBrew Developer Guide (each row names its page) and checks artifacts against them:

* :data:`RECIPE_ACTIONS`: every recipe operation the committed recipe uses, with its documented
  parameters and enumerated values (from the per-action pages of the recipe step reference).
* :data:`AGGREGATES` and the condition names: the "Available checks" page, the grammar of a rule's
  ``CheckExpression``.

The shape limits (name patterns, lengths, enums of ``Threshold``) are not transcribed: they are read from
the DataBrew service model that botocore ships (AWS's own API definition, ``databrew/2017-07-25``).

Policy where the guide is silent: refuse, do not guess. An operation, parameter, condition or aggregate
that is not in a table fails the check; transcribe its page first. A documented construct whose result
at the edge the guide leaves open (``is_between`` bounds) is refused too, with the alternative named.

``check_recipe(steps)`` and ``check_ruleset_rules(rules)`` return one line per problem, naming the step
number (1-based, as the DataBrew console counts) or the rule name; an empty list means the artifact
conforms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

DG = "https://docs.aws.amazon.com/databrew/latest/dg"
RECIPE_REFERENCE_URL = f"{DG}/recipe-actions-reference.html"
RECIPES_URL = f"{DG}/recipes.html"
AVAILABLE_CHECKS_URL = f"{DG}/profile.data-quality-available-checks.html"
RULE_API_URL = f"{DG}/API_Rule.html"
THRESHOLD_API_URL = f"{DG}/API_Threshold.html"

# "You can include up to 100 data transformations in a single DataBrew recipe." (RECIPES_URL)
MAX_RECIPE_STEPS = 100


# ---------------------------------------------------------------------------------------------------
# Recipe actions (one row per operation the recipe uses).
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    """One documented recipe action: its page, parameters and enumerated values.

    The pages mark no parameter optional; ``required`` holds those present in every example on the page
    and ``optional`` the ones the page lists but its examples leave out.
    """

    operation: str
    url: str
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    allowed_values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    note: str = ""

    @property
    def parameters(self) -> frozenset[str]:
        return self.required | self.optional


_TRUE_FALSE = frozenset({"true", "false"})
REMOVE_COMBINED_FLAGS = (
    "collapseConsecutiveWhitespace",
    "removeAllPunctuation",
    "removeAllQuotes",
    "removeAllWhitespace",
    "removeCustomCharacters",
    "removeCustomValue",
    "removeLeadingAndTrailingPunctuation",
    "removeLeadingAndTrailingQuotes",
    "removeLeadingAndTrailingWhitespace",
    "removeLetters",
    "removeNumbers",
    "removeSpecialCharacters",
)

RECIPE_ACTIONS: dict[str, ActionSpec] = {
    spec.operation: spec
    for spec in (
        ActionSpec(
            "RENAME",
            f"{DG}/recipe-actions.RENAME.html",
            required=frozenset({"sourceColumn", "targetColumn"}),
        ),
        ActionSpec(
            "CHANGE_DATA_TYPE",
            f"{DG}/recipe-actions.CHANGE_DATA_TYPE.html",
            required=frozenset({"sourceColumn", "columnDataType"}),
            # "columnDataType - New type of the column. The following data types are supported: ..."
            allowed_values={
                "columnDataType": frozenset(
                    {
                        "byte",
                        "short",
                        "int",
                        "long",
                        "float",
                        "double",
                        "decimal",
                        "string",
                        "boolean",
                        "timestamp",
                        "date",
                    }
                )
            },
        ),
        ActionSpec(
            "REMOVE_COMBINED",
            f"{DG}/recipe-actions.REMOVE_COMBINED.html",
            # The example sets all twelve flags to "true"/"false" next to sourceColumn.
            required=frozenset({"sourceColumn", *REMOVE_COMBINED_FLAGS}),
            optional=frozenset({"customCharacters", "customValue"}),
            allowed_values={flag: _TRUE_FALSE for flag in REMOVE_COMBINED_FLAGS},
            note=(
                "The page's parameter list labels two flags 'punctuationally' and "
                "'antidisestablishmentarianism' (same descriptions); its example, like the CloudFormation "
                "RecipeParameters, names them removeLeadingAndTrailingPunctuation and "
                "removeLeadingAndTrailingQuotes. Only the example's names are accepted."
            ),
        ),
        ActionSpec(
            "UPPER_CASE",
            f"{DG}/recipe-actions.UPPER_CASE.html",
            required=frozenset({"sourceColumn"}),
        ),
        ActionSpec(
            "DELETE_DUPLICATE_ROWS",
            f"{DG}/recipe-actions.DELETE_DUPLICATE_ROWS.html",
            # The page lists no parameters; its example is {"Operation": "DELETE_DUPLICATE_ROWS"}.
        ),
    )
}


# ---------------------------------------------------------------------------------------------------
# Ruleset checks ("Available checks", AVAILABLE_CHECKS_URL).
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AggregateSpec:
    """``AGG(NAME[, :param])``: where the check applies and how many extra parameters it takes."""

    name: str
    scope: str  # "dataset" (no column) or "column" (the rule's ColumnSelectors name the columns)
    params: tuple[int, ...] = (0,)
    param_values: frozenset[str] | None = None


AGGREGATES: dict[str, AggregateSpec] = {
    spec.name: spec
    for spec in (
        # Aggregate dataset conditions
        AggregateSpec("ROWS_COUNT", "dataset"),
        AggregateSpec("COLUMNS_COUNT", "dataset"),
        AggregateSpec("DUPLICATE_ROWS_COUNT", "dataset"),
        AggregateSpec("DUPLICATE_ROWS_PERCENTAGE", "dataset"),
        # Aggregate column statistics conditions
        AggregateSpec("MISSING_VALUES_COUNT", "column"),
        AggregateSpec("MISSING_VALUES_PERCENTAGE", "column"),
        AggregateSpec("DUPLICATE_VALUES_COUNT", "column"),
        AggregateSpec("DUPLICATE_VALUES_PERCENTAGE", "column"),
        AggregateSpec("VALID_VALUES_COUNT", "column"),
        AggregateSpec("VALID_VALUES_PERCENTAGE", "column"),
        AggregateSpec("DISTINCT_VALUES_COUNT", "column"),
        AggregateSpec("DISTINCT_VALUES_PERCENTAGE", "column"),
        AggregateSpec("UNIQUE_VALUES_COUNT", "column"),
        AggregateSpec("UNIQUE_VALUES_PERCENTAGE", "column"),
        # Outliers: additional parameter "Z-score threshold" (AGG(Z_SCORE_OUTLIERS_COUNT, :zscore_dev)).
        AggregateSpec("Z_SCORE_OUTLIERS_COUNT", "column", params=(0, 1)),
        AggregateSpec("Z_SCORE_OUTLIERS_PERCENTAGE", "column", params=(0, 1)),
        # Value distribution statistics
        AggregateSpec("MIN", "column"),
        AggregateSpec("MAX", "column"),
        AggregateSpec("MEDIAN", "column"),
        AggregateSpec("MEAN", "column"),
        AggregateSpec("MODE", "column"),
        AggregateSpec("STANDARD_DEVIATION", "column"),
        AggregateSpec("ENTROPY", "column"),
        # Numerical statistics
        AggregateSpec("SUM", "column"),
        AggregateSpec("KURTOSIS", "column"),
        AggregateSpec("SKEWNESS", "column"),
        AggregateSpec("VARIANCE", "column"),
        AggregateSpec("MEDIAN_ABSOLUTE_DEVIATION", "column"),
        # "Quantile: one of '0.25', '0.5', '0.75'"
        AggregateSpec("QUANTILE", "column", params=(1,), param_values=frozenset({"0.25", "0.5", "0.75"})),
    )
}

# "Numeric comparisons": ==, !=, <, <=, >, >= and "is_between :val1 and :val2".
NUMERIC_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
# String comparisons that the page (and the API_Rule example) spell as condition names. The page names
# the others ("Doesn't start with", "Matches", ...) only in English, so they are not accepted here.
STRING_CONDITIONS = frozenset({"starts_with", "ends_with", "contains"})
# "Value is exactly" / "Value is not exactly": ":col IN :list" / ":col NOT IN :list".
LIST_CONDITIONS = frozenset({"in", "not in"})
# Documented syntax whose result the guide leaves open where our data sits: refused, with the way out.
UNDOCUMENTED_SEMANTICS = {
    "is_between": (
        "the Available checks page does not say whether is_between includes its bounds "
        "(a value equal to a bound may fail); write '>= :lo and <= :hi' instead"
    ),
}


# ---------------------------------------------------------------------------------------------------
# Shape limits from AWS's service model (botocore ships it).
# ---------------------------------------------------------------------------------------------------


@cache
def _shapes() -> dict[str, dict[str, Any]]:
    from botocore.loaders import create_loader

    return create_loader().load_service_model("databrew", "service-2")["shapes"]


def _string_problems(shape_name: str, value: Any, what: str) -> list[str]:
    """Problems of ``value`` against a string shape of the DataBrew model (type, length, pattern, enum)."""
    shape = _shapes()[shape_name]
    if not isinstance(value, str):
        return [f"{what} must be a string, got {type(value).__name__} {value!r}"]
    problems = []
    if len(value) < shape.get("min", 0):
        problems.append(f"{what} {value!r} is shorter than {shape['min']} character(s)")
    if "max" in shape and len(value) > shape["max"]:
        problems.append(f"{what} is longer than {shape['max']} characters")
    if "pattern" in shape and not re.search(shape["pattern"], value):
        problems.append(f"{what} {value!r} does not match the API pattern {shape['pattern']}")
    if "enum" in shape and value not in shape["enum"]:
        problems.append(f"{what} {value!r} is not one of {', '.join(shape['enum'])}")
    return problems


# ---------------------------------------------------------------------------------------------------
# check_recipe
# ---------------------------------------------------------------------------------------------------


def check_recipe(steps: Any) -> list[str]:
    """Problems of recipe ``steps`` (``AWS::DataBrew::Recipe`` ``Steps``) against :data:`RECIPE_ACTIONS`."""
    if not isinstance(steps, list) or not steps:
        return ["a recipe is a non-empty list of steps"]
    errors = []
    if len(steps) > MAX_RECIPE_STEPS:
        errors.append(f"recipe has {len(steps)} steps; DataBrew allows {MAX_RECIPE_STEPS} ({RECIPES_URL})")
    for number, step in enumerate(steps, start=1):
        errors.extend(_step_problems(number, step))
    return errors


def _step_problems(number: int, step: Any) -> list[str]:
    action = step.get("Action") if isinstance(step, dict) else None
    operation = action.get("Operation") if isinstance(action, dict) else None
    prefix = f"step {number} ({operation})" if isinstance(operation, str) else f"step {number}"
    if not isinstance(action, dict):
        return [f"{prefix}: a step is {{'Action': {{'Operation': ..., 'Parameters': {{...}}}}}}"]
    problems = [
        f"unknown key {k!r} in the step" for k in sorted(set(step) - {"Action", "ConditionExpressions"})
    ]
    problems += [f"unknown key {k!r} in Action" for k in sorted(set(action) - {"Operation", "Parameters"})]
    if step.get("ConditionExpressions") is not None:
        problems.append(
            "ConditionExpressions are not in the transcribed reference (the recipe uses none); "
            f"transcribe the conditions of {RECIPES_URL}#recipes.structure before using them"
        )
    problems += _string_problems("Operation", operation, "Operation")
    params = action.get("Parameters", {})
    if not isinstance(params, dict):
        return [f"{prefix}: {p}" for p in [*problems, "Parameters must be a map of names to strings"]]
    for name, value in params.items():
        problems += _string_problems("ParameterName", name, "parameter name")
        problems += _string_problems("ParameterValue", value, f"parameter {name}")
    spec = RECIPE_ACTIONS.get(operation) if isinstance(operation, str) else None
    if spec is None:
        if isinstance(operation, str):
            problems.append(
                f"operation {operation!r} is not in the transcribed reference table "
                f"(known: {', '.join(sorted(RECIPE_ACTIONS))}); add its row from {RECIPE_REFERENCE_URL}"
            )
        return [f"{prefix}: {p}" for p in problems]
    unknown = sorted(set(params) - spec.parameters)
    if unknown:
        problems.append(
            f"parameter(s) {', '.join(unknown)} not documented for {spec.operation} "
            f"(documented: {', '.join(sorted(spec.parameters)) or 'none'}; {spec.url})"
        )
    missing = sorted(spec.required - set(params))
    if missing:
        problems.append(f"missing required parameter(s) {', '.join(missing)} ({spec.url})")
    for name, allowed in spec.allowed_values.items():
        value = params.get(name)
        if isinstance(value, str) and value not in allowed:
            problems.append(f"{name} {value!r} is not one of {', '.join(sorted(allowed))} ({spec.url})")
    return [f"{prefix}: {p}" for p in problems]


# ---------------------------------------------------------------------------------------------------
# CheckExpression grammar
# ---------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(==|!=|<=|>=|<|>|\(|\)|,)|(:[A-Za-z0-9_]+)|([A-Za-z_][A-Za-z0-9_]*)|(\S))")


@dataclass
class Condition:
    """One condition of a CheckExpression: ``[left] operator right...`` (references, not values)."""

    aggregate: str | None = None  # AGG name, or None for a row-level (non-aggregate) condition
    aggregate_args: list[str] = field(default_factory=list)
    left: str | None = None  # the column reference on the left, if explicit
    operator: str = ""
    right: list[str] = field(default_factory=list)


class ExpressionError(ValueError):
    """A CheckExpression that the documented grammar does not derive."""


class _Parser:
    """Recursive descent over the documented forms.

    expr := term ('or' term)* ; term := factor ('and' factor)* ; factor := '(' expr ')' | condition
    condition := [left] predicate ; left := AGG '(' NAME [',' :ref] ')' | length '(' :ref ')' | :ref
    predicate := CMP :ref | is_between :ref and :ref | in :ref | not in :ref | STRING_COND :ref
    Condition names are matched case-insensitively: the page writes both IS_BETWEEN and is_between.
    """

    def __init__(self, text: str) -> None:
        if re.search(r"(?<![:A-Za-z0-9_])[0-9]", text):
            raise ExpressionError("literal numbers are not part of the documented syntax: use :references")
        self.tokens: list[tuple[str, str]] = []
        for match in _TOKEN.finditer(text):
            symbol, ref, word, other = match.groups()
            if other is not None:
                raise ExpressionError(f"unexpected character {other!r}")
            kind = "sym" if symbol else "ref" if ref else "word"
            self.tokens.append((kind, symbol or ref or word))
        self.pos = 0
        self.conditions: list[Condition] = []

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError("unexpected end of expression")
        self.pos += 1
        return token

    def word_is(self, *words: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token[0] == "word" and token[1].lower() in words

    def expect_sym(self, symbol: str) -> None:
        kind, value = self.take()
        if (kind, value) != ("sym", symbol):
            raise ExpressionError(f"expected {symbol!r}, got {value!r}")

    def expect_ref(self) -> str:
        kind, value = self.take()
        if kind != "ref":
            raise ExpressionError(f"expected a :reference, got {value!r}")
        return value

    def parse(self) -> list[Condition]:
        if not self.tokens:
            raise ExpressionError("empty expression")
        self.expr()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r}")
        return self.conditions

    def expr(self) -> None:
        self.term()
        while self.word_is("or"):
            self.take()
            self.term()

    def term(self) -> None:
        self.factor()
        while self.word_is("and"):
            self.take()
            self.factor()

    def factor(self) -> None:
        if self.peek() == ("sym", "("):
            self.take()
            self.expr()
            self.expect_sym(")")
        else:
            self.condition()

    def condition(self) -> None:
        cond = Condition()
        token = self.peek()
        if token is None:
            raise ExpressionError("expected a condition")
        if token[0] == "word" and token[1] == "AGG":
            self.take()
            self.expect_sym("(")
            kind, name = self.take()
            if kind != "word":
                raise ExpressionError(f"expected an aggregate name after AGG(, got {name!r}")
            cond.aggregate = name
            while self.peek() == ("sym", ","):
                self.take()
                cond.aggregate_args.append(self.expect_ref())
            self.expect_sym(")")
        elif self.word_is("length") and self.peek(1) == ("sym", "("):
            self.take()
            self.take()
            cond.left = self.expect_ref()
            self.expect_sym(")")
        elif token[0] == "ref":
            cond.left = self.take()[1]
        self.predicate(cond)
        self.conditions.append(cond)

    def predicate(self, cond: Condition) -> None:
        kind, value = self.take()
        if kind == "sym" and value in NUMERIC_COMPARISONS:
            cond.operator, cond.right = value, [self.expect_ref()]
        elif kind == "word" and value.lower() == "is_between":
            low = self.expect_ref()
            if not self.word_is("and"):
                raise ExpressionError("is_between takes ':low and :high'")
            self.take()
            cond.operator, cond.right = "is_between", [low, self.expect_ref()]
        elif kind == "word" and value.lower() == "not" and self.word_is("in"):
            self.take()
            cond.operator, cond.right = "not in", [self.expect_ref()]
        elif kind == "word" and value.lower() in {"in", *STRING_CONDITIONS}:
            cond.operator, cond.right = value.lower(), [self.expect_ref()]
        else:
            raise ExpressionError(f"{value!r} is not a documented condition name or comparison")


def parse_check_expression(text: str) -> list[Condition]:
    """The conditions of a CheckExpression; raises :class:`ExpressionError` off the documented grammar."""
    return _Parser(text).parse()


# ---------------------------------------------------------------------------------------------------
# check_ruleset_rules
# ---------------------------------------------------------------------------------------------------

_RULE_KEYS = {"Name", "CheckExpression", "SubstitutionMap", "ColumnSelectors", "Threshold", "Disabled"}


def _is_column(value: str) -> bool:
    # "column names should be enclosed in backticks, for example, ":col1": "`Column A`"" (API_Rule)
    return len(value) > 2 and value.startswith("`") and value.endswith("`")


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return value.strip() == value and value.lower() not in {"nan", "inf", "-inf", "infinity", "+inf"}


def check_ruleset_rules(rules: Any) -> list[str]:
    """Problems of ruleset ``rules`` (``AWS::DataBrew::Ruleset`` ``Rules``, CloudFormation shape)."""
    if not isinstance(rules, list) or not rules:
        return ["a ruleset has a non-empty list of rules (CreateRuleset: Rules, minimum 1 item)"]
    errors = []
    for index, rule in enumerate(rules, start=1):
        name = rule.get("Name") if isinstance(rule, dict) else None
        label = f"rule {name}" if isinstance(name, str) and name else f"rule #{index}"
        errors.extend(f"{label}: {p}" for p in _rule_problems(rule))
    return errors


def _rule_problems(rule: Any) -> list[str]:
    if not isinstance(rule, dict):
        return ["a rule is a map with Name and CheckExpression"]
    problems = [f"unknown key {k!r} ({RULE_API_URL})" for k in sorted(set(rule) - _RULE_KEYS)]
    problems += _string_problems("RuleName", rule.get("Name"), "Name")
    if "Disabled" in rule and not isinstance(rule["Disabled"], bool):
        problems.append("Disabled must be a boolean")
    expression = rule.get("CheckExpression")
    shape_problems = _string_problems("Expression", expression, "CheckExpression")
    problems += shape_problems

    substitutions, sub_problems = _substitution_map(rule.get("SubstitutionMap"))
    problems += sub_problems
    selectors = rule.get("ColumnSelectors")
    problems += _selector_problems(selectors)
    has_selectors = bool(selectors)

    conditions: list[Condition] = []
    if not shape_problems:
        try:
            conditions = parse_check_expression(expression)
        except ExpressionError as exc:
            problems.append(f"CheckExpression {expression!r}: {exc} ({AVAILABLE_CHECKS_URL})")
    if conditions:
        problems += _condition_problems(conditions, substitutions, has_selectors)
        used = {
            ref for c in conditions for ref in (*c.aggregate_args, *c.right, *([c.left] if c.left else []))
        }
        unbound = sorted(used - set(substitutions))
        unused = sorted(set(substitutions) - used)
        if unbound:
            problems.append(f"{', '.join(unbound)} used in CheckExpression but not in SubstitutionMap")
        if unused:
            problems.append(f"{', '.join(unused)} in SubstitutionMap but not used in CheckExpression")
        aggregate = any(c.aggregate for c in conditions)
        if aggregate and not all(c.aggregate for c in conditions):
            problems.append(
                "aggregated conditions cannot be combined with non-aggregated conditions in the same rule "
                f"({AVAILABLE_CHECKS_URL})"
            )
        if aggregate and rule.get("Threshold") is not None:
            problems.append(
                f"a Threshold is used with a non-aggregate check expression only ({THRESHOLD_API_URL})"
            )
    problems += _threshold_problems(rule.get("Threshold"))
    return problems


def _substitution_map(entries: Any) -> tuple[dict[str, str], list[str]]:
    if entries is None:
        return {}, []
    if not isinstance(entries, list):
        return {}, ["SubstitutionMap is a list of {ValueReference, Value} (CloudFormation SubstitutionValue)"]
    values: dict[str, str] = {}
    problems = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"ValueReference", "Value"}:
            problems.append(f"SubstitutionMap entry {entry!r} must have exactly ValueReference and Value")
            continue
        reference, value = entry["ValueReference"], entry["Value"]
        problems += _string_problems("ValueReference", reference, "ValueReference")
        problems += _string_problems("ConditionValue", value, f"value of {reference}")
        if reference in values:
            problems.append(f"{reference} is bound twice in SubstitutionMap")
        if isinstance(reference, str) and isinstance(value, str):
            values[reference] = value
    return values, problems


def _selector_problems(selectors: Any) -> list[str]:
    if selectors is None:
        return []
    if not isinstance(selectors, list) or not selectors:
        return ["ColumnSelectors, when present, is a non-empty list"]
    problems = []
    for selector in selectors:
        keys = set(selector) if isinstance(selector, dict) else set()
        # "One selector includes either a column name or a regular expression." (API_ColumnSelector)
        if len(keys & {"Name", "Regex"}) != 1 or keys - {"Name", "Regex"}:
            problems.append(f"column selector {selector!r} must have exactly one of Name or Regex")
            continue
        for key in keys:
            problems += _string_problems("ColumnName", selector[key], f"ColumnSelectors {key}")
    return problems


def _condition_problems(conditions: list[Condition], subs: dict[str, str], has_selectors: bool) -> list[str]:
    problems = []
    for cond in conditions:
        if cond.aggregate is not None:
            spec = AGGREGATES.get(cond.aggregate)
            if spec is None:
                problems.append(f"AGG({cond.aggregate}) is not a documented check ({AVAILABLE_CHECKS_URL})")
                continue
            if len(cond.aggregate_args) not in spec.params:
                problems.append(f"AGG({spec.name}) takes {' or '.join(map(str, spec.params))} parameter(s)")
            if spec.param_values is not None:
                for ref in cond.aggregate_args:
                    if ref in subs and subs[ref] not in spec.param_values:
                        allowed = ", ".join(sorted(spec.param_values))
                        problems.append(
                            f"AGG({spec.name}) parameter {ref}={subs[ref]!r} is not one of {allowed}"
                        )
            if spec.scope == "column" and not has_selectors:
                problems.append(f"AGG({spec.name}) is a column statistic: the rule needs ColumnSelectors")
            if spec.scope == "dataset" and has_selectors:
                problems.append(f"AGG({spec.name}) is a dataset condition: ColumnSelectors do not apply")
            if cond.operator not in NUMERIC_COMPARISONS and cond.operator != "is_between":
                problems.append(f"AGG({spec.name}) is compared numerically, not with {cond.operator!r}")
        else:
            if cond.left is not None and has_selectors:
                problems.append(
                    "with ColumnSelectors there is no column reference on the left of a condition "
                    f"(implicit syntax, e.g. 'is_between :val1 and :val2'; {RULE_API_URL})"
                )
            if cond.left is None and not has_selectors:
                problems.append(
                    f"a condition without a column on its left needs ColumnSelectors ({AVAILABLE_CHECKS_URL})"
                )
            if cond.left is not None and cond.left in subs and not _is_column(subs[cond.left]):
                problems.append(f"{cond.left} is on the left of a condition: its value must be a `column`")
        problems += _operand_problems(cond, subs)
    return problems


def _operand_problems(cond: Condition, subs: dict[str, str]) -> list[str]:
    problems = []
    if cond.operator in UNDOCUMENTED_SEMANTICS:
        problems.append(f"{cond.operator}: {UNDOCUMENTED_SEMANTICS[cond.operator]}")
    numeric = cond.operator in NUMERIC_COMPARISONS or cond.operator == "is_between"
    for ref in cond.right:
        value = subs.get(ref)
        if value is None or _is_column(value):
            continue
        if numeric and not _is_number(value):
            problems.append(f"{ref}={value!r} is compared numerically but is not a number")
        if cond.operator in LIST_CONDITIONS:
            try:
                listed = json.loads(value)
            except ValueError:
                listed = None
            if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
                problems.append(f'{ref}={value!r} must be a JSON list of strings, e.g. ["S","M"]')
    return problems


def _threshold_problems(threshold: Any) -> list[str]:
    if threshold is None:
        return []
    if not isinstance(threshold, dict):
        return ["Threshold is a map with Value and optional Type and Unit"]
    problems = [f"unknown Threshold key {k!r}" for k in sorted(set(threshold) - {"Value", "Type", "Unit"})]
    value = threshold.get("Value")
    minimum = _shapes()["ThresholdValue"].get("min", 0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"Threshold Value must be a number, got {value!r}")
    elif value < minimum:
        problems.append(f"Threshold Value {value} is below the minimum {minimum}")
    if "Type" in threshold:
        problems += _string_problems("ThresholdType", threshold["Type"], "Threshold Type")
    if "Unit" in threshold:
        problems += _string_problems("ThresholdUnit", threshold["Unit"], "Threshold Unit")
    return problems
