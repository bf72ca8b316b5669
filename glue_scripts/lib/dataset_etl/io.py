"""Small I/O helpers the Glue entry points share: Parquet in and out, the JSON report, metrics.

Paths are anything Hadoop understands (a local path, ``file://``, or ``s3://`` on Glue); filesystem
operations go through Spark's Hadoop FileSystem so the same code works locally and on Glue. Only the
JSON reports (written, and read by the summary job), the dataset declaration (read), the HTML run
report and the metrics use boto3 (imported lazily; present on Glue and in the dev venv).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

METRICS_NAMESPACE = "VancouverDAP"


def is_s3(path: str) -> bool:
    return path.startswith(("s3://", "s3a://", "s3n://"))


def split_s3(uri: str) -> tuple[str, str]:
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise ValueError(f"expected s3://bucket/key, got {uri!r}")
    return bucket, key


def _fs(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    jpath = jvm.org.apache.hadoop.fs.Path(path)
    return jpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), jpath


def path_exists(spark: SparkSession, path: str) -> bool:
    fs, jpath = _fs(spark, path)
    return bool(fs.exists(jpath))


def delete_path(spark: SparkSession, path: str) -> None:
    fs, jpath = _fs(spark, path)
    if fs.exists(jpath):
        fs.delete(jpath, True)


def read_parquet_or_empty(spark: SparkSession, path: str, ddl: str) -> DataFrame:
    """Read Parquet with a fixed schema; a missing folder or one without data files reads as 0 rows.

    That is what a header-only portal CSV becomes upstream (the recipe job writes no data files), so
    the jobs report zero rows instead of crashing on schema inference.
    """
    if not path_exists(spark, path):
        return spark.createDataFrame([], ddl)
    return spark.read.schema(ddl).parquet(path)


def write_partitioned(
    df: DataFrame, path: str, column: str, *, clear: Iterable[str | int] = (), compression: str = "snappy"
) -> None:
    """Overwrite Parquet partitioned by ``column``; then delete partitions listed in ``clear``.

    With ``partitionOverwriteMode=dynamic`` Spark replaces only the partitions the frame has rows for.
    ``clear`` names partitions that this run covers but wrote no rows to (for example a file year whose
    rows all moved from failed to passed), so a stale copy from an earlier run cannot be counted twice.
    """
    df.repartition(column).write.mode("overwrite").option("compression", compression).partitionBy(
        column
    ).parquet(path)
    for value in clear:
        delete_path(df.sparkSession, f"{path.rstrip('/')}/{column}={value}")


def write_single_csv(df: DataFrame, path: str) -> None:
    """Overwrite ``path`` (a folder) with exactly one CSV part file, with a header (for people)."""
    df.coalesce(1).write.mode("overwrite").option("header", True).csv(path)


def write_json(doc: dict[str, Any], path: str, *, s3_client=None) -> str:
    """Write ``doc`` as pretty JSON to a local path or ``s3://bucket/key``; returns the path."""
    body = json.dumps(doc, indent=2, sort_keys=True, default=str).encode("utf-8")
    if is_s3(path):
        import boto3

        bucket, key = split_s3(path)
        (s3_client or boto3.client("s3")).put_object(
            Bucket=bucket, Key=key, Body=body, ContentType="application/json"
        )
    else:
        local = path[len("file://") :] if path.startswith("file://") else path
        os.makedirs(os.path.dirname(os.path.abspath(local)), exist_ok=True)
        with open(local, "wb") as fh:
            fh.write(body)
    return path


def write_text(text: str, path: str, *, content_type: str, s3_client=None) -> str:
    """Write ``text`` (UTF-8) to a local path or ``s3://bucket/key`` with one PutObject; returns the path."""
    body = text.encode("utf-8")
    if is_s3(path):
        import boto3

        bucket, key = split_s3(path)
        (s3_client or boto3.client("s3")).put_object(
            Bucket=bucket, Key=key, Body=body, ContentType=content_type
        )
    else:
        local = path[len("file://") :] if path.startswith("file://") else path
        os.makedirs(os.path.dirname(os.path.abspath(local)), exist_ok=True)
        with open(local, "wb") as fh:
            fh.write(body)
    return path


def read_json(path: str, *, s3_client=None) -> dict[str, Any]:
    """Read a JSON document from a local path or ``s3://bucket/key`` (one GetObject)."""
    if is_s3(path):
        import boto3

        bucket, key = split_s3(path)
        body = (s3_client or boto3.client("s3")).get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body)
    local = path[len("file://") :] if path.startswith("file://") else path
    with open(local, "rb") as fh:
        return json.loads(fh.read())


def read_text(path: str, *, s3_client=None) -> str:
    """Read a UTF-8 text file (a dataset declaration) from a local path or ``s3://bucket/key``."""
    if is_s3(path):
        import boto3

        bucket, key = split_s3(path)
        body = (s3_client or boto3.client("s3")).get_object(Bucket=bucket, Key=key)["Body"].read()
        return body.decode("utf-8")
    local = path[len("file://") :] if path.startswith("file://") else path
    with open(local, encoding="utf-8") as fh:
        return fh.read()


def metric_data(pipeline: str, dataset: str, rows_in: int, passed: int, failed: int) -> list[dict[str, Any]]:
    """CloudWatch MetricData: RowsIn, RowsPassed, RowsFailed (Count), FailedRowRate (a 0-1 ratio), with
    the dimensions ``Pipeline`` (the stage) and ``Dataset`` that each dataset's alarm and dashboard
    widgets select on."""
    dims = [{"Name": "Pipeline", "Value": pipeline}, {"Name": "Dataset", "Value": dataset}]
    rate = (failed / rows_in) if rows_in else 0.0
    return [
        {"MetricName": "RowsIn", "Dimensions": dims, "Value": float(rows_in), "Unit": "Count"},
        {"MetricName": "RowsPassed", "Dimensions": dims, "Value": float(passed), "Unit": "Count"},
        {"MetricName": "RowsFailed", "Dimensions": dims, "Value": float(failed), "Unit": "Count"},
        {"MetricName": "FailedRowRate", "Dimensions": dims, "Value": rate, "Unit": "None"},
    ]


def publish_metrics(
    pipeline: str, dataset: str, rows_in: int, passed: int, failed: int, *, cloudwatch_client=None
) -> list[dict[str, Any]]:
    """Publish the row metrics to namespace ``VancouverDAP`` (dimensions ``Pipeline``, ``Dataset``)."""
    data = metric_data(pipeline, dataset, rows_in, passed, failed)
    if cloudwatch_client is None:
        import boto3

        cloudwatch_client = boto3.client("cloudwatch")
    cloudwatch_client.put_metric_data(Namespace=METRICS_NAMESPACE, MetricData=data)
    return data
