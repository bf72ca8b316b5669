"""Benchmark: recipe + quality + summary on local Spark vs the same pipeline in DuckDB, by input size.

For each size (quick: 10k, 100k; full: 10k, 100k, 1M rows) a real-format portal CSV is generated with
``sample_data.generate.write_csv`` (seed 42, cached under ``benchmarks/out/``). Spark runs the three
local jobs exactly as ``dap local`` does (``dap.recipe_runner.run_recipe_job``, then
``glue_scripts/quality_check.py`` and ``glue_scripts/summarize.py`` ``run()``), in ONE session whose
start-up is timed separately (``spark_session_start_seconds``); a first run on the committed 600-row
sample warms the JVM up and is reported as ``spark_warmup_seconds`` (skipped with ``--quick``). DuckDB runs
``benchmarks/duckdb_reference.py`` (same semantics, same Parquet outputs), 2 threads like ``local[2]``.
Spark and DuckDB alternate for each repeat; medians are printed.

Then the summaries of the last run of each engine are compared (rows, licence_count,
max_number_of_employees, avg_fee_paid to 1e-9, max_expired_date per issue_date, passed/failed counts)
and ``summaries_match`` is printed. Targets: Spark/DuckDB <= 5 at 1M rows, Spark 1M / 100k <= 10.

    .venv/bin/python benchmarks/etl_scale.py --quick    # 10k, 100k, 1 repeat
    .venv/bin/python benchmarks/etl_scale.py            # 10k, 100k, 1M, 3 repeats (2 at 1M)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import OUT_DIR, REPO_ROOT, emit, load_average, machine, median

RUN_TIME = datetime(2025, 10, 5, 12, 0, tzinfo=UTC)  # 4 days after the generator's extract date
SEED = 42
QUICK_SIZES = (10_000, 100_000)
FULL_SIZES = (10_000, 100_000, 1_000_000)
RATIO_TARGET = 5  # Spark / DuckDB at 1M rows (was 10 until the recipe was folded, 2026-12-07)
SCALING_TARGET = 10  # Spark time at 1M / at 100k
SAMPLE_CSV = REPO_ROOT / "sample_data" / "business_licences_sample.csv"


def input_csv(rows: int) -> Path:
    """The generated CSV for ``rows`` (generated once, then reused; written atomically)."""
    path = OUT_DIR / f"licences_{rows}.csv"
    if not path.exists():
        from sample_data.generate import write_csv

        tmp = path.with_suffix(".csv.tmp")
        write_csv(tmp, rows, seed=SEED)
        os.replace(tmp, path)
    return path


def load_script(name: str):
    import importlib.util

    key = f"glue_job_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, REPO_ROOT / "glue_scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


def jvm_peak_rss_mb(spark) -> float:
    """The driver JVM's peak resident memory (VmHWM from /proc), in MB."""
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def output_root(engine: str, rows: int | str) -> Path:
    return OUT_DIR / f"{engine}_{rows}"


# -- the two engines ----------------------------------------------------------------------------------
def _measured(
    times: tuple[float, float, float, float], recipe: dict, report: dict, result: dict
) -> dict[str, Any]:
    """One engine's step times and row counts, in the same shape for Spark and DuckDB."""
    t0, t1, t2, t3 = times
    return {
        "recipe": t1 - t0,
        "quality": t2 - t1,
        "summary": t3 - t2,
        "total": t3 - t0,
        "rows_read": recipe["rows_read"],
        "passed": report["rows_passed"],
        "failed": report["rows_failed"],
        "summary_rows": result["summary_rows"],
    }


def run_spark(spark, csv: Path, out: Path) -> dict[str, Any]:
    from dap.recipe_runner import run_recipe_job
    from stacks.datasets import project_dataset

    licences = project_dataset("business_licences")

    qc, sm = load_script("quality_check"), load_script("summarize")
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    recipe = run_recipe_job(spark, licences, csv, out / "cleaned")
    t1 = time.perf_counter()
    report = qc.run(
        spark,
        licences,
        str(out / "cleaned"),
        str(out / "passed"),
        str(out / "failed"),
        str(out / "report.json"),
        run_time=RUN_TIME,
        fail_on_dataset_rule=False,
    )
    t2 = time.perf_counter()
    result = sm.run(spark, licences, str(out / "passed"), str(out / "curated") + "/", run_time=RUN_TIME)
    t3 = time.perf_counter()
    return _measured((t0, t1, t2, t3), recipe, report, result)


def run_duckdb(csv: Path, out: Path, threads: int) -> dict[str, Any]:
    from benchmarks import duckdb_reference as D

    if out.exists():
        shutil.rmtree(out)
    con = D.connect(threads)
    t0 = time.perf_counter()
    recipe = D.run_recipe(con, csv, out / "cleaned")
    t1 = time.perf_counter()
    report = D.run_quality(
        con, out / "cleaned", out / "passed", out / "failed", out / "report.json", RUN_TIME
    )
    t2 = time.perf_counter()
    curated = out / "curated"
    result = D.run_summary(
        con, out / "passed", curated / "summary", curated / "summary_csv", curated / "licences", RUN_TIME
    )
    t3 = time.perf_counter()
    con.close()
    return _measured((t0, t1, t2, t3), recipe, report, result)


# -- comparing the outputs ----------------------------------------------------------------------------
def read_summary(path: Path) -> dict[str, tuple]:
    """issue_date -> (licence_count, max_number_of_employees, avg_fee_paid, max_expired_date)."""
    import pyarrow.dataset as ds

    table = ds.dataset(str(path), format="parquet", partitioning="hive").to_table(
        columns=["issue_date", "licence_count", "max_number_of_employees", "avg_fee_paid", "max_expired_date"]
    )
    rows = table.to_pylist()
    out = {}
    for r in rows:
        out[r["issue_date"]] = (
            r["licence_count"],
            r["max_number_of_employees"],
            r["avg_fee_paid"],
            r["max_expired_date"],
        )
    if len(out) != len(rows):
        raise ValueError(f"{path}: more than one summary row per issue_date")
    return out


def compare(spark_out: Path, duck_out: Path) -> list[str]:
    """Differences between the two runs' summaries and counts (empty list = they match)."""
    problems = []
    a, b = read_summary(spark_out / "curated" / "summary"), read_summary(duck_out / "curated" / "summary")
    if len(a) != len(b):
        problems.append(f"summary rows: spark {len(a)}, duckdb {len(b)}")
    for day in sorted(set(a) | set(b)):
        x, y = a.get(day), b.get(day)
        if x is None or y is None:
            problems.append(f"{day}: only in {'duckdb' if x is None else 'spark'}")
            continue
        same_fee = (x[2] is None and y[2] is None) or (
            x[2] is not None and y[2] is not None and math.isclose(x[2], y[2], rel_tol=0, abs_tol=1e-9)
        )
        if x[0] != y[0] or x[1] != y[1] or not same_fee or x[3] != y[3]:
            problems.append(f"{day}: spark {x} vs duckdb {y}")
    ra = json.loads((spark_out / "report.json").read_text())
    rb = json.loads((duck_out / "report.json").read_text())
    for key in ("rows_in", "rows_passed", "rows_failed", "failures_by_rule"):
        if ra[key] != rb[key]:
            problems.append(f"report {key}: spark {ra[key]} vs duckdb {rb[key]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k rows, one repeat")
    parser.add_argument(
        "--sizes", type=lambda s: tuple(int(x) for x in s.split(",")), help="e.g. 10000,100000"
    )
    parser.add_argument("--repeats", type=int, help="runs per engine and size (default: quick 1, full 3)")
    parser.add_argument("--repeats-1m", type=int, default=2, help="runs per engine at >= 1M rows (full)")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (Spark runs local[2])")
    args = parser.parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    repeats = args.repeats or (1 if args.quick else 3)

    machine()
    import duckdb
    import pyspark

    emit("spark_version", pyspark.__version__)
    emit("duckdb_version", duckdb.__version__)
    t0 = time.perf_counter()
    files = {n: input_csv(n) for n in sizes}
    emit("input_generation_or_cache_seconds", time.perf_counter() - t0)
    for n, path in files.items():
        emit(f"input_csv_bytes_{n}_rows", path.stat().st_size)

    from dap.spark import local_session

    t0 = time.perf_counter()
    spark = local_session(app_name="etl-scale")
    emit("spark_session_start_seconds", time.perf_counter() - t0)
    java = spark.sparkContext._jvm.java.lang.System.getProperty("java.version")
    emit("java_version", java)
    if args.quick:
        emit("spark_warmup_seconds", "skipped in --quick (the first size pays the JVM warm-up)")
    else:
        warm = run_spark(spark, SAMPLE_CSV, output_root("spark", "warmup"))
        emit("spark_warmup_seconds", warm["total"])

    spark_totals: dict[int, float] = {}
    duck_totals: dict[int, float] = {}
    all_match = True
    for n in sizes:
        count = args.repeats_1m if (n >= 1_000_000 and not args.repeats) else repeats
        s_runs, d_runs = [], []
        for i in range(count):
            order = ("spark", "duckdb") if i % 2 == 0 else ("duckdb", "spark")
            for engine in order:
                if engine == "spark":
                    s_runs.append(run_spark(spark, files[n], output_root("spark", n)))
                else:
                    d_runs.append(run_duckdb(files[n], output_root("duckdb", n), args.threads))
        for label, runs in (("spark", s_runs), ("duckdb", d_runs)):
            for stage in ("recipe", "quality", "summary"):
                emit(f"{label}_{stage}_seconds_{n}_rows", median([r[stage] for r in runs]))
            total = median([r["total"] for r in runs])
            (spark_totals if label == "spark" else duck_totals)[n] = total
            emit(f"{label}_seconds_{n}_rows", total)
            emit(f"{label}_rows_per_second_{n}_rows", round(n / total))
        emit(f"spark_to_duckdb_ratio_{n}_rows", spark_totals[n] / duck_totals[n])
        emit(f"passed_rows_{n}_rows", s_runs[-1]["passed"])
        emit(f"failed_rows_{n}_rows", s_runs[-1]["failed"])
        emit(f"summary_rows_{n}_rows", s_runs[-1]["summary_rows"])
        problems = compare(output_root("spark", n), output_root("duckdb", n))
        emit(f"summaries_match_{n}_rows", not problems)
        for problem in problems[:10]:
            print(f"# mismatch at {n} rows: {problem}")
        all_match = all_match and not problems
    emit("summaries_match", all_match)
    if 100_000 in spark_totals and 1_000_000 in spark_totals:
        scaling = spark_totals[1_000_000] / spark_totals[100_000]
        emit("spark_scaling_1m_over_100k", scaling)
        emit("duckdb_scaling_1m_over_100k", duck_totals[1_000_000] / duck_totals[100_000])
        emit("spark_scaling_target_met", scaling <= SCALING_TARGET)
        emit(
            "spark_to_duckdb_ratio_target_met",
            spark_totals[1_000_000] / duck_totals[1_000_000] <= RATIO_TARGET,
        )
    elif 10_000 in spark_totals and 100_000 in spark_totals:
        emit("spark_scaling_100k_over_10k", spark_totals[100_000] / spark_totals[10_000])
    emit("spark_jvm_peak_rss_mb", jvm_peak_rss_mb(spark))
    emit("machine_load_average_1min_end", round(load_average(), 2))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
