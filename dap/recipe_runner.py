"""Run the DataBrew recipe JSON locally on Spark, one documented operation at a time.

The recipe in ``databrew_recipes/`` is the single source of truth: the Pipeline stack deploys it as an
``AWS::DataBrew::Recipe`` and this module executes the very same steps on a DataFrame, so the local
run and its tests exercise what DataBrew runs. Each operation is one small function registered in
:data:`OPERATIONS`; an operation (or a parameter value) that is not implemented raises
:class:`RecipeError` naming the step, so a recipe edit that the local runner cannot honour fails loudly
instead of being skipped.

``load_recipe`` and ``run_recipe_job`` first check the steps against the DataBrew reference table
(:mod:`dap.databrew_reference`), so a step DataBrew would refuse does not run here either
(``apply_recipe`` does not, so unit tests can exercise one operation on its own).

Semantics follow the DataBrew developer guide (see ``databrew_recipes/README.md``). Where the guide is
silent the runner is *strict*: it converts only values the guide says convert (an integer string to
int, a decimal string to double), so a recipe that relies on undocumented leniency (e.g. string
``"43.0"`` straight to int) shows nulls here rather than passing locally and surprising on AWS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from licence_etl.schema import CLEANED_COLUMNS, PARTITION_COLUMN

from dap.databrew_reference import check_recipe

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RECIPE = REPO_ROOT / "databrew_recipes" / "business_licences_cleaning.json"

INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_INTEGER_RE = r"^\s*[+-]?[0-9]+\s*$"
_DECIMAL_RE = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
# Java regex \s: space, \t, \n, \x0B, \f, \r ("white-space characters").
_WS = r"\s"


class RecipeError(ValueError):
    """The recipe is malformed, uses something the runner does not implement, or gives a wrong schema."""


# -- loading ------------------------------------------------------------------------------------------
def load_recipe(path: str | Path = DEFAULT_RECIPE) -> list[dict[str, Any]]:
    """Load and shape-check a recipe: a list of ``{"Action": {"Operation", "Parameters"}}`` steps."""
    steps = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(steps, list):
        raise RecipeError(f"{path}: a recipe is a JSON list of steps, got {type(steps).__name__}")
    for number, step in enumerate(steps, start=1):
        action = step.get("Action") if isinstance(step, dict) else None
        if not isinstance(action, dict) or not isinstance(action.get("Operation"), str):
            raise RecipeError(
                f"step {number}: expected {{'Action': {{'Operation': ..., 'Parameters': {{}}}}}}"
            )
        params = action.get("Parameters", {})
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise RecipeError(f"step {number} ({action['Operation']}): Parameters must map names to strings")
    # What DataBrew would refuse (or read differently) must not run here either: the same file drives both.
    problems = check_recipe(steps)
    if problems:
        raise RecipeError(f"{path}: not a recipe DataBrew documents:\n" + "\n".join(problems))
    return steps


# -- operations ---------------------------------------------------------------------------------------
def _column(df: DataFrame, params: dict[str, str], key: str = "sourceColumn") -> str:
    name = params.get(key)
    if not name:
        raise RecipeError(f"parameter {key!r} is required")
    if name not in df.columns:
        raise RecipeError(f"column {name!r} does not exist (columns: {', '.join(df.columns)})")
    return name


def _ref(name: str) -> Column:
    from pyspark.sql import functions as F

    return F.col(f"`{name}`")


def op_rename(df: DataFrame, params: dict[str, str]) -> DataFrame:
    """RENAME: ``sourceColumn`` becomes ``targetColumn``; the target must not exist yet."""
    source = _column(df, params)
    target = params.get("targetColumn")
    if not target:
        raise RecipeError("parameter 'targetColumn' is required")
    if target in df.columns:
        raise RecipeError(f"column {target!r} already exists")
    return df.withColumnRenamed(source, target)


def _try_cast(name: str, target: str) -> Column:
    """``try_cast`` (NULL instead of an error, whatever ``spark.sql.ansi.enabled`` says)."""
    from pyspark.sql import functions as F

    return F.expr(f"try_cast(`{name}` as {target})")


def _to_integer(df: DataFrame, name: str, source_type: str, target: str) -> Column:
    from pyspark.sql import functions as F

    col = _ref(name)
    if source_type == "string":
        # Documented: "123" -> 123, "ABC" -> NULL. Only integer strings convert (strict, see module doc).
        value = F.when(col.rlike(_INTEGER_RE), F.expr(f"try_cast(trim(`{name}`) as decimal(38,0))"))
    elif source_type in {"double", "float"} or source_type.startswith("decimal"):
        # A number without a fractional part is that integer; 43.5 has no integer value: NULL.
        value = F.when(col == F.floor(col), col)
    elif source_type in {"int", "bigint", "smallint", "tinyint"}:
        value = col
    else:
        raise RecipeError(f"cannot change {source_type} to {target}")
    lo, hi = INT_RANGES[target]
    return F.when((value >= lo) & (value <= hi), value.cast(target))


def _convert(df: DataFrame, name: str, target: str) -> Column:
    from pyspark.sql import functions as F

    source_type = dict(df.dtypes)[name]
    col = _ref(name)
    if target in INT_RANGES:
        return _to_integer(df, name, source_type, target)
    if target == "double":
        if source_type == "string":
            return F.when(col.rlike(_DECIMAL_RE), F.expr(f"try_cast(trim(`{name}`) as double)"))
        if source_type in {"double", "float", "int", "bigint", "smallint", "tinyint"}:
            return col.cast("double")
        raise RecipeError(f"cannot change {source_type} to {target}")
    if target in {"timestamp", "date"}:
        if source_type in {"string", "timestamp", "date"}:
            # ISO 8601 date or date-time with an optional offset (-08:00, Z): the offset gives the UTC
            # instant; no offset = UTC (DataBrew's default time zone). Unparseable -> NULL.
            return _try_cast(name, target)
        raise RecipeError(f"cannot change {source_type} to {target}")
    if target == "string":
        return col.cast("string")
    raise RecipeError(f"columnDataType {target!r} is not implemented by the local runner")


def op_change_data_type(df: DataFrame, params: dict[str, str]) -> DataFrame:
    """CHANGE_DATA_TYPE: ``sourceColumn`` to ``columnDataType``; a value that cannot convert is NULL."""
    name = _column(df, params)
    target = params.get("columnDataType", "")
    if not target:
        raise RecipeError("parameter 'columnDataType' is required")
    return df.withColumn(name, _convert(df, name, target))


_REMOVE_COMBINED_FLAGS = (
    "collapseConsecutiveWhitespace",
    "removeAllPunctuation",
    "removeAllQuotes",
    "removeAllWhitespace",
    "removeCustomCharacters",
    "removeCustomValue",
    "removeLeadingAndTrailingPunctuation",
    "removeLeadingAndTrailingQuotes",
    "removeLeadingAndTrailingWhitespace",
    "removeLetters",
    "removeNumbers",
    "removeSpecialCharacters",
)
_REMOVE_COMBINED_IMPLEMENTED = {"collapseConsecutiveWhitespace", "removeLeadingAndTrailingWhitespace"}


def op_remove_combined(df: DataFrame, params: dict[str, str]) -> DataFrame:
    """REMOVE_COMBINED: the two whitespace options (trim the ends; 2+ white-space chars -> one space)."""
    from pyspark.sql import functions as F

    name = _column(df, params)
    unknown = set(params) - {*_REMOVE_COMBINED_FLAGS, "sourceColumn", "customCharacters", "customValue"}
    if unknown:
        raise RecipeError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    enabled = {flag for flag in _REMOVE_COMBINED_FLAGS if params.get(flag, "false").lower() == "true"}
    not_implemented = enabled - _REMOVE_COMBINED_IMPLEMENTED
    if not_implemented:
        names = ", ".join(sorted(not_implemented))
        raise RecipeError(f"option(s) not implemented by the local runner: {names}")
    col = _ref(name)
    if "removeLeadingAndTrailingWhitespace" in enabled:
        col = F.regexp_replace(col, rf"^{_WS}+|{_WS}+$", "")
    if "collapseConsecutiveWhitespace" in enabled:
        col = F.regexp_replace(col, rf"{_WS}{{2,}}", " ")
    return df.withColumn(name, col)


def op_upper_case(df: DataFrame, params: dict[str, str]) -> DataFrame:
    """UPPER_CASE: each string of ``sourceColumn`` in upper case (nulls stay null)."""
    from pyspark.sql import functions as F

    name = _column(df, params)
    return df.withColumn(name, F.upper(_ref(name)))


def op_delete_duplicate_rows(df: DataFrame, params: dict[str, str]) -> DataFrame:
    """DELETE_DUPLICATE_ROWS: drop every row equal in all columns to an earlier one (first one kept)."""
    if params:
        raise RecipeError(f"takes no parameters, got {', '.join(sorted(params))}")
    return df.dropDuplicates()


Operation = Callable[["DataFrame", dict[str, str]], "DataFrame"]
OPERATIONS: dict[str, Operation] = {
    "RENAME": op_rename,
    "CHANGE_DATA_TYPE": op_change_data_type,
    "REMOVE_COMBINED": op_remove_combined,
    "UPPER_CASE": op_upper_case,
    "DELETE_DUPLICATE_ROWS": op_delete_duplicate_rows,
}
ROW_REMOVING_OPERATIONS = frozenset({"DELETE_DUPLICATE_ROWS"})


def apply_recipe(df: DataFrame, steps: list[dict[str, Any]]) -> DataFrame:
    """Apply the recipe ``steps`` to ``df`` in order and return the result (lazy, nothing is computed)."""
    for number, step in enumerate(steps, start=1):
        action = step.get("Action", {})
        operation = action.get("Operation", "<missing>")
        if step.get("ConditionExpressions"):
            raise RecipeError(f"step {number} ({operation}): ConditionExpressions are not implemented")
        function = OPERATIONS.get(operation)
        if function is None:
            raise RecipeError(
                f"step {number}: operation {operation!r} is not implemented by the local recipe runner "
                f"(implemented: {', '.join(sorted(OPERATIONS))})"
            )
        try:
            df = function(df, dict(action.get("Parameters", {})))
        except RecipeError as exc:
            raise RecipeError(f"step {number} ({operation}): {exc}") from None
    return df


# -- schema contract and the job ----------------------------------------------------------------------
def check_cleaned_schema(df: DataFrame) -> None:
    """Raise :class:`RecipeError` unless ``df`` has exactly the CLEANED_COLUMNS names and Glue types."""
    actual = dict(df.dtypes)
    expected = {c.name: c.type for c in CLEANED_COLUMNS}
    problems = []
    missing = [n for n in expected if n not in actual]
    extra = [n for n in actual if n not in expected]
    wrong = [f"{n} is {actual[n]}, expected {t}" for n, t in expected.items() if actual.get(n, t) != t]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected {', '.join(extra)}")
    if wrong:
        problems.append("; ".join(wrong))
    if problems:
        raise RecipeError("recipe output does not match schema.CLEANED_COLUMNS: " + "; ".join(problems))


def run_recipe_job(
    spark: SparkSession,
    input_csv: str | Path,
    output_dir: str | Path,
    recipe: str | Path | list[dict[str, Any]] = DEFAULT_RECIPE,
) -> dict[str, Any]:
    """Local twin of the DataBrew recipe job: portal CSV -> recipe -> Snappy Parquet by ``file_year``.

    ``output_dir`` plays ``s3://<transformed>/cleaned/business_licences/`` and is replaced entirely
    (like the job's ``Overwrite: true``). Returns ``rows_read``, ``rows_written``,
    ``duplicates_removed``, ``output_dir`` and ``seconds``.
    """
    from dap.portal_csv import read_portal_csv

    started = time.perf_counter()
    steps = recipe if isinstance(recipe, list) else load_recipe(recipe)
    problems = check_recipe(steps)  # a list passed in is held to the same reference as a file
    if problems:
        raise RecipeError("not a recipe DataBrew documents:\n" + "\n".join(problems))
    raw = read_portal_csv(spark, input_csv)
    cleaned = apply_recipe(raw, steps)
    check_cleaned_schema(cleaned)
    ordered = cleaned.select(*[c.name for c in CLEANED_COLUMNS])

    rows_read = raw.count()
    out = str(Path(output_dir).resolve())
    (
        ordered.repartition(PARTITION_COLUMN)
        .write.mode("overwrite")
        .option("partitionOverwriteMode", "static")  # replace the whole table, not only touched years
        .option("compression", "snappy")
        .partitionBy(PARTITION_COLUMN)
        .parquet(out)
    )
    from licence_etl.schema import cleaned_ddl

    rows_written = spark.read.schema(cleaned_ddl()).parquet(out).count()
    removing = [s for s in steps if s["Action"]["Operation"] in ROW_REMOVING_OPERATIONS]
    return {
        "rows_read": rows_read,
        "rows_written": rows_written,
        "duplicates_removed": rows_read - rows_written if removing else 0,
        "output_dir": out,
        "seconds": round(time.perf_counter() - started, 3),
    }
