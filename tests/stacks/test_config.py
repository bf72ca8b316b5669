"""Configuration: every bad value stops the build with one line naming the setting."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest

from stacks.config import ConfigError, load_config
from stacks.platform_app import PROJECT_ROOT, cdk_json_context


def context_with(stage: str = "dev", **settings) -> dict:
    context = copy.deepcopy(cdk_json_context())
    context["stage"] = stage
    context["stages"][stage].update(settings)
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


def test_default_stage_is_dev():
    context = cdk_json_context()
    context.pop("stage")
    assert load_config(context, environ={}).stage == "dev"


def test_account_comes_from_context_then_environment_then_stage():
    assert load_config(context_with(), environ={"DAP_ACCOUNT_ID": "333333333333"}).account == "333333333333"
    context = {**context_with(), "account": "444444444444"}
    assert load_config(context, environ={"DAP_ACCOUNT_ID": "333333333333"}).account == "444444444444"
    assert load_config(context_with(), environ={}).account == "111111111111"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {**context_with(), "stage": "staging"},
            r"^stage: 'staging' is not a configured stage; allowed: dev, prod$",
        ),
        (context_with(account="12345"), r"^stages\.dev\.account: '12345' is not allowed; use a 12-digit"),
        ({**context_with(), "account": "abc"}, r"^account: 'abc' is not allowed; use a 12-digit"),
        (
            context_with(primary_region="ca-centrl-1"),
            r"^stages\.dev\.primary_region: 'ca-centrl-1' is not a known",
        ),
        (
            context_with(backup_region="mars-1"),
            r"^stages\.dev\.backup_region: 'mars-1' is not a known AWS region",
        ),
        (
            context_with(backup_region="ca-central-1"),
            r"^stages\.dev\.backup_region: 'ca-central-1' duplicates",
        ),
        (context_with(name_prefix="Bad_Prefix"), r"^stages\.dev\.name_prefix: 'Bad_Prefix' is not allowed"),
        (context_with(name_prefix="ends-"), r"^stages\.dev\.name_prefix: 'ends-' is not allowed"),
        (long_named_stage(), r"^stages\.sandbox123\.name_prefix: 'abcdefghijkl' is too long; bucket .* 63"),
        (
            context_with(alarm_email="not-an-email"),
            r"^stages\.dev\.alarm_email: 'not-an-email' is not a valid",
        ),
        (
            context_with(noncurrent_version_retention_days=0),
            r"^stages\.dev\.noncurrent_version_retention_days: 0",
        ),
        (context_with(query_results_retention_days=-3), r"^stages\.dev\.query_results_retention_days: -3"),
        (context_with(access_log_retention_days="90"), r"^stages\.dev\.access_log_retention_days: '90'"),
        (context_with(raw_infrequent_access_after_days=7), r"raw_infrequent_access_after_days: 7 .* >= 30$"),
        (context_with(data_classification="secret"), r"^stages\.dev\.data_classification: 'secret' .*public"),
        (context_with(allow_destroy="yes"), r"^stages\.dev\.allow_destroy: 'yes' is not allowed"),
        (
            context_with("prod", allow_destroy=True),
            r"^stages\.prod\.allow_destroy: only the dev stage may destroy",
        ),
        (
            context_with(retention_dayz=3),
            r"^stages\.dev\.retention_dayz: unknown setting; allowed: account, ",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_value_names_the_setting(context, message):
    with pytest.raises(ConfigError, match=message):
        load_config(context, environ={})


def test_missing_setting_is_named():
    context = context_with()
    del context["stages"]["dev"]["alarm_email"]
    with pytest.raises(ConfigError, match=r"^stages\.dev\.alarm_email: missing"):
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
    assert "Traceback" not in result.stderr
