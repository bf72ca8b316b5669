"""Each rule on hand-made cleaned rows (at, inside, outside each bound; nulls), and the renderings."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from licence_etl import quality, rules, schema

from stacks.config import cdk_json_context
from tests.grammars import dqdl

from .conftest import frame, licence, ts

RUN = datetime(2025, 10, 5, 12, 0, tzinfo=UTC)
DEC31 = date(2024, 12, 31)

# (case id, overrides, expected failed_rules in rule order)
CASES = [
    ("valid", {}, []),
    ("rsn_null", {"licence_rsn": None}, ["licence_rsn_present"]),
    ("rsn_empty", {"licence_rsn": ""}, ["licence_rsn_present"]),
    ("rsn_blank", {"licence_rsn": "   "}, ["licence_rsn_present"]),
    ("status_null", {"status": None}, ["status_allowed"]),
    ("status_unknown", {"status": "Suspended"}, ["status_allowed"]),
    ("status_lower_case", {"status": "issued"}, ["status_allowed"]),
    ("status_pending", {"status": "Pending", "issued_date": None}, []),
    ("status_inactive", {"status": "Inactive"}, []),
    ("status_gone", {"status": "Gone Out of Business"}, []),
    ("status_cancelled", {"status": "Cancelled", "issued_date": None}, []),
    ("emp_null", {"number_of_employees": None}, ["employees_in_range"]),
    ("emp_below", {"number_of_employees": -1}, ["employees_in_range"]),
    ("emp_at_min", {"number_of_employees": 0}, []),
    ("emp_inside", {"number_of_employees": 2311}, []),
    ("emp_at_max", {"number_of_employees": 100000}, []),
    ("emp_above", {"number_of_employees": 100001}, ["employees_in_range"]),
    ("fee_blank", {"fee_paid": None}, []),
    ("fee_zero", {"fee_paid": 0.0}, []),
    ("fee_negative", {"fee_paid": -0.01}, ["fee_paid_non_negative"]),
    ("fee_nan", {"fee_paid": math.nan}, ["fee_paid_non_negative"]),
    ("fee_large", {"fee_paid": 1_000_000.0}, []),
    ("issued_no_date", {"issued_date": None}, ["issued_has_issued_date"]),
    ("pending_no_date", {"status": "Pending", "issued_date": None}, []),
    # Local (Vancouver) date of issued_date vs expired_date.
    ("issued_same_local_day", {"issued_date": ts("2024-12-31T23:30:00-08:00"), "expired_date": DEC31}, []),
    ("issued_next_local_day", {"issued_date": ts("2025-01-01T00:30:00-08:00"), "expired_date": DEC31},
     ["issued_not_after_expiry"]),
    ("issued_reversed", {"issued_date": ts("2025-03-01T10:00:00-08:00"), "expired_date": DEC31},
     ["issued_not_after_expiry"]),
    ("expiry_null", {"expired_date": None}, []),
    ("null_status_and_more",
     {"status": None, "number_of_employees": None, "fee_paid": -5.0, "licence_rsn": None},
     ["licence_rsn_present", "status_allowed", "employees_in_range", "fee_paid_non_negative"]),
]  # fmt: skip


@pytest.fixture(scope="module")
def outcomes(spark):
    rows = [licence(licence_number=case_id, **overrides) for case_id, overrides, _ in CASES]
    annotated = quality.annotate(frame(spark, rows))
    return {r["licence_number"]: list(r["failed_rules"]) for r in annotated.collect()}


@pytest.mark.parametrize(("case_id", "expected"), [(c, e) for c, _, e in CASES], ids=[c for c, _, _ in CASES])
def test_row_rule(outcomes, case_id, expected):
    assert outcomes[case_id] == expected


def test_all_null_row_fails_every_applicable_rule_and_is_kept(spark):
    empty = {c: None for c in schema.CLEANED_NAMES}
    passed, failed = quality.split_by_quality(frame(spark, [empty, licence()]))
    assert passed.count() == 1
    [row] = failed.collect()
    assert row["failed_rules"] == ["licence_rsn_present", "status_allowed", "employees_in_range"]


def test_split_never_loses_a_row(spark):
    rows = [licence(licence_number=c, **o) for c, o, _ in CASES] + [{c: None for c in schema.CLEANED_NAMES}]
    passed, failed = quality.split_by_quality(frame(spark, rows))
    assert passed.count() + failed.count() == len(rows)
    assert failed.where("size(failed_rules) = 0").count() == 0
    assert passed.columns == list(schema.CLEANED_NAMES)
    assert failed.columns == [*schema.CLEANED_NAMES, "failed_rules"]
    expected_failed = sum(1 for _, _, e in CASES if e) + 1
    counts = quality.row_rule_counts(quality.annotate(frame(spark, rows)))
    assert (counts["rows_in"], counts["failed"]) == (len(rows), expected_failed)
    assert counts["failures_by_rule"]["status_allowed"] == 5  # null, unknown, lower case, two combos


def _dataset(spark, n, **overrides_for_first):
    rows = [licence(licence_number=str(i)) for i in range(n)]
    for i in range(len(rows)):
        for key, values in overrides_for_first.items():
            if i < len(values):
                rows[i][key] = values[i]
    return frame(spark, rows)


def _by_name(outcomes):
    return {o.name: o for o in outcomes}


def test_completeness_at_and_below_threshold(spark):
    at = _by_name(quality.evaluate_dataset_rules(_dataset(spark, 20, status=[None]), RUN))
    assert at["status_completeness"].passed and at["status_completeness"].measured == pytest.approx(0.95)
    below = _by_name(quality.evaluate_dataset_rules(_dataset(spark, 20, status=[None, None]), RUN))
    assert not below["status_completeness"].passed and below["status_completeness"].measured == pytest.approx(
        0.9
    )


def test_row_count_and_empty_dataset(spark):
    ok = _by_name(quality.evaluate_dataset_rules(_dataset(spark, 1), RUN))
    assert ok["row_count_positive"].passed and ok["row_count_positive"].measured == 1
    empty = _by_name(quality.evaluate_dataset_rules(frame(spark, []), RUN))
    assert [o.passed for o in empty.values()] == [False, False, False]
    assert empty["row_count_positive"].measured == 0
    assert empty["status_completeness"].measured is None and empty["extract_date_fresh"].measured is None


@pytest.mark.parametrize(
    ("age", "days", "ok"),
    [
        (timedelta(days=30), 30, True),
        (timedelta(days=30, seconds=1), 30, False),
        (timedelta(days=3), 2, False),
        (timedelta(days=3), 7, True),
        (timedelta(days=-1), 30, True),  # extracted "after" the run time: not stale
    ],
)
def test_freshness_bounds(spark, age, days, ok):
    outcome = _by_name(
        quality.evaluate_dataset_rules(_dataset(spark, 2, extract_date=[RUN - age, RUN - age]), RUN, days)
    )
    fresh = outcome["extract_date_fresh"]
    assert fresh.passed is ok
    assert fresh.measured == pytest.approx(age.total_seconds() / 86400, abs=1e-3)
    assert fresh.dqdl == f'DataFreshness "extract_date" <= {days} days'


def test_freshness_fails_on_a_null_extract_date(spark):
    outcome = _by_name(quality.evaluate_dataset_rules(_dataset(spark, 3, extract_date=[None]), RUN))
    assert not outcome["extract_date_fresh"].passed


def test_naive_run_time_is_utc(spark):
    df = _dataset(spark, 1, extract_date=[RUN - timedelta(days=1)])
    aware = _by_name(quality.evaluate_dataset_rules(df, RUN))["extract_date_fresh"].measured
    naive = _by_name(quality.evaluate_dataset_rules(df, RUN.replace(tzinfo=None)))[
        "extract_date_fresh"
    ].measured
    assert aware == naive == pytest.approx(1.0)


def test_non_utc_session_is_refused(spark):
    spark.conf.set("spark.sql.session.timeZone", "America/Vancouver")
    try:
        with pytest.raises(ValueError, match="UTC"):
            quality.annotate(frame(spark, [licence()]))
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")


EXPECTED_DQDL = """Rules = [
    ColumnValues "licence_rsn" not in [NULL, EMPTY, WHITESPACES_ONLY],
    ColumnValues "status" in ["Issued", "Pending", "Inactive", "Gone Out of Business", "Cancelled"],
    (ColumnValues "number_of_employees" >= 0) and (ColumnValues "number_of_employees" <= 100000),
    ColumnValues "fee_paid" >= 0 where "fee_paid is not null",
    IsComplete "issued_date" where "status = 'Issued'",
    CustomSql "select count(*) from primary where issued_date is not null and expired_date is not null \
and to_date(from_utc_timestamp(issued_date, 'America/Vancouver')) > expired_date" = 0,
    Completeness "status" >= 0.95,
    RowCount > 0,
    DataFreshness "extract_date" <= 30 days
]"""


def test_dqdl_exact():
    assert rules.to_dqdl() == EXPECTED_DQDL
    assert rules.to_dqdl(7).endswith('DataFreshness "extract_date" <= 7 days\n]')


def test_dqdl_uses_only_cleaned_columns():
    quoted = set(
        re.findall(r'(?:ColumnValues|IsComplete|Completeness|DataFreshness) "([a-z_]+)"', rules.to_dqdl())
    )
    assert quoted <= set(schema.CLEANED_NAMES)


def test_rule_names_are_stable_snake_case_and_unique():
    names = rules.ROW_RULE_NAMES + rules.DATASET_RULE_NAMES
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names)
    assert rules.ROW_RULE_NAMES == (
        "licence_rsn_present",
        "status_allowed",
        "employees_in_range",
        "fee_paid_non_negative",
        "issued_has_issued_date",
        "issued_not_after_expiry",
    )


def test_databrew_rules_shape():
    brew = rules.databrew_rules()
    assert [r["Name"] for r in brew] == [
        "licence_rsn_present",
        "employees_in_range",
        "status_completeness",
        "row_count_positive",
    ]
    allowed_keys = {"Name", "CheckExpression", "SubstitutionMap", "ColumnSelectors", "Threshold", "Disabled"}
    for rule in brew:
        assert set(rule) <= allowed_keys
        # The API's CheckExpression pattern and length limits.
        assert re.fullmatch(r"[<>0-9A-Za-z_.,:)(!= ]+", rule["CheckExpression"])
        assert len(rule["CheckExpression"]) >= 4
        refs = set(re.findall(r":[A-Za-z0-9_]+", rule["CheckExpression"]))
        assert refs == {s["ValueReference"] for s in rule["SubstitutionMap"]}
        assert all(isinstance(s["Value"], str) for s in rule["SubstitutionMap"])
        for selector in rule.get("ColumnSelectors", []):
            assert selector["Name"] in schema.RAW_HEADER  # raw CSV column names, not cleaned ones
    by_name = {r["Name"]: r for r in brew}
    assert by_name["status_completeness"]["SubstitutionMap"] == [{"ValueReference": ":val", "Value": "5"}]
    assert by_name["employees_in_range"]["Threshold"] == {
        "Value": 100.0,
        "Type": "GREATER_THAN_OR_EQUAL",
        "Unit": "PERCENTAGE",
    }


# ---------------------------------------------------------------------------------------------------
# The DQDL rendering under AWS's published grammar (tests/grammars/dqdl.py, a port of awslabs/dqdl).
# ---------------------------------------------------------------------------------------------------

STAGE_FRESHNESS_DAYS = {
    name: stage["quality"]["freshness_days"] for name, stage in cdk_json_context()["stages"].items()
}


@pytest.mark.parametrize("stage", sorted(STAGE_FRESHNESS_DAYS))
def test_dqdl_of_each_stage_is_accepted_by_the_aws_grammar(stage):
    days = STAGE_FRESHNESS_DAYS[stage]
    doc = dqdl.check(rules.to_dqdl(days))
    assert dqdl.rule_types_used(doc) == [
        *["ColumnValues"] * 5,
        "IsComplete",
        "CustomSql",
        "Completeness",
        "RowCount",
        "DataFreshness",
    ]
    assert doc.rules[-1].condition.text == f"<= {days} days"


@pytest.mark.parametrize("days", [1, 7, 365])
def test_dqdl_freshness_bounds_are_accepted(days):
    dqdl.check(rules.to_dqdl(days))


RULE_SHAPES = {
    "optional_range_with_both_bounds": rules.Range(
        "r", "", column="fee_paid", minimum=0, maximum=10, optional=True
    ),
    "small_decimal_bound": rules.Range("r", "", column="fee_paid", minimum=0.00001),
    "small_completeness_threshold": rules.MinCompleteness("c", "", column="status", threshold=0.00001),
    "allowed_value_with_quote_and_backslash": rules.AllowedValues(
        "a", "", column="status", values=('Say "hi"', "back\\slash")
    ),
}


@pytest.mark.parametrize("rule", RULE_SHAPES.values(), ids=RULE_SHAPES)
def test_every_rule_shape_renders_dqdl_the_aws_grammar_accepts(rule):
    dqdl.check(f"Rules = [ {rule.to_dqdl()} ]")


def test_optional_range_keeps_nulls_allowed_on_both_bounds():
    rendered = RULE_SHAPES["optional_range_with_both_bounds"].to_dqdl()
    assert rendered == (
        '(ColumnValues "fee_paid" >= 0 where "fee_paid is not null")'
        ' and (ColumnValues "fee_paid" <= 10 where "fee_paid is not null")'
    )


def test_allowed_values_are_escaped_as_aws_unescapes_in_lists():
    assert RULE_SHAPES["allowed_value_with_quote_and_backslash"].to_dqdl() == (
        'ColumnValues "status" in ["Say \\"hi\\"", "back\\\\slash"]'
    )


def test_a_column_name_dqdl_cannot_quote_is_refused():
    """AWS strips a parameter's quotes but keeps backslashes: such a name cannot be written in DQDL."""
    with pytest.raises(ValueError, match="DQDL"):
        rules.Required("r", "", column='odd"name').to_dqdl()
