"""IAM coverage: every AWS call the platform makes is granted exactly, on the narrowest resource.

The table of calls is ``tests/stacks/iam_calls.py``. Here the synthesized templates (dev and prod)
are read back: every IAM statement attached to each role or managed policy of the Pipeline stack is
resolved to strings and expanded into (action, resource, condition) triples, which must equal the
table's triples for that principal: a call without its grant fails, and so does any grant no call
needs. The boto3 calls are found in the source with ``ast``, so a new call without a table row fails
too. Action names and resource-level support come from AWS's machine-readable Service Authorization
Reference as bundled by cfn-lint.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import cfnlint.data.AdditionalSpecs

from stacks.names import PlatformNames
from tests.stacks import iam_calls
from tests.stacks.iam_calls import BOTO3_CALLS, CALLERS_BY_FILE, Context, DatasetContext, Expected

ROOT = Path(__file__).resolve().parents[2]
STACK = "Pipeline"
SCANNED = ("glue_scripts", "dap", "lambdas")
Triple = tuple[str, str, Any]  # (action lower-case, resource, condition atom or None)


# --- the Service Authorization Reference, as AWS publishes it (via cfn-lint) ---------------------
@cache
def sar() -> dict[str, Any]:
    path = Path(cfnlint.data.AdditionalSpecs.__file__).parent / "Policies.json"
    return json.loads(path.read_text())


def sar_action(action: str) -> dict[str, Any] | None:
    service, _, name = action.partition(":")
    return sar().get(service, {}).get("Actions", {}).get(name.lower())


def arn_patterns(action: str) -> list[re.Pattern]:
    service = action.split(":")[0]
    types = {k.lower(): v for k, v in sar()[service]["Resources"].items()}
    patterns = []
    for resource_type in sar_action(action).get("Resources", []):
        for fmt in types.get(resource_type.lower(), {}).get("ARNFormats", []):
            regex = re.escape(fmt).replace(re.escape(".*"), ".*")
            for var in ("Partition", "Region", "Account"):
                regex = regex.replace(re.escape("${" + var + "}"), "[^:]*")
            patterns.append(re.compile(regex))
    return patterns


# --- tokens to strings -----------------------------------------------------------------------------
class Resolver:
    """Renders CloudFormation values as the strings AWS will see (unknown ids as ``${Logical}``)."""

    def __init__(self, synthesized) -> None:
        self.templates = synthesized.templates
        self.config = synthesized.config
        self.by_stack_name = {synthesized.config.stack_name(r.lower()): r for r in synthesized.templates}

    def region(self, stack: str) -> str:
        return self.config.backup_region if stack == "Replica" else self.config.primary_region

    def __call__(self, value: Any, stack: str = STACK) -> Any:
        if isinstance(value, str | int | float | bool) or value is None:
            return value
        if isinstance(value, list):
            return [self(v, stack) for v in value]
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(str(self(p, stack)) for p in parts)
        if "Fn::GetStackOutput" in value:
            ref = value["Fn::GetStackOutput"]
            other = self.by_stack_name[ref["StackName"]]
            return self(self.templates[other]["Outputs"][ref["OutputName"]]["Value"], other)
        if "Ref" in value:
            return self.ref(value["Ref"], stack)
        if "Fn::GetAtt" in value:
            return self.get_att(*value["Fn::GetAtt"], stack)
        if len(value) == 1 and next(iter(value)).startswith("Fn::"):
            raise ValueError(f"unresolved intrinsic {value}")
        return {k: self(v, stack) for k, v in value.items()}

    def ref(self, name: str, stack: str) -> str:
        pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": self.region(stack),
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo or name == "AWS::AccountId":
            return pseudo.get(name, self.config.account)
        resource = self.templates[stack]["Resources"][name]
        props, region, account = resource.get("Properties", {}), self.region(stack), self.config.account
        match resource["Type"]:
            case "AWS::StepFunctions::StateMachine":
                return f"arn:aws:states:{region}:{account}:stateMachine:{props['StateMachineName']}"
            case "AWS::SNS::Topic":
                return f"arn:aws:sns:{region}:{account}:{props['TopicName']}"
            case "AWS::S3::Bucket" if "BucketName" in props:
                return self(props["BucketName"], stack)
        return "${" + name + "}"

    def get_att(self, name: str, attribute: str, stack: str) -> str:
        resource = self.templates[stack]["Resources"][name]
        if (resource["Type"], attribute) == ("AWS::KMS::Key", "Arn"):
            return f"arn:aws:kms:{self.region(stack)}:{self.config.account}:key/${{{name}}}"
        if (resource["Type"], attribute) == ("AWS::S3::Bucket", "Arn"):
            return f"arn:aws:s3:::{self.ref(name, stack)}"
        return f"${{{name}.{attribute}}}"


# --- who is who in the Pipeline template -----------------------------------------------------------
def principals(synthesized) -> dict[str, str]:
    """Table principal -> logical id of its role or managed policy; a dataset's are ``<kind>:<id>``."""
    resources = synthesized.templates[STACK]["Resources"]
    n = PlatformNames.of(synthesized.config)

    def of_type(kind: str) -> dict[str, dict]:
        return {k: r.get("Properties", {}) for k, r in resources.items() if r["Type"] == kind}

    def role_of(value: dict) -> str:
        return value["Fn::GetAtt"][0]

    found: dict[str, Any] = {}
    for d in n.datasets:
        suffix = f":{d.dataset_id}"
        for props in of_type("AWS::Glue::Job").values():
            if props["Name"] in d.glue_jobs:
                kind = "quality_job" if props["Name"] == d.quality_job else "summary_job"
                found[kind + suffix] = role_of(props["Role"])
        found["databrew" + suffix] = {
            role_of(p["RoleArn"])
            for p in of_type("AWS::DataBrew::Job").values()
            if p["Name"] in d.databrew_jobs
        }
        found["crawler" + suffix] = {
            role_of(p["Role"]) for p in of_type("AWS::Glue::Crawler").values() if p["Name"] in d.crawlers
        }
        machines = {
            k: p for k, p in of_type("AWS::StepFunctions::StateMachine").items()
            if p["StateMachineName"] == d.state_machine
        }  # fmt: skip
        found["state_machine" + suffix] = {role_of(p["RoleArn"]) for p in machines.values()}
        found["events" + suffix] = {
            role_of(t["RoleArn"])
            for p in of_type("AWS::Events::Rule").values()
            for t in p["Targets"]
            if "RoleArn" in t and t["Arn"].get("Ref") in machines  # Lambda targets: resource policy
        }
        found["portal_ingest" + suffix] = {
            role_of(p["Role"]) for p in of_type("AWS::Lambda::Function").values()
            if p.get("FunctionName") == d.portal_ingest_function
        }  # fmt: skip
    functions = {role_of(p["ServiceToken"]) for p in of_type("Custom::AWS").values()}
    found["recipe_publisher"] = {role_of(resources[f]["Properties"]["Role"]) for f in functions}
    policies = {p["ManagedPolicyName"]: k for k, p in of_type("AWS::IAM::ManagedPolicy").items()}
    found["analyst"] = policies.get(n.analyst_policy)
    found["operator"] = policies.get(n.operator_policy)
    for name, ids in list(found.items()):
        if isinstance(ids, set):
            assert len(ids) == 1, f"{name}: expected one role, found {sorted(ids)}"
            found[name] = ids.pop()
    return found


# --- what the templates grant ---------------------------------------------------------------------
def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statement_triples(statement: dict, where: str, problems: list[str]) -> Iterator[Triple]:
    for unsupported in ("NotAction", "NotResource", "NotPrincipal"):
        if unsupported in statement:
            problems.append(f"{where}: {unsupported} is not allowed (grant named actions on named resources)")
    if statement.get("Effect") != "Allow":
        problems.append(f"{where}: only Allow statements are expected, found {statement.get('Effect')}")
        return
    atoms: list[Any] = [None]
    if condition := statement.get("Condition"):
        pairs = [(op, key, values) for op, block in condition.items() for key, values in block.items()]
        if len(pairs) != 1:
            problems.append(f"{where}: conditions with several keys are not modelled: {condition}")
            return
        op, key, values = pairs[0]
        atoms = [(op, key, v) for v in as_list(values)]
    for action in as_list(statement.get("Action", [])):
        for resource in as_list(statement.get("Resource", [])):
            for atom in atoms:
                yield action.lower(), resource, atom


def granted(synthesized, resolve: Resolver, logical_id: str, problems: list[str]) -> tuple[set, set]:
    """(triples, attached managed policy ARNs) of one role or managed policy."""
    resources = synthesized.templates[STACK]["Resources"]
    resource = resources[logical_id]
    documents = []
    if resource["Type"] == "AWS::IAM::ManagedPolicy":
        documents.append((logical_id, resource["Properties"]["PolicyDocument"]))
    else:
        ref = {"Ref": logical_id}
        for k, r in resources.items():
            if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and ref in r["Properties"].get(
                "Roles", []
            ):
                documents.append((k, r["Properties"]["PolicyDocument"]))
        for inline in resource["Properties"].get("Policies", []):
            documents.append((f"{logical_id} inline {inline['PolicyName']}", inline["PolicyDocument"]))
    triples = set()
    for source, document in documents:
        for i, statement in enumerate(resolve(document)["Statement"]):
            triples |= set(statement_triples(statement, f"{source} statement {i}", problems))
    managed = set(resolve(resource["Properties"].get("ManagedPolicyArns", [])))
    return triples, managed


# --- the table bound to the synthesized artifacts ------------------------------------------------
def context(synthesized, resolve: Resolver) -> Context:
    config, template = synthesized.config, synthesized.templates[STACK]
    names = PlatformNames.of(config)

    def props(kind: str) -> list[dict]:
        return [resolve(r.get("Properties", {})) for r in template["Resources"].values() if r["Type"] == kind]

    jobs = {p["Name"]: p for p in props("AWS::Glue::Job")}
    machines = {p["StateMachineName"]: p for p in props("AWS::StepFunctions::StateMachine")}
    rules = props("AWS::Events::Rule")
    datasets = []
    for entry in config.datasets:
        dn = names.dataset(entry.id)
        machine = machines[dn.state_machine]
        definition = json.loads(machine["DefinitionString"])
        machine_arn = dn.state_machine_arn
        datasets.append(
            DatasetContext(
                names=dn,
                dataset=entry.dataset,
                portal_file=entry.raw_file_name,
                sfn_tasks=[
                    (s["Resource"], s.get("Parameters", {}))
                    for s in iter_states(definition)
                    if s["Type"] == "Task"
                ],
                sfn_logging="LoggingConfiguration" in machine,
                sfn_tracing=machine.get("TracingConfiguration", {}).get("Enabled", False),
                event_targets=sorted(
                    {
                        t["Arn"]
                        for p in rules
                        for t in p["Targets"]
                        if "RoleArn" in t and t["Arn"] == machine_arn
                    }
                ),
            )
        )
    storage_outputs = synthesized.templates["Storage"]["Outputs"]
    observability = synthesized.templates["Observability"]["Resources"]
    (topic_id,) = [k for k, r in observability.items() if r["Type"] == "AWS::SNS::Topic"]
    return Context(
        names=names,
        partition="aws",
        buckets={p: config.bucket_name(p) for p in ("raw", "transformed", "curated", "query-results")},
        key_arn=resolve(storage_outputs["PlatformKeyArn"]["Value"], "Storage"),
        topic_arn=resolve.ref(topic_id, "Observability"),
        stack_names={r: config.stack_name(r) for r in ("storage", "pipeline")},
        datasets=datasets,
        glue_jobs={name: p["DefaultArguments"] for name, p in jobs.items()},
        glue_scripts={name: p["Command"]["ScriptLocation"] for name, p in jobs.items()},
        custom_calls=[json.loads(p["Create"]) for p in props("Custom::AWS")],
    )


def iter_states(definition: dict) -> Iterator[dict]:
    for state in definition["States"].values():
        yield state
        for branch in state.get("Branches", []) + ([state["Iterator"]] if "Iterator" in state else []):
            yield from iter_states(branch)


# --- the check -------------------------------------------------------------------------------------
def coverage_problems(synthesized) -> list[str]:
    """Every difference between the table and the grants of the Pipeline stack's principals."""
    problems: list[str] = []
    resolve = Resolver(synthesized)
    found = principals(synthesized)
    expected = iam_calls.expected_grants(context(synthesized, resolve))
    by_principal: dict[str, dict[Triple, Expected]] = {}
    for row in expected:
        by_principal.setdefault(row.principal, {})[(row.action.lower(), row.resource, row.condition)] = row

    resources = synthesized.templates[STACK]["Resources"]
    known = set(found.values())
    for stack, template in synthesized.templates.items():  # a function anywhere is a caller
        for logical_id, r in template["Resources"].items():
            role = r.get("Properties", {}).get("Role", {})
            known_functions = {(STACK, found.get("recipe_publisher"))} | {
                (STACK, role_id) for name, role_id in found.items() if name.startswith("portal_ingest:")
            }
            if (
                r["Type"] == "AWS::Lambda::Function"
                and (stack, role.get("Fn::GetAtt", [""])[0]) not in known_functions
            ):
                problems.append(
                    f"{stack} AWS::Lambda::Function {logical_id}: a deployed function with no principal in "
                    "the IAM table (add its calls' rows; drop its code from NOT_DEPLOYED)"
                )
    for logical_id, r in resources.items():
        if r["Type"] in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy") and logical_id not in known:
            problems.append(
                f"{r['Type']} {logical_id}: no principal in the IAM table (what calls does it make?)"
            )
        if r["Type"] == "AWS::IAM::Policy":
            for role in r["Properties"].get("Roles", []):
                if role.get("Ref") not in known:
                    problems.append(f"AWS::IAM::Policy {logical_id} is attached to unknown role {role}")

    for principal, logical_id in sorted(found.items(), key=lambda item: item[0]):
        if logical_id is None:
            problems.append(f"{principal}: not found in the {STACK} template")
            continue
        triples, managed = granted(synthesized, resolve, logical_id, problems)
        want = by_principal.get(principal, {})
        for triple, row in sorted(want.items(), key=str):
            if triple not in triples:
                problems.append(
                    f"{principal} ({logical_id}) lacks {row.action} on {row.resource}"
                    + (f" when {triple[2]}" if triple[2] else "")
                    + f": needed by {row.why} ({row.doc})"
                )
        for action, resource, condition in sorted(triples - set(want), key=str):
            problems.append(
                f"{principal} ({logical_id}) grants {action} on {resource}"
                + (f" when {condition}" if condition else "")
                + ", which no call in the IAM table needs"
            )
        allowed = set(iam_calls.ALLOWED_MANAGED_POLICIES.get(principal, {}))
        for arn in sorted(managed - allowed):
            problems.append(f"{principal} ({logical_id}) has managed policy {arn} attached, not in the table")
    return problems


# --- the tests -------------------------------------------------------------------------------------
def test_every_principal_grants_exactly_the_table(synthesized):
    problems = coverage_problems(synthesized)
    assert problems == [], "\n".join(problems)


def test_table_actions_exist_and_resources_fit_their_types(synthesize):
    """Every table action is in the SAR; each resource is of a type the action accepts; '*' only
    where the SAR lists no resource type (or one our call cannot name, declared with a reason)."""
    synthesized = synthesize("dev")
    rows = iam_calls.expected_grants(context(synthesized, Resolver(synthesized)))
    problems = []
    for row in rows:
        entry = sar_action(row.action)
        if entry is None:
            problems.append(f"{row.principal}: {row.action} is not an action in the SAR")
            continue
        types = [t.lower() for t in entry.get("Resources", [])]
        if row.resource == "*":
            declared = iam_calls.STAR_EXCEPTIONS.get(row.action.lower(), ((), ""))[0]
            if set(types) - set(as_list(declared)):
                problems.append(f"{row.principal}: {row.action} on '*' but the SAR lists types {types}")
            continue
        if not any(p.fullmatch(row.resource) for p in arn_patterns(row.action)):
            problems.append(f"{row.principal}: {row.resource} is not a {types} ARN for {row.action}")
        if row.action.startswith("s3:"):  # SAR: bucket is arn:...:s3:::name, object is .../key
            object_level = "object" in types
            if object_level != ("/" in row.resource.removeprefix("arn:aws:s3:::")):
                problems.append(f"{row.principal}: {row.action} wants a {types} ARN, got {row.resource}")
        if row.resource.endswith(":s3:::*") or re.fullmatch(r"arn:aws:s3:::[^/]+/\*", row.resource):
            problems.append(f"{row.principal}: {row.action} on a whole bucket: {row.resource}")
        if not row.doc.startswith("https://docs.aws.amazon.com/"):
            problems.append(f"{row.principal}: {row.action} cites no AWS documentation page")
    assert problems == [], "\n".join(problems)


def boto3_calls_in_source() -> tuple[dict[tuple[str, str], set[str]], list[str]]:
    """((boto3 service, operation) -> files, clients the scan cannot follow) over ``SCANNED``."""
    found: dict[tuple[str, str], set[str]] = {}
    escapes: list[str] = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            calls, lines = scan_clients(ast.parse(path.read_text(encoding="utf-8")))
            for call in calls:
                found.setdefault(call, set()).add(rel)
            escapes += [f"{rel}:{line}" for line in lines]
    return found, escapes


def _literal_clients(node: ast.AST) -> list[ast.Call]:
    """Every ``<x>.client("svc")`` call (literal service) inside ``node``."""
    return [
        sub
        for sub in ast.walk(node)
        if isinstance(sub, ast.Call)
        and isinstance(sub.func, ast.Attribute)
        and sub.func.attr == "client"
        and sub.args
        and isinstance(sub.args[0], ast.Constant)
        and isinstance(sub.args[0].value, str)
    ]


def _client_expression(node: ast.AST) -> list[ast.Call]:
    """The client calls ``node`` evaluates to: ``x.client("s3")`` or ``(s3_client or x.client("s3"))``."""
    if isinstance(node, ast.Call | ast.BoolOp):
        clients = _literal_clients(node)
        if isinstance(node, ast.BoolOp) or (clients and clients[0] is node):
            return clients
    return []


@cache
def boto3_services() -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_available_services())


def _by_convention(node: ast.AST, parameters: set[str], handed_over: set[str]) -> str | None:
    """The service of a client handed over as an argument and used under its service's name: a
    parameter ``s3`` or ``cloudwatch_client``, or ``self.s3`` stored from such a parameter."""
    if isinstance(node, ast.Name) and node.id in parameters:
        name = node.id
    elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr in handed_over:
        name = node.attr
    else:
        return None
    service = name.removesuffix("_client")
    return service if service in boto3_services() else None


def _stored_parameters(tree: ast.Module) -> set[str]:
    """Attributes set as ``self.x = x`` (also in tuple form) from a parameter of the same name."""
    stored = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            targets, values = node.targets[0], node.value
            pairs = (
                zip(targets.elts, values.elts, strict=False)
                if isinstance(targets, ast.Tuple) and isinstance(values, ast.Tuple)
                else [(targets, values)]
            )
            for target, value in pairs:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(value, ast.Name)
                    and target.attr == value.id
                ):
                    stored.add(target.attr)
    return stored


def scan_clients(tree: ast.Module) -> tuple[set[tuple[str, str]], list[int]]:
    """Operations called on boto3 clients, and the lines of clients whose use the scan cannot see.

    A client is followed when a method is called on it directly, or on the name it is assigned to in
    the same function, or when it is passed as a call argument (the callee then names it after its
    service, see ``_by_convention``); ``get_paginator("op")`` counts as ``op``. A client put anywhere
    else (a container, a return value) escapes: the test fails on it, so no call goes unlisted.
    """
    calls: set[tuple[str, str]] = set()
    used: set[int] = set()
    handed_over = _stored_parameters(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                used |= {id(c) for c in _client_expression(argument)}
    scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))]
    for scope in scopes:
        parameters = (
            {a.arg for a in ast.walk(scope.args) if isinstance(a, ast.arg)} if scope is not tree else set()
        )
        bound = {
            node.targets[0].id: _client_expression(node.value)
            for node in ast.walk(scope)
            if isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and _client_expression(node.value)
        }
        for node in ast.walk(scope):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            target = node.func.value
            clients = bound.get(target.id, []) if isinstance(target, ast.Name) else _client_expression(target)
            service = clients[0].args[0].value if clients else _by_convention(target, parameters, handed_over)
            if service is None or node.func.attr == "client":
                continue
            used |= {id(c) for c in clients}
            operation = node.func.attr
            if operation == "get_paginator" and isinstance(node.args[0], ast.Constant):
                operation = node.args[0].value
            calls.add((service, operation))
    return calls, sorted(c.lineno for c in _literal_clients(tree) if id(c) not in used)


def test_source_scan_finds_the_known_calls():
    """The scanner is live: it finds the calls we know are there, in the files we know."""
    found, _ = boto3_calls_in_source()
    assert found[("s3", "put_object")] == {"glue_scripts/lib/dataset_etl/io.py"}
    assert found[("cloudwatch", "put_metric_data")] == {"glue_scripts/lib/dataset_etl/io.py"}
    assert found[("stepfunctions", "get_execution_history")] == {"dap/operations.py"}
    assert found[("s3", "list_objects_v2")] == {"dap/report.py"}
    assert found[("sts", "get_caller_identity")] == {"dap/aws/deployed.py"}


def test_every_client_in_the_source_is_followed_by_the_scan():
    _, escapes = boto3_calls_in_source()
    assert escapes == [], f"boto3 clients whose calls the IAM scan cannot see: {escapes}"


def test_every_boto3_call_has_a_table_row_granted_to_its_caller(synthesize):
    synthesized = synthesize("dev")
    rows = iam_calls.expected_grants(context(synthesized, Resolver(synthesized)))
    granted_actions: dict[str, set[str]] = {}
    for row in rows:
        granted_actions.setdefault(row.principal, set()).add(row.action.lower())
    problems = []
    found, _ = boto3_calls_in_source()
    for (service, method), files in sorted(found.items()):
        call = BOTO3_CALLS.get((service, method))
        if call is None:
            problems.append(f"{service}.{method} ({', '.join(sorted(files))}) has no row in BOTO3_CALLS")
            continue
        for file in sorted(files):
            if file in iam_calls.NOT_DEPLOYED:
                continue
            callers = CALLERS_BY_FILE.get(file)
            if callers is None:
                problems.append(f"{file}: calls {service}.{method} but names no principal in CALLERS_BY_FILE")
                continue
            # ``kind:*`` is every dataset's principal of that kind: each of them must be granted the call
            expanded = [
                [p for p in granted_actions if p.startswith(c[:-1])] if c.endswith(":*") else [c]
                for c in callers
            ]
            have = set().union(*(granted_actions.get(p, set()) for group in expanded for p in group))
            for group in expanded:
                if len(group) > 1:  # the action must be granted to each dataset's principal, not one of them
                    for action in call.actions:
                        missing = [p for p in group if action.lower() not in granted_actions.get(p, set())]
                        if missing and action.lower() in have:
                            problems.append(
                                f"{file}: {service}.{method} needs {action}, not granted to {missing}"
                            )
            for action in call.actions:
                if action.lower() not in have:
                    problems.append(
                        f"{file}: {service}.{method} needs {action}, granted to none of {callers}"
                    )
    for file in sorted(set(iam_calls.NOT_DEPLOYED) - {f for files in found.values() for f in files}):
        problems.append(f"NOT_DEPLOYED names {file}, which makes no boto3 call")
    for key in sorted(set(BOTO3_CALLS) - set(found)):
        problems.append(f"BOTO3_CALLS row {key} matches no call in {', '.join(SCANNED)} (stale row)")
    assert problems == [], "\n".join(problems)


def test_source_scan_catches_a_new_call_and_an_escaping_client():
    tree = ast.parse(
        "def f(d, boto3):\n"
        '    sqs = d.client("sqs")\n'
        '    sqs.send_message(QueueUrl="q")\n'
        '    ingest(boto3.client("s3"))\n'
    )
    calls, escapes = scan_clients(tree)
    assert calls == {("sqs", "send_message")}
    assert ("sqs", "send_message") not in BOTO3_CALLS
    assert escapes == []  # passed as an argument: the callee's `s3.<op>(...)` calls are scanned
    calls, escapes = scan_clients(ast.parse('def g(boto3):\n    return [boto3.client("kms")]\n'))
    assert (calls, escapes) == (set(), [2])
    source = "def h(s3, sns, config):\n    self.sns = sns\n    s3.copy_object()\n    self.sns.publish()\n"
    calls, _ = scan_clients(ast.parse(source + "    self.config.stack_name()\n    events.extend([])\n"))
    assert calls == {("s3", "copy_object"), ("sns", "publish")}


# --- the check catches planted mutations -----------------------------------------------------------
def _mutated(synthesized, mutate) -> Any:
    templates = copy.deepcopy(synthesized.templates)
    mutate(templates[STACK]["Resources"])
    return type(synthesized)(
        synthesized.config, templates, synthesized.validation_report, None, synthesized.acknowledgments
    )


def _policy_of(resources: dict, role_id: str) -> dict:
    (policy,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    return policy["Properties"]["PolicyDocument"]


def test_check_catches_a_removed_action(synthesize):
    synthesized = synthesize("dev")
    role = principals(synthesized)["state_machine:business_licences"]

    def drop_list_executions(resources):
        statements = _policy_of(resources, role)["Statement"]
        statements[:] = [s for s in statements if "states:ListExecutions" not in as_list(s["Action"])]

    problems = coverage_problems(_mutated(synthesized, drop_list_executions))
    assert any("lacks states:ListExecutions on arn:aws:states:" in p for p in problems), problems


def test_check_catches_a_resource_widened_to_star(synthesize):
    synthesized = synthesize("dev")
    role = principals(synthesized)["summary_job:business_licences"]

    def widen(resources):
        for statement in _policy_of(resources, role)["Statement"]:
            if "s3:PutObject" in as_list(statement["Action"]):
                statement["Resource"] = "*"

    problems = coverage_problems(_mutated(synthesized, widen))
    assert any("grants s3:putobject on *, which no call" in p for p in problems), problems
    assert any("lacks s3:PutObject on arn:aws:s3:::vdap-dev-curated-" in p for p in problems), problems


def test_check_catches_an_unlisted_action_and_a_new_role(synthesize):
    synthesized = synthesize("dev")
    analyst = principals(synthesized)["analyst"]

    def add(resources):
        document = resources[analyst]["Properties"]["PolicyDocument"]
        document["Statement"].append(
            {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::x/y"}
        )
        resources["StrayRole"] = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}

    problems = coverage_problems(_mutated(synthesized, add))
    assert any("analyst" in p and "grants s3:deleteobject on arn:aws:s3:::x/y" in p for p in problems), (
        problems
    )
    assert any("StrayRole: no principal in the IAM table" in p for p in problems), problems


def test_sar_check_rejects_a_star_where_a_resource_type_exists():
    assert sar_action("glue:StartJobRun")["Resources"] == ["job"]
    assert "Resources" not in sar_action("glue:GetSecurityConfiguration")
    assert not any(
        p.fullmatch("arn:aws:glue:ca-central-1:1:table/db/t") for p in arn_patterns("glue:GetDatabase")
    )
    assert any(p.fullmatch("arn:aws:glue:ca-central-1:1:table/db/t") for p in arn_patterns("glue:GetTable"))


def test_every_dataset_has_its_own_principals(synthesize):
    """No role is shared between datasets: each reaches its own dataset's prefixes only."""
    synthesized = synthesize("dev")
    found = principals(synthesized)
    per_dataset = (
        "quality_job",
        "summary_job",
        "databrew",
        "crawler",
        "state_machine",
        "events",
        "portal_ingest",
    )
    for dataset_id in synthesized.config.dataset_ids:
        for kind in per_dataset:
            assert found.get(f"{kind}:{dataset_id}"), f"{kind}:{dataset_id} not found"
    roles = [found[f"{kind}:{d}"] for kind in per_dataset for d in synthesized.config.dataset_ids]
    assert len(set(roles)) == len(roles)
