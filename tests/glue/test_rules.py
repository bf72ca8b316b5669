"""Each rule on hand-made cleaned rows (at, inside, outside each bound; nulls), and the renderings."""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from dataset_etl import quality, rules

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
def ruleset(licences):
    return rules.RuleSet.of(licences)


@pytest.fixture(scope="module")
def outcomes(spark, ruleset):
    rows = [licence(licence_number=case_id, **overrides) for case_id, overrides, _ in CASES]
    annotated = quality.annotate(frame(spark, rows), ruleset)
    return {r["licence_number"]: list(r["failed_rules"]) for r in annotated.collect()}


@pytest.mark.parametrize(("case_id", "expected"), [(c, e) for c, _, e in CASES], ids=[c for c, _, _ in CASES])
def test_row_rule(outcomes, case_id, expected):
    assert outcomes[case_id] == expected


def test_all_null_row_fails_every_applicable_rule_and_is_kept(spark, licences, ruleset):
    empty = {c: None for c in licences.column_names}
    passed, failed = quality.split_by_quality(frame(spark, [empty, licence()]), ruleset)
    assert passed.count() == 1
    [row] = failed.collect()
    assert row["failed_rules"] == ["licence_rsn_present", "status_allowed", "employees_in_range"]


def test_split_never_loses_a_row(spark, licences, ruleset):
    rows = [licence(licence_number=c, **o) for c, o, _ in CASES] + [{c: None for c in licences.column_names}]
    passed, failed = quality.split_by_quality(frame(spark, rows), ruleset)
    assert passed.count() + failed.count() == len(rows)
    assert failed.where("size(failed_rules) = 0").count() == 0
    assert passed.columns == list(licences.column_names)
    assert failed.columns == [*licences.column_names, "failed_rules"]
    expected_failed = sum(1 for _, _, e in CASES if e) + 1
    counts = quality.row_rule_counts(quality.annotate(frame(spark, rows), ruleset), ruleset)
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


def test_completeness_at_and_below_threshold(spark, ruleset):
    at = _by_name(quality.evaluate_dataset_rules(_dataset(spark, 20, status=[None]), ruleset, RUN))
    assert at["status_completeness"].passed and at["status_completeness"].measured == pytest.approx(0.95)
    below = _by_name(quality.evaluate_dataset_rules(_dataset(spark, 20, status=[None, None]), ruleset, RUN))
    assert not below["status_completeness"].passed and below["status_completeness"].measured == pytest.approx(
        0.9
    )


def test_row_count_and_empty_dataset(spark, ruleset):
    ok = _by_name(quality.evaluate_dataset_rules(_dataset(spark, 1), ruleset, RUN))
    assert ok["row_count_positive"].passed and ok["row_count_positive"].measured == 1
    empty = _by_name(quality.evaluate_dataset_rules(frame(spark, []), ruleset, RUN))
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
def test_freshness_bounds(spark, ruleset, age, days, ok):
    outcome = _by_name(
        quality.evaluate_dataset_rules(
            _dataset(spark, 2, extract_date=[RUN - age, RUN - age]), ruleset, RUN, days
        )
    )
    fresh = outcome["extract_date_fresh"]
    assert fresh.passed is ok
    assert fresh.measured == pytest.approx(age.total_seconds() / 86400, abs=1e-3)
    assert fresh.dqdl == f'DataFreshness "extract_date" <= {days} days'


def test_freshness_fails_on_a_null_extract_date(spark, ruleset):
    outcome = _by_name(quality.evaluate_dataset_rules(_dataset(spark, 3, extract_date=[None]), ruleset, RUN))
    assert not outcome["extract_date_fresh"].passed


def test_naive_run_time_is_utc(spark, ruleset):
    df = _dataset(spark, 1, extract_date=[RUN - timedelta(days=1)])
    aware = _by_name(quality.evaluate_dataset_rules(df, ruleset, RUN))["extract_date_fresh"].measured
    naive = _by_name(quality.evaluate_dataset_rules(df, ruleset, RUN.replace(tzinfo=None)))[
        "extract_date_fresh"
    ].measured
    assert aware == naive == pytest.approx(1.0)


def test_non_utc_session_is_refused(spark, ruleset):
    spark.conf.set("spark.sql.session.timeZone", "America/Vancouver")
    try:
        with pytest.raises(ValueError, match="UTC"):
            quality.annotate(frame(spark, [licence()]), ruleset)
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


def test_dqdl_exact(ruleset):
    assert ruleset.to_dqdl() == EXPECTED_DQDL
    assert ruleset.to_dqdl(7).endswith('DataFreshness "extract_date" <= 7 days\n]')


def test_dqdl_uses_only_cleaned_columns(licences, ruleset):
    quoted = set(
        re.findall(r'(?:ColumnValues|IsComplete|Completeness|DataFreshness) "([a-z_]+)"', ruleset.to_dqdl())
    )
    assert quoted <= set(licences.column_names)


def test_rule_names_are_stable_snake_case_and_unique(ruleset):
    names = ruleset.row_names + ruleset.dataset_names
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names)
    assert ruleset.row_names == (
        "licence_rsn_present",
        "status_allowed",
        "employees_in_range",
        "fee_paid_non_negative",
        "issued_has_issued_date",
        "issued_not_after_expiry",
    )


def test_databrew_rules_shape(licences, ruleset):
    brew = ruleset.databrew_rules()
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
            assert selector["Name"] in licences.raw_header  # raw CSV column names, not cleaned ones
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
def test_dqdl_of_each_stage_is_accepted_by_the_aws_grammar(ruleset, stage):
    days = STAGE_FRESHNESS_DAYS[stage]
    doc = dqdl.check(ruleset.to_dqdl(days))
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
def test_dqdl_freshness_bounds_are_accepted(ruleset, days):
    dqdl.check(ruleset.to_dqdl(days))


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


# ---------------------------------------------------------------------------------------------------
# Range with exclusive_minimum, and unique_row (rules a dataset declares; built by RuleSet.of).
# ---------------------------------------------------------------------------------------------------

ABOVE = rules.Range("pay_above", "", column="pay", minimum=75000, exclusive_minimum=True, column_type="double",
                    raw_column="Pay")  # fmt: skip


@pytest.mark.parametrize(
    ("pay", "fails"), [(75000.0, True), (75000.01, False), (74999.0, True), (None, True), (math.nan, True)]
)
def test_exclusive_minimum_is_strictly_greater(spark, pay, fails):
    [row] = spark.createDataFrame([(pay,)], "pay double").select(ABOVE.violation().alias("v")).collect()
    assert row["v"] is fails


def test_exclusive_minimum_renderings():
    assert ABOVE.to_dqdl() == 'ColumnValues "pay" > 75000'
    dqdl.check(f"Rules = [ {ABOVE.to_dqdl()} ]")
    assert ABOVE.databrew() == {
        "Name": "pay_above",
        "CheckExpression": "> :val1",
        "SubstitutionMap": [{"ValueReference": ":val1", "Value": "75000"}],
        "ColumnSelectors": [{"Name": "Pay"}],
        "Threshold": {"Value": 100.0, "Type": "GREATER_THAN_OR_EQUAL", "Unit": "PERCENTAGE"},
    }
    both = rules.Range("r", "", column="pay", minimum=0, maximum=10, exclusive_minimum=True)
    assert both.to_dqdl() == '(ColumnValues "pay" > 0) and (ColumnValues "pay" <= 10)'
    assert both.databrew()["CheckExpression"] == "> :val1 and <= :val2"


UNIQUE = rules.UniqueRow("no_duplicate_rows", "", all_columns=("k", "name", "amount"))
UNIQUE_DDL = "k int, name string, amount double"


def _unique_outcomes(spark, rows):
    df = spark.createDataFrame(rows, UNIQUE_DDL)
    ruleset = rules.RuleSet("t", (UNIQUE,), ())
    annotated = quality.annotate(df, ruleset)
    return Counter((tuple(r)[:3], bool(r["failed_rules"])) for r in annotated.collect())


def test_unique_row_fails_every_copy_but_one(spark):
    got = _unique_outcomes(spark, [(1, "a", 2.5)] * 3 + [(2, "a", 2.5), (1, "b", 2.5)])
    assert got == Counter({((1, "a", 2.5), True): 2, ((1, "a", 2.5), False): 1,
                           ((2, "a", 2.5), False): 1, ((1, "b", 2.5), False): 1})  # fmt: skip


def test_unique_row_takes_a_null_as_equal_to_a_null(spark):
    got = _unique_outcomes(spark, [(1, None, None), (1, None, None), (1, None, 3.0), (None, None, None)])
    assert got == Counter({((1, None, None), True): 1, ((1, None, None), False): 1,
                           ((1, None, 3.0), False): 1, ((None, None, None), False): 1})  # fmt: skip


def test_unique_row_passes_rows_without_duplicates(spark):
    got = _unique_outcomes(spark, [(1, "a", 1.0), (2, "a", 1.0), (1, "a", 1.5), (1, "A", 1.0)])
    assert set(got) == {(r, False) for r in [(1, "a", 1.0), (2, "a", 1.0), (1, "a", 1.5), (1, "A", 1.0)]}


def test_unique_row_dqdl_counts_what_spark_fails(spark):
    """The CustomSql, run by Spark over a 'primary' view, is 0 exactly when no row fails unique_row."""
    text = UNIQUE.to_dqdl()
    assert text == (
        'CustomSql "select count(*) from (select count(*) as copies from primary group by `k`, `name`, `amount`'
        ' having count(*) > 1) repeated" = 0'
    )
    dqdl.check(f"Rules = [ {text} ]")
    sql = text.removeprefix('CustomSql "').removesuffix('" = 0')
    for rows, repeated in [
        ([(1, None, None)] * 2 + [(2, "x", 1.0)], 1),
        ([(1, None, None), (2, None, None)], 0),
    ]:
        spark.createDataFrame(rows, UNIQUE_DDL).createOrReplaceTempView("primary")
        try:
            assert spark.sql(sql).collect()[0][0] == repeated
        finally:
            spark.catalog.dropTempView("primary")


def test_unique_row_databrew_is_the_documented_duplicate_rows_check():
    from dap.databrew_reference import check_ruleset_rules

    rendered = UNIQUE.databrew()
    assert rendered == {
        "Name": "no_duplicate_rows",
        "CheckExpression": "AGG(DUPLICATE_ROWS_COUNT) == :val",
        "SubstitutionMap": [{"ValueReference": ":val", "Value": "0"}],
    }
    assert check_ruleset_rules([rendered]) == []


def test_rules_are_built_from_a_declaration():
    from .tiny_dataset import tiny_dataset

    ruleset = rules.RuleSet.of(tiny_dataset())
    assert ruleset.dataset_id == "tiny" and ruleset.row_names == ("no_duplicate_rows", "score_above_ten")
    assert ruleset.row[0] == rules.UniqueRow(
        "no_duplicate_rows", "No game is listed twice", all_columns=("year", "team", "score")
    )
    assert ruleset.row[1] == rules.Range("score_above_ten", "Score is present and above 10", column="score",
                                         minimum=10.0, exclusive_minimum=True, column_type="double",
                                         raw_column="Score")  # fmt: skip
    assert ruleset.dataset == () and ruleset.description("score_above_ten") == "Score is present and above 10"
    dqdl.check(ruleset.to_dqdl())


def test_licence_rules_take_types_raw_names_and_zone_from_the_declaration(licences, ruleset):
    required = ruleset.row_rule("licence_rsn_present")
    assert (required.column_type, required.raw_column) == ("string", "LicenceRSN")
    assert ruleset.row_rule("issued_not_after_expiry").tz == licences.timezone == "America/Vancouver"
