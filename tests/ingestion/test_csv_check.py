"""The streaming portal-CSV check with a dataset's own format: delimiter, encoding and header are
parameters (``datasets/<id>/dataset.toml``); the defaults are the business-licence export's, which the
ingestion Lambda uses when its environment names no others."""

from __future__ import annotations

import pytest
from portal_ingest.csv_check import DELIMITER, ENCODING, PortalCsvError, PortalCsvStream, check_chunks

REMUNERATION = ("Year", "Name", "Department", "Title", "Remuneration", "Expenses")
ROW = "2024;D'Hoore, T;Dev Svcs, Bldg & Licensing;ENGINEER III;179334.84;0.0"


def test_the_defaults_are_the_licence_export():
    assert (DELIMITER, ENCODING) == (";", "utf-8-sig")
    stream = PortalCsvStream("x", ("A", "B"))
    assert (stream.delimiter, stream.encoding) == (";", "utf-8-sig")


def test_an_unquoted_semicolon_export_without_bom():
    data = (";".join(REMUNERATION) + "\r\n" + ROW + "\r\n" + ROW + "\r\n").encode("utf-8")
    stats = check_chunks("rem.csv", REMUNERATION, [data[:7], data[7:]], encoding="utf-8")
    assert (stats.has_bom, stats.data_rows, stats.columns) == (False, 2, REMUNERATION)


def test_a_comma_export_normalizes_with_its_own_delimiter():
    stream = PortalCsvStream("trees.csv", ("TREE_ID", "SPECIES"), delimiter=",", encoding="utf-8")
    out = stream.feed(b"\xef\xbb\xbftree_id,species\n1,Acer rubrum\n")  # a BOM is accepted either way
    stats = stream.finish()
    assert out == b"TREE_ID,SPECIES\n1,Acer rubrum\n"
    assert stats.has_bom and stats.data_rows == 1


@pytest.mark.parametrize(
    ("header", "delimiter", "message"),
    [
        ("TREE_ID;SPECIES", ",", "wrong delimiter: the header is semicolon-separated; the portal uses ','"),
        ("TREE_ID|SPECIES", ",", "wrong delimiter: the header is pipe-separated; the portal uses ','"),
        ("TREE_ID,SPECIES", ";", "wrong delimiter: the header is comma-separated; the portal uses ';'"),
        ("TREE_ID", ",", "header has a single column 'TREE_ID'; expected 2 ','-separated columns"),
    ],
)
def test_the_wrong_delimiter_is_named(header, delimiter, message):
    with pytest.raises(PortalCsvError, match=message.replace("(", r"\(").replace("|", r"\|")):
        check_chunks("t.csv", ("TREE_ID", "SPECIES"), [f"{header}\n".encode()], delimiter=delimiter)


def test_field_counts_use_the_delimiter():
    data = b"TREE_ID,SPECIES\n1,Acer rubrum,extra\n"
    with pytest.raises(PortalCsvError, match="line 2 has 3 fields; the header has 2"):
        check_chunks("t.csv", ("TREE_ID", "SPECIES"), [data], delimiter=",")


@pytest.mark.parametrize(("delimiter", "encoding"), [(";;", "utf-8"), ('"', "utf-8"), (";", "latin-1")])
def test_a_bad_format_is_refused_up_front(delimiter, encoding):
    with pytest.raises(ValueError, match=r"delimiter|encoding"):
        PortalCsvStream("x", ("A",), delimiter=delimiter, encoding=encoding)
