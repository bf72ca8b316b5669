"""Configuration: every bad value stops the build with one line naming the setting."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest

from stacks.config import PROJECT_ROOT, ConfigError, cdk_json_context, load_config


def context_with(stage: str = "dev", **settings) -> dict:
    """cdk.json's context with settings replaced; ``glue__max_workers=0`` sets a nested one."""
    context = copy.deepcopy(cdk_json_context())
    context["stage"] = stage
    for name, value in settings.items():
        *sections, key = name.split("__")
        target = context["stages"][stage]
        for section in sections:
            target = target[section]
        target[key] = value
    return context


def long_named_stage() -> dict:
    context = context_with()
    context["stages"]["sandbox123"] = {
        **context["stages"]["dev"],
        "name_prefix": "abcdefghijkl",
        "primary_region": "ap-southeast-4",
    }
    context["stage"] = "sandbox123"
    return context


def test_both_stages_load_with_safe_defaults():
    for stage in ("dev", "prod"):
        config = load_config(context_with(stage), environ={})
        assert config.stage == stage
        assert (config.primary_region, config.backup_region) == ("ca-central-1", "ca-west-1")
        assert config.allow_destroy is False
        assert config.tags["stage"] == stage
    prod = load_config(context_with("prod"), environ={})
    assert prod.glue.flex is False and prod.schedule.enabled is True


def test_default_stage_is_dev():
    context = cdk_json_context()
    context.pop("stage")
    assert load_config(context, environ={}).stage == "dev"


def test_account_comes_from_context_then_environment_then_stage():
    assert load_config(context_with(), environ={"DAP_ACCOUNT_ID": "333333333333"}).account == "333333333333"
    context = {**context_with(), "account": "444444444444"}
    assert load_config(context, environ={"DAP_ACCOUNT_ID": "333333333333"}).account == "444444444444"
    assert load_config(context_with(), environ={}).account == "111111111111"


BAD_VALUES = [
    ({**context_with(), "stage": "staging"}, r"stage: 'staging' is not a configured stage; allowed: dev, prod"),
    (context_with(account="12345"), r"stages\.dev\.account: '12345' is not allowed; use a 12-digit AWS account id"),
    ({**context_with(), "account": "abc"}, r"account: 'abc' is not allowed; use a 12-digit AWS account id"),
    (context_with(primary_region="ca-centrl-1"), r"stages\.dev\.primary_region: 'ca-centrl-1' is not allowed; "
     r"use one of af-south-1, .*, ca-central-1, ca-west-1, .*"),
    (context_with(backup_region="mars-1"), r"stages\.dev\.backup_region: 'mars-1' is not allowed; use one of .*"),
    (context_with(backup_region="ca-central-1"), r"stages\.dev\.backup_region: 'ca-central-1' duplicates "
     r"primary_region; the backup must be another region"),
    (context_with(name_prefix="Bad_Prefix"), r"stages\.dev\.name_prefix: 'Bad_Prefix' is not allowed; use 2-12 .*"),
    (context_with(name_prefix="ends-"), r"stages\.dev\.name_prefix: 'ends-' is not allowed; use 2-12 .*"),
    (long_named_stage(), r"stages\.sandbox123\.name_prefix: 'abcdefghijkl' is too long; bucket .* 63 characters"),
    (context_with(alarm_email="not-an-email"), r"stages\.dev\.alarm_email: 'not-an-email' is not allowed; "
     r"use an e-mail address"),
    (context_with(storage__noncurrent_version_retention_days=0), r"stages\.dev\.storage\."
     r"noncurrent_version_retention_days: 0 is not allowed; use a whole number >= 1"),
    (context_with(storage__query_results_retention_days=-3), r"stages\.dev\.storage\.query_results_retention_days: "
     r"-3 is not allowed; use a whole number >= 1"),
    (context_with(storage__access_log_retention_days="90"), r"stages\.dev\.storage\.access_log_retention_days: "
     r"'90' is not allowed; use a whole number >= 1"),
    (context_with(storage__raw_infrequent_access_after_days=7), r".*raw_infrequent_access_after_days: 7 .* >= 30"),
    (context_with(data_classification="secret"), r"stages\.dev\.data_classification: 'secret' is not allowed; "
     r"use one of public, internal, confidential"),
    (context_with(allow_destroy="yes"), r"stages\.dev\.allow_destroy: 'yes' is not allowed; use true or false"),
    (context_with("prod", allow_destroy=True), r"stages\.prod\.allow_destroy: only the dev stage may destroy data; "
     r"set it to false"),
    (context_with(retention_dayz=3), r"stages\.dev\.retention_dayz: unknown setting; allowed: account, .*"),
    (context_with(glue__max_workers=1), r"stages\.dev\.glue\.max_workers: 1 is not allowed; "
     r"use a whole number >= 2 and <= 100"),
    (context_with(glue__flex="no"), r"stages\.dev\.glue\.flex: 'no' is not allowed; use true or false"),
    (context_with(athena__bytes_scanned_cutoff_per_query=1000), r"stages\.dev\.athena\."
     r"bytes_scanned_cutoff_per_query: 1000 is not allowed; use a whole number >= 10000000"),
    (context_with(schedule__expression="every day"), r"stages\.dev\.schedule\.expression: 'every day' is not "
     r"allowed; use an EventBridge 'cron\(...\)' or 'rate\(N unit\)' expression"),
    (context_with(alarms__dq_failed_row_rate=1.5), r"stages\.dev\.alarms\.dq_failed_row_rate: 1\.5 is not allowed; "
     r"use a number >= 0\.0 and <= 1\.0"),
    (context_with(log_retention_days=42), r"stages\.dev\.log_retention_days: 42 is not allowed; use one of 1, 3, .*"),
    (context_with(quality="strict"), r"stages\.dev\.quality: must be an object of settings"),
    (context_with(databrew__nodes=2), r"stages\.dev\.databrew\.nodes: unknown setting; allowed: max_capacity, .*"),
    (context_with(quality__min_employees=15), r"stages\.dev\.quality\.min_employees: unknown setting; "
     r"allowed: freshness_days, fail_on_dataset_rule"),
    (context_with(ingestion__dataset_id="x"), r"stages\.dev\.ingestion\.dataset_id: unknown setting; allowed: .*"),
    (context_with(datasets=[{"id": "business_licences"}, {"id": "parking_tickets"}]),
     r"stages\.dev\.datasets\[1\]\.id: 'parking_tickets' is not a declared dataset; declared: "
     r"business_licences(, \w+)*"),
    (context_with(datasets=[{"id": "business_licences", "parameters": {"min_employes": 3}}]),
     r"stages\.dev\.datasets\[0\]\.parameters\.min_employes: not a parameter of dataset 'business_licences'"),
    (context_with(datasets=[{"id": "business_licences", "parameters": {"min_employees": "15"}}]),
     r"stages\.dev\.datasets\[0\]\.parameters\.min_employees: '15' is not of the declared type \(15\)"),
    (context_with(datasets=[{"id": "business_licences", "schedule": "daily"}]),
     r"stages\.dev\.datasets\[0\]\.schedule: unknown setting; allowed: id, parameters"),
    (context_with(datasets=[{"id": "business_licences"}, {"id": "business_licences"}]),
     r"stages\.dev\.datasets\[1\]\.id: 'business_licences' is listed twice"),
    (context_with(datasets=[]), r"stages\.dev\.datasets: must be a non-empty list of .*"),
    ({**context_with(), "datasets_dir": "no/such/folder"}, r"datasets_dir: 'no/such/folder' is not a folder"),
]  # fmt: skip


@pytest.mark.parametrize(("context", "message"), BAD_VALUES, ids=[m.split(":")[0] for _, m in BAD_VALUES])
def test_bad_value_names_the_setting(context, message):
    with pytest.raises(ConfigError) as raised:
        load_config(context, environ={})
    assert "\n" not in str(raised.value)
    assert raised.match(f"^{message}$")


def test_stage_datasets_carry_their_declaration_and_the_stage_overrides():
    for stage in ("dev", "prod"):
        config = load_config(context_with(stage), environ={})
        licences = config.dataset("business_licences")
        assert licences.dataset.id == "business_licences"
        assert licences.overrides == {"min_employees": 15}
        assert licences.parameters == {"status": "Issued", "min_employees": 15}
        assert licences.raw_file_name == "business-licences.csv"
    with pytest.raises(ConfigError, match=r"does not run dataset 'parking'; it runs: business_licences"):
        config.dataset("parking")


def test_missing_datasets_are_named():
    context = context_with()
    del context["stages"]["dev"]["datasets"]
    with pytest.raises(ConfigError, match=r"^stages\.dev\.datasets: missing; set it in cdk.json context$"):
        load_config(context, environ={})


def test_a_dataset_id_too_long_for_a_service_name_is_refused(tmp_path):
    """The Lambda function name (64) is the tightest: the check names the dataset and the service."""
    long_id = "a_dataset_with_a_really_long_identifier"  # 39 characters, allowed by the declaration
    folder = tmp_path / long_id
    source = PROJECT_ROOT / "datasets" / "business_licences"
    folder.mkdir()
    text = (source / "dataset.toml").read_text(encoding="utf-8")
    text = text.replace('id = "business_licences"', f'id = "{long_id}"')
    text = text.replace('"../../', f'"{(PROJECT_ROOT).as_posix()}/')
    (folder / "dataset.toml").write_text(text, encoding="utf-8")
    context = {**context_with(datasets=[{"id": long_id}]), "datasets_dir": str(tmp_path)}
    with pytest.raises(ConfigError) as raised:
        load_config(context, environ={})
    assert raised.match(
        rf"^stages\.dev\.datasets\[0\]\.id: '{long_id}' makes the .* name '.*' \d+ characters long, over "
        r"the service's \d+; use a shorter id or name_prefix$"
    )


def test_missing_setting_is_named():
    context = context_with()
    del context["stages"]["dev"]["glue"]["flex"]
    with pytest.raises(ConfigError, match=r"^stages\.dev\.glue\.flex: missing; set it in cdk.json context$"):
        load_config(context, environ={})


def test_app_exits_with_one_clear_line_and_no_traceback():
    """What `cdk synth -c stage=staging` runs: the CLI passes context through CDK_CONTEXT_JSON."""
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"stage": "staging"})}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config error: stage: 'staging' is not a configured stage; allowed: dev, prod"
    ]
