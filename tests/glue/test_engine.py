"""The engine runs a dataset it has never seen: ``tests/glue/tiny_dataset.py`` declares one (three
columns, ``unique_row`` and an exclusive range, one grouped output, a bar chart) and both Glue jobs run it
on local Spark from a Parquet input with its cleaned schema. Nothing in the engine names it."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from dataset_etl import chart, run_report
from dataset_etl.declaration import DeclarationError

from .conftest import RUN_TIME, write_cleaned
from .tiny_dataset import TINY_TOML, tiny_dataset

# (year, team, score): what each row should fail (a duplicate fails on every copy but one).
ROWS = [
    (2024, "Owls", 50.0),
    (2024, "Owls", 50.0),  # exact duplicate
    (2024, None, 30.0),
    (2024, None, 30.0),  # duplicate with a null: a null equals a null
    (2024, "Bats", 10.0),  # not ABOVE 10
    (2024, "Bats", 25.0),
    (2025, "Owls", 15.0),
    (2025, "Owls", None),  # no score
    (2025, None, None),
    (2025, None, None),  # duplicate and no score
]


def _rows(rows=ROWS):
    return [dict(zip(("year", "team", "score"), r, strict=True)) for r in rows]


@pytest.fixture(scope="module")
def tiny():
    return tiny_dataset()


@pytest.fixture
def ran(spark, tmp_path, tiny, quality_check, summarize):
    src = write_cleaned(spark, _rows(), tmp_path / "cleaned", tiny)
    out = {k: str(tmp_path / k) for k in ("passed", "failed")}
    out |= {"report": str(tmp_path / "report.json"), "curated": f"{tmp_path / 'curated'}/"}
    out["html"] = str(tmp_path / "report.html")
    report = quality_check.run(
        spark, tiny, src, out["passed"], out["failed"], out["report"], run_time=RUN_TIME
    )
    result = summarize.run(
        spark,
        tiny,
        out["passed"],
        out["curated"],
        parameters={"min_score": 12},  # overrides the declared 20.0 (an int widens to the float)
        run_time=RUN_TIME,
        report_html_path=out["html"],
        quality_report_path=out["report"],
        failed_rows_path=out["failed"],
        stage="test",
    )
    return report, result, out


def test_quality_check_splits_and_explains(spark, ran):
    report, _, out = ran
    assert report["dataset"] == "tiny"
    assert (report["rows_in"], report["rows_passed"], report["rows_failed"]) == (10, 4, 6)
    assert report["counts_add_up"] and report["dataset_rules"] == [] and report["dataset_rules_passed"]
    assert report["failures_by_rule"] == {"no_duplicate_rows": 3, "score_above_ten": 4}
    assert report["by_partition"] == {"2024": {"passed": 3, "failed": 3}, "2025": {"passed": 1, "failed": 3}}
    assert [r["name"] for r in report["row_rules"]] == ["no_duplicate_rows", "score_above_ten"]

    failed = Counter(
        ((r["year"], r["team"], r["score"]), tuple(r["failed_rules"]))
        for r in spark.read.parquet(out["failed"]).collect()
    )
    assert failed == Counter([
        ((2024, "Owls", 50.0), ("no_duplicate_rows",)),
        ((2024, None, 30.0), ("no_duplicate_rows",)),
        ((2024, "Bats", 10.0), ("score_above_ten",)),
        ((2025, "Owls", None), ("score_above_ten",)),
        ((2025, None, None), ("score_above_ten",)),
        ((2025, None, None), ("no_duplicate_rows", "score_above_ten")),
    ])  # fmt: skip
    passed = Counter(
        tuple(r) for r in spark.read.parquet(out["passed"]).select("year", "team", "score").collect()
    )
    assert passed == Counter(
        [(2024, "Owls", 50.0), (2024, None, 30.0), (2024, "Bats", 25.0), (2025, "Owls", 15.0)]
    )


def test_summarize_writes_the_declared_output(spark, ran):
    _, result, out = ran
    assert result == {
        "dataset": "tiny",
        "rows_in": 4,
        "by_team_rows": 4,
        "years": [2024, 2025],
        "report_date": "2025-10-05",
        "parameters": {"min_score": 12},
        "report_html_path": out["html"],
    }
    written = spark.read.parquet(out["curated"] + "by_team")
    got = Counter(
        tuple(r) for r in written.select("year", "team", "games", "avg_score", "report_date").collect()
    )
    assert got == Counter([
        (2024, "Owls", 1, 50.0, date(2025, 10, 5)),
        (2024, None, 1, 30.0, date(2025, 10, 5)),
        (2024, "Bats", 1, 25.0, date(2025, 10, 5)),
        (2025, "Owls", 1, 15.0, date(2025, 10, 5)),
    ])  # fmt: skip
    assert sorted(p.name for p in Path(out["curated"], "by_team").glob("year=*")) == [
        "year=2024",
        "year=2025",
    ]
    [csv] = Path(out["curated"], "by_team_csv").glob("*.csv")
    lines = csv.read_text().splitlines()
    assert lines[0] == "year,team,games,avg_score,report_date"
    assert lines[1:] == [  # ordered by year, team (a null team first)
        "2024,,1,30.0,2025-10-05",
        "2024,Bats,1,25.0,2025-10-05",
        "2024,Owls,1,50.0,2025-10-05",
        "2025,Owls,1,15.0,2025-10-05",
    ]


def test_declared_parameters_and_covered_partitions(spark, tmp_path, tiny, quality_check, summarize):
    """Without overrides the declared min_score (20) applies: it keeps no 2025 game."""
    src = write_cleaned(spark, _rows(), tmp_path / "cleaned", tiny)
    qc = [str(tmp_path / "passed"), str(tmp_path / "failed"), str(tmp_path / "report.json")]
    quality_check.run(spark, tiny, src, *qc, run_time=RUN_TIME)
    curated = f"{tmp_path / 'curated'}/"
    summarize.run(spark, tiny, qc[0], curated, parameters={"min_score": 12.0}, run_time=RUN_TIME)
    assert Path(curated, "by_team", "year=2025").is_dir()
    result = summarize.run(spark, tiny, qc[0], curated, run_time=RUN_TIME)
    assert result["parameters"] == {"min_score": 20.0} and result["by_team_rows"] == 3
    assert result["years"] == [2024]
    # 2025 had passed rows but no output row: not covered by this run's outputs, so it stays as written
    # before (the summary job clears only what some output of the run covers).
    years = sorted(
        r["year"] for r in spark.read.parquet(curated + "by_team").select("year").distinct().collect()
    )
    assert years == [2024, 2025]


def test_run_report_is_generic(ran):
    _, _, out = ran
    html = Path(out["html"]).read_text()
    assert "<title>Tiny scores: run report (test," in html
    assert 'id="count-by_team_rows" data-count="4"' in html
    assert 'id="failures-no_duplicate_rows" data-failures="3"' in html
    assert "Tiny scores: average score by team" in html and 'id="chart"' in html
    assert "made up for the engine tests" in html
    assert "The business questions are answered by the Athena named queries" in html


def test_answers_and_examples_from_the_declaration(tiny):
    doc = {
        "answers": {"best": {"team": "Owls", "avg": 41.5, "n": 1234}},
        "failure_examples": {"score_above_ten": [{"team": "Bats", "score": 10.0, "failed_rules": ["x"]}]},
        "failed_by_rule": {"score_above_ten": 1},
        "parameters": {"min_score": 12},
    }
    declared = (
        TINY_TOML
        + """
[[answers]]
query = "best"
question = "Which team scores most above {min_score}?"
columns = [
  { header = "Team", value = "team" },
  { header = "Average", value = "avg", format = "money" },
  { header = "Games", value = "n", format = "count" },
]
"""
    )
    from dataset_etl.declaration import parse_dataset

    with_answer = parse_dataset(declared, folder="datasets/tiny")
    view = run_report.build_view(doc, with_answer, chart_png=None, title="t", origin="o")
    assert view["answers"] == [{"id": "best", "question": "Which team scores most above 12?", "note": "",
                                "headers": ["Team", "Average", "Games"], "rows": [["Owls", "CAD 41.50", "1,234"]]}]  # fmt: skip
    [rule] = view["row_rules"]
    # Identifying columns (by default the first non-PII ones but the partition), then the rule's.
    assert rule["columns"] == ["team", "score", "failed_rules"]
    assert rule["examples"] == [["Bats", "10.00", "x"]]
    assert run_report.build_view(doc, tiny, chart_png=None, title="t", origin="o")["answers"] == []


def test_pii_never_reaches_a_failure_example(spark):
    from dataset_etl.declaration import parse_dataset

    secret = parse_dataset(
        TINY_TOML[: TINY_TOML.index("[chart]")]
        .replace('comment = "Team name" }', 'comment = "Team name", pii = true }', 1)
        .replace('group_by = ["year", "team"]', 'group_by = ["year"]')
        .replace('order_by = ["year", "team"]', 'order_by = ["year"]')
        .replace('  { name = "team", type = "string", expr = "team", comment = "Team name" },\n', ""),
        folder="datasets/tiny",
    )
    assert secret.pii_columns == ("team",)
    failed = spark.createDataFrame(
        [(2024, "Owls", 50.0, ["no_duplicate_rows"]), (2024, "Bats", 1.0, ["score_above_ten"])],
        "year int, team string, score double, failed_rules array<string>",
    )
    examples = run_report.failure_examples(failed, secret)
    assert examples == {
        "no_duplicate_rows": [{"score": 50.0, "year": 2024, "failed_rules": ["no_duplicate_rows"]}],
        "score_above_ten": [{"score": 1.0, "failed_rules": ["score_above_ten"]}],
    }
    assert "team" not in run_report.example_columns(secret, "no_duplicate_rows")


def test_bar_chart_draws_the_latest_year(tiny):
    rows = [
        {"year": 2024, "team": "Old", "avg_score": 99.0},
        {"year": 2025, "team": "Owls", "avg_score": 15.0},
        {"year": 2025, "team": "Bats", "avg_score": 40.0},
    ]
    latest, bars, total = chart.latest_bars(tiny.chart, rows)
    assert (latest, bars, total) == (2025, [("Bats", 40.0), ("Owls", 15.0)], 2)
    png = chart.chart_png(tiny.chart, rows, report_date=date(2025, 10, 5), parameters={"min_score": 12})
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert chart.chart_png(tiny.chart, [], report_date=None, parameters=None).startswith(b"\x89PNG")


def test_job_arguments_name_the_dataset_and_its_declaration(spark, tmp_path, tiny, quality_check, summarize):
    declaration = tmp_path / "tiny.toml"
    declaration.write_text(TINY_TOML, encoding="utf-8")
    src = write_cleaned(spark, _rows(ROWS[:2]), tmp_path / "cleaned", tiny)
    args = ["--dataset", "tiny", "--dataset_declaration", str(declaration)]
    report = quality_check.main([*args, "--input_path", src, "--passed_path", str(tmp_path / "p"),
                                 "--failed_path", str(tmp_path / "f"), "--report_path", str(tmp_path / "r.json"),
                                 "--run_time", "2025-10-05T12:00:00Z"])  # fmt: skip
    assert (report["dataset"], report["rows_passed"], report["rows_failed"]) == ("tiny", 1, 1)
    result = summarize.main([*args, "--input_path", str(tmp_path / "p"), "--curated_path", f"{tmp_path}/c/",
                             "--parameters", '{"min_score": 60}', "--run_time", "2025-10-05T12:00:00Z"])  # fmt: skip
    assert result["by_team_rows"] == 0 and result["parameters"] == {"min_score": 60}
    with pytest.raises(DeclarationError, match="not a parameter"):
        summarize.main(
            [*args, "--input_path", src, "--curated_path", f"{tmp_path}/c/", "--parameters", '{"x": 1}']
        )
    with pytest.raises(DeclarationError, match="must equal the folder's name"):
        quality_check.main(["--dataset", "other", "--dataset_declaration", str(declaration), "--input_path", src,
                            "--passed_path", "p", "--failed_path", "f", "--report_path", "r"])  # fmt: skip
    assert json.loads((tmp_path / "r.json").read_text())["dataset"] == "tiny"
