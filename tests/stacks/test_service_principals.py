"""Every AWS service that uses the platform key, the replica key or the alerts topic gets what its docs ask.

One table (``rows``): a row per service principal (or per role a service acts through), the policy that
must grant it, and per grant the actions and conditions the service's documentation requires, with the
page it comes from. Four kinds of check read the synthesized templates (tokens resolved to the strings
AWS would see, accounts pinned by conftest):

- *required*: some statement in the row's policy allows each needed action, with the documented
  conditions (and without the ones the service does not send, which would make it never match);
- *no wider*: every statement naming a service principal in a key, topic or bucket policy is covered by
  a row: no undocumented service, no action beyond the documented families, no missing condition;
- *coverage*: every encrypted log group, every access-logged bucket, every alarm or rule that
  publishes to the encrypted topic is reached by a satisfied row (derived from the templates, so a new
  publisher or log group cannot slip past the table);
- *planted*: each row's documented sample passes its check, and mutated copies of the statements the
  row relies on (a dropped condition, a widened action or resource, a forbidden key, a deleted
  statement) fail it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

import pytest

from stacks.names import pascal
from tests.stacks.conftest import DATASET_IDS, Synthesized

# ---- the templates as AWS reads them -------------------------------------------------------------


class Resolver:
    """Render CloudFormation tokens as the strings they become at deploy time (ARNs, names)."""

    def __init__(self, synthesized: Synthesized) -> None:
        config = synthesized.config
        self.account = config.account
        self.templates = synthesized.templates
        self.region = {
            stack: config.backup_region if stack == "Replica" else config.primary_region
            for stack in synthesized.templates
        }
        self.stack_of_name = {config.stack_name(s.lower()): s for s in synthesized.templates}

    def __call__(self, value: Any, stack: str) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):  # condition values such as s3:TlsVersion 1.2
            return str(value).lower() if isinstance(value, bool) else str(value)
        if isinstance(value, list):
            return [self(v, stack) for v in value]
        if not isinstance(value, dict) or len(value) != 1:
            raise ValueError(f"{stack}: cannot resolve {value!r}")
        (function, argument), region = next(iter(value.items())), self.region[stack]
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(self(part, stack) for part in parts)
        if function == "Fn::GetStackOutput":
            producer = self.stack_of_name[argument["StackName"]]
            return self(self.templates[producer]["Outputs"][argument["OutputName"]]["Value"], producer)
        if function == "Ref":
            pseudo = {
                "AWS::AccountId": self.account,
                "AWS::Region": region,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
            }
            if argument in pseudo:
                return pseudo[argument]
            return self._attribute(stack, argument, "Ref")
        if function == "Fn::GetAtt":
            return self._attribute(stack, *argument)
        raise ValueError(f"{stack}: unsupported token {function}")

    def _attribute(self, stack: str, logical_id: str, attribute: str) -> str:
        resource = self.templates[stack]["Resources"][logical_id]
        kind, props, region = resource["Type"], resource.get("Properties", {}), self.region[stack]
        if kind == "AWS::KMS::Key" and attribute in ("Arn", "Ref"):
            arn = f"arn:aws:kms:{region}:{self.account}:key/{logical_id}"
            return arn if attribute == "Arn" else logical_id
        if kind == "AWS::S3::Bucket":
            name = self(props["BucketName"], stack)
            return f"arn:aws:s3:::{name}" if attribute == "Arn" else name
        if kind == "AWS::SNS::Topic" and attribute in ("Ref", "TopicArn"):
            return f"arn:aws:sns:{region}:{self.account}:{self(props['TopicName'], stack)}"
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            return f"arn:aws:iam::{self.account}:role/{logical_id}"
        return f"${{{logical_id}.{attribute}}}"


def _listed(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


@dataclass(frozen=True)
class Statement:
    """One policy statement, tokens resolved; ``policy`` names the policy it belongs to."""

    where: str
    policy: str
    effect: str
    principals: frozenset[str]  # "Service:logs.ca-central-1.amazonaws.com", "AWS:arn:...:root", "*"
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    # operator -> condition key (lower case) -> values
    conditions: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def services(self) -> set[str]:
        return {p.split(":", 1)[1] for p in self.principals if p.startswith("Service:")}

    def describe(self) -> str:
        principals = ", ".join(sorted(self.principals)) or "(identity policy)"
        return (
            f"{self.where}: {self.effect} {principals} {list(self.actions)} on {list(self.resources)}"
            f" if {self.conditions or '(no condition)'}"
        )


def parse_statement(
    raw: dict[str, Any], *, where: str, policy: str, stack: str, resolve: Resolver
) -> Statement:
    principal = raw.get("Principal")
    principals: set[str] = set()
    if principal == "*":
        principals.add("*")
    elif principal:
        for kind, values in principal.items():
            principals.update(f"{kind}:{v}" for v in _listed(resolve(values, stack)))
    resources = tuple(_listed(resolve(raw.get("Resource", "*"), stack)))
    if policy.startswith("key:"):  # in a key policy, "*" and the key's own ARN both mean this key
        resources = tuple(policy.removeprefix("key:") if r == "*" else r for r in resources)
    conditions = {
        operator: {key.lower(): tuple(_listed(resolve(v, stack))) for key, v in entries.items()}
        for operator, entries in raw.get("Condition", {}).items()
    }
    return Statement(
        where=f"{where} {raw['Sid']}" if raw.get("Sid") else where,
        policy=policy,
        effect=raw["Effect"],
        principals=frozenset(principals),
        actions=_listed(raw["Action"]),
        resources=resources,
        conditions=conditions,
    )


def policy_statements(synthesized: Synthesized) -> list[Statement]:
    """Statements of every key, topic, bucket and identity policy of the app."""
    resolve = Resolver(synthesized)
    found: list[Statement] = []

    def add(document: dict[str, Any], where: str, policy: str, stack: str) -> None:
        for raw in document["Statement"]:
            found.append(parse_statement(raw, where=where, policy=policy, stack=stack, resolve=resolve))

    for stack, template in synthesized.templates.items():
        for logical_id, resource in template["Resources"].items():
            kind, props = resource["Type"], resource.get("Properties", {})
            where = f"{stack}/{logical_id}"
            if kind == "AWS::KMS::Key":
                add(
                    props["KeyPolicy"],
                    where,
                    "key:" + resolve({"Fn::GetAtt": [logical_id, "Arn"]}, stack),
                    stack,
                )
            elif kind == "AWS::SNS::TopicPolicy":
                for topic in props["Topics"]:
                    add(props["PolicyDocument"], where, "topic:" + resolve(topic, stack), stack)
            elif kind == "AWS::SNS::TopicInlinePolicy":
                add(props["PolicyDocument"], where, "topic:" + resolve(props["TopicArn"], stack), stack)
            elif kind == "AWS::S3::BucketPolicy":
                add(props["PolicyDocument"], where, "bucket:" + resolve(props["Bucket"], stack), stack)
            elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                owners = [f"role:{stack}/{role['Ref']}" for role in props.get("Roles", [])]
                for owner in owners or [f"managed:{where}"]:
                    add(props["PolicyDocument"], where, owner, stack)
            elif kind == "AWS::IAM::Role":
                for inline in props.get("Policies", []):
                    add(inline["PolicyDocument"], where, f"role:{where}", stack)
    return found


# ---- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """A condition key, the operators it may sit under, and the pattern all its values must fall in."""

    key: str
    operators: tuple[str, ...]
    within: str

    def met_by(self, statement: Statement) -> bool:
        for operator in self.operators:
            values = statement.conditions.get(operator, {}).get(self.key.lower())
            if values and all(fnmatchcase(v, self.within) for v in values):
                return True
        return False


@dataclass(frozen=True)
class Cond:
    """A documented condition: met when any one of its options is."""

    options: tuple[Option, ...]

    def describe(self) -> str:
        return " or ".join(f"{o.key} ({'/'.join(o.operators)}) within {o.within!r}" for o in self.options)


def cond(key: str, within: str, *operators: str) -> Cond:
    return Cond((Option(key, operators, within),))


# The API actions behind the CloudWatch Logs page's action families.
LOGS_KMS_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:DescribeKey",
)
ARN_OPS = ("ArnEquals", "ArnLike", "StringEquals", "StringLike")
EXACT_OPS = ("StringEquals",)
LIKE_OPS = ("StringEquals", "StringLike")


@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]  # API actions the service calls: each must be allowed
    allowed: tuple[str, ...]  # action patterns the documentation grants: nothing wider passes
    conditions: tuple[Cond, ...] = ()
    forbidden: tuple[str, ...] = ()  # keys the service does not send: a statement with them never matches
    resources: tuple[str, ...] = ()  # patterns every Resource must fall within (empty: not checked)

    def problems(self, statement: Statement) -> list[str]:
        found = [
            f"needs {c.describe()}"
            for c in self.conditions
            if not any(o.met_by(statement) for o in c.options)
        ]
        present = {key for entries in statement.conditions.values() for key in entries}
        found += [
            f"carries {key}, which this service does not send"
            for key in self.forbidden
            if key.lower() in present
        ]
        if self.resources and not all(
            any(fnmatchcase(r, p) for p in self.resources) for r in statement.resources
        ):
            found.append(f"resources {list(statement.resources)} reach beyond {list(self.resources)}")
        return found


@dataclass(frozen=True)
class Row:
    id: str
    doc: str  # the page the grants are transcribed from
    policy: str  # "key:<arn>", "topic:<arn>", "bucket:<name>", "role:<stack>/<logical id>", "managed:..."
    principal: str | None  # "Service:<name>" / "AWS:<arn>"; None for an identity policy
    grants: tuple[Grant, ...]
    sample: tuple[dict[str, Any], ...]  # the documentation's own statement(s), placeholders filled


def _unique(resources: dict[str, dict[str, Any]], prefix: str) -> str:
    matches = [logical_id for logical_id in resources if re.fullmatch(rf"{prefix}[0-9A-F]{{8}}", logical_id)]
    assert len(matches) == 1, f"expected one resource {prefix}<hash>, found {matches}"
    return matches[0]


def _key_arn(synthesized: Synthesized, stack: str) -> str:
    (logical_id,) = synthesized.resources(stack, "AWS::KMS::Key")
    return Resolver(synthesized)({"Fn::GetAtt": [logical_id, "Arn"]}, stack)


def rows(synthesized: Synthesized) -> dict[str, Row]:
    config = synthesized.config
    account, primary, backup = config.account, config.primary_region, config.backup_region
    platform_key, replica_key = _key_arn(synthesized, "Storage"), _key_arn(synthesized, "Replica")
    (topic_id,) = synthesized.resources("Observability", "AWS::SNS::Topic")
    topic = Resolver(synthesized)({"Ref": topic_id}, "Observability")
    trail = f"arn:aws:cloudtrail:{primary}:{account}:trail/{config.resource_prefix}-audit"
    trail_bucket = f"arn:aws:s3:::{config.bucket_name('cloudtrail')}"
    source_arn_of_trail = cond("aws:SourceArn", trail, "StringEquals", "ArnEquals")
    same_account = cond("aws:SourceAccount", account, *EXACT_OPS)
    kms_publish = Grant(("kms:Decrypt", "kms:GenerateDataKey"), ("kms:Decrypt", "kms:GenerateDataKey*"))
    table: list[Row] = [
        Row(
            "cloudtrail-kms",
            "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html",
            f"key:{platform_key}",
            "Service:cloudtrail.amazonaws.com",
            (
                Grant(
                    ("kms:GenerateDataKey",),
                    ("kms:GenerateDataKey*",),
                    (
                        source_arn_of_trail,
                        cond(
                            "kms:EncryptionContext:aws:cloudtrail:arn",
                            f"arn:aws:cloudtrail:*:{account}:trail/*",
                            "StringLike",
                            "ArnLike",
                        ),
                    ),
                ),
                Grant(("kms:DescribeKey",), ("kms:DescribeKey",), (source_arn_of_trail,)),
                # "If you are using an existing S3 bucket with an S3 Bucket Key, kms:Decrypt permissions are
                # required to create or update a trail with SSE-KMS encryption enabled" (the trail bucket
                # uses bucket keys).
                Grant(("kms:Decrypt",), ("kms:Decrypt",), (source_arn_of_trail,)),
            ),
            (
                {
                    "Sid": "Allow CloudTrail to encrypt logs",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "kms:GenerateDataKey*",
                    "Resource": platform_key,
                    "Condition": {
                        "StringLike": {
                            "kms:EncryptionContext:aws:cloudtrail:arn": [
                                f"arn:aws:cloudtrail:*:{account}:trail/*"
                            ]
                        },
                        "StringEquals": {"aws:SourceArn": trail},
                    },
                },
                {
                    "Sid": "Allow CloudTrail access",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "kms:DescribeKey",
                    "Resource": platform_key,
                    "Condition": {"StringEquals": {"aws:SourceArn": trail}},
                },
                {  # "Allow CloudTrail to decrypt a trail", with the page's aws:SourceArn best practice
                    "Sid": "Allow CloudTrail to decrypt a trail",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceArn": trail}},
                },
            ),
        ),
        Row(
            "cloudtrail-bucket",
            "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html",
            f"bucket:{config.bucket_name('cloudtrail')}",
            "Service:cloudtrail.amazonaws.com",
            (
                Grant(
                    ("s3:GetBucketAcl",),
                    ("s3:GetBucketAcl",),
                    (source_arn_of_trail,),
                    resources=(trail_bucket,),
                ),
                Grant(
                    ("s3:PutObject",),
                    ("s3:PutObject",),
                    (source_arn_of_trail, cond("s3:x-amz-acl", "bucket-owner-full-control", *EXACT_OPS)),
                    resources=(f"{trail_bucket}/AWSLogs/{account}/*",),
                ),
            ),
            (
                {
                    "Sid": "AWSCloudTrailAclCheck20150319",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": trail_bucket,
                    "Condition": {"StringEquals": {"aws:SourceArn": trail}},
                },
                {
                    "Sid": "AWSCloudTrailWrite20150319",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"{trail_bucket}/AWSLogs/{account}/*",
                    "Condition": {
                        "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail}
                    },
                },
            ),
        ),
        Row(
            "cloudwatch-logs-kms",
            "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
            f"key:{platform_key}",
            f"Service:logs.{primary}.amazonaws.com",
            (
                Grant(
                    LOGS_KMS_ACTIONS,
                    (
                        "kms:Encrypt*",
                        "kms:Decrypt*",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:Describe*",
                    ),
                    (
                        cond(
                            "kms:EncryptionContext:aws:logs:arn",
                            f"arn:aws:logs:{primary}:{account}:*",
                            *ARN_OPS,
                        ),
                    ),
                ),
            ),
            (
                {
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{primary}.amazonaws.com"},
                    "Action": [
                        "kms:Encrypt*",
                        "kms:Decrypt*",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:Describe*",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{primary}:{account}:*"
                        }
                    },
                },
            ),
        ),
        # SNS: "Add the aws:SourceAccount and aws:SourceArn condition keys to the KMS resource policy to
        # further protect the KMS key from confused deputy attacks" ...
        Row(
            "cloudwatch-alarms-kms",
            "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services",
            f"key:{platform_key}",
            "Service:cloudwatch.amazonaws.com",
            (replace(kms_publish, conditions=(same_account,)),),
            (
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account},
                        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{primary}:{account}:alarm:*"},
                    },
                },
            ),
        ),
        # ... but "Adding the aws:SourceAccount, aws:SourceArn, and aws:SourceOrgID to a AWS KMS policy is
        # not supported for EventBridge-to-encrypted topics" (same page).
        Row(
            "eventbridge-kms",
            "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services",
            f"key:{platform_key}",
            "Service:events.amazonaws.com",
            (replace(kms_publish, forbidden=("aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID")),),
            (
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                    "Resource": "*",
                },
            ),
        ),
        Row(
            "cloudwatch-alarms-topic",
            "https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html ; "
            "https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger",
            f"topic:{topic}",
            "Service:cloudwatch.amazonaws.com",
            (
                Grant(
                    ("sns:Publish",),
                    ("sns:Publish",),
                    (
                        Cond(
                            (
                                Option("aws:SourceAccount", EXACT_OPS, account),
                                Option(
                                    "aws:SourceArn",
                                    ARN_OPS,
                                    f"arn:aws:cloudwatch:{primary}:{account}:alarm:*",
                                ),
                            )
                        ),
                    ),
                    resources=(topic,),
                ),
            ),
            (
                {
                    "Sid": "Allow_Publish_Alarms",
                    "Effect": "Allow",
                    "Principal": {"Service": ["cloudwatch.amazonaws.com"]},
                    "Action": "sns:Publish",
                    "Resource": topic,
                    "Condition": {
                        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{primary}:{account}:alarm:*"}
                    },
                },
            ),
        ),
        Row(
            "eventbridge-topic",
            "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions ; "
            "https://docs.aws.amazon.com/eventbridge/latest/userguide/cross-service-confused-deputy-prevention.html",
            f"topic:{topic}",
            "Service:events.amazonaws.com",
            (
                Grant(
                    ("sns:Publish",),
                    ("sns:Publish",),
                    (
                        Cond(
                            (
                                Option("aws:SourceAccount", EXACT_OPS, account),
                                Option(
                                    "aws:SourceArn", ARN_OPS, f"arn:aws:events:{primary}:{account}:rule/*"
                                ),
                            )
                        ),
                    ),
                    resources=(topic,),
                ),
            ),
            (
                {  # "For EventBridge event bus rule targets, the value of aws:SourceArn must be the rule ARN."
                    "Sid": "PublishEventsToMyTopic",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic,
                    "Condition": {
                        "ArnEquals": {"aws:SourceArn": f"arn:aws:events:{primary}:{account}:rule/my-rule"}
                    },
                },
            ),
        ),
        Row(
            "iam-delegation-platform-key",
            "https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html",
            f"key:{platform_key}",
            f"AWS:arn:aws:iam::{account}:root",
            (Grant(("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"), ("kms:*",)),),
            (
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
            ),
        ),
    ]
    table.append(
        replace(table[-1], id="iam-delegation-replica-key", policy=f"key:{replica_key}")  # same statement
    )
    for label, stack, region in (("primary", "Storage", primary), ("backup", "Replica", backup)):
        access_logs = config.bucket_name("access-logs", replica=stack == "Replica")
        table.append(
            Row(
                f"s3-access-logs-{label}",
                "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html",
                f"bucket:{access_logs}",
                "Service:logging.s3.amazonaws.com",
                (
                    Grant(
                        ("s3:PutObject",),
                        ("s3:PutObject",),
                        (
                            cond("aws:SourceArn", f"arn:aws:s3:::*-{account}-{region}", *ARN_OPS),
                            same_account,
                        ),
                        resources=(f"arn:aws:s3:::{access_logs}/*",),
                    ),
                ),
                (
                    {
                        "Sid": "S3ServerAccessLogsPolicy",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": ["s3:PutObject"],
                        "Resource": f"arn:aws:s3:::{access_logs}/raw/*",
                        "Condition": {
                            "ArnLike": {
                                "aws:SourceArn": f"arn:aws:s3:::{config.bucket_name('raw', replica=stack == 'Replica')}"
                            },
                            "StringEquals": {"aws:SourceAccount": account},
                        },
                    },
                ),
            )
        )
    table += replication_rows(synthesized, platform_key, replica_key)
    table += role_rows(synthesized, platform_key)
    return {row.id: row for row in table}


REPLICATED = ("raw", "transformed", "curated")
REPLICATION_DOC = (
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html"
)


def replication_rows(synthesized: Synthesized, platform_key: str, replica_key: str) -> list[Row]:
    """S3 replicates through one role per bucket: the doc's KMS statements, with bucket-key ARNs.

    "When an S3 Bucket Key is enabled for the source or destination bucket, the encryption context will
    be the bucket ARN"; and "To use replication with an S3 Bucket Key, the AWS KMS key policy for the KMS
    key that's used to encrypt the object replica must include kms:Decrypt permissions for the calling
    principal" (delegated to IAM by the root statement, so the role must hold it).
    """
    config, storage = synthesized.config, synthesized.templates["Storage"]["Resources"]
    primary, backup = config.primary_region, config.backup_region
    found = []
    for purpose in REPLICATED:
        role = _unique(storage, f"{purpose.capitalize()}ReplicationRole")
        source = f"arn:aws:s3:::{config.bucket_name(purpose)}"
        target = f"arn:aws:s3:::{config.bucket_name(purpose, replica=True)}"

        def via(region: str, bucket: str) -> tuple[Cond, ...]:
            return (
                cond("kms:ViaService", f"s3.{region}.amazonaws.com", *LIKE_OPS),
                cond("kms:EncryptionContext:aws:s3:arn", f"{bucket}*", *ARN_OPS),
            )

        found.append(
            Row(
                f"s3-replication-{purpose}",
                f"{REPLICATION_DOC} ; https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html",
                f"role:Storage/{role}",
                None,
                (
                    Grant(
                        ("kms:Decrypt",), ("kms:Decrypt",), via(primary, source), resources=(platform_key,)
                    ),
                    Grant(("kms:Encrypt",), ("kms:Encrypt",), via(backup, target), resources=(replica_key,)),
                    Grant(("kms:Decrypt",), ("kms:Decrypt",), via(backup, target), resources=(replica_key,)),
                ),
                (
                    {
                        "Action": ["kms:Decrypt"],
                        "Effect": "Allow",
                        "Condition": {
                            "StringLike": {
                                "kms:ViaService": f"s3.{primary}.amazonaws.com",
                                "kms:EncryptionContext:aws:s3:arn": [source],
                            }
                        },
                        "Resource": [platform_key],
                    },
                    {
                        "Action": ["kms:Encrypt", "kms:Decrypt"],  # Decrypt: the replica bucket's Bucket Key
                        "Effect": "Allow",
                        "Condition": {
                            "StringLike": {
                                "kms:ViaService": f"s3.{backup}.amazonaws.com",
                                "kms:EncryptionContext:aws:s3:arn": [target],
                            }
                        },
                        "Resource": [replica_key],
                    },
                ),
            )
        )
    return found


# Services that act through the pipeline's own roles. Their pages grant the key's data actions on the key
# ARN with no kms:ViaService condition (Glue's job bookmarks use CSE-KMS, a direct KMS call that a
# ViaService condition would refuse), so the check is: the needed actions, on this key only.
DATASET_ROLE_ROWS = {
    # row id: (logical-id prefix in the dataset's construct, actions the page lists, page)
    "databrew-role": (
        "DataBrewCleaningRole",
        ("kms:Decrypt", "kms:GenerateDataKey"),
        "https://repost.aws/knowledge-center/s3-bucket-access-default-encryption",
    ),
    "glue-quality-check-role": (
        "QualityGateQualityCheckRole",
        ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"),
        "https://docs.aws.amazon.com/glue/latest/dg/set-up-encryption.html",
    ),
    "glue-summarize-role": (
        "SummaryJobSummarizeRole",
        ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"),
        "https://docs.aws.amazon.com/glue/latest/dg/set-up-encryption.html",
    ),
    "glue-crawler-role": (
        "CatalogCrawlerRole",
        ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"),
        "https://docs.aws.amazon.com/glue/latest/dg/set-up-encryption.html",
    ),
    "state-machine-role": (  # publishes to the encrypted topic, writes the SSE-KMS run report
        "OrchestrationStateMachineRole",
        ("kms:Decrypt", "kms:GenerateDataKey"),
        "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#send-to-encrypted-topic",
    ),
}
# Every dataset has its own roles: one row per role kind and dataset, ``<row id>:<dataset id>``.
ROLE_ROWS = {
    f"{row_id}:{dataset_id}": (pascal(dataset_id) + prefix, actions, page)
    for dataset_id in DATASET_IDS
    for row_id, (prefix, actions, page) in DATASET_ROLE_ROWS.items()
} | {
    "athena-analyst-policy": (
        "AnalyticsWorkgroupAnalystPolicy",
        ("kms:Decrypt", "kms:GenerateDataKey"),
        "https://docs.aws.amazon.com/athena/latest/ug/encryption.html",
    ),
}
KEY_DATA_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKey*",
)


def role_rows(synthesized: Synthesized, platform_key: str) -> list[Row]:
    pipeline = synthesized.templates["Pipeline"]["Resources"]
    found = []
    for row_id, (prefix, actions, doc) in ROLE_ROWS.items():
        logical_id = _unique(pipeline, prefix)
        kind = pipeline[logical_id]["Type"]
        policy = (
            f"role:Pipeline/{logical_id}" if kind == "AWS::IAM::Role" else f"managed:Pipeline/{logical_id}"
        )
        sample = {"Effect": "Allow", "Action": list(actions), "Resource": platform_key}
        found.append(
            Row(
                row_id,
                doc,
                policy,
                None,
                (Grant(actions, KEY_DATA_ACTIONS, resources=(platform_key,)),),
                (sample,),
            )
        )
    return found


ROW_IDS = (
    "cloudtrail-kms",
    "cloudtrail-bucket",
    "cloudwatch-logs-kms",
    "cloudwatch-alarms-kms",
    "eventbridge-kms",
    "cloudwatch-alarms-topic",
    "eventbridge-topic",
    "iam-delegation-platform-key",
    "iam-delegation-replica-key",
    "s3-access-logs-primary",
    "s3-access-logs-backup",
    *(f"s3-replication-{purpose}" for purpose in REPLICATED),
    *ROLE_ROWS,
)

# Role-side defects found by this table and not yet fixed: kept failing (strict xfail) until they are.
KNOWN_DEFECTS: dict[str, str] = {}


# ---- the checks ---------------------------------------------------------------------------------


def _allows(statement: Statement, action: str) -> bool:
    return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in statement.actions)


def candidates(row: Row, statements: Iterable[Statement]) -> list[Statement]:
    return [
        s
        for s in statements
        if s.policy == row.policy
        and s.effect == "Allow"
        and (row.principal is None or row.principal in s.principals)
    ]


def required_problems(row: Row, statements: Iterable[Statement]) -> list[str]:
    """What the row's service needs and no statement in its policy allows (with near misses)."""
    pool = candidates(row, statements)
    problems = []
    for grant in row.grants:
        for action in grant.actions:
            allowing = [s for s in pool if _allows(s, action)]
            if not any(not grant.problems(s) for s in allowing):
                misses = "; ".join(f"{s.where}: {', '.join(grant.problems(s))}" for s in allowing)
                who = (
                    f"{row.principal} cannot {action} in {row.policy}"
                    if row.principal
                    else f"{row.policy} cannot {action}"
                )
                problems.append(
                    f"[{row.id}] {who} as {row.doc} requires"
                    + (f" (near misses: {misses})" if misses else " (no statement allows it)")
                )
    return problems


def overreach_problems(table: Iterable[Row], statements: Iterable[Statement]) -> list[str]:
    """Service-principal grants in key, topic and bucket policies that no row documents."""
    table = list(table)
    problems = []
    for statement in statements:
        if statement.effect != "Allow" or not statement.services:
            continue
        if "*" in statement.principals:
            problems.append(f"{statement.describe()}: a wildcard principal next to a service")
        for service in sorted(statement.services):
            grants = [
                g
                for r in table
                if r.policy == statement.policy and r.principal == f"Service:{service}"
                for g in r.grants
            ]
            if not grants:
                problems.append(
                    f"{statement.describe()}: {service} has no documented row for {statement.policy}"
                )
                continue
            for action in statement.actions:
                fitting = [
                    g for g in grants if any(fnmatchcase(action.lower(), a.lower()) for a in g.allowed)
                ]
                if not fitting:
                    problems.append(f"{statement.describe()}: {action} is wider than the documented grants")
                elif all(g.problems(statement) for g in fitting):
                    reasons = "; ".join(", ".join(g.problems(statement)) for g in fitting)
                    problems.append(f"{statement.describe()}: {action} granted to {service} but {reasons}")
    return problems


def sample_statements(row: Row, synthesized: Synthesized) -> list[Statement]:
    resolve = Resolver(synthesized)
    return [
        parse_statement(
            raw, where=f"doc sample of {row.id}", policy=row.policy, stack="Storage", resolve=resolve
        )
        for raw in row.sample
    ]


# ---- required and no-wider, on the synthesized app ------------------------------------------------


def _params():
    for row_id in ROW_IDS:
        marks = (
            [pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[row_id])] if row_id in KNOWN_DEFECTS else []
        )
        yield pytest.param(row_id, marks=marks, id=row_id)


@pytest.mark.parametrize("row_id", list(_params()))
def test_row_is_granted(synthesized, row_id):
    row = rows(synthesized)[row_id]
    problems = required_problems(row, policy_statements(synthesized))
    assert not problems, "\n".join(problems)


def test_the_table_lists_every_row_once(synthesized):
    assert sorted(rows(synthesized)) == sorted(ROW_IDS)


def test_no_service_principal_gets_more_than_its_row(synthesized):
    problems = overreach_problems(rows(synthesized).values(), policy_statements(synthesized))
    assert not problems, "\n".join(problems)


def role_key_problems(statements: Iterable[Statement], keys: set[str]) -> list[str]:
    """KMS in identity policies: only the platform's two keys, only their data actions."""
    problems = []
    for s in statements:
        if not s.policy.startswith(("role:", "managed:")) or s.effect != "Allow":
            continue
        kms = [a for a in s.actions if a.lower().startswith("kms:") or a == "*"]
        if kms and set(s.resources) - keys:
            problems.append(f"{s.describe()}: KMS on more than the platform's keys")
        wide = [a for a in kms if not any(fnmatchcase(a.lower(), p.lower()) for p in KEY_DATA_ACTIONS)]
        if wide:
            problems.append(f"{s.describe()}: {wide} go beyond the key's data actions {KEY_DATA_ACTIONS}")
    return problems


def test_identity_policies_use_only_the_platform_keys(synthesized):
    keys = {_key_arn(synthesized, "Storage"), _key_arn(synthesized, "Replica")}
    statements = policy_statements(synthesized)
    problems = role_key_problems(statements, keys)
    assert not problems, "\n".join(problems)
    # planted: one role's key grant widened to every key, another's to kms:*
    kms_grants = [s for s in statements if s.policy.startswith("role:") and _allows(s, "kms:Decrypt")]
    for planted in (replace(kms_grants[0], resources=("*",)), replace(kms_grants[-1], actions=("kms:*",))):
        assert role_key_problems([planted], keys), planted.describe()


# ---- coverage: derived from the templates, so the table cannot miss a new user ------------------


def encrypted_log_groups(synthesized: Synthesized) -> list[tuple[str, str, str]]:
    """(log group ARN or ARN pattern, key ARN, region) of every log group CloudWatch Logs encrypts."""
    resolve, account = Resolver(synthesized), synthesized.config.account
    found = []
    for stack in synthesized.templates:
        region = resolve.region[stack]
        for props in (
            r.get("Properties", {}) for r in synthesized.resources(stack, "AWS::Logs::LogGroup").values()
        ):
            if "KmsKeyId" in props:
                name = resolve(props["LogGroupName"], stack)
                found.append(
                    (
                        f"arn:aws:logs:{region}:{account}:log-group:{name}",
                        resolve(props["KmsKeyId"], stack),
                        region,
                    )
                )
        for props in (
            r["Properties"] for r in synthesized.resources(stack, "AWS::Glue::SecurityConfiguration").values()
        ):
            encryption = props["EncryptionConfiguration"].get("CloudWatchEncryption", {})
            if encryption.get("CloudWatchEncryptionMode") == "SSE-KMS":  # Glue writes under /aws-glue/
                pattern = f"arn:aws:logs:{region}:{account}:log-group:/aws-glue/*"
                found.append((pattern, resolve(encryption["KmsKeyArn"], stack), region))
    return found


def log_group_problems(synthesized: Synthesized, statements: list[Statement]) -> list[str]:
    problems = []
    for group, key, region in encrypted_log_groups(synthesized):
        grants = [
            s
            for s in statements
            if s.policy == f"key:{key}"
            and s.effect == "Allow"
            and f"logs.{region}.amazonaws.com" in s.services
        ]
        contexts = [
            v
            for s in grants
            for entries in s.conditions.values()
            for v in entries.get("kms:encryptioncontext:aws:logs:arn", ())
        ]
        if not any(fnmatchcase(group, context) for context in contexts):
            problems.append(
                f"log group {group} is encrypted with {key}, whose policy lets logs.{region} use it only for {contexts}"
            )
    return problems


def test_every_encrypted_log_group_is_covered(synthesized):
    groups = encrypted_log_groups(synthesized)
    assert {region for *_, region in groups} == {synthesized.config.primary_region}, (
        "no encrypted log group in ca-west-1 (no logs grant there)"
    )
    assert len(groups) >= 3, groups  # the audit trail's, the state machine's and Glue's
    problems = log_group_problems(synthesized, policy_statements(synthesized))
    assert not problems, "\n".join(problems)


def access_log_problems(synthesized: Synthesized, statements: list[Statement]) -> list[str]:
    resolve, problems = Resolver(synthesized), []
    for stack in synthesized.templates:
        for props in (r["Properties"] for r in synthesized.resources(stack, "AWS::S3::Bucket").values()):
            logging = props.get("LoggingConfiguration")
            if not logging:
                continue
            source = f"arn:aws:s3:::{resolve(props['BucketName'], stack)}"
            target = resolve(logging["DestinationBucketName"], stack)
            key = f"arn:aws:s3:::{target}/{logging.get('LogFilePrefix', '')}2026-01-01-00-00-00-EXAMPLE"
            if not any(
                s.policy == f"bucket:{target}"
                and s.effect == "Allow"
                and "logging.s3.amazonaws.com" in s.services
                and _allows(s, "s3:PutObject")
                and any(fnmatchcase(key, r) for r in s.resources)
                and any(
                    fnmatchcase(source, v)
                    for entries in s.conditions.values()
                    for v in entries.get("aws:sourcearn", ())
                )
                for s in statements
            ):
                problems.append(f"{source} logs to {target} but no logging.s3 grant covers it (key {key})")
    return problems


def test_every_access_logged_bucket_is_covered(synthesized):
    problems = access_log_problems(synthesized, policy_statements(synthesized))
    assert not problems, "\n".join(problems)


def topic_publishers(synthesized: Synthesized) -> set[tuple[str, str]]:
    """(service principal, topic ARN) of every alarm action and rule target that is an SNS topic."""
    resolve, found = Resolver(synthesized), set()
    for stack in synthesized.templates:
        for props in (
            r["Properties"] for r in synthesized.resources(stack, "AWS::CloudWatch::Alarm").values()
        ):
            for action in (
                props.get("AlarmActions", [])
                + props.get("OKActions", [])
                + props.get("InsufficientDataActions", [])
            ):
                if (arn := resolve(action, stack)).startswith("arn:aws:sns:"):
                    found.add(("cloudwatch.amazonaws.com", arn))
        for props in (r["Properties"] for r in synthesized.resources(stack, "AWS::Events::Rule").values()):
            for target in props.get("Targets", []):
                if (arn := resolve(target["Arn"], stack)).startswith("arn:aws:sns:"):
                    assert "RoleArn" not in target, (
                        f"{arn}: EventBridge delivers to SNS through the topic policy, never a role"
                    )
                    found.add(("events.amazonaws.com", arn))
    return found


def test_every_publisher_of_the_encrypted_topic_is_a_satisfied_row(synthesized):
    """Alarm and failure-rule notifications arrive only if both the topic and its key let the service in."""
    resolve, table, statements = Resolver(synthesized), rows(synthesized), policy_statements(synthesized)
    topics = {
        resolve({"Ref": logical_id}, "Observability"): resolve(
            r["Properties"]["KmsMasterKeyId"], "Observability"
        )
        for logical_id, r in synthesized.resources("Observability", "AWS::SNS::Topic").items()
    }
    publishers = topic_publishers(synthesized)
    assert {service for service, _ in publishers} == {"cloudwatch.amazonaws.com", "events.amazonaws.com"}
    problems = []
    for service, topic in sorted(publishers):
        for policy in (f"topic:{topic}", f"key:{topics[topic]}"):
            matching = [
                r for r in table.values() if r.policy == policy and r.principal == f"Service:{service}"
            ]
            problems += [f"{service} publishes to {topic}; no row for {policy}"] if not matching else []
            problems += [p for r in matching for p in required_problems(r, statements)]
    assert not problems, "\n".join(problems)


# ---- planted: the checks accept the documentation's samples and reject mutations ----------------


@pytest.mark.parametrize("row_id", ROW_IDS)
def test_row_check_accepts_the_documented_sample(synthesized, row_id):
    row = rows(synthesized)[row_id]
    sample = sample_statements(row, synthesized)
    assert not required_problems(row, sample), required_problems(row, sample)
    if row.principal and row.principal.startswith("Service:"):
        assert not overreach_problems([row], sample), overreach_problems([row], sample)


def _witnesses(row: Row, statements: list[Statement]) -> list[tuple[Grant, Statement]]:
    """For each grant, one statement that satisfies it (the one the mutations plant into)."""
    pool = candidates(row, statements)
    return [(g, next(s for s in pool if _allows(s, g.actions[0]) and not g.problems(s))) for g in row.grants]


def mutations(row: Row, statements: list[Statement]) -> list[tuple[str, list[Statement]]]:
    """Copies of ``statements`` each with one planted fault in a statement the row relies on."""
    planted = []
    for grant, witness in _witnesses(row, statements):

        def swap(new: Statement, witness=witness) -> list[Statement]:
            return [new if s is witness else s for s in statements]

        for c in grant.conditions:
            keys = {o.key.lower() for o in c.options}
            dropped = {
                op: {k: v for k, v in e.items() if k not in keys} for op, e in witness.conditions.items()
            }
            planted.append(
                (f"{witness.where}: drop {c.describe()}", swap(replace(witness, conditions=dropped)))
            )
        for key in grant.forbidden:
            added = {
                **witness.conditions,
                "StringEquals": {**witness.conditions.get("StringEquals", {}), key.lower(): ("x",)},
            }
            planted.append((f"{witness.where}: add {key}", swap(replace(witness, conditions=added))))
        if row.principal and row.principal.startswith("Service:") and "kms:*" not in grant.allowed:
            service = grant.actions[0].split(":")[0]
            planted.append(
                (f"{witness.where}: widen to {service}:*", swap(replace(witness, actions=(f"{service}:*",))))
            )
        if grant.resources:
            planted.append((f"{witness.where}: Resource *", swap(replace(witness, resources=("*",)))))
    grant, witness = _witnesses(row, statements)[0]
    stranger = "AWS:arn:aws:iam::999999999999:root" if row.principal else None
    if row.principal:
        stranger = "Service:example.amazonaws.com" if row.principal.startswith("Service:") else stranger
        moved = [
            replace(witness, principals=frozenset({stranger})) if s is witness else s for s in statements
        ]
        planted.append((f"{witness.where}: principal {stranger}", moved))
    pool = set(map(id, candidates(row, statements)))
    planted.append(("delete every statement the row relies on", [s for s in statements if id(s) not in pool]))
    return planted


@pytest.mark.parametrize("row_id", ROW_IDS)
def test_row_check_fails_on_planted_mutations(synthesized, row_id):
    table = rows(synthesized)
    row = table[row_id]
    statements = policy_statements(synthesized)
    if problems := required_problems(row, statements):  # a known role-side defect: plant into the doc sample
        assert row_id in KNOWN_DEFECTS, "\n".join(problems)
        statements = sample_statements(row, synthesized)
    planted = mutations(row, statements)
    assert len(planted) > 1
    for label, mutated in planted:
        caught = required_problems(row, mutated) + overreach_problems(
            table.values(), [s for s in mutated if s.policy == row.policy]
        )
        assert caught, f"[{row_id}] planted fault not caught: {label}"


def test_eventbridge_kms_statement_with_a_source_condition_is_caught(synthesized):
    """The defect fixed here, replanted: one statement for both publishers, narrowed by aws:SourceAccount."""
    table, statements = rows(synthesized), policy_statements(synthesized)
    row = table["eventbridge-kms"]
    (witness,) = candidates(row, statements)
    merged = replace(
        witness,
        principals=frozenset({"Service:events.amazonaws.com", "Service:cloudwatch.amazonaws.com"}),
        conditions={"StringEquals": {"aws:sourceaccount": (synthesized.config.account,)}},
    )
    mutated = [merged if s is witness else s for s in statements]
    assert any("aws:SourceAccount" in p for p in required_problems(row, mutated))


def test_coverage_checks_catch_a_dropped_grant(synthesized):
    statements = policy_statements(synthesized)
    state_machine_logs = [s for s in statements if "StateMachineLogGroup" in s.where]
    assert state_machine_logs
    problems = log_group_problems(synthesized, [s for s in statements if s not in state_machine_logs])
    assert any("/aws/vendedlogs/states/" in p for p in problems), problems
    narrowed = [
        replace(s, conditions={"ArnLike": {"aws:sourcearn": ("arn:aws:s3:::nothing",)}})
        if "logging.s3.amazonaws.com" in s.services
        else s
        for s in statements
    ]
    assert len(access_log_problems(synthesized, narrowed)) >= 8  # every logged bucket loses its grant
