"""Benchmark: bytes Athena would scan for each licence named query, Parquet vs CSV vs minimum.

The queries are the business licences' (``datasets/business_licences/queries/*.sql``).

For each query the table (``licences`` or ``licence_summary``) and the columns it reads are parsed
simply from the SQL: every identifier that names a column of that table and is not a function call
(comments and string literals removed). Partitions touched: all, unless the WHERE clause constrains
the partition column ``year`` (``=``, ``IN``, ``BETWEEN``, ``<``, ``<=``, ``>``, ``>=`` with numbers).

* ``parquet``: what Athena reads from the curated Parquet: the column chunks of the referenced columns
  (``total_compressed_size`` from each file's footer, every row group) in the touched partitions, plus
  each touched file's footer (Athena reads it to plan). The partition column is in the path: 0 bytes.
* ``csv``: the same question over the raw portal CSV: a CSV scan reads every byte, so the whole file.
* ``min``: the smallest a columnar layout could make it: only the referenced columns, only the rows of
  the touched partitions, rewritten by pyarrow as ONE Snappy Parquet file (one row group, dictionary
  encoding), column-chunk bytes only (no partition or per-file waste, no footer).

Cost per query: $5 per TB (10^12 bytes) scanned, rounded up to the MB, with the 10 MB minimum
(prices from dap/prices.json). Runs on the curated output of the 1M-row dataset that
``benchmarks/etl_scale.py`` leaves in ``benchmarks/out/spark_1000000/`` (produced here with the local
Spark jobs if missing).

    .venv/bin/python benchmarks/athena_scan.py --quick   # largest curated output present, else 10k rows
    .venv/bin/python benchmarks/athena_scan.py           # 1M rows
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import OUT_DIR, REPO_ROOT, emit, machine

QUERIES_DIR = REPO_ROOT / "datasets" / "business_licences" / "queries"
# table -> its folder under the run's curated/ (etl_scale writes <run>/curated/<output key>/)
TABLE_DIRS = {"licences": "curated/licences", "licence_summary": "curated/summary"}
PARTITION_COLUMN = "year"


@dataclass(frozen=True)
class QueryScan:
    name: str
    table: str
    columns: tuple[str, ...]
    years: tuple[int, ...] | None  # None = every partition
    parquet_bytes: int
    csv_bytes: int
    min_bytes: int


def partition_filter(where: str, available: list[int]) -> tuple[int, ...] | None:
    """Years the WHERE clause keeps (simple numeric predicates on ``year``); None = no constraint."""
    col = rf"\b{PARTITION_COLUMN}\b"
    keep = set(available)
    constrained = False
    for m in re.finditer(col + r"\s*(=|<=|>=|<|>)\s*(\d+)", where, flags=re.I):
        op, v = m.group(1), int(m.group(2))
        tests = {"=": v.__eq__, "<=": v.__ge__, ">=": v.__le__, "<": v.__gt__, ">": v.__lt__}
        keep = {y for y in keep if tests[op](y)}
        constrained = True
    for m in re.finditer(col + r"\s+in\s*\(([\d,\s]+)\)", where, flags=re.I):
        keep &= {int(x) for x in m.group(1).split(",") if x.strip()}
        constrained = True
    for m in re.finditer(col + r"\s+between\s+(\d+)\s+and\s+(\d+)", where, flags=re.I):
        lo, hi = int(m.group(1)), int(m.group(2))
        keep = {y for y in keep if lo <= y <= hi}
        constrained = True
    return tuple(sorted(keep)) if constrained else None


# -- measuring ----------------------------------------------------------------------------------------
def partitions(root: Path) -> dict[int | None, list[Path]]:
    out: dict[int | None, list[Path]] = {}
    for part in sorted(root.glob(f"{PARTITION_COLUMN}=*")):
        value = part.name.split("=", 1)[1]
        key = int(value) if value.lstrip("-").isdigit() else None
        out[key] = sorted(part.glob("*.parquet"))
    return out


def parquet_scan_bytes(files: list[Path], columns: tuple[str, ...]) -> int:
    """Column-chunk bytes of ``columns`` in every row group of ``files``, plus each footer."""
    import pyarrow.parquet as pq

    total = 0
    for path in files:
        meta = pq.ParquetFile(path).metadata
        total += meta.serialized_size + 8  # footer + length + magic
        for rg in range(meta.num_row_groups):
            group = meta.row_group(rg)
            for i in range(group.num_columns):
                chunk = group.column(i)
                if chunk.path_in_schema in columns:
                    total += chunk.total_compressed_size
    return total


def minimum_bytes(files: list[Path], columns: tuple[str, ...]) -> int:
    """Only ``columns`` of the rows in ``files``, rewritten as one Snappy file: its column-chunk bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = [c for c in columns if c != PARTITION_COLUMN]
    if not data or not files:
        return 0
    table = pa.concat_tables([pq.read_table(p, columns=data) for p in files])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "min.parquet"
        pq.write_table(table, out, compression="snappy", row_group_size=max(table.num_rows, 1))
        meta = pq.ParquetFile(out).metadata
        return sum(
            meta.row_group(rg).column(i).total_compressed_size
            for rg in range(meta.num_row_groups)
            for i in range(meta.row_group(rg).num_columns)
        )


def scan_queries(curated: Path, raw_csv: Path, queries_dir: Path = QUERIES_DIR) -> list[QueryScan]:
    from dap.cost import athena_tables, parse_query

    known = athena_tables()
    csv_bytes = raw_csv.stat().st_size
    scans = []
    for path in sorted(queries_dir.glob("*.sql")):
        table, columns, where = parse_query(path.read_text(), known)
        parts = partitions(curated / TABLE_DIRS[table])
        years = partition_filter(where, [y for y in parts if y is not None])
        touched = [f for y, fs in parts.items() if years is None or y in years for f in fs]
        data_columns = tuple(c for c in columns if c != PARTITION_COLUMN)
        scans.append(
            QueryScan(
                name=path.stem,
                table=table,
                columns=columns,
                years=years,
                parquet_bytes=parquet_scan_bytes(touched, data_columns),
                csv_bytes=csv_bytes,
                min_bytes=minimum_bytes(touched, data_columns),
            )
        )
    return scans


def ensure_curated(rows: int) -> Path:
    """benchmarks/out/spark_<rows>/ with the curated output, produced by the local jobs if missing."""
    from benchmarks import etl_scale

    out = etl_scale.output_root("spark", rows)
    if all((out / folder).is_dir() for folder in TABLE_DIRS.values()):
        return out
    from dap.spark import local_session

    spark = local_session(app_name="athena-scan")
    etl_scale.run_spark(spark, etl_scale.input_csv(rows), out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="use the largest curated output present")
    parser.add_argument("--rows", type=int, help="dataset size (default: full 1000000)")
    args = parser.parse_args(argv)
    from dap import cost

    if args.rows:
        rows = args.rows
    elif args.quick:
        present = sorted(
            int(p.name.split("_")[1])
            for p in OUT_DIR.glob("spark_*")
            if p.name.split("_")[1].isdigit() and all((p / f).is_dir() for f in TABLE_DIRS.values())
        )
        rows = present[-1] if present else 10_000
    else:
        rows = 1_000_000
    machine()
    curated = ensure_curated(rows)
    from benchmarks import etl_scale

    raw = etl_scale.input_csv(rows)
    prices = cost.load_prices()
    emit("dataset_rows", rows)
    emit("raw_csv_bytes", raw.stat().st_size)
    for table, folder in TABLE_DIRS.items():
        files = [f for fs in partitions(curated / folder).values() for f in fs]
        emit(f"curated_{table}_parquet_bytes", sum(f.stat().st_size for f in files))
        emit(f"curated_{table}_parquet_files", len(files))
    reductions = []
    for s in scan_queries(curated, raw):
        emit(f"{s.name}_table", s.table)
        emit(f"{s.name}_columns", ",".join(s.columns))
        emit(f"{s.name}_partitions", "all" if s.years is None else ",".join(map(str, s.years)))
        emit(f"{s.name}_parquet_bytes", s.parquet_bytes)
        emit(f"{s.name}_csv_bytes", s.csv_bytes)
        emit(f"{s.name}_min_bytes", s.min_bytes)
        reduction = s.csv_bytes / s.parquet_bytes if s.parquet_bytes else float("inf")
        reductions.append(reduction)
        emit(f"{s.name}_reduction_vs_csv", reduction)
        emit(f"{s.name}_parquet_over_min", s.parquet_bytes / s.min_bytes if s.min_bytes else float("nan"))
        emit(f"{s.name}_usd_per_query_parquet", cost.athena_query_cost(s.parquet_bytes, prices))
        emit(f"{s.name}_usd_per_query_csv", cost.athena_query_cost(s.csv_bytes, prices))
        emit(
            f"{s.name}_usd_per_query_parquet_without_minimum",
            cost.athena_query_cost(s.parquet_bytes, prices, minimum=False),
        )
    emit("reduction_vs_csv_min", min(reductions))
    emit("reduction_target_met", min(reductions) >= 20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
