"""The data-quality rules, declared once as data and rendered three ways.

* ``to_dqdl()``: the DQDL ruleset for the Glue ``AWS::Glue::DataQualityRuleset`` on the cleaned table.
* ``RowRule.violation()`` / ``DatasetRule``: the Spark checks the quality job runs (see ``quality.py``).
* ``databrew_rules()``: ``AWS::DataBrew::Ruleset`` ``Rules`` for the profile job over the RAW CSV
  (raw column names from ``schema.RAW_HEADER``), only for rules DataBrew can express reliably.

Null semantics (the same in Spark and DQDL): a row rule fails a null unless the rule says the value is
optional (``fee_paid``). Every Spark violation is wrapped in ``coalesce(..., true)`` so an unknown
comparison counts as a failure and a row is never dropped from both the passed and the failed side.

Decisions worth knowing:

* ``employees_in_range`` is rendered as ``>= 0`` and ``<= 100000`` rather than DQDL ``between``, whose
  bound inclusivity the DQDL reference does not state.
* ``issued_not_after_expiry`` compares the America/Vancouver *local date* of ``issued_date`` with
  ``expired_date`` (a licence issued 2024-12-31T23:30-08:00 and expiring 2024-12-31 is valid). DQDL has
  no cross-column rule type, so it is a dataset-level ``CustomSql`` that counts violations (= 0).
* DQDL row rules are strict (every row must pass): the ruleset describes the cleaned table before the
  quality job routes failing rows aside, so a Glue DQ run fails whenever some rows would be routed.
* Freshness: every ``extract_date`` must be within N days of the run time (DQDL ``DataFreshness`` is
  per row too; null fails). The measured value is the age in days of the OLDEST extract.

Pure Python at import time (CDK imports this module at synth to render the DQDL); pyspark is imported
only inside the functions that build Spark columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from licence_etl import schema

if TYPE_CHECKING:
    from pyspark.sql import Column

LOCAL_TZ = "America/Vancouver"
ALLOWED_STATUSES: tuple[str, ...] = ("Issued", "Pending", "Inactive", "Gone Out of Business", "Cancelled")
DEFAULT_FRESHNESS_DAYS = 30

_RAW_BY_NAME: dict[str, str] = {c.name: c.raw_name for c in schema.CLEANED_COLUMNS}
_TYPE_BY_NAME: dict[str, str] = {c.name: c.type for c in schema.CLEANED_COLUMNS}


def _q(text: str) -> str:
    """A DQDL quoted parameter or where clause. AWS's parser strips the quotes and keeps backslashes
    (awslabs/dqdl DQDLParserListener.removeQuotes), so a '"' or '\\' here cannot be written faithfully."""
    if '"' in text or "\\" in text:
        raise ValueError(f"cannot be written as a DQDL quoted string: {text!r}")
    return f'"{text}"'


def _q_value(value: str) -> str:
    """A string inside a DQDL ``in [...]`` list, where AWS's parser removes backslash escapes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fmt(value: float) -> str:
    """Plain decimal notation: DQDL numbers are digits with an optional fraction (never ``1e-05``)."""
    return str(int(value)) if float(value).is_integer() else format(Decimal(repr(float(value))), "f")


def _substitutions(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"ValueReference": k, "Value": v} for k, v in values.items()]


# ---------------------------------------------------------------------------------------------------
# Row rules: each yields a boolean Spark column that is TRUE when the row BREAKS the rule (never null).
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowRule:
    """Base of row-level rules; ``name`` is the stable snake_case id written into ``failed_rules``."""

    name: str
    description: str

    def _violation(self) -> Column:  # pragma: no cover - abstract
        raise NotImplementedError

    def violation(self) -> Column:
        """TRUE when the row breaks the rule; a null evaluation counts as a break (null-safe)."""
        from pyspark.sql import functions as F

        return F.coalesce(self._violation(), F.lit(True))

    def to_dqdl(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def databrew(self) -> dict[str, Any] | None:
        """The DataBrew rule on the raw CSV, or None when DataBrew cannot express it reliably."""
        return None


@dataclass(frozen=True)
class Required(RowRule):
    """The column is present: not null and (for strings) not blank."""

    column: str = ""

    def _violation(self) -> Column:
        from pyspark.sql import functions as F

        col = F.col(self.column)
        if _TYPE_BY_NAME.get(self.column) == "string":
            return col.isNull() | (F.trim(col) == "")
        return col.isNull()

    def to_dqdl(self) -> str:
        if _TYPE_BY_NAME.get(self.column) == "string":
            return f"ColumnValues {_q(self.column)} not in [NULL, EMPTY, WHITESPACES_ONLY]"
        return f"IsComplete {_q(self.column)}"

    def databrew(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "CheckExpression": "AGG(MISSING_VALUES_COUNT) == :val",
            "SubstitutionMap": _substitutions({":val": "0"}),
            "ColumnSelectors": [{"Name": _RAW_BY_NAME[self.column]}],
        }


@dataclass(frozen=True)
class AllowedValues(RowRule):
    """The column holds one of ``values`` (exact, case-sensitive); null fails."""

    column: str = ""
    values: tuple[str, ...] = ()

    def _violation(self) -> Column:
        from pyspark.sql import functions as F

        col = F.col(self.column)
        return col.isNull() | ~col.isin(*self.values)

    def to_dqdl(self) -> str:
        listed = ", ".join(_q_value(v) for v in self.values)
        return f"ColumnValues {_q(self.column)} in [{listed}]"


@dataclass(frozen=True)
class Range(RowRule):
    """``minimum <= column <= maximum`` (inclusive). ``optional`` lets a null pass."""

    column: str = ""
    minimum: float | None = None
    maximum: float | None = None
    optional: bool = False

    def _violation(self) -> Column:
        from pyspark.sql import functions as F

        col = F.col(self.column)
        bad = F.isnan(col) if _TYPE_BY_NAME.get(self.column) == "double" else F.lit(False)
        if self.minimum is not None:
            bad = bad | (col < F.lit(self.minimum))
        if self.maximum is not None:
            bad = bad | (col > F.lit(self.maximum))
        if self.optional:
            return col.isNotNull() & bad
        return col.isNull() | bad

    def to_dqdl(self) -> str:
        # The where clause keeps only non-null rows, so a blank (null) value is valid. It belongs to each
        # rule: DQDL has no where clause on a composite "(...) and (...)".
        where = f" where {_q(f'{self.column} is not null')}" if self.optional else ""
        parts = []
        if self.minimum is not None:
            parts.append(f"ColumnValues {_q(self.column)} >= {_fmt(self.minimum)}{where}")
        if self.maximum is not None:
            parts.append(f"ColumnValues {_q(self.column)} <= {_fmt(self.maximum)}{where}")
        return parts[0] if len(parts) == 1 else " and ".join(f"({p})" for p in parts)

    def databrew(self) -> dict[str, Any] | None:
        if self.optional or self.minimum is None or self.maximum is None:
            # DataBrew's handling of missing values in value checks is not documented: leave it out.
            return None
        # Two comparisons rather than is_between, whose bound inclusivity the DataBrew "Available checks"
        # page does not state either (a quarter of the sample's rows sit on the lower bound: 0 employees).
        # Implicit syntax (ColumnSelectors name the column) joined by "and", as in the API_FilterExpression
        # example "(starts_with :prefix1 or ...) and (...)" that Available checks points to.
        return {
            "Name": self.name,
            "CheckExpression": ">= :val1 and <= :val2",
            "SubstitutionMap": _substitutions({":val1": _fmt(self.minimum), ":val2": _fmt(self.maximum)}),
            "ColumnSelectors": [{"Name": _RAW_BY_NAME[self.column]}],
            "Threshold": {"Value": 100.0, "Type": "GREATER_THAN_OR_EQUAL", "Unit": "PERCENTAGE"},
        }


@dataclass(frozen=True)
class RequiredWhen(RowRule):
    """``column`` is not null on rows where ``when_column == when_value``."""

    column: str = ""
    when_column: str = ""
    when_value: str = ""

    def _violation(self) -> Column:
        from pyspark.sql import functions as F

        return F.col(self.when_column).eqNullSafe(F.lit(self.when_value)) & F.col(self.column).isNull()

    def to_dqdl(self) -> str:
        condition = f"{self.when_column} = '{self.when_value}'"
        return f"IsComplete {_q(self.column)} where {_q(condition)}"


@dataclass(frozen=True)
class LocalDateNotAfter(RowRule):
    """The local (``tz``) date of timestamp ``earlier`` is not after date ``later``, when both are present."""

    earlier: str = ""
    later: str = ""
    tz: str = LOCAL_TZ

    def _local_date_sql(self) -> str:
        return f"to_date(from_utc_timestamp({self.earlier}, '{self.tz}'))"

    def _violation(self) -> Column:
        from pyspark.sql import functions as F

        local = F.to_date(F.from_utc_timestamp(F.col(self.earlier), self.tz))
        return F.col(self.earlier).isNotNull() & F.col(self.later).isNotNull() & (local > F.col(self.later))

    def to_dqdl(self) -> str:
        sql = (
            f"select count(*) from primary where {self.earlier} is not null and {self.later} is not null"
            f" and {self._local_date_sql()} > {self.later}"
        )
        return f"CustomSql {_q(sql)} = 0"


# ---------------------------------------------------------------------------------------------------
# Dataset rules: evaluated over the whole input (quality.evaluate_dataset_rules measures them).
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetRule:
    name: str
    description: str

    def to_dqdl(self, freshness_days: int = DEFAULT_FRESHNESS_DAYS) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def databrew(self) -> dict[str, Any] | None:
        return None


@dataclass(frozen=True)
class MinCompleteness(DatasetRule):
    """Share of non-null values in ``column`` is at least ``threshold`` (0..1)."""

    column: str = ""
    threshold: float = 1.0

    def to_dqdl(self, freshness_days: int = DEFAULT_FRESHNESS_DAYS) -> str:
        return f"Completeness {_q(self.column)} >= {_fmt(self.threshold)}"

    def databrew(self) -> dict[str, Any]:
        max_missing_pct = round((1.0 - self.threshold) * 100, 6)
        return {
            "Name": self.name,
            "CheckExpression": "AGG(MISSING_VALUES_PERCENTAGE) <= :val",
            "SubstitutionMap": _substitutions({":val": _fmt(max_missing_pct)}),
            "ColumnSelectors": [{"Name": _RAW_BY_NAME[self.column]}],
        }


@dataclass(frozen=True)
class RowCountAbove(DatasetRule):
    """More than ``minimum`` rows."""

    minimum: int = 0

    def to_dqdl(self, freshness_days: int = DEFAULT_FRESHNESS_DAYS) -> str:
        return f"RowCount > {self.minimum}"

    def databrew(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "CheckExpression": "AGG(ROWS_COUNT) > :val",
            "SubstitutionMap": _substitutions({":val": str(self.minimum)}),
        }


@dataclass(frozen=True)
class Freshness(DatasetRule):
    """Every ``column`` value is at most N days (job argument, default 30) older than the run time."""

    column: str = ""

    def to_dqdl(self, freshness_days: int = DEFAULT_FRESHNESS_DAYS) -> str:
        return f"DataFreshness {_q(self.column)} <= {int(freshness_days)} days"


# ---------------------------------------------------------------------------------------------------
# The rules themselves.
# ---------------------------------------------------------------------------------------------------

ROW_RULES: tuple[RowRule, ...] = (
    Required("licence_rsn_present", "LicenceRSN is present (not null, not blank)", column="licence_rsn"),
    AllowedValues(
        "status_allowed",
        "Status is one of " + ", ".join(ALLOWED_STATUSES),
        column="status",
        values=ALLOWED_STATUSES,
    ),
    Range(
        "employees_in_range",
        "NumberofEmployees is present (numeric) and within 0..100000",
        column="number_of_employees",
        minimum=0,
        maximum=100000,
    ),
    Range(
        "fee_paid_non_negative",
        "FeePaid is blank or >= 0",
        column="fee_paid",
        minimum=0,
        optional=True,
    ),
    RequiredWhen(
        "issued_has_issued_date",
        "An Issued licence has an IssuedDate",
        column="issued_date",
        when_column="status",
        when_value="Issued",
    ),
    LocalDateNotAfter(
        "issued_not_after_expiry",
        "The Vancouver-local date of IssuedDate is not after ExpiredDate (when both are present)",
        earlier="issued_date",
        later="expired_date",
    ),
)

DATASET_RULES: tuple[DatasetRule, ...] = (
    MinCompleteness(
        "status_completeness", "At least 95% of rows have a Status", column="status", threshold=0.95
    ),
    RowCountAbove("row_count_positive", "The dataset has rows", minimum=0),
    Freshness(
        "extract_date_fresh",
        "Every ExtractDate is within the configured number of days of the run time",
        column="extract_date",
    ),
)

ROW_RULE_NAMES: tuple[str, ...] = tuple(r.name for r in ROW_RULES)
DATASET_RULE_NAMES: tuple[str, ...] = tuple(r.name for r in DATASET_RULES)


def to_dqdl(freshness_days: int = DEFAULT_FRESHNESS_DAYS) -> str:
    """The DQDL ruleset (cleaned column names), row rules first, one rule a line."""
    lines = [r.to_dqdl() for r in ROW_RULES] + [r.to_dqdl(freshness_days) for r in DATASET_RULES]
    return "Rules = [\n    " + ",\n    ".join(lines) + "\n]"


def databrew_rules() -> list[dict[str, Any]]:
    """Rules for ``AWS::DataBrew::Ruleset`` (CloudFormation shape), over the RAW CSV column names.

    Included: row count > 0, Status missing <= 5%, LicenceRSN never missing, NumberofEmployees within
    0..100000 for 100% of rows. Left out, because DataBrew cannot express them reliably on the raw
    strings: Status allowed values (list substitution syntax undocumented), FeePaid >= 0 (blank handling
    undocumented), the two IssuedDate rules (cross-column; raw timestamps are offset strings) and
    ExtractDate freshness. The Glue quality job enforces all of them on the cleaned table.
    """
    out = []
    for rule in (*ROW_RULES, *DATASET_RULES):
        rendered = rule.databrew()
        if rendered is not None:
            out.append(rendered)
    return out
