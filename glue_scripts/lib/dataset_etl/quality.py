"""Pure quality-gate functions: route rows by the row rules, measure the dataset rules, build the report.

Invariant: every input row lands on exactly one side. ``failed_rules`` is computed from null-safe
violations (see ``rules.RowRule.violation``), passed = ``size(failed_rules) == 0`` and failed =
``size(failed_rules) > 0``; both predicates are never null, so rows_in = passed + failed always.

The functions take a ``rules.RuleSet`` (``RuleSet.of(dataset)``), expect the dataset's cleaned schema
(``dataset.cleaned_ddl()``) and a UTC session time zone (Glue's default); local dates are computed
explicitly in the dataset's time zone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dataset_etl import rules as R

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

FAILED_RULES = "failed_rules"


def require_utc_session(df: DataFrame) -> None:
    """Local-date logic (``to_date(from_utc_timestamp(...))``) is only right in a UTC session."""
    tz = df.sparkSession.conf.get("spark.sql.session.timeZone")
    if tz not in ("UTC", "Etc/UTC", "GMT", "Z", "+00:00"):
        raise ValueError(f"spark.sql.session.timeZone must be UTC (as on Glue), got {tz!r}")


def annotate(df: DataFrame, ruleset: R.RuleSet) -> DataFrame:
    """``df`` plus ``failed_rules``: array<string> of every row rule the row broke (empty when none)."""
    from pyspark.sql import functions as F

    require_utc_session(df)
    flags = [F.when(rule.violation(), F.lit(rule.name)) for rule in ruleset.row]
    return df.withColumn(FAILED_RULES, F.filter(F.array(*flags), lambda x: x.isNotNull()))


def split_annotated(annotated: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(passed, failed) of an ``annotate``d frame: passed without ``failed_rules``, failed with it."""
    from pyspark.sql import functions as F

    n = F.size(F.col(FAILED_RULES))
    return annotated.where(n == 0).drop(FAILED_RULES), annotated.where(n > 0)


def split_by_quality(df: DataFrame, ruleset: R.RuleSet) -> tuple[DataFrame, DataFrame]:
    """(passed, failed): passed has the input columns; failed keeps them all plus ``failed_rules``."""
    return split_annotated(annotate(df, ruleset))


def row_rule_counts(annotated: DataFrame, ruleset: R.RuleSet) -> dict[str, Any]:
    """One pass: rows_in, passed, failed and failures per rule, from an ``annotate``d frame."""
    from pyspark.sql import functions as F

    n = F.size(F.col(FAILED_RULES))
    aggs = [
        F.count(F.lit(1)).alias("rows_in"),
        F.sum(F.when(n == 0, 1).otherwise(0)).alias("passed"),
        F.sum(F.when(n > 0, 1).otherwise(0)).alias("failed"),
    ]
    aggs += [
        F.sum(F.when(F.array_contains(F.col(FAILED_RULES), r.name), 1).otherwise(0)).alias(f"r{i}")
        for i, r in enumerate(ruleset.row)
    ]
    row = annotated.agg(*aggs).collect()[0]
    return {
        "rows_in": int(row["rows_in"] or 0),
        "passed": int(row["passed"] or 0),
        "failed": int(row["failed"] or 0),
        "failures_by_rule": {r.name: int(row[f"r{i}"] or 0) for i, r in enumerate(ruleset.row)},
    }


@dataclass(frozen=True)
class DatasetOutcome:
    name: str
    dqdl: str
    passed: bool
    measured: float | None
    expected: str
    detail: str


def _as_utc(run_time: datetime) -> datetime:
    return run_time.replace(tzinfo=UTC) if run_time.tzinfo is None else run_time.astimezone(UTC)


def evaluate_dataset_rules(
    df: DataFrame,
    ruleset: R.RuleSet,
    run_time: datetime,
    freshness_days: int = R.DEFAULT_FRESHNESS_DAYS,
) -> list[DatasetOutcome]:
    """Measure each dataset rule in one aggregate pass. A naive ``run_time`` is taken as UTC.

    With zero rows: RowCount fails (measured 0); Completeness and Freshness have nothing to measure
    and fail too (measured None), so an empty extract never passes the gate silently.
    """
    from pyspark.sql import functions as F

    run_epoch = _as_utc(run_time).timestamp()
    aggs = [F.count(F.lit(1)).alias("rows")]
    for i, rule in enumerate(ruleset.dataset):
        if isinstance(rule, R.MinCompleteness):
            aggs.append(F.count(F.col(rule.column)).alias(f"c{i}"))
        elif isinstance(rule, R.Freshness):
            # Epoch seconds: independent of any time zone (collecting timestamps is not).
            aggs.append(F.min(F.col(rule.column).cast("double")).alias(f"oldest{i}"))
            aggs.append(F.count(F.col(rule.column)).alias(f"nn{i}"))
    row = df.agg(*aggs).collect()[0]
    rows = int(row["rows"] or 0)

    out = []
    for i, rule in enumerate(ruleset.dataset):
        dqdl = rule.to_dqdl(freshness_days)
        if isinstance(rule, R.MinCompleteness):
            ratio = (int(row[f"c{i}"]) / rows) if rows else None
            ok = ratio is not None and ratio >= rule.threshold
            detail = f"{int(row[f'c{i}'])} of {rows} rows have {rule.column}"
            out.append(DatasetOutcome(rule.name, dqdl, ok, ratio, f">= {rule.threshold}", detail))
        elif isinstance(rule, R.RowCountAbove):
            out.append(
                DatasetOutcome(rule.name, dqdl, rows > rule.minimum, float(rows), f"> {rule.minimum}", "")
            )
        elif isinstance(rule, R.Freshness):
            oldest, non_null = row[f"oldest{i}"], int(row[f"nn{i}"] or 0)
            age = None if oldest is None else (run_epoch - float(oldest)) / 86400.0
            nulls = rows - non_null
            ok = age is not None and nulls == 0 and age <= freshness_days
            age = None if age is None else round(age, 6)
            detail = f"oldest {rule.column} is {age} days before the run; {nulls} rows without it"
            out.append(DatasetOutcome(rule.name, dqdl, ok, age, f"<= {freshness_days} days", detail))
        else:  # pragma: no cover - a new rule type must be measured here
            raise TypeError(f"no measurement for dataset rule {rule!r}")
    return out


def build_report(
    counts: dict[str, Any],
    outcomes: list[DatasetOutcome],
    run_time: datetime,
    *,
    ruleset: R.RuleSet,
    freshness_days: int,
    input_path: str | None = None,
    passed_path: str | None = None,
    failed_path: str | None = None,
    by_partition: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """The JSON-ready run report. ``counts`` comes from ``row_rule_counts``."""
    rows_in, passed, failed = counts["rows_in"], counts["passed"], counts["failed"]
    return {
        "dataset": ruleset.dataset_id,
        "run_time": _as_utc(run_time).isoformat(),
        "input_path": input_path,
        "passed_path": passed_path,
        "failed_path": failed_path,
        "freshness_days": freshness_days,
        "rows_in": rows_in,
        "rows_passed": passed,
        "rows_failed": failed,
        "failed_row_rate": (failed / rows_in) if rows_in else 0.0,
        "counts_add_up": rows_in == passed + failed,
        "failures_by_rule": dict(counts["failures_by_rule"]),
        "row_rules": [
            {"name": r.name, "description": r.description, "dqdl": r.to_dqdl()} for r in ruleset.row
        ],
        "dataset_rules": [asdict(o) for o in outcomes],
        "dataset_rules_passed": all(o.passed for o in outcomes),
        "by_partition": by_partition or {},
    }
