"""The whole pipeline (recipe, quality gate, summary) in DuckDB: the single-node reference for etl_scale.

It reproduces the semantics of ``dap.recipe_runner`` / ``dap.portal_csv`` and ``dataset_etl`` exactly
for the business licences (everything is declared from the same sources: the recipe JSON, the
declaration ``datasets/business_licences/dataset.toml`` with its columns, rules (``RuleSet.of``) and
parameters), and writes the same outputs with the same partitioning. Unlike ``dap local`` it is not
generic over datasets: the outputs below are the licences' two, written out in SQL by hand.

* recipe: the portal CSV read as 25 strings (blank -> NULL), the recipe steps rendered to SQL (RENAME,
  REMOVE_COMBINED with Java's ``\\s`` class ``[ \\t\\n\\x0B\\f\\r]``, UPPER_CASE, CHANGE_DATA_TYPE with the
  runner's strict null-on-failure rules, DELETE_DUPLICATE_ROWS as ``DISTINCT`` over all columns) ->
  Snappy Parquet by ``file_year``;
* quality: the six row rules (null-safe: an unknown comparison is a failure), ``failed_rules`` as the
  list of broken rule names in rule order, passed / failed Parquet by ``file_year``, the dataset rules
  (completeness, row count, freshness) and a JSON report with the same counts;
* summary: Issued licences with more than ``min_employees`` employees, grouped by the America/Vancouver
  local date of ``issued_date``; the analysis table; Parquet by ``year`` and one CSV.

Physical differences that do not change any value: DuckDB writes timestamps as INT64 microseconds
(UTC-adjusted) where Spark writes INT96, and names a NULL partition ``year=NULL`` rather than
``__HIVE_DEFAULT_PARTITION__``.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dataset_etl import rules as R
from dataset_etl.outputs import local_report_date

from dap.recipe_runner import load_recipe
from stacks.datasets import project_dataset

LICENCES = project_dataset("business_licences")
RULES = R.RuleSet.of(LICENCES)
RAW_HEADER = LICENCES.raw_header
CLEANED_COLUMNS = LICENCES.columns
CLEANED_NAMES = LICENCES.column_names
PARTITION_COLUMN = LICENCES.partition_column
OUTPUT_PARTITION = "year"  # both curated outputs of the licences
LOCAL_TZ = LICENCES.timezone
DEFAULT_RECIPE = LICENCES.recipe_path

WS = r"[ \t\n\x0B\f\r]"  # Java's \s (RE2's \s lacks \x0B)
INTEGER_RE = rf"^{WS}*[+-]?[0-9]+{WS}*$"
DECIMAL_RE = rf"^{WS}*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?{WS}*$"
INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
SQL_TYPES = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "double": "DOUBLE",
    "timestamp": "TIMESTAMPTZ",
    "date": "DATE",
}


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(threads: int = 2):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET TimeZone = 'UTC'")  # like Glue's session time zone; timestamps without offset = UTC
    con.execute("SET preserve_insertion_order = false")
    return con


# -- recipe -------------------------------------------------------------------------------------------
def _convert(expr: str, source_type: str, target: str) -> tuple[str, str]:
    """SQL for CHANGE_DATA_TYPE, with the local runner's semantics; returns (sql, new type)."""
    if target == "integer":
        target = "int"
    if target in INT_RANGES:
        lo, hi = INT_RANGES[target]
        sql_type = "INTEGER" if target == "int" else "BIGINT"
        if source_type == "string":
            match = f"regexp_matches({expr}, {lit(INTEGER_RE)})"
            value = f"CASE WHEN {match} THEN TRY_CAST(trim({expr}) AS HUGEINT) END"
        elif source_type == "double":
            value = f"CASE WHEN {expr} = floor({expr}) THEN {expr} END"
        elif source_type in ("int", "long"):
            value = expr
        else:
            raise ValueError(f"cannot change {source_type} to {target}")
        return f"CASE WHEN ({value}) BETWEEN {lo} AND {hi} THEN CAST({value} AS {sql_type}) END", target
    if target == "double":
        if source_type == "string":
            match = f"regexp_matches({expr}, {lit(DECIMAL_RE)})"
            return f"CASE WHEN {match} THEN TRY_CAST(trim({expr}) AS DOUBLE) END", target
        return f"CAST({expr} AS DOUBLE)", target
    if target in ("timestamp", "date"):
        return f"TRY_CAST({expr} AS {SQL_TYPES[target]})", target
    if target == "string":
        return f"CAST({expr} AS VARCHAR)", target
    raise ValueError(f"columnDataType {target!r} is not implemented")


def recipe_select(steps: list[dict[str, Any]]) -> tuple[str, bool]:
    """The recipe as one SELECT list over the raw CSV columns; returns (select list, distinct?)."""
    exprs: dict[str, str] = {name: q(name) for name in RAW_HEADER}
    types: dict[str, str] = dict.fromkeys(RAW_HEADER, "string")
    distinct = False
    for step in steps:
        op, params = step["Action"]["Operation"], step["Action"].get("Parameters", {})
        if step.get("ConditionExpressions"):
            raise ValueError("ConditionExpressions are not implemented")
        if op == "RENAME":
            src, dst = params["sourceColumn"], params["targetColumn"]
            exprs = {(dst if k == src else k): v for k, v in exprs.items()}
            types = {(dst if k == src else k): v for k, v in types.items()}
        elif op == "REMOVE_COMBINED":
            name = params["sourceColumn"]
            if params.get("removeLeadingAndTrailingWhitespace") == "true":
                exprs[name] = f"regexp_replace({exprs[name]}, {lit(f'^{WS}+|{WS}+$')}, '', 'g')"
            if params.get("collapseConsecutiveWhitespace") == "true":
                exprs[name] = f"regexp_replace({exprs[name]}, {lit(WS + '{2,}')}, ' ', 'g')"
        elif op == "UPPER_CASE":
            name = params["sourceColumn"]
            exprs[name] = f"upper({exprs[name]})"
        elif op == "CHANGE_DATA_TYPE":
            name = params["sourceColumn"]
            exprs[name], types[name] = _convert(exprs[name], types[name], params["columnDataType"].lower())
        elif op == "DELETE_DUPLICATE_ROWS":
            distinct = True  # the last step here; DISTINCT over the converted columns
        else:
            raise ValueError(f"operation {op} is not implemented by the DuckDB reference")
    expected = {c.name: c.type for c in CLEANED_COLUMNS}
    if types != expected:
        raise ValueError(f"recipe output types differ from CLEANED_COLUMNS: {types}")
    return ", ".join(f"{exprs[c]} AS {q(c)}" for c in CLEANED_NAMES), distinct


def _read_csv_sql(path: Path) -> str:
    columns = "{" + ", ".join(f"{lit(name)}: 'VARCHAR'" for name in RAW_HEADER) + "}"
    return (
        f"read_csv({lit(str(path))}, delim=';', quote='\"', escape='\"', header=true, auto_detect=false, "
        f"columns={columns})"
    )


def _copy_parquet(con, select_sql: str, out: Path, partition: str) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"COPY ({select_sql}) TO {lit(str(out))} "
        f"(FORMAT parquet, COMPRESSION snappy, PARTITION_BY ({q(partition)}))"
    )


def run_recipe(con, input_csv: Path, output_dir: Path, recipe: Path = DEFAULT_RECIPE) -> dict[str, Any]:
    started = time.perf_counter()
    select, distinct = recipe_select(load_recipe(recipe))
    blank_to_null = ", ".join(f"nullif({q(n)}, '') AS {q(n)}" for n in RAW_HEADER)
    raw = f"SELECT {blank_to_null} FROM {_read_csv_sql(input_csv)}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE raw_rows AS {raw}")
    rows_read = con.execute("SELECT count(*) FROM raw_rows").fetchone()[0]
    cleaned = f"SELECT {'DISTINCT ' if distinct else ''}{select} FROM raw_rows"
    _copy_parquet(con, cleaned, output_dir, PARTITION_COLUMN)
    con.execute("DROP TABLE raw_rows")
    rows_written = con.execute(f"SELECT count(*) FROM {_read_parquet(output_dir)}").fetchone()[0]
    return {
        "rows_read": rows_read,
        "rows_written": rows_written,
        "duplicates_removed": rows_read - rows_written,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _read_parquet(path: Path) -> str:
    return (
        f"read_parquet({lit(str(path) + '/**/*.parquet')}, hive_partitioning=true, hive_types_autocast=false)"
    )


# -- quality ------------------------------------------------------------------------------------------
def _local_date(expr: str) -> str:
    return f"CAST(timezone({lit(LOCAL_TZ)}, {expr}) AS DATE)"


def violation_sql(rule: R.RowRule) -> str:
    """TRUE when the row breaks ``rule``; never NULL (coalesce(..., true), as rules.RowRule.violation)."""
    types = {c.name: c.type for c in CLEANED_COLUMNS}
    if isinstance(rule, R.Required):
        col = q(rule.column)
        inner = f"{col} IS NULL OR trim({col}) = ''" if types[rule.column] == "string" else f"{col} IS NULL"
    elif isinstance(rule, R.AllowedValues):
        col = q(rule.column)
        inner = f"{col} IS NULL OR NOT ({col} IN ({', '.join(lit(v) for v in rule.values)}))"
    elif isinstance(rule, R.Range):
        col = q(rule.column)
        bad = f"isnan({col})" if types[rule.column] == "double" else "false"
        if rule.minimum is not None:
            bad += f" OR {col} {'<=' if rule.exclusive_minimum else '<'} {rule.minimum!r}"
        if rule.maximum is not None:
            bad += f" OR {col} > {rule.maximum!r}"
        inner = f"{col} IS NOT NULL AND ({bad})" if rule.optional else f"{col} IS NULL OR ({bad})"
    elif isinstance(rule, R.RequiredWhen):
        when = f"{q(rule.when_column)} IS NOT DISTINCT FROM {lit(rule.when_value)}"
        inner = f"({when}) AND {q(rule.column)} IS NULL"
    elif isinstance(rule, R.LocalDateNotAfter):
        e, later = q(rule.earlier), q(rule.later)
        inner = f"{e} IS NOT NULL AND {later} IS NOT NULL AND {_local_date(e)} > {later}"
    else:  # pragma: no cover
        raise TypeError(f"no SQL for rule {rule!r}")
    return f"coalesce(({inner}), true)"


def run_quality(
    con,
    input_dir: Path,
    passed_dir: Path,
    failed_dir: Path,
    report_path: Path,
    run_time: datetime,
    freshness_days: int = R.DEFAULT_FRESHNESS_DAYS,
) -> dict[str, Any]:
    started = time.perf_counter()
    part = PARTITION_COLUMN
    cols = ", ".join(q(c) for c in CLEANED_NAMES)
    flags = ", ".join(f"CASE WHEN {violation_sql(r)} THEN {lit(r.name)} END" for r in RULES.row)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE annotated AS SELECT {cols}, "
        f"list_filter([{flags}], lambda x: x IS NOT NULL) AS failed_rules FROM {_read_parquet(input_dir)}"
    )
    per_rule = ", ".join(
        f"sum(CASE WHEN list_contains(failed_rules, {lit(r.name)}) THEN 1 ELSE 0 END)" for r in RULES.row
    )
    # dataset rules measured on the same rows in the same pass (count(status), oldest extract epoch)
    row = con.execute(
        "SELECT count(*), sum(CASE WHEN len(failed_rules) = 0 THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN len(failed_rules) > 0 THEN 1 ELSE 0 END), {per_rule}, "
        "count(status), min(epoch(extract_date)), count(extract_date) FROM annotated"
    ).fetchone()
    rows_in, passed, failed = int(row[0]), int(row[1] or 0), int(row[2] or 0)
    n_rules = len(RULES.row)
    by_rule = {r.name: int(row[3 + i] or 0) for i, r in enumerate(RULES.row)}
    status_count, oldest, extract_non_null = row[3 + n_rules], row[4 + n_rules], row[5 + n_rules]
    per_part = {
        str(p): {"passed": int(a), "failed": int(b)}
        for p, a, b in con.execute(
            f"SELECT {q(part)}, sum(CASE WHEN len(failed_rules) = 0 THEN 1 ELSE 0 END), "
            f"sum(CASE WHEN len(failed_rules) > 0 THEN 1 ELSE 0 END) FROM annotated GROUP BY 1"
        ).fetchall()
    }
    _copy_parquet(con, f"SELECT {cols} FROM annotated WHERE len(failed_rules) = 0", passed_dir, part)
    _copy_parquet(
        con, f"SELECT {cols}, failed_rules FROM annotated WHERE len(failed_rules) > 0", failed_dir, part
    )
    con.execute("DROP TABLE annotated")

    run_epoch = run_time.astimezone(UTC).timestamp()
    outcomes = []
    for rule in RULES.dataset:
        if isinstance(rule, R.MinCompleteness):
            ratio = status_count / rows_in if rows_in else None
            outcomes.append(
                {
                    "name": rule.name,
                    "passed": ratio is not None and ratio >= rule.threshold,
                    "measured": ratio,
                }
            )
        elif isinstance(rule, R.RowCountAbove):
            outcomes.append({"name": rule.name, "passed": rows_in > rule.minimum, "measured": float(rows_in)})
        elif isinstance(rule, R.Freshness):
            age = None if oldest is None else (run_epoch - float(oldest)) / 86400.0
            ok = age is not None and extract_non_null == rows_in and age <= freshness_days
            outcomes.append(
                {"name": rule.name, "passed": ok, "measured": None if age is None else round(age, 6)}
            )
    report = {
        "run_time": run_time.astimezone(UTC).isoformat(),
        "rows_in": rows_in,
        "rows_passed": passed,
        "rows_failed": failed,
        "failed_row_rate": failed / rows_in if rows_in else 0.0,
        "counts_add_up": rows_in == passed + failed,
        "failures_by_rule": by_rule,
        "dataset_rules": outcomes,
        "dataset_rules_passed": all(o["passed"] for o in outcomes),
        "by_partition": per_part,
    }
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2, sort_keys=True, default=str))
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


# -- summary ------------------------------------------------------------------------------------------
def run_summary(
    con,
    input_dir: Path,
    summary_dir: Path,
    summary_csv_dir: Path,
    licences_dir: Path,
    run_time: datetime,
    *,
    min_employees: int = LICENCES.parameters["min_employees"],
    status: str = LICENCES.parameters["status"],
) -> dict[str, Any]:
    started = time.perf_counter()
    report_date = local_report_date(run_time, LOCAL_TZ).isoformat()
    con.execute(f"CREATE OR REPLACE TEMP VIEW passed AS SELECT * FROM {_read_parquet(input_dir)}")
    daily = (
        f"SELECT {_local_date('issued_date')} AS issue_date, count(*) AS licence_count, "
        "CAST(max(number_of_employees) AS INTEGER) AS max_number_of_employees, "
        "CAST(avg(fee_paid) AS DOUBLE) AS avg_fee_paid, max(expired_date) AS max_expired_date, "
        f"DATE {lit(report_date)} AS report_date "
        f"FROM passed WHERE status = {lit(status)} AND number_of_employees > {int(min_employees)} "
        "AND issued_date IS NOT NULL GROUP BY 1"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE daily AS SELECT *, CAST(year(issue_date) AS INTEGER) AS year "
        f"FROM ({daily}) ORDER BY issue_date"
    )
    plain = [c for c in LICENCES.output("licences").names if c not in ("issue_date", "year")]
    licences = (
        f"SELECT {', '.join(q(c) for c in plain)}, {_local_date('issued_date')} AS issue_date, "
        "CAST(coalesce(year(" + _local_date("issued_date") + "), CASE WHEN TRY_CAST(file_year AS INTEGER) "
        "BETWEEN 0 AND 99 THEN TRY_CAST(file_year AS INTEGER) + 2000 ELSE TRY_CAST(file_year AS INTEGER) END"
        ") AS INTEGER) AS year FROM passed"
    )
    _copy_parquet(con, licences, licences_dir, OUTPUT_PARTITION)
    _copy_parquet(con, "SELECT * FROM daily", summary_dir, OUTPUT_PARTITION)
    if summary_csv_dir.exists():
        shutil.rmtree(summary_csv_dir)
    summary_csv_dir.mkdir(parents=True)
    con.execute(
        f"COPY (SELECT * FROM daily ORDER BY issue_date) TO {lit(str(summary_csv_dir / 'part-00000.csv'))} "
        "(HEADER, DELIMITER ',')"
    )
    summary_rows = con.execute("SELECT count(*) FROM daily").fetchone()[0]
    licences_rows = con.execute(f"SELECT count(*) FROM {_read_parquet(licences_dir)}").fetchone()[0]
    con.execute("DROP TABLE daily")
    con.execute("DROP VIEW passed")
    return {
        "summary_rows": summary_rows,
        "licences_rows": licences_rows,
        "seconds": round(time.perf_counter() - started, 3),
    }
