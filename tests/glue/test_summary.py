"""The business licences' declared outputs (dataset_etl.outputs, Spark SQL from the declaration) against an
independent plain-Python computation (zoneinfo), incl. DST evenings."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from dataset_etl import outputs

from .conftest import frame, licence, ts

VANCOUVER = ZoneInfo("America/Vancouver")
RUN = datetime(2025, 1, 1, 5, 0, tzinfo=UTC)  # 2024-12-31 21:00 in Vancouver


def _row(rsn, issued, employees, fee=None, **kw):
    return licence(
        licence_rsn=rsn,
        issued_date=ts(issued) if issued else None,
        number_of_employees=employees,
        fee_paid=fee,
        **kw,
    )


ROWS = [
    # Late evening on the Saturday before DST starts (2024-03-10) and before it ends (2024-11-03).
    _row("1", "2024-03-09T23:30:00-08:00", 16, 100.0),
    _row("2", "2024-03-09T08:00:00-08:00", 40, None),
    _row("3", "2024-11-02T23:30:00-07:00", 20, None),
    _row("4", "2024-11-03T01:30:00-08:00", 30, 415.5),
    _row("5", "2024-03-10T03:30:00-07:00", 99, 10.0, expired_date=date(2025, 12, 31)),
    _row("6", "2024-03-10T00:15:00-08:00", 17, 30.0),
    # Filtered out: exactly 15 employees, another status, no issue date.
    _row("7", "2024-03-09T12:00:00-08:00", 15, 1.0),
    _row("8", "2024-03-09T12:00:00-08:00", 50, status="Pending"),
    _row("9", None, 50, status="Inactive"),
    # Another year, UTC already the next day.
    _row("10", "2023-12-31T22:00:00-08:00", 25, 5.0, expired_date=date(2024, 12, 31)),
]


def expected_summary(rows, status="Issued", min_employees=15):
    groups = defaultdict(list)
    for r in rows:
        if r["status"] == status and (r["number_of_employees"] or 0) > min_employees and r["issued_date"]:
            groups[r["issued_date"].astimezone(VANCOUVER).date()].append(r)
    out = {}
    for day, rs in groups.items():
        fees = [r["fee_paid"] for r in rs if r["fee_paid"] is not None]
        out[day] = {
            "issue_date": day,
            "licence_count": len(rs),
            "max_number_of_employees": max(r["number_of_employees"] for r in rs),
            "avg_fee_paid": (sum(fees) / len(fees)) if fees else None,
            "max_expired_date": max(r["expired_date"] for r in rs),
            "report_date": RUN.astimezone(VANCOUVER).date(),
            "year": day.year,
        }
    return out


def actual_summary(df):
    return {r["issue_date"]: r.asDict() for r in df.collect()}


def built(spark, licences, rows=ROWS, **parameters):
    return outputs.build_outputs(frame(spark, rows), licences, parameters or None, RUN)


# The columns and types of today's curated tables (before they were declared in dataset.toml).
SUMMARY_SCHEMA = [("issue_date", "date"), ("licence_count", "bigint"), ("max_number_of_employees", "int"),
                  ("avg_fee_paid", "double"), ("max_expired_date", "date"), ("report_date", "date"),
                  ("year", "int")]  # fmt: skip
LICENCES_SCHEMA = [("licence_rsn", "string"), ("licence_number", "string"), ("business_name", "string"),
                   ("business_type", "string"), ("business_sub_type", "string"), ("status", "string"),
                   ("local_area", "string"), ("number_of_employees", "int"), ("fee_paid", "double"),
                   ("issued_date", "timestamp"), ("issue_date", "date"), ("expired_date", "date"),
                   ("file_year", "string"), ("year", "int")]  # fmt: skip


def test_summary_matches_plain_python(spark, licences):
    got = actual_summary(built(spark, licences)["summary"])
    want = expected_summary(ROWS)
    assert set(got) == set(want)
    for day, row in want.items():
        assert got[day].keys() == row.keys()
        for key, value in row.items():
            assert got[day][key] == (pytest.approx(value) if isinstance(value, float) else value), (day, key)


def test_local_days_across_dst(spark, licences):
    got = actual_summary(built(spark, licences)["summary"])
    assert got[date(2024, 3, 9)]["licence_count"] == 2  # 23:30 -08:00 stays on the 9th
    assert got[date(2024, 11, 2)]["licence_count"] == 1  # 23:30 -07:00 stays on the 2nd
    assert got[date(2024, 3, 10)]["licence_count"] == 2
    assert got[date(2024, 11, 2)]["avg_fee_paid"] is None  # only unknown fees
    assert got[date(2024, 3, 9)]["avg_fee_paid"] == 100.0  # the blank fee is not a zero
    assert got[date(2023, 12, 31)]["year"] == 2023
    assert {r["report_date"] for r in got.values()} == {date(2024, 12, 31)}


def test_filter_is_configurable(spark, licences):
    got = actual_summary(built(spark, licences, min_employees=14)["summary"])
    assert got == expected_summary(ROWS, min_employees=14) or set(got) == set(
        expected_summary(ROWS, min_employees=14)
    )
    pending = actual_summary(built(spark, licences, status="Pending")["summary"])
    assert list(pending) == [date(2024, 3, 9)] and pending[date(2024, 3, 9)]["licence_count"] == 1


def test_output_schemas_are_the_declared_ones(spark, licences):
    frames = built(spark, licences)
    assert list(frames) == ["summary", "licences"]
    daily = frames["summary"]
    assert [(f.name, f.dataType.simpleString()) for f in daily.schema] == [
        (c.name, c.type) for c in licences.output("summary").columns
    ]
    assert [(f.name, f.dataType.simpleString()) for f in daily.schema] == SUMMARY_SCHEMA
    analysis = frames["licences"]
    assert [(f.name, f.dataType.simpleString()) for f in analysis.schema] == [
        (c.name, c.type) for c in licences.output("licences").columns
    ]
    assert [(f.name, f.dataType.simpleString()) for f in analysis.schema] == LICENCES_SCHEMA


def test_licences_for_analysis_local_date_and_year(spark, licences):
    got = {r["licence_rsn"]: r for r in built(spark, licences)["licences"].collect()}
    assert len(got) == len(ROWS)
    assert got["1"]["issue_date"] == date(2024, 3, 9) and got["1"]["year"] == 2024
    assert got["10"]["issue_date"] == date(2023, 12, 31) and got["10"]["year"] == 2023
    assert got["9"]["issue_date"] is None and got["9"]["year"] == 2024  # falls back to 2000 + file_year


@pytest.mark.parametrize(
    ("run_time", "expected"),
    [
        (datetime(2025, 1, 1, 5, 0, tzinfo=UTC), date(2024, 12, 31)),
        (datetime(2025, 1, 1, 8, 0, tzinfo=UTC), date(2025, 1, 1)),
        (datetime(2024, 7, 1, 6, 59, tzinfo=UTC), date(2024, 6, 30)),  # PDT, -07:00
        (datetime(2024, 7, 1, 7, 0), date(2024, 7, 1)),  # naive = UTC
    ],
)
def test_report_date_is_vancouver_local(licences, run_time, expected):
    assert outputs.local_report_date(run_time, licences.timezone) == expected


def test_outputs_are_spark_sql_with_named_parameters(licences):
    text = outputs.output_sql(licences.output("summary"), "v")
    assert text.startswith("SELECT CAST((issue_date) AS date) AS `issue_date`, CAST((count(1)) AS bigint)")
    assert (
        " FROM (SELECT *, (to_date(from_utc_timestamp(issued_date, 'America/Vancouver'))) AS `issue_date`"
        in text
    )
    assert text.endswith(
        " FROM `v`) AS derived WHERE (status = :status AND number_of_employees > :min_employees"
        " AND issued_date IS NOT NULL) GROUP BY `issue_date`"
    )
    assert outputs.used_parameters(text) == {"status", "min_employees", "report_date"}
    assert outputs.used_parameters("a = ':not_me' AND b = `:nor_me` AND c > :me") == {"me"}


def test_a_parameter_value_is_bound_not_pasted(spark, licences):
    """A value with a quote in it is data, not SQL: it matches no row instead of breaking the query."""
    assert built(spark, licences, status="Issued' OR '1'='1")["summary"].count() == 0


def test_each_call_uses_its_own_view(spark, licences):
    first = built(spark, licences)["summary"]
    built(spark, licences, rows=ROWS[:1])
    assert first.count() == len(expected_summary(ROWS))
    assert not [t for t in spark.catalog.listTables() if t.name.startswith("dap_")]


@pytest.mark.parametrize(
    ("written", "covered", "clear"),
    [
        ({"a": [2023, 2024], "b": [2024]}, [2023, 2024], {"a": [], "b": [2023]}),
        ({"a": [], "b": [None, 2025]}, [2025], {"a": [2025], "b": []}),
        ({"a": [], "b": []}, [], {"a": [], "b": []}),
    ],
)
def test_each_output_clears_the_covered_partitions_it_writes_no_rows_to(written, covered, clear):
    assert outputs.partitions_to_clear(written) == (covered, clear)
