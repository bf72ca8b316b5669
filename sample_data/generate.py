"""Deterministic generator of business-licence CSVs in the exact portal export format.

The output follows the measured portal format (see ``/work/shared/DATA.md`` and the project README):
UTF-8 with BOM, CRLF line endings, ``;`` delimiter, quoting only where needed (``"`` doubled), the
25-column header the dataset declares (``datasets/business_licences/dataset.toml``), 2-digit FOLDERYEAR,
float employee counts (``43.0``), FeePaid blank in ~45% of rows, ISO timestamps with the Pacific offset
that is right for the date (``-08:00`` standard time, ``-07:00`` daylight time), GeoJSON
``Geom`` and ``geo_point_2d``.

It also plants what real exports contain and the pipeline must cope with: exact duplicate rows,
IssuedDate in the year before FOLDERYEAR, blank for some non-issued rows and a few after ExpiredDate,
mixed street casing, double spaces, quotes and non-ASCII letters in names, postal codes without a
space / in lower case / malformed, blank geometry (~4%), and a few malformed values (non-numeric
employee count, negative fee, unparseable date, missing status).

The same ``(rows, seed, extract_date)`` always gives the same bytes. ``extract_date`` anchors the data
in time (the ExtractDate values are that day and up to two days before it; FOLDERYEAR is its year and
the year before; no IssuedDate is after it); its default, :data:`DEFAULT_EXTRACT_DATE`, is fixed so the
committed sample is reproducible. Regenerate the committed sample with::

    python -m sample_data.generate --rows 600 --seed 42 --out sample_data/business_licences_sample.csv

Rows are produced one at a time and streamed to the file, so 1M rows need no large memory.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from dataset_etl.declaration import load_dataset

DEFAULT_EXTRACT_DATE = dt.date(2025, 10, 1)
DEFAULT_SEED = 42
SAMPLE_ROWS = 600
SAMPLE_PATH = Path(__file__).with_name("business_licences_sample.csv")
# The portal's header, as the dataset declares it (the generator writes what the pipeline expects).
RAW_HEADER: tuple[str, ...] = load_dataset(
    Path(__file__).resolve().parent.parent / "datasets" / "business_licences"
).raw_header

VANCOUVER = ZoneInfo("America/Vancouver")
BOM = "\ufeff"
LINE_END = "\r\n"
DELIMITER = ";"

# The 22 City of Vancouver local areas, with an approximate centre (lat, lon).
LOCAL_AREAS: tuple[tuple[str, float, float], ...] = (
    ("Arbutus-Ridge", 49.2500, -123.1610),
    ("Downtown", 49.2820, -123.1180),
    ("Dunbar-Southlands", 49.2380, -123.1860),
    ("Fairview", 49.2640, -123.1290),
    ("Grandview-Woodland", 49.2740, -123.0670),
    ("Hastings-Sunrise", 49.2780, -123.0410),
    ("Kensington-Cedar Cottage", 49.2470, -123.0760),
    ("Kerrisdale", 49.2340, -123.1580),
    ("Killarney", 49.2200, -123.0410),
    ("Kitsilano", 49.2680, -123.1650),
    ("Marpole", 49.2100, -123.1290),
    ("Mount Pleasant", 49.2630, -123.0960),
    ("Oakridge", 49.2290, -123.1200),
    ("Renfrew-Collingwood", 49.2480, -123.0400),
    ("Riley Park", 49.2440, -123.1000),
    ("Shaughnessy", 49.2460, -123.1390),
    ("South Cambie", 49.2460, -123.1200),
    ("Strathcona", 49.2770, -123.0880),
    ("Sunset", 49.2190, -123.0920),
    ("Victoria-Fraserview", 49.2190, -123.0650),
    ("West End", 49.2850, -123.1340),
    ("West Point Grey", 49.2660, -123.2030),
)

# Business types (post-2024 naming) and their sub-types ("" = no sub-type).
BUSINESS_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Restaurant", ("Class 1 with liquor service", "Class 1 without liquor service", "Class 2 - Take-out")),
    ("Office", ("Business/Professional", "Health Services", "Financial Services")),
    ("Retail Dealer", ("Food", "Clothing", "Household Equipment", "Second Hand Dealer", "Electronics")),
    ("Contractor", ("Building", "Electrical", "Plumbing", "Gas", "Landscaping")),
    ("Health Services", ("Registered Massage Therapist", "Physiotherapist", "Chiropractor", "Acupuncture")),
    ("Personal Services", ("Hair Salon", "Aesthetics", "Tattoo Studio", "Nail Salon")),
    ("Apartment House Strata", ("",)),
    ("Short-Term Rental", ("",)),
    ("Home Business", ("Consulting", "Artist", "Computer Services", "Tutoring")),
    ("Wholesale Dealer", ("Food", "Dry Goods", "Liquor")),
    ("Liquor Establishment", ("Standard", "Extended")),
    ("Manufacturer", ("Food Processing", "Apparel", "Printing")),
    ("Fitness Centre", ("",)),
    ("Caterer", ("",)),
    ("Auto Repairs", ("Body Shop", "Mechanical")),
    ("Arts & Crafts", ("Studio", "Gallery")),
    ("Laundry", ("Coin-Operated", "Dry Cleaning")),
    ("Financial Institution", ("Bank", "Credit Union")),
    ("Non-profit Society", ("",)),
    ("Ltd Service Food Establishment", ("Coffee Shop", "Bakery", "Juice Bar")),
)

NAME_WORDS = (
    "Pacific", "Coastal", "Granville", "Maple", "Cedar", "Harbour", "Northern", "Lions Gate", "Kingsway",
    "Burrard", "Stanley", "Main Street", "Mountain", "Evergreen", "Golden", "Raven", "Orca", "Salmon",
    "Westside", "Eastside", "Blue Heron", "Fraser", "Cypress", "Seawall", "Dragon", "Lotus", "Sakura",
    "Olive", "Pho", "Sushi", "Taco", "Urban", "Metro", "Alpine", "Island", "Sunrise", "Tofino",
)  # fmt: skip
NAME_NOUNS = (
    "Holdings", "Enterprises", "Consulting", "Trading", "Services", "Kitchen", "Bakery", "Design",
    "Renovations", "Cleaning", "Dental", "Wellness", "Studio", "Imports", "Properties", "Ventures",
    "Management", "Group", "Foods", "Media", "Tech", "Construction", "Clinic", "Market",
)  # fmt: skip
NAME_SUFFIXES = ("Ltd", "Ltd.", "Inc", "Inc.", "Corp.", "Limited", "Co.", "")
SPECIAL_NAMES = (
    "Café Étoile Ltd",
    "Crêperie Montréal Inc",
    "O\u2019Brien & Sons Plumbing Ltd",
    "Bâtiment Côté Construction Ltd",
    "Élan Hair Studio",
    'The "Good" Kitchen Ltd',
    'Mama\'s "Famous" Pierogies',
    "Zoë\u2019s Pâtisserie",
    "Nguyễn Phở House",
    "Señor Taco Ltd",
)
PERSON_NAMES = ("Smith", "Wong", "Singh", "Chen", "Nguyen", "Kim", "Patel", "MacDonald", "Lee", "Tremblay")

STREETS = (
    "E PENDER ST", "W Broadway", "Granville St", "MAIN ST", "Commercial Dr", "W 4TH AVE", "Kingsway",
    "KINGSWAY", "Robson St", "DAVIE ST", "Denman St", "W Hastings St", "E HASTINGS ST", "Fraser St",
    "KNIGHT ST", "Cambie St", "W 41ST AVE", "Victoria Dr", "Dunbar St", "W 10th Ave", "Burrard St",
    "CANADA PLACE", "Howe St", "SEYMOUR ST", "Richards St", "Nanaimo St", "E 49TH AVE", "Oak St",
    "Marine Dr", "Water St",
)  # fmt: skip
OTHER_CITIES = ("Burnaby", "Richmond", "North Vancouver", "Surrey", "VANCOUVER")
UNIT_TYPES = ("Unit", "Suite", "Apt", "Shop")
REVISIONS = ("00", "00", "00", "01", "01", "02", "10", "11", "12")
FSA_PREFIXES = (
    "V5K", "V5L", "V5N", "V5R", "V5T", "V5V", "V5Z", "V6A", "V6B", "V6C", "V6E", "V6G", "V6H",
    "V6J", "V6K", "V6M", "V6N", "V6P", "V6R", "V6S", "V6Z", "V5P", "V5S", "V5X", "V5Y",
)  # fmt: skip
LETTERS = "ABCEGHJKLMNPRSTVWXYZ"
MALFORMED_POSTAL = ("V6B 097", "V6E", "V5K0A", "6B 1A1")

STATUSES = ("Issued", "Pending", "Inactive", "Gone Out of Business", "Cancelled")
STATUS_WEIGHTS = (80, 6, 5, 5, 4)

# Malformed values planted on purpose (each at least once in every file of >= 50 rows).
MALFORMED_KINDS = ("employees", "fee", "issued_date", "status", "postal")
BAD_EMPLOYEES = ("abc", "n/a", "ten")
BAD_DATES = ("2024-13-45T10:00:00-08:00", "not a date", "31/12/2024")


def _day_table(first: dt.date, last: dt.date) -> list[tuple[str, str]]:
    """(ISO date, Pacific UTC offset between 07:00 and 20:00 local) for each day of [first, last]."""
    table = []
    day = first
    while day <= last:
        noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=VANCOUVER)
        off = noon.isoformat()[-6:]  # DST switches at 02:00, so noon's offset holds all business hours
        table.append((day.isoformat(), off))
        day += dt.timedelta(days=1)
    return table


def _iso_pacific(moment: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS-08:00`` for a naive America/Vancouver wall-clock time."""
    return moment.replace(tzinfo=VANCOUVER).isoformat(timespec="seconds")


class _Generator:
    def __init__(self, rows: int, seed: int, extract_date: dt.date):
        self.rows = rows
        self.rnd = random.Random(seed)
        self.extract_date = extract_date
        year = extract_date.year
        self.folder_years = (year - 1, year)
        # Day tables cover the year before the first folder year through the extract date.
        self.days = _day_table(dt.date(year - 2, 1, 1), extract_date)
        self.day_index = {d: i for i, (d, _) in enumerate(self.days)}
        rnd = self.rnd
        self.extract_stamps = tuple(
            _iso_pacific(
                dt.datetime.combine(extract_date - dt.timedelta(days=back), dt.time(2, 31, 39))
                + dt.timedelta(minutes=rnd.randrange(0, 180), seconds=rnd.randrange(0, 60))
            )
            for back in (0, 1, 2)
        )
        self.rsn = 4_400_000 + rnd.randrange(0, 50_000)
        self.licence_seq = {fy: 100_000 + rnd.randrange(0, 50_000) for fy in self.folder_years}
        # Deterministic positions for the planted defects, so small files contain each of them.
        self.forced: dict[int, str] = {}
        if rows >= 50:
            positions = rnd.sample(range(1, rows - 1), len(MALFORMED_KINDS) + 1)
            self.duplicate_at = positions[0]
            for kind, pos in zip(MALFORMED_KINDS, positions[1:], strict=True):
                self.forced[pos] = kind
        else:
            self.duplicate_at = rows - 1 if rows >= 2 else -1

    # -- fields --------------------------------------------------------------------------------
    def _name(self) -> str:
        rnd = self.rnd
        r = rnd.random()
        if r < 0.04:
            name = rnd.choice(SPECIAL_NAMES)
        elif r < 0.16:
            name = f"{rnd.randrange(0, 1_400_000):07d} B.C. Ltd"
        elif r < 0.26:
            name = f"{rnd.choice(PERSON_NAMES)}, {rnd.choice(('John', 'Mary', 'Wei', 'Amrit', 'Linh'))}"
        else:
            name = f"{rnd.choice(NAME_WORDS)} {rnd.choice(NAME_NOUNS)} {rnd.choice(NAME_SUFFIXES)}".rstrip()
        r = rnd.random()
        if r < 0.03:
            name = name.replace(" ", "  ", 1)
        elif r < 0.04:
            name = name + " "
        return name

    def _trade_name(self, business_type: str) -> str:
        rnd = self.rnd
        if rnd.random() < 0.55:
            return ""
        if rnd.random() < 0.05:
            return rnd.choice(SPECIAL_NAMES).replace(" Ltd", "").replace(" Inc", "")
        base = f"{rnd.choice(NAME_WORDS)} {rnd.choice(NAME_NOUNS)}"
        if business_type == "Restaurant" and rnd.random() < 0.3:
            base = f"{base} - {rnd.choice(('Botanist', 'Bistro', 'Grill', 'Noodle Bar'))}"
        if rnd.random() < 0.02:
            base = base.replace(" ", "  ", 1)
        return base

    def _postal(self, malformed: bool) -> str:
        rnd = self.rnd
        if malformed:
            return rnd.choice(MALFORMED_POSTAL)
        r = rnd.random()
        if r < 0.02:
            return ""
        code = f"{rnd.choice(FSA_PREFIXES)} {rnd.randrange(10)}{rnd.choice(LETTERS)}{rnd.randrange(10)}"
        if r < 0.09:
            return code.replace(" ", "")
        if r < 0.13:
            return code.lower()
        if r < 0.14:
            return rnd.choice(MALFORMED_POSTAL)
        return code

    def _employees(self) -> str:
        rnd = self.rnd
        r = rnd.random()
        if r < 0.25:
            n = 0
        elif r < 0.85:
            n = rnd.randrange(1, 16)
        elif r < 0.995:
            n = rnd.randrange(16, 250)
        else:
            n = rnd.randrange(250, 2312)
        return f"{n}.0"

    def _fee(self) -> str:
        rnd = self.rnd
        if rnd.random() < 0.45:
            return ""
        r = rnd.random()
        if r < 0.5:
            fee = rnd.choice((154.0, 163.0, 191.0, 415.5, 540.0, 1904.0))
        else:
            fee = rnd.randrange(100, 12_000) / 2  # whole dollars or .5
        return repr(float(fee))

    def _issued(self, folder_year: int, status: str) -> str:
        """IssuedDate: usually in the folder year, some in the year before, a few after expiry."""
        rnd = self.rnd
        if status != "Issued" and rnd.random() < 0.35:
            return ""
        r = rnd.random()
        last_index = len(self.days) - 1
        if r < 0.2:  # renewals issued in the autumn of the year before FOLDERYEAR
            lo = self.day_index[f"{folder_year - 1}-09-01"]
            hi = self.day_index[f"{folder_year - 1}-12-31"]
        elif r < 0.215 and f"{folder_year + 1}-01-02" in self.day_index:  # after ExpiredDate
            lo = self.day_index[f"{folder_year + 1}-01-02"]
            hi = min(lo + 80, last_index)
        else:
            lo = self.day_index[f"{folder_year}-01-01"]
            hi = min(self.day_index.get(f"{folder_year}-12-31", last_index), last_index)
        day, offset = self.days[rnd.randint(lo, hi)]
        seconds = rnd.randrange(7 * 3600, 20 * 3600)
        h, rem = divmod(seconds, 3600)
        m, s = divmod(rem, 60)
        return f"{day}T{h:02d}:{m:02d}:{s:02d}{offset}"

    def _geo(self, lat0: float, lon0: float) -> tuple[str, str]:
        rnd = self.rnd
        if rnd.random() < 0.04:
            return "", ""
        lat = round(lat0 + rnd.uniform(-0.012, 0.012), 13)
        lon = round(lon0 + rnd.uniform(-0.018, 0.018), 12)
        return f'{{"coordinates": [{lon!r}, {lat!r}], "type": "Point"}}', f"{lat!r}, {lon!r}"

    # -- rows ----------------------------------------------------------------------------------
    def row(self, index: int) -> list[str]:
        rnd = self.rnd
        forced = self.forced.get(index)
        folder_year = self.folder_years[0] if rnd.random() < 0.5 else self.folder_years[1]
        yy = f"{folder_year % 100:02d}"
        if rnd.random() < 0.005:
            rsn = self.rsn  # same RSN again, with different address fields below
        else:
            self.rsn += rnd.randrange(1, 40)
            rsn = self.rsn
        self.licence_seq[folder_year] += rnd.randrange(1, 30)
        licence_number = f"{yy}-{self.licence_seq[folder_year]:06d}"

        status = rnd.choices(STATUSES, STATUS_WEIGHTS)[0]
        issued = self._issued(folder_year, status)
        business_type, sub_types = rnd.choice(BUSINESS_TYPES)
        sub_type = rnd.choice(sub_types)
        area, lat0, lon0 = rnd.choice(LOCAL_AREAS)
        if rnd.random() < 0.1:
            unit, unit_type = str(rnd.randrange(100, 3000)), rnd.choice(UNIT_TYPES)
        else:
            unit, unit_type = "", ""
        house = str(rnd.randrange(1, 9000))
        street = rnd.choice(STREETS)
        if rnd.random() < 0.02:
            street = street.replace(" ", "  ", 1)
        city = "Vancouver" if rnd.random() < 0.97 else rnd.choice(OTHER_CITIES)
        country = "CA" if rnd.random() < 0.9 else ""
        geom, point = self._geo(lat0, lon0)
        employees = self._employees()
        fee = self._fee()
        postal = self._postal(forced == "postal")

        if forced == "employees":
            employees = rnd.choice(BAD_EMPLOYEES)
        elif forced == "fee":
            fee = repr(-float(rnd.randrange(1, 500)))
        elif forced == "issued_date":
            issued = rnd.choice(BAD_DATES)
        elif forced == "status":
            status = ""
        return [
            yy,
            str(rsn),
            licence_number,
            rnd.choice(REVISIONS),
            self._name(),
            self._trade_name(business_type),
            status,
            issued,
            f"{folder_year}-12-31",
            business_type,
            sub_type,
            unit,
            unit_type,
            house,
            street,
            city,
            "BC",
            country,
            postal,
            area,
            employees,
            fee,
            rnd.choice(self.extract_stamps),
            geom,
            point,
        ]

    def rows_iter(self) -> Iterator[list[str]]:
        recent: list[list[str]] = []
        for i in range(self.rows):
            duplicate = i == self.duplicate_at or (self.rnd.random() < 0.002 and i not in self.forced)
            # an exact duplicate of a recent row, or a new one
            row = list(self.rnd.choice(recent)) if recent and duplicate else self.row(i)
            recent.append(row)
            if len(recent) > 20:
                recent.pop(0)
            yield row


def iter_rows(rows: int, seed: int = DEFAULT_SEED, extract_date: dt.date = DEFAULT_EXTRACT_DATE):
    """Yield ``rows`` data rows (lists of 25 strings, RAW_HEADER order), deterministically."""
    if rows < 0:
        raise ValueError("rows must be >= 0")
    return _Generator(rows, seed, extract_date).rows_iter()


def _write(stream, rows: int, seed: int, extract_date: dt.date) -> None:
    stream.write(BOM)
    writer = csv.writer(stream, delimiter=DELIMITER, quotechar='"', doublequote=True,
                        quoting=csv.QUOTE_MINIMAL, lineterminator=LINE_END)  # fmt: skip
    writer.writerow(RAW_HEADER)
    writer.writerows(iter_rows(rows, seed, extract_date))


def generate(rows: int, seed: int = DEFAULT_SEED, extract_date: dt.date = DEFAULT_EXTRACT_DATE) -> str:
    """The whole CSV text (BOM included) for small files; use :func:`write_csv` for big ones."""
    buf = io.StringIO(newline="")
    _write(buf, rows, seed, extract_date)
    return buf.getvalue()


def write_csv(
    path: str | Path, rows: int, seed: int = DEFAULT_SEED, extract_date: dt.date = DEFAULT_EXTRACT_DATE
) -> Path:
    """Stream a portal-format CSV of ``rows`` data rows to ``path`` (parents created); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="", buffering=1 << 20) as fh:
        _write(fh, rows, seed, extract_date)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sample_data.generate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rows", type=int, default=SAMPLE_ROWS, help="data rows to write (default 600)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 42)")
    parser.add_argument("--out", default=str(SAMPLE_PATH), help="output CSV path (default: the sample)")
    parser.add_argument(
        "--extract-date",
        type=dt.date.fromisoformat,
        default=DEFAULT_EXTRACT_DATE,
        help=f"day the export is dated, YYYY-MM-DD (default {DEFAULT_EXTRACT_DATE}: fixed, reproducible)",
    )
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must be >= 0")
    out = write_csv(args.out, args.rows, args.seed, args.extract_date)
    print(f"wrote {args.rows} rows to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
