"""The local DataBrew recipe runner: each operation, the recipe itself, and the job on the sample."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from dap.portal_csv import PortalCsvError
from dap.recipe_runner import (
    DEFAULT_RECIPE,
    OPERATIONS,
    RecipeError,
    apply_recipe,
    check_cleaned_schema,
    load_recipe,
    run_recipe_job,
)
from sample_data import generate as gen
from stacks.datasets import project_dataset

LICENCES = project_dataset("business_licences")
RAW_HEADER = LICENCES.raw_header
CLEANED_COLUMNS = LICENCES.columns
CLEANED_NAMES = LICENCES.column_names


def step(operation: str, **params: str) -> dict:
    action = {"Operation": operation}
    if params:
        action["Parameters"] = params
    return {"Action": action}


def frame(spark, values, name="v"):
    return spark.createDataFrame([(v,) for v in values], f"`{name}` string")


def column(df, name="v"):
    return [r[0] for r in df.select(name).collect()]


# -- single operations --------------------------------------------------------------------------------
def test_rename(spark):
    df = apply_recipe(
        frame(spark, ["x"], "FOLDERYEAR"),
        [step("RENAME", sourceColumn="FOLDERYEAR", targetColumn="file_year")],
    )
    assert df.columns == ["file_year"] and column(df, "file_year") == ["x"]
    with pytest.raises(RecipeError, match=r"step 1 \(RENAME\): column 'Nope' does not exist"):
        apply_recipe(frame(spark, ["x"]), [step("RENAME", sourceColumn="Nope", targetColumn="a")])


def test_change_to_int_is_strict_on_strings(spark):
    df = frame(spark, ["43", " 7 ", "-2", "43.0", "abc", "", None, "99999999999"])
    out = apply_recipe(df, [step("CHANGE_DATA_TYPE", sourceColumn="v", columnDataType="int")])
    assert dict(out.dtypes)["v"] == "int"
    assert column(out) == [43, 7, -2, None, None, None, None, None]


def test_employee_counts_via_double_then_int(spark):
    df = frame(spark, ["43.0", "0.0", "2311.0", "12", "43.5", "abc", "ten", None])
    out = apply_recipe(
        df,
        [
            step("CHANGE_DATA_TYPE", sourceColumn="v", columnDataType="double"),
            step("CHANGE_DATA_TYPE", sourceColumn="v", columnDataType="int"),
        ],
    )
    assert dict(out.dtypes)["v"] == "int"
    assert column(out) == [43, 0, 2311, 12, None, None, None, None]


def test_change_to_double(spark):
    df = frame(spark, ["1904.0", "415.5", "-50.0", "7", "1e3", "abc", "12,5", None])
    out = apply_recipe(df, [step("CHANGE_DATA_TYPE", sourceColumn="v", columnDataType="double")])
    assert dict(out.dtypes)["v"] == "double"
    assert column(out) == [1904.0, 415.5, -50.0, 7.0, 1000.0, None, None, None]


def test_change_to_timestamp_keeps_the_instant(spark):
    values = [
        "2024-01-16T14:37:35-08:00",  # PST
        "2024-07-02T09:00:00-07:00",  # PDT
        "2025-10-01T02:31:39-07:00",
        "2024-03-01T12:00:00Z",
        "2024-13-45T10:00:00-08:00",
        "not a date",
        "31/12/2024",
        None,
    ]
    out = apply_recipe(
        frame(spark, values), [step("CHANGE_DATA_TYPE", sourceColumn="v", columnDataType="timestamp")]
    )
    assert dict(out.dtypes)["v"] == "timestamp"
    epochs = [r[0] for r in out.select(F.unix_timestamp("v")).collect()]
    expected = [int(dt.datetime.fromisoformat(v).timestamp()) for v in values[:4]]
    assert epochs == [*expected, None, None, None, None]
    utc = [r[0] for r in out.select(F.date_format("v", "yyyy-MM-dd HH:mm:ss")).collect()]  # session TZ is UTC
    assert utc[:3] == ["2024-01-16 22:37:35", "2024-07-02 16:00:00", "2025-10-01 09:31:39"]


def test_change_to_date(spark):
    out = apply_recipe(
        frame(spark, ["2024-12-31", "2025-02-30", "31/12/2024", None]),
        [step("CHANGE_DATA_TYPE", sourceColumn="v", columnDataType="date")],
    )
    assert dict(out.dtypes)["v"] == "date"
    assert column(out) == [dt.date(2024, 12, 31), None, None, None]


def test_change_to_unknown_type(spark):
    with pytest.raises(RecipeError, match=r"step 1 \(CHANGE_DATA_TYPE\): columnDataType 'geometry'"):
        apply_recipe(
            frame(spark, ["x"]), [step("CHANGE_DATA_TYPE", sourceColumn="v", columnDataType="geometry")]
        )


def test_remove_combined_whitespace(spark):
    df = frame(spark, ["  Café   Étoile\tLtd  ", "O\u2019Brien  &  Sons", "E PENDER ST", "   ", None])
    params = {"collapseConsecutiveWhitespace": "true", "removeLeadingAndTrailingWhitespace": "true",
              "removeAllQuotes": "false", "sourceColumn": "v"}  # fmt: skip
    out = apply_recipe(df, [step("REMOVE_COMBINED", **params)])
    assert column(out) == ["Café Étoile\tLtd", "O\u2019Brien & Sons", "E PENDER ST", "", None]
    trim_only = apply_recipe(
        df, [step("REMOVE_COMBINED", sourceColumn="v", removeLeadingAndTrailingWhitespace="true")]
    )
    assert column(trim_only)[1] == "O\u2019Brien  &  Sons"


def test_remove_combined_unimplemented_option(spark):
    with pytest.raises(
        RecipeError, match=r"step 1 \(REMOVE_COMBINED\): option\(s\) not implemented.*removeAllQuotes"
    ):
        apply_recipe(frame(spark, ["x"]), [step("REMOVE_COMBINED", sourceColumn="v", removeAllQuotes="true")])


def test_upper_case(spark):
    out = apply_recipe(frame(spark, ["v6b 1a1", "V6E", "é", None]), [step("UPPER_CASE", sourceColumn="v")])
    assert column(out) == ["V6B 1A1", "V6E", "É", None]


def test_delete_duplicate_rows(spark):
    df = spark.createDataFrame(
        [("a", "1"), ("a", "1"), ("a", None), ("a", None), ("b", "1"), ("a", "1")], "k string, v string"
    )
    out = apply_recipe(df, [step("DELETE_DUPLICATE_ROWS")])
    assert sorted(out.collect(), key=str) == sorted([("a", "1"), ("a", None), ("b", "1")], key=str)


def test_unknown_operation_names_step_and_operation(spark):
    steps = [step("UPPER_CASE", sourceColumn="v"), step("SPLIT_COLUMN_SINGLE_DELIMITER", sourceColumn="v")]
    with pytest.raises(
        RecipeError, match=r"step 2: operation 'SPLIT_COLUMN_SINGLE_DELIMITER' is not implemented"
    ):
        apply_recipe(frame(spark, ["x"]), steps)


def test_condition_expressions_are_refused(spark):
    conditional = {**step("UPPER_CASE", sourceColumn="v"), "ConditionExpressions": [{"Condition": "IS_NOT"}]}
    with pytest.raises(RecipeError, match=r"step 1 \(UPPER_CASE\): ConditionExpressions"):
        apply_recipe(frame(spark, ["x"]), [conditional])


# -- the recipe ---------------------------------------------------------------------------------------
def test_recipe_file_shape():
    steps = load_recipe()
    assert steps == json.loads(DEFAULT_RECIPE.read_text(encoding="utf-8"))
    for s in steps:
        assert set(s) == {"Action"} and set(s["Action"]) <= {"Operation", "Parameters"}
        assert all(isinstance(v, str) for v in s["Action"].get("Parameters", {}).values())
        assert s["Action"]["Operation"] in OPERATIONS
    assert steps[-1] == step("DELETE_DUPLICATE_ROWS")


def test_load_recipe_rejects_non_string_parameters(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text(
        json.dumps(
            [
                step("RENAME", sourceColumn="a", targetColumn="b"),
                {"Action": {"Operation": "UPPER_CASE", "Parameters": {"sourceColumn": 1}}},
            ]
        )
    )
    with pytest.raises(RecipeError, match=r"step 2 \(UPPER_CASE\): Parameters must map names to strings"):
        load_recipe(bad)


def test_recipe_renames_to_exactly_the_cleaned_names(spark):
    renames = [s for s in load_recipe() if s["Action"]["Operation"] == "RENAME"]
    raw = spark.createDataFrame([], ", ".join(f"`{c}` string" for c in RAW_HEADER))
    assert tuple(apply_recipe(raw, renames).columns) == CLEANED_NAMES


def test_recipe_gives_the_cleaned_schema(spark):
    raw = spark.createDataFrame([], ", ".join(f"`{c}` string" for c in RAW_HEADER))
    out = apply_recipe(raw, load_recipe())
    check_cleaned_schema(out, LICENCES)
    assert out.dtypes == [(c.name, c.type) for c in CLEANED_COLUMNS]
    with pytest.raises(RecipeError, match="extract_date is string, expected timestamp"):
        check_cleaned_schema(apply_recipe(raw, load_recipe()[:-2]), LICENCES)
    with pytest.raises(RecipeError, match="missing file_year; unexpected FOLDERYEAR"):
        check_cleaned_schema(apply_recipe(raw, load_recipe()[1:]), LICENCES)


# -- the job ------------------------------------------------------------------------------------------
def _raw_rows() -> list[list[str]]:
    text = gen.SAMPLE_PATH.read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))[1:]


@pytest.fixture(scope="module")
def sample_job(spark, tmp_path_factory):
    out = tmp_path_factory.mktemp("transformed") / "cleaned" / "business_licences"
    counts = run_recipe_job(spark, LICENCES, gen.SAMPLE_PATH, out)
    df = spark.read.schema(LICENCES.cleaned_ddl()).parquet(str(out))
    return counts, out, {r["licence_number"]: r for r in df.collect()}, df


def test_job_counts_and_layout(sample_job):
    counts, out, by_number, df = sample_job
    raw = _raw_rows()
    exact_duplicates = len(raw) - len({tuple(r) for r in raw})
    assert exact_duplicates >= 1
    assert counts["rows_read"] == len(raw) == gen.SAMPLE_ROWS
    assert counts["duplicates_removed"] == exact_duplicates
    assert counts["rows_written"] == len(raw) - exact_duplicates == df.count() == len(by_number)
    assert sorted(p.name for p in Path(out).glob("file_year=*")) == ["file_year=24", "file_year=25"]
    parts = list(Path(out).glob("file_year=24/part-*.parquet"))
    assert parts and all(p.name.endswith(".snappy.parquet") for p in parts)


def test_job_output_values(sample_job):
    _, _, by_number, df = sample_job
    assert dict(df.dtypes) == {c.name: c.type for c in CLEANED_COLUMNS}
    raw = {r[2]: dict(zip(RAW_HEADER, r, strict=True)) for r in _raw_rows()}
    bad_employees = [n for n, r in raw.items() if r["NumberofEmployees"] in gen.BAD_EMPLOYEES]
    bad_dates = [n for n, r in raw.items() if r["IssuedDate"] in gen.BAD_DATES]
    negative_fee = [n for n, r in raw.items() if r["FeePaid"].startswith("-")]
    assert bad_employees and bad_dates and negative_fee
    assert all(by_number[n]["number_of_employees"] is None for n in bad_employees)
    assert all(by_number[n]["issued_date"] is None for n in bad_dates)
    assert all(by_number[n]["fee_paid"] == float(raw[n]["FeePaid"]) < 0 for n in negative_fee)
    for number, r in raw.items():
        got = by_number[number]
        assert got["file_year"] == r["FOLDERYEAR"]
        if r["NumberofEmployees"].endswith(".0"):
            assert got["number_of_employees"] == int(float(r["NumberofEmployees"]))
        assert got["fee_paid"] == (float(r["FeePaid"]) if r["FeePaid"] else None)
        assert got["expired_date"] == dt.date.fromisoformat(r["ExpiredDate"])
        assert (got["issued_date"] is None) == (r["IssuedDate"] == "" or r["IssuedDate"] in gen.BAD_DATES)
        assert got["extract_date"] is not None
        if r["PostalCode"]:
            assert got["postal_code"] == r["PostalCode"].upper().strip()
        assert got["business_name"] == " ".join(r["BusinessName"].split())
        assert got["street"] == " ".join(r["Street"].split())
        assert got["geom"] == (r["Geom"] or None)


def test_job_issued_instants_match_the_offsets(spark, sample_job):
    _, _, _, df = sample_job
    raw = {r[2]: r[7] for r in _raw_rows() if r[7][:4].isdigit() and r[7] not in gen.BAD_DATES}
    got = {r[0]: r[1] for r in df.select("licence_number", F.unix_timestamp("issued_date")).collect()}
    assert {n: got[n] for n in raw} == {
        n: int(dt.datetime.fromisoformat(v).timestamp()) for n, v in raw.items()
    }


def test_job_empty_file_overwrites(spark, tmp_path):
    out = tmp_path / "cleaned" / "business_licences"
    small = gen.write_csv(tmp_path / "small.csv", rows=20, seed=9)
    assert run_recipe_job(spark, LICENCES, small, out)["rows_written"] >= 19
    empty = gen.write_csv(tmp_path / "empty.csv", rows=0)
    counts = run_recipe_job(spark, LICENCES, empty, out)
    assert counts == {**counts, "rows_read": 0, "rows_written": 0, "duplicates_removed": 0}
    assert not list(out.glob("file_year=*"))  # the old partitions are gone: a full overwrite


def test_job_bad_header(spark, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(";".join(RAW_HEADER[:-1]) + "\r\n", encoding="utf-8")
    with pytest.raises(PortalCsvError, match=r"missing column\(s\): geo_point_2d"):
        run_recipe_job(spark, LICENCES, bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()
