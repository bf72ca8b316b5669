"""The portal-CSV check, streaming: one pass over the bytes, as they arrive from a file or from HTTP.

The same check runs in `dap ingest FILE`, `dap ingest --from-portal` and the ingestion Lambda, so a
wrong export fails the same way everywhere, before anything reaches the raw bucket. It accepts what the
City's Opendatasoft portal writes (shared/DATA.md):

* UTF-8, with or without BOM; CRLF or LF line endings; the dataset's delimiter (``;`` by default);
* exactly the expected columns, compared case-insensitively (the portal API spells them in lower
  case), in any order;
* a header-only export (0 data rows).

The delimiter, the encoding and the expected header are parameters (a dataset declares them in
``datasets/<id>/dataset.toml``, ``[format]`` and ``[schema]``); the defaults are the business-licence
export's, which the ingestion Lambda uses when its environment names no others. Both encodings are
UTF-8: ``utf-8-sig`` says the portal writes a byte order mark, ``utf-8`` that it does not; a BOM is
accepted (and dropped from the normalized copy) either way, as DataBrew would read the data the same.

:class:`PortalCsvStream` also *normalizes* what it passes on: the header is rewritten with the
canonical column names and without the BOM (the DataBrew recipe's RENAME steps name raw columns
case-sensitively); every data byte is passed through unchanged. Standard library only: the Lambda
ships this file as it is.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DELIMITER = ";"  # the business-licence export's; PortalCsvStream(delimiter=...) for another dataset
ENCODING = "utf-8-sig"
ENCODINGS = ("utf-8", "utf-8-sig")
BOM = "\ufeff"
# Separators a wrongly exported header may use instead of the expected one, named for the message.
_SEPARATORS = (("semicolon", ";"), ("comma", ","), ("tab", "\t"), ("pipe", "|"))
ROWS_TO_CHECK = 200  # data rows whose field count is checked (all of them would cost a CSV parse)
_MAX_HEADER_BYTES = 1 << 20  # a "header" longer than this is not a portal export


class PortalCsvError(ValueError):
    """The data is not a CSV in the portal export format (message: one line, prefixed by the source)."""


@dataclass(frozen=True)
class CsvStats:
    """What the check learned about valid data."""

    header: tuple[str, ...]  # as written (BOM stripped), in file order
    columns: tuple[str, ...]  # the canonical names in file order
    has_bom: bool
    line_ending: str  # "CRLF" or "LF"
    data_rows: int  # physical lines after the header (the portal writes no embedded newlines)
    size_bytes: int  # bytes read


class PortalCsvStream:
    """Feed bytes in order with :meth:`feed` (it returns the normalized bytes to write), then call
    :meth:`finish`. Either raises :class:`PortalCsvError` as soon as the data is known to be wrong."""

    def __init__(
        self,
        source: str,
        expected_columns: Sequence[str],
        *,
        delimiter: str = DELIMITER,
        encoding: str = ENCODING,
    ) -> None:
        if len(delimiter) != 1 or delimiter in '"\r\n':
            raise ValueError(f"delimiter {delimiter!r} is not one character (not a quote or line break)")
        if encoding.lower() not in ENCODINGS:
            raise ValueError(f"encoding {encoding!r} is not supported; use one of {', '.join(ENCODINGS)}")
        self.source = source
        self.expected = tuple(expected_columns)
        self.delimiter = delimiter
        self.encoding = encoding.lower()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._size = 0
        self._newlines = 0
        self._last_byte = b""
        self._head = b""  # bytes before the end of the header line
        self._header: tuple[str, ...] | None = None
        self._columns: tuple[str, ...] = ()
        self._has_bom = False
        self._line_ending = "LF"
        self._sample: list[str] = []  # first data lines, for the field-count check
        self._sample_tail = ""
        self._sampled = False
        self._tail = b""

    def fail(self, message: str) -> PortalCsvError:
        return PortalCsvError(f"{self.source}: {message}")

    def feed(self, chunk: bytes) -> bytes:
        if not chunk:
            return b""
        self._decode(chunk)
        self._size += len(chunk)
        self._newlines += chunk.count(b"\n")
        self._last_byte = chunk[-1:]
        if self._header is not None:
            self._sample_data(chunk)
            return chunk
        self._head += chunk
        cut = self._head.find(b"\n")
        if cut < 0:
            if len(self._head) > _MAX_HEADER_BYTES:
                raise self.fail(f"no line break in the first {_MAX_HEADER_BYTES:,} bytes: not a portal CSV")
            return b""
        header_line, rest = self._head[: cut + 1], self._head[cut + 1 :]
        self._head = b""
        normalized = self._read_header(header_line.decode("utf-8"))
        self._sample_data(rest)
        return normalized + rest

    def finish(self) -> CsvStats:
        try:
            self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise self.fail(f"not UTF-8: truncated multi-byte character at byte {self._size}") from None
        if self._size == 0:
            raise self.fail("empty file (0 bytes); expected a header line with the portal columns")
        if self._header is None:  # no line break at all: the whole input is the header line
            self._tail = self._read_header(self._head.decode("utf-8"))
        self._check_field_counts(final=True)
        data_rows = self._newlines - 1 if self._last_byte == b"\n" else self._newlines
        return CsvStats(
            header=self._header or (),
            columns=self._columns,
            has_bom=self._has_bom,
            line_ending=self._line_ending,
            data_rows=max(data_rows, 0),
            size_bytes=self._size,
        )

    def tail(self) -> bytes:
        """After :meth:`finish`: the normalized bytes no :meth:`feed` returned (a header-only input
        without a line break is written out only at the end)."""
        return self._tail

    def normalized_header(self) -> bytes:
        newline = "\r\n" if self._line_ending == "CRLF" else "\n"
        return (self.delimiter.join(self._columns) + newline).encode("utf-8")

    # -- internals ---------------------------------------------------------------------------------
    def _decode(self, chunk: bytes) -> None:
        try:
            self._decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            offset = self._size + exc.start
            raise self.fail(
                f"not UTF-8: invalid byte 0x{chunk[exc.start]:02x} at byte offset {offset}"
            ) from None

    def _read_header(self, first_line: str) -> bytes:
        self._has_bom = first_line.startswith(BOM)
        line = first_line.removeprefix(BOM)
        self._line_ending = "CRLF" if line.endswith("\r\n") else "LF"
        line = line.rstrip("\r\n")
        if not line.strip():
            raise self.fail("empty file: no header line")
        if self.delimiter not in line and len(self.expected) > 1:
            for name, sep in _SEPARATORS:
                if sep != self.delimiter and sep in line:
                    raise self.fail(
                        f"wrong delimiter: the header is {name}-separated; the portal uses {self.delimiter!r}"
                    )
            raise self.fail(
                f"header has a single column {line[:40]!r}; "
                f"expected {len(self.expected)} {self.delimiter!r}-separated columns"
            )
        self._header = tuple(next(csv.reader([line], delimiter=self.delimiter, quotechar='"')))
        self._columns = self._canonical(self._header)
        return self.normalized_header()

    def _canonical(self, header: tuple[str, ...]) -> tuple[str, ...]:
        by_lower = {name.lower(): name for name in self.expected}
        seen: dict[str, str] = {}
        duplicated = []
        for name in header:
            key = name.strip().lower()
            if key in seen:
                duplicated.append(name)
            seen[key] = name
        if duplicated:
            raise self.fail(f"duplicated column(s): {', '.join(duplicated)}")
        missing = [name for name in self.expected if name.lower() not in seen]
        extra = [name for key, name in seen.items() if key not in by_lower]
        problems = []
        if missing:
            problems.append(f"missing column(s): {', '.join(missing)}")
        if extra:
            problems.append(f"unexpected column(s): {', '.join(extra)}")
        if problems:
            raise self.fail("; ".join(problems) + f" (expected the {len(self.expected)} portal columns)")
        return tuple(by_lower[name.strip().lower()] for name in header)

    def _sample_data(self, data: bytes) -> None:
        if self._sampled or not data:
            return
        text = self._sample_tail + data.decode("utf-8", errors="replace")
        lines = text.split("\n")
        self._sample_tail = lines.pop()
        self._sample.extend(lines[: ROWS_TO_CHECK - len(self._sample)])
        if len(self._sample) >= ROWS_TO_CHECK:
            self._check_field_counts(final=False)

    def _check_field_counts(self, *, final: bool) -> None:
        if self._sampled:
            return
        lines = self._sample + ([self._sample_tail] if final and self._sample_tail else [])
        self._sampled = True
        reader = csv.reader(lines, delimiter=self.delimiter, quotechar='"', doublequote=True)
        expected = len(self._header or ())
        for line_no, row in enumerate(reader, start=2):
            if row and len(row) != expected:
                raise self.fail(f"line {line_no} has {len(row)} fields; the header has {expected}")


def check_chunks(
    source: str,
    expected_columns: Sequence[str],
    chunks: Iterable[bytes],
    *,
    delimiter: str = DELIMITER,
    encoding: str = ENCODING,
) -> CsvStats:
    """Check data given as chunks (a file read in blocks, an HTTP body), writing nothing."""
    stream = PortalCsvStream(source, expected_columns, delimiter=delimiter, encoding=encoding)
    for chunk in chunks:
        stream.feed(chunk)
    return stream.finish()
