"""Draw docs/architecture.png from the synthesized CDK app (``make diagram``).

Why from the templates and not by hand: the picture must follow the code. Every node is a resource
(or a counted group of similar ones) of the four synthesized stacks, labelled with its real name, and
every edge is read from a property that wires two resources together: bucket replication, a Lambda's
environment, an EventBridge rule's pattern and targets, the state machine's tasks, DataBrew dataset and
outputs, Glue job path arguments, table locations, alarm actions. Change a stack and the DOT changes.

Why a committed DOT beside the PNG: PNG bytes depend on the Graphviz build, the DOT source does not, so
``tests/test_architecture_diagram.py`` compares the regenerated DOT with ``docs/architecture.dot`` and
fails when the picture is stale. For that the DOT carries no random ids (diagrams uses uuid4 node ids
unless given one) and no absolute paths (icons are named relative to diagrams' resources folder, and
``dot -Gimagepath`` finds them when rendering).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import diagrams
from diagrams import Cluster, Diagram, Edge, Node, setdiagram
from diagrams.aws.analytics import Athena, Glue, GlueCrawlers, GlueDataCatalog
from diagrams.aws.compute import Lambda
from diagrams.aws.general import InternetAlt1
from diagrams.aws.integration import EventbridgeRule, SimpleNotificationServiceSnsTopic, StepFunctions
from diagrams.aws.management import Cloudtrail, Cloudwatch, CloudwatchAlarm, CloudwatchEventTimeBased
from diagrams.aws.security import KeyManagementService
from diagrams.aws.storage import SimpleStorageServiceS3Bucket

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the app's packages importable
    sys.path.insert(0, str(REPO))

DOT_PATH = REPO / "docs" / "architecture.dot"
PNG_PATH = REPO / "docs" / "architecture.png"
STACK_IDS = ("Replica", "Storage", "Observability", "Pipeline")
# diagrams' icons live in site-packages/resources/<provider>/<category>/<icon>.png
ICON_ROOT = Path(diagrams.__file__).resolve().parent.parent / "resources"

# Edge kinds: (color, style, penwidth). The legend under the picture names them.
EDGE_STYLES = {
    "data": ("#232F3E", "solid", "2.0"),
    "orchestration": ("#2E73B8", "dashed", "1.5"),
    "replication": ("#3F8624", "dashed", "1.5"),
    "alert": ("#D13212", "dotted", "1.5"),
    "catalog": ("#7B8894", "dotted", "1.2"),
}
LEGEND = (
    "black: data  ·  blue dashed: orchestration  ·  green dashed: replication to the backup region"
    "  ·  red dotted: alerts  ·  grey dotted: catalog"
)


# --------------------------------------------------------------------------------------------------
# The synthesized app


@dataclass(frozen=True)
class Assembly:
    """The four templates and where each stack deploys."""

    templates: dict[str, dict[str, Any]]
    stack_names: dict[str, str]
    regions: dict[str, str]
    stage: str


def synthesize(outdir: Path, stage: str = "dev") -> Assembly:
    """Synthesize the app offline (no validation, ``$DAP_ACCOUNT_ID`` ignored: cdk.json's account)."""
    from stacks.platform_app import build_app

    app, _config = build_app(
        {"stage": stage}, outdir=str(outdir), cloudformation_validation=False, environ={}
    )
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag findings fail the synth after the templates are written
        print(f"warning: synth reported: {str(exc).splitlines()[0]}", file=sys.stderr)
    return load_assembly(outdir, stage)


def load_assembly(outdir: Path, stage: str) -> Assembly:
    manifest = json.loads((outdir / "manifest.json").read_text())
    templates, names, regions = {}, {}, {}
    for stack in STACK_IDS:
        artifact = manifest["artifacts"][stack]
        templates[stack] = json.loads((outdir / artifact["properties"]["templateFile"]).read_text())
        names[stack] = artifact["properties"]["stackName"]
        regions[stack] = artifact["environment"].rsplit("/", 1)[-1]
    return Assembly(templates, names, regions, stage)


# --------------------------------------------------------------------------------------------------
# The model: boxes (nodes) per stack and links (edges), read from the templates


@dataclass(frozen=True)
class Box:
    key: str
    icon: type[Node]
    label: str


@dataclass(frozen=True)
class Link:
    tail: str
    head: str
    kind: str
    label: str = ""
    constraint: bool = True  # False: drawn, but does not push the head to the right (a back edge)


@dataclass
class Model:
    title: str
    clusters: dict[str, str]  # stack id -> cluster label
    boxes: dict[str, list[Box]] = field(default_factory=lambda: defaultdict(list))
    links: list[Link] = field(default_factory=list)
    external: list[Box] = field(default_factory=list)  # outside every stack (the portal)

    def link(self, tail: str | None, head: str | None, kind: str, label: str = "", **kw: Any) -> None:
        """Add an edge; a second edge of the same kind between the same two nodes adds its label."""
        if not (tail and head and tail != head):
            return
        for i, known in enumerate(self.links):
            if (known.tail, known.head, known.kind) == (tail, head, kind):
                lines = known.label.split("\n") if known.label else []
                new = [line for line in label.split("\n") if line and line not in lines]
                self.links[i] = replace(known, label="\n".join(lines + new))
                return
        self.links.append(Link(tail, head, kind, label, **kw))


def wrap(text: str, width: int = 26) -> str:
    """Break a long name at - _ / boundaries into the fewest, most even lines of at most ``width``.

    Labels then stay about as wide as an icon column (a bucket name becomes two lines, not three).
    """
    pieces = re.split(r"(?<=[-_/ ])", text)
    best: tuple[int, int, list[str]] | None = None
    for breaks in range(1 << (len(pieces) - 1)) if len(pieces) <= 16 else [0]:
        lines, current = [], pieces[0]
        for i, piece in enumerate(pieces[1:]):
            if breaks >> i & 1:
                lines.append(current)
                current = piece
            else:
                current += piece
        lines.append(current)
        longest = max(len(line) for line in lines)
        score = (len(lines), longest) if longest <= width else (len(pieces) + longest, longest)
        if best is None or score < best[:2]:
            best = (*score, lines)
    return "\n".join(line.rstrip() for line in best[2])


def stable(logical_id: str) -> str:
    """A logical id without CDK's 8-hex-digit hash (for ids of unnamed resources)."""
    return re.sub(r"[0-9A-F]{8}$", "", logical_id)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {nouns or noun + 's'}"


def s3_url(value: Any) -> tuple[str, str] | None:
    if isinstance(value, str) and value.startswith("s3://"):
        bucket, _, key = value[5:].partition("/")
        return bucket, key
    return None


class Reader:
    """Look-ups over the templates: resources by type, and references resolved to their resources."""

    def __init__(self, assembly: Assembly):
        self.assembly = assembly
        self.templates = assembly.templates
        self.stack_by_name = {name: stack for stack, name in assembly.stack_names.items()}
        self.keys: dict[tuple[str, str], str] = {}  # (stack, logical id) -> box key
        self.buckets: dict[str, tuple[str, str]] = {}  # bucket name -> (stack, logical id)
        for stack in STACK_IDS:
            for lid, props in self.of_type(stack, "AWS::S3::Bucket"):
                if isinstance(props.get("BucketName"), str):
                    self.buckets[props["BucketName"]] = (stack, lid)

    def of_type(self, stack: str, resource_type: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (lid, resource.get("Properties", {}))
            for lid, resource in self.templates[stack]["Resources"].items()
            if resource["Type"] == resource_type
        ]

    def type_of(self, ref: tuple[str, str]) -> str:
        return self.templates[ref[0]]["Resources"][ref[1]]["Type"]

    def resolve(self, stack: str, value: Any) -> tuple[str, str] | None:
        """A Ref, GetAtt, cross-stack GetStackOutput, bucket ARN, s3:// URL or bucket name → resource."""
        if isinstance(value, dict):
            if "Ref" in value and value["Ref"] in self.templates[stack]["Resources"]:
                return stack, value["Ref"]
            if "Fn::GetAtt" in value:
                return stack, value["Fn::GetAtt"][0]
            if "Fn::GetStackOutput" in value:
                target = value["Fn::GetStackOutput"]
                producer = self.stack_by_name.get(target["StackName"])
                output = self.templates.get(producer, {}).get("Outputs", {}).get(target["OutputName"])
                return self.resolve(producer, output["Value"]) if output else None
            return None
        if isinstance(value, str):
            name = value.removeprefix("arn:aws:s3:::")
            name = s3_url(name)[0] if s3_url(name) else name.split("/")[0]
            return self.buckets.get(name)
        return None

    def key(self, stack: str, value: Any) -> str | None:
        """The box key of the resource ``value`` refers to (None when it is not drawn)."""
        ref = self.resolve(stack, value)
        return self.keys.get(ref) if ref else None

    def arn_text(self, stack: str, value: Any) -> str:
        """An IAM resource as text: bucket references become their ARNs (enough to match S3 paths)."""
        if isinstance(value, str):
            return value
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(self.arn_text(stack, part) for part in parts)
        ref = self.resolve(stack, value)
        name = self.templates[ref[0]]["Resources"][ref[1]]["Properties"].get("BucketName") if ref else None
        return f"arn:aws:s3:::{name}" if isinstance(name, str) else "?"

    def s3_writes(self, stack: str, role: Any) -> list[str] | None:
        """Object ARN patterns the role may put objects to (None: the role's policies are not here)."""
        ref = self.resolve(stack, role)
        if not ref or ref[0] != stack:
            return None
        documents = [
            p["PolicyDocument"]
            for p in self.templates[stack]["Resources"][ref[1]]["Properties"].get("Policies", [])
        ]
        for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for _, props in self.of_type(stack, policy_type):
                if any(self.resolve(stack, attached) == ref for attached in props.get("Roles", [])):
                    documents.append(props["PolicyDocument"])
        patterns = []
        for document in documents:
            for statement in document["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                resources = (
                    statement["Resource"]
                    if isinstance(statement["Resource"], list)
                    else [statement["Resource"]]
                )
                if statement["Effect"] == "Allow" and {"s3:PutObject", "s3:*"} & set(actions):
                    patterns.extend(self.arn_text(stack, resource) for resource in resources)
        return patterns

    def token_text(self, stack: str, part: Any) -> str:
        """A joined-string token as text; resources it names become ``${box key}``."""
        if isinstance(part, str):
            return part
        key = self.key(stack, part)
        return f"${{{key}}}" if key else "${?}"


# --------------------------------------------------------------------------------------------------
# Nodes, stack by stack (generic over resource types, so a new bucket or job shows up by itself)


def add_keys_and_buckets(model: Model, r: Reader, stack: str) -> None:
    aliases = {
        r.resolve(stack, props["TargetKeyId"]): props["AliasName"]
        for _, props in r.of_type(stack, "AWS::KMS::Alias")
    }
    buckets = r.of_type(stack, "AWS::S3::Bucket")
    for lid, _props in r.of_type(stack, "AWS::KMS::Key"):
        encrypted = 0
        for other in STACK_IDS:
            for _, bucket in r.of_type(other, "AWS::S3::Bucket"):
                rules = bucket.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
                refs = {
                    r.resolve(other, rule["ServerSideEncryptionByDefault"].get("KMSMasterKeyID"))
                    for rule in rules
                }
                encrypted += (stack, lid) in refs
        name = aliases.get((stack, lid), "KMS key")
        key = f"{stack}/key/{aliases.get((stack, lid), stable(lid))}"
        r.keys[(stack, lid)] = key
        model.boxes[stack].append(
            Box(key, KeyManagementService, f"{name}\n(encrypts {plural(encrypted, 'bucket')})")
        )
    logged_into: dict[tuple[str, str] | None, int] = defaultdict(int)
    for other in STACK_IDS:
        for _, bucket in r.of_type(other, "AWS::S3::Bucket"):
            logged_into[
                r.resolve(other, bucket.get("LoggingConfiguration", {}).get("DestinationBucketName"))
            ] += 1
    for lid, props in buckets:
        key = f"{stack}/bucket/{props.get('BucketName', lid)}"
        r.keys[(stack, lid)] = key
        label = wrap(props.get("BucketName", lid))
        if logged_into.get((stack, lid)):
            label += f"\n(access logs of {plural(logged_into[(stack, lid)], 'bucket')})"
        model.boxes[stack].append(Box(key, SimpleStorageServiceS3Bucket, label))


def add_observability(model: Model, r: Reader, stack: str) -> None:
    for lid, props in r.of_type(stack, "AWS::SNS::Topic"):
        key = f"{stack}/topic/{props.get('TopicName', lid)}"
        r.keys[(stack, lid)] = key
        subscribers = [
            f"{sub['Protocol']}: {sub['Endpoint']}"
            for _, sub in r.of_type(stack, "AWS::SNS::Subscription")
            if r.resolve(stack, sub.get("TopicArn")) == (stack, lid) and isinstance(sub.get("Endpoint"), str)
        ]
        label = "\n".join([props.get("TopicName", lid), *(wrap(s, 34) for s in subscribers)])
        model.boxes[stack].append(Box(key, SimpleNotificationServiceSnsTopic, label))
    for lid, props in r.of_type(stack, "AWS::CloudTrail::Trail"):
        key = f"{stack}/trail/{props.get('TrailName', lid)}"
        r.keys[(stack, lid)] = key
        data_buckets = sum(
            len(selector.get("StartsWith", []))
            for group in props.get("AdvancedEventSelectors", [])
            for selector in group["FieldSelectors"]
            if selector["Field"] == "resources.ARN"
        )
        label = props.get("TrailName", "CloudTrail trail")
        if data_buckets:
            label += f"\n(object events of {plural(data_buckets, 'bucket')})"
        model.boxes[stack].append(Box(key, Cloudtrail, label))
    for lid, props in r.of_type(stack, "AWS::CloudWatch::Dashboard"):
        key = f"{stack}/dashboard/{props.get('DashboardName', lid)}"
        r.keys[(stack, lid)] = key
        model.boxes[stack].append(Box(key, Cloudwatch, f"dashboard\n{props.get('DashboardName', lid)}"))
    alarms = r.of_type(stack, "AWS::CloudWatch::Alarm")
    if alarms:
        key = f"{stack}/alarms"
        for lid, _ in alarms:
            r.keys[(stack, lid)] = key
        names = [props.get("AlarmName", lid) for lid, props in alarms]
        label = plural(len(alarms), "alarm") + ("\n" + names[0] if len(names) == 1 else "")
        model.boxes[stack].append(Box(key, CloudwatchAlarm, label))
    # Rules that only notify (targets all SNS topics) are counted as one box; the others stand alone.
    alerting, others = [], []
    for lid, props in r.of_type(stack, "AWS::Events::Rule"):
        targets = [r.resolve(stack, t["Arn"]) for t in props.get("Targets", [])]
        only_topics = targets and all(t and r.type_of(t) == "AWS::SNS::Topic" for t in targets)
        (alerting if only_topics else others).append((lid, props))
    if alerting:
        key = f"{stack}/alert-rules"
        for lid, _ in alerting:
            r.keys[(stack, lid)] = key
        watched = sorted(
            {source for _, p in alerting for source in p.get("EventPattern", {}).get("source", [])}
        )
        label = plural(len(alerting), "failure rule") + (f"\n({', '.join(watched)})" if watched else "")
        model.boxes[stack].append(Box(key, EventbridgeRule, label))
    for lid, props in others:
        key = f"{stack}/rule/{props.get('Name', stable(lid))}"
        r.keys[(stack, lid)] = key
        if "ScheduleExpression" in props:
            state = "" if props.get("State", "ENABLED") == "ENABLED" else f"\n({props['State'].lower()})"
            label = f"{wrap(props.get('Name', 'schedule'))}\n{props['ScheduleExpression']}{state}"
            model.boxes[stack].append(Box(key, CloudwatchEventTimeBased, label))
        else:
            pattern = props.get("EventPattern", {})
            prefixes = [
                entry["prefix"]
                for entry in pattern.get("detail", {}).get("object", {}).get("key", [])
                if isinstance(entry, dict) and "prefix" in entry
            ]
            label = "\n".join(
                [props.get("Name", " / ".join(pattern.get("detail-type", ["rule"]))), *prefixes]
            )
            model.boxes[stack].append(Box(key, EventbridgeRule, label))


def add_processing(model: Model, r: Reader, stack: str) -> None:
    # Named functions are the platform's; CDK's own provider functions (custom resources) have no name.
    for lid, props in r.of_type(stack, "AWS::Lambda::Function"):
        if "FunctionName" in props:
            key = f"{stack}/function/{props['FunctionName']}"
            r.keys[(stack, lid)] = key
            model.boxes[stack].append(
                Box(key, Lambda, f"{props['FunctionName']}\n({props.get('Runtime', '')})")
            )
    for lid, props in r.of_type(stack, "AWS::StepFunctions::StateMachine"):
        key = f"{stack}/state-machine/{props.get('StateMachineName', lid)}"
        r.keys[(stack, lid)] = key
        model.boxes[stack].append(Box(key, StepFunctions, props.get("StateMachineName", lid)))
    schedules = {
        job: props["CronExpression"]
        for _, props in r.of_type(stack, "AWS::DataBrew::Schedule")
        for job in props.get("JobNames", [])
    }
    for lid, props in r.of_type(stack, "AWS::DataBrew::Job"):
        key = f"{stack}/databrew/{props['Name']}"
        r.keys[(stack, lid)] = key
        kind = "DataBrew recipe job" if props["Type"] == "RECIPE" else "DataBrew profile job"
        extra = f"\n{schedules[props['Name']]}" if props["Name"] in schedules else ""
        model.boxes[stack].append(Box(key, Glue, f"{kind}\n{wrap(props['Name'], 28)}{extra}"))
    for lid, props in r.of_type(stack, "AWS::Glue::Job"):
        name = props.get("Name", stable(lid))
        key = f"{stack}/glue-job/{name}"
        r.keys[(stack, lid)] = key
        model.boxes[stack].append(Box(key, Glue, f"Glue job\n{name}"))
    for lid, props in r.of_type(stack, "AWS::Glue::Database"):
        name = props["DatabaseInput"]["Name"]
        key = f"{stack}/database/{name}"
        r.keys[(stack, lid)] = key
        tables = [
            p
            for _, p in r.of_type(stack, "AWS::Glue::Table")
            if r.resolve(stack, p.get("DatabaseName")) == (stack, lid)
        ]
        rulesets = [
            p
            for _, p in r.of_type(stack, "AWS::Glue::DataQualityRuleset")
            if r.resolve(stack, p.get("TargetTable", {}).get("DatabaseName")) == (stack, lid)
        ]
        label = f"Glue database\n{name}\n{plural(len(tables), 'table')}"
        if rulesets:
            label += f", {plural(len(rulesets), 'DQ ruleset')}"
        model.boxes[stack].append(Box(key, GlueDataCatalog, label))
    crawlers = r.of_type(stack, "AWS::Glue::Crawler")
    if crawlers:
        key = f"{stack}/crawlers"
        for lid, _ in crawlers:
            r.keys[(stack, lid)] = key
        crons = sorted({p.get("Schedule", {}).get("ScheduleExpression", "on demand") for _, p in crawlers})
        model.boxes[stack].append(
            Box(key, GlueCrawlers, "\n".join([plural(len(crawlers), "crawler"), *crons]))
        )
    for lid, props in r.of_type(stack, "AWS::Athena::WorkGroup"):
        key = f"{stack}/workgroup/{props['Name']}"
        r.keys[(stack, lid)] = key
        queries = [
            p
            for _, p in r.of_type(stack, "AWS::Athena::NamedQuery")
            if r.resolve(stack, p.get("WorkGroup")) == (stack, lid)
        ]
        label = f"Athena workgroup\n{props['Name']}\n{plural(len(queries), 'named query', 'named queries')}"
        model.boxes[stack].append(Box(key, Athena, label))


# --------------------------------------------------------------------------------------------------
# Edges


def add_replication(model: Model, r: Reader) -> None:
    for stack in STACK_IDS:
        for lid, props in r.of_type(stack, "AWS::S3::Bucket"):
            for rule in props.get("ReplicationConfiguration", {}).get("Rules", []):
                model.link(r.keys[(stack, lid)], r.key(stack, rule["Destination"]["Bucket"]), "replication")


def add_function_links(model: Model, r: Reader, stack: str) -> None:
    """A Lambda's environment names what it talks to: the portal URL, buckets (with keys), topics."""
    for lid, props in r.of_type(stack, "AWS::Lambda::Function"):
        function = r.keys.get((stack, lid))
        if not function:
            continue
        variables = props.get("Environment", {}).get("Variables", {})
        for name, value in variables.items():
            if isinstance(value, str) and value.startswith("https://"):
                host = value.split("/")[2]
                portal = f"external/{host}"
                if all(b.key != portal for b in model.external):
                    model.external.append(Box(portal, InternetAlt1, f"open-data portal\n{host}"))
                model.link(portal, function, "data", variables.get("DATASET_ID", name))
        for name, value in variables.items():
            target = r.key(stack, value)
            if not target:
                continue
            if target.split("/")[1] == "bucket":
                key_var = name.removesuffix("_BUCKET") + "_KEY"
                prefix = variables.get(key_var, "").rsplit("/", 1)[0]
                model.link(function, target, "data", wrap(prefix + "/", 26) if prefix else "")
            elif target.split("/")[1] == "topic":
                model.link(function, target, "alert")


def add_rule_links(model: Model, r: Reader, stack: str) -> None:
    for lid, props in r.of_type(stack, "AWS::Events::Rule"):
        rule = r.keys[(stack, lid)]
        buckets = props.get("EventPattern", {}).get("detail", {}).get("bucket", {}).get("name", [])
        for bucket in buckets:
            model.link(
                r.key(stack, bucket), rule, "data", " / ".join(props["EventPattern"].get("detail-type", []))
            )
        for target in props.get("Targets", []):
            head = r.key(stack, target["Arn"])
            kind = "alert" if head and head.split("/")[1] == "topic" else "orchestration"
            model.link(rule, head, kind)
    for lid, props in r.of_type(stack, "AWS::CloudWatch::Alarm"):
        for action in props.get("AlarmActions", []):
            model.link(r.keys[(stack, lid)], r.key(stack, action), "alert")


def walk_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """States in the order a successful run reaches them (breadth first, catches last)."""
    seen, queue, catches = set(), [definition["StartAt"]], []
    while queue or catches:
        name = queue.pop(0) if queue else catches.pop(0)
        if name in seen or name not in definition["States"]:
            continue
        seen.add(name)
        state = definition["States"][name]
        yield name, state
        for branch in [*state.get("Branches", []), state.get("Iterator"), state.get("ItemProcessor")]:
            if branch:
                yield from walk_states(branch)
        queue.extend(
            [state.get("Next"), state.get("Default"), *(c.get("Next") for c in state.get("Choices", []))]
        )
        catches.extend(c["Next"] for c in state.get("Catch", []))


def add_state_machine_links(model: Model, r: Reader, stack: str) -> None:
    jobs = {
        p.get("Name", stable(lid)): r.keys[(stack, lid)]
        for t in ("AWS::DataBrew::Job", "AWS::Glue::Job")
        for lid, p in r.of_type(stack, t)
    }
    for lid, props in r.of_type(stack, "AWS::StepFunctions::StateMachine"):
        machine = r.keys[(stack, lid)]
        raw = props["DefinitionString"]
        text = raw if isinstance(raw, str) else "".join(r.token_text(stack, p) for p in raw["Fn::Join"][1])
        step = 0
        for name, state in walk_states(json.loads(text)):
            resource, params = state.get("Resource", ""), state.get("Parameters") or {}
            job = params.get("Name") if ":databrew:startJobRun" in resource else None
            job = params.get("JobName") if ":glue:startJobRun" in resource else job
            if job in jobs:
                step += 1
                model.link(machine, jobs[job], "orchestration", f"{step}. {name}")
            topic = params.get("TopicArn", "")
            if ":sns:publish" in resource and topic[2:-1] in r.keys.values():
                model.link(machine, topic[2:-1], "alert")


def add_job_data_links(model: Model, r: Reader, stack: str) -> None:
    """Which jobs read and write which buckets: DataBrew datasets and outputs; Glue ``--*_path``
    arguments, each a write when the job's role may put objects there and a read otherwise.

    A job that rewrites data inside the bucket it reads hands it to the job that reads those prefixes
    directly (quality check → summarize), so the flow reads left to right.
    """
    reads: list[tuple[str, str, str]] = []  # (job, bucket key, prefix or key)
    writes: list[tuple[str, str, str]] = []
    datasets = {
        p["Name"]: p["Input"]["S3InputDefinition"] for _, p in r.of_type(stack, "AWS::DataBrew::Dataset")
    }
    for lid, props in r.of_type(stack, "AWS::DataBrew::Job"):
        job = r.keys[(stack, lid)]
        source = datasets.get(props.get("DatasetName"))
        if source:
            reads.append((job, r.key(stack, source["Bucket"]), source.get("Key", "")))
        outputs = [o["Location"] for o in props.get("Outputs", [])]
        outputs += [props["OutputLocation"]] if "OutputLocation" in props else []
        writes.extend((job, r.key(stack, o["Bucket"]), o.get("Key", "")) for o in outputs)
    for lid, props in r.of_type(stack, "AWS::Glue::Job"):
        job = r.keys[(stack, lid)]
        put_patterns = r.s3_writes(stack, props.get("Role"))
        for name, value in props.get("DefaultArguments", {}).items():
            url = s3_url(value)
            if not url or not name.endswith("_path") or not r.key(stack, value):
                continue
            arn = f"arn:aws:s3:::{url[0]}/{url[1]}"
            if put_patterns is None:  # no policy to read: the argument's name is the best hint left
                is_write = "input" not in name
            else:
                is_write = any(fnmatchcase(arn, p) or fnmatchcase(arn + "object", p) for p in put_patterns)
            (writes if is_write else reads).append((job, r.key(stack, value), url[1]))
    read_buckets = {(job, bucket) for job, bucket, _ in reads}
    handed: set[tuple[str, str, str]] = set()
    for job, bucket, prefix in reads:
        writer = next(
            (
                w
                for w in writes
                if w[1] == bucket and w[2] == prefix and (w[0], bucket) in read_buckets and w[0] != job
            ),
            None,
        )
        if writer:
            handed.add(writer)
        model.link(writer[0] if writer else bucket, job, "data", wrap(prefix, 26))
    for job, bucket, prefix in writes:
        if (job, bucket, prefix) not in handed:
            back = (job, bucket) in read_buckets  # drawn, but not moving the bucket to the job's right
            model.link(job, bucket, "data", wrap(prefix, 26), constraint=not back)


def add_catalog_links(model: Model, r: Reader, stack: str) -> None:
    for _, props in r.of_type(stack, "AWS::Glue::Table"):
        database = r.key(stack, props.get("DatabaseName"))
        location = props["TableInput"].get("StorageDescriptor", {}).get("Location")
        model.link(r.key(stack, location), database, "data", f"table {props['TableInput']['Name']}")
    for lid, props in r.of_type(stack, "AWS::Glue::Crawler"):
        model.link(r.keys[(stack, lid)], r.key(stack, props.get("DatabaseName")), "catalog", "partitions")
    databases = {
        p["DatabaseInput"]["Name"]: r.keys[(stack, lid)] for lid, p in r.of_type(stack, "AWS::Glue::Database")
    }
    for _, props in r.of_type(stack, "AWS::Athena::NamedQuery"):
        model.link(
            databases.get(props.get("Database")), r.key(stack, props.get("WorkGroup")), "data", "queries"
        )
    for lid, props in r.of_type(stack, "AWS::Athena::WorkGroup"):
        output = props.get("WorkGroupConfiguration", {}).get("ResultConfiguration", {}).get("OutputLocation")
        model.link(r.keys[(stack, lid)], r.key(stack, output), "data", "results")
    for lid, props in r.of_type(stack, "AWS::CloudTrail::Trail"):
        model.link(r.keys[(stack, lid)], r.key(stack, props.get("S3BucketName")), "data", "log files")


def build_model(assembly: Assembly) -> Model:
    r = Reader(assembly)
    model = Model(
        title=f"vancouver-dap ({assembly.stage}): the synthesized CDK app\\l{LEGEND}\\l",
        clusters={
            stack: f"{stack} stack · {assembly.stack_names[stack]} · {assembly.regions[stack]}"
            for stack in STACK_IDS
        },
    )
    for stack in STACK_IDS:
        add_keys_and_buckets(model, r, stack)
    for stack in STACK_IDS:  # every handler reads its own resource types, whichever stack holds them
        add_processing(model, r, stack)
        add_observability(model, r, stack)
    for stack in STACK_IDS:
        add_function_links(model, r, stack)
        add_rule_links(model, r, stack)
        add_state_machine_links(model, r, stack)
        add_job_data_links(model, r, stack)
        add_catalog_links(model, r, stack)
    add_replication(model, r)
    return model


# --------------------------------------------------------------------------------------------------
# Drawing


def icon_path(icon: type[Node]) -> str:
    """The icon relative to diagrams' resources folder (the committed DOT must not name site-packages)."""
    return str(Path(icon._icon_dir).relative_to("resources") / icon._icon)


ICON_INCHES = 1.0
LINE_INCHES = 0.2


def place(box: Box) -> Node:
    """One diagrams node: its icon on top, its label lines below (the height makes room for them)."""
    height = ICON_INCHES + 0.1 + LINE_INCHES * (box.label.count("\n") + 1)
    return box.icon(
        box.label, nodeid=box.key, image=icon_path(box.icon), height=f"{height:.2f}", imagepos="tc"
    )


def draw(model: Model) -> str:
    """The model as DOT source, drawn with diagrams (ids are the boxes' stable keys)."""
    diagram = Diagram(
        model.title,
        filename="architecture",
        direction="LR",
        show=False,
        graph_attr={
            "pad": "0.4",
            "nodesep": "0.4",
            "ranksep": "1.4",
            "fontsize": "20",
            "labelloc": "t",
            "labeljust": "l",
            "newrank": "true",
            "splines": "spline",
        },
        node_attr={"fontsize": "12", "width": str(ICON_INCHES)},
    )
    drawn: dict[str, Node] = {}
    # Not `with diagram:` - leaving that context renders with diagrams' defaults and deletes the DOT;
    # the DOT is what we keep, and `render` draws it.
    setdiagram(diagram)
    try:
        for box in model.external:
            drawn[box.key] = place(box)
        for stack, label in model.clusters.items():
            with Cluster(label, graph_attr={"fontsize": "15", "margin": "30"}):
                for box in model.boxes[stack]:
                    drawn[box.key] = place(box)
        for link in model.links:
            if link.tail not in drawn or link.head not in drawn:
                print(f"warning: no node for an end of {link}", file=sys.stderr)
                continue
            color, style, width = EDGE_STYLES[link.kind]
            attrs = {"penwidth": width, "fontcolor": color, "fontsize": "11"}
            if not link.constraint:
                attrs["constraint"] = "false"
            drawn[link.tail] >> Edge(label=link.label, color=color, style=style, **attrs) >> drawn[link.head]
    finally:
        setdiagram(None)
    return diagram.dot.source


def generate_dot(assembly: Assembly) -> str:
    return draw(build_model(assembly))


def stale_message(committed: str | None, generated: str) -> str | None:
    """Why the committed DOT is not the app's picture, or None when it is."""
    if committed is None:
        return f"{DOT_PATH.relative_to(REPO)} is missing: run `make diagram` and commit docs/"
    if committed == generated:
        return None
    committed_lines, generated_lines = committed.splitlines(), generated.splitlines()
    first = next(
        (i for i, (a, b) in enumerate(zip(committed_lines, generated_lines, strict=False)) if a != b),
        min(len(committed_lines), len(generated_lines)),
    )
    committed_line = committed_lines[first] if first < len(committed_lines) else "<end>"
    generated_line = generated_lines[first] if first < len(generated_lines) else "<end>"
    return (
        "the architecture picture is stale (the app changed): run `make diagram` and commit docs/.\n"
        f"first difference, line {first + 1}:\n  committed: {committed_line.strip()}\n"
        f"  app now:   {generated_line.strip()}"
    )


def render(dot_path: Path, png_path: Path) -> None:
    dot = shutil.which("dot")
    if not dot:
        raise RuntimeError("Graphviz's `dot` is missing: apt-get install graphviz (make diagram does it)")
    done = subprocess.run(
        [dot, "-Tpng", f"-Gimagepath={ICON_ROOT}", str(dot_path), "-o", str(png_path)],
        capture_output=True,
        text=True,
    )
    # Labels wider than their icon are intended (names are long); every other message is shown.
    messages = [line for line in done.stderr.splitlines() if "size too small for label" not in line]
    for line in messages:
        print(line, file=sys.stderr)
    if done.returncode or any("improper image" in line for line in messages):
        raise RuntimeError(f"dot failed (exit code {done.returncode}) or found no icon: see above")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="dap-diagram-") as tmp:
        source = generate_dot(synthesize(Path(tmp)))
    DOT_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOT_PATH.write_text(source)
    render(DOT_PATH, PNG_PATH)
    print(f"{DOT_PATH.relative_to(REPO)} ({len(source):,} bytes)")
    print(f"{PNG_PATH.relative_to(REPO)} ({PNG_PATH.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
