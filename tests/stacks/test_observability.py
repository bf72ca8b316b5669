"""The observability promises, asserted per stage on the synthesized templates.

Every alarm and rule acts on the one alerts topic; every pipeline resource is watched by name; the
topic, key and trail grant services only what they need, under conditions; the trail records the
data buckets' object events into its own hardened bucket.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from dataset_etl import io

from stacks.components.log_retention import retention_days
from stacks.config import LOG_RETENTION_DAYS
from stacks.names import METRIC_NAMESPACE, PlatformNames

STACK = "Observability"


def only(synthesized, resource_type: str) -> tuple[str, dict[str, Any]]:
    resources = synthesized.resources(STACK, resource_type)
    assert len(resources) == 1, f"expected one {resource_type}, found {sorted(resources)}"
    return next(iter(resources.items()))


def topic_ref(synthesized) -> dict[str, str]:
    return {"Ref": only(synthesized, "AWS::SNS::Topic")[0]}


def storage_value(synthesized, value: Any) -> Any:
    """Follow a cross-stack ``Fn::GetStackOutput`` to the Storage resource it names (else ``value``)."""
    if not isinstance(value, dict) or "Fn::GetStackOutput" not in value:
        return value
    ref = value["Fn::GetStackOutput"]
    assert ref["StackName"] == synthesized.config.stack_name("storage")
    output = synthesized.templates["Storage"]["Outputs"][ref["OutputName"]]["Value"]
    logical_id = output["Ref"] if "Ref" in output else output["Fn::GetAtt"][0]
    resource = synthesized.templates["Storage"]["Resources"][logical_id]
    return resource["Type"], resource["Properties"].get("BucketName"), output


def storage_key_id(synthesized) -> str:
    (key_id,) = synthesized.resources("Storage", "AWS::KMS::Key")
    return key_id


def is_storage_key(synthesized, value: Any) -> bool:
    kind, _, output = storage_value(synthesized, value)
    return kind == "AWS::KMS::Key" and output == {"Fn::GetAtt": [storage_key_id(synthesized), "Arn"]}


def bucket_name_of(synthesized, value: Any) -> str:
    kind, name, _ = storage_value(synthesized, value)
    assert kind == "AWS::S3::Bucket"
    return name


def alarms(synthesized) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in synthesized.resources(STACK, "AWS::CloudWatch::Alarm").values()
    }


def dims(props: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in props["Dimensions"]}


def rules(synthesized) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["Name"]: r["Properties"]
        for r in synthesized.resources(STACK, "AWS::Events::Rule").values()
    }


# ---- alerts topic -----------------------------------------------------------------------------


def test_topic_is_named_encrypted_with_the_platform_key_and_mails_the_team(synthesized):
    config = synthesized.config
    _, topic = only(synthesized, "AWS::SNS::Topic")
    assert topic["Properties"]["TopicName"] == PlatformNames.of(config).alerts_topic
    assert is_storage_key(synthesized, topic["Properties"]["KmsMasterKeyId"])
    _, subscription = only(synthesized, "AWS::SNS::Subscription")
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == config.alarm_email
    assert subscription["Properties"]["TopicArn"] == topic_ref(synthesized)


def test_topic_policy_is_tls_only_and_admits_only_this_accounts_services(synthesized):
    _, policy = only(synthesized, "AWS::SNS::TopicPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows, "the services need an explicit grant"
    for statement in allows:
        assert statement["Principal"] != "*" and statement["Principal"].get("AWS") != "*"
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == synthesized.config.account
        assert statement["Action"] == "sns:Publish"
    services = {s for st in allows for s in st["Principal"]["Service"]}
    assert services == {"events.amazonaws.com", "cloudwatch.amazonaws.com"}


def key_statements(synthesized) -> list[dict[str, Any]]:
    key = synthesized.templates["Storage"]["Resources"][storage_key_id(synthesized)]
    return key["Properties"]["KeyPolicy"]["Statement"]


def test_key_lets_the_publishing_services_use_it(synthesized):
    """Alarms: only from this account. EventBridge: no source condition, which the SNS guide says KMS
    policies do not support for EventBridge-to-encrypted-topic delivery (test_service_principals cites it)."""
    statements = {s.get("Sid"): s for s in key_statements(synthesized)}
    alarms = statements["AllowCloudWatchAlarmsToPublishEncryptedAlerts"]
    assert alarms["Principal"]["Service"] == "cloudwatch.amazonaws.com"
    assert sorted(alarms["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": synthesized.config.account}}
    events = statements["AllowEventBridgeToPublishEncryptedAlerts"]
    assert events["Principal"]["Service"] == "events.amazonaws.com"
    assert sorted(events["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert "Condition" not in events


def test_storage_never_refers_to_observability(synthesized):
    """The key and access-log policies land in Storage: literals only, or the stacks form a cycle."""
    storage = json.dumps(synthesized.templates["Storage"])
    imported = re.findall(r'"Fn::GetStackOutput": \{"StackName": "([^"]+)"', storage)
    assert set(imported) <= {synthesized.config.stack_name("replica")}
    observability_ids = set(synthesized.templates[STACK]["Resources"])
    assert not any(f'"{logical_id}"' in storage for logical_id in observability_ids)


# ---- failure events ---------------------------------------------------------------------------

EXPECTED_RULES = {
    # rule suffix: (source, detail-type, name field, which PlatformNames, the rest of detail)
    "glue-job-failed": (
        "aws.glue",
        "Glue Job State Change",
        "jobName",
        "glue",
        {"state": ["FAILED", "TIMEOUT", "ERROR"]},
    ),
    "databrew-job-failed": (
        "aws.databrew",
        "DataBrew Job State Change",
        "jobName",
        "databrew",
        {"state": ["FAILED", "TIMEOUT"]},
    ),
    "crawler-failed": (
        "aws.glue",
        "Glue Crawler State Change",
        "crawlerName",
        "crawlers",
        {"state": ["Failed"]},
    ),
    "pipeline-execution-failed": (
        "aws.states",
        "Step Functions Execution Status Change",
        "stateMachineArn",
        "state machines",
        {"status": ["FAILED", "TIMED_OUT"]},  # not ABORTED: someone stopped it
    ),
    # Glue's delay notification: sent once per run that outlasts the job's NotifyDelayAfter, any state
    "glue-job-running-long": ("aws.glue", "Glue Job Run Status", "jobName", "glue", {}),
}
# what each alert says, around the resource's name
EXPECTED_MESSAGES = {
    "glue-job-failed": "run <detail-jobRunId> ended <detail-state>: <detail-message>",
    "databrew-job-failed": "run <detail-jobRunId> ended <detail-state>: <detail-message>",
    "crawler-failed": "failed: <detail-errorMessage>",
    "pipeline-execution-failed": "Pipeline execution <detail-name> of <detail-stateMachineArn> ended "
    "<detail-status>; its error and cause: aws stepfunctions describe-execution --execution-arn "
    "<detail-executionArn>",
    "glue-job-running-long": "run <detail-jobRunId> has run longer than "
    "<detail-notificationCondition-NotifyDelayAfter> minutes (started <detail-startedOn>): <detail-message>",
}


def watched(names: PlatformNames, kind: str) -> list[str]:
    """Every dataset's resources of a kind: one shared rule per kind watches them all."""
    return {
        "glue": list(names.glue_jobs),
        "databrew": list(names.databrew_jobs),
        "crawlers": list(names.crawlers),
        "state machines": [d.state_machine_arn for d in names.datasets],
    }[kind]


@pytest.mark.parametrize("suffix", sorted(EXPECTED_RULES))
def test_failure_rule_matches_the_pipelines_resources_by_name(synthesized, suffix):
    config = synthesized.config
    names = PlatformNames.of(config)
    source, detail_type, name_field, kind, detail = EXPECTED_RULES[suffix]
    rule = rules(synthesized)[f"{config.resource_prefix}-{suffix}"]
    assert rule["State"] == "ENABLED"
    assert rule["EventPattern"] == {
        "source": [source],
        "detail-type": [detail_type],
        "detail": {name_field: watched(names, kind), **detail},
    }


@pytest.mark.parametrize("suffix", sorted(EXPECTED_RULES))
def test_failure_rule_sends_a_readable_message_to_the_topic(synthesized, suffix):
    config = synthesized.config
    name_field = EXPECTED_RULES[suffix][2]
    (target,) = rules(synthesized)[f"{config.resource_prefix}-{suffix}"]["Targets"]
    assert target["Arn"] == topic_ref(synthesized)
    assert "RoleArn" not in target  # EventBridge publishes as its service principal (topic policy)
    transformer = target["InputTransformer"]
    paths = transformer["InputPathsMap"]
    assert paths[f"detail-{name_field}"] == f"$.detail.{name_field}"
    template = json.loads(transformer["InputTemplate"])  # a quoted string: SNS mails plain text
    assert f"<detail-{name_field}>" in template
    assert EXPECTED_MESSAGES[suffix] in template
    for variable in re.findall(r"<([^>]+)>", template):  # every placeholder is filled from the event
        assert variable in paths, variable


# ---- alarms -----------------------------------------------------------------------------------


def test_every_alarm_is_prefixed_and_alerts_the_topic(synthesized):
    config = synthesized.config
    found = alarms(synthesized)
    # shared: Glue failures, execution failures, Glue runtime, raw and curated size, Athena bytes, access
    # denied; per dataset: freshness, rejected rows
    assert len(found) == 7 + 2 * len(config.datasets)
    for name, props in found.items():
        assert name.startswith(f"{config.resource_prefix}-"), name
        assert props["AlarmActions"] == [topic_ref(synthesized)], name
        assert props.get("OKActions", [topic_ref(synthesized)]) == [topic_ref(synthesized)], name
        assert props.get("InsufficientDataActions") is None, name


def test_every_glue_job_sends_glues_delay_notification_at_the_configured_minutes(synthesized):
    """The running-long rule only hears from jobs that have NotifyDelayAfter."""
    config = synthesized.config
    jobs = {
        r["Properties"]["Name"]: r["Properties"]
        for r in synthesized.resources("Pipeline", "AWS::Glue::Job").values()
    }
    assert sorted(jobs) == sorted(PlatformNames.of(config).glue_jobs)
    for name, job in jobs.items():
        assert job["NotificationProperty"] == {"NotifyDelayAfter": config.alarms.glue_job_max_minutes}, name
        assert config.alarms.glue_job_max_minutes < job["Timeout"], name  # a warning before the timeout
        assert "--enable-metrics" in job["DefaultArguments"], name  # the dashboard's elapsed time


def test_access_denied_on_the_data_buckets_is_counted_from_the_trail_and_alarmed(synthesized):
    config = synthesized.config
    props = alarms(synthesized)[f"{config.resource_prefix}-data-bucket-access-denied"]
    assert (props["Namespace"], props["MetricName"], props["Statistic"]) == (
        "VancouverDAP",
        "S3AccessDenied",
        "Sum",
    )
    assert (props["Period"], props["Threshold"]) == (300, config.alarms.access_denied_per_5_minutes)
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    (metric_filter,) = synthesized.resources(STACK, "AWS::Logs::MetricFilter").values()
    pattern = "".join(
        part if isinstance(part, str) else bucket_name_of(synthesized, part)
        for part in metric_filter["Properties"]["FilterPattern"]["Fn::Join"][1]
    )
    assert '($.eventSource = "s3.amazonaws.com")' in pattern and '($.errorCode = "AccessDenied")' in pattern
    for purpose in ("raw", "transformed", "curated"):
        assert f'($.requestParameters.bucketName = "{config.bucket_name(purpose)}")' in pattern
    (transformation,) = metric_filter["Properties"]["MetricTransformations"]
    assert transformation == {
        "MetricName": "S3AccessDenied",
        "MetricNamespace": "VancouverDAP",
        "MetricValue": "1",
        "DefaultValue": 0,
    }
    trail_groups = synthesized.resources(STACK, "AWS::Logs::LogGroup")
    assert metric_filter["Properties"]["LogGroupName"]["Ref"] in trail_groups


RULE_ALARMS = {
    # alarm slug: (rule suffix, what the description says)
    "glue-job-failures": ("glue-job-failed", "failed, timed out or errored"),
    "pipeline-executions-failed": ("pipeline-execution-failed", "execution failed or timed out"),
    "glue-job-runtime": ("glue-job-running-long", "longer than {minutes} minutes"),
}


@pytest.mark.parametrize("slug", sorted(RULE_ALARMS))
def test_shared_alarm_counts_its_rules_matches_at_the_first_one(synthesized, slug):
    config = synthesized.config
    suffix, says = RULE_ALARMS[slug]
    props = alarms(synthesized)[f"{config.resource_prefix}-{slug}"]
    assert (props["Namespace"], props["MetricName"], props["Statistic"]) == (
        "AWS/Events",
        "TriggeredRules",
        "Sum",
    )
    (rule_id,) = [
        logical_id
        for logical_id, r in synthesized.resources(STACK, "AWS::Events::Rule").items()
        if r["Properties"]["Name"] == f"{config.resource_prefix}-{suffix}"
    ]
    assert dims(props) == {"RuleName": {"Ref": rule_id}}
    assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert (props["Period"], props["EvaluationPeriods"]) == (300, 1)
    assert props["TreatMissingData"] == "notBreaching"
    assert props["AlarmActions"] == [topic_ref(synthesized)]
    parts = props["AlarmDescription"]["Fn::Join"][1]
    assert parts[1] == {"Ref": rule_id}
    assert says.format(minutes=config.alarms.glue_job_max_minutes) in parts[0]


def test_a_dataset_adds_only_its_freshness_and_quality_alarms(synthesize):
    """Failures and overlong runs of every dataset share one rule and one alarm each (CloudWatch bills
    per alarm metric-month): a second dataset adds its two metric alarms and nothing else."""
    both = synthesize("dev")
    one = synthesize("dev", datasets=[{"id": "business_licences"}])
    (second,) = [d for d in both.names.datasets if d.dataset_id != "business_licences"]
    assert len(one.config.datasets) == 1
    added = sorted(set(alarms(both)) - set(alarms(one)))
    assert added == [f"{second.base}-dq-failed-row-rate", f"{second.base}-pipeline-freshness"]
    assert set(alarms(one)) <= set(alarms(both))
    assert sorted(rules(both)) == sorted(rules(one))  # the rules grow their patterns, not in number


def test_raw_bucket_size_sums_standard_and_infrequent_access(synthesized):
    config = synthesized.config
    props = alarms(synthesized)[f"{config.resource_prefix}-raw-bucket-size"]
    assert props["Threshold"] == config.alarms.raw_bucket_max_bytes
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    assert props["OKActions"] == [topic_ref(synthesized)]
    (expression,) = [m for m in props["Metrics"] if "Expression" in m]
    assert expression["ReturnData"] is True
    assert expression["Expression"] == "FILL(standard, 0) + FILL(infrequent, 0)"
    storage_types = {}
    for m in props["Metrics"]:
        if "MetricStat" not in m:
            continue
        stat = m["MetricStat"]
        assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) == ("AWS/S3", "BucketSizeBytes")
        assert stat["Period"] == 86400
        metric_dims = dims(stat["Metric"])
        assert bucket_name_of(synthesized, metric_dims["BucketName"]) == config.bucket_name("raw")
        storage_types[m["Id"]] = metric_dims["StorageType"]
    assert storage_types == {"standard": "StandardStorage", "infrequent": "StandardIAStorage"}


def test_curated_bucket_size_alarm(synthesized):
    config = synthesized.config
    props = alarms(synthesized)[f"{config.resource_prefix}-curated-bucket-size"]
    assert (props["Namespace"], props["MetricName"]) == ("AWS/S3", "BucketSizeBytes")
    assert bucket_name_of(synthesized, dims(props)["BucketName"]) == config.bucket_name("curated")
    assert dims(props)["StorageType"] == "StandardStorage"
    assert (props["Period"], props["Threshold"]) == (86400, config.alarms.curated_bucket_max_bytes)
    assert props["ComparisonOperator"] == "GreaterThanThreshold"


def test_freshness_alarm_breaches_when_no_run_of_the_dataset_succeeded(synthesized, dataset_id):
    config = synthesized.config
    dataset = PlatformNames.of(config).dataset(dataset_id)
    props = alarms(synthesized)[f"{dataset.base}-pipeline-freshness"]
    assert (props["Namespace"], props["MetricName"], props["Statistic"]) == (
        "AWS/States",
        "ExecutionsSucceeded",
        "Sum",
    )
    assert dims(props) == {"StateMachineArn": dataset.state_machine_arn}
    assert props["Period"] == config.alarms.pipeline_freshness_days * 86400
    assert props["Period"] * props["EvaluationPeriods"] <= 7 * 86400  # CloudWatch's longest look-back
    assert (props["ComparisonOperator"], props["Threshold"]) == ("LessThanThreshold", 1)
    assert props["TreatMissingData"] == "breaching"
    assert props["OKActions"] == [topic_ref(synthesized)]


def test_athena_daily_scan_alarm(synthesized):
    config = synthesized.config
    props = alarms(synthesized)[f"{config.resource_prefix}-athena-daily-bytes-scanned"]
    assert (props["Namespace"], props["MetricName"], props["Statistic"]) == (
        "AWS/Athena",
        "ProcessedBytes",
        "Sum",
    )
    assert dims(props) == {"WorkGroup": PlatformNames.of(config).workgroup}
    assert (props["Period"], props["Threshold"]) == (86400, config.alarms.athena_daily_bytes_scanned)
    assert props["ComparisonOperator"] == "GreaterThanThreshold"


def test_data_quality_alarm_reads_the_datasets_quality_metric(synthesized, dataset_id):
    config = synthesized.config
    names = PlatformNames.of(config)
    props = alarms(synthesized)[f"{names.dataset(dataset_id).base}-dq-failed-row-rate"]
    assert (props["Namespace"], props["MetricName"]) == (METRIC_NAMESPACE, "FailedRowRate")
    assert dims(props) == {"Pipeline": names.metrics_pipeline, "Dataset": dataset_id}
    assert props["AlarmActions"] == [topic_ref(synthesized)]
    assert props["Threshold"] == config.alarms.dq_failed_row_rate
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    assert props["TreatMissingData"] == "notBreaching"  # no run, no verdict: freshness covers that
    # what the dataset's quality job publishes (its --metrics_pipeline through dataset_etl.io) is what
    # the alarm selects: exactly these dimensions, or the alarm never sees a data point
    (job,) = [
        r["Properties"]
        for r in synthesized.resources("Pipeline", "AWS::Glue::Job").values()
        if r["Properties"]["Name"] == names.dataset(dataset_id).quality_job
    ]
    args = job["DefaultArguments"]
    published = io.metric_data(args["--metrics_pipeline"], args["--dataset"], 10, 8, 2)
    (rate,) = [m for m in published if m["MetricName"] == "FailedRowRate"]
    assert {d["Name"]: d["Value"] for d in rate["Dimensions"]} == dims(props)


# ---- dashboard --------------------------------------------------------------------------------


def dashboard_body(synthesized) -> str:
    _, dashboard = only(synthesized, "AWS::CloudWatch::Dashboard")
    assert dashboard["Properties"]["DashboardName"] == f"{synthesized.config.resource_prefix}-pipeline"
    body = dashboard["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return "".join(p if isinstance(p, str) else json.dumps(p) for p in parts)


def test_dashboard_shows_runs_jobs_buckets_quality_and_athena(synthesized):
    names = PlatformNames.of(synthesized.config)
    machines = [d.state_machine_arn for d in names.datasets]
    body = dashboard_body(synthesized)
    for metric in (
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionTime",
        "glue.driver.aggregate.elapsedTime",
        "BucketSizeBytes",
        "NumberOfObjects",
        "AllStorageTypes",
        "StandardIAStorage",
        "FailedRowRate",
        "RowsIn",
        "RowsPassed",
        "ProcessedBytes",
    ):
        assert f'"{metric}"' in body, metric
    assert "1 - failed_rate" in body
    for name in (*names.glue_jobs, *machines, names.workgroup, METRIC_NAMESPACE):
        assert name in body, name
    assert body.count('"JobRunId","ALL","Type","count"') == len(names.glue_jobs)
    for dataset in names.datasets:  # the row metrics of each dataset, by its Dataset dimension
        assert f'"Dataset","{dataset.dataset_id}"' in body, dataset.dataset_id


# ---- audit trail ------------------------------------------------------------------------------


def test_trail_is_multi_region_validated_encrypted_and_logged(synthesized):
    config = synthesized.config
    _, trail = only(synthesized, "AWS::CloudTrail::Trail")
    props = trail["Properties"]
    assert props["TrailName"] == f"{config.resource_prefix}-audit"
    assert props["IsLogging"] is True
    assert props["EnableLogFileValidation"] is True
    assert props["IsMultiRegionTrail"] is True
    assert props["IncludeGlobalServiceEvents"] is True
    assert is_storage_key(synthesized, props["KMSKeyId"])
    assert "EventSelectors" not in props  # basic and advanced selectors are mutually exclusive
    log_group_id, _ = only(synthesized, "AWS::Logs::LogGroup")
    assert props["CloudWatchLogsLogGroupArn"] == {"Fn::GetAtt": [log_group_id, "Arn"]}
    bucket_id, _ = only(synthesized, "AWS::S3::Bucket")
    assert props["S3BucketName"] == {"Ref": bucket_id}


def test_trail_records_management_events_and_the_data_buckets_object_events(synthesized):
    config = synthesized.config
    _, trail = only(synthesized, "AWS::CloudTrail::Trail")
    selectors = {s["Name"]: s["FieldSelectors"] for s in trail["Properties"]["AdvancedEventSelectors"]}
    management = [s for s in selectors.values() if {"Field": "eventCategory", "Equals": ["Management"]} in s]
    assert management == [[{"Field": "eventCategory", "Equals": ["Management"]}]]  # read and write
    (data,) = [s for s in selectors.values() if {"Field": "eventCategory", "Equals": ["Data"]} in s]
    assert {"Field": "resources.type", "Equals": ["AWS::S3::Object"]} in data
    (arns,) = [f["StartsWith"] for f in data if f["Field"] == "resources.ARN"]
    prefixes = []
    for arn in arns:
        head, slash = arn["Fn::Join"][1]
        assert slash == "/"
        kind, name, _ = storage_value(synthesized, head)
        assert kind == "AWS::S3::Bucket"
        prefixes.append(name)
    assert prefixes == [config.bucket_name(p) for p in ("raw", "transformed", "curated")]


def test_trail_log_group_is_encrypted_and_retained_per_config(synthesized):
    config = synthesized.config
    _, group = only(synthesized, "AWS::Logs::LogGroup")
    assert group["Properties"]["RetentionInDays"] == config.log_retention_days
    assert is_storage_key(synthesized, group["Properties"]["KmsKeyId"])
    name = group["Properties"]["LogGroupName"]
    (statement,) = [
        s for s in key_statements(synthesized) if s.get("Sid") == "AllowCloudWatchLogsForTheAuditLogGroup"
    ]
    assert statement["Principal"] == {"Service": f"logs.{config.primary_region}.amazonaws.com"}
    assert statement["Condition"] == {
        "ArnEquals": {
            "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{config.primary_region}:{config.account}:log-group:{name}"
        }
    }


def test_cloudtrail_may_use_the_key_and_bucket_only_for_this_trail(synthesized):
    config = synthesized.config
    trail_arn = (
        f"arn:aws:cloudtrail:{config.primary_region}:{config.account}:trail/{config.resource_prefix}-audit"
    )
    cloudtrail = [
        s for s in key_statements(synthesized) if s["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    ]
    assert cloudtrail
    for statement in cloudtrail:
        assert statement["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn
    (encrypt,) = [s for s in cloudtrail if s["Action"] == "kms:GenerateDataKey*"]
    assert encrypt["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{config.account}:trail/*"
    }
    _, policy = only(synthesized, "AWS::S3::BucketPolicy")
    grants = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert {s["Action"] for s in grants} == {"s3:GetBucketAcl", "s3:PutObject"}
    for statement in grants:
        assert statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
        assert statement["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn
    _, role = only(synthesized, "AWS::IAM::Role")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}


def test_trail_bucket_is_hardened(synthesized):
    config = synthesized.config
    bucket_id, bucket = only(synthesized, "AWS::S3::Bucket")
    props = bucket["Properties"]
    assert props["BucketName"] == config.bucket_name("cloudtrail")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert is_storage_key(synthesized, rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])
    days = config.storage.noncurrent_version_retention_days
    assert {"NoncurrentDays": days} in [
        r.get("NoncurrentVersionExpiration") for r in props["LifecycleConfiguration"]["Rules"]
    ]
    logging = props["LoggingConfiguration"]
    assert bucket_name_of(synthesized, logging["DestinationBucketName"]) == config.bucket_name("access-logs")
    assert logging["LogFilePrefix"] == "cloudtrail/"
    _, policy = only(synthesized, "AWS::S3::BucketPolicy")
    assert policy["Properties"]["Bucket"] == {"Ref": bucket_id}
    conditions = [
        s["Condition"] for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
    ]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions
    assert bucket["DeletionPolicy"] == "Retain"


def test_access_log_grant_for_the_trail_bucket_is_conditioned(synthesized):
    config = synthesized.config
    statements = [
        s
        for p in synthesized.resources("Storage", "AWS::S3::BucketPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]
    assert statements and all("Condition" in s for s in statements)
    (trail_bucket,) = [s for s in statements if s.get("Sid") == "AllowCloudTrailBucketAccessLogs"]
    assert trail_bucket["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{config.bucket_name('cloudtrail')}"},
        "StringEquals": {"aws:SourceAccount": config.account},
    }


def test_dev_may_destroy_the_trail_bucket_only_when_allowed(synthesize):
    destroyable = synthesize("dev", allow_destroy=True)
    (bucket,) = destroyable.resources(STACK, "AWS::S3::Bucket").values()
    assert bucket["DeletionPolicy"] == "Delete"
    assert destroyable.resources(STACK, "Custom::S3AutoDeleteObjects")


@pytest.mark.parametrize("days", LOG_RETENTION_DAYS)
def test_every_allowed_log_retention_maps_to_cdk(days):
    assert retention_days(days) is not None


def test_an_unknown_log_retention_is_refused():
    with pytest.raises(ValueError, match="not a CloudWatch Logs retention"):
        retention_days(2)
