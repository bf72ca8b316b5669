"""The employee-remuneration generator writes the portal export format, deterministically, with defects."""

from __future__ import annotations

import csv
import io
import re
import shlex
from collections import Counter, defaultdict

import pytest

from sample_data import generate_remuneration as gen

HEADER = "Year;Name;Department;Title;Remuneration;Expenses"
AMOUNT = re.compile(r"^[0-9]+\.[0-9]{1,2}$")  # portal style: no separators, 1-2 decimals
KNOWN_YEARS = {str(y) for y in range(gen.FIRST_YEAR, gen.LAST_YEAR + 1)}


@pytest.fixture(scope="module")
def sample_text() -> str:
    return gen.generate(gen.SAMPLE_ROWS, gen.DEFAULT_SEED)


@pytest.fixture(scope="module")
def rows(sample_text) -> list[list[str]]:
    return [line.split(";") for line in sample_text.split("\r\n")[1:-1]]


def _float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def documented_command() -> list[str]:
    """The regeneration command of the module docstring, as argv (shell line continuations joined)."""
    text = gen.__doc__.replace("\\\n", " ")
    line = next(ln for ln in text.splitlines() if "python -m sample_data.generate_remuneration" in ln)
    return shlex.split(line)


def test_committed_sample_equals_generator_output(tmp_path, monkeypatch):
    committed = gen.SAMPLE_PATH.read_bytes()
    assert committed == gen.generate(gen.SAMPLE_ROWS, gen.DEFAULT_SEED).encode("utf-8"), (
        f"regenerate: {gen.SAMPLE_COMMAND}"
    )
    # The command in the module docstring, run from the repository root, writes exactly that file.
    argv = documented_command()
    assert argv[:3] == ["python", "-m", "sample_data.generate_remuneration"]
    assert " ".join(argv) == gen.SAMPLE_COMMAND
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sample_data").mkdir()
    assert gen.main(argv[3:]) == 0
    assert (tmp_path / "sample_data" / gen.SAMPLE_PATH.name).read_bytes() == committed


def test_deterministic():
    a = gen.generate(300, seed=7)
    assert a == gen.generate(300, seed=7)
    assert a != gen.generate(300, seed=8)


def test_utf8_crlf_no_bom_header(sample_text):
    raw = sample_text.encode("utf-8")
    assert not raw.startswith(b"\xef\xbb\xbf")
    lines = raw.split(b"\r\n")
    assert lines[-1] == b""  # ends with CRLF
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert lines[0].decode() == HEADER
    assert len(lines) - 2 == gen.SAMPLE_ROWS
    assert '"' not in sample_text  # no quoting anywhere


def test_every_row_has_6_fields(sample_text, rows):
    assert {len(r) for r in rows} == {6}
    # a CSV reader (no quoting, ';') agrees: commas and apostrophes inside values are plain characters
    parsed = list(csv.reader(io.StringIO(sample_text, newline=""), delimiter=";", quoting=csv.QUOTE_NONE))
    assert len(parsed) == gen.SAMPLE_ROWS + 1 and {len(r) for r in parsed} == {6}


def test_years_newest_first_in_blocks(rows):
    years = [r[0] for r in rows]
    counts = Counter(y for y in years if y in KNOWN_YEARS)
    assert set(counts) == KNOWN_YEARS  # 2019-2024
    assert all(60 <= n <= 100 for n in counts.values()), counts
    valid = [int(y) for y in years if y in KNOWN_YEARS]
    assert valid == sorted(valid, reverse=True)  # one block per year, newest first


def test_realistic_values(rows):
    departments = Counter(r[2] for r in rows)
    for name in ("VFRS", "Dev Svcs, Bldg & Licensing", "IT, Digital Strategy & 311", "City Clerk's Office"):
        assert departments[name] > 0, name
    titles = [r[3] for r in rows if r[0] in KNOWN_YEARS]
    assert any(t.endswith(" (T)") for t in titles) and any(t.endswith(" (AUX)") for t in titles)
    recent = [r[3] for r in rows if r[0] in {"2023", "2024"} and r[3]]
    assert all(t == t.upper() for t in recent)
    older = [r[3] for r in rows if r[0] == "2019" and r[3]]
    assert sum(t != t.upper() for t in older) > 0.9 * len(older)  # title case in older years
    assert any(re.search(r" I[il]$", t) for t in older)  # "Planner Ii", "Planner Il"
    assert any("  " in r[1] or r[1] != r[1].strip() for r in rows)  # stray spaces in names
    assert all(re.fullmatch(r"[^,]+ ?, .+", r[1]) for r in rows)  # Surname, Initials
    remuneration = [r[4] for r in rows if r[4] and _float(r[4]) is not None]
    assert all(AMOUNT.match(v) for v in remuneration)
    assert any(v.endswith(".0") for v in remuneration) and any(re.search(r"\.\d\d$", v) for v in remuneration)
    assert all(v.endswith(".0") for r in rows if r[0] == "2019" and (v := r[4]) and (_float(v) or 0) > 75_000)
    expenses = [r[5] for r in rows]
    assert 0.55 < expenses.count("0.0") / len(expenses) < 0.9
    assert all(AMOUNT.match(v.removeprefix("-")) for v in expenses)


def test_people_persist_and_names_repeat(rows):
    valid = [r for r in rows if r[0] in KNOWN_YEARS]
    years_by_name = defaultdict(set)
    departments_by_name = defaultdict(set)
    for r in valid:
        name = " ".join(r[1].split())
        years_by_name[name].add(r[0])
        if r[2]:
            departments_by_name[name].add(r[2])
    assert sum(len(y) == 6 for y in years_by_name.values()) >= 25  # people stay year after year
    assert sum(len(d) >= 2 for d in departments_by_name.values()) >= 3  # same name, other department
    # same name, department, title and year, different amounts (not unique, as in the real file)
    amounts = defaultdict(set)
    for r in valid:
        amounts[tuple(r[:4])].add(r[4])
    assert sum(len(a) >= 2 for a in amounts.values()) >= 2
    # people get raises: a person's pay in 2024 is usually above their pay in 2019 (under any department name)
    today = defaultdict(lambda: None, {d: d for d in gen.DEPARTMENTS})
    today |= {old: now for now, names in gen.FORMER_NAMES.items() for _, old in names}
    pay = defaultdict(dict)
    for r in valid:
        if _float(r[4]):
            pay[(r[1], today[r[2]], r[3].upper())][r[0]] = float(r[4])
    both = [p for p in pay.values() if "2019" in p and "2024" in p]
    assert len(both) >= 20 and sum(p["2024"] > p["2019"] for p in both) > 0.7 * len(both)


def test_planted_malformed_rows(rows):
    planted = gen.planted(gen.SAMPLE_ROWS, gen.DEFAULT_SEED)
    kinds = Counter(planted.values())
    assert set(kinds) == set(gen.MALFORMED_KINDS)
    assert all(1 <= n <= 3 for n in kinds.values()) and kinds["duplicate"] == 2
    checks = {
        "remuneration_blank": lambda r: r[4] == "",
        "remuneration_at_or_below_threshold": lambda r: _float(r[4]) is not None and _float(r[4]) <= 75_000,
        "remuneration_non_numeric": lambda r: r[4] != "" and _float(r[4]) is None,
        "expenses_negative": lambda r: (_float(r[5]) or 0) < 0,
        "year_out_of_range": lambda r: r[0] not in KNOWN_YEARS,
        "department_blank": lambda r: r[2] == "",
        "title_blank": lambda r: r[3] == "",
    }
    for kind, check in checks.items():
        found = [i for i, r in enumerate(rows) if check(r)]
        assert found == sorted(i for i, k in planted.items() if k == kind), kind
    assert {r[0] for r in rows} - KNOWN_YEARS <= set(gen.BAD_YEARS)
    # exact duplicates: each a copy of the row before it, and no other row repeats
    repeated = [i for i in range(1, len(rows)) if rows[i] in rows[:i]]
    assert repeated == sorted(i for i, k in planted.items() if k == "duplicate")
    assert all(rows[i] == rows[i - 1] for i in repeated)
    # every other row is valid
    bad = {i for i, r in enumerate(rows) if any(check(r) for check in checks.values())}
    assert bad | set(repeated) == set(planted)


def test_small_files_and_cli(tmp_path):
    assert gen.generate(0) == HEADER + "\r\n"
    assert gen.planted(59) == {}
    assert Counter(gen.planted(60).values()) == Counter(gen.MALFORMED_KINDS)
    path = gen.write_csv(tmp_path / "sub" / "x.csv", rows=80, seed=3)
    assert path.read_bytes() == gen.generate(80, seed=3).encode("utf-8")
    out = tmp_path / "cli.csv"
    assert gen.main(["--rows", "80", "--seed", "3", "--out", str(out)]) == 0
    assert out.read_bytes() == path.read_bytes()
    with pytest.raises(ValueError):
        gen.iter_rows(-1)


def test_older_years_spell_renamed_departments_the_old_way(rows):
    by_year = defaultdict(set)
    for r in rows:
        by_year[r[0]].add(r[2])
    for former in gen.FORMER_NAMES.values():
        for last_year, name in former:
            assert all(name not in by_year[str(y)] for y in range(last_year + 1, gen.LAST_YEAR + 1)), name
    assert {"Fire and Rescue Services", "Financial Services"} <= by_year["2019"]
    assert "VFRS & OEM" in by_year["2021"] and "VFRS" in by_year["2022"] and "VFRS" not in by_year["2021"]
    assert gen.published_name("VFRS", 2019) == "Fire and Rescue Services"
    assert gen.published_name("VFRS", 2024) == "VFRS"
