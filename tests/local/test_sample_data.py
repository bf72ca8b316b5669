"""The sample generator writes the real portal export format, deterministically."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from sample_data import generate as gen
from stacks.datasets import project_dataset

LICENCES = project_dataset("business_licences")
RAW_HEADER = LICENCES.raw_header

VANCOUVER = ZoneInfo("America/Vancouver")


@pytest.fixture(scope="module")
def sample_text() -> str:
    return gen.generate(gen.SAMPLE_ROWS, gen.DEFAULT_SEED)


@pytest.fixture(scope="module")
def rows(sample_text) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(sample_text.removeprefix("\ufeff"), newline=""), delimiter=";")
    return list(reader)


def test_bom_crlf_delimiter_and_header(sample_text):
    raw = sample_text.encode("utf-8")
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw[3:].split(b"\r\n")
    assert lines[-1] == b""  # ends with CRLF
    assert all(b"\n" not in line and b"\r" not in line for line in lines)  # CRLF only, no bare LF/CR
    assert lines[0].decode() == ";".join(RAW_HEADER)
    assert len(lines) - 2 == gen.SAMPLE_ROWS


def test_every_row_has_25_fields(sample_text):
    parsed = list(csv.reader(io.StringIO(sample_text, newline=""), delimiter=";"))
    assert len(parsed) == gen.SAMPLE_ROWS + 1
    assert {len(r) for r in parsed} == {25}


def test_quoting_only_where_needed(sample_text):
    body = sample_text.split("\r\n", 1)[1]
    # Geom is quoted with doubled quotes; plain fields are never quoted.
    assert ';"{""coordinates"": [-123.' in body
    assert ';"Issued";' not in body and ';"24";' not in body
    assert '"The ""Good"" Kitchen Ltd"' in body or '"Mama\'s ""Famous"" Pierogies"' in body


def test_field_formats(rows):
    assert {r["FOLDERYEAR"] for r in rows} == {"24", "25"}
    employees = [r["NumberofEmployees"] for r in rows]
    assert sum(e.endswith(".0") for e in employees) >= len(rows) - 3
    assert "0.0" in employees
    assert all(r["ExpiredDate"] == f"20{r['FOLDERYEAR']}-12-31" for r in rows)
    assert all(r["LicenceNumber"].startswith(r["FOLDERYEAR"] + "-") for r in rows)
    blank_fees = sum(r["FeePaid"] == "" for r in rows) / len(rows)
    assert 0.35 < blank_fees < 0.55
    blank_geo = [r for r in rows if r["Geom"] == ""]
    assert 0.01 < len(blank_geo) / len(rows) < 0.08
    assert all(r["geo_point_2d"] == "" for r in blank_geo)
    with_geo = next(r for r in rows if r["Geom"])
    lat, lon = with_geo["geo_point_2d"].split(", ")
    assert with_geo["Geom"] == f'{{"coordinates": [{lon}, {lat}], "type": "Point"}}'
    assert len({r["LocalArea"] for r in rows}) == 22
    assert 2 <= len({r["ExtractDate"] for r in rows}) <= 5


def test_five_statuses_issued_dominant(rows):
    counts = Counter(r["Status"] for r in rows)
    assert set(gen.STATUSES) <= set(counts)
    assert counts["Issued"] > 0.6 * len(rows)
    assert counts[""] >= 1  # one planted missing status


def test_issued_date_offsets_match_vancouver_dst(rows):
    offsets = set()
    checked = 0
    for r in rows:
        value = r["IssuedDate"]
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            continue
        local = moment.replace(tzinfo=None).replace(tzinfo=VANCOUVER)
        assert moment.utcoffset() == local.utcoffset(), value
        offsets.add(value[-6:])
        checked += 1
    assert offsets == {"-08:00", "-07:00"}
    assert checked > 0.8 * len(rows)
    for r in rows:
        moment = dt.datetime.fromisoformat(r["ExtractDate"])
        assert moment.utcoffset() == moment.replace(tzinfo=VANCOUVER).utcoffset()


def test_issued_date_quirks(rows):
    def year(r):
        return 2000 + int(r["FOLDERYEAR"])

    parsed = [(r, r["IssuedDate"][:10]) for r in rows if r["IssuedDate"][:4].isdigit()]
    assert any(int(day[:4]) == year(r) - 1 for r, day in parsed)  # issued the year before
    assert any(day > r["ExpiredDate"] for r, day in parsed)  # issued after expiry
    assert any(r["IssuedDate"] == "" and r["Status"] != "Issued" for r in rows)
    assert all(day <= gen.DEFAULT_EXTRACT_DATE.isoformat() for _, day in parsed)


def test_messy_text_and_postal_codes(rows):
    names = [r["BusinessName"] for r in rows] + [r["BusinessTradeName"] for r in rows]
    assert any("  " in n for n in names)
    assert any('"' in n for n in names)
    assert any(ch in n for n in names for ch in "é\u2019")
    streets = {r["Street"] for r in rows}
    assert any(s.isupper() for s in streets) and any(not s.isupper() for s in streets)
    postal = [r["PostalCode"] for r in rows]
    assert sum(len(p) == 7 and p[3] == " " and p.isupper() for p in postal) > 0.7 * len(rows)
    assert any(len(p) == 6 and p.isalnum() for p in postal)  # no space
    assert any(p != p.upper() for p in postal)  # lower case
    assert any(p in gen.MALFORMED_POSTAL for p in postal)


def test_duplicates_and_malformed_values(rows):
    as_tuples = [tuple(r.values()) for r in rows]
    assert len(as_tuples) - len(set(as_tuples)) >= 1
    assert any(r["NumberofEmployees"] in gen.BAD_EMPLOYEES for r in rows)
    assert any(r["FeePaid"].startswith("-") for r in rows)
    assert any(r["IssuedDate"] in gen.BAD_DATES for r in rows)


def test_deterministic():
    a = gen.generate(200, seed=7)
    assert a == gen.generate(200, seed=7)
    assert a != gen.generate(200, seed=8)
    assert gen.generate(200, seed=7, extract_date=dt.date(2026, 3, 1)) != a


def test_extract_date_option_moves_the_years():
    text = gen.generate(100, seed=1, extract_date=dt.date(2027, 2, 15))
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))
    assert {r["FOLDERYEAR"] for r in rows} == {"26", "27"}
    assert all(r["ExtractDate"][:10] in {"2027-02-13", "2027-02-14", "2027-02-15"} for r in rows)


def test_committed_sample_equals_generator_output():
    committed = gen.SAMPLE_PATH.read_bytes()
    assert committed == gen.generate(gen.SAMPLE_ROWS, gen.DEFAULT_SEED).encode("utf-8"), (
        "regenerate: python -m sample_data.generate --rows 600 --seed 42 "
        "--out sample_data/business_licences_sample.csv"
    )


def test_write_csv_and_cli(tmp_path):
    path = gen.write_csv(tmp_path / "sub" / "x.csv", rows=30, seed=3)
    assert path.read_bytes() == gen.generate(30, seed=3).encode("utf-8")
    out = tmp_path / "cli.csv"
    assert gen.main(["--rows", "30", "--seed", "3", "--out", str(out)]) == 0
    assert out.read_bytes() == path.read_bytes()


def test_tiny_files():
    assert gen.generate(0).encode() == b"\xef\xbb\xbf" + ";".join(RAW_HEADER).encode() + b"\r\n"
    two = list(
        csv.reader(io.StringIO(gen.generate(2, seed=5).removeprefix("\ufeff"), newline=""), delimiter=";")
    )
    assert len(two) == 3 and two[1] == two[2]  # the guaranteed duplicate
