"""The recipe folded into few projections gives exactly what applying it one step at a time gives."""

from __future__ import annotations

import pytest

from dap.portal_csv import read_portal_csv
from dap.recipe_runner import _AQE_EXCLUDED_RULES, apply_recipe, load_recipe, run_recipe_job
from sample_data import generate as gen
from stacks.datasets import project_dataset

LICENCES = project_dataset("business_licences")
CLEANED_NAMES = LICENCES.column_names
PARTITION_COLUMN = LICENCES.partition_column


def step(operation: str, **params: str) -> dict:
    action = {"Operation": operation}
    if params:
        action["Parameters"] = params
    return {"Action": action}


def one_step_at_a_time(df, steps):
    """The unfolded reference: a new DataFrame (and plan analysis) for every step."""
    for s in steps:
        df = apply_recipe(df, [s])
    return df


def rows(df):
    return sorted(df.collect(), key=repr)


def plan_nodes(df, name: str) -> int:
    plan = df._jdf.queryExecution().analyzed().toString()
    return sum(1 for line in plan.splitlines() if line.lstrip("+-: ").startswith(name + " "))


@pytest.fixture(scope="module")
def raw(spark):
    return read_portal_csv(spark, gen.SAMPLE_PATH, project_dataset("business_licences"))


def test_folded_recipe_equals_step_by_step_on_the_sample(raw):
    steps = load_recipe()
    folded, reference = apply_recipe(raw, steps), one_step_at_a_time(raw, steps)
    assert folded.dtypes == reference.dtypes
    assert folded.columns == list(CLEANED_NAMES)
    assert rows(folded) == rows(reference)


def test_recipe_is_three_projections_and_one_dedupe(raw):
    steps = load_recipe()
    assert plan_nodes(one_step_at_a_time(raw, steps), "Project") > 40  # what folding saves
    folded = apply_recipe(raw, steps)
    # read_portal_csv's own projection + 3: renames and text steps; the double step; the int step and
    # the date conversions (each needs its column by name, or its value more than once).
    assert plan_nodes(folded, "Project") == 1 + 3
    assert plan_nodes(folded, "Deduplicate") == 1


def test_cluster_by_shares_the_dedupe_shuffle(raw):
    folded = apply_recipe(raw, load_recipe(), cluster_by=PARTITION_COLUMN)
    plan = folded._jdf.queryExecution().executedPlan().toString()
    assert plan.count("Exchange") == 1 and "hashpartitioning(file_year" in plan
    assert rows(folded) == rows(apply_recipe(raw, load_recipe()))


def test_a_column_renamed_onto_another_name_is_converted_from_the_right_value(spark):
    df = spark.createDataFrame([(" 7 ", "2024-12-31", "x  y")], "a string, c string, t string")
    steps = [
        step("RENAME", sourceColumn="a", targetColumn="b"),
        step("RENAME", sourceColumn="c", targetColumn="a"),
        step("CHANGE_DATA_TYPE", sourceColumn="a", columnDataType="date"),  # the former c, by name
        step("CHANGE_DATA_TYPE", sourceColumn="b", columnDataType="double"),
        step("CHANGE_DATA_TYPE", sourceColumn="b", columnDataType="int"),
        step("REMOVE_COMBINED", sourceColumn="t", collapseConsecutiveWhitespace="true"),
        step("UPPER_CASE", sourceColumn="t"),
        step("CHANGE_DATA_TYPE", sourceColumn="t", columnDataType="string"),
    ]
    folded = apply_recipe(df, steps)
    assert folded.dtypes == [("b", "int"), ("a", "date"), ("t", "string")]
    assert rows(folded) == rows(one_step_at_a_time(df, steps))
    assert tuple(folded.first())[0::2] == (7, "X Y")


def test_errors_still_name_the_step_inside_a_fold(spark):
    df = spark.createDataFrame([("x",)], "v string")
    steps = [step("UPPER_CASE", sourceColumn="v"), step("RENAME", sourceColumn="v", targetColumn="w"),
             step("UPPER_CASE", sourceColumn="v")]  # fmt: skip
    with pytest.raises(Exception, match=r"step 3 \(UPPER_CASE\): column 'v' does not exist \(columns: w\)"):
        apply_recipe(df, steps)


def test_job_counts_without_a_dedupe_and_leaves_the_session_as_it_was(spark, tmp_path):
    csv = gen.write_csv(tmp_path / "small.csv", rows=30, seed=3)
    before = spark.conf.get(_AQE_EXCLUDED_RULES, None)
    no_dedupe = [s for s in load_recipe() if s["Action"]["Operation"] != "DELETE_DUPLICATE_ROWS"]
    counts = run_recipe_job(spark, LICENCES, csv, tmp_path / "out", no_dedupe)
    written = spark.read.parquet(str(tmp_path / "out"))
    assert counts["rows_read"] == counts["rows_written"] == written.count() == 30
    assert counts["duplicates_removed"] == 0
    for year in written.select(PARTITION_COLUMN).distinct().collect():
        assert len(list((tmp_path / "out" / f"file_year={year[0]}").glob("part-*.parquet"))) == 1
    assert spark.conf.get(_AQE_EXCLUDED_RULES, None) == before
