"""Every EventBridge rule's pattern against the sample events AWS documents for it.

Why: EventBridge accepts any well-formed pattern at deploy time. A state spelled the wrong way
("FAILED" for a crawler, which says "Failed"), a field name or a prefix that is one slash off deploys
cleanly and then never fires, and an input transformer that reads a path the event does not carry
renders as nothing in the alert. So the patterns are checked against AWS's own samples
(``tests/stacks/events``, one file per sample with its documentation page), with our resource names
put into the documented fields: each rule must match the failure (or upload) it exists for and ignore
the success, another job's failure, another prefix or bucket.

The matcher is moto 5.2.5's EventBridge engine, ``moto.events.models.EventPattern`` (what its
``put_events`` routes with), and the alert text is rendered by its ``EventTemplateParser``. moto's
``TestEventPattern`` API is not implemented in 5.2.5 (the backend raises ``NotImplementedError``), and
its SQS and log-group targets break on a text ``InputTemplate`` (they look up ``event["time"]`` in the
rendered string), so the rule is matched and rendered through those classes directly.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonpath_ng.ext import parse as jsonpath
from moto.events.models import EventPattern
from moto.events.utils import EventTemplateParser

EVENTS_DIR = Path(__file__).parent / "events"


def sample(name: str) -> dict[str, Any]:
    """A documented sample event, without our ``_source``/``_transcribed_from`` annotations."""
    raw = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return {key: value for key, value in raw.items() if not key.startswith("_")}


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return EventPattern.load(json.dumps(pattern)).matches_event(event)


@dataclass(frozen=True)
class FailureKind:
    """One kind of failure rule: which documented events it must match, and which it must ignore."""

    source: str
    detail_type: str
    name_field: str  # the detail field naming our resource
    resource_type: str  # the Pipeline stack resources the rule watches
    reason_field: str  # the detail field that says why; the alert must carry it
    failures: tuple[str, ...]
    non_failures: tuple[str, ...]
    name_property: str = "Name"  # the resource property holding its name
    field_format: str = "{name}"  # how the event's name field spells it ({region} and {account} too)

    def field(self, name: str, synth) -> str:
        """What AWS puts in ``name_field`` for our resource ``name``."""
        config = synth.config
        return self.field_format.format(name=name, region=config.primary_region, account=config.account)


FAILURE_KINDS = {
    "Glue job": FailureKind(
        "aws.glue",
        "Glue Job State Change",
        "jobName",
        "AWS::Glue::Job",
        "message",
        failures=("glue_job_failed", "glue_job_timeout"),
        non_failures=("glue_job_succeeded", "glue_job_stopped"),
    ),
    "Glue job running long": FailureKind(  # Glue's delay notification (the job's NotifyDelayAfter)
        "aws.glue",
        "Glue Job Run Status",
        "jobName",
        "AWS::Glue::Job",
        "message",
        failures=(
            "glue_job_run_status_starting",
            "glue_job_run_status_running",
            "glue_job_run_status_stopping",
        ),
        non_failures=("glue_job_succeeded", "glue_job_failed"),  # the state changes are the Glue job rule's
    ),
    "State machine": FailureKind(
        "aws.states",
        "Step Functions Execution Status Change",
        "stateMachineArn",
        "AWS::StepFunctions::StateMachine",
        "status",  # the documented samples carry no error or cause
        failures=("step_functions_execution_failed", "step_functions_execution_timed_out"),
        non_failures=("step_functions_execution_succeeded", "step_functions_execution_aborted"),
        name_property="StateMachineName",
        field_format="arn:aws:states:{region}:{account}:stateMachine:{name}",
    ),
    "DataBrew job": FailureKind(
        "aws.databrew",
        "DataBrew Job State Change",
        "jobName",
        "AWS::DataBrew::Job",
        "message",
        failures=("databrew_job_failed", "databrew_job_timeout"),
        non_failures=("databrew_job_succeeded",),
    ),
    "Glue crawler": FailureKind(
        "aws.glue",
        "Glue Crawler State Change",
        "crawlerName",
        "AWS::Glue::Crawler",
        "errorMessage",
        failures=("glue_crawler_failed",),
        non_failures=("glue_crawler_succeeded",),
    ),
}
TRIGGER = ("aws.s3", "Object Created")

# The JSON path syntax EventBridge's input transformer supports ("dot notation, dashes, underscores,
# alphanumeric characters, array indices, wildcards, forward slashes") and its reserved variable names:
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
SUPPORTED_INPUT_PATH = re.compile(r"\$(\.(\*|[A-Za-z0-9_/-]+)|\[(\*|[0-9]+)\])*")
RESERVED_VARIABLE_PREFIX = "aws.events."


def kind_of(pattern: dict[str, Any]) -> str | None:
    key = (tuple(pattern.get("source", ())), tuple(pattern.get("detail-type", ())))
    for name, kind in FAILURE_KINDS.items():
        if key == ((kind.source,), (kind.detail_type,)):
            return name
    return "trigger" if key == ((TRIGGER[0],), (TRIGGER[1],)) else None


def event_rules(synth) -> dict[str, dict[str, Any]]:
    """``"Stack/LogicalId"`` → properties of every rule with an event pattern (schedules have none)."""
    return {
        f"{stack}/{logical_id}": resource["Properties"]
        for stack in synth.templates
        for logical_id, resource in synth.resources(stack, "AWS::Events::Rule").items()
        if "EventPattern" in resource["Properties"]
    }


def rules_of_kind(synth, kind: str) -> dict[str, dict[str, Any]]:
    found = {
        rule_id: props
        for rule_id, props in event_rules(synth).items()
        if kind_of(props["EventPattern"]) == kind
    }
    assert found, f"no EventBridge rule for {kind} events in any stack"
    for rule_id, props in found.items():  # names are plain strings today (PlatformNames, bucket names)
        tokens = re.findall(r'"(Ref|Fn::[A-Za-z]+)"', json.dumps(props["EventPattern"]))
        assert not tokens, f"{rule_id}: pattern holds CloudFormation tokens {tokens}; resolve them here first"
    return found


def resource_names(synth, kind: FailureKind) -> list[str]:
    """The names the pipeline really gives its resources, as AWS puts them in the events."""
    resources = synth.resources("Pipeline", kind.resource_type).values()
    names = [r["Properties"][kind.name_property] for r in resources]
    assert names and all(isinstance(n, str) for n in names), f"Pipeline {kind.resource_type} names: {names}"
    return sorted(kind.field(name, synth) for name in names)


def in_our_account(event: dict[str, Any], synth) -> dict[str, Any]:
    event = copy.deepcopy(event)
    event["account"], event["region"] = synth.config.account, synth.config.primary_region
    return event


def named(fixture: str, kind: FailureKind, name: str, synth) -> dict[str, Any]:
    event = in_our_account(sample(fixture), synth)
    event["detail"][kind.name_field] = name
    return event


def s3_event(fixture: str, bucket: str, key: str, synth) -> dict[str, Any]:
    event = in_our_account(sample(fixture), synth)
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"]["key"] = key
    return event


# --------------------------------------------------------------------------- the checks


def failure_rule_problems(
    rule_id: str,
    pattern: dict[str, Any],
    kind: FailureKind,
    watched: Iterable[str],
    others: Iterable[str],
    synth,
) -> list[str]:
    """Each watched resource's documented failure matches; successes and other resources' do not."""
    problems = []
    for name in watched:
        for fixture in kind.failures:
            if not matches(pattern, named(fixture, kind, name, synth)):
                problems.append(f"{rule_id}: misses AWS's documented {fixture} event for {name!r}")
        for fixture in kind.non_failures:
            if matches(pattern, named(fixture, kind, name, synth)):
                problems.append(f"{rule_id}: alerts on AWS's documented {fixture} event for {name!r}")
    for name in others:
        for fixture in kind.failures:
            if matches(pattern, named(fixture, kind, name, synth)):
                problems.append(f"{rule_id}: alerts on {fixture} of {name!r}, not a pipeline resource")
    return problems


def transformer_problems(rule_id: str, targets: list[dict[str, Any]], kind: FailureKind) -> list[str]:
    """Every path the alert reads exists in the documented failures, and the alert says why it failed."""
    problems = []
    for target in targets:
        transformer = target.get("InputTransformer")
        if transformer is None:
            problems.append(f"{rule_id} target {target['Id']}: no InputTransformer (the alert is raw JSON)")
            continue
        paths = transformer["InputPathsMap"]
        for variable, path in paths.items():
            if not SUPPORTED_INPUT_PATH.fullmatch(path):
                problems.append(
                    f"{rule_id} target {target['Id']}: <{variable}> reads {path}, outside the JSON path "
                    "syntax EventBridge's input transformer supports"
                )
            if variable.startswith(RESERVED_VARIABLE_PREFIX):
                problems.append(f"{rule_id} target {target['Id']}: <{variable}> is a reserved variable name")
        for fixture in kind.failures:
            event = sample(fixture)
            for variable, path in paths.items():
                if not jsonpath(path).find(event):
                    problems.append(
                        f"{rule_id} target {target['Id']}: <{variable}> reads {path}, absent from AWS's "
                        f"documented {fixture} event, so the alert shows nothing there"
                    )
            rendered = EventTemplateParser.parse(
                transformer["InputTemplate"], paths, {**event, "ingestion-time": 0}
            )
            reason = event["detail"][kind.reason_field]
            if reason not in str(rendered):
                problems.append(
                    f"{rule_id} target {target['Id']}: the alert for {fixture} does not carry "
                    f"detail.{kind.reason_field} ({reason!r}); it renders {rendered!r}"
                )
    return problems


def trigger_problems(
    rule_id: str, pattern: dict[str, Any], bucket: str, prefix: str, other_bucket: str, synth
) -> list[str]:
    """An upload as ``dap ingest`` makes it starts the dataset's pipeline; nothing else in S3 does (not an
    upload of another dataset)."""
    key = prefix.rstrip("/") + "/business-licences.csv"  # dap.operations.ingest: RawPrefix + file name
    problems = []
    if not matches(pattern, s3_event("s3_object_created", bucket, key, synth)):
        problems.append(f"{rule_id}: misses AWS's documented Object Created event for s3://{bucket}/{key}")
    ignored = {
        "the documented sample as is": sample("s3_object_created"),
        f"an object created in {other_bucket} under the raw prefix": s3_event(
            "s3_object_created", other_bucket, key, synth
        ),
        "an object created elsewhere in the raw bucket": s3_event(
            "s3_object_created", bucket, "profiles/business_licences/profile.json", synth
        ),
        "a key that only begins like the raw prefix": s3_event(
            "s3_object_created", bucket, prefix.rstrip("/") + "_old/business-licences.csv", synth
        ),
        "an upload of another dataset": s3_event(
            "s3_object_created", bucket, "raw/another_dataset/x.csv", synth
        ),
        "AWS's documented Object Deleted event under the raw prefix": s3_event(
            "s3_object_deleted", bucket, key, synth
        ),
    }
    for what, event in ignored.items():
        if matches(pattern, event):
            where = f"s3://{event['detail']['bucket']['name']}/{event['detail']['object']['key']}"
            problems.append(f"{rule_id}: starts the pipeline on {what} ({event['detail-type']} {where})")
    return problems


def eventbridge_bucket_problems(storage: dict[str, Any], bucket: str) -> list[str]:
    """S3 sends a bucket's events to EventBridge only when EventBridge delivery is on for it."""
    found = [
        r
        for r in storage["Resources"].values()
        if r["Type"] == "AWS::S3::Bucket" and r["Properties"].get("BucketName") == bucket
    ]
    if not found:
        return [f"Storage: no bucket named {bucket}"]
    config = found[0]["Properties"].get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {})
    if config.get("EventBridgeEnabled") is not True:
        return [
            f"Storage bucket {bucket}: EventBridge delivery is off, so no Object Created event ever reaches the rule"
        ]
    return []


def raw_upload_target(synth, dataset_id: str = "business_licences") -> tuple[str, str]:
    """The bucket and prefix ``dap ingest --dataset`` uploads to: the Storage output RawBucketName and
    the Pipeline output ``<Dataset>RawPrefix``."""
    storage = synth.templates["Storage"]
    bucket_ref = storage["Outputs"]["RawBucketName"]["Value"]["Ref"]
    prefix = synth.templates["Pipeline"]["Outputs"][synth.dataset_names(dataset_id).output("RawPrefix")]
    return storage["Resources"][bucket_ref]["Properties"]["BucketName"], prefix["Value"]


def trigger_dataset(synth, props: dict[str, Any]) -> str:
    """The dataset whose state machine a trigger rule starts (its target), not what its pattern says."""
    machines = synth.resources("Pipeline", "AWS::StepFunctions::StateMachine")
    ((target,),) = [[t["Arn"]["Ref"] for t in props["Targets"]]]
    name = machines[target]["Properties"]["StateMachineName"]
    (dataset,) = [d.dataset_id for d in synth.names.datasets if d.state_machine == name]
    return dataset


# --------------------------------------------------------------------------- the platform's rules


def test_every_event_rule_has_documented_samples(synthesized):
    kinds = {rule_id: kind_of(props["EventPattern"]) for rule_id, props in event_rules(synthesized).items()}
    unknown = sorted(rule_id for rule_id, kind in kinds.items() if kind is None)
    assert not unknown, f"rules matching events with no documented sample in tests/stacks/events: {unknown}"
    # one failure rule per kind (shared by every dataset), one trigger per dataset
    triggers = ["trigger"] * len(synthesized.config.datasets)
    assert sorted(kinds.values()) == sorted([*FAILURE_KINDS, *triggers])


@pytest.mark.parametrize("kind_name", FAILURE_KINDS)
def test_failure_rule_matches_documented_failures_of_each_pipeline_resource_only(synthesized, kind_name):
    kind = FAILURE_KINDS[kind_name]
    watched = resource_names(synthesized, kind)
    others = [
        sample(kind.failures[0])["detail"][kind.name_field],  # the documentation's own name
        kind.field(f"{synthesized.config.resource_prefix}-unrelated", synthesized),  # our prefix, not ours
        *(f"{name}-copy" for name in watched),  # our name as a prefix only
    ]
    problems = [
        problem
        for rule_id, props in rules_of_kind(synthesized, kind_name).items()
        for problem in failure_rule_problems(
            rule_id, props["EventPattern"], kind, watched, others, synthesized
        )
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind_name", FAILURE_KINDS)
def test_failure_alert_reads_only_fields_of_the_documented_failure(synthesized, kind_name):
    problems = [
        problem
        for rule_id, props in rules_of_kind(synthesized, kind_name).items()
        for problem in transformer_problems(rule_id, props["Targets"], FAILURE_KINDS[kind_name])
    ]
    assert not problems, "\n".join(problems)


def test_pipeline_starts_on_an_upload_to_the_raw_prefix_only(synthesized):
    other = synthesized.config.bucket_name("transformed")
    triggers = rules_of_kind(synthesized, "trigger")
    by_dataset = {rule_id: trigger_dataset(synthesized, props) for rule_id, props in triggers.items()}
    assert sorted(by_dataset.values()) == sorted(synthesized.config.dataset_ids)  # one trigger each
    problems = []
    for rule_id, props in triggers.items():
        bucket, prefix = raw_upload_target(synthesized, by_dataset[rule_id])
        problems += trigger_problems(rule_id, props["EventPattern"], bucket, prefix, other, synthesized)
        for dataset_id in synthesized.config.dataset_ids:  # another dataset's upload starts its own run only
            if dataset_id != by_dataset[rule_id]:
                _, elsewhere = raw_upload_target(synthesized, dataset_id)
                if matches(
                    props["EventPattern"],
                    s3_event("s3_object_created", bucket, elsewhere + "x.csv", synthesized),
                ):
                    problems.append(f"{rule_id}: starts {by_dataset[rule_id]} on an upload of {dataset_id}")
    assert not problems, "\n".join(problems)


def test_raw_bucket_sends_its_events_to_eventbridge(synthesized):
    bucket, _ = raw_upload_target(synthesized)
    problems = eventbridge_bucket_problems(synthesized.templates["Storage"], bucket)
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- each check catches a planted defect


def _rule(synth, kind: str) -> tuple[str, dict[str, Any]]:
    rules = rules_of_kind(synth, kind)
    if kind == "trigger":  # the business licences' trigger, whose prefix raw_upload_target() names
        rules = {k: v for k, v in rules.items() if trigger_dataset(synth, v) == "business_licences"}
    rule_id, props = next(iter(rules.items()))
    return rule_id, copy.deepcopy(props)


PLANTED_FAILURE_PATTERNS = {
    "Glue job state in the crawlers' spelling": (
        "Glue job",
        ("detail", "state"),
        ["Failed", "Timeout"],
        "misses",
    ),
    "crawler state in the jobs' spelling": ("Glue crawler", ("detail", "state"), ["FAILED"], "misses"),
    "success alerted too": (
        "DataBrew job",
        ("detail", "state"),
        ["FAILED", "TIMEOUT", "SUCCEEDED"],
        "alerts on",
    ),
    "job names by prefix": (
        "Glue job",
        ("detail", "jobName"),
        [{"prefix": "vdap-"}],
        "not a pipeline resource",
    ),
    "wrong detail field": ("Glue crawler", ("detail",), {"jobName": ["x"], "state": ["Failed"]}, "misses"),
    "wrong detail-type": ("Glue job", ("detail-type",), ["Glue Job Run Status"], "misses"),
    "execution ABORTED alerted too": (
        "State machine",
        ("detail", "status"),
        ["FAILED", "TIMED_OUT", "ABORTED"],
        "alerts on",
    ),
    "execution timeout in Glue's spelling": (
        "State machine",
        ("detail", "status"),
        ["FAILED", "TIMEOUT"],
        "misses",
    ),
    "state machine by name, not ARN": (
        "State machine",
        ("detail", "stateMachineArn"),
        ["vdap-dev-business-licences-pipeline"],
        "misses",
    ),
    "running long on state changes": (
        "Glue job running long",
        ("detail-type",),
        ["Glue Job State Change"],
        "misses",
    ),
    "running long only while RUNNING": ("Glue job running long", ("detail", "state"), ["RUNNING"], "misses"),
}


@pytest.mark.parametrize("planted", PLANTED_FAILURE_PATTERNS)
def test_failure_check_catches_a_planted_pattern_defect(synthesize, planted):
    synth = synthesize("dev")
    kind_name, path, value, expected = PLANTED_FAILURE_PATTERNS[planted]
    rule_id, props = _rule(synth, kind_name)
    node = props["EventPattern"]
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    kind = FAILURE_KINDS[kind_name]
    watched = resource_names(synth, kind)
    problems = failure_rule_problems(
        rule_id, props["EventPattern"], kind, watched, [kind.field("vdap-dev-unrelated", synth)], synth
    )
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("kind_name", "variable", "path", "expected"),
    [
        (
            "Glue job",
            "detail-message",
            "$.detail.errorMessage",
            "absent from AWS's documented glue_job_failed",
        ),
        (
            "Glue crawler",
            "detail-errorMessage",
            "$.detail.error",
            "absent from AWS's documented glue_crawler_failed",
        ),
        ("DataBrew job", "detail-message", "$.detail.severity", "does not carry detail.message"),
        ("Glue job", "detail-jobName", "$.detail['jobName']", "outside the JSON path syntax"),
        ("Glue crawler", "aws.events.rule-name", "$.detail.crawlerName", "reserved variable name"),
        (  # why the execution alert reads no error or cause
            "State machine",
            "detail-error",
            "$.detail.error",
            "absent from AWS's documented step_functions_execution_failed",
        ),
        ("Glue job running long", "detail-message", "$.detail.jobName", "does not carry detail.message"),
    ],
)
def test_transformer_check_catches_a_planted_path(synthesize, kind_name, variable, path, expected):
    rule_id, props = _rule(synthesize("dev"), kind_name)
    props["Targets"][0]["InputTransformer"]["InputPathsMap"][variable] = path
    problems = transformer_problems(rule_id, props["Targets"], FAILURE_KINDS[kind_name])
    assert any(expected in p for p in problems), problems


PLANTED_TRIGGER_PATTERNS = {
    "prefix without its slash": (
        ("detail", "object", "key"),
        [{"prefix": "raw/business_licences"}],
        "begins like",
    ),
    "whole bucket": (("detail", "object"), None, "elsewhere in the raw bucket"),
    "bucket ARN for its name": (("detail", "bucket", "name"), ["arn:aws:s3:::x"], "misses"),
    "S3 notification event name": (("detail-type",), ["s3:ObjectCreated:*"], "misses"),
    "any object event": (("detail-type",), ["Object Created", "Object Deleted"], "Object Deleted"),
}


@pytest.mark.parametrize("planted", PLANTED_TRIGGER_PATTERNS)
def test_trigger_check_catches_a_planted_pattern_defect(synthesize, planted):
    synth = synthesize("dev")
    path, value, expected = PLANTED_TRIGGER_PATTERNS[planted]
    rule_id, props = _rule(synth, "trigger")
    node = props["EventPattern"]
    for part in path[:-1]:
        node = node[part]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    bucket, prefix = raw_upload_target(synth)
    problems = trigger_problems(
        rule_id, props["EventPattern"], bucket, prefix, synth.config.bucket_name("transformed"), synth
    )
    assert any(expected in p for p in problems), problems


def test_bucket_check_catches_eventbridge_delivery_turned_off(synthesize):
    synth = synthesize("dev")
    bucket, _ = raw_upload_target(synth)
    storage = copy.deepcopy(synth.templates["Storage"])
    for resource in storage["Resources"].values():
        if resource["Type"] == "AWS::S3::Bucket" and resource["Properties"].get("BucketName") == bucket:
            resource["Properties"]["NotificationConfiguration"]["EventBridgeConfiguration"][
                "EventBridgeEnabled"
            ] = False
    assert eventbridge_bucket_problems(storage, bucket) == [
        f"Storage bucket {bucket}: EventBridge delivery is off, so no Object Created event ever reaches the rule"
    ]


def test_fixtures_name_their_documentation_page():
    for path in sorted(EVENTS_DIR.glob("*.json")):
        raw = json.loads(path.read_text())
        assert raw["_source"].startswith("https://docs.aws.amazon.com/"), path.name
        assert raw["_transcribed_from"], path.name
