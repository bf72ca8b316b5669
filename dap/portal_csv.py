"""Checking and reading a dataset's raw CSV in the City of Vancouver portal export format.

The check itself is :mod:`portal_ingest.csv_check` (streaming, standard library only), shared with the
ingestion Lambda and ``dap ingest --from-portal``: a wrong file fails on the laptop with one clear line
instead of inside a DataBrew job, and the same way as a wrong download. This module applies it to
files, with what the dataset declares (``datasets/<id>/dataset.toml``): the raw header
(``Dataset.raw_header``, the ``raw`` names of ``[schema]``), the delimiter and the encoding
(``[format]``). The business licences are ``;``-separated UTF-8 with a BOM; the employee remuneration
export is ``;``-separated UTF-8 without a BOM and without any quoting. Every function takes the
``dataset`` whose declaration it applies.

``read_portal_csv`` reads such a file with Spark, all columns as strings (no ``inferSchema``), with the
canonical raw header names and order. Blank fields (``;;`` and ``;"";``) become null, the way DataBrew
treats an empty CSV cell as a missing value, so a blank FeePaid is a null fee, not an empty string.

``normalize_portal_csv`` writes the copy to upload: canonical header names, no BOM, data unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from portal_ingest.csv_check import BOM, PortalCsvError, PortalCsvStream

if TYPE_CHECKING:
    from dataset_etl.declaration import Dataset
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["PortalCsvError", "PortalCsvInfo", "check_portal_csv", "normalize_portal_csv", "read_portal_csv"]
_CHUNK = 1 << 20


@dataclass(frozen=True)
class PortalCsvInfo:
    """What the check learned about a valid file."""

    path: Path
    header: tuple[str, ...]  # as written in the file (BOM stripped), file order
    columns: tuple[str, ...]  # canonical raw header names in file order
    has_bom: bool
    line_ending: str  # "CRLF" or "LF"
    data_rows: int  # physical lines after the header (the portal writes no embedded newlines)
    size_bytes: int


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def _stream(src: Path, dataset: Dataset) -> PortalCsvStream:
    stream = PortalCsvStream(
        src.name, dataset.raw_header, delimiter=dataset.format.delimiter, encoding=dataset.format.encoding
    )
    if not src.is_file():
        raise stream.fail("no such file")
    return stream


def _info(path: Path, stream: PortalCsvStream) -> PortalCsvInfo:
    stats = stream.finish()
    return PortalCsvInfo(
        path, stats.header, stats.columns, stats.has_bom, stats.line_ending, stats.data_rows, stats.size_bytes
    )


def check_portal_csv(path: str | Path, dataset: Dataset) -> PortalCsvInfo:
    """Check encoding, delimiter, header and the first rows' field counts; raise :class:`PortalCsvError`."""
    path = Path(path)
    stream = _stream(path, dataset)
    for chunk in _chunks(path):
        stream.feed(chunk)
    return _info(path, stream)


def spark_read_options(dataset: Dataset) -> dict[str, str]:
    """The CSV options the local reader uses (the DataBrew dataset declares the same delimiter, header)."""
    return {
        "header": "true",
        "sep": dataset.format.delimiter,
        "quote": '"',
        "escape": '"',
        "encoding": "UTF-8",  # utf-8-sig too: the header line (with the BOM) is skipped, not read
        "mode": "PERMISSIVE",
        "multiLine": "false",
        "enforceSchema": "true",  # our schema's names, by position; the check already matched the header
    }


def read_portal_csv(spark: SparkSession, path: str | Path, dataset: Dataset) -> DataFrame:
    """Check ``path`` and read it as a DataFrame of string columns named and ordered as the raw header."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    info = check_portal_csv(path, dataset)
    schema = StructType([StructField(name, StringType(), True) for name in info.columns])
    df = spark.read.options(**spark_read_options(dataset)).schema(schema).csv(str(Path(path).resolve()))
    cols = []
    for name in dataset.raw_header:
        col = F.col(f"`{name}`")
        if name == info.columns[-1]:
            col = F.regexp_replace(col, "\r$", "")  # belt and braces: never a CR in the last column
        if name == info.columns[0]:
            col = F.regexp_replace(col, f"^{BOM}", "")
        cols.append(F.when(col == "", None).otherwise(col).alias(name))
    return df.select(*cols)


def normalize_portal_csv(src: str | Path, dst: str | Path, dataset: Dataset) -> PortalCsvInfo:
    """Check ``src`` and copy it to ``dst`` with the header spelled as the raw header, without a BOM.

    For ``dap ingest``: the recipe's RENAME steps name the raw columns case-sensitively, and the
    DataBrew guide does not say whether a dataset strips a UTF-8 BOM from the first header name, so
    the uploaded object carries exactly the canonical names. The data lines are copied byte for byte.
    """
    src, dst = Path(src), Path(dst)
    stream = _stream(src, dataset)
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
