"""The stage configuration: one frozen, typed object per stage, read from ``cdk.json`` context.

Every environment-specific value lives here and is validated when the app is built, so a bad value
stops the synth with one line naming the setting (``stages.prod.glue.max_workers: ...``) instead of a
deploy that fails half-way. Stacks receive a ``StageConfig`` and never read context themselves.

Each section is a frozen dataclass; a field's ``metadata`` holds its constraint, and one generic
parser checks types, bounds, choices and patterns, so adding a setting is one line.
"""

from __future__ import annotations

import json
import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataset_etl.declaration import Dataset

ACCOUNT_ENV_VAR = "DAP_ACCOUNT_ID"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Where the dataset folders are found; context ``datasets_dir`` replaces it (a test's fixture folder).
DEFAULT_DATASETS_DIR = PROJECT_ROOT / "datasets"

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
# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)  # fmt: skip
DATA_CLASSIFICATIONS = ("public", "internal", "confidential")

# Purposes of every bucket the platform names; the longest decides how long a prefix may be.
BUCKET_PURPOSES = ("raw", "transformed", "curated", "query-results", "access-logs", "cloudtrail")
REPLICA_SUFFIX = "-replica"

_STAGE_RE = re.compile(r"^[a-z][a-z0-9]{1,9}$")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the setting and what is allowed."""


def setting(
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[Any, ...] | None = None,
    pattern: str | None = None,
    allowed: str | None = None,
) -> Any:
    """Declare a field's constraint; ``allowed`` is the human wording used in the error."""
    return field(
        metadata={
            "minimum": minimum,
            "maximum": maximum,
            "choices": choices,
            "pattern": pattern,
            "allowed": allowed,
        }
    )


_SCHEDULE_PATTERN = r"^(cron\([^()]+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$"
_SCHEDULE_ALLOWED = "an EventBridge 'cron(...)' or 'rate(N unit)' expression"


@dataclass(frozen=True)
class StorageSettings:
    noncurrent_version_retention_days: int = setting(minimum=1)
    raw_infrequent_access_after_days: int = setting(minimum=30)  # S3 refuses IA before 30 days
    query_results_retention_days: int = setting(minimum=1)
    access_log_retention_days: int = setting(minimum=1)


@dataclass(frozen=True)
class DataBrewSettings:
    max_capacity: int = setting(minimum=1, maximum=100)  # nodes
    timeout_minutes: int = setting(minimum=1, maximum=2880)
    max_retries: int = setting(minimum=0, maximum=5)
    # the profile job runs on its own schedule (and `dap profile`), never on the run path
    profile_schedule: str = setting(
        pattern=r"^cron\([^()]+\)$", allowed="a DataBrew 'cron(...)' expression (6 fields)"
    )


@dataclass(frozen=True)
class CatalogSettings:
    # the crawlers only detect schema drift (every table is projected): on their own schedule
    crawler_schedule: str = setting(
        pattern=r"^cron\([^()]+\)$", allowed="a Glue 'cron(...)' expression (6 fields)"
    )


@dataclass(frozen=True)
class GlueSettings:
    max_workers: int = setting(minimum=2, maximum=100)  # G.1X; auto scaling runs 2..max
    flex: bool = setting()  # Flex execution: cheaper, may start later; fine for a daily batch
    timeout_minutes: int = setting(minimum=1, maximum=2880)
    max_retries: int = setting(minimum=0, maximum=10)


@dataclass(frozen=True)
class QualitySettings:
    freshness_days: int = setting(minimum=1)
    fail_on_dataset_rule: bool = setting()


@dataclass(frozen=True)
class AthenaSettings:
    bytes_scanned_cutoff_per_query: int = setting(minimum=10_000_000, allowed="a whole number >= 10000000")


@dataclass(frozen=True)
class ScheduleSettings:
    enabled: bool = setting()
    expression: str = setting(pattern=_SCHEDULE_PATTERN, allowed=_SCHEDULE_ALLOWED)


@dataclass(frozen=True)
class IngestionSettings:
    """The scheduled pull of each dataset's export from the City's open-data portal (Opendatasoft).

    Stage-wide: every dataset is pulled from the same portal on the same schedule; which portal dataset
    is the declaration's ``portal_dataset_id``.
    """

    portal_base_url: str = setting(
        pattern=r"^https://[A-Za-z0-9.-]+(:\d+)?(/[\w.~-]+)*$",
        allowed="an https:// URL of the portal's Explore API, e.g. https://opendata.vancouver.ca/api/explore/v2.1",
    )
    where: str = setting(pattern=r"^[^\n]{0,500}$", allowed="an ODSQL filter of one line, or ''")
    schedule_enabled: bool = setting()
    schedule_expression: str = setting(pattern=_SCHEDULE_PATTERN, allowed=_SCHEDULE_ALLOWED)
    timeout_minutes: int = setting(minimum=1, maximum=15)  # Lambda's limit is 15 minutes


def raw_file_name(portal_dataset_id: str) -> str:
    """The raw object a portal download becomes: one per dataset, overwritten (the bucket keeps versions)."""
    return f"{portal_dataset_id}.csv"


@dataclass(frozen=True, eq=False)
class StageDataset:
    """One dataset a stage runs (``stages.<s>.datasets[i]``): its declaration and the stage's overrides
    of the declared parameters (checked against the declaration when the config is loaded)."""

    id: str
    overrides: Mapping[str, Any]
    dataset: Dataset

    @property
    def parameters(self) -> dict[str, Any]:
        """The declared parameters with the stage's overrides: what the summary job runs with."""
        return {**self.dataset.parameters, **self.overrides}

    @property
    def raw_file_name(self) -> str:
        return raw_file_name(self.dataset.portal_dataset_id)


@dataclass(frozen=True)
class AlarmSettings:
    raw_bucket_max_bytes: int = setting(minimum=1)
    curated_bucket_max_bytes: int = setting(minimum=1)
    pipeline_freshness_days: int = setting(minimum=1, maximum=7)  # CloudWatch evaluates <= 7 days
    athena_daily_bytes_scanned: int = setting(minimum=1)
    dq_failed_row_rate: float = setting(minimum=0.0, maximum=1.0)
    # "ETL jobs exceeding runtime thresholds": every Glue job's delay notification (NotifyDelayAfter),
    # one "Glue Job Run Status" event per run that outlasts it, alerted by the running-long rule
    glue_job_max_minutes: int = setting(minimum=1, maximum=2880)
    access_denied_per_5_minutes: int = setting(minimum=1)  # S3 AccessDenied on the data buckets


@dataclass(frozen=True)
class StageConfig:
    """Everything that differs between stages. Field names are the keys under ``stages.<name>``."""

    account: str = setting(pattern=r"^\d{12}$", allowed="a 12-digit AWS account id")
    primary_region: str = setting(choices=tuple(sorted(KNOWN_REGIONS)))
    backup_region: str = setting(choices=tuple(sorted(KNOWN_REGIONS)))
    name_prefix: str = setting(
        pattern=r"^[a-z][a-z0-9-]{0,10}[a-z0-9]$",
        allowed="2-12 lowercase letters, digits or hyphens, starting with a letter, not ending in a hyphen "
        "(it starts every bucket name)",
    )
    alarm_email: str = setting(
        pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$",
        allowed="an e-mail address",
    )
    owner: str = setting(
        pattern=r"^[\w .:/=+@-]{1,256}$", allowed="a tag value (letters, digits, ' .:/=+@-_')"
    )
    data_classification: str = setting(choices=DATA_CLASSIFICATIONS)
    allow_destroy: bool = setting()
    log_retention_days: int = setting(choices=LOG_RETENTION_DAYS)
    storage: StorageSettings = setting()
    databrew: DataBrewSettings = setting()
    glue: GlueSettings = setting()
    catalog: CatalogSettings = setting()
    quality: QualitySettings = setting()
    athena: AthenaSettings = setting()
    schedule: ScheduleSettings = setting()
    ingestion: IngestionSettings = setting()
    alarms: AlarmSettings = setting()
    stage: str = "dev"
    # ``stages.<s>.datasets``: parsed on its own (a list, checked against the declarations)
    datasets: tuple[StageDataset, ...] = ()
    datasets_dir: Path = DEFAULT_DATASETS_DIR

    def dataset(self, dataset_id: str) -> StageDataset:
        """The stage's dataset ``dataset_id``; the error lists the ones it runs."""
        for entry in self.datasets:
            if entry.id == dataset_id:
                return entry
        raise ConfigError(
            f"stages.{self.stage}.datasets: stage {self.stage} does not run dataset {dataset_id!r}; "
            f"it runs: {', '.join(self.dataset_ids)}"
        )

    @property
    def dataset_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.datasets)

    @property
    def tags(self) -> dict[str, str]:
        """Tags every resource carries (cost allocation, ownership, data handling)."""
        return {
            "project": "vancouver-dap",
            "stage": self.stage,
            "owner": self.owner,
            "data-classification": self.data_classification,
        }

    @property
    def resource_prefix(self) -> str:
        """Starts the name of every named resource: ``vdap-dev``."""
        return f"{self.name_prefix}-{self.stage}"

    def stack_name(self, role: str) -> str:
        return f"{self.resource_prefix}-{role}"

    def bucket_name(self, purpose: str, *, replica: bool = False) -> str:
        """Globally unique, predictable bucket names: prefix, stage, purpose, account, region."""
        region = self.backup_region if replica else self.primary_region
        suffix = REPLICA_SUFFIX if replica else ""
        return f"{self.resource_prefix}-{purpose}{suffix}-{self.account}-{region}"


def _describe(meta: Mapping[str, Any], kind: type) -> str:
    if meta["allowed"]:
        return meta["allowed"]
    if meta["choices"]:
        return "one of " + ", ".join(map(str, meta["choices"]))
    if kind is bool:
        return "true or false"
    noun = "a whole number" if kind is int else "a number"
    bounds = [f">= {meta['minimum']}"] if meta["minimum"] is not None else []
    bounds += [f"<= {meta['maximum']}"] if meta["maximum"] is not None else []
    return " ".join([noun, " and ".join(bounds)]).strip()


def _check_value(value: Any, kind: type, meta: Mapping[str, Any], where: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    valid = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if valid and meta["choices"] is not None:
        valid = value in meta["choices"]
    if valid and meta["pattern"] is not None:
        valid = re.fullmatch(meta["pattern"], value) is not None
    if valid and meta["minimum"] is not None:
        valid = value >= meta["minimum"]
    if valid and meta["maximum"] is not None:
        valid = value <= meta["maximum"]
    if not valid:
        raise ConfigError(f"{where}: {value!r} is not allowed; use {_describe(meta, kind)}")
    return value


def _parse_section(cls: type, raw: Any, where: str, preset: Mapping[str, Any] | None = None) -> Any:
    """Build dataclass ``cls`` from ``raw``, naming the first unknown, missing or invalid setting."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be an object of settings")
    preset = dict(preset or {})
    hints = typing.get_type_hints(cls)
    declared = [f for f in fields(cls) if f.name not in preset and f.metadata]
    names = [f.name for f in declared]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown setting; allowed: {', '.join(names)}")
    missing = [name for name in names if name not in raw]
    if missing:
        raise ConfigError(f"{where}.{missing[0]}: missing; set it in cdk.json context")
    values = dict(preset)
    for f in declared:
        kind = hints[f.name]
        if hasattr(kind, "__dataclass_fields__"):
            values[f.name] = _parse_section(kind, raw[f.name], f"{where}.{f.name}")
        else:
            values[f.name] = _check_value(raw[f.name], kind, f.metadata, f"{where}.{f.name}")
    return cls(**values)


def _check_stage(config: StageConfig, where: str) -> None:
    """Rules that involve more than one setting."""
    if config.primary_region == config.backup_region:
        raise ConfigError(
            f"{where}.backup_region: {config.backup_region!r} duplicates primary_region; "
            "the backup must be another region"
        )
    if config.allow_destroy and config.stage != "dev":
        raise ConfigError(f"{where}.allow_destroy: only the dev stage may destroy data; set it to false")
    longest = max((config.bucket_name(p, replica=r) for p in BUCKET_PURPOSES for r in (False, True)), key=len)
    if len(longest) > 63:
        raise ConfigError(
            f"{where}.name_prefix: {config.name_prefix!r} is too long; bucket {longest!r} would exceed "
            "S3's 63 characters"
        )
    from stacks.names import PlatformNames  # names are derived from a config: imported late

    for i, dataset in enumerate(PlatformNames.of(config).datasets):
        for what, name, limit in dataset.limited_names():
            if len(name) > limit:
                raise ConfigError(
                    f"{where}.datasets[{i}].id: {dataset.dataset_id!r} makes the {what} name {name!r} "
                    f"{len(name)} characters long, over the service's {limit}; use a shorter id or "
                    "name_prefix"
                )


def _datasets_dir(value: Any) -> Path:
    """Context ``datasets_dir``: a folder of dataset folders (relative to the project or absolute)."""
    if value is None:
        return DEFAULT_DATASETS_DIR
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"datasets_dir: {value!r} is not allowed; use the path of a folder of dataset folders"
        )
    folder = Path(value)
    folder = folder if folder.is_absolute() else PROJECT_ROOT / folder
    if not folder.is_dir():
        raise ConfigError(f"datasets_dir: {value!r} is not a folder")
    return folder


_DATASET_KEYS = ("id", "parameters")


def _parse_datasets(raw: Any, where: str, root: Path) -> tuple[StageDataset, ...]:
    """``stages.<s>.datasets``: a non-empty list of ``{"id": ..., "parameters": {...}}``, each id a
    declared dataset (a folder of ``root``) and each parameter one its declaration has, of its type."""
    from dataset_etl.declaration import DeclarationError, with_parameters

    from stacks.datasets import dataset_folders, load_folder

    where = f"{where}.datasets"
    if raw is None:
        raise ConfigError(f"{where}: missing; set it in cdk.json context")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f'{where}: must be a non-empty list of {{"id": ..., "parameters": {{...}}}}')
    declared = dataset_folders(root)
    found: list[StageDataset] = []
    for i, entry in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f'{at}: must be an object {{"id": ..., "parameters": {{...}}}}')
        unknown = sorted(set(entry) - set(_DATASET_KEYS))
        if unknown:
            raise ConfigError(f"{at}.{unknown[0]}: unknown setting; allowed: {', '.join(_DATASET_KEYS)}")
        dataset_id = entry.get("id")
        if dataset_id not in declared:
            raise ConfigError(
                f"{at}.id: {dataset_id!r} is not a declared dataset; declared: "
                f"{', '.join(declared) or '(none)'}"
            )
        if dataset_id in [d.id for d in found]:
            raise ConfigError(f"{at}.id: {dataset_id!r} is listed twice")
        overrides = entry.get("parameters", {})
        if not isinstance(overrides, Mapping):
            raise ConfigError(f"{at}.parameters: must be an object of parameter values")
        try:
            dataset = load_folder(declared[dataset_id])
            with_parameters(dataset, overrides, where=f"{at}.parameters")
        except DeclarationError as error:
            raise ConfigError(str(error)) from None
        found.append(StageDataset(id=dataset_id, overrides=dict(overrides), dataset=dataset))
    return tuple(found)


def load_config(context: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> StageConfig:
    """Build the config of the stage named by context ``stage`` (default ``dev``).

    The account comes from context ``account`` or ``$DAP_ACCOUNT_ID`` if given, else from the stage.
    The datasets are looked up in ``datasets/`` or in context ``datasets_dir`` if given.
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
    where = f"stages.{stage}"
    raw = stages[stage]
    override = context.get("account") or environ.get(ACCOUNT_ENV_VAR)
    if override and isinstance(raw, Mapping):
        account_meta = next(f.metadata for f in fields(StageConfig) if f.name == "account")
        _check_value(override, str, account_meta, "account")
        raw = {**raw, "account": override}
    raw_datasets = None
    if isinstance(raw, Mapping):
        raw = dict(raw)
        raw_datasets = raw.pop("datasets", None)
    config = _parse_section(StageConfig, raw, where, preset={"stage": stage})
    root = _datasets_dir(context.get("datasets_dir"))
    config = replace(config, datasets=_parse_datasets(raw_datasets, where, root), datasets_dir=root)
    _check_stage(config, where)
    return config


def cdk_json_context() -> dict[str, Any]:
    """``cdk.json``'s context: feature flags and the stage configurations (no CDK import needed)."""
    return json.loads((PROJECT_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]


def load_stage(stage: str | None = None, environ: Mapping[str, str] | None = None) -> StageConfig:
    """The config of ``stage`` (default dev) as committed in cdk.json: what ``dap`` commands use."""
    return load_config({**cdk_json_context(), "stage": stage or "dev"}, environ)
