"""What Step Functions accepts in a Task state, transcribed from the AWS documentation, one row per
integration this state machine uses, and resolved against botocore's service models (AWS's own
published API models) for the request members, output members and error names.

Sources (AWS Step Functions Developer Guide unless noted):
- Integration patterns per optimized service ("Optimized integrations in Step Functions" table: Request
  Response / Run a Job .sync / Wait for Callback .waitForTaskToken):
  https://docs.aws.amazon.com/step-functions/latest/dg/integrate-optimized.html
  https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html
- AWS SDK integrations: ``arn:aws:states:::aws-sdk:serviceName:apiAction.[serviceIntegrationPattern]``;
  "Over two hundred services | Standard & Express | Not supported | Standard" (so no ``.sync``);
  parameters in PascalCase even where the API is camelCase; errors are ``ServiceName.ErrorName``, both
  in PascalCase, and always carry the ``Exception`` suffix, even when the service's own error name has
  none (S3 ``BucketAlreadyExists`` -> ``S3.BucketAlreadyExistsException``):
  https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
- Predefined ``States.*`` error names: https://states-language.net/spec.html#appendix-a and
  https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import botocore.session
from botocore.loaders import Loader
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

REQUEST_RESPONSE, SYNC, CALLBACK = "", ".sync", ".waitForTaskToken"

# Appendix A of the ASL spec (States.ALL, HeartbeatTimeout, Timeout, TaskFailed, Permissions,
# ResultPathMatchFailure, ParameterPathFailure, BranchFailed, NoChoiceMatched, IntrinsicFailure,
# ExceedToleratedFailureThreshold, ItemReaderFailed, ResultWriterFailed) and the Step Functions
# "Handling errors" page (adds DataLimitExceeded, Runtime, Http.Socket, QueryEvaluationError).
PREDEFINED_ERRORS = frozenset(
    {
        "States.ALL",
        "States.DataLimitExceeded",
        "States.ExceedToleratedFailureThreshold",
        "States.HeartbeatTimeout",
        "States.Http.Socket",
        "States.IntrinsicFailure",
        "States.ItemReaderFailed",
        "States.NoChoiceMatched",
        "States.ParameterPathFailure",
        "States.Permissions",
        "States.ResultPathMatchFailure",
        "States.ResultWriterFailed",
        "States.Runtime",
        "States.TaskFailed",
        "States.Timeout",
        "States.BranchFailed",
        "States.QueryEvaluationError",
    }
)


@dataclass(frozen=True)
class OutputShape:
    """Where a Task's result comes from: an operation's output, or one member of it (``[]`` = list item)."""

    service: str
    operation: str
    member_path: tuple[str, ...] = ()


@dataclass(frozen=True)
class Integration:
    kind: str  # "optimized" or "aws-sdk"
    patterns: frozenset[str]  # the Resource suffixes the docs allow for this service
    botocore_service: str
    operation: str
    error_prefix: str  # <ServiceName> of "<ServiceName>.<Exception>"
    doc: str
    # What .sync returns (the job's state once finished); None when the pattern is not allowed.
    sync_output: tuple[OutputShape, ...] = ()
    # Error codes the service documents outside its botocore model: (code, documentation URL).
    documented_errors: tuple[tuple[str, str], ...] = ()


AWS_SDK_DOC = "https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html"
SDK_PATTERNS = frozenset({REQUEST_RESPONSE, CALLBACK})

# Keyed by the Resource after "arn:<partition>:states:::" without the pattern suffix.
INTEGRATIONS: dict[str, Integration] = {
    # Optimized table row "AWS Glue | Standard & Express | Standard | Not supported"; supported API:
    # StartJobRun. The .sync result is the JobRun (aws-cdk-lib GlueStartJobRun: "the output of this task
    # is a JobRun structure"; Step Functions polls glue:GetJobRun, see the page's IAM policies).
    "glue:startJobRun": Integration(
        kind="optimized",
        patterns=frozenset({REQUEST_RESPONSE, SYNC}),
        botocore_service="glue",
        operation="StartJobRun",
        error_prefix="Glue",
        doc="https://docs.aws.amazon.com/step-functions/latest/dg/connect-glue.html",
        sync_output=(OutputShape("glue", "GetJobRun", ("JobRun",)),),
    ),
    # Optimized table row "AWS Glue DataBrew | Standard & Express | Standard | Not supported"; the page
    # shows databrew:startJobRun and databrew:startJobRun.sync. The page does not describe the .sync
    # result; Step Functions polls databrew:ListJobRuns (the .sync IAM policy on
    # https://docs.aws.amazon.com/step-functions/latest/dg/databrew-iam.html), whose items are JobRun;
    # DescribeJobRun returns the same fields. A path must exist in one of them.
    "databrew:startJobRun": Integration(
        kind="optimized",
        patterns=frozenset({REQUEST_RESPONSE, SYNC}),
        botocore_service="databrew",
        operation="StartJobRun",
        error_prefix="DataBrew",
        doc="https://docs.aws.amazon.com/step-functions/latest/dg/connect-databrew.html",
        sync_output=(
            OutputShape("databrew", "ListJobRuns", ("JobRuns", "[]")),
            OutputShape("databrew", "DescribeJobRun"),
        ),
    ),
    # Optimized table row "Amazon SNS | Standard & Express | Not supported | Standard"; supported API:
    # Publish, its request parameters (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html).
    "sns:publish": Integration(
        kind="optimized",
        patterns=frozenset({REQUEST_RESPONSE, CALLBACK}),
        botocore_service="sns",
        operation="Publish",
        error_prefix="SNS",
        doc="https://docs.aws.amazon.com/step-functions/latest/dg/connect-sns.html",
    ),
    # AWS SDK integrations: service names as listed on the AWS SDK page (s3, sfn).
    "aws-sdk:s3:getObject": Integration(
        kind="aws-sdk",
        patterns=SDK_PATTERNS,
        botocore_service="s3",
        operation="GetObject",
        error_prefix="S3",
        doc=AWS_SDK_DOC,
        # S3 returns 503 SlowDown ("Please reduce your request rate") on any request; botocore does not
        # model it as an error shape. https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
        documented_errors=(
            ("SlowDown", "https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html"),
        ),
    ),
    "aws-sdk:s3:listObjectsV2": Integration(
        kind="aws-sdk",
        patterns=SDK_PATTERNS,
        botocore_service="s3",
        operation="ListObjectsV2",
        error_prefix="S3",
        doc=AWS_SDK_DOC,
        documented_errors=(
            ("SlowDown", "https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html"),
        ),
    ),
    "aws-sdk:s3:putObject": Integration(
        kind="aws-sdk",
        patterns=SDK_PATTERNS,
        botocore_service="s3",
        operation="PutObject",
        error_prefix="S3",
        doc=AWS_SDK_DOC,
        documented_errors=(
            ("SlowDown", "https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html"),
        ),
    ),
    "aws-sdk:sfn:listExecutions": Integration(
        kind="aws-sdk",
        patterns=SDK_PATTERNS,
        botocore_service="stepfunctions",
        operation="ListExecutions",
        error_prefix="Sfn",
        doc=AWS_SDK_DOC,
    ),
}

RESOURCE_RE = re.compile(r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):states:::(?P<body>.+)$")
PATTERN_RE = re.compile(r"^(?P<integration>.+?)(?P<pattern>\.sync(?::2)?|\.waitForTaskToken)?$")


def split_resource(resource: str) -> tuple[str, str] | None:
    """``arn:aws:states:::glue:startJobRun.sync`` -> (``glue:startJobRun``, ``.sync``); None if not a
    service integration (a Lambda or activity ARN)."""
    match = RESOURCE_RE.match(resource)
    if not match:
        return None
    parts = PATTERN_RE.match(match["body"])
    return parts["integration"], parts["pattern"] or REQUEST_RESPONSE


@functools.cache
def operation_model(service: str, operation: str) -> OperationModel:
    return botocore.session.get_session().get_service_model(service).operation_model(operation)


def pascal(name: str) -> str:
    """Step Functions spells every API member in PascalCase (``stateMachineArn`` -> ``StateMachineArn``)."""
    return name[:1].upper() + name[1:]


def with_exception_suffix(name: str) -> str:
    return name if name.endswith("Exception") else f"{name}Exception"


@functools.cache
def sdk_throttling_codes() -> frozenset[str]:
    """Throttling error codes that AWS's SDK data treats as throttling for every service.

    From botocore's ``_retry.json`` (``__default__`` policies that match a ``service_error_code``):
    ``Throttling``, ``ThrottlingException``, ``ThrottledException``, ``RequestThrottledException``,
    ``ProvisionedThroughputExceededException``. Services return them without modelling them as shapes.
    """
    data = Loader().load_data("_retry")
    codes = set()
    for policy in data["retry"]["__default__"]["policies"].values():
        definition = data["definitions"].get(policy.get("$ref", ""), policy)
        code = definition.get("applies_when", {}).get("response", {}).get("service_error_code")
        if code:
            codes.add(code)
    return frozenset(codes)


def service_error_names(integration: Integration) -> frozenset[str]:
    """Every ``<Service>.<Exception>`` name this integration's operation can raise in Step Functions."""
    model = operation_model(integration.botocore_service, integration.operation)
    names = {shape.name for shape in model.error_shapes}
    names |= sdk_throttling_codes()
    names |= {code for code, _ in integration.documented_errors}
    return frozenset(f"{integration.error_prefix}.{with_exception_suffix(n)}" for n in names)


def request_problems(integration: Integration, parameters: dict) -> list[str]:
    """Keys of a Task's ``Parameters`` that the operation's request does not accept, and required
    members that are missing. Structures are checked all the way down; maps take any key."""
    shape = operation_model(integration.botocore_service, integration.operation).input_shape
    problems = _structure_problems(shape, parameters, "Parameters")
    present = {key.removesuffix(".$") for key in parameters}
    problems += [
        f"Parameters misses the required member {pascal(m)!r}"
        for m in shape.required_members
        if pascal(m) not in present
    ]
    return problems


def _structure_problems(shape: StructureShape, value: dict, where: str) -> list[str]:
    members = {pascal(name): member for name, member in shape.members.items()}
    problems = []
    for key, item in value.items():
        field = key.removesuffix(".$")
        if field not in members:
            problems.append(f"{where}.{field} is not a request member of {shape.name} {sorted(members)}")
        elif not key.endswith(".$") and isinstance(members[field], StructureShape) and isinstance(item, dict):
            problems += _structure_problems(members[field], item, f"{where}.{field}")
    return problems


PATH_RE = re.compile(r"(?<![$\w])\$((?:\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]]*\])+)")
STEP_RE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[[^\]]*\]")


def result_paths(selector: dict) -> list[str]:
    """Every ``$.…`` path (not ``$$.`` context paths) read by a ResultSelector, inside intrinsics too."""
    paths = []
    for key, value in selector.items():
        if isinstance(value, dict):
            paths += result_paths(value)
        elif key.endswith(".$") and isinstance(value, str):
            paths += [f"${m.group(1)}" for m in PATH_RE.finditer(value)]
    return paths


def output_shapes(integration: Integration, pattern: str) -> list[Shape]:
    own = OutputShape(integration.botocore_service, integration.operation)
    sources = integration.sync_output if pattern == SYNC else (own,)
    shapes = []
    for source in sources:
        shape = operation_model(source.service, source.operation).output_shape
        for step in source.member_path:
            shape = shape.member if step == "[]" else shape.members[step]
        shapes.append(shape)
    return shapes


def path_exists(shape: Shape, path: str) -> bool:
    """Whether a ``$.A.B[*].C`` path names members of ``shape`` (PascalCase, as Step Functions returns)."""
    for match in STEP_RE.finditer(path.removeprefix("$")):
        field = match.group(1)
        if field is None:  # [*], [0]: into a list
            if not isinstance(shape, ListShape):
                return False
            shape = shape.member
        elif isinstance(shape, MapShape):
            shape = shape.value
        elif isinstance(shape, StructureShape):
            members = {pascal(name): member for name, member in shape.members.items()}
            if field not in members:
                return False
            shape = members[field]
        else:
            return False
    return True
