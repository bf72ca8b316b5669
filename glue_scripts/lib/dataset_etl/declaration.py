"""A dataset, declared as data: the typed loader of ``datasets/<id>/dataset.toml``.

Every dataset the platform runs is a folder of declarations (README, "Add a dataset"): the raw export's
format, the cleaned schema (with its PII columns), the DataBrew recipe, the quality rules, the curated
outputs, the named queries and the answers and chart a run shows. The CDK constructs, the Glue jobs and
``dap local`` all read a dataset through :func:`load_dataset`, so a new dataset needs no new Python.

The loader checks everything it can without Spark: names, types, references between sections (a rule's
column is a schema column, an output's partition is one of its columns, no PII column reaches a curated
output), and stops at the first problem with ONE line naming the file and the field, e.g.
``datasets/x/dataset.toml: rules.row[2].column: 'fee' is not a column of [schema]``.
Expressions (filters, derived columns, aggregates) are Spark SQL; ``dap.datasets.check_expressions``
parses them at synth and in the tests.

Pure Python 3.11 (``tomllib``): Glue 5.0 imports it to run a job, CDK to synthesize.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

DECLARATION_FILE = "dataset.toml"
QUERIES_FOLDER = "queries"
# Spark/Glue types a declaration may use (the Glue catalog and the Spark DDL share these spellings).
COLUMN_TYPES = ("string", "int", "bigint", "double", "date", "timestamp", "boolean")
ENCODINGS = ("utf-8", "utf-8-sig")
CLASSIFICATIONS = ("public", "internal", "confidential")
ROW_RULE_KINDS = (
    "required", "allowed_values", "range", "required_when", "local_date_not_after", "unique_row"
)  # fmt: skip
DATASET_RULE_KINDS = ("completeness", "row_count_above", "freshness")
CHART_KINDS = ("daily_two_measures", "bar")
ANSWER_FORMATS = ("text", "count", "number", "money", "date")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")  # Glue table/database names: lower case, digits, _
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PORTAL_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_PARAM_RE = re.compile(r":([a-z][a-z0-9_]*)")
# Parameters every run supplies; a declaration's own ``[parameters]`` may not reuse these names.
BUILT_IN_PARAMETERS = ("report_date",)


class DeclarationError(ValueError):
    """A dataset declaration is invalid; the message is one line naming the file and the field."""


# -- the declaration, typed ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RawFormat:
    """How the portal writes the export: what the ingestion check and the DataBrew dataset expect."""

    delimiter: str
    encoding: str  # "utf-8-sig": the export starts with a byte order mark


@dataclass(frozen=True)
class Column:
    """One column of the cleaned table: its raw header name, snake_case name, Glue type, comment."""

    raw_name: str
    name: str
    type: str
    comment: str
    pii: bool = False


@dataclass(frozen=True)
class RuleSpec:
    """One declared rule: ``kind`` picks the check (``dataset_etl.rules``), ``params`` its settings."""

    kind: str
    name: str
    description: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class OutputColumn:
    """One column of a curated output: name, type, comment and the Spark SQL expression that makes it."""

    name: str
    type: str
    comment: str
    expr: str


@dataclass(frozen=True)
class Output:
    """A curated table: ``filter`` the passed rows, add ``derive`` columns, group (or not), select.

    ``key`` is the folder under the dataset's curated prefix and the ``<key>_rows`` count of a run;
    ``csv`` also writes one CSV file (with a header) to ``<key>_csv/`` for people.
    """

    key: str
    table: str
    description: str
    filter: str | None
    derive: tuple[tuple[str, str], ...]
    group_by: tuple[str, ...]
    columns: tuple[OutputColumn, ...]
    partition: str
    order_by: tuple[str, ...]
    csv: bool

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def ddl(self) -> str:
        return ", ".join(f"`{c.name}` {c.type}" for c in self.columns)


@dataclass(frozen=True)
class AnswerColumn:
    header: str
    value: str  # a column of the query's result
    format: str  # one of ANSWER_FORMATS


@dataclass(frozen=True)
class Answer:
    """A business question a run answers from one named query's result (``rows``: first or all)."""

    query: str
    question: str
    rows: str
    columns: tuple[AnswerColumn, ...]


@dataclass(frozen=True)
class Chart:
    """The chart a run draws from one output; ``kind`` picks the drawing, the rest names its columns."""

    kind: str
    output: str
    title: str
    settings: Mapping[str, str]
    # Optional line under the title; ``{parameter}`` is filled from the run's parameters.
    subtitle: str | None = None
    # Copied from the dataset so a chart is drawn from its own declaration: the caption's data source
    # and the time zone its report date is in.
    source: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class Dataset:
    """One dataset's whole declaration, loaded and cross-checked."""

    id: str
    title: str
    description: str
    source: str
    portal_dataset_id: str
    classification: str
    format: RawFormat
    timezone: str
    database: str
    cleaned_table: str
    partition_column: str
    columns: tuple[Column, ...]
    row_rules: tuple[RuleSpec, ...]
    dataset_rules: tuple[RuleSpec, ...]
    parameters: Mapping[str, Any]
    outputs: tuple[Output, ...]
    answers: tuple[Answer, ...]
    chart: Chart | None
    folder: PurePosixPath  # as written in messages (relative to the project when it is inside it)
    path: Path | None  # the folder on disk; None when loaded from text (a Glue job reads the S3 object)
    recipe_file: str  # relative to the folder
    sample_file: str | None  # relative to the folder
    # Non-PII columns that identify a row in a run report's failure examples (optional; default: the
    # first three non-PII columns other than the partition column).
    example_columns: tuple[str, ...] = ()

    # -- derived views --------------------------------------------------------------------------------
    @property
    def raw_header(self) -> tuple[str, ...]:
        return tuple(c.raw_name for c in self.columns)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def pii_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.pii)

    @property
    def identifying_columns(self) -> tuple[str, ...]:
        """What a failure example shows to identify a row: ``example_columns``, else the first three
        non-PII columns other than the partition column."""
        if self.example_columns:
            return self.example_columns
        public = [c.name for c in self.columns if not c.pii and c.name != self.partition_column]
        return tuple(public[:3])

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def cleaned_ddl(self) -> str:
        """Spark DDL of the cleaned table, for reading the recipe job's Parquet with a fixed schema."""
        return ", ".join(f"`{c.name}` {c.type}" for c in self.columns)

    def output(self, key: str) -> Output:
        return next(o for o in self.outputs if o.key == key)

    def _file(self, relative: str) -> Path:
        if self.path is None:
            raise DeclarationError(f"{self.folder}/{DECLARATION_FILE}: loaded from text, no folder to read")
        return (self.path / relative).resolve()

    @property
    def recipe_path(self) -> Path:
        return self._file(self.recipe_file)

    @property
    def sample_path(self) -> Path | None:
        return self._file(self.sample_file) if self.sample_file else None

    @property
    def queries_path(self) -> Path:
        return self._file(QUERIES_FOLDER)


# -- reading ------------------------------------------------------------------------------------------
class _Reader:
    """Typed access to the parsed TOML that names the field of every problem."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field: str, problem: str) -> DeclarationError:
        return DeclarationError(f"{self.where}: {field}: {problem}")

    def table(self, raw: Any, field: str) -> Mapping[str, Any]:
        if not isinstance(raw, Mapping):
            raise self.fail(field, "must be a table")
        return raw

    def keys(
        self, raw: Mapping[str, Any], field: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ):
        allowed = required + optional
        unknown = sorted(set(raw) - set(allowed))
        if unknown:
            where = f"{field}.{unknown[0]}" if field else unknown[0]
            raise self.fail(where, f"unknown field; allowed: {', '.join(allowed)}")
        missing = [k for k in required if k not in raw]
        if missing:
            raise self.fail(f"{field}.{missing[0]}" if field else missing[0], "missing")

    def value(self, raw: Mapping[str, Any], key: str, field: str, kind: type, **checks: Any) -> Any:
        where = f"{field}.{key}" if field else key
        value = raw[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise self.fail(where, f"{value!r} is not {_KIND_WORDS[kind]}")
        if "choices" in checks and value not in checks["choices"]:
            raise self.fail(where, f"{value!r} is not allowed; use one of {', '.join(checks['choices'])}")
        if "pattern" in checks and not checks["pattern"].fullmatch(value):
            raise self.fail(where, f"{value!r} is not allowed; use {checks['allowed']}")
        if kind is str and not checks.get("empty", False) and not value.strip():
            raise self.fail(where, "must not be blank")
        return value

    def optional(self, raw: Mapping[str, Any], key: str, field: str, kind: type, default: Any, **checks: Any):
        return self.value(raw, key, field, kind, **checks) if key in raw else default

    def strings(
        self, raw: Mapping[str, Any], key: str, field: str, *, default: tuple = ()
    ) -> tuple[str, ...]:
        where = f"{field}.{key}" if field else key
        value = raw.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(where, "must be a list of non-blank strings")
        return tuple(value)

    def array(self, raw: Mapping[str, Any], key: str, field: str, *, required: bool = True) -> list[Any]:
        where = f"{field}.{key}" if field else key
        if key not in raw:
            if required:
                raise self.fail(where, "missing")
            return []
        value = raw[key]
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.fail(where, "must be an array of tables ([[...]])")
        return value


_KIND_WORDS = {str: "a string", bool: "true or false", int: "a whole number", float: "a number"}


def _check_names(r: _Reader, names: list[str], field: str, what: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise r.fail(f"{field}[{i}].name", f"{name!r} is declared twice in {what}")
        seen.add(name)


def _columns(r: _Reader, raw: Mapping[str, Any]) -> tuple[tuple[Column, ...], str]:
    schema = r.table(raw, "schema")
    r.keys(schema, "schema", ("partition_column", "columns"))
    columns = []
    for i, col in enumerate(r.array(schema, "columns", "schema")):
        f = f"schema.columns[{i}]"
        r.keys(col, f, ("raw", "name", "type", "comment"), ("pii",))
        columns.append(
            Column(
                raw_name=r.value(col, "raw", f, str),
                name=r.value(col, "name", f, str, pattern=_NAME_RE, allowed="snake_case (a-z, 0-9, _)"),
                type=r.value(col, "type", f, str, choices=COLUMN_TYPES),
                comment=r.value(col, "comment", f, str),
                pii=r.optional(col, "pii", f, bool, False),
            )
        )
    if not columns:
        raise r.fail("schema.columns", "declare at least one column")
    _check_names(r, [c.name for c in columns], "schema.columns", "[schema]")
    raws = [c.raw_name for c in columns]
    for i, name in enumerate(raws):
        if raws.index(name) != i:
            raise r.fail(f"schema.columns[{i}].raw", f"{name!r} is declared twice in [schema]")
    partition = r.value(schema, "partition_column", "schema", str)
    if partition not in [c.name for c in columns]:
        raise r.fail("schema.partition_column", f"{partition!r} is not a column of [schema]")
    return tuple(columns), partition


# What each rule kind takes: field -> (type, required). Column fields are checked against the schema.
_RULE_FIELDS: dict[str, dict[str, tuple[type, bool]]] = {
    "required": {"column": (str, True)},
    "allowed_values": {"column": (str, True), "values": (list, True)},
    "range": {"column": (str, True), "minimum": (float, False), "maximum": (float, False),
              "optional": (bool, False), "exclusive_minimum": (bool, False)},
    "required_when": {"column": (str, True), "when_column": (str, True), "when_value": (str, True)},
    "local_date_not_after": {"earlier": (str, True), "later": (str, True)},
    "unique_row": {},
    "completeness": {"column": (str, True), "threshold": (float, True)},
    "row_count_above": {"minimum": (int, True)},
    "freshness": {"column": (str, True)},
}  # fmt: skip
_COLUMN_FIELDS = ("column", "when_column", "earlier", "later")


def _rules(r: _Reader, raw: Mapping[str, Any], names: tuple[str, ...]) -> tuple[tuple[RuleSpec, ...], ...]:
    rules = r.table(raw, "rules")
    r.keys(rules, "rules", ("row",), ("dataset",))
    out = []
    for section, kinds in (("row", ROW_RULE_KINDS), ("dataset", DATASET_RULE_KINDS)):
        specs = []
        for i, rule in enumerate(r.array(rules, section, "rules", required=section == "row")):
            f = f"rules.{section}[{i}]"
            kind = r.value({**rule, "kind": rule.get("kind", "")}, "kind", f, str, choices=kinds)
            takes = _RULE_FIELDS[kind]
            required = tuple(k for k, (_, req) in takes.items() if req)
            optional = tuple(k for k, (_, req) in takes.items() if not req)
            r.keys(rule, f, ("kind", "name", "description", *required), optional)
            params: dict[str, Any] = {}
            for key, (kind_of, _) in takes.items():
                if key not in rule:
                    continue
                if kind_of is list:
                    params[key] = r.strings(rule, key, f)
                else:
                    params[key] = r.value(rule, key, f, kind_of)
                if key in _COLUMN_FIELDS and params[key] not in names:
                    raise r.fail(f"{f}.{key}", f"{params[key]!r} is not a column of [schema]")
            if kind == "range" and "minimum" not in params and "maximum" not in params:
                raise r.fail(f"{f}.minimum", "a range needs a minimum, a maximum or both")
            if kind == "completeness" and not 0.0 <= params["threshold"] <= 1.0:
                raise r.fail(f"{f}.threshold", f"{params['threshold']!r} is not within 0..1")
            specs.append(
                RuleSpec(
                    kind=kind,
                    name=r.value(rule, "name", f, str, pattern=_NAME_RE, allowed="snake_case"),
                    description=r.value(rule, "description", f, str),
                    params=params,
                )
            )
        out.append(tuple(specs))
    all_names = [s.name for s in (*out[0], *out[1])]
    for i, name in enumerate(all_names):
        if all_names.index(name) != i:
            raise r.fail("rules", f"rule name {name!r} is used twice")
    if not out[0]:
        raise r.fail("rules.row", "declare at least one row rule")
    return tuple(out)


def _parameters(r: _Reader, raw: Any) -> dict[str, Any]:
    params = r.table(raw, "parameters")
    for key, value in params.items():
        if not _NAME_RE.fullmatch(key) or key in BUILT_IN_PARAMETERS:
            reserved = ", ".join(BUILT_IN_PARAMETERS)
            raise r.fail(f"parameters.{key}", f"use a snake_case name that is not {reserved}")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise r.fail(f"parameters.{key}", f"{value!r} is not a string or a number")
    return dict(params)


def _check_parameters(r: _Reader, text: str, field: str, parameters: Mapping[str, Any]) -> None:
    for used in _PARAM_RE.findall(_without_literals(text)):
        if used not in parameters and used not in BUILT_IN_PARAMETERS:
            known = ", ".join(sorted([*parameters, *BUILT_IN_PARAMETERS]))
            raise r.fail(field, f"parameter :{used} is not declared in [parameters] (known: {known})")


def _without_literals(expr: str) -> str:
    """The expression with its quoted strings and backquoted names blanked (for reference checks)."""
    return re.sub(r"'(?:[^'\\]|\\.)*'|`[^`]*`", "''", expr)


def references(expr: str, names: tuple[str, ...]) -> set[str]:
    """Which of ``names`` an expression mentions as an identifier (outside string literals)."""
    bare = _without_literals(expr)
    found = {n for n in names if re.search(rf"(?<![\w:.]){re.escape(n)}(?!\w)", bare)}
    found |= {n for n in names if f"`{n}`" in expr}
    return found


_OUTPUT_REQUIRED = ("key", "table", "description", "partition", "columns")
_OUTPUT_OPTIONAL = ("filter", "derive", "group_by", "order_by", "csv")


def _outputs(r: _Reader, raw: list[Any], dataset: dict[str, Any]) -> tuple[Output, ...]:
    columns: tuple[Column, ...] = dataset["columns"]
    names = tuple(c.name for c in columns)
    pii = tuple(c.name for c in columns if c.pii)
    outputs = []
    for i, out in enumerate(raw):
        f = f"outputs[{i}]"
        r.keys(out, f, _OUTPUT_REQUIRED, _OUTPUT_OPTIONAL)
        filter_ = r.optional(out, "filter", f, str, None)
        if filter_ is not None:
            _check_parameters(r, filter_, f"{f}.filter", dataset["parameters"])
        derive = []
        for j, d in enumerate(r.array(out, "derive", f, required=False)):
            df = f"{f}.derive[{j}]"
            r.keys(d, df, ("name", "expr"))
            name = r.value(d, "name", df, str, pattern=_NAME_RE, allowed="snake_case")
            expr = r.value(d, "expr", df, str)
            _check_parameters(r, expr, f"{df}.expr", dataset["parameters"])
            derive.append((name, expr))
        visible = names + tuple(n for n, _ in derive)
        group_by = r.strings(out, "group_by", f)
        for j, g in enumerate(group_by):
            if g not in visible:
                raise r.fail(f"{f}.group_by[{j}]", f"{g!r} is neither a column of [schema] nor derived")
        cols = []
        for j, c in enumerate(r.array(out, "columns", f)):
            cf = f"{f}.columns[{j}]"
            r.keys(c, cf, ("name", "type", "comment", "expr"))
            col = OutputColumn(
                name=r.value(c, "name", cf, str, pattern=_NAME_RE, allowed="snake_case"),
                type=r.value(c, "type", cf, str, choices=COLUMN_TYPES),
                comment=r.value(c, "comment", cf, str),
                expr=r.value(c, "expr", cf, str),
            )
            _check_parameters(r, col.expr, f"{cf}.expr", dataset["parameters"])
            cols.append(col)
        _check_names(r, [c.name for c in cols], f"{f}.columns", f"outputs[{i}]")
        # Personal information never reaches the curated layer: not by name, not through an expression.
        for j, col in enumerate(cols):
            leaked = ({col.name} & set(pii)) | references(col.expr, pii)
            leaked |= {p for n, e in derive if n in references(col.expr, (n,)) for p in references(e, pii)}
            if leaked:
                problem = f"uses PII column {sorted(leaked)[0]!r}; PII never reaches the curated layer"
                raise r.fail(f"{f}.columns[{j}]", problem)
        partition = r.value(out, "partition", f, str)
        if partition not in [c.name for c in cols]:
            raise r.fail(f"{f}.partition", f"{partition!r} is not one of this output's columns")
        order_by = r.strings(out, "order_by", f)
        for j, o in enumerate(order_by):
            if o not in [c.name for c in cols]:
                raise r.fail(f"{f}.order_by[{j}]", f"{o!r} is not one of this output's columns")
        outputs.append(
            Output(
                key=r.value(out, "key", f, str, pattern=_NAME_RE, allowed="snake_case"),
                table=r.value(
                    out, "table", f, str, pattern=_NAME_RE, allowed="a Glue table name (snake_case)"
                ),
                description=r.value(out, "description", f, str),
                filter=filter_,
                derive=tuple(derive),
                group_by=group_by,
                columns=tuple(cols),
                partition=partition,
                order_by=order_by,
                csv=r.optional(out, "csv", f, bool, False),
            )
        )
    if not outputs:
        raise r.fail("outputs", "declare at least one curated output ([[outputs]])")
    for attr in ("key", "table"):
        seen = [getattr(o, attr) for o in outputs]
        for i, v in enumerate(seen):
            if seen.index(v) != i or (attr == "table" and v == dataset["cleaned_table"]):
                raise r.fail(f"outputs[{i}].{attr}", f"{v!r} is used twice")
    return tuple(outputs)


def _answers(r: _Reader, raw: list[Any], parameters: Mapping[str, Any]) -> tuple[Answer, ...]:
    answers = []
    for i, a in enumerate(raw):
        f = f"answers[{i}]"
        r.keys(a, f, ("query", "question", "columns"), ("rows",))
        question = r.value(a, "question", f, str)
        for used in re.findall(r"\{([a-z_]+)\}", question):
            if used not in parameters:
                raise r.fail(f"{f}.question", f"{{{used}}} is not declared in [parameters]")
        cols = []
        for j, c in enumerate(r.array(a, "columns", f)):
            cf = f"{f}.columns[{j}]"
            r.keys(c, cf, ("header", "value"), ("format",))
            cols.append(
                AnswerColumn(
                    header=r.value(c, "header", cf, str),
                    value=r.value(c, "value", cf, str),
                    format=r.optional(c, "format", cf, str, "text", choices=ANSWER_FORMATS),
                )
            )
        answers.append(
            Answer(
                query=r.value(
                    a, "query", f, str, pattern=_NAME_RE, allowed="a file name in queries/ (no .sql)"
                ),
                question=question,
                rows=r.optional(a, "rows", f, str, "first", choices=("first", "all")),
                columns=tuple(cols),
            )
        )
    return tuple(answers)


# What each chart kind names: settings that must be columns of the chart's output.
_CHART_COLUMNS = {"daily_two_measures": ("date", "bars", "line"), "bar": ("category", "value", "latest")}
_CHART_TEXT = {"daily_two_measures": ("bars_label", "line_label", "date_label"), "bar": ("value_label",)}


def _chart(r: _Reader, raw: Any, outputs: tuple[Output, ...], parameters: Mapping[str, Any]) -> Chart:
    chart = r.table(raw, "chart")
    kind = r.value({**chart, "kind": chart.get("kind", "")}, "kind", "chart", str, choices=CHART_KINDS)
    r.keys(
        chart, "chart", ("kind", "output", "title", *_CHART_COLUMNS[kind], *_CHART_TEXT[kind]), ("subtitle",)
    )
    subtitle = r.optional(chart, "subtitle", "chart", str, None)
    for used in re.findall(r"\{([a-z_]+)\}", subtitle or ""):
        if used not in parameters:
            raise r.fail("chart.subtitle", f"{{{used}}} is not declared in [parameters]")
    key = r.value(chart, "output", "chart", str)
    output = next((o for o in outputs if o.key == key), None)
    if output is None:
        raise r.fail("chart.output", f"{key!r} is not the key of an [[outputs]]")
    settings = {}
    for name in (*_CHART_COLUMNS[kind], *_CHART_TEXT[kind]):
        settings[name] = r.value(chart, name, "chart", str)
        if name in _CHART_COLUMNS[kind] and settings[name] not in output.names:
            raise r.fail(f"chart.{name}", f"{settings[name]!r} is not a column of output {key!r}")
    return Chart(
        kind=kind,
        output=key,
        title=r.value(chart, "title", "chart", str),
        settings=settings,
        subtitle=subtitle,
    )


def _example_columns(r: _Reader, raw: Mapping[str, Any], columns: tuple[Column, ...]) -> tuple[str, ...]:
    names = r.strings(raw, "example_columns", "")
    for i, name in enumerate(names):
        column = next((c for c in columns if c.name == name), None)
        if column is None:
            raise r.fail(f"example_columns[{i}]", f"{name!r} is not a column of [schema]")
        if column.pii:
            raise r.fail(f"example_columns[{i}]", f"{name!r} is PII; a run report never shows PII")
    return names


def _with_context(chart: Chart, raw: Mapping[str, Any]) -> Chart:
    """The chart with the dataset's source and time zone (already checked as strings)."""
    return dataclasses.replace(chart, source=raw["source"], timezone=raw["timezone"])


_TOP_REQUIRED = ("id", "title", "description", "source", "portal_dataset_id", "classification", "timezone",
                 "recipe", "format", "catalog", "schema", "rules", "outputs")  # fmt: skip
_TOP_OPTIONAL = ("sample", "parameters", "answers", "chart", "example_columns")


def parse_dataset(text: str, folder: str | PurePosixPath, path: Path | None = None) -> Dataset:
    """A declaration from its TOML text; ``folder`` is how messages name the dataset's folder."""
    folder = PurePosixPath(folder)
    r = _Reader(f"{folder}/{DECLARATION_FILE}")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DeclarationError(f"{r.where}: not valid TOML: {exc}") from None
    r.keys(raw, "", _TOP_REQUIRED, _TOP_OPTIONAL)
    dataset_id = r.value(
        raw, "id", "", str, pattern=_ID_RE, allowed="2-40 of a-z, 0-9, _ starting with a letter"
    )
    if folder.name != dataset_id:
        raise r.fail("id", f"{dataset_id!r} must equal the folder's name {folder.name!r}")
    fmt = r.table(raw["format"], "format")
    r.keys(fmt, "format", ("delimiter", "encoding"))
    delimiter = r.value(fmt, "delimiter", "format", str, empty=True)
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise r.fail("format.delimiter", f"{delimiter!r} is not one character (not a quote or line break)")
    catalog = r.table(raw["catalog"], "catalog")
    r.keys(catalog, "catalog", ("database", "cleaned_table"))
    columns, partition = _columns(r, raw["schema"])
    parameters = _parameters(r, raw.get("parameters", {}))
    known: dict[str, Any] = {
        "columns": columns,
        "parameters": parameters,
        "cleaned_table": r.value(
            catalog, "cleaned_table", "catalog", str, pattern=_NAME_RE, allowed="snake_case"
        ),
    }
    outputs = _outputs(r, r.array(raw, "outputs", ""), known)
    row_rules, dataset_rules = _rules(r, raw["rules"], tuple(c.name for c in columns))
    return Dataset(
        id=dataset_id,
        title=r.value(raw, "title", "", str),
        description=r.value(raw, "description", "", str),
        source=r.value(raw, "source", "", str),
        portal_dataset_id=r.value(
            raw,
            "portal_dataset_id",
            "",
            str,
            pattern=_PORTAL_ID_RE,
            allowed="the portal's dataset id (a-z, 0-9, - and _)",
        ),
        classification=r.value(raw, "classification", "", str, choices=CLASSIFICATIONS),
        format=RawFormat(
            delimiter=delimiter, encoding=r.value(fmt, "encoding", "format", str, choices=ENCODINGS)
        ),
        timezone=r.value(raw, "timezone", "", str),
        database=r.value(catalog, "database", "catalog", str, pattern=_NAME_RE, allowed="snake_case"),
        cleaned_table=known["cleaned_table"],
        partition_column=partition,
        columns=columns,
        row_rules=row_rules,
        dataset_rules=dataset_rules,
        parameters=parameters,
        outputs=outputs,
        answers=_answers(r, r.array(raw, "answers", "", required=False), parameters),
        chart=_with_context(_chart(r, raw["chart"], outputs, parameters), raw) if "chart" in raw else None,
        folder=folder,
        path=path,
        recipe_file=r.value(raw, "recipe", "", str),
        sample_file=r.optional(raw, "sample", "", str, None),
        example_columns=_example_columns(r, raw, columns),
    )


def load_dataset(folder: str | Path, *, shown_as: str | None = None) -> Dataset:
    """Load and check ``<folder>/dataset.toml``; ``shown_as`` is the folder's name in messages."""
    folder = Path(folder)
    declaration = folder / DECLARATION_FILE
    shown = PurePosixPath(shown_as or folder.as_posix())
    if not declaration.is_file():
        raise DeclarationError(f"{shown}/{DECLARATION_FILE}: missing; a dataset folder needs one")
    dataset = parse_dataset(declaration.read_text(encoding="utf-8"), shown, folder.resolve())
    for field, relative in (("recipe", dataset.recipe_file), ("sample", dataset.sample_file)):
        if relative is not None and not (folder / relative).is_file():
            raise DeclarationError(f"{shown}/{DECLARATION_FILE}: {field}: {relative!r} is not a file")
    return dataset


def with_parameters(dataset: Dataset, overrides: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    """The dataset's parameters with ``overrides`` (from a stage or a job argument) type-checked."""
    merged = dict(dataset.parameters)
    for key, value in overrides.items():
        if key not in merged:
            raise DeclarationError(f"{where}.{key}: not a parameter of dataset {dataset.id!r}")
        widened = isinstance(merged[key], float) and isinstance(value, int) and not isinstance(value, bool)
        if type(value) is not type(merged[key]) and not widened:
            raise DeclarationError(f"{where}.{key}: {value!r} is not of the declared type ({merged[key]!r})")
        merged[key] = value
    return merged
