"""The stage configuration: one frozen, typed object per stage, read from ``cdk.json`` context.

Every environment-specific value lives here and is validated when the app is built, so a bad value
stops the synth with one line naming the setting (``stages.prod.account: ...``) instead of a deploy
that fails half-way. Stacks receive a ``StageConfig`` and never read context themselves.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

ACCOUNT_ENV_VAR = "DAP_ACCOUNT_ID"

# AWS commercial regions (a typo such as "ca-centrl-1" must fail at synth, not at deploy).
KNOWN_REGIONS = frozenset(
    {
        "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
        "ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "ca-central-1", "ca-west-1",
        "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1",
        "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
        "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    }
)  # fmt: skip

# Purposes of every bucket the platform names; the longest decides how long a prefix may be.
BUCKET_PURPOSES = ("raw", "transformed", "curated", "query-results", "access-logs", "cloudtrail")
REPLICA_SUFFIX = "-replica"

_STAGE_RE = re.compile(r"^[a-z][a-z0-9]{1,9}$")
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{0,10}[a-z0-9]$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_TAG_VALUE_RE = re.compile(r"^[\w .:/=+@-]{1,256}$")
DATA_CLASSIFICATIONS = ("public", "internal", "confidential")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the setting and what is allowed."""


@dataclass(frozen=True)
class StageConfig:
    """Everything that differs between stages. Field names are the keys under ``stages.<name>``."""

    stage: str
    account: str
    primary_region: str
    backup_region: str
    name_prefix: str
    alarm_email: str
    owner: str
    data_classification: str
    noncurrent_version_retention_days: int
    raw_infrequent_access_after_days: int
    query_results_retention_days: int
    access_log_retention_days: int
    allow_destroy: bool

    @property
    def tags(self) -> dict[str, str]:
        """Tags every resource carries (cost allocation, ownership, data handling)."""
        return {
            "project": "vancouver-dap",
            "stage": self.stage,
            "owner": self.owner,
            "data-classification": self.data_classification,
        }

    def stack_name(self, role: str) -> str:
        return f"{self.name_prefix}-{self.stage}-{role}"

    def bucket_name(self, purpose: str, *, replica: bool = False) -> str:
        """Globally unique, predictable bucket names: prefix, stage, purpose, account, region."""
        region = self.backup_region if replica else self.primary_region
        suffix = REPLICA_SUFFIX if replica else ""
        return f"{self.name_prefix}-{self.stage}-{purpose}{suffix}-{self.account}-{region}"


def _setting(where: str, name: str) -> str:
    return f"{where}.{name}"


def _require_int(raw: Mapping[str, Any], where: str, name: str, minimum: int = 1) -> int:
    value = raw[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(
            f"{_setting(where, name)}: {value!r} is not allowed; use a whole number >= {minimum}"
        )
    return value


def _require_str(raw: Mapping[str, Any], where: str, name: str) -> str:
    value = raw[name]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{_setting(where, name)}: {value!r} is not allowed; use a non-empty string")
    return value


def _validate_keys(raw: Mapping[str, Any], where: str) -> None:
    allowed = [f.name for f in fields(StageConfig) if f.name != "stage"]
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ConfigError(f"{_setting(where, unknown[0])}: unknown setting; allowed: {', '.join(allowed)}")
    missing = [name for name in allowed if name not in raw]
    if missing:
        raise ConfigError(f"{_setting(where, missing[0])}: missing; set it in cdk.json context")


def _parse_stage(stage: str, raw: Mapping[str, Any], account_override: str | None) -> StageConfig:
    where = f"stages.{stage}"
    _validate_keys(raw, where)

    account = account_override if account_override is not None else raw["account"]
    account_setting = "account" if account_override is not None else _setting(where, "account")
    if not isinstance(account, str) or not _ACCOUNT_RE.match(account):
        raise ConfigError(f"{account_setting}: {account!r} is not allowed; use a 12-digit AWS account id")

    regions = {}
    for name in ("primary_region", "backup_region"):
        value = raw[name]
        if value not in KNOWN_REGIONS:
            raise ConfigError(
                f"{_setting(where, name)}: {value!r} is not a known AWS region; "
                f"allowed: {', '.join(sorted(KNOWN_REGIONS))}"
            )
        regions[name] = value
    if regions["primary_region"] == regions["backup_region"]:
        raise ConfigError(
            f"{_setting(where, 'backup_region')}: {regions['backup_region']!r} duplicates primary_region; "
            "the backup must be another region"
        )

    prefix = raw["name_prefix"]
    if not isinstance(prefix, str) or not _PREFIX_RE.match(prefix):
        raise ConfigError(
            f"{_setting(where, 'name_prefix')}: {prefix!r} is not allowed; use 2-12 lowercase letters, "
            "digits or hyphens, starting with a letter, not ending in a hyphen (it starts every bucket name)"
        )

    email = raw["alarm_email"]
    if not isinstance(email, str) or not _EMAIL_RE.match(email):
        raise ConfigError(f"{_setting(where, 'alarm_email')}: {email!r} is not a valid e-mail address")

    owner = _require_str(raw, where, "owner")
    if not _TAG_VALUE_RE.match(owner):
        raise ConfigError(f"{_setting(where, 'owner')}: {owner!r} is not a valid tag value")
    classification = raw["data_classification"]
    if classification not in DATA_CLASSIFICATIONS:
        raise ConfigError(
            f"{_setting(where, 'data_classification')}: {classification!r} is not allowed; "
            f"allowed: {', '.join(DATA_CLASSIFICATIONS)}"
        )

    allow_destroy = raw["allow_destroy"]
    if not isinstance(allow_destroy, bool):
        raise ConfigError(
            f"{_setting(where, 'allow_destroy')}: {allow_destroy!r} is not allowed; use true or false"
        )
    if allow_destroy and stage != "dev":
        raise ConfigError(
            f"{_setting(where, 'allow_destroy')}: only the dev stage may destroy data; set it to false"
        )

    config = StageConfig(
        stage=stage,
        account=account,
        primary_region=regions["primary_region"],
        backup_region=regions["backup_region"],
        name_prefix=prefix,
        alarm_email=email,
        owner=owner,
        data_classification=classification,
        noncurrent_version_retention_days=_require_int(raw, where, "noncurrent_version_retention_days"),
        raw_infrequent_access_after_days=_require_int(raw, where, "raw_infrequent_access_after_days", 30),
        query_results_retention_days=_require_int(raw, where, "query_results_retention_days"),
        access_log_retention_days=_require_int(raw, where, "access_log_retention_days"),
        allow_destroy=allow_destroy,
    )
    longest = max((config.bucket_name(p, replica=r) for p in BUCKET_PURPOSES for r in (False, True)), key=len)
    if len(longest) > 63:
        raise ConfigError(
            f"{_setting(where, 'name_prefix')}: {prefix!r} is too long; bucket {longest!r} would exceed "
            "S3's 63 characters"
        )
    return config


def load_config(context: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> StageConfig:
    """Build the config of the stage named by context ``stage`` (default ``dev``).

    The account comes from context ``account`` or ``$DAP_ACCOUNT_ID`` if given, else from the stage.
    """
    environ = os.environ if environ is None else environ
    stages = context.get("stages")
    if not isinstance(stages, Mapping) or not stages:
        raise ConfigError("stages: missing; cdk.json context must define the stages")
    stage = context.get("stage", "dev")
    if not isinstance(stage, str) or stage not in stages:
        raise ConfigError(f"stage: {stage!r} is not a configured stage; allowed: {', '.join(sorted(stages))}")
    if not _STAGE_RE.match(stage):
        raise ConfigError(f"stage: {stage!r} is not allowed; use 2-10 lowercase letters or digits")
    raw = stages[stage]
    if not isinstance(raw, Mapping):
        raise ConfigError(f"stages.{stage}: must be an object of settings")
    account_override = context.get("account") or environ.get(ACCOUNT_ENV_VAR) or None
    return _parse_stage(stage, raw, account_override)
