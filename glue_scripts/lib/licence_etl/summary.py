"""Pure summary functions over the quality job's PASSED rows, and the output schemas as data.

Local dates: ``issue_date`` is the America/Vancouver calendar date of the ``issued_date`` instant
(2024-03-09T23:30:00-08:00 belongs to 2024-03-09, not to the next UTC day), computed as
``to_date(from_utc_timestamp(issued_date, 'America/Vancouver'))``, which needs the UTC session time
zone Glue uses (checked). ``report_date`` is the Vancouver-local calendar DATE of the run time, computed
in Python (zoneinfo) from the ``run_time`` parameter so a run can be reproduced.

Rows without an ``issued_date`` cannot be placed on a day and are left out of the summary (with the
default filter, ``status == 'Issued'``, the quality rules have already routed such rows to failed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from licence_etl.rules import LOCAL_TZ

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

DEFAULT_STATUS = "Issued"
DEFAULT_MIN_EMPLOYEES = 15
PARTITION_COLUMN = "year"


@dataclass(frozen=True)
class OutputColumn:
    """One column of a curated table: name, Glue/Athena type, comment."""

    name: str
    type: str
    comment: str


SUMMARY_COLUMNS: tuple[OutputColumn, ...] = (
    OutputColumn("issue_date", "date", "Issue date of the licences, local date in America/Vancouver"),
    OutputColumn("licence_count", "bigint", "Number of licences issued that day (after the filter)"),
    OutputColumn("max_number_of_employees", "int", "Largest number of employees among them"),
    OutputColumn("avg_fee_paid", "double", "Average fee paid in CAD over known fees; null if none known"),
    OutputColumn("max_expired_date", "date", "Latest expiry date among them"),
    OutputColumn("report_date", "date", "Date of the run, local date in America/Vancouver"),
    OutputColumn("year", "int", "Year of issue_date (partition column)"),
)

LICENCES_COLUMNS: tuple[OutputColumn, ...] = (
    OutputColumn("licence_rsn", "string", "Licence record serial number"),
    OutputColumn("licence_number", "string", "Licence number, YY-NNNNNN"),
    OutputColumn("business_name", "string", "Legal business name"),
    OutputColumn("business_type", "string", "Business type, e.g. Restaurant"),
    OutputColumn("business_sub_type", "string", "Business sub-type"),
    OutputColumn("status", "string", "Licence status"),
    OutputColumn("local_area", "string", "City of Vancouver local area"),
    OutputColumn("number_of_employees", "int", "Number of employees"),
    OutputColumn("fee_paid", "double", "Licence fee paid in CAD; null when unknown"),
    OutputColumn("issued_date", "timestamp", "When the licence was issued (UTC instant)"),
    OutputColumn("issue_date", "date", "Issue date, local date in America/Vancouver"),
    OutputColumn("expired_date", "date", "Date the licence expires"),
    OutputColumn("file_year", "string", "Two-digit licence year the portal files the row under"),
    OutputColumn(
        "year", "int", "Year of issue_date; 2000 + file_year when there is no issue date (partition column)"
    ),
)

SUMMARY_NAMES: tuple[str, ...] = tuple(c.name for c in SUMMARY_COLUMNS)
LICENCES_NAMES: tuple[str, ...] = tuple(c.name for c in LICENCES_COLUMNS)


def local_date(col: Column | str, tz: str = LOCAL_TZ) -> Column:
    """The calendar date in ``tz`` of a timestamp column (UTC session time zone assumed)."""
    from pyspark.sql import functions as F

    return F.to_date(F.from_utc_timestamp(F.col(col) if isinstance(col, str) else col, tz))


def local_report_date(run_time: datetime, tz: str = LOCAL_TZ) -> date:
    """The run's calendar date in ``tz``; a naive ``run_time`` is taken as UTC."""
    aware = run_time.replace(tzinfo=UTC) if run_time.tzinfo is None else run_time
    return aware.astimezone(ZoneInfo(tz)).date()


def _check_session(df: DataFrame) -> None:
    from licence_etl.quality import require_utc_session

    require_utc_session(df)


def summarize_licences(
    passed: DataFrame,
    run_time: datetime,
    *,
    status: str = DEFAULT_STATUS,
    min_employees: int = DEFAULT_MIN_EMPLOYEES,
) -> DataFrame:
    """Daily summary of licences with ``status`` and more than ``min_employees`` employees."""
    from pyspark.sql import functions as F

    _check_session(passed)
    kept = passed.where(
        (F.col("status") == F.lit(status))
        & (F.col("number_of_employees") > F.lit(min_employees))
        & F.col("issued_date").isNotNull()
    ).withColumn("issue_date", local_date("issued_date"))
    grouped = kept.groupBy("issue_date").agg(
        F.count(F.lit(1)).alias("licence_count"),
        F.max("number_of_employees").cast("int").alias("max_number_of_employees"),
        F.avg("fee_paid").cast("double").alias("avg_fee_paid"),
        F.max("expired_date").alias("max_expired_date"),
    )
    return grouped.select(
        "issue_date",
        "licence_count",
        "max_number_of_employees",
        "avg_fee_paid",
        "max_expired_date",
        F.lit(local_report_date(run_time)).cast("date").alias("report_date"),
        F.year("issue_date").cast("int").alias("year"),
    )


def licences_for_analysis(passed: DataFrame) -> DataFrame:
    """Passed rows with the analysis columns (``LICENCES_COLUMNS``) for ad-hoc Athena queries."""
    from pyspark.sql import functions as F

    _check_session(passed)
    issue = local_date("issued_date")
    file_year = F.expr("try_cast(file_year as int)")
    fallback = F.when(file_year.between(0, 99), file_year + F.lit(2000)).otherwise(file_year)
    return passed.select(
        *[c for c in LICENCES_NAMES if c not in ("issue_date", "year")],
        issue.alias("issue_date"),
        F.coalesce(F.year(issue), fallback).cast("int").alias("year"),
    ).select(*LICENCES_NAMES)
