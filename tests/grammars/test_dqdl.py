"""The DQDL checker against AWS's own samples: what AWS accepts parses, what AWS rejects is refused.

Samples live in fixtures/dqdl_examples.json with their source (awslabs/dqdl tests at a named commit, or
the DQDL reference page). A checker that accepted everything, or refused everything, fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.grammars import dqdl

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "dqdl_examples.json").read_text(encoding="utf-8"))
KNOWN_TYPES = {rt.name for rt in dqdl.RULE_TYPES}
RULES = FIXTURES["rules"]["items"]
RULESETS = FIXTURES["rulesets"]["items"]
DOCS = FIXTURES["docs"]["items"]
INVALID = FIXTURES["invalid"]


def test_fixture_sources_are_pinned():
    assert FIXTURES["rules"]["source"]["commit"] == dqdl.GRAMMAR_COMMIT
    assert len(RULES) == 189  # every rule of DQRuleTest.provideRawRules at that commit


@pytest.mark.parametrize("rule", RULES, ids=range(len(RULES)))
def test_aws_example_rule_parses(rule):
    doc = dqdl.parse(f"Rules = [ {rule} ]")
    assert len(doc.rules) == 1 and not doc.trailing


def _types(rule: str) -> set[str]:
    return set(dqdl.rule_types_used(dqdl.parse(f"Rules = [ {rule} ]")))


# Examples whose rule types the stored rules-config.json describes are validated, not only parsed.
VALIDATED = [r for r in RULES if _types(r) <= KNOWN_TYPES]


def test_only_the_file_rule_types_are_left_unvalidated():
    unvalidated = set().union(*(_types(r) for r in RULES if r not in VALIDATED)) - KNOWN_TYPES
    assert unvalidated == {"FileFreshness", "FileMatch", "FileSize", "FileUniqueness"}
    assert len(VALIDATED) == 153


@pytest.mark.parametrize("rule", VALIDATED, ids=range(len(VALIDATED)))
def test_aws_example_rule_validates(rule):
    assert dqdl.validate(dqdl.parse(f"Rules = [ {rule} ]")) == []


@pytest.mark.parametrize("item", RULESETS, ids=[i["test"] for i in RULESETS])
def test_aws_example_ruleset_is_accepted(item):
    dqdl.check(item["text"])


@pytest.mark.parametrize("item", DOCS, ids=[f"{i['url'].rsplit('/', 1)[-1]}:{i['rule'][:30]}" for i in DOCS])
def test_documented_rule_is_accepted(item):
    dqdl.check(f"Rules = [ {item['rule']} ]")


@pytest.mark.parametrize("item", INVALID, ids=[i["text"][:40] for i in INVALID])
def test_documented_invalid_form_is_refused_naming_line_and_token(item):
    with pytest.raises(dqdl.DqdlError) as refused:
        dqdl.check(item["text"])
    assert item["error"] in str(refused.value), f"{item['source']}: got {refused.value}"


def test_escaped_quote_stays_inside_the_string():
    """CommonLexerRules ESC: '\\"' does not end a QUOTED_STRING (DQRuleTest escaped-quotes test)."""
    doc = dqdl.check('Rules = [ ColumnValues "col-A" in ["a\\"b", "c"] ]')
    assert doc.rules[0].condition.text == 'in [ "a\\"b" , "c" ]'


def test_a_date_literal_is_not_a_string():
    """DATE wins over QUOTED_STRING on equal length, so a date and a string cannot share one list."""
    with pytest.raises(dqdl.DqdlError, match="line 1:45"):
        dqdl.parse('Rules = [ ColumnValues "x" in ["2022-01-01", "abc"] ]')


def test_ambiguous_condition_takes_the_first_alternative():
    """'= NULL' is a number, string and date condition: ANTLR picks numberBasedCondition (first)."""
    assert dqdl.parse('Rules = [ ColumnValues "a" = NULL ]').rules[0].condition.kind == "number"
    assert dqdl.parse('Rules = [ ColumnValues "a" = EMPTY ]').rules[0].condition.kind == "string"
    assert dqdl.parse('Rules = [ DataFreshness "a" <= 3 days ]').rules[0].condition.kind == "duration"


def test_and_binds_tighter_than_or():
    doc = dqdl.parse("Rules = [ RowCount > 0 or RowCount > 1 and RowCount > 2 ]")
    tree = doc.rules[0]
    assert isinstance(tree, dqdl.Composite) and tree.operator == "OR"
    assert isinstance(tree.right, dqdl.Composite) and tree.right.operator == "AND"


def test_text_after_the_document_is_ignored_by_aws_but_refused_by_check():
    text = 'Rules = [ RowCount > 0 ] ColumnValues "x" > 1'
    assert [t.text for t in dqdl.parse(text).trailing] == ["ColumnValues", '"x"', ">", "1"]
    with pytest.raises(dqdl.DqdlError, match="line 1:25 text after the end of the document"):
        dqdl.check(text)
    dqdl.check(text, allow_trailing=True)


def test_comment_and_newlines_keep_line_numbers():
    text = '# our ruleset\nRules = [\n    RowCount > 0,\n    Freshness "d" <= 1 days\n]'
    with pytest.raises(dqdl.DqdlError, match=r"line 4:4 Rule Type: Freshness"):
        dqdl.check(text)


def test_where_clause_on_a_type_without_a_documented_where_is_refused():
    with pytest.raises(
        dqdl.DqdlError, match="Where clause is not documented as supported for rule type: CustomSql"
    ):
        dqdl.check('Rules = [ CustomSql "select count(*) from primary" = 0 where "a > 1" ]')


def test_threshold_only_where_the_rule_type_supports_it():
    dqdl.check('Rules = [ ColumnValues "a" > 1 with threshold > 0.5 ]')
    with pytest.raises(dqdl.DqdlError, match="Threshold condition not supported for rule type: Completeness"):
        dqdl.check('Rules = [ Completeness "a" > 0.5 with threshold > 0.5 ]')
