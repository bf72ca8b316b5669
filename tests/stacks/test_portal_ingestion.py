"""The portal ingestion functions as deployed, one per dataset: code, schedule per stage, exact
permissions, the alarm."""

from __future__ import annotations

import importlib
import json

from portal_ingest.handler import settings_from

from stacks.components.portal_ingestion import CODE_DIR, HANDLER
from stacks.names import pascal

STACK = "Pipeline"


def only(synthesized, resource_type: str, name_part: str, dataset_id: str) -> dict:
    """The one resource of the dataset's PortalIngestion construct (logical ids start with its Pascal id)."""
    (resource,) = [
        r
        for k, r in synthesized.resources(STACK, resource_type).items()
        if k.startswith(pascal(dataset_id)) and name_part in k
    ]
    return resource["Properties"]


def test_the_handler_is_the_packaged_module():
    module, _, function = HANDLER.rpartition(".")
    assert (CODE_DIR / (module.replace(".", "/") + ".py")).is_file()
    assert callable(getattr(importlib.import_module(module), function))


def test_function_settings_come_from_the_stage_and_the_declaration(synthesized, dataset_id):
    config = synthesized.config
    dataset = config.dataset(dataset_id).dataset
    function = only(synthesized, "AWS::Lambda::Function", "PortalIngestion", dataset_id)
    assert function["FunctionName"] == synthesized.dataset_names(dataset_id).portal_ingest_function
    assert (
        function["FunctionName"] == f"{config.resource_prefix}-{dataset_id.replace('_', '-')}-portal-ingest"
    )
    assert function["Handler"] == HANDLER and function["Runtime"].startswith("python3.")
    assert function["Timeout"] == config.ingestion.timeout_minutes * 60
    assert function["ReservedConcurrentExecutions"] == 1
    env = function["Environment"]["Variables"]
    assert env["PORTAL_BASE_URL"] == config.ingestion.portal_base_url
    assert env["DATASET_ID"] == dataset.portal_dataset_id
    assert json.loads(env["EXPECTED_COLUMNS"]) == list(dataset.raw_header)
    assert (env["CSV_DELIMITER"], env["CSV_ENCODING"]) == (dataset.format.delimiter, dataset.format.encoding)
    assert env["RAW_BUCKET"] == config.bucket_name("raw")
    file_name = f"{dataset.portal_dataset_id}.csv"
    assert env["RAW_KEY"] == f"raw/{dataset_id}/{file_name}"
    assert env["STAGING_KEY"] == f"incoming/{dataset_id}/{file_name}"
    # what the handler makes of it: the declared header and format
    _, target, csv_format = settings_from({**env, "KMS_KEY_ARN": "k", "ALERTS_TOPIC_ARN": "t"})
    assert (csv_format.columns, csv_format.delimiter) == (list(dataset.raw_header), dataset.format.delimiter)
    assert target.key == env["RAW_KEY"]
    invoke = only(synthesized, "AWS::Lambda::EventInvokeConfig", "PortalIngestion", dataset_id)
    assert invoke["MaximumRetryAttempts"] == 0  # the code retries; a failure is published once


def test_the_licences_function_pulls_business_licences(synthesized):
    env = only(synthesized, "AWS::Lambda::Function", "PortalIngestion", "business_licences")["Environment"]
    assert env["Variables"]["RAW_KEY"] == "raw/business_licences/business-licences.csv"
    assert env["Variables"]["CSV_DELIMITER"] == ";"


def test_schedule_is_on_or_off_per_stage(synthesized, dataset_id):
    settings = synthesized.config.ingestion
    rule = only(synthesized, "AWS::Events::Rule", "PortalIngestionSchedule", dataset_id)
    assert rule["Name"] == f"{synthesized.dataset_names(dataset_id).portal_ingest_function}-schedule"
    assert rule["ScheduleExpression"] == settings.schedule_expression
    assert rule["State"] == ("ENABLED" if settings.schedule_enabled else "DISABLED")
    assert rule["Targets"][0]["RetryPolicy"]["MaximumRetryAttempts"] == 0
    expected = {"dev": "DISABLED", "prod": "ENABLED"}[synthesized.config.stage]
    assert rule["State"] == expected


def test_role_grants_exactly_what_the_code_calls(synthesized, dataset_id):
    config = synthesized.config
    file_name = config.dataset(dataset_id).raw_file_name
    raw = f"arn:aws:s3:::{config.bucket_name('raw')}"
    raw_key = f"{raw}/raw/{dataset_id}/{file_name}"
    staging_key = f"{raw}/incoming/{dataset_id}/{file_name}"
    streams = (
        f"arn:aws:logs:{config.primary_region}:{config.account}:log-group:/aws/lambda/"
        f"{synthesized.dataset_names(dataset_id).portal_ingest_function}:*"
    )
    # inline, nothing else
    (policy,) = only(synthesized, "AWS::IAM::Role", "PortalIngestionRole", dataset_id)["Policies"]
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


def test_errors_alarm_notifies_the_topic(synthesized, dataset_id):
    alarm = only(synthesized, "AWS::CloudWatch::Alarm", "PortalIngestion", dataset_id)
    assert alarm["AlarmName"] == f"{synthesized.dataset_names(dataset_id).portal_ingest_function}-errors"
    assert alarm["MetricName"] == "Errors" and alarm["Namespace"] == "AWS/Lambda"
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    [action] = alarm["AlarmActions"]
    assert "AlertsTopic" in str(action)


def test_log_group_is_encrypted_and_retained_as_configured(synthesized, dataset_id):
    group = only(synthesized, "AWS::Logs::LogGroup", "PortalIngestion", dataset_id)
    assert (
        group["LogGroupName"] == f"/aws/lambda/{synthesized.dataset_names(dataset_id).portal_ingest_function}"
    )
    assert group["RetentionInDays"] == synthesized.config.log_retention_days
    assert "KmsKeyId" in group


def test_staged_downloads_expire_in_the_raw_bucket(synthesized):
    storage = synthesized.templates["Storage"]["Resources"]
    (raw,) = [r for k, r in storage.items() if k.startswith("Raw") and r["Type"] == "AWS::S3::Bucket"]
    rules = {r["Id"]: r for r in raw["Properties"]["LifecycleConfiguration"]["Rules"]}
    staged = rules["expire-staged-downloads"]
    # every dataset's staged downloads (incoming/<id>/) are under incoming/
    assert staged["Prefix"] == "incoming/" and staged["ExpirationInDays"] == 1
