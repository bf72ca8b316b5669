"""Checking and reading a City of Vancouver business-licences CSV in the portal export format.

The check itself is :mod:`portal_ingest.csv_check` (streaming, standard library only), shared with the
ingestion Lambda and ``dap ingest --from-portal``: a wrong file fails on the laptop with one clear line
instead of inside a DataBrew job, and the same way as a wrong download. This module applies it to
files, with the business-licence columns (:data:`licence_etl.schema.RAW_HEADER`).

``read_portal_csv`` reads such a file with Spark, all columns as strings (no ``inferSchema``), with the
canonical :data:`licence_etl.schema.RAW_HEADER` names and order. Blank fields (``;;`` and ``;"";``)
become null, the way DataBrew treats an empty CSV cell as a missing value, so a blank FeePaid is a
null fee, not an empty string.

``normalize_portal_csv`` writes the copy to upload: canonical header names, no BOM, data unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from licence_etl.schema import RAW_HEADER
from portal_ingest.csv_check import BOM, DELIMITER, PortalCsvError, PortalCsvStream

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["PortalCsvError", "PortalCsvInfo", "check_portal_csv", "normalize_portal_csv", "read_portal_csv"]
_CHUNK = 1 << 20


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


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def _stream(src: Path) -> PortalCsvStream:
    stream = PortalCsvStream(src.name, RAW_HEADER)
    if not src.is_file():
        raise stream.fail("no such file")
    return stream


def _info(path: Path, stream: PortalCsvStream) -> PortalCsvInfo:
    stats = stream.finish()
    return PortalCsvInfo(
        path, stats.header, stats.columns, stats.has_bom, stats.line_ending, stats.data_rows, stats.size_bytes
    )


def check_portal_csv(path: str | Path) -> PortalCsvInfo:
    """Check encoding, delimiter, header and the first rows' field counts; raise :class:`PortalCsvError`."""
    path = Path(path)
    stream = _stream(path)
    for chunk in _chunks(path):
        stream.feed(chunk)
    return _info(path, stream)


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
    src, dst = Path(src), Path(dst)
    stream = _stream(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        with dst.open("wb") as out:
            for chunk in _chunks(src):
                out.write(stream.feed(chunk))
            info = _info(src, stream)
            out.write(stream.tail())
    except PortalCsvError:
        dst.unlink(missing_ok=True)  # a half-written copy must not be mistaken for a checked one
        raise
    return info
