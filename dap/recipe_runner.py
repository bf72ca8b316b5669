"""Run a dataset's DataBrew recipe JSON locally on Spark, one documented operation at a time.

A dataset's recipe (``recipe`` of its ``datasets/<id>/dataset.toml``, e.g.
``databrew_recipes/business_licences_cleaning.json``) is the single source of truth: the Pipeline stack
deploys it as an ``AWS::DataBrew::Recipe`` and this module executes the very same steps on a DataFrame,
so the local run and its tests exercise what DataBrew runs. The input is read as the dataset declares
it (``dap.portal_csv``: delimiter, encoding, raw header), and the result must be exactly the dataset's
cleaned columns (``Dataset.columns``: names and Glue types), written as Parquet partitioned by its
``partition_column``. Each operation is one small function registered in
:data:`OPERATIONS`; an operation (or a parameter value) that is not implemented raises
:class:`RecipeError` naming the step, so a recipe edit that the local runner cannot honour fails loudly
instead of being skipped.

Steps are applied in order, but not as one DataFrame per step: consecutive column operations (RENAME,
CHANGE_DATA_TYPE, REMOVE_COMBINED, UPPER_CASE) are folded into one ``select`` (:class:`Projection`),
so the 45 column steps of the recipe cost three plan analyses instead of 45 ever deeper ones; a row
operation (the dedupe) is where DataBrew's semantics need the rows, and the job's only shuffle.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dap.databrew_reference import REMOVE_COMBINED_FLAGS, check_recipe

if TYPE_CHECKING:
    from dataset_etl.declaration import Dataset
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


# -- the projection the column operations build ------------------------------------------------------
_SPARK_TYPES = {"int": "int", "long": "bigint", "double": "double", "timestamp": "timestamp",
                "date": "date", "string": "string"}  # fmt: skip


@dataclass
class _Pending:
    """One output column of the projection being built: its expression and the Spark type it has."""

    expr: Column
    type: str
    derived: bool = False  # more than a plain reference to an input column
    renamed: bool = False


class Projection:
    """Consecutive column operations folded into ONE ``select`` over ``df``.

    Why: a ``withColumn`` per step makes Spark analyse the whole plan again at every step (46 steps,
    each over a plan one level deeper), which is most of the recipe's time on small files. Here each
    step only edits Python-side state (column name -> expression, type), and :meth:`flush` builds one
    projection. Spark's optimizer would collapse the per-step projections into the same one anyway, so
    the rows computed are the same.

    A new projection is started only when folding would change or duplicate work: when a step needs
    the column by its *name* (SQL text such as ``try_cast(`c` as double)``) and the column was renamed
    or computed in the pending projection, or when a step refers to a computed value more than once
    (folding it in would evaluate it once per reference).
    """

    def __init__(self, df: DataFrame) -> None:
        self.df = df
        self.projections = 0
        self._start()

    def _start(self) -> None:
        names = self.df.columns
        if len(set(names)) != len(names):
            raise RecipeError(f"duplicate column names: {', '.join(names)}")
        self.columns = {name: _Pending(_ref(name), kind) for name, kind in self.df.dtypes}
        self.changed = False

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def source(self, params: dict[str, str], key: str = "sourceColumn") -> str:
        name = params.get(key)
        if not name:
            raise RecipeError(f"parameter {key!r} is required")
        if name not in self.columns:
            raise RecipeError(f"column {name!r} does not exist (columns: {', '.join(self.columns)})")
        return name

    def type(self, name: str) -> str:
        return self.columns[name].type

    def expr(self, name: str, *, reused: bool = False) -> Column:
        """The column's current value; ``reused``: the caller refers to it more than once."""
        if reused and self.columns[name].derived:
            self.flush()
        return self.columns[name].expr

    def by_name(self, name: str) -> str:
        """Make the column readable by its name in SQL text (an input column of the projection)."""
        pending = self.columns[name]
        if pending.derived or pending.renamed:
            self.flush()
        return name

    def set(self, name: str, expr: Column, kind: str) -> None:
        self.columns[name] = _Pending(expr, kind, derived=True, renamed=self.columns[name].renamed)
        self.changed = True

    def rename(self, source: str, target: str) -> None:
        pending = self.columns[source]
        pending.renamed = True
        self.columns = {(target if n == source else n): p for n, p in self.columns.items()}
        self.changed = True

    def flush(self) -> DataFrame:
        """The frame with the pending projection applied (the same frame when nothing is pending)."""
        if self.changed:
            expected = [(n, p.type) for n, p in self.columns.items()]
            self.df = self.df.select(*[p.expr.alias(n) for n, p in self.columns.items()])
            self.projections += 1
            if self.df.dtypes != expected:  # the tracked types drive later conversions: they must be right
                raise RecipeError(f"internal: projection gives {self.df.dtypes}, expected {expected}")
            self._start()
        return self.df


def _ref(name: str) -> Column:
    from pyspark.sql import functions as F

    return F.col(f"`{name}`")


# -- operations ---------------------------------------------------------------------------------------
def op_rename(proj: Projection, params: dict[str, str]) -> None:
    """RENAME: ``sourceColumn`` becomes ``targetColumn``; the target must not exist yet."""
    source = proj.source(params)
    target = params.get("targetColumn")
    if not target:
        raise RecipeError("parameter 'targetColumn' is required")
    if target in proj.columns:
        raise RecipeError(f"column {target!r} already exists")
    proj.rename(source, target)


def _try_cast(name: str, target: str) -> Column:
    """``try_cast`` (NULL instead of an error, whatever ``spark.sql.ansi.enabled`` says)."""
    from pyspark.sql import functions as F

    return F.expr(f"try_cast(`{name}` as {target})")


def _to_integer(proj: Projection, name: str, source_type: str, target: str) -> Column:
    from pyspark.sql import functions as F

    if source_type == "string":
        # Documented: "123" -> 123, "ABC" -> NULL. Only integer strings convert (strict, see module doc).
        proj.by_name(name)
        col = _ref(name)
        value = F.when(col.rlike(_INTEGER_RE), F.expr(f"try_cast(trim(`{name}`) as decimal(38,0))"))
    elif source_type in {"double", "float"} or source_type.startswith("decimal"):
        # A number without a fractional part is that integer; 43.5 has no integer value: NULL.
        col = proj.expr(name, reused=True)
        value = F.when(col == F.floor(col), col)
    elif source_type in {"int", "bigint", "smallint", "tinyint"}:
        value = proj.expr(name, reused=True)
    else:
        raise RecipeError(f"cannot change {source_type} to {target}")
    lo, hi = INT_RANGES[target]
    return F.when((value >= lo) & (value <= hi), value.cast(target))


def _convert(proj: Projection, name: str, target: str) -> Column:
    from pyspark.sql import functions as F

    source_type = proj.type(name)
    if target in INT_RANGES:
        return _to_integer(proj, name, source_type, target)
    if target == "double":
        if source_type == "string":
            proj.by_name(name)
            return F.when(_ref(name).rlike(_DECIMAL_RE), F.expr(f"try_cast(trim(`{name}`) as double)"))
        if source_type in {"double", "float", "int", "bigint", "smallint", "tinyint"}:
            return proj.expr(name).cast("double")
        raise RecipeError(f"cannot change {source_type} to {target}")
    if target in {"timestamp", "date"}:
        if source_type in {"string", "timestamp", "date"}:
            # ISO 8601 date or date-time with an optional offset (-08:00, Z): the offset gives the UTC
            # instant; no offset = UTC (DataBrew's default time zone). Unparseable -> NULL.
            return _try_cast(proj.by_name(name), target)
        raise RecipeError(f"cannot change {source_type} to {target}")
    if target == "string":
        return proj.expr(name).cast("string")
    raise RecipeError(f"columnDataType {target!r} is not implemented by the local runner")


def op_change_data_type(proj: Projection, params: dict[str, str]) -> None:
    """CHANGE_DATA_TYPE: ``sourceColumn`` to ``columnDataType``; a value that cannot convert is NULL."""
    name = proj.source(params)
    target = params.get("columnDataType", "")
    if not target:
        raise RecipeError("parameter 'columnDataType' is required")
    proj.set(name, _convert(proj, name, target), _SPARK_TYPES[target])


_REMOVE_COMBINED_IMPLEMENTED = {"collapseConsecutiveWhitespace", "removeLeadingAndTrailingWhitespace"}


def op_remove_combined(proj: Projection, params: dict[str, str]) -> None:
    """REMOVE_COMBINED: the two whitespace options (trim the ends; 2+ white-space chars -> one space)."""
    from pyspark.sql import functions as F

    name = proj.source(params)
    unknown = set(params) - {*REMOVE_COMBINED_FLAGS, "sourceColumn", "customCharacters", "customValue"}
    if unknown:
        raise RecipeError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    enabled = {flag for flag in REMOVE_COMBINED_FLAGS if params.get(flag, "false").lower() == "true"}
    not_implemented = enabled - _REMOVE_COMBINED_IMPLEMENTED
    if not_implemented:
        names = ", ".join(sorted(not_implemented))
        raise RecipeError(f"option(s) not implemented by the local runner: {names}")
    if not enabled:
        return
    col = proj.expr(name)
    if "removeLeadingAndTrailingWhitespace" in enabled:
        col = F.regexp_replace(col, rf"^{_WS}+|{_WS}+$", "")
    if "collapseConsecutiveWhitespace" in enabled:
        col = F.regexp_replace(col, rf"{_WS}{{2,}}", " ")
    proj.set(name, col, "string")


def op_upper_case(proj: Projection, params: dict[str, str]) -> None:
    """UPPER_CASE: each string of ``sourceColumn`` in upper case (nulls stay null)."""
    from pyspark.sql import functions as F

    name = proj.source(params)
    proj.set(name, F.upper(proj.expr(name)), "string")


def op_delete_duplicate_rows(
    df: DataFrame, params: dict[str, str], cluster_by: str | None = None
) -> DataFrame:
    """DELETE_DUPLICATE_ROWS: drop every row equal in all columns to an earlier one (first one kept).

    ``cluster_by`` (a column name): hash-partition by it first, so the one shuffle the dedupe needs also
    groups the rows for a write partitioned by that column (rows equal in all columns are equal in it).
    """
    if params:
        raise RecipeError(f"takes no parameters, got {', '.join(sorted(params))}")
    if cluster_by and cluster_by in df.columns:
        df = df.repartition(_ref(cluster_by))
    return df.dropDuplicates()


ColumnOperation = Callable[[Projection, dict[str, str]], None]
RowOperation = Callable[..., "DataFrame"]
COLUMN_OPERATIONS: dict[str, ColumnOperation] = {
    "RENAME": op_rename,
    "CHANGE_DATA_TYPE": op_change_data_type,
    "REMOVE_COMBINED": op_remove_combined,
    "UPPER_CASE": op_upper_case,
}
ROW_OPERATIONS: dict[str, RowOperation] = {"DELETE_DUPLICATE_ROWS": op_delete_duplicate_rows}
OPERATIONS: dict[str, ColumnOperation | RowOperation] = {**COLUMN_OPERATIONS, **ROW_OPERATIONS}
ROW_REMOVING_OPERATIONS = frozenset({"DELETE_DUPLICATE_ROWS"})


def apply_recipe(df: DataFrame, steps: list[dict[str, Any]], *, cluster_by: str | None = None) -> DataFrame:
    """Apply the recipe ``steps`` to ``df`` in order and return the result (lazy, nothing is computed).

    Consecutive column operations become one projection (:class:`Projection`); a row operation (the
    dedupe) takes the frame as it is after the steps before it. ``cluster_by``: see
    :func:`op_delete_duplicate_rows`. Every step is checked when it is reached, so an error names it.
    """
    proj = Projection(df)
    for number, step in enumerate(steps, start=1):
        action = step.get("Action", {})
        operation = action.get("Operation", "<missing>")
        if step.get("ConditionExpressions"):
            raise RecipeError(f"step {number} ({operation}): ConditionExpressions are not implemented")
        if operation not in OPERATIONS:
            raise RecipeError(
                f"step {number}: operation {operation!r} is not implemented by the local recipe runner "
                f"(implemented: {', '.join(sorted(OPERATIONS))})"
            )
        params = dict(action.get("Parameters", {}))
        try:
            if operation in ROW_OPERATIONS:
                proj = Projection(ROW_OPERATIONS[operation](proj.flush(), params, cluster_by=cluster_by))
            else:
                COLUMN_OPERATIONS[operation](proj, params)
        except RecipeError as exc:
            raise RecipeError(f"step {number} ({operation}): {exc}") from None
    return proj.flush()


# -- schema contract and the job ----------------------------------------------------------------------
def check_cleaned_schema(df: DataFrame, dataset: Dataset) -> None:
    """Raise :class:`RecipeError` unless ``df`` has exactly the dataset's cleaned column names and types."""
    actual = dict(df.dtypes)
    expected = {c.name: c.type for c in dataset.columns}
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
        raise RecipeError(
            f"recipe output does not match the [schema] of {dataset.folder}/dataset.toml: "
            + "; ".join(problems)
        )


_AQE_EXCLUDED_RULES = "spark.sql.adaptive.optimizer.excludedRules"
_PROPAGATE_EMPTY = "org.apache.spark.sql.execution.adaptive.AQEPropagateEmptyRelation"


@contextmanager
def _keep_observed_plan(spark: SparkSession) -> Iterator[None]:
    """Keep adaptive execution from cutting the observed nodes out of the plan while a query runs.

    When a shuffle stage turns out empty (a header-only CSV), AQE replaces the plan above it with an
    empty relation, observed nodes included; ``Observation.get`` would then wait forever for metrics.
    """
    before = spark.conf.get(_AQE_EXCLUDED_RULES, None)
    rules = [r for r in (before or "").split(",") if r.strip()]
    spark.conf.set(_AQE_EXCLUDED_RULES, ",".join([*rules, _PROPAGATE_EMPTY]))
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(_AQE_EXCLUDED_RULES)
        else:
            spark.conf.set(_AQE_EXCLUDED_RULES, before)


def run_recipe_job(
    spark: SparkSession,
    dataset: Dataset,
    input_csv: str | Path,
    output_dir: str | Path,
    recipe: str | Path | list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Local twin of the DataBrew recipe job: portal CSV -> recipe -> Snappy Parquet by partition column.

    ``recipe`` defaults to the dataset's (``dataset.recipe_path``). ``output_dir`` plays
    ``s3://<transformed>/cleaned/<id>/`` and is replaced entirely (like the job's ``Overwrite: true``).
    Returns ``rows_read``, ``rows_written``, ``duplicates_removed``, ``output_dir`` and ``seconds``.

    One Spark job: the CSV is read once, the dedupe's shuffle is the one that groups the rows by the
    partition column for the write, and both counts are observed on the way (``DataFrame.observe``)
    instead of reading the CSV and the written Parquet a second time.
    """
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    from dap.portal_csv import read_portal_csv

    started = time.perf_counter()
    if recipe is None:
        recipe = dataset.recipe_path
    steps = recipe if isinstance(recipe, list) else load_recipe(recipe)
    problems = check_recipe(steps)  # a list passed in is held to the same reference as a file
    if problems:
        raise RecipeError("not a recipe DataBrew documents:\n" + "\n".join(problems))
    read, written = Observation("recipe_rows_read"), Observation("recipe_rows_written")
    partition = dataset.partition_column
    raw = read_portal_csv(spark, input_csv, dataset).observe(read, F.count(F.lit(1)).alias("rows"))
    cleaned = apply_recipe(raw, steps, cluster_by=partition)
    check_cleaned_schema(cleaned, dataset)
    ordered = cleaned.select(*dataset.column_names)
    dedupe = any(s["Action"]["Operation"] in ROW_REMOVING_OPERATIONS for s in steps)
    if not dedupe:
        ordered = ordered.repartition(_ref(partition))  # no dedupe shuffle to group the partitions
    out = str(Path(output_dir).resolve())
    with _keep_observed_plan(spark):
        (
            ordered.observe(written, F.count(F.lit(1)).alias("rows"))
            .write.mode("overwrite")
            .option("partitionOverwriteMode", "static")  # replace the whole table, not only touched years
            .option("compression", "snappy")
            .partitionBy(partition)
            .parquet(out)
        )
    rows_read, rows_written = int(read.get["rows"]), int(written.get["rows"])
    return {
        "rows_read": rows_read,
        "rows_written": rows_written,
        "duplicates_removed": rows_read - rows_written if dedupe else 0,
        "output_dir": out,
        "seconds": round(time.perf_counter() - started, 3),
    }
