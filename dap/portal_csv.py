"""Checking and reading a City of Vancouver business-licences CSV in the portal export format.

``check_portal_csv`` is pure Python (no Spark, no AWS): ``dap ingest`` runs it before any upload, so a
wrong file fails on the laptop with one clear line instead of inside a DataBrew job. It accepts:

* UTF-8, with or without BOM; CRLF or LF line endings;
* delimiter ``;``;
* exactly the 25 portal columns, compared case-insensitively (the portal API spells them in lower
  case); any column order (the reader maps by name);
* a header-only file (0 data rows): valid input, the pipeline then writes an empty cleaned table.

``read_portal_csv`` reads such a file with Spark, all columns as strings (no ``inferSchema``), with the
canonical :data:`licence_etl.schema.RAW_HEADER` names and order. Blank fields (``;;`` and ``;"";``)
become null, the way DataBrew treats an empty CSV cell as a missing value, so a blank FeePaid is a
null fee, not an empty string.

``normalize_portal_csv`` writes the copy to upload: canonical header names, no BOM, data unchanged.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from licence_etl.schema import RAW_HEADER

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DELIMITER = ";"
BOM = "\ufeff"
_CHUNK = 1 << 20
_ROWS_TO_CHECK = 200  # data rows whose field count is checked up front (the whole file would be slow)


class PortalCsvError(ValueError):
    """The file is not a business-licences CSV in the portal export format (message: one line)."""


@dataclass(frozen=True)
class PortalCsvInfo:
    """What the check learned about a valid file."""

    path: Path
    header: tuple[str, ...]  # as written in the file (BOM stripped), file order
    columns: tuple[str, ...]  # canonical RAW_HEADER names in file order
    has_bom: bool
    line_ending: str  # "CRLF" or "LF"
    data_rows: int  # physical lines after the header (the portal writes no embedded newlines)
    size_bytes: int


def _fail(path: Path, message: str) -> PortalCsvError:
    return PortalCsvError(f"{path.name}: {message}")


def _scan_utf8(path: Path) -> tuple[str, int, bool]:
    """Decode the whole file as UTF-8 (streaming); return (first line, newline count, ends with newline)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    first_line: str | None = None
    head = ""
    newlines = 0
    offset = 0
    last_byte = b""
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad = chunk[exc.start]
                raise _fail(
                    path, f"not UTF-8: invalid byte 0x{bad:02x} at byte offset {offset + exc.start}"
                ) from None
            if first_line is None:
                head += text
                cut = head.find("\n")
                if cut >= 0:
                    first_line = head[: cut + 1]
                    head = ""
            newlines += chunk.count(b"\n")
            offset += len(chunk)
            last_byte = chunk[-1:]
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _fail(path, f"not UTF-8: truncated multi-byte character at byte {offset}") from None
    if first_line is None:
        first_line = head
    return first_line, newlines, last_byte == b"\n"


def check_portal_csv(path: str | Path) -> PortalCsvInfo:
    """Check encoding, delimiter and header of a portal CSV; raise :class:`PortalCsvError` if wrong."""
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "no such file")
    size = path.stat().st_size
    if size == 0:
        raise _fail(path, "empty file (0 bytes); expected a header line with the 25 portal columns")
    first_line, newlines, ends_with_newline = _scan_utf8(path)

    has_bom = first_line.startswith(BOM)
    header_line = first_line.removeprefix(BOM)
    line_ending = "CRLF" if header_line.endswith("\r\n") else "LF"
    header_line = header_line.rstrip("\r\n")
    if not header_line.strip():
        raise _fail(path, "empty file: no header line")

    if DELIMITER not in header_line:
        for name, sep in (("comma", ","), ("tab", "\t"), ("pipe", "|")):
            if sep in header_line:
                raise _fail(
                    path, f"wrong delimiter: the header is {name}-separated; the portal export uses ';'"
                )
        single = header_line[:40]
        raise _fail(path, f"header has a single column {single!r}; expected 25 ';'-separated columns")

    header = tuple(next(csv.reader([header_line], delimiter=DELIMITER, quotechar='"')))
    columns = _canonical_columns(path, header)

    data_rows = newlines - 1 if ends_with_newline else newlines
    _check_field_counts(path, len(header))
    return PortalCsvInfo(
        path=path,
        header=header,
        columns=columns,
        has_bom=has_bom,
        line_ending=line_ending,
        data_rows=max(data_rows, 0),
        size_bytes=size,
    )


def _canonical_columns(path: Path, header: tuple[str, ...]) -> tuple[str, ...]:
    by_lower = {name.lower(): name for name in RAW_HEADER}
    seen: dict[str, str] = {}
    duplicated = []
    for name in header:
        key = name.strip().lower()
        if key in seen:
            duplicated.append(name)
        seen[key] = name
    if duplicated:
        raise _fail(path, f"duplicated column(s): {', '.join(duplicated)}")
    missing = [name for name in RAW_HEADER if name.lower() not in seen]
    extra = [name for key, name in seen.items() if key not in by_lower]
    problems = []
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected column(s): {', '.join(extra)}")
    if problems:
        raise _fail(path, "; ".join(problems) + f" (expected the {len(RAW_HEADER)} portal columns)")
    return tuple(by_lower[name.strip().lower()] for name in header)


def _check_field_counts(path: Path, expected: int) -> None:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=DELIMITER, quotechar='"', doublequote=True)
        next(reader, None)
        for line_no, row in enumerate(reader, start=2):
            if line_no > _ROWS_TO_CHECK + 1:
                break
            if row and len(row) != expected:
                raise _fail(path, f"line {line_no} has {len(row)} fields; the header has {expected}")


def spark_read_options() -> dict[str, str]:
    """The CSV options the local reader uses (the DataBrew dataset declares the same: ';', header)."""
    return {
        "header": "true",
        "sep": DELIMITER,
        "quote": '"',
        "escape": '"',
        "encoding": "UTF-8",
        "mode": "PERMISSIVE",
        "multiLine": "false",
        "enforceSchema": "true",  # our schema's names, by position; the check already matched the header
    }


def read_portal_csv(spark: SparkSession, path: str | Path) -> DataFrame:
    """Check ``path`` and read it as a DataFrame of 25 string columns named and ordered as RAW_HEADER."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    info = check_portal_csv(path)
    schema = StructType([StructField(name, StringType(), True) for name in info.columns])
    df = spark.read.options(**spark_read_options()).schema(schema).csv(str(Path(path).resolve()))
    cols = []
    for name in RAW_HEADER:
        col = F.col(f"`{name}`")
        if name == info.columns[-1]:
            col = F.regexp_replace(col, "\r$", "")  # belt and braces: never a CR in the last column
        if name == info.columns[0]:
            col = F.regexp_replace(col, f"^{BOM}", "")
        cols.append(F.when(col == "", None).otherwise(col).alias(name))
    return df.select(*cols)


def normalize_portal_csv(src: str | Path, dst: str | Path) -> PortalCsvInfo:
    """Check ``src`` and copy it to ``dst`` with the header spelled as RAW_HEADER, without the BOM.

    For ``dap ingest``: the recipe's RENAME steps name the raw columns case-sensitively, and the
    DataBrew guide does not say whether a dataset strips a UTF-8 BOM from the first header name, so
    the uploaded object carries exactly the canonical names. The data lines are copied byte for byte.
    """
    info = check_portal_csv(src)
    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    newline = b"\r\n" if info.line_ending == "CRLF" else b"\n"
    with src.open("rb") as fin, dst.open("wb") as fout:
        fin.readline()  # the original header
        fout.write(DELIMITER.join(info.columns).encode("utf-8") + newline)
        while chunk := fin.read(_CHUNK):
            fout.write(chunk)
    return info
