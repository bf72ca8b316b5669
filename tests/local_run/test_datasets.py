"""`dap local` runs any declared dataset: every dataset of datasets/ in one run, a made-up third dataset
from a fixture folder that holds nothing but declarations, and a broken declaration stops with one line.

The employee remuneration holds personal information (``name``, ``pii = true``): it may be in the raw and
cleaned data, never in a curated output, a query result or the run report.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from dataset_etl.declaration import DECLARATION_FILE

from dap.databrew_reference import check_recipe
from dap.local_run import LocalLayout, declared_datasets, resolve_dataset

from .conftest import TREES_FOLDER, cli, dataset_sections

TREES_FILES = {"dataset.toml", "recipe.json", "sample.csv", "queries/largest_neighbourhood.sql"}


def _conserved(report: dict) -> bool:
    return report["rows_read"] - report["duplicates_removed"] == report["rows_passed"] + report["rows_failed"]


# -- every dataset of datasets/ -----------------------------------------------------------------------
def test_dap_local_without_dataset_runs_every_declared_dataset_in_order(all_runs):
    ids = [d.id for d in declared_datasets()]
    assert ids[0] == "business_licences" and len(ids) == len(set(ids))
    assert list(dataset_sections(all_runs.stdout)) == ids  # in this order, each under its own header
    for dataset_id in ids:
        layout = LocalLayout.of(all_runs.out, dataset_id)
        report = json.loads(layout.report.read_text(encoding="utf-8"))
        assert report["dataset"] == dataset_id and report["status"].startswith("completed")
        assert _conserved(report) and report["counts_add_up"] is True
        assert layout.html.is_file() and (layout.root / ".dap-local-run").is_file()
    # the last line: one total over the datasets
    last = all_runs.stdout.rstrip("\n").splitlines()[-1]
    assert last.startswith(f"dap local: {len(ids)} of {len(ids)} dataset(s) completed in ")
    assert all(f"{i} " in last for i in ids)


# -- a third dataset: only declarations ---------------------------------------------------------------
def test_the_trees_fixture_is_only_declarations():
    files = {p.relative_to(TREES_FOLDER).as_posix() for p in TREES_FOLDER.rglob("*") if p.is_file()}
    assert files == TREES_FILES
    steps = json.loads((TREES_FOLDER / "recipe.json").read_text())
    assert check_recipe(steps) == []
    assert {s["Action"]["Operation"] for s in steps} == {"RENAME", "CHANGE_DATA_TYPE"}


def _trees_expected(minimum: float) -> dict:
    """An independent reading of the fixture's sample: the rules and the output, by hand."""
    with (TREES_FOLDER / "sample.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    passed = [
        r for r in rows if r["SPECIES_NAME"].strip() and r["DIAMETER"] and 0 <= float(r["DIAMETER"]) <= 300
    ]
    by_area = defaultdict(list)
    for r in passed:
        if float(r["DIAMETER"]) >= minimum:
            by_area[r["NEIGHBOURHOOD_NAME"]].append(float(r["DIAMETER"]))
    top = min(by_area, key=lambda a: (-len(by_area[a]), a))
    return {
        "rows_read": len(rows),
        "rows_passed": len(passed),
        "areas": len(by_area),
        "answer": {
            "neighbourhood": top,
            "tree_count": len(by_area[top]),
            "avg_diameter_cm": round(sum(by_area[top]) / len(by_area[top]), 2),
        },
    }


def test_dap_local_runs_a_dataset_folder(trees_run):
    assert (trees_run.code, trees_run.stderr) == (0, "")
    layout = LocalLayout.of(trees_run.out, "street_trees")
    report = json.loads(layout.report.read_text(encoding="utf-8"))
    expected = _trees_expected(report["parameters"]["min_diameter_cm"])
    assert report["parameters"] == {"min_diameter_cm": 10}  # declared; no stage setting overrides it
    assert report["dataset"] == "street_trees" and report["dataset_folder"] == str(TREES_FOLDER)
    assert report["input"] == str(TREES_FOLDER / "sample.csv")  # the declared sample, relative to the folder
    assert (report["rows_read"], report["duplicates_removed"]) == (expected["rows_read"], 0)
    assert report["rows_passed"] == expected["rows_passed"] and report["rows_failed"] == 1
    assert _conserved(report) and report["counts_add_up"] is True
    assert {k: v for k, v in report["failed_by_rule"].items() if v} == {"diameter_in_range": 1}
    assert report["by_neighbourhood_rows"] == expected["areas"]
    assert report["answers"] == {"largest_neighbourhood": expected["answer"]}
    # the tree of the buckets, the CSV the output declares, the query result, the chart, the page
    top = expected["answer"]["neighbourhood"]
    assert list((layout.output("by_neighbourhood") / f"neighbourhood={top}").glob("*.parquet"))
    assert layout.output_csv_file("by_neighbourhood") is not None
    with (layout.athena_results / "largest_neighbourhood.csv").open(newline="") as fh:
        assert list(csv.reader(fh)) == [
            ["neighbourhood", "tree_count", "avg_diameter_cm"],
            [top, str(expected["answer"]["tree_count"]), str(expected["answer"]["avg_diameter_cm"])],
        ]
    assert layout.chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = layout.html.read_text(encoding="utf-8")
    assert (
        "Street trees" in page
        and "Which neighbourhood has the most street trees at least 10 cm wide?" in page
    )
    # the console: the question with its parameter filled in, the answer in the declared formats
    text = trees_run.stdout
    assert "dap local: Street trees (street_trees) through the pipeline" in text
    assert "Which neighbourhood has the most street trees at least 10 cm wide?" in text
    avg = expected["answer"]["avg_diameter_cm"]
    assert (
        f"Neighbourhood: {top}; Trees: {expected['answer']['tree_count']}; Average diameter (cm): {avg:.1f}"
        in text
    )
    assert text.rstrip("\n").splitlines()[-1] == f"HTML report: {layout.html}"


def test_dap_report_redraws_a_fixture_run_from_its_report(trees_run, tmp_path, capsys):
    """The run folder names its dataset folder (report.json), so dap report needs no --dataset."""
    layout = LocalLayout.of(trees_run.out, "street_trees")
    html = tmp_path / "again.html"
    code, stdout, stderr = cli(["report", "--html", "--run-dir", layout.root, "--out", html], capsys)
    assert (code, stderr) == (0, "") and "with the chart" in stdout
    assert html.read_text(encoding="utf-8") == layout.html.read_text(encoding="utf-8")
    png = tmp_path / "chart.png"
    argv = ["report", "--run-dir", trees_run.out, "--dataset", TREES_FOLDER, "--out", png]
    code, stdout, stderr = cli(argv, capsys)
    assert (code, stderr) == (0, "") and f"{png} (1320x660, " in stdout


BROKEN = {  # (text in the fixture's dataset.toml, what it becomes, the field and problem named)
    "column": (
        'column = "diameter_cm"',
        'column = "diameter"',
        "rules.row[1].column: 'diameter' is not a column",
    ),
    "delimiter": ('delimiter = ","', 'delimiter = ",,"', "format.delimiter: ',,' is not one character"),
    "sample": ('sample = "sample.csv"', 'sample = "nope.csv"', "sample: 'nope.csv' is not a file"),
    "output": (
        'expr = "count(1)"',
        'expr = "count(1"',
        "outputs[0].columns[1].expr: 'count(1' is not a Spark SQL",
    ),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_a_broken_declaration_stops_with_one_line(tmp_path, capsys, kind):
    old, new, problem = BROKEN[kind]
    folder = tmp_path / "street_trees"
    shutil.copytree(TREES_FOLDER, folder)
    toml = folder / DECLARATION_FILE
    assert toml.read_text().count(old) == 1
    toml.write_text(toml.read_text().replace(old, new))
    code, stdout, stderr = cli(["local", "--dataset", folder, "--out", tmp_path / "out"], capsys)
    assert (code, stdout) == (1, "")
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith(f"dap local: {folder.as_posix()}/dataset.toml: {problem}"), stderr
    assert not (tmp_path / "out").exists()


def test_an_answer_without_its_query_file_stops_with_one_line(tmp_path, capsys):
    folder = tmp_path / "street_trees"
    shutil.copytree(TREES_FOLDER, folder)
    (folder / "queries" / "largest_neighbourhood.sql").unlink()
    code, _, stderr = cli(["local", "--dataset", folder, "--out", tmp_path / "out"], capsys)
    assert code == 1 and stderr == (
        f"dap local: {folder.as_posix()}/dataset.toml: answers[0].query: 'largest_neighbourhood' has no "
        "queries/largest_neighbourhood.sql\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_dataset_by_id_or_by_folder_is_the_same_declaration():
    by_id = resolve_dataset("business_licences")
    by_folder = resolve_dataset(Path(by_id.path))
    assert by_folder.id == by_id.id and by_folder.outputs == by_id.outputs


# -- the employee remuneration: personal information never leaves the cleaned data ----------------------
def _names(dataset) -> set[str]:
    with dataset.sample_path.open(encoding="utf-8", newline="") as fh:
        return {r["Name"] for r in csv.DictReader(fh, delimiter=dataset.format.delimiter) if r["Name"]}


def test_remuneration_runs_and_its_counts_add_up(remuneration_run):
    report = remuneration_run.report
    with remuneration_run.dataset.sample_path.open(encoding="utf-8") as fh:
        assert report["rows_read"] == sum(1 for _ in fh) - 1 > 0
    assert _conserved(report) and report["counts_add_up"] is True
    assert report["rows_failed"] > 0  # the sample plants malformed rows
    assert sum(report["failed_by_rule"].values()) >= report["rows_failed"]
    assert set(report["answers"]) == {a.query for a in remuneration_run.dataset.answers}
    assert report["remuneration_rows"] == report["rows_passed"]
    assert "Employee remuneration (employee_remuneration)" in remuneration_run.console_text


def test_no_pii_in_any_curated_output_query_result_or_report(spark, remuneration_run):
    dataset, layout = remuneration_run.dataset, remuneration_run.layout
    assert dataset.pii_columns == ("name",)
    names = _names(dataset)
    assert len(names) > 100
    # the cleaned data holds the names (confidential bucket): the check below would see a leak
    cleaned = {r["name"] for r in spark.read.parquet(str(layout.cleaned)).select("name").collect()}
    assert cleaned & names
    for output in dataset.outputs:
        assert "name" not in spark.read.parquet(str(layout.output(output.key))).columns, output.key
    texts = {p: p.read_text(encoding="utf-8") for p in layout.curated.rglob("*.csv")}
    texts |= {p: p.read_text(encoding="utf-8") for p in layout.athena_results.glob("*.csv")}
    texts |= {layout.html: layout.html.read_text(encoding="utf-8")}
    texts |= {layout.report: layout.report.read_text(encoding="utf-8")}
    assert len(texts) >= 2 + len(list(layout.athena_results.glob("*.csv")))
    for path, text in texts.items():
        leaked = sorted(n for n in names if n in text)
        assert not leaked, (path, leaked[:3])
    for path in layout.athena_results.glob("*.csv"):
        assert "name" not in next(csv.reader(path.open(newline=""))), path
    for rows in json.loads(layout.report.read_text())["failure_examples"].values():
        assert all("name" not in row for row in rows)


# Department renames (shared/DATA.md): the curated outputs report each unit under today's name.
CURRENT_DEPARTMENT = {
    "Fire and Rescue Services": "VFRS",
    "VFRS & OEM": "VFRS",
    "RealEstate Env & Fac Mgmt": "Real Estate & Facilities Mgmt",
    "Financial Services": "Finance, Risk&Supply Chain Mgt",
    "Finance & Supply Chain Mgmt": "Finance, Risk&Supply Chain Mgt",
}


def _remuneration_by_hand(dataset) -> tuple[dict[str, int], list[dict]]:
    """An independent reading of the remuneration sample: the recipe and the rules by hand (exact
    decimals), returning the failures per rule and the passed rows."""
    from decimal import Decimal, InvalidOperation

    def number(text: str) -> Decimal | None:
        try:
            return Decimal(text.strip()) if text.strip() else None
        except InvalidOperation:
            return None

    def words(text: str) -> str | None:
        return " ".join(text.split()) or None

    with dataset.sample_path.open(encoding="utf-8", newline="") as fh:
        raw = list(csv.DictReader(fh, delimiter=";"))
    failures: dict[str, int] = defaultdict(int)
    passed, seen = [], set()
    for r in raw:
        year = int(r["Year"]) if r["Year"].strip().isdigit() else None
        row = {
            "year": year,
            "name": words(r["Name"]),
            "department": words(r["Department"]),
            "title": (words(r["Title"]) or "").upper() or None,
            "remuneration": number(r["Remuneration"]),
            "expenses": number(r["Expenses"]),
        }
        broken = []
        if year is None or not 2000 <= year <= 2099:
            broken.append("year_in_range")
        if row["remuneration"] is None or row["remuneration"] <= 75000:
            broken.append("remuneration_over_threshold")
        if row["expenses"] is None or row["expenses"] < 0:
            broken.append("expenses_non_negative")
        if row["department"] is None:
            broken.append("department_present")
        if row["title"] is None:
            broken.append("title_present")
        key = tuple(row.values())
        if key in seen:
            broken.append("not_a_duplicate")
        seen.add(key)
        for rule in broken:
            failures[rule] += 1
        if not broken:
            passed.append({**row, "department": CURRENT_DEPARTMENT.get(row["department"], row["department"])})
    return dict(failures), passed


def test_remuneration_answers_equal_an_independent_computation(remuneration_run):
    from decimal import ROUND_HALF_UP, Decimal

    def cents(value: Decimal) -> float:
        return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

    failures, passed = _remuneration_by_hand(remuneration_run.dataset)
    report = remuneration_run.report
    assert report["failed_by_rule"] == failures
    assert report["rows_passed"] == len(passed) and report["rows_failed"] == 500 - len(passed)

    latest = max(r["year"] for r in passed)
    by_department: dict[str, list[Decimal]] = defaultdict(list)
    for r in passed:
        if r["year"] == latest:
            by_department[r["department"]].append(r["remuneration"])
    expected = sorted(
        ((d, len(v), cents(sum(v) / len(v))) for d, v in by_department.items()), key=lambda t: (-t[2], t[0])
    )
    answer = report["answers"]["average_remuneration_by_department"]
    assert [(a["department"], a["headcount"], a["avg_remuneration"]) for a in answer] == expected
    assert {a["year"] for a in answer} == {latest}

    per_year: dict[int, list[Decimal]] = defaultdict(list)
    for r in passed:
        per_year[r["year"]].append(r["remuneration"])
    trend = [(y, len(v), cents(sum(v) / len(v))) for y, v in sorted(per_year.items())]
    answer = report["answers"]["remuneration_trend_by_year"]
    assert [(a["year"], a["headcount"], a["avg_remuneration"]) for a in answer] == trend

    titles: dict[str, list[Decimal]] = defaultdict(list)
    for r in passed:
        if r["year"] == latest:
            titles[r["title"]].append(r["remuneration"])
    top = sorted(
        ((t, len(v), cents(sum(v) / len(v))) for t, v in titles.items()), key=lambda t: (-t[2], t[0])
    )
    answer = report["answers"]["top_titles_by_average_remuneration"]
    assert [(a["title"], a["headcount"], a["avg_remuneration"]) for a in answer] == top[:10]

    spend: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for r in passed:
        if r["year"] == latest:
            spend[r["department"]][0] += r["expenses"]
            spend[r["department"]][1] += r["remuneration"]
    answer = {a["department"]: a for a in report["answers"]["expenses_relative_to_remuneration"]}
    assert set(answer) == set(spend)
    for department, (expenses, paid) in spend.items():
        got = answer[department]
        assert (got["total_expenses"], got["total_remuneration"]) == (float(expenses), float(paid))
        assert got["expenses_per_1000"] == pytest.approx(float(1000 * expenses / paid), abs=0.005 + 1e-9)


def test_remuneration_summary_equals_an_independent_computation(remuneration_run):
    from statistics import median

    _, passed = _remuneration_by_hand(remuneration_run.dataset)
    groups: dict[tuple[int, str], list] = defaultdict(list)
    for r in passed:
        groups[(r["year"], r["department"])].append(r)
    (csv_file,) = remuneration_run.layout.output_csv("summary").glob("*.csv")
    with csv_file.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(int(r["year"]), r["department"]) for r in rows] == sorted(groups)  # ordered as declared
    for r in rows:
        group = groups[(int(r["year"]), r["department"])]
        paid = [float(g["remuneration"]) for g in group]
        assert int(r["headcount"]) == len(group)
        assert float(r["avg_remuneration"]) == pytest.approx(sum(paid) / len(paid))
        assert float(r["median_remuneration"]) == pytest.approx(
            median(paid)
        )  # exact: the mean of the middle two
        assert float(r["max_remuneration"]) == max(paid)
        assert float(r["total_expenses"]) == pytest.approx(sum(float(g["expenses"]) for g in group))


def test_renamed_departments_are_reported_under_todays_name(spark, remuneration_run):
    layout = remuneration_run.layout
    cleaned = {r["department"] for r in spark.read.parquet(str(layout.cleaned)).collect()}
    assert {"Fire and Rescue Services", "VFRS & OEM", "Financial Services"} <= cleaned  # as published
    detail = spark.read.parquet(str(layout.output("remuneration")))
    pairs = {(r["department_as_published"], r["department"]) for r in detail.collect()}
    assert ("VFRS & OEM", "VFRS") in pairs and ("Fire and Rescue Services", "VFRS") in pairs
    summary = {r["department"] for r in spark.read.parquet(str(layout.output("summary"))).collect()}
    assert not summary & set(CURRENT_DEPARTMENT)  # only today's names in the summary
    years = {
        r["year"]
        for r in spark.read.parquet(str(layout.output("summary"))).where("department = 'VFRS'").collect()
    }
    assert years == {2019, 2020, 2021, 2022, 2023, 2024}  # one unit across the renames
