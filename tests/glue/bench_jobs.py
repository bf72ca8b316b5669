"""Benchmark (not a test): quality_check + summarize on N generated cleaned rows, local Spark.

    python tests/glue/bench_jobs.py generate 1000000 /tmp/bench_1m   # separate process
    python tests/glue/bench_jobs.py run /tmp/bench_1m                 # fresh JVM: time + peak memory

Prints the wall time of each job (session start excluded) and the JVM's VmHWM from /proc.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from licence_etl import schema

from tests.glue.conftest import RUN_TIME, load_script


def generate(spark, n: int, path: str) -> None:
    from pyspark.sql import functions as F

    i = F.col("id")
    statuses = F.array(
        *[F.lit(s) for s in ("Issued", "Issued", "Issued", "Pending", "Inactive", "Cancelled")]
    )
    cols = {
        "file_year": F.element_at(F.array(F.lit("23"), F.lit("24"), F.lit("25")), (i % 3 + 1).cast("int")),
        "licence_rsn": i.cast("string"),
        "licence_number": F.concat(F.lit("24-"), F.lpad((i % 1000000).cast("string"), 6, "0")),
        "licence_revision_number": F.lit("00"),
        "business_name": F.concat(F.lit("Business "), i.cast("string")),
        "business_trade_name": F.lit(None).cast("string"),
        "status": F.when(i % 100 == 7, F.lit(None)).otherwise(
            F.element_at(statuses, (i % 6 + 1).cast("int"))
        ),
        "issued_date": F.when(i % 50 == 3, F.lit(None)).otherwise(
            F.timestamp_seconds(F.lit(1672531200) + (i * 7919) % (3 * 365 * 86400))
        ),
        "expired_date": F.date_add(F.lit("2023-12-31").cast("date"), ((i % 3) * 366).cast("int")),
        "business_type": F.element_at(
            F.array(F.lit("Restaurant"), F.lit("Office"), F.lit("Retail")), (i % 3 + 1).cast("int")
        ),
        "business_sub_type": F.lit("General"),
        "unit": F.lit(None).cast("string"),
        "unit_type": F.lit(None).cast("string"),
        "house": (i % 9999).cast("string"),
        "street": F.lit("W Broadway"),
        "city": F.lit("Vancouver"),
        "province": F.lit("BC"),
        "country": F.lit("CA"),
        "postal_code": F.lit("V6B 1A1"),
        "local_area": F.lit("Downtown"),
        "number_of_employees": F.when(i % 97 == 5, F.lit(None)).otherwise((i % 120).cast("int")),
        "fee_paid": F.when(i % 2 == 0, F.lit(None)).otherwise(((i % 2000) * 1.5 - 1).cast("double")),
        "extract_date": F.lit("2025-10-01 09:31:39").cast("timestamp"),
        "geom": F.lit('{"coordinates": [-123.11, 49.28], "type": "Point"}'),
        "geo_point_2d": F.lit("49.28, -123.11"),
    }
    df = spark.range(n).select(*[cols[c.name].cast(c.type).alias(c.name) for c in schema.CLEANED_COLUMNS])
    df.repartition("file_year").write.mode("overwrite").partitionBy("file_year").parquet(path)


def vm_hwm_mb(spark) -> float:
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    from dap.spark import local_session

    spark = local_session(app_name="bench")
    if sys.argv[1] == "generate":
        generate(spark, int(sys.argv[2]), sys.argv[3])
        print("generated", spark.read.parquet(sys.argv[3]).count(), "rows")
        return
    src = sys.argv[2]
    qc, sm = load_script("quality_check"), load_script("summarize")
    out = tempfile.mkdtemp(prefix="bench_out_")
    t0 = time.perf_counter()
    report = qc.run(spark, src, f"{out}/passed", f"{out}/failed", f"{out}/report.json", run_time=RUN_TIME,
                    fail_on_dataset_rule=False)  # fmt: skip
    t1 = time.perf_counter()
    result = sm.run(
        spark, f"{out}/passed", f"{out}/summary", f"{out}/csv", f"{out}/licences", run_time=RUN_TIME
    )
    t2 = time.perf_counter()
    print(f"rows_in={report['rows_in']} passed={report['rows_passed']} failed={report['rows_failed']} "
          f"summary_rows={result['summary_rows']}")  # fmt: skip
    print(f"quality_check {t1 - t0:.1f}s  summarize {t2 - t1:.1f}s  total {t2 - t0:.1f}s  "
          f"JVM VmHWM {vm_hwm_mb(spark):.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
