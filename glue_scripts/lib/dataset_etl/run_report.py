"""The HTML run report of a dataset: one self-contained page from a run's report document and its chart.

One renderer for both places a run happens: ``dap local`` / ``dap report --html`` (``dap.html_report``,
from the run's ``report.json``) and the Glue summary job (the run report under the curated bucket, from
the quality report and what the job computed). Everything dataset-specific comes from the declaration:
the title and source, the rules' descriptions, the outputs' row counts, the answers (``[[answers]]``:
question, headers, formats) and the chart's caption. The page has no external request of any kind
(inline CSS, the chart as a ``data:`` PNG, a Content-Security-Policy that allows nothing else), reads
on a phone (viewport, fluid grid, tables scroll sideways) and prints (print CSS).

Personal information: the report lives in the curated bucket, where PII never goes, so a failure
example shows the rule's columns and a few identifying columns (``dataset.identifying_columns``) but
never a PII column (``pii = true`` in the schema), whatever the rule reads.

Escaping: Jinja2 with ``autoescape=True`` escapes every value that reaches the page; nothing is ever
marked safe, and the CSP forbids scripts, so a hostile business name shows up as text. Values with
stable ``id`` / ``data-*`` attributes (counts, rule outcomes) are what the browser test reads back.

Pure Python + Jinja2 at import time (Glue 5.0 does not provide Jinja2: the summary job installs it with
``--additional-python-modules``); pyspark is imported only inside :func:`failure_examples`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dataset_etl.rules import RuleSet

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from dataset_etl.declaration import Answer, Dataset

EXAMPLES_PER_RULE = 3
SMALL_FAILED = 2000  # failed rows collected whole to pick the examples in Python
FAILED_RULES = "failed_rules"
STEP_LABELS = {
    "check_input": "Check input",
    "raw_copy": "Copy to raw",
    "spark_start": "Start Spark",
    "recipe": "Clean (DataBrew recipe)",
    "quality_check": "Quality check (Glue job)",
    "summarize": "Summarize (Glue job)",
    "queries": "Named queries (Spark SQL)",
    "chart": "Chart",
    "failure_examples": "Failure examples",
}
# Counts every run has; then one "<output key>_rows" per declared output (see count_labels).
COUNT_LABELS = {
    "rows_read": "Rows read",
    "duplicates_removed": "Duplicates removed",
    "rows_cleaned": "Rows checked",
    "rows_passed": "Passed the checks",
    "rows_failed": "Failed a rule",
}


# -- data -> plain values -------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """A JSON-friendly value: dates as ISO text, Decimal as float, lists element-wise."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def example_columns(dataset: Dataset, rule_name: str, ruleset: RuleSet | None = None) -> tuple[str, ...]:
    """What a failure example of ``rule_name`` shows: identifying columns, the rule's columns (no PII
    column, ever), then ``failed_rules``."""
    rule = (ruleset or RuleSet.of(dataset)).row_rule(rule_name)
    columns = dataset.identifying_columns + (rule.columns if rule is not None else ())
    pii = set(dataset.pii_columns)
    return (*(c for c in dict.fromkeys(columns) if c not in pii), FAILED_RULES)


def _order_key(row: Any, columns: tuple[str, ...]) -> tuple:
    return tuple((row[c] is not None, "" if row[c] is None else row[c]) for c in columns)


def failure_examples(
    failed: DataFrame, dataset: Dataset, per_rule: int = EXAMPLES_PER_RULE
) -> dict[str, list[dict]]:
    """Up to ``per_rule`` failed rows for every rule that failed some, ordered by the identifying columns.

    ``failed`` is the quality job's failed output (cleaned columns + ``failed_rules``). Up to
    ``SMALL_FAILED`` failed rows are collected in one scan and picked in Python (no shuffle: the usual
    case, a few hundred ms less locally); more than that, a window per rule picks them in Spark.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ruleset = RuleSet.of(dataset)
    shown = {r.name: example_columns(dataset, r.name, ruleset) for r in ruleset.row}
    ids = tuple(c for c in dataset.identifying_columns if c not in set(dataset.pii_columns))
    wanted = list(dict.fromkeys(c for columns in shown.values() for c in columns))
    few = failed.select(*wanted).limit(SMALL_FAILED + 1).collect()
    if len(few) <= SMALL_FAILED:
        ordered = sorted(few, key=lambda r: _order_key(r, ids))
        picked = [(rule, row) for row in ordered for rule in row[FAILED_RULES] or ()]
    else:
        order = (F.col(c).asc_nulls_first() for c in ids)
        rows = (
            failed.select(*wanted, F.explode(FAILED_RULES).alias("_rule"))
            .withColumn("_n", F.row_number().over(Window.partitionBy("_rule").orderBy(*order)))
            .where(F.col("_n") <= per_rule)
            .orderBy("_rule", "_n")
            .collect()
        )
        picked = [(row["_rule"], row) for row in rows]
    examples: dict[str, list[dict]] = {}
    for rule, row in picked:
        if rule not in shown:
            continue
        chosen = examples.setdefault(rule, [])
        if len(chosen) < per_rule:
            chosen.append({c: plain(row[c]) for c in shown[rule]})
    return {r.name: examples[r.name] for r in ruleset.row if r.name in examples}


# -- the view: everything the template shows, already formatted -----------------------------------
def _count(value: Any) -> str:
    return "-" if value is None else f"{int(value):,}"


def _number(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _measured(value: Any) -> str:
    """A rule's measurement: whole numbers without decimals, ratios and ages to 4 significant places."""
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return f"{value:,.4g}" if isinstance(value, float) else _number(value)


def _when(text: str) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM UTC' (the text itself when it does not parse)."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return text or "-"
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment.utcoffset() in (None, timedelta(0)) else str(moment)


def _money(value: Any) -> str:
    return "-" if value is None else f"CAD {float(value):,.2f}"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _text(value: Any) -> str:
    return "-" if value is None or value == "" else str(plain(value))


# How an answer's value is shown, by its declared ``format``.
FORMATS = {
    "money": _money,
    "count": _count,
    "number": lambda v: _number(v, 1),
    "date": _text,
    "text": _text,
}


def count_labels(dataset: Dataset) -> dict[str, str]:
    """The counts the report shows: the run's, then one per declared output (``<key>_rows``)."""
    return {**COUNT_LABELS, **{f"{o.key}_rows": f"Rows in {o.table}" for o in dataset.outputs}}


def _conservation(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """rows in = passed + failed (+ duplicates removed when the run saw the recipe step)."""
    passed, failed = doc.get("rows_passed"), doc.get("rows_failed")
    if passed is None or failed is None:
        return None
    if doc.get("rows_read") is not None and doc.get("duplicates_removed") is not None:
        total, dups = doc["rows_read"], doc["duplicates_removed"]
        holds = total == passed + failed + dups
        text = f"{total:,} read = {passed:,} passed + {failed:,} failed + {dups:,} duplicate(s) removed"
    else:
        total = doc.get("rows_cleaned")
        if total is None:
            return None
        holds = total == passed + failed
        text = f"{total:,} checked = {passed:,} passed + {failed:,} failed"
    return {"holds": holds, "text": text}


def run_parameters(doc: Mapping[str, Any], dataset: Dataset) -> dict[str, Any]:
    """The parameters a run used: the declared ones with the document's ``parameters`` over them."""
    return {**dataset.parameters, **(doc.get("parameters") or {})}


def question_text(answer: Answer, parameters: Mapping[str, Any]) -> str:
    """The declared question with ``{parameter}`` filled from the run's parameters."""
    return answer.question.format_map(dict(parameters))


def _answers(doc: Mapping[str, Any], dataset: Dataset) -> list[dict[str, Any]]:
    """The declared business questions that the document answers (``doc["answers"][query]``: one row
    (or None) for ``rows = "first"``, a list of rows for ``"all"``), in the declared order."""
    answers = doc.get("answers") or {}
    queries = doc.get("queries") or {}
    parameters = run_parameters(doc, dataset)
    out = []
    for answer in dataset.answers:
        if answer.query not in answers:
            continue
        value = answers[answer.query]
        if not value:
            rows: list[Any] = []
        elif answer.rows == "first" or isinstance(value, Mapping):
            rows = [value]
        else:
            rows = list(value)
        out.append(
            {
                "id": answer.query,
                "question": question_text(answer, parameters),
                "note": (queries.get(answer.query) or {}).get("description", ""),
                "headers": [c.header for c in answer.columns],
                "rows": [[FORMATS[c.format](_field(row, c.value)) for c in answer.columns] for row in rows],
            }
        )
    return out


def _field(row: Any, name: str) -> Any:
    """A value of a result row: a mapping or a Spark Row (a missing column reads as None)."""
    if isinstance(row, Mapping):
        return row.get(name)
    try:
        return row[name]
    except (KeyError, ValueError, IndexError):
        return None


def _chart_view(dataset: Dataset) -> dict[str, str] | None:
    if dataset.chart is None:
        return None
    output = dataset.output(dataset.chart.output)
    return {"title": dataset.chart.title, "output": output.key, "caption": output.description}


def build_view(
    doc: Mapping[str, Any], dataset: Dataset, *, chart_png: bytes | None, title: str, origin: str
) -> dict[str, Any]:
    """Turn a run report document into the values the template shows (all text, formatted once)."""
    ruleset = RuleSet.of(dataset)
    failed_by_rule = doc.get("failed_by_rule") or {}
    examples = doc.get("failure_examples") or {}
    steps = doc.get("steps") or {}
    longest = max(steps.values(), default=0) or 1
    counts = [
        {"key": key, "label": label, "value": doc[key], "text": _count(doc[key])}
        for key, label in count_labels(dataset).items()
        if doc.get(key) is not None
    ]
    dataset_rules = [
        {
            "name": r["name"],
            "dqdl": r.get("dqdl", ""),
            "expected": r.get("expected", ""),
            "measured": _measured(r.get("measured")),
            "detail": r.get("detail") or "",
            "passed": bool(r.get("passed")),
        }
        for r in doc.get("dataset_rules") or []
    ]
    row_rules = []
    for name, failures in failed_by_rule.items():
        columns = list(example_columns(dataset, name, ruleset))
        row_rules.append(
            {
                "name": name,
                "description": ruleset.description(name),
                "failures": int(failures),
                "failures_text": _count(failures),
                "columns": columns,
                "examples": [[_cell(row.get(c)) for c in columns] for row in examples.get(name, [])],
            }
        )
    run_time = doc.get("run_time") or ""
    return {
        "title": title,
        "origin": origin,
        "stage": doc.get("stage") or "-",
        "status": doc.get("status") or "-",
        "ok": bool(doc.get("dataset_rules_passed", True)) and bool(doc.get("counts_add_up", True)),
        "run_time": run_time,
        "run_time_text": _when(run_time),
        "input": doc.get("input") or doc.get("input_path") or "-",
        "counts": counts,
        "conservation": _conservation(doc),
        "dataset_rules": dataset_rules,
        "row_rules": row_rules,
        "answers": _answers(doc, dataset),
        "answers_note": doc.get("answers_note") or "",
        "chart_info": _chart_view(dataset),
        "chart": base64.b64encode(chart_png).decode("ascii") if chart_png else None,
        "steps": [
            {
                "key": key,
                "label": STEP_LABELS.get(key, key.replace("_", " ").capitalize()),
                "seconds": f"{seconds:.2f}",
                "share": round(100 * seconds / longest, 1),
            }
            for key, seconds in steps.items()
        ],
        "total_seconds": None if doc.get("total_seconds") is None else f"{doc['total_seconds']:.1f}",
        "settings": [(k, _cell(v)) for k, v in (doc.get("settings") or {}).items()],
        "outputs": list((doc.get("outputs") or {}).items()),
        "source": dataset.source,
    }


def render_run_report(
    doc: Mapping[str, Any],
    dataset: Dataset,
    *,
    chart_png: bytes | None = None,
    origin: str = "dap local",
    title: str | None = None,
) -> str:
    """The HTML page of ``doc`` (a run report document, the shape of ``report.json``) of ``dataset``."""
    from jinja2 import Environment, StrictUndefined

    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    view = build_view(
        doc, dataset, chart_png=chart_png, title=title or f"{dataset.title}: run report", origin=origin
    )
    return env.from_string(TEMPLATE).render(**view)


def deployed_report_document(
    quality: Mapping[str, Any] | None,
    summary: Mapping[str, Any],
    dataset: Dataset,
    *,
    stage: str,
    steps: Mapping[str, float],
    examples: Mapping[str, list[dict]] | None,
    workgroup: str | None = None,
) -> dict[str, Any]:
    """The run report document of a deployed run, as the summary job sees it.

    ``quality`` is the quality job's JSON report, ``summary`` what ``summarize.run`` returns (plus
    ``run_time``). The DataBrew recipe's counts (rows read, duplicates) are not known to the Glue
    jobs, so conservation is checked from the cleaned rows in: in = passed + failed. The answers come
    from the Athena named queries, which the job does not run: the document carries a note instead.
    """
    parameters = dict(summary.get("parameters") or {})
    doc: dict[str, Any] = {
        "tool": "Glue summary job",
        "dataset": dataset.id,
        "stage": stage,
        "run_time": summary.get("run_time"),
        **{f"{o.key}_rows": summary.get(f"{o.key}_rows") for o in dataset.outputs},
        "parameters": parameters,
        "settings": dict(parameters),
        "steps": dict(steps),
        "failure_examples": dict(examples or {}),
        "answers_note": "The business questions are answered by the Athena named queries"
        + (f" of workgroup {workgroup}" if workgroup else "")
        + " over the curated tables this job has just written.",
    }
    if quality:
        doc.update(
            input=quality.get("input_path"),
            run_time=quality.get("run_time") or doc["run_time"],
            rows_cleaned=quality.get("rows_in"),
            rows_passed=quality.get("rows_passed"),
            rows_failed=quality.get("rows_failed"),
            counts_add_up=quality.get("counts_add_up"),
            failed_by_rule=quality.get("failures_by_rule"),
            dataset_rules=quality.get("dataset_rules"),
            dataset_rules_passed=quality.get("dataset_rules_passed"),
        )
        doc["settings"]["freshness_days"] = quality.get("freshness_days")
    failed = [r["name"] for r in doc.get("dataset_rules") or [] if not r.get("passed")]
    doc["status"] = "completed" + (f" (dataset rule FAILED: {', '.join(failed)})" if failed else "")
    return doc


def rows_as_dicts(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Spark Rows (or mappings) as plain dicts."""
    return [{k: plain(v) for k, v in (r.asDict() if hasattr(r, "asDict") else dict(r)).items()} for r in rows]


TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{{ title }} ({{ stage }}, {{ run_time_text }})</title>
<style>
:root { --ink:#1d232b; --muted:#5b6570; --line:#d9dee3; --bg:#f6f7f9; --ok:#1b7f3b; --bad:#b3261e;
        --okbg:#e6f4ea; --badbg:#fce8e6; --accent:#1f77b4; --fee:#d95f02; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin:0; font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;
       color:var(--ink); background:var(--bg); }
main { max-width:70rem; margin:0 auto; padding:1rem; }
header.top { background:#fff; border-bottom:1px solid var(--line); }
header.top div { max-width:70rem; margin:0 auto; padding:1rem; }
h1 { font-size:1.5rem; margin:0 0 .25rem; }
h2 { font-size:1.2rem; margin:0 0 .75rem; }
h3 { font-size:1rem; margin:1rem 0 .5rem; }
section { background:#fff; border:1px solid var(--line); border-radius:.5rem; padding:1rem; margin:0 0 1rem; }
.meta { color:var(--muted); margin:0; overflow-wrap:anywhere; }
.badge { display:inline-block; padding:.1rem .5rem; border-radius:1rem; font-size:.85rem; font-weight:600; }
.ok { color:var(--ok); background:var(--okbg); } .bad { color:var(--bad); background:var(--badbg); }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(9.5rem,1fr)); gap:.75rem; margin:0; }
.card { border:1px solid var(--line); border-radius:.5rem; padding:.6rem .75rem; margin:0; }
.card dt { color:var(--muted); font-size:.85rem; } .card dd { margin:0; font-size:1.5rem; font-weight:700; }
.conservation { margin:.75rem 0 0; font-weight:600; }
.scroll { overflow-x:auto; -webkit-overflow-scrolling:touch; }
table { border-collapse:collapse; width:100%; font-size:.92rem; }
th, td { text-align:left; padding:.4rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#f0f2f5; font-weight:600; white-space:nowrap; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
code { font-size:.85em; overflow-wrap:anywhere; }
figure { margin:0; } figure img { display:block; width:100%; height:auto; border:1px solid var(--line); }
figcaption { color:var(--muted); font-size:.9rem; margin-top:.5rem; }
.bar { background:var(--accent); height:.6rem; border-radius:.3rem; min-width:2px; }
.barcell { width:40%; }
.examples caption { text-align:left; color:var(--muted); font-size:.85rem; padding:.25rem 0; }
footer { color:var(--muted); font-size:.85rem; padding:0 1rem 2rem; max-width:70rem; margin:0 auto; }
@media (max-width: 40rem) {
  body { font-size:15px; } main { padding:.5rem; } section { padding:.75rem; }
  h1 { font-size:1.25rem; } .card dd { font-size:1.25rem; } .barcell { width:30%; }
  th { white-space:normal; } th, td { padding:.35rem .4rem; }
  .chartbox img { min-width:46rem; }
}
@media print {
  body { background:#fff; font-size:11pt; } main { max-width:none; padding:0; }
  section { border:none; border-top:1px solid #999; border-radius:0; padding:.5rem 0; break-inside:avoid; }
  .scroll { overflow:visible; } table { font-size:9pt; } th { background:#eee; }
  figure { break-inside:avoid; } .badge { border:1px solid currentColor; }
  .bar { -webkit-print-color-adjust:exact; print-color-adjust:exact; }
}
</style>
</head>
<body>
<header class="top"><div>
<h1>{{ title }}</h1>
<p class="meta">Stage <strong id="stage">{{ stage }}</strong>
 &middot; run time <time id="run-time" datetime="{{ run_time }}">{{ run_time_text }}</time>
 &middot; by {{ origin }}</p>
<p class="meta">Input: <code id="input">{{ input }}</code></p>
<p class="meta">Status: <span id="status" class="badge {{ 'ok' if ok else 'bad' }}">{{ status }}</span></p>
</div></header>
<main>
<section id="counts" aria-labelledby="counts-h">
<h2 id="counts-h">Rows through the pipeline</h2>
<dl class="cards">
{% for c in counts %}
<div class="card"><dt>{{ c.label }}</dt>
<dd id="count-{{ c.key }}" data-count="{{ c.value }}">{{ c.text }}</dd></div>
{% endfor %}
</dl>
{% if conservation %}
<p id="conservation" class="conservation" data-holds="{{ 'true' if conservation.holds else 'false' }}">
<span class="badge {{ 'ok' if conservation.holds else 'bad' }}">
{{ 'adds up' if conservation.holds else 'DOES NOT ADD UP' }}</span>
{{ conservation.text }}</p>
{% endif %}
</section>

<section id="dataset-rules" aria-labelledby="dataset-rules-h">
<h2 id="dataset-rules-h">Dataset rules</h2>
<div class="scroll"><table>
<thead><tr><th>Rule</th><th>Outcome</th><th>Expected</th><th class="num">Measured</th><th>Detail</th>
</tr></thead>
<tbody>
{% for r in dataset_rules %}
<tr id="rule-{{ r.name }}" data-outcome="{{ 'passed' if r.passed else 'failed' }}">
<td><strong>{{ r.name }}</strong><br><code>{{ r.dqdl }}</code></td>
<td><span class="badge {{ 'ok' if r.passed else 'bad' }}">{{ 'passed' if r.passed else 'FAILED' }}</span></td>
<td>{{ r.expected }}</td><td class="num">{{ r.measured }}</td><td>{{ r.detail }}</td></tr>
{% else %}
<tr><td colspan="5">No dataset rule was evaluated.</td></tr>
{% endfor %}
</tbody></table></div>
</section>

<section id="row-rules" aria-labelledby="row-rules-h">
<h2 id="row-rules-h">Row rules: failures and examples</h2>
<div class="scroll"><table>
<thead><tr><th>Rule</th><th>What it checks</th><th class="num">Rows failing</th></tr></thead>
<tbody>
{% for r in row_rules %}
<tr><td><strong>{{ r.name }}</strong></td><td>{{ r.description }}</td>
<td class="num" id="failures-{{ r.name }}" data-failures="{{ r.failures }}">{{ r.failures_text }}</td></tr>
{% endfor %}
</tbody></table></div>
{% for r in row_rules if r.examples %}
<div class="scroll"><table class="examples" id="examples-{{ r.name }}">
<caption>{{ r.name }}: {{ r.examples|length }} of {{ r.failures_text }} failing row(s)</caption>
<thead><tr>{% for c in r.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in r.examples %}
<tr>{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>
{% endfor %}
</tbody></table></div>
{% endfor %}
</section>

<section id="chart-section" aria-labelledby="chart-h">
{% if chart_info %}
<h2 id="chart-h">{{ chart_info.title }}</h2>
{% if chart %}
<figure>
<div class="scroll chartbox"><img id="chart" src="data:image/png;base64,{{ chart }}" width="1320" height="660"
 alt="Chart: {{ chart_info.title }}"></div>
<figcaption>{{ chart_info.caption }}. Source: {{ source }}.</figcaption>
</figure>
{% else %}
<p id="no-chart">No chart: this run wrote no {{ chart_info.output }} rows.</p>
{% endif %}
{% else %}
<h2 id="chart-h">Chart</h2>
<p id="no-chart">No chart: the dataset declares none.</p>
{% endif %}
</section>

<section id="answers" aria-labelledby="answers-h">
<h2 id="answers-h">Answers to the business questions</h2>
{% if answers_note %}<p class="meta">{{ answers_note }}</p>{% endif %}
{% for a in answers %}
<h3>{{ a.question }}</h3>
{% if a.note %}<p class="meta">{{ a.note }}</p>{% endif %}
<div class="scroll"><table id="answer-{{ a.id }}">
<thead><tr>{% for h in a.headers %}
<th{% if not loop.first %} class="num"{% endif %}>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in a.rows %}
<tr>{% for value in row %}<td{% if not loop.first %} class="num"{% endif %}>{{ value }}</td>{% endfor %}</tr>
{% else %}
<tr><td colspan="{{ a.headers|length }}">No answer: no matching rows.</td></tr>
{% endfor %}
</tbody></table></div>
{% endfor %}
</section>

<section id="steps" aria-labelledby="steps-h">
<h2 id="steps-h">Step timings</h2>
<div class="scroll"><table>
<thead><tr><th>Step</th><th class="num">Seconds</th>
<th class="barcell"><span class="meta">relative</span></th></tr></thead>
<tbody>
{% for s in steps %}
<tr id="step-{{ s.key }}"><td>{{ s.label }}</td>
<td class="num" data-seconds="{{ s.seconds }}">{{ s.seconds }}</td>
<td class="barcell"><div class="bar" style="width: {{ s.share }}%"></div></td></tr>
{% endfor %}
</tbody>
{% if total_seconds %}
<tfoot><tr><th>Total (end to end)</th><th class="num" id="total-seconds">{{ total_seconds }}</th><th></th>
</tr></tfoot>
{% endif %}
</table></div>
</section>

{% if settings or outputs %}
<section id="details" aria-labelledby="details-h">
<h2 id="details-h">Settings and outputs</h2>
<div class="scroll"><table>
<tbody>
{% for k, v in settings %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}
{% for k, v in outputs %}<tr><th>{{ k }}</th><td><code>{{ v }}</code></td></tr>{% endfor %}
</tbody></table></div>
</section>
{% endif %}
</main>
<footer>Data: {{ source }}. Generated by {{ origin }}; a self-contained page: it loads nothing else.</footer>
</body>
</html>
"""
