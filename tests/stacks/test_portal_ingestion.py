"""The portal ingestion function as deployed: code, schedule per stage, exact permissions, its alarm."""

from __future__ import annotations

import importlib

from licence_etl.schema import RAW_HEADER

from stacks.components.portal_ingestion import CODE_DIR, HANDLER

STACK = "Pipeline"


def only(synthesized, resource_type: str, name_part: str) -> dict:
    (resource,) = [r for k, r in synthesized.resources(STACK, resource_type).items() if name_part in k]
    return resource["Properties"]


def test_the_handler_is_the_packaged_module():
    module, _, function = HANDLER.rpartition(".")
    assert (CODE_DIR / (module.replace(".", "/") + ".py")).is_file()
    assert callable(getattr(importlib.import_module(module), function))


def test_function_settings_come_from_the_stage(synthesized):
    config = synthesized.config
    function = only(synthesized, "AWS::Lambda::Function", "PortalIngestion")
    assert function["FunctionName"] == f"{config.resource_prefix}-portal-ingest"
    assert function["Handler"] == HANDLER and function["Runtime"].startswith("python3.")
    assert function["Timeout"] == config.ingestion.timeout_minutes * 60
    assert function["ReservedConcurrentExecutions"] == 1
    env = function["Environment"]["Variables"]
    assert env["PORTAL_BASE_URL"] == config.ingestion.portal_base_url
    assert env["DATASET_ID"] == config.ingestion.dataset_id
    assert env["EXPECTED_COLUMNS"].split(";") == list(RAW_HEADER)
    assert env["RAW_BUCKET"] == config.bucket_name("raw")
    assert env["RAW_KEY"] == "raw/business_licences/business-licences.csv"
    assert env["STAGING_KEY"] == "incoming/business_licences/business-licences.csv"
    invoke = only(synthesized, "AWS::Lambda::EventInvokeConfig", "PortalIngestion")
    assert invoke["MaximumRetryAttempts"] == 0  # the code retries; a failure is published once


def test_schedule_is_on_or_off_per_stage(synthesized):
    settings = synthesized.config.ingestion
    rule = only(synthesized, "AWS::Events::Rule", "PortalIngestionSchedule")
    assert rule["ScheduleExpression"] == settings.schedule_expression
    assert rule["State"] == ("ENABLED" if settings.schedule_enabled else "DISABLED")
    assert rule["Targets"][0]["RetryPolicy"]["MaximumRetryAttempts"] == 0
    expected = {"dev": "DISABLED", "prod": "ENABLED"}[synthesized.config.stage]
    assert rule["State"] == expected


def test_role_grants_exactly_what_the_code_calls(synthesized):
    config = synthesized.config
    raw = f"arn:aws:s3:::{config.bucket_name('raw')}"
    raw_key = f"{raw}/raw/business_licences/business-licences.csv"
    staging_key = f"{raw}/incoming/business_licences/business-licences.csv"
    streams = (
        f"arn:aws:logs:{config.primary_region}:{config.account}:log-group:/aws/lambda/"
        f"{config.resource_prefix}-portal-ingest:*"
    )
    (policy,) = only(synthesized, "AWS::IAM::Role", "PortalIngestionRole")["Policies"]  # inline, nothing else
    got = {}
    for statement in policy["PolicyDocument"]["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for action in actions:
            for resource in resources:
                got.setdefault(action, []).append(resource if isinstance(resource, str) else "<token>")
    assert {a: sorted(r) for a, r in got.items()} == {
        "s3:GetObject": sorted([raw_key, staging_key]),
        "s3:ListBucket": [raw],
        "s3:PutObject": sorted([raw_key, staging_key]),
        "s3:AbortMultipartUpload": [staging_key],
        "s3:DeleteObject": [staging_key],
        "kms:GenerateDataKey": ["<token>"],
        "kms:Decrypt": ["<token>"],
        "sns:Publish": ["<token>"],
        "logs:CreateLogStream": [streams],
        "logs:PutLogEvents": [streams],
    }
    (kms,) = [s for s in policy["PolicyDocument"]["Statement"] if "kms:Decrypt" in s["Action"]]
    assert kms["Condition"] == {
        "StringEquals": {"kms:ViaService": [f"s3.{config.primary_region}.amazonaws.com",
                                            f"sns.{config.primary_region}.amazonaws.com"]}
    }  # fmt: skip
    (listing,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Action"] == "s3:ListBucket"]
    assert "Condition" not in listing  # HeadObject carries no s3:prefix: a condition would turn 404 into 403


def test_errors_alarm_notifies_the_topic(synthesized):
    alarm = only(synthesized, "AWS::CloudWatch::Alarm", "PortalIngestion")
    assert alarm["MetricName"] == "Errors" and alarm["Namespace"] == "AWS/Lambda"
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    [action] = alarm["AlarmActions"]
    assert "AlertsTopic" in str(action)


def test_log_group_is_encrypted_and_retained_as_configured(synthesized):
    group = only(synthesized, "AWS::Logs::LogGroup", "PortalIngestion")
    assert group["LogGroupName"] == f"/aws/lambda/{synthesized.config.resource_prefix}-portal-ingest"
    assert group["RetentionInDays"] == synthesized.config.log_retention_days
    assert "KmsKeyId" in group


def test_staged_downloads_expire_in_the_raw_bucket(synthesized):
    storage = synthesized.templates["Storage"]["Resources"]
    (raw,) = [r for k, r in storage.items() if k.startswith("Raw") and r["Type"] == "AWS::S3::Bucket"]
    rules = {r["Id"]: r for r in raw["Properties"]["LifecycleConfiguration"]["Rules"]}
    staged = rules["expire-staged-downloads"]
    assert staged["Prefix"] == "incoming/business_licences/" and staged["ExpirationInDays"] == 1
