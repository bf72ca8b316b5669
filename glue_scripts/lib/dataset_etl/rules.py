"""A dataset's data-quality rules, declared as data (``[[rules.*]]``), rendered three ways.

* ``RuleSet.to_dqdl()``: the DQDL ruleset for the Glue ``AWS::Glue::DataQualityRuleset`` on the cleaned
  table.
* ``RowRule.violation()`` / ``DatasetRule``: the Spark checks the quality job runs (see ``quality.py``).
* ``RuleSet.databrew_rules()``: ``AWS::DataBrew::Ruleset`` ``Rules`` for the profile job over the RAW
  CSV (raw column names from the declaration), only for rules DataBrew can express reliably.

Every rule is built from a declared ``RuleSpec`` by ``RuleSet.of(dataset)``; the column's type and raw
name come from the dataset's schema, the local time zone from ``dataset.timezone``.

Null semantics (the same in Spark and DQDL): a row rule fails a null unless the rule says the value is
optional (``optional = true`` on a range). Every Spark violation is wrapped in ``coalesce(..., true)``
so an unknown comparison counts as a failure and a row is never dropped from both the passed and the
failed side.

Decisions worth knowing:

* A two-bound range is rendered as ``>= min`` and ``<= max`` rather than DQDL ``between``, whose bound
  inclusivity the DQDL reference does not state. ``exclusive_minimum`` renders ``> min``.
* ``local_date_not_after`` compares the *local date* (``dataset.timezone``) of a timestamp with a date
  (a licence issued 2024-12-31T23:30-08:00 and expiring 2024-12-31 is valid). DQDL has no cross-column
  rule type, so it is a dataset-level ``CustomSql`` that counts violations (= 0).
* ``unique_row``: an exact duplicate row (every cleaned column equal, a null equal to a null) fails on
  every copy but one. DQDL has no multi-column uniqueness that allows nulls (``IsPrimaryKey`` also
  requires completeness; ``Uniqueness``/``IsUnique`` take one column), so it is a ``CustomSql`` that
  counts the repeated rows (= 0). DataBrew: its documented dataset check ``AGG(DUPLICATE_ROWS_COUNT)``
  on the raw CSV (raw text equal, before the recipe normalises values: it may find fewer).
* DQDL row rules are strict (every row must pass): the ruleset describes the cleaned table before the
  quality job routes failing rows aside, so a Glue DQ run fails whenever some rows would be routed.
* Freshness: every value of the column must be within N days of the run time (DQDL ``DataFreshness`` is
  per row too; null fails). The measured value is the age in days of the OLDEST value.

Pure Python at import time (CDK imports this module at synth to render the DQDL); pyspark is imported
only inside the functions that build Spark columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import Column

    from dataset_etl.declaration import Dataset, RuleSpec

DEFAULT_FRESHNESS_DAYS = 30
DEFAULT_TZ = "UTC"


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

    @property
    def columns(self) -> tuple[str, ...]:
        """The cleaned columns the rule reads (what a failure example shows)."""
        names = [getattr(self, a, "") for a in ("column", "when_column", "earlier", "later")]
        return tuple(n for n in names if n)

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
    column_type: str = "string"
    raw_column: str = ""  # the raw CSV header name; the cleaned name when not given

    def _violation(self) -> Column:
        from pyspark.sql import functions as F

        col = F.col(self.column)
        if self.column_type == "string":
            return col.isNull() | (F.trim(col) == "")
        return col.isNull()

    def to_dqdl(self) -> str:
        if self.column_type == "string":
            return f"ColumnValues {_q(self.column)} not in [NULL, EMPTY, WHITESPACES_ONLY]"
        return f"IsComplete {_q(self.column)}"

    def databrew(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "CheckExpression": "AGG(MISSING_VALUES_COUNT) == :val",
            "SubstitutionMap": _substitutions({":val": "0"}),
            "ColumnSelectors": [{"Name": self.raw_column or self.column}],
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
    """``minimum <= column <= maximum`` (``minimum < column`` with ``exclusive_minimum``).

    ``optional`` lets a null pass. A NaN (double column) always fails.
    """

    column: str = ""
    minimum: float | None = None
    maximum: float | None = None
    optional: bool = False
    exclusive_minimum: bool = False
    column_type: str = "double"
    raw_column: str = ""

    def _violation(self) -> Column:
        from pyspark.sql import functions as F

        col = F.col(self.column)
        bad = F.isnan(col) if self.column_type == "double" else F.lit(False)
        if self.minimum is not None:
            bad = bad | (
                (col <= F.lit(self.minimum)) if self.exclusive_minimum else (col < F.lit(self.minimum))
            )
        if self.maximum is not None:
            bad = bad | (col > F.lit(self.maximum))
        if self.optional:
            return col.isNotNull() & bad
        return col.isNull() | bad

    @property
    def _min_operator(self) -> str:
        return ">" if self.exclusive_minimum else ">="

    def to_dqdl(self) -> str:
        # The where clause keeps only non-null rows, so a blank (null) value is valid. It belongs to each
        # rule: DQDL has no where clause on a composite "(...) and (...)".
        where = f" where {_q(f'{self.column} is not null')}" if self.optional else ""
        parts = []
        if self.minimum is not None:
            parts.append(f"ColumnValues {_q(self.column)} {self._min_operator} {_fmt(self.minimum)}{where}")
        if self.maximum is not None:
            parts.append(f"ColumnValues {_q(self.column)} <= {_fmt(self.maximum)}{where}")
        return parts[0] if len(parts) == 1 else " and ".join(f"({p})" for p in parts)

    def databrew(self) -> dict[str, Any] | None:
        if self.optional:
            # DataBrew's handling of missing values in value checks is not documented: leave it out.
            return None
        # Comparisons rather than is_between, whose bound inclusivity the DataBrew "Available checks" page
        # does not state either (a quarter of the licence sample's rows sit on the lower bound: 0 employees).
        # Implicit syntax (ColumnSelectors name the column) joined by "and", as in the API_FilterExpression
        # example "(starts_with :prefix1 or ...) and (...)" that Available checks points to.
        checks, values = [], {}
        if self.minimum is not None:
            checks.append(f"{self._min_operator} :val1")
            values[":val1"] = _fmt(self.minimum)
        if self.maximum is not None:
            ref = f":val{len(values) + 1}"
            checks.append(f"<= {ref}")
            values[ref] = _fmt(self.maximum)
        return {
            "Name": self.name,
            "CheckExpression": " and ".join(checks),
            "SubstitutionMap": _substitutions(values),
            "ColumnSelectors": [{"Name": self.raw_column or self.column}],
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
    tz: str = DEFAULT_TZ

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


@dataclass(frozen=True)
class UniqueRow(RowRule):
    """No exact duplicate rows: every copy of a repeated row (all ``all_columns`` equal, null equal to
    null) but one fails. The copies are identical, so which one passes does not matter."""

    all_columns: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.all_columns

    def _violation(self) -> Column:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        if not self.all_columns:
            raise ValueError(f"rule {self.name}: unique_row needs the dataset's columns")
        # A window partition groups nulls with nulls (and NaN with NaN), as GROUP BY does in the DQDL.
        copies = Window.partitionBy(*(F.col(c) for c in self.all_columns)).orderBy(F.lit(1))
        return F.row_number().over(copies) > F.lit(1)

    def to_dqdl(self) -> str:
        keys = ", ".join(f"`{c}`" for c in self.all_columns)
        sql = (
            f"select count(*) from (select count(*) as copies from primary group by {keys}"
            " having count(*) > 1) repeated"
        )
        return f"CustomSql {_q(sql)} = 0"

    def databrew(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "CheckExpression": "AGG(DUPLICATE_ROWS_COUNT) == :val",
            "SubstitutionMap": _substitutions({":val": "0"}),
        }


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
    raw_column: str = ""

    def to_dqdl(self, freshness_days: int = DEFAULT_FRESHNESS_DAYS) -> str:
        return f"Completeness {_q(self.column)} >= {_fmt(self.threshold)}"

    def databrew(self) -> dict[str, Any]:
        max_missing_pct = round((1.0 - self.threshold) * 100, 6)
        return {
            "Name": self.name,
            "CheckExpression": "AGG(MISSING_VALUES_PERCENTAGE) <= :val",
            "SubstitutionMap": _substitutions({":val": _fmt(max_missing_pct)}),
            "ColumnSelectors": [{"Name": self.raw_column or self.column}],
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
# From the declaration: RuleSpec (kind, name, description, params) -> rule object.
# ---------------------------------------------------------------------------------------------------


def _column_facts(dataset: Dataset, name: str) -> dict[str, str]:
    column = dataset.column(name)
    return {"column_type": column.type, "raw_column": column.raw_name}


def _optional_float(params: Mapping[str, Any], key: str) -> float | None:
    return None if params.get(key) is None else float(params[key])


_BUILDERS: dict[str, Callable[[Dataset, RuleSpec], RowRule | DatasetRule]] = {
    "required": lambda d, s: Required(
        s.name, s.description, column=s.params["column"], **_column_facts(d, s.params["column"])
    ),
    "allowed_values": lambda d, s: AllowedValues(
        s.name, s.description, column=s.params["column"], values=tuple(s.params["values"])
    ),
    "range": lambda d, s: Range(
        s.name,
        s.description,
        column=s.params["column"],
        minimum=_optional_float(s.params, "minimum"),
        maximum=_optional_float(s.params, "maximum"),
        optional=bool(s.params.get("optional", False)),
        exclusive_minimum=bool(s.params.get("exclusive_minimum", False)),
        **_column_facts(d, s.params["column"]),
    ),
    "required_when": lambda d, s: RequiredWhen(
        s.name,
        s.description,
        column=s.params["column"],
        when_column=s.params["when_column"],
        when_value=s.params["when_value"],
    ),
    "local_date_not_after": lambda d, s: LocalDateNotAfter(
        s.name, s.description, earlier=s.params["earlier"], later=s.params["later"], tz=d.timezone
    ),
    "unique_row": lambda d, s: UniqueRow(s.name, s.description, all_columns=d.column_names),
    "completeness": lambda d, s: MinCompleteness(
        s.name,
        s.description,
        column=s.params["column"],
        threshold=float(s.params["threshold"]),
        raw_column=d.column(s.params["column"]).raw_name,
    ),
    "row_count_above": lambda d, s: RowCountAbove(s.name, s.description, minimum=int(s.params["minimum"])),
    "freshness": lambda d, s: Freshness(s.name, s.description, column=s.params["column"]),
}


def build_rule(dataset: Dataset, spec: RuleSpec) -> RowRule | DatasetRule:
    """The rule object of one declared rule of ``dataset``."""
    if spec.kind not in _BUILDERS:
        raise ValueError(f"{dataset.id}: rule {spec.name!r}: no rule kind {spec.kind!r}")
    return _BUILDERS[spec.kind](dataset, spec)


@dataclass(frozen=True)
class RuleSet:
    """Every rule of one dataset: ``row`` rules route rows, ``dataset`` rules gate the whole input."""

    dataset_id: str
    row: tuple[RowRule, ...]
    dataset: tuple[DatasetRule, ...]

    @classmethod
    def of(cls, dataset: Dataset) -> RuleSet:
        row = tuple(build_rule(dataset, s) for s in dataset.row_rules)
        whole = tuple(build_rule(dataset, s) for s in dataset.dataset_rules)
        assert all(isinstance(r, RowRule) for r in row) and all(isinstance(r, DatasetRule) for r in whole)
        return cls(dataset.id, row, whole)  # type: ignore[arg-type]

    @property
    def row_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.row)

    @property
    def dataset_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.dataset)

    def row_rule(self, name: str) -> RowRule | None:
        return next((r for r in self.row if r.name == name), None)

    def description(self, name: str) -> str:
        """The declared description of a rule ('' for a name this dataset does not declare)."""
        return next((r.description for r in (*self.row, *self.dataset) if r.name == name), "")

    def to_dqdl(self, freshness_days: int = DEFAULT_FRESHNESS_DAYS) -> str:
        """The DQDL ruleset (cleaned column names), row rules first, one rule a line."""
        lines = [r.to_dqdl() for r in self.row] + [r.to_dqdl(freshness_days) for r in self.dataset]
        return "Rules = [\n    " + ",\n    ".join(lines) + "\n]"

    def databrew_rules(self) -> list[dict[str, Any]]:
        """Rules for ``AWS::DataBrew::Ruleset`` (CloudFormation shape), over the RAW CSV column names.

        For the business licences: row count > 0, Status missing <= 5%, LicenceRSN never missing,
        NumberofEmployees within 0..100000 for 100% of rows. Left out, because DataBrew cannot express
        them reliably on the raw strings: allowed values (list substitution syntax undocumented), optional
        ranges (blank handling undocumented), the cross-column rules (raw timestamps are offset strings)
        and freshness. The Glue quality job enforces all of them on the cleaned table.
        """
        out = []
        for rule in (*self.row, *self.dataset):
            rendered = rule.databrew()
            if rendered is not None:
                out.append(rendered)
        return out
