"""Every ``AWS::Glue::DataQualityRuleset`` we synthesize parses under AWS's published DQDL grammar.

Glue parses the ``Ruleset`` string when the stack deploys; the checker (tests/grammars/dqdl.py, a port
of awslabs/dqdl's grammar and parser checks) refuses what AWS's parser would. The mutation tests show
the same check catching planted mistakes in a copy of the real artifact.
"""

from __future__ import annotations

import pytest

from tests.grammars import dqdl


def _rulesets(synthesized) -> dict[str, str]:
    found = synthesized.resources("Pipeline", "AWS::Glue::DataQualityRuleset")
    assert found, "the Pipeline stack declares no AWS::Glue::DataQualityRuleset"
    rulesets = {}
    for logical_id, resource in found.items():
        text = resource["Properties"]["Ruleset"]
        assert isinstance(text, str), f"{logical_id}: Ruleset is not a plain string: {text!r}"
        rulesets[logical_id] = text
    return rulesets


def _declares_freshness(synthesized, logical_id: str) -> bool:
    """Whether the ruleset's dataset declares a freshness rule (rulesets are named for their dataset)."""
    name = synthesized.resources("Pipeline", "AWS::Glue::DataQualityRuleset")[logical_id]["Properties"][
        "Name"
    ]
    (entry,) = [
        e for e in synthesized.config.datasets if name == synthesized.dataset_names(e.id).quality_ruleset
    ]
    return any(r.kind == "freshness" for r in entry.dataset.dataset_rules)


def test_every_ruleset_parses_under_the_aws_grammar(synthesized):
    rulesets = _rulesets(synthesized)
    assert len(rulesets) == len(synthesized.config.datasets)
    for logical_id, text in rulesets.items():
        try:
            doc = dqdl.check(text)
        except dqdl.DqdlError as exc:
            pytest.fail(
                f"Pipeline/{logical_id} (AWS::Glue::DataQualityRuleset) Ruleset refused: {exc}\n{text}"
            )
        used = dqdl.rule_types_used(doc)
        assert ("DataFreshness" in used) == _declares_freshness(synthesized, logical_id), logical_id


def test_ruleset_freshness_is_the_stage_setting(synthesized):
    days = synthesized.config.quality.freshness_days
    checked = 0
    for logical_id, text in _rulesets(synthesized).items():
        if not _declares_freshness(synthesized, logical_id):
            continue
        [freshness] = [r for r in dqdl.check(text).rules if getattr(r, "rule_type", "") == "DataFreshness"]
        assert freshness.condition.text == f"<= {days} days", logical_id
        checked += 1
    assert checked, "no dataset declares a freshness rule (the business licences do)"


MUTATIONS = {
    "unknown rule type": (
        lambda t: t.replace("DataFreshness", "Freshness"),
        "Rule Type: Freshness is not valid",
    ),
    "unterminated list": (lambda t: t.replace('"Cancelled"]', '"Cancelled"'), "line 4:4 unexpected '('"),
    "missing number": (lambda t: t.replace("RowCount > 0", "RowCount > "), "unexpected ','"),
    "duration without unit": (lambda t: t.replace(" days", ""), "with duration return type"),
    "extra parameter": (
        lambda t: t.replace('IsComplete "issued_date"', 'IsComplete "issued_date" "x"'),
        "IsComplete",
    ),
    "CRLF line ends": (lambda t: t.replace("\n", "\r\n"), "token recognition error at: '\\r'"),
    "lower-case section": (lambda t: t.replace("Rules = [", "rules = ["), "line 2:4 unexpected"),
    "rule after the list": (lambda t: t + "\nRowCount > 1", "text after the end of the document"),
}


@pytest.mark.parametrize("mutation", MUTATIONS, ids=MUTATIONS)
def test_a_mutated_copy_of_the_real_ruleset_is_refused(synthesize, mutation):
    change, message = MUTATIONS[mutation]
    [text] = [t for t in _rulesets(synthesize("dev")).values() if '"Cancelled"' in t]  # the licences
    mutated = change(text)
    assert mutated != text, f"mutation {mutation!r} did not apply"
    with pytest.raises(dqdl.DqdlError) as refused:
        dqdl.check(mutated)
    assert message in str(refused.value)
