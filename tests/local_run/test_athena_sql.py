"""The named queries are Athena SQL: checked against Athena engine 3 (Trino), transpiled for the local run.

Every committed ``datasets/<id>/queries/*.sql`` (and the test fixture datasets' queries) passes ``dap.athena_sql.check``; copies of the real queries with one
Spark-only construct planted fail it with a message naming the construct, although Spark runs them
(shown on Spark, so each mutant is a real trap, not a typo). The transpiled text keeps Athena's answers
where the engines differ (NULL ordering, date_format patterns); where sqlglot cannot keep them
(integer division, date_trunc's type), ``transpile_problems`` refuses the query and the test shows Spark's
different answer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlglot import exp
from sqlglot.errors import ParseError

from dap import athena_sql
from dap.athena_sql import (
    ATHENA_ENGINE3_FUNCTIONS,
    SPARK_ONLY_HINTS,
    check,
    parse,
    to_spark,
    transpile_problems,
)
from dap.local_run import REPO_ROOT, load_queries
from stacks.datasets import project_dataset

LICENCES = project_dataset("business_licences")
# Every dataset's named queries, the fixtures' too; the mutants below are of the business licences' ones.
QUERY_FILES = sorted(
    [
        *(REPO_ROOT / "datasets").glob("*/queries/*.sql"),
        *(REPO_ROOT / "tests/fixtures/datasets").glob("*/queries/*.sql"),
    ]
)
REAL = {p.stem: p.read_text(encoding="utf-8") for p in sorted(LICENCES.queries_path.glob("*.sql"))}


def test_every_dataset_has_its_queries_here():
    assert {p.parent.parent.name for p in QUERY_FILES} >= {"business_licences", "street_trees"}
    assert set(REAL) >= {"average_fee_issued", "lowest_daily_average_fee"}


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_every_committed_query_is_athena_sql(path: Path):
    text = path.read_text(encoding="utf-8")
    assert check(text) == [], path.name
    assert transpile_problems(text) == [], path.name
    assert isinstance(parse(text), exp.Select)
    spark_sql = to_spark(text)
    assert spark_sql != text and "SELECT" in spark_sql  # what the local run executes is generated


def _mutant(name: str, old: str, new: str) -> str:
    assert old in REAL[name], (name, old)
    return REAL[name].replace(old, new, 1)


# (id, Athena-invalid copy of a real query, words the message must contain, does Spark 3.5 run it?)
MUTANTS = [
    ("backticks", _mutant("average_fee_issued", "avg(fee_paid)", "avg(`fee_paid`)"), "backtick", True),
    ("nvl", _mutant("average_fee_issued", "avg(fee_paid)", "avg(nvl(fee_paid, 0))"), "nvl()", True),
    ("ifnull", _mutant("average_fee_issued", "avg(fee_paid)", "avg(ifnull(fee_paid, 0))"), "ifnull()", True),
    (
        "date_format_java_pattern",
        _mutant("lowest_daily_average_fee", "    issue_date,", "    date_format(issue_date, 'yyyy-MM-dd') as issue_date,"),
        "Java/Spark pattern",
        True,
    ),
    (
        "collect_list",
        _mutant("employees_by_business_type", "max(number_of_employees)", "collect_list(number_of_employees)"),
        "collect_list()",
        True,
    ),
    (
        "datediff_two_args",
        _mutant("average_fee_issued", "count(*) as issued_licences", "max(datediff(issue_date, issued_date)) as d"),
        "datediff()",
        True,
    ),
    ("limit_offset_comma", _mutant("lowest_daily_average_fee", "limit 1", "limit 1, 1"), "LIMIT offset, count", False),
    ("limit_then_offset", _mutant("lowest_daily_average_fee", "limit 1", "limit 1 offset 1"), "OFFSET before LIMIT", True),
    ("double_colon_cast", _mutant("average_fee_issued", "count(*)", "count(*)::int"), "'::' cast", False),
    ("double_equals", _mutant("average_fee_issued", "status = 'Issued'", "status == 'Issued'"), "'=='", True),
    ("null_safe_equals", _mutant("average_fee_issued", "status = 'Issued'", "status <=> 'Issued'"), "'<=>'", True),
    ("double_quoted_string", _mutant("average_fee_issued", "'Issued'", '"Issued"'), "quoted identifier, not a string", True),
    ("rlike", _mutant("average_fee_issued", "status = 'Issued'", "status rlike '^Iss'"), "rlike/regexp", True),
    ("sort_by", _mutant("lowest_daily_average_fee", "order by", "sort by"), "SORT BY (HiveQL)", True),
    ("numeric_suffix", _mutant("lowest_daily_average_fee", "round(avg_fee_paid, 2)", "round(avg_fee_paid, 2) + 0L"), "suffix", True),
    ("current_date_parens", _mutant("average_fee_issued", "status = 'Issued'", "issue_date < current_date()"), "empty parentheses", True),
    ("cast_as_string", _mutant("average_fee_issued", "count(*)", "cast(count(*) as string)"), "string is a Hive/Spark type", True),
    ("concat_one_arg", _mutant("employees_by_business_type", "coalesce(business_type, '(unknown)') as", "concat(coalesce(business_type, '(unknown)')) as"), "concat() takes 2..", True),
    ("reserved_word_alias", _mutant("average_fee_issued", "as issued_licences", "as first"), "reserved keyword", True),
    ("with_rollup", _mutant("licences_by_local_area_and_year", "year\norder by", "year with rollup\norder by"), "WITH ROLLUP", True),
    ("lateral_view", _mutant("average_fee_issued", "from licences", "from licences lateral view explode(array(1)) e as one"), "LATERAL VIEW", True),
    ("size", _mutant("average_fee_issued", "count(*) as", "max(size(array(fee_paid))) as"), "size()", True),
    ("two_statements", REAL["average_fee_issued"] + ";\nselect 1", "exactly one SQL statement", False),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "words"), [(m[1], m[2]) for m in MUTANTS], ids=[m[0] for m in MUTANTS])
def test_planted_spark_only_construct_fails_the_check(sql, words):
    problems = check(sql)
    assert problems, "the check let a Spark-only construct through"
    assert any(words in p for p in problems), problems
    assert all(re.match(r"line \d+, col \d+: ", p) for p in problems), problems


@pytest.fixture(scope="module")
def tiny(spark):
    """A session of its own (temp views do not leak into the sample run's) with the curated tables'
    schemas and a few rows, NULLs included."""
    session = spark.newSession()
    session.conf.set("spark.sql.session.timeZone", "UTC")

    def view(name, columns, rows):
        ddl = ", ".join(f"`{c.name}` {c.type}" for c in columns)
        session.createDataFrame(rows, ddl).createOrReplaceTempView(name)

    from datetime import date, datetime

    lic = dict.fromkeys(LICENCES.output("licences").names)
    view(
        "licences",
        LICENCES.output("licences").columns,
        [
            {
                **lic,
                "status": "Issued",
                "fee_paid": 10.0,
                "number_of_employees": 7,
                "business_type": "Cafe",
                "issue_date": date(2024, 3, 9),
                "issued_date": datetime(2024, 3, 10, 7, 30),
                "year": 2024,
            },
            {
                **lic,
                "status": "Issued",
                "fee_paid": None,
                "number_of_employees": 2,
                "business_type": None,
                "issue_date": None,
                "year": 2025,
            },
            {
                **lic,
                "status": "Pending",
                "fee_paid": 4.0,
                "number_of_employees": 5,
                "business_type": "Bakery",
                "issue_date": date(2025, 12, 31),
                "year": 2025,
            },
        ],
    )
    view("licence_summary", LICENCES.output("summary").columns, [])
    return session


@pytest.mark.parametrize("sql", [m[1] for m in MUTANTS if m[3]], ids=[m[0] for m in MUTANTS if m[3]])
def test_each_planted_query_is_valid_spark_sql(tiny, sql):
    """So running on Spark proves nothing about Athena: only the check catches these. (``sql`` parses
    and analyzes eagerly: functions, columns and types are resolved; no need to execute.)"""
    assert tiny.sql(sql.rstrip().removesuffix(";")).columns


def _rows(session, athena_sql_text):
    return [tuple(r) for r in session.sql(to_spark(athena_sql_text)).collect()]


def test_transpile_keeps_athena_null_ordering(tiny):
    # Athena: "The default null ordering is NULLS LAST, regardless of ascending or descending sort order"
    # (https://docs.aws.amazon.com/athena/latest/ug/select.html); Spark sorts NULLs first ascending.
    assert _rows(tiny, "select business_type from licences order by business_type") == [
        ("Bakery",),
        ("Cafe",),
        (None,),
    ]
    assert _rows(tiny, "select business_type from licences order by business_type desc") == [
        ("Cafe",),
        ("Bakery",),
        (None,),
    ]
    assert tiny.sql("select business_type from licences order by business_type").first()[0] is None


def test_transpile_maps_trino_date_format_specifiers(tiny):
    # Trino's date_format('%Y-%m') (MySQL specifiers) becomes Spark's date_format('yyyy-MM').
    sql = "select date_format(issue_date, '%Y-%m') as month from licences order by issue_date"
    assert "yyyy-MM" in to_spark(sql)
    assert _rows(tiny, sql) == [("2024-03",), ("2025-12",), (None,)]


def test_transpile_runs_trino_only_functions(tiny):
    assert _rows(tiny, "select count_if(status = 'Issued'), date_diff('day', date '2024-01-01', "
                 "date '2024-03-01'), strpos('abc', 'c') from licences") == [(2, 60, 3)]  # fmt: skip


def test_integer_division_and_date_trunc_are_refused_because_spark_answers_differently(tiny):
    division = "select number_of_employees / 2 as half from licences order by number_of_employees"
    assert any("integer division" in p for p in transpile_problems(division))
    assert check(division) == []  # valid Athena SQL (7 / 2 = 3 there) ...
    assert _rows(tiny, division)[0] == (1.0,)  # ... but Spark divides 2 / 2 = 1.0, 5 / 2 = 2.5
    assert _rows(tiny, division)[1] == (2.5,)
    assert transpile_problems("select cast(number_of_employees as double) / 2 from licences") == []

    trunc = "select date_trunc('month', issue_date) from licences"
    assert any("date_trunc" in p for p in transpile_problems(trunc))
    assert type(_rows(tiny, trunc + " where issue_date is not null")[0][0]).__name__ == "datetime"
    assert transpile_problems("select cast(date_trunc('month', issue_date) as date) from licences") == []


def test_function_table_and_hints_agree():
    assert "invoker_principal" in ATHENA_ENGINE3_FUNCTIONS  # Athena-only (functions-env3.html)
    for name in ("nvl", "collect_list", "datediff", "first", "to_date"):
        assert name not in ATHENA_ENGINE3_FUNCTIONS, name
    for spark_name, instead in SPARK_ONLY_HINTS.items():
        assert spark_name not in ATHENA_ENGINE3_FUNCTIONS, spark_name
        for called in set(re.findall(r"([a-z_0-9]+)\(", instead)) - {"unnest"}:  # unnest: FROM syntax
            assert called in ATHENA_ENGINE3_FUNCTIONS, (spark_name, called)
    for name in athena_sql.ARITY:
        assert name in ATHENA_ENGINE3_FUNCTIONS, name


def test_parse_is_strict_and_to_spark_refuses_what_does_not_parse():
    with pytest.raises(ParseError):
        parse("select a from licences qualify a = 1")
    with pytest.raises(ParseError, match="exactly one"):
        to_spark("select 1; select 2")


def test_load_queries_refuses_a_query_athena_would_reject(tmp_path):
    (tmp_path / "good.sql").write_text(REAL["average_fee_issued"])
    assert [q.name for q in load_queries(tmp_path)] == ["good"]
    (tmp_path / "spark_only.sql").write_text(
        _mutant("average_fee_issued", "avg(fee_paid)", "avg(nvl(fee_paid, 0))")
    )
    with pytest.raises(
        ValueError, match=r"spark_only\.sql is not Athena engine 3 SQL:\n  line 3, col 15: nvl\(\)"
    ):
        load_queries(tmp_path)
    (tmp_path / "spark_only.sql").write_text("-- halves\nselect number_of_employees / 2 from licences")
    with pytest.raises(ValueError, match="integer division"):
        load_queries(tmp_path)
