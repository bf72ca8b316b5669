"""The business-licence schemas: the portal export and the cleaned table, declared once.

The raw header is the portal's CSV export (see README, "Data"); the cleaned columns are what the
DataBrew recipe produces. The Glue catalog tables, the quality rules and the local runner all read
these definitions, so a column changes in one place only. Pure Python: CDK imports it at synth.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of the cleaned table: its raw portal name, snake_case name, Glue type, comment."""

    raw_name: str
    name: str
    type: str
    comment: str


CLEANED_COLUMNS: tuple[Column, ...] = (
    Column(
        "FOLDERYEAR",
        "file_year",
        "string",
        "Two-digit licence year the portal files the row under, e.g. '24'",
    ),
    Column(
        "LicenceRSN", "licence_rsn", "string", "Licence record serial number (identifier, not unique per row)"
    ),
    Column("LicenceNumber", "licence_number", "string", "Licence number, YY-NNNNNN"),
    Column("LicenceRevisionNumber", "licence_revision_number", "string", "Zero-padded revision, e.g. '00'"),
    Column("BusinessName", "business_name", "string", "Legal business name, whitespace normalised"),
    Column("BusinessTradeName", "business_trade_name", "string", "Trade name (often blank)"),
    Column("Status", "status", "string", "Issued, Pending, Inactive, Gone Out of Business or Cancelled"),
    Column("IssuedDate", "issued_date", "timestamp", "When the licence was issued (UTC instant)"),
    Column("ExpiredDate", "expired_date", "date", "Date the licence expires"),
    Column("BusinessType", "business_type", "string", "Business type, e.g. Restaurant"),
    Column("BusinessSubType", "business_sub_type", "string", "Business sub-type"),
    Column("Unit", "unit", "string", "Address unit"),
    Column("UnitType", "unit_type", "string", "Address unit type"),
    Column("House", "house", "string", "Street number"),
    Column("Street", "street", "string", "Street name, whitespace normalised"),
    Column("City", "city", "string", "City"),
    Column("Province", "province", "string", "Province code, e.g. BC"),
    Column("Country", "country", "string", "Country code, e.g. CA"),
    Column("PostalCode", "postal_code", "string", "Postal code, upper case"),
    Column("LocalArea", "local_area", "string", "City of Vancouver local area, e.g. Downtown"),
    Column("NumberofEmployees", "number_of_employees", "int", "Number of employees"),
    Column("FeePaid", "fee_paid", "double", "Licence fee paid in CAD; null when unknown"),
    Column("ExtractDate", "extract_date", "timestamp", "When the portal extracted the row (UTC instant)"),
    Column("Geom", "geom", "string", "GeoJSON point geometry"),
    Column("geo_point_2d", "geo_point_2d", "string", "'lat, lon' of the business location"),
)

RAW_HEADER: tuple[str, ...] = tuple(c.raw_name for c in CLEANED_COLUMNS)
CLEANED_NAMES: tuple[str, ...] = tuple(c.name for c in CLEANED_COLUMNS)
PARTITION_COLUMN = "file_year"


def cleaned_ddl() -> str:
    """Spark DDL of the cleaned table, for reading the recipe job's Parquet with a fixed schema."""
    return ", ".join(f"`{c.name}` {c.type}" for c in CLEANED_COLUMNS)
