"""The portal CSV check (pure Python) and the Spark reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from dap.portal_csv import PortalCsvError, check_portal_csv, normalize_portal_csv, read_portal_csv
from stacks.datasets import project_dataset

LICENCES = project_dataset("business_licences")
RAW_HEADER = LICENCES.raw_header

HEADER = ";".join(RAW_HEADER)
ROW = (
    "24;4528701;24-148301;10;299 Burrard Management Ltd;Fairmont Pacific Rim Hotel - Botanist;Issued;"
    "2024-01-16T14:37:35-08:00;2024-12-31;Restaurant;Class 1 with liquor service;;;1038;CANADA PLACE;"
    "Vancouver;BC;CA;V6C 0B9;Downtown;43.0;;2025-10-01T02:31:39-07:00;"
    '"{""coordinates"": [-123.116590608283, 49.2881583053534], ""type"": ""Point""}";'
    "49.2881583053534, -123.116590608283"
)


def write(tmp_path, text: str | bytes, name: str = "in.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_portal_file_accepted(tmp_path):
    info = check_portal_csv(
        write(tmp_path, "\ufeff" + HEADER + "\r\n" + ROW + "\r\n" + ROW + "\r\n"), LICENCES
    )
    assert info.has_bom and info.line_ending == "CRLF"
    assert info.columns == RAW_HEADER and info.data_rows == 2


def test_header_only_is_valid(tmp_path):
    info = check_portal_csv(write(tmp_path, "\ufeff" + HEADER + "\r\n"), LICENCES)
    assert info.data_rows == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\xef\xbb\xbf", "empty file"),
        (b"\xef\xbb\xbf\r\n", "empty file"),
        ((HEADER + "\r\n24;1;Caf\xe9 Ltd\r\n").encode("latin-1"), "not UTF-8: invalid byte 0xe9"),
        (",".join(RAW_HEADER).lower() + "\n", "wrong delimiter: the header is comma-separated"),
        ("\t".join(RAW_HEADER) + "\n", "wrong delimiter: the header is tab-separated"),
        ("hello\n", "header has a single column 'hello'"),
        (";".join(RAW_HEADER[:-1]) + "\r\n", "missing column(s): geo_point_2d"),
        (";".join(c for c in RAW_HEADER if c != "FeePaid") + "\r\n", "missing column(s): FeePaid"),
        (HEADER + ";Comment\r\n", "unexpected column(s): Comment"),
        (HEADER + ";Status\r\n", "duplicated column(s): Status"),
        (HEADER + "\r\n" + ROW + ";extra\r\n", "line 2 has 26 fields; the header has 25"),
    ],
    ids=[
        "empty",
        "bom-only",
        "blank-line",
        "latin-1",
        "comma",
        "tab",
        "one-col",
        "missing-last",
        "missing-fee",
        "extra",
        "duplicate",
        "ragged",
    ],
)
def test_bad_files(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(PortalCsvError) as err:
        check_portal_csv(path, LICENCES)
    text = str(err.value)
    assert message in text
    assert "\n" not in text and text.startswith("in.csv: ")


def test_missing_and_extra_named_together(tmp_path):
    header = ";".join(["Folder_Year", *RAW_HEADER[1:]])
    with pytest.raises(
        PortalCsvError, match=r"missing column\(s\): FOLDERYEAR; unexpected column\(s\): Folder_Year"
    ):
        check_portal_csv(write(tmp_path, header + "\n"), LICENCES)


def test_no_such_file(tmp_path):
    with pytest.raises(PortalCsvError, match="no such file"):
        check_portal_csv(tmp_path / "absent.csv", LICENCES)


def test_lowercase_header_lf_no_bom_accepted(tmp_path):
    info = check_portal_csv(write(tmp_path, HEADER.lower() + "\n" + ROW + "\n"), LICENCES)
    assert not info.has_bom and info.line_ending == "LF"
    assert info.header[0] == "folderyear" and info.columns == RAW_HEADER


def test_spark_read_handles_bom_crlf_quotes_and_blanks(spark, tmp_path):
    path = write(tmp_path, "\ufeff" + HEADER + "\r\n" + ROW + "\r\n")
    df = read_portal_csv(spark, path, LICENCES)
    assert tuple(df.columns) == RAW_HEADER
    assert {t for _, t in df.dtypes} == {"string"}
    row = df.collect()[0]
    assert row["FOLDERYEAR"] == "24"
    assert row["geo_point_2d"] == "49.2881583053534, -123.116590608283"  # no trailing \r
    assert row["Geom"] == '{"coordinates": [-123.116590608283, 49.2881583053534], "type": "Point"}'
    assert row["NumberofEmployees"] == "43.0"
    assert row["FeePaid"] is None and row["Unit"] is None  # blanks are nulls


def test_spark_read_lowercase_reordered_header(spark, tmp_path):
    names = [c.lower() for c in RAW_HEADER]
    names[0], names[1] = names[1], names[0]  # licencersn;folderyear;...
    fields = ROW.split(";", 2)
    row = ";".join([fields[1], fields[0], fields[2]])
    df = read_portal_csv(spark, write(tmp_path, ";".join(names) + "\n" + row + "\n" + row + "\n"), LICENCES)
    assert tuple(df.columns) == RAW_HEADER
    got = df.collect()
    assert len(got) == 2
    assert (got[0]["FOLDERYEAR"], got[0]["LicenceRSN"]) == ("24", "4528701")
    assert got[0]["geo_point_2d"].endswith("-123.116590608283")


def test_spark_read_quoted_empty_and_header_only(spark, tmp_path):
    quoted_blank = ROW.replace(";43.0;;", ';43.0;"";')
    df = read_portal_csv(spark, write(tmp_path, HEADER + "\r\n" + quoted_blank + "\r\n"), LICENCES)
    assert df.collect()[0]["FeePaid"] is None
    empty = read_portal_csv(spark, write(tmp_path, "\ufeff" + HEADER + "\r\n", "empty.csv"), LICENCES)
    assert empty.count() == 0 and tuple(empty.columns) == RAW_HEADER


def test_spark_read_runs_the_check_first(spark, tmp_path):
    with pytest.raises(PortalCsvError, match="wrong delimiter"):
        read_portal_csv(spark, write(tmp_path, ",".join(RAW_HEADER) + "\n"), LICENCES)


def test_normalize_for_upload(tmp_path):
    src = write(tmp_path, "\ufeff" + HEADER.lower() + "\r\n" + ROW + "\r\n")
    dst = tmp_path / "upload" / "out.csv"
    normalize_portal_csv(src, dst, LICENCES)
    assert dst.read_bytes() == (HEADER + "\r\n" + ROW + "\r\n").encode("utf-8")
    info = check_portal_csv(dst, LICENCES)
    assert not info.has_bom and info.header == RAW_HEADER and info.data_rows == 1


# -- other datasets: the declared delimiter, encoding and header ---------------------------------------
def test_the_remuneration_export_unquoted_without_bom(spark):
    """``;``-separated UTF-8 without a BOM and without quoting: commas and apostrophes inside values."""
    dataset = project_dataset("employee_remuneration")
    info = check_portal_csv(dataset.sample_path, dataset)
    assert (info.has_bom, info.columns, info.line_ending) == (False, dataset.raw_header, "CRLF")
    df = read_portal_csv(spark, dataset.sample_path, dataset)
    assert tuple(df.columns) == dataset.raw_header and df.count() == info.data_rows
    names = {r["Name"] for r in df.select("Name").collect()}
    assert any("'" in n for n in names) and all(", " in n for n in names if n)
    assert df.where("Department = 'Dev Svcs, Bldg & Licensing'").count() > 0
    with pytest.raises(PortalCsvError, match="missing column"):
        check_portal_csv(LICENCES.sample_path, dataset)


def test_a_comma_separated_dataset(spark, tmp_path):
    from dap.local_run import resolve_dataset

    trees = resolve_dataset(Path(__file__).resolve().parents[1] / "fixtures" / "datasets" / "street_trees")
    df = read_portal_csv(spark, trees.sample_path, trees)
    assert tuple(df.columns) == trees.raw_header == ("TREE_ID", "SPECIES_NAME", "NEIGHBOURHOOD_NAME",
                                                     "DIAMETER", "DATE_PLANTED")  # fmt: skip
    assert df.where("DIAMETER = '-3.5'").count() == 1
    semicolons = write(tmp_path, ";".join(trees.raw_header) + "\n")
    with pytest.raises(PortalCsvError, match="header is semicolon-separated; the portal uses ','"):
        check_portal_csv(semicolons, trees)
    dst = tmp_path / "up.csv"
    normalize_portal_csv(write(tmp_path, "\ufeff" + ",".join(trees.raw_header).lower() + "\n"), dst, trees)
    assert dst.read_text(encoding="utf-8") == ",".join(trees.raw_header) + "\n"
