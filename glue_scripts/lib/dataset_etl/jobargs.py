"""Argument helpers for the Glue entry points (Glue passes ``--name value`` pairs plus its own)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime


def parse_bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "y"):
        return True
    if text in ("false", "0", "no", "n"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def parse_run_time(value: str | None) -> datetime:
    """ISO 8601 (``Z`` allowed) to an aware UTC datetime; a naive value is UTC; empty/None means now."""
    if value is None or not str(value).strip():
        return datetime.now(UTC)
    parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def optional_text(value: str | None) -> str | None:
    """Glue cannot pass an empty default cleanly: treat '', 'none' and 'null' as not set."""
    if value is None or str(value).strip().lower() in ("", "none", "null"):
        return None
    return str(value)


def parse_known(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse our arguments and ignore Glue's own (--JOB_NAME, --TempDir, --enable-*, ...)."""
    args, _unknown = parser.parse_known_args(argv)
    return args


def load_job_dataset(dataset_id: str, declaration_path: str):
    """The ``Dataset`` a job runs: ``--dataset ID --dataset_declaration PATH`` (local or s3:// dataset.toml).

    Parsed as ``datasets/<ID>/dataset.toml``, so the declared id must equal ``ID``.
    """
    from dataset_etl import io
    from dataset_etl.declaration import parse_dataset

    return parse_dataset(io.read_text(declaration_path), folder=f"datasets/{dataset_id}")


def parse_parameters(value: str | None, dataset, *, where: str = "--parameters") -> dict:
    """``--parameters`` (a JSON object of overrides; empty means none) merged over the declared ones."""
    import json

    from dataset_etl.declaration import DeclarationError, with_parameters

    text = optional_text(value)
    overrides = {} if text is None else json.loads(text)
    if not isinstance(overrides, dict):
        raise DeclarationError(f"{where}: {text!r} is not a JSON object")
    return with_parameters(dataset, overrides, where=where)
