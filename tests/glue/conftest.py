"""Helpers for the Glue job tests: the entry-point modules and cleaned rows of the business licences.

The business licences' schema comes from their declaration (``datasets/business_licences``), as the
jobs read it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dataset_etl.declaration import Dataset

from dap.local_run import load_glue_script
from stacks.datasets import project_dataset

RUN_TIME = datetime(2025, 10, 5, 12, 0, tzinfo=UTC)


def licences_dataset() -> Dataset:
    return project_dataset("business_licences")


@pytest.fixture(scope="session")
def licences() -> Dataset:
    """The business licences' declaration, loaded and checked as the stacks and ``dap`` load it."""
    return licences_dataset()


@pytest.fixture(scope="session")
def quality_check():
    return load_glue_script("quality_check")


@pytest.fixture(scope="session")
def summarize():
    return load_glue_script("summarize")


def ts(text: str) -> datetime:
    """An aware datetime from ISO text with offset (as the portal writes IssuedDate)."""
    return datetime.fromisoformat(text)


def licence(**overrides) -> dict:
    """A valid cleaned row; override any column by its cleaned name."""
    row = {
        "file_year": "24",
        "licence_rsn": "4528701",
        "licence_number": "24-148301",
        "licence_revision_number": "10",
        "business_name": "299 Burrard Management Ltd",
        "business_trade_name": "Botanist",
        "status": "Issued",
        "issued_date": ts("2024-01-16T14:37:35-08:00"),
        "expired_date": date(2024, 12, 31),
        "business_type": "Restaurant",
        "business_sub_type": "Class 1 with liquor service",
        "unit": None,
        "unit_type": None,
        "house": "1038",
        "street": "CANADA PLACE",
        "city": "Vancouver",
        "province": "BC",
        "country": "CA",
        "postal_code": "V6C 0B9",
        "local_area": "Downtown",
        "number_of_employees": 43,
        "fee_paid": 1904.0,
        "extract_date": ts("2025-10-01T02:31:39-07:00"),
        "geom": '{"coordinates": [-123.11, 49.28], "type": "Point"}',
        "geo_point_2d": "49.28, -123.11",
    }
    unknown = set(overrides) - set(row)
    assert not unknown, f"not cleaned columns: {unknown}"
    row.update(overrides)
    return row


def frame(spark, rows: list[dict], dataset: Dataset | None = None):
    """A DataFrame with exactly the cleaned schema of ``dataset`` (default: the business licences)."""
    dataset = dataset or licences_dataset()
    ordered = [tuple(r[c] for c in dataset.column_names) for r in rows]
    return spark.createDataFrame(ordered, dataset.cleaned_ddl())


def write_cleaned(spark, rows: list[dict], path: Path, dataset: Dataset | None = None) -> str:
    dataset = dataset or licences_dataset()
    frame(spark, rows, dataset).write.mode("overwrite").partitionBy(dataset.partition_column).parquet(
        str(path)
    )
    return str(path)
