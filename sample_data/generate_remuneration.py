r"""Deterministic generator of employee-remuneration CSVs in the City of Vancouver portal export format.

The dataset is "Employee Remuneration and Expenses (Earning Over $75,000)"; its measured format is in
``/work/shared/DATA.md`` (section "The employee-remuneration dataset"): UTF-8 (no BOM), CRLF line
endings, ``;`` delimiter and NO quoting, the 6-column header :data:`RAW_HEADER`
(``Year;Name;Department;Title;Remuneration;Expenses``), one row per person, department, title and year.
Years come newest first, one block per year (:data:`FIRST_YEAR`-:data:`LAST_YEAR`, the blocks growing a
little every year). Names are ``Surname, Initials`` (``D'Hoore, T S``, ``Cheng, P C.P.``); departments
are the City's abbreviated units, some with commas or apostrophes inside (``Dev Svcs, Bldg &
Licensing``, ``City Clerk's Office``); titles are upper case with `` (T)``/`` (AUX)`` suffixes, and title
case in the years before :data:`UPPER_CASE_TITLES_FROM` (``Planner Ii``, sometimes ``Planner Il``, a few
double spaces). Amounts are written like the portal: no thousands separator, at least one decimal
(``106333.82``, ``80796.3``; whole dollars ``96067.0`` before :data:`CENTS_FROM`); expenses are ``0.0``
in most rows.

People persist: person ``k`` is drawn from its own seeded stream (name, department, title, salary,
yearly raise), and each year's roster is a sliding window over ``k``, so the same names come back year
after year with raises, some move to another department, common names recur in different departments,
and a few "twins" (same name, department and title as another person, different amounts) exist, as in
the real file.

It also plants malformed rows the pipeline must route to ``failed`` (never crash on), 1-3 of each
kind per 500 rows (:data:`MALFORMED_KINDS`; :func:`planted` says where): blank remuneration,
remuneration at or below 75,000, non-numeric remuneration (``n/a``), negative expenses, a year out of
range (``1899``, ``20X4``), a blank department, a blank title; and 2 exact duplicate rows (a copy of the
row just before, in the same year block). Every row keeps exactly 6 fields: no value contains ``;``,
CR or LF.

The same ``(rows, seed)`` always gives the same bytes. Regenerate the committed sample with::

    python -m sample_data.generate_remuneration --rows 500 --seed 42 \
        --out sample_data/employee_remuneration_sample.csv

Departments are renamed over the years, as in the real file (:data:`FORMER_NAMES`): older years say
``Fire and Rescue Services`` / ``VFRS & OEM`` for today's ``VFRS``, ``RealEstate Env & Fac Mgmt`` for
``Real Estate & Facilities Mgmt``, ``Financial Services`` / ``Finance & Supply Chain Mgmt`` for
``Finance, Risk&Supply Chain Mgt``; the dataset's declaration maps them back in its curated outputs.

Rows are produced one at a time and streamed to the file (a person is re-derived from its seed when
needed, nothing per person is kept), so 1M rows need no large memory. Rows are in roster order within a
year, not sorted by name as the portal's are.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

RAW_HEADER = ("Year", "Name", "Department", "Title", "Remuneration", "Expenses")
DEFAULT_SEED = 42
SAMPLE_ROWS = 500
SAMPLE_PATH = Path(__file__).with_name("employee_remuneration_sample.csv")
SAMPLE_COMMAND = (
    "python -m sample_data.generate_remuneration --rows 500 --seed 42 "
    "--out sample_data/employee_remuneration_sample.csv"
)

LINE_END = "\r\n"
DELIMITER = ";"
FIRST_YEAR = 2019
LAST_YEAR = 2024
YEARS = tuple(range(LAST_YEAR, FIRST_YEAR - 1, -1))  # file order: newest first
UPPER_CASE_TITLES_FROM = 2021  # earlier years: title case with artefacts
CENTS_FROM = 2020  # earlier years: whole-dollar remuneration
THRESHOLD = 75_000.0  # the dataset lists remuneration above this only

# Today's department -> ((last year of a former name, that name), ...), oldest first: how the file spells
# the same unit in earlier years (shared/DATA.md lists these renames; the order is this sample's choice).
FORMER_NAMES: dict[str, tuple[tuple[int, str], ...]] = {
    "VFRS": ((2019, "Fire and Rescue Services"), (2021, "VFRS & OEM")),
    "Real Estate & Facilities Mgmt": ((2020, "RealEstate Env & Fac Mgmt"),),
    "Finance, Risk&Supply Chain Mgt": ((2019, "Financial Services"), (2020, "Finance & Supply Chain Mgmt")),
}


def published_name(department: str, year: int) -> str:
    """How the export spells ``department`` (today's name) in ``year``."""
    for last_year, name in FORMER_NAMES.get(department, ()):
        if year <= last_year:
            return name
    return department


# Department -> (weight, ((title, salary low, salary high), ...)). Salaries are the person's pay in the
# first year; they rise every year. Titles are the recent (upper-case) spelling.
DEPARTMENTS: dict[str, tuple[int, tuple[tuple[str, int, int], ...]]] = {
    "VFRS": (14, (
        ("FIREFIGHTER", 95_000, 140_000), ("FIRE LIEUTENANT", 120_000, 155_000),
        ("FIRE CAPTAIN", 130_000, 170_000), ("BATTALION CHIEF", 160_000, 200_000),
        ("ASSISTANT FIRE CHIEF", 180_000, 230_000),
    )),
    "Vancouver Police Department": (14, (
        ("POLICE CONSTABLE", 90_000, 135_000), ("POLICE SERGEANT", 125_000, 165_000),
        ("POLICE STAFF SERGEANT", 140_000, 180_000), ("INSPECTOR", 170_000, 215_000),
        ("CRIME ANALYST", 80_000, 105_000),
    )),
    "Engineering Services": (14, (
        ("ENGINEER II", 95_000, 125_000), ("ENGINEER III", 115_000, 145_000),
        ("ENGINEERING ASSISTANT IV", 80_000, 100_000), ("TRADES FOREPERSON", 85_000, 110_000),
        ("MACHINIST", 76_000, 92_000), ("ELECTRICIAN", 78_000, 98_000),
        ("BRANCH MANAGER", 140_000, 180_000),
    )),
    "Board of Parks & Recreation": (8, (
        ("COMMUNITY RECREATION SUPERVISOR", 85_000, 110_000), ("PARK SUPERVISOR", 80_000, 100_000),
        ("ARBORIST", 76_000, 90_000), ("RECREATION MANAGER", 100_000, 130_000),
    )),
    "Vancouver Public Library Board": (5, (
        ("LIBRARIAN II", 78_000, 95_000), ("LIBRARIAN III", 88_000, 105_000),
        ("BRANCH HEAD", 95_000, 115_000), ("SYSTEMS ANALYST", 85_000, 105_000),
    )),
    "Dev Svcs, Bldg & Licensing": (6, (
        ("BUILDING INSPECTOR II", 85_000, 105_000), ("PLUMBING INSPECTOR", 85_000, 102_000),
        ("LICENCE INSPECTOR", 78_000, 95_000), ("PLAN REVIEWER", 88_000, 110_000),
    )),
    "IT, Digital Strategy & 311": (6, (
        ("SYSTEMS ANALYST II", 85_000, 110_000), ("PROGRAMMER ANALYST III", 95_000, 125_000),
        ("IT PROJECT MANAGER", 110_000, 140_000), ("NETWORK ANALYST", 85_000, 110_000),
    )),
    "City Clerk's Office": (2, (
        ("DEPUTY CITY CLERK", 110_000, 140_000), ("MEETING COORDINATOR", 76_000, 90_000),
        ("RECORDS ANALYST", 78_000, 95_000),
    )),
    "Finance, Risk&Supply Chain Mgt": (5, (
        ("ACCOUNTANT III", 85_000, 105_000), ("FINANCIAL ANALYST", 82_000, 105_000),
        ("BUYER II", 78_000, 95_000), ("INTERNAL AUDITOR", 90_000, 115_000),
    )),
    "Planning, Urban Design & Sustainability": (5, (
        ("PLANNER II", 85_000, 105_000), ("PLANNER III", 100_000, 125_000),
        ("URBAN DESIGNER", 95_000, 120_000), ("SUSTAINABILITY SPECIALIST", 85_000, 105_000),
    )),
    "Arts, Culture & Community Services": (4, (
        ("SOCIAL PLANNER II", 85_000, 105_000), ("CULTURAL PLANNER", 82_000, 100_000),
        ("COMMUNITY DEVELOPMENT MANAGER", 110_000, 140_000),
    )),
    "Real Estate & Facilities Mgmt": (4, (
        ("FACILITIES MANAGER", 100_000, 130_000), ("CARPENTER", 76_000, 92_000),
        ("PROPERTY MANAGER", 90_000, 115_000), ("ELECTRICIAN", 78_000, 98_000),
    )),
    "Human Resources": (3, (
        ("HR ADVISOR", 82_000, 100_000), ("LABOUR RELATIONS ADVISOR", 95_000, 120_000),
        ("HR BUSINESS PARTNER", 100_000, 125_000),
    )),
    "Legal Services": (2, (
        ("SOLICITOR II", 110_000, 140_000), ("SOLICITOR III", 130_000, 165_000),
        ("LEGAL ASSISTANT", 76_000, 88_000),
    )),
    "City Manager's Office": (2, (
        ("POLICY ANALYST", 85_000, 105_000), ("DIRECTOR", 150_000, 200_000),
        ("CITY MANAGER", 330_000, 360_000),
    )),
}  # fmt: skip
_DEPARTMENT_NAMES = tuple(DEPARTMENTS)
_DEPARTMENT_WEIGHTS = tuple(weight for weight, _ in DEPARTMENTS.values())
_SALARY_RANGES = {
    (department, title): (low, high)
    for department, (_, titles) in DEPARTMENTS.items()
    for title, low, high in titles
}

# Common surnames first (drawn more often), so the same "Surname, I" recurs in different departments.
SURNAMES = (
    "Wong", "Singh", "Lee", "Chan", "Smith", "Brown", "Nguyen", "Li", "Kim", "Sandhu", "Gill", "Wilson",
    "Chen", "Zhang", "Wang", "Liu", "Johnson", "MacDonald", "Campbell", "Taylor", "Martin", "Anderson",
    "Thompson", "Dhillon", "Grewal", "Tran", "Leung", "Ng", "Cheng", "Ho", "Fraser", "Stewart", "Murray",
    "Ross", "Reid", "Scott", "Young", "Walker", "Mitchell", "Robertson", "Altamura", "Babin", "Beck",
    "D'Hoore", "O'Brien", "McKenzie", "MacLeod", "Bender", "Schouls", "Tremblay", "Gagnon", "Roy",
    "Bouchard", "Pelletier", "Fernandes", "Santos", "Kaur", "Sidhu", "Brar", "Park", "Choi", "Yamamoto",
    "Tanaka", "Nakamura", "Ivanova", "Kowalski", "Novak", "Horvath", "Rossi", "Ferrari", "Mueller",
    "Schmidt", "Johal", "Lam", "Yip", "Tse", "Fung", "Smith-Jones", "Van Der Berg", "De Souza",
)  # fmt: skip
_SURNAME_WEIGHTS = tuple(8 if i < 12 else 3 if i < 40 else 1 for i in range(len(SURNAMES)))
INITIALS = "AJMSDKRCPLTBEGHNW"
MIDDLE_NAMES = ("SOLOMON", "MARIE", "ANN", "LYNN", "JAMES", "LEE")

# Malformed rows planted on purpose: 1-3 of each kind per 500 rows, 2 duplicates (files of 400+ rows);
# one of each in files of 60-399 rows; none below. :func:`planted` tells where.
MALFORMED_KINDS = (
    "remuneration_blank",
    "remuneration_at_or_below_threshold",
    "remuneration_non_numeric",
    "expenses_negative",
    "year_out_of_range",
    "department_blank",
    "title_blank",
    "duplicate",
)
BAD_REMUNERATION_LOW = ("74999.5", "75000.0", "61250.4")
BAD_REMUNERATION_TEXT = ("n/a",)
BAD_YEARS = ("1899", "20X4")


@dataclass(frozen=True)
class _Person:
    name: str
    jobs: tuple[tuple[int, str, str], ...]  # (from year, department, title), oldest first
    salary: float  # pay in FIRST_YEAR
    raise_rate: float
    expense_rate: float  # chance of non-zero expenses in a year

    def job(self, year: int) -> tuple[str, str]:
        current = self.jobs[0]
        for job in self.jobs:
            if job[0] <= year:
                current = job
        return current[1], current[2]


def _title_case(title: str, rnd: random.Random) -> str:
    """The older years' spelling: ``PLANNER II`` -> ``Planner Ii`` (sometimes ``Planner Il``)."""
    text = title.title().replace("(Aux)", "(AUX)")
    if text.endswith(" Ii") and rnd.random() < 0.3:
        text = text[:-1] + "l"  # lowercase L for I, as in the real file
    if text.startswith("Machinist") and rnd.random() < 0.5:
        text = "MacHinist" + text[len("Machinist") :]
    return text


def _amount(value: float, cents: bool = True) -> str:
    """Portal style: no separators, at least one decimal (``106333.82``, ``80796.3``, ``96067.0``)."""
    return repr(round(value, 2)) if cents else repr(float(round(value)))


class _Generator:
    def __init__(self, rows: int, seed: int):
        self.rows = rows
        self.seed = seed
        rnd = self.rnd = random.Random(seed)
        # Rows per year: the list grows ~4% a year; newest first, the sizes add up to ``rows``.
        weights = [1.04 ** (year - FIRST_YEAR) for year in YEARS]
        sizes = [int(rows * w / sum(weights)) for w in weights]
        for i in range(rows - sum(sizes)):
            sizes[i % len(sizes)] += 1
        self.sizes = dict(zip(YEARS, sizes, strict=True))
        # Roster of a year = persons [start, start + size): a window sliding by the yearly turnover.
        turnover = max(1, round(0.09 * rows / len(YEARS)))
        self.roster_start = {year: (year - FIRST_YEAR) * turnover for year in YEARS}
        # Planted defects at fixed positions (global row index), away from each year block's first row.
        self.forced: dict[int, str] = {}
        block_starts, start = set(), 0
        for year in YEARS:
            block_starts.add(start)
            start += self.sizes[year]
        if rows >= 60:
            scale = max(1, rows // 500)
            counts = {kind: scale * (rnd.randint(1, 3) if rows >= 400 else 1) for kind in MALFORMED_KINDS}
            counts["duplicate"] = scale * (2 if rows >= 400 else 1)
            kinds = [kind for kind, count in counts.items() for _ in range(count)]
            candidates = rnd.sample(range(1, rows), min(rows - 1, 6 * len(kinds) + 30))
            positions = iter(p for p in candidates if p not in block_starts and p - 1 not in block_starts)
            for kind in kinds:
                for pos in positions:
                    # Never side by side: a duplicate copies the row before it, which stays a valid row.
                    if pos in self.forced or pos - 1 in self.forced or pos + 1 in self.forced:
                        continue
                    self.forced[pos] = kind
                    break

    @lru_cache(maxsize=4096)  # noqa: B019 - one generator per file, bounded: the memory stays small
    def person(self, k: int) -> _Person:
        rnd = random.Random(f"{self.seed}:person:{k}")
        surname = rnd.choices(SURNAMES, _SURNAME_WEIGHTS)[0]
        initials = rnd.choice(INITIALS)
        r = rnd.random()
        if r < 0.35:
            initials += " " + rnd.choice(INITIALS)
        elif r < 0.38:
            initials += f" {rnd.choice(INITIALS)}.{rnd.choice(INITIALS)}."
        elif r < 0.41:
            initials += " " + rnd.choice(MIDDLE_NAMES)
        name = f"{surname}, {initials}"
        department = rnd.choices(_DEPARTMENT_NAMES, _DEPARTMENT_WEIGHTS)[0]
        title, low, high = rnd.choice(DEPARTMENTS[department][1])
        suffix = rnd.random()
        if suffix < 0.05:
            title += " (T)"
        elif suffix < 0.08:
            title += " (AUX)"
        jobs = [(FIRST_YEAR, department, title)]
        if rnd.random() < 0.08:  # moves to another department (or another title) some year
            other = rnd.choices(_DEPARTMENT_NAMES, _DEPARTMENT_WEIGHTS)[0]
            jobs.append((rnd.randint(FIRST_YEAR + 1, LAST_YEAR), other, rnd.choice(DEPARTMENTS[other][1])[0]))
        if k > 0 and rnd.random() < 0.03:  # a "twin": same name, department and title as person k - 1
            twin = self.person(k - 1)
            name, jobs = twin.name, list(twin.jobs)
            low, high = _SALARY_RANGES[jobs[0][1], jobs[0][2].removesuffix(" (T)").removesuffix(" (AUX)")]
        salary = rnd.uniform(low, high)
        raise_rate = rnd.uniform(0.0, 0.06)
        expense_rate = rnd.choice((0.03, 0.1, 0.3, 0.7))
        return _Person(name, tuple(jobs), salary, raise_rate, expense_rate)

    def row(self, year: int, k: int) -> list[str]:
        person = self.person(k)
        rnd = random.Random(f"{self.seed}:year:{k}:{year}")
        department, title = person.job(year)
        pay = person.salary * (1 + person.raise_rate) ** (year - FIRST_YEAR) * rnd.uniform(0.93, 1.07)
        if pay <= THRESHOLD:
            pay = THRESHOLD + rnd.uniform(150, 4_000)  # listed means above the threshold
        if rnd.random() < person.expense_rate:
            expenses = _amount(rnd.uniform(20, 2_500) if rnd.random() < 0.9 else rnd.uniform(2_500, 30_000))
        else:
            expenses = "0.0"
        name = person.name
        if year < UPPER_CASE_TITLES_FROM:
            title = _title_case(title, rnd)
            if rnd.random() < 0.04:
                title = title.replace(" ", "  ", 1)
        r = rnd.random()
        if r < 0.015:
            name = name.replace(" ", "  ", 1)
        elif r < 0.025:
            name += " "
        department = published_name(department, year)
        return [str(year), name, department, title, _amount(pay, cents=year >= CENTS_FROM), expenses]

    def _malform(self, row: list[str], kind: str, index: int) -> list[str]:
        rnd = random.Random(f"{self.seed}:malformed:{index}")
        row = list(row)
        if kind == "remuneration_blank":
            row[4] = ""
        elif kind == "remuneration_at_or_below_threshold":
            row[4] = rnd.choice(BAD_REMUNERATION_LOW)
        elif kind == "remuneration_non_numeric":
            row[4] = rnd.choice(BAD_REMUNERATION_TEXT)
        elif kind == "expenses_negative":
            row[5] = "-" + _amount(rnd.uniform(10, 900))
        elif kind == "year_out_of_range":
            row[0] = rnd.choice(BAD_YEARS)
        elif kind == "department_blank":
            row[2] = ""
        elif kind == "title_blank":
            row[3] = ""
        return row

    def rows_iter(self) -> Iterator[list[str]]:
        index = 0
        previous: list[str] = []
        for year in YEARS:
            start = self.roster_start[year]
            for slot in range(self.sizes[year]):
                kind = self.forced.get(index)
                if kind == "duplicate":
                    row = list(previous)  # an exact copy of the row just before
                else:
                    row = self.row(year, start + slot)
                    if kind:
                        row = self._malform(row, kind, index)
                if any(DELIMITER in v or "\r" in v or "\n" in v for v in row):
                    raise AssertionError(f"row {index}: a value contains the delimiter or a line break")
                previous = row
                index += 1
                yield row


def iter_rows(rows: int, seed: int = DEFAULT_SEED) -> Iterator[list[str]]:
    """Yield ``rows`` data rows (lists of 6 strings, :data:`RAW_HEADER` order), deterministically."""
    if rows < 0:
        raise ValueError("rows must be >= 0")
    return _Generator(rows, seed).rows_iter()


def planted(rows: int, seed: int = DEFAULT_SEED) -> dict[int, str]:
    """The planted defects of the file ``(rows, seed)``: data-row index (0-based) -> kind.

    A ``duplicate`` at index ``i`` is an exact copy of row ``i - 1``.
    """
    return dict(sorted(_Generator(rows, seed).forced.items()))


def _write(stream, rows: int, seed: int) -> None:
    stream.write(DELIMITER.join(RAW_HEADER) + LINE_END)
    for row in iter_rows(rows, seed):
        stream.write(DELIMITER.join(row) + LINE_END)


def generate(rows: int, seed: int = DEFAULT_SEED) -> str:
    """The whole CSV text, for small files; use :func:`write_csv` for big ones."""
    buf = io.StringIO(newline="")
    _write(buf, rows, seed)
    return buf.getvalue()


def write_csv(path: str | Path, rows: int, seed: int = DEFAULT_SEED) -> Path:
    """Stream a portal-format CSV of ``rows`` data rows to ``path`` (parents created); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="", buffering=1 << 20) as fh:
        _write(fh, rows, seed)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sample_data.generate_remuneration", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rows", type=int, default=SAMPLE_ROWS, help="data rows to write (default 500)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 42)")
    parser.add_argument("--out", default=str(SAMPLE_PATH), help="output CSV path (default: the sample)")
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must be >= 0")
    out = write_csv(args.out, args.rows, args.seed)
    print(f"wrote {args.rows} rows to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
