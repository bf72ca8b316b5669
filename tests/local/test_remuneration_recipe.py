"""The employee-remuneration DataBrew recipe, checked against the reference and run on local Spark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from dap.databrew_reference import check_recipe
from dap.recipe_runner import apply_recipe, load_recipe
from sample_data import generate_remuneration as gen

RECIPE = Path(__file__).resolve().parents[2] / "databrew_recipes" / "employee_remuneration_cleaning.json"
CLEANED = [
    ("year", "int"),
    ("name", "string"),
    ("department", "string"),
    ("title", "string"),
    ("remuneration", "double"),
    ("expenses", "double"),
]
RAW_DDL = ", ".join(f"`{c}` string" for c in gen.RAW_HEADER)


@pytest.fixture(scope="module")
def steps() -> list[dict]:
    return load_recipe(RECIPE)  # refuses a recipe DataBrew's reference does not document


@pytest.fixture(scope="module")
def raw(spark):
    """The committed sample as the portal exports it: ';', header, every column a string, blank = null."""
    return spark.read.csv(str(gen.SAMPLE_PATH), sep=";", header=True, schema=RAW_DDL, encoding="UTF-8")


@pytest.fixture(scope="module")
def raw_rows(raw):
    return [tuple(r) for r in raw.collect()]


@pytest.fixture(scope="module")
def cleaned_rows(raw, steps):
    return [tuple(r) for r in apply_recipe(raw, steps).collect()]  # one small file: one partition, in order


def test_recipe_conforms_to_the_databrew_reference(steps):
    assert check_recipe(json.loads(RECIPE.read_text(encoding="utf-8"))) == []
    operations = [s["Action"]["Operation"] for s in steps]
    assert "DELETE_DUPLICATE_ROWS" not in operations and "REMOVE_DUPLICATES" not in operations
    renames = {
        s["Action"]["Parameters"]["sourceColumn"]: s["Action"]["Parameters"]["targetColumn"]
        for s in steps
        if s["Action"]["Operation"] == "RENAME"
    }
    assert renames == dict(zip(gen.RAW_HEADER, [c for c, _ in CLEANED], strict=True))


def test_raw_read_is_the_file(raw_rows):
    assert len(raw_rows) == gen.SAMPLE_ROWS
    assert not any(v.endswith("\r") for r in raw_rows for v in r if v)  # CRLF is a line end, not data
    assert any(r[2] and "," in r[2] for r in raw_rows) and any(r[2] and "'" in r[2] for r in raw_rows)


def test_cleaned_columns_and_types(raw, steps):
    assert apply_recipe(raw, steps).dtypes == CLEANED


def test_no_row_is_dropped_and_duplicates_are_kept(raw_rows, cleaned_rows):
    assert len(cleaned_rows) == len(raw_rows) == gen.SAMPLE_ROWS
    duplicates = sum(kind == "duplicate" for kind in gen.planted(gen.SAMPLE_ROWS, gen.DEFAULT_SEED).values())
    assert duplicates == 2
    assert len(set(cleaned_rows)) == gen.SAMPLE_ROWS - duplicates  # still there, for the rules to flag


def test_malformed_values_become_null_or_stay_for_the_rules(raw_rows, cleaned_rows):
    planted = gen.planted(gen.SAMPLE_ROWS, gen.DEFAULT_SEED)
    for index, kind in planted.items():
        raw, out = raw_rows[index], cleaned_rows[index]
        if kind in {"remuneration_blank", "remuneration_non_numeric"}:
            assert out[4] is None, (index, raw)
        elif kind == "remuneration_at_or_below_threshold":
            assert out[4] == float(raw[4]) <= 75_000
        elif kind == "expenses_negative":
            assert out[5] == float(raw[5]) < 0
        elif kind == "year_out_of_range":
            assert out[0] == (1899 if raw[0] == "1899" else None), raw[0]  # "20X4" is not a number
        elif kind == "department_blank":
            assert raw[2] is None and out[2] is None
        elif kind == "title_blank":
            assert raw[3] is None and out[3] is None
    # every other value converts: the only nulls are the planted ones
    for column in range(6):
        nulls = {i for i, r in enumerate(cleaned_rows) if r[column] is None}
        expected = {
            0: {i for i, k in planted.items() if k == "year_out_of_range" and raw_rows[i][0] != "1899"},
            2: {i for i, k in planted.items() if k == "department_blank"},
            3: {i for i, k in planted.items() if k == "title_blank"},
            4: {i for i, k in planted.items() if k in {"remuneration_blank", "remuneration_non_numeric"}},
        }.get(column, set())
        assert nulls == expected, CLEANED[column][0]


def test_numbers_keep_their_value(raw_rows, cleaned_rows):
    for raw, out in zip(raw_rows, cleaned_rows, strict=True):
        if raw[0] and raw[0].isdigit():
            assert out[0] == int(raw[0])
        if raw[4] and raw[4] != "n/a":
            assert out[4] == float(raw[4])
        assert out[5] == float(raw[5])


def test_whitespace_collapsed_and_titles_upper_cased(raw_rows, cleaned_rows):
    messy = [i for i, r in enumerate(raw_rows) if r[1] != " ".join(r[1].split())]
    assert messy  # the sample has stray spaces in names...
    assert any(r[3] and "  " in r[3] for r in raw_rows)  # ...and in older titles
    for raw, out in zip(raw_rows, cleaned_rows, strict=True):
        for column in (1, 2, 3):
            if raw[column] is not None:
                expected = " ".join(raw[column].split())
                assert out[column] == (expected.upper() if column == 3 else expected)
    assert "Wong, E J" in {cleaned_rows[i][1] for i in messy}
    titles = {r[3] for r in cleaned_rows if r[3]}
    assert all(t == t.upper() for t in titles)
    older = {r[3] for r in raw_rows if r[0] == "2019" and r[3]}
    assert "Planner Ii" in older and "PLANNER II" in titles  # title-case years join the recent spelling
    assert "PLANNER IL" in titles  # an "Il" artefact stays (upper-casing cannot know it was "II")


def test_edge_values_on_a_hand_made_frame(spark, steps):
    rows = [
        ("2024", " Beck,  K H ", "VFRS", "firefighter (t)", "106333.82", "0.0"),
        ("2019", "Cheng, P C.P.", "City Clerk's Office", "Planner  Ii", "96067.0", "861.3"),
        ("20X4", "D'Hoore, T S", "IT, Digital Strategy & 311", "ENGINEER II", "n/a", "-12.5"),
        ("2024.0", "Bender, A SOLOMON", None, None, None, "abc"),
        (" 2023 ", "Lee, J", "Legal Services", "SOLICITOR III", "1,234.5", "1e3"),
    ]
    out = apply_recipe(spark.createDataFrame(rows, RAW_DDL), steps)
    assert out.dtypes == CLEANED
    assert [tuple(r) for r in out.collect()] == [
        (2024, "Beck, K H", "VFRS", "FIREFIGHTER (T)", 106333.82, 0.0),
        (2019, "Cheng, P C.P.", "City Clerk's Office", "PLANNER II", 96067.0, 861.3),
        (None, "D'Hoore, T S", "IT, Digital Strategy & 311", "ENGINEER II", None, -12.5),
        (None, "Bender, A SOLOMON", None, None, None, None),  # strict: "2024.0" is not an integer string
        (2023, "Lee, J", "Legal Services", "SOLICITOR III", None, 1000.0),  # no thousands separators
    ]
    assert out.where(F.col("year").isNull()).count() == 2
