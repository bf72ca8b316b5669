"""A dataset's curated outputs, computed from its declaration with Spark SQL over the PASSED rows.

Each ``[[outputs]]`` of the dataset.toml becomes one query over a temporary view of the passed rows
(a fresh view name per call, so runs in one session never see each other's rows)::

    SELECT CAST((<column expr>) AS <type>) AS `<name>`, ...
    FROM (SELECT *, <derive expr> AS `<derived>`, ... FROM <view>) AS derived
    WHERE <filter>
    GROUP BY <group_by>

The declared ``[parameters]`` (with a run's overrides) and the built-in ``:report_date`` are bound as
Spark named parameters (``spark.sql(text, args=...)``, Spark 3.4+; Glue 5.0 runs 3.5.4), never pasted
into the text. ``:report_date`` is the run's calendar DATE in ``dataset.timezone`` (zoneinfo, from the
``run_time`` argument so a run can be reproduced).

Local dates in expressions (``to_date(from_utc_timestamp(ts, '<zone>'))``) need the UTC session time
zone Glue uses: checked.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from dataset_etl.declaration import Dataset, Output

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

REPORT_DATE = "report_date"


def local_report_date(run_time: datetime, tz: str) -> date:
    """The run's calendar date in ``tz``; a naive ``run_time`` is taken as UTC."""
    aware = run_time.replace(tzinfo=UTC) if run_time.tzinfo is None else run_time
    return aware.astimezone(ZoneInfo(tz)).date()


def _name(name: str) -> str:
    return f"`{name}`"


def output_sql(output: Output, view: str) -> str:
    """The Spark SQL text of one output over the temporary view ``view`` (parameters as ``:name``)."""
    derived = "".join(f", ({expr}) AS {_name(name)}" for name, expr in output.derive)
    text = (
        "SELECT "
        + ", ".join(f"CAST(({c.expr}) AS {c.type}) AS {_name(c.name)}" for c in output.columns)
        + f" FROM (SELECT *{derived} FROM {_name(view)}) AS derived"
    )
    if output.filter:
        text += f" WHERE ({output.filter})"
    if output.group_by:
        text += " GROUP BY " + ", ".join(_name(g) for g in output.group_by)
    return text


_PARAMETER_RE = re.compile(r"(?<![\w:]):([a-z][a-z0-9_]*)")


def used_parameters(text: str) -> set[str]:
    """The ``:name`` parameter markers of a SQL text (outside quoted strings and names)."""
    bare = re.sub(r"'(?:[^'\\]|\\.)*'|`[^`]*`", "''", text)
    return set(_PARAMETER_RE.findall(bare))


def run_parameters(
    dataset: Dataset, parameters: Mapping[str, Any] | None, run_time: datetime
) -> dict[str, Any]:
    """The named parameters of a run: the declared ones, ``parameters`` over them, and ``report_date``."""
    return {
        **dataset.parameters,
        **(parameters or {}),
        REPORT_DATE: local_report_date(run_time, dataset.timezone),
    }


def build_outputs(
    passed_df: DataFrame,
    dataset: Dataset,
    parameters: Mapping[str, Any] | None,
    run_time: datetime,
) -> dict[str, DataFrame]:
    """``{output key: DataFrame}`` with exactly each output's declared columns, in order, cast to their
    declared types. ``parameters`` are the run's values of the declared parameters (``None``: the
    declared defaults); they are not re-checked here (``declaration.with_parameters`` does that)."""
    from dataset_etl.quality import require_utc_session

    require_utc_session(passed_df)
    spark = passed_df.sparkSession
    args = run_parameters(dataset, parameters, run_time)
    view = f"dap_{dataset.id}_passed_{uuid.uuid4().hex}"
    passed_df.createOrReplaceTempView(view)
    try:
        frames = {}
        for output in dataset.outputs:
            text = output_sql(output, view)
            used = used_parameters(text)
            missing = sorted(used - set(args))
            if missing:
                raise ValueError(f"{dataset.id}: output {output.key!r}: no value for :{missing[0]}")
            frames[output.key] = spark.sql(text, args={k: args[k] for k in sorted(used)})
    finally:
        # The frames keep their analysed plans: the view's name is no longer needed.
        spark.catalog.dropTempView(view)
    return frames


def ordered_for_csv(df: DataFrame, output: Output) -> DataFrame:
    """The output ordered by its ``order_by`` (as written to its CSV)."""
    return df.orderBy(*output.order_by) if output.order_by else df


def partitions_to_clear(
    written: Mapping[str, Iterable[Any]],
) -> tuple[list[Any], dict[str, list[Any]]]:
    """Partition values a run covers, and per output those it covers but writes no rows to.

    ``written`` maps each output key to the partition values it has rows for. Covered = the union over
    all outputs (nulls left out); each output clears covered minus its own, so a partition that an
    earlier run wrote and this run emptied (e.g. a year whose rows all stopped matching a filter)
    cannot keep a stale copy. Values compare as text (partition folders are text).
    """
    covered: dict[str, Any] = {}
    own: dict[str, set[str]] = {}
    for key, values in written.items():
        own[key] = set()
        for value in values:
            if value is None:
                continue
            covered.setdefault(str(value), value)
            own[key].add(str(value))
    ordered = sorted(covered.values(), key=lambda v: (type(v).__name__, v))
    clear = {key: [v for v in ordered if str(v) not in mine] for key, mine in own.items()}
    return ordered, clear
