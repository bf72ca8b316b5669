"""The table of every AWS API call the platform makes, the IAM action each needs, and on what resource.

Two halves:

* what a kind of call needs (``BOTO3_CALLS``, ``SFN_INTEGRATIONS``, ``SPARK``, ``RUNTIME``): AWS
  knowledge, one documentation page per row, never inferred from our own templates;
* who makes which call on which resource (``expected_grants``): bound to the names, prefixes and
  synthesized artifacts (Glue job arguments, state machine tasks) of one stage. Each dataset has its
  own principals (``quality_job:<id>``, ``state_machine:<id>`` ...), granted its own resources only.

``tests/stacks/test_iam_coverage.py`` proves each role and managed policy grants exactly these
(action, resource, condition) triples: nothing missing, nothing more. Action names and resource-level
support are checked against the Service Authorization Reference (SAR) as AWS publishes it in machine
form (https://servicereference.us-east-1.amazonaws.com, bundled by cfn-lint as
``cfnlint/data/AdditionalSpecs/Policies.json``). SAR pages per service prefix:
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from dataset_etl.declaration import Dataset

from stacks.layout import DatasetLayout
from stacks.names import METRIC_NAMESPACE, DatasetNames, PlatformNames

SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/"
SAR_PAGES = {
    "athena": SAR + "list_amazonathena.html",
    "cloudformation": SAR + "list_awscloudformation.html",
    "cloudwatch": SAR + "list_amazoncloudwatch.html",
    "databrew": SAR + "list_awsgluedatabrew.html",
    "glue": SAR + "list_awsglue.html",
    "kms": SAR + "list_awskeymanagementservice.html",
    "logs": SAR + "list_amazoncloudwatchlogs.html",
    "s3": SAR + "list_amazons3.html",
    "sns": SAR + "list_amazonsns.html",
    "states": SAR + "list_awsstepfunctions.html",
    "sts": SAR + "list_awssecuritytokenservice.html",
    "xray": SAR + "list_awsx-ray.html",
}

# Documentation of what each kind of caller needs (beyond the SAR's action list).
SFN_DOCS = "https://docs.aws.amazon.com/step-functions/latest/dg/"
GLUE_DOCS = "https://docs.aws.amazon.com/glue/latest/dg/"
DOC_GLUE_ROLE = GLUE_DOCS + "create-service-policy.html"  # job role: read the script, S3 data
DOC_GLUE_ENCRYPTION = GLUE_DOCS + "encryption-security-configuration.html"  # key use, AssociateKmsKey
DOC_GLUE_LOGGING = GLUE_DOCS + "monitor-continuous-logging-enable.html"
DOC_GLUE_METRICS = GLUE_DOCS + "monitoring-awsglue-with-cloudwatch-metrics.html"
DOC_CRAWLER_ROLE = GLUE_DOCS + "define-crawler-configure-security-settings.html"
DOC_DATABREW_ROLE = "https://docs.aws.amazon.com/databrew/latest/dg/iam-policy-for-data-resources-role.html"
DOC_DATABREW_LOGS = (
    "https://docs.aws.amazon.com/databrew/latest/dg/setting-up-iam-role-to-use-in-databrew.html"
)
DOC_S3_KMS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"
DOC_S3_MPU = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions"
DOC_S3_COPY = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html"
DOC_S3_HEAD = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html"
DOC_SNS_KMS = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"
DOC_CW_NAMESPACE = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html"
)
DOC_STS_IDENTITY = "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"
DOC_LAMBDA_ROLE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html"
DOC_EVENTS_TARGET = SFN_DOCS + "tutorial-cloudwatch-events-s3.html"
DOC_ATHENA_S3 = "https://docs.aws.amazon.com/athena/latest/ug/s3-permissions.html"
DOC_ATHENA_GLUE = "https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html"
DOC_ATHENA_KMS = "https://docs.aws.amazon.com/athena/latest/ug/encryption.html"
DOC_ATHENA_WORKGROUP = "https://docs.aws.amazon.com/athena/latest/ug/workgroups-iam-policy.html"

# A condition atom: (operator, key, one value). Values of one key are OR'ed, so a statement whose
# condition lists several values grants one triple per value.
Condition = tuple[str, str, str] | None


@dataclass(frozen=True)
class Call:
    """What one kind of call needs: IAM actions (empty: none needed) and the page that says so."""

    actions: tuple[str, ...]
    doc: str
    note: str = ""


# --- boto3 calls in glue_scripts/ and dap/ (service name as boto3 spells it, method) --------------
# The test scans the source with ``ast``: a call with no row here fails the suite.
BOTO3_CALLS: dict[tuple[str, str], Call] = {
    ("s3", "put_object"): Call(("s3:PutObject",), SAR_PAGES["s3"]),
    ("s3", "get_object"): Call(("s3:GetObject",), SAR_PAGES["s3"]),
    ("s3", "head_object"): Call(("s3:GetObject",), SAR_PAGES["s3"], "HeadObject is authorized as GetObject"),
    ("s3", "upload_file"): Call(
        ("s3:PutObject", "s3:AbortMultipartUpload"),
        DOC_S3_MPU,
        "PutObject (or Create/UploadPart/CompleteMultipartUpload, all s3:PutObject); abort on failure",
    ),
    ("s3", "download_file"): Call(("s3:GetObject",), SAR_PAGES["s3"], "HeadObject then ranged GetObject"),
    ("s3", "create_multipart_upload"): Call(("s3:PutObject",), DOC_S3_MPU),
    ("s3", "upload_part"): Call(("s3:PutObject",), DOC_S3_MPU),
    ("s3", "complete_multipart_upload"): Call(("s3:PutObject",), DOC_S3_MPU),
    ("s3", "abort_multipart_upload"): Call(("s3:AbortMultipartUpload",), DOC_S3_MPU),
    ("s3", "copy_object"): Call(("s3:GetObject", "s3:PutObject"), DOC_S3_COPY, "GetObject on the source"),
    ("s3", "delete_object"): Call(("s3:DeleteObject",), SAR_PAGES["s3"]),
    ("sns", "publish"): Call(("sns:Publish",), SAR_PAGES["sns"]),
    ("databrew", "start_job_run"): Call(("databrew:StartJobRun",), SAR_PAGES["databrew"]),
    ("databrew", "list_job_runs"): Call(("databrew:ListJobRuns",), SAR_PAGES["databrew"]),
    ("glue", "get_job_runs"): Call(("glue:GetJobRuns",), SAR_PAGES["glue"]),
    ("glue", "list_crawls"): Call(("glue:ListCrawls",), SAR_PAGES["glue"]),
    ("s3", "list_objects_v2"): Call(("s3:ListBucket",), SAR_PAGES["s3"], "through get_paginator"),
    ("cloudwatch", "put_metric_data"): Call(("cloudwatch:PutMetricData",), DOC_CW_NAMESPACE),
    ("stepfunctions", "start_execution"): Call(("states:StartExecution",), SAR_PAGES["states"]),
    ("stepfunctions", "describe_execution"): Call(("states:DescribeExecution",), SAR_PAGES["states"]),
    ("stepfunctions", "get_execution_history"): Call(("states:GetExecutionHistory",), SAR_PAGES["states"]),
    ("stepfunctions", "list_executions"): Call(("states:ListExecutions",), SAR_PAGES["states"]),
    ("athena", "list_named_queries"): Call(("athena:ListNamedQueries",), SAR_PAGES["athena"]),
    ("athena", "get_named_query"): Call(("athena:GetNamedQuery",), SAR_PAGES["athena"]),
    ("athena", "start_query_execution"): Call(("athena:StartQueryExecution",), SAR_PAGES["athena"]),
    ("athena", "get_query_execution"): Call(("athena:GetQueryExecution",), SAR_PAGES["athena"]),
    ("athena", "get_query_results"): Call(("athena:GetQueryResults",), SAR_PAGES["athena"]),
    ("athena", "stop_query_execution"): Call(("athena:StopQueryExecution",), SAR_PAGES["athena"]),
    ("cloudformation", "describe_stacks"): Call(
        ("cloudformation:DescribeStacks",), SAR_PAGES["cloudformation"]
    ),
    ("sts", "get_caller_identity"): Call((), DOC_STS_IDENTITY, "no permissions are required"),
}


# --- Step Functions task integrations: Resource -> actions, the resource they act on -----------
# ``arn`` is formatted with the task's Parameters and the stage (partition, region, account).
@dataclass(frozen=True)
class Integration:
    actions: tuple[str, ...]
    arn: str
    doc: str


SFN_INTEGRATIONS: dict[str, Integration] = {
    "arn:aws:states:::glue:startJobRun.sync": Integration(
        ("glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"),
        "arn:{partition}:glue:{region}:{account}:job/{JobName}",
        SFN_DOCS + "connect-glue.html",
    ),
    "arn:aws:states:::databrew:startJobRun.sync": Integration(
        ("databrew:StartJobRun", "databrew:ListJobRuns", "databrew:StopJobRun"),
        "arn:{partition}:databrew:{region}:{account}:job/{Name}",
        SFN_DOCS + "connect-databrew.html",
    ),
    # AWS SDK integrations need exactly the service's own action (supported-services-awssdk.html)
    "arn:aws:states:::aws-sdk:sfn:listExecutions": Integration(
        ("states:ListExecutions",), "{StateMachineArn}", SFN_DOCS + "supported-services-awssdk.html"
    ),
    "arn:aws:states:::aws-sdk:s3:getObject": Integration(
        ("s3:GetObject",), "arn:{partition}:s3:::{Bucket}/{Key}", SFN_DOCS + "supported-services-awssdk.html"
    ),
    "arn:aws:states:::aws-sdk:s3:putObject": Integration(
        ("s3:PutObject",), "arn:{partition}:s3:::{Bucket}/{Key}", SFN_DOCS + "supported-services-awssdk.html"
    ),
    # ListObjectsV2 is authorized as s3:ListBucket on the bucket (SAR: ListBucket "ListObjectsV2")
    "arn:aws:states:::aws-sdk:s3:listObjectsV2": Integration(
        ("s3:ListBucket",), "arn:{partition}:s3:::{Bucket}", SFN_DOCS + "supported-services-awssdk.html"
    ),
    "arn:aws:states:::sns:publish": Integration(
        ("sns:Publish",), "{TopicArn}", SFN_DOCS + "connect-sns.html"
    ),
}
# Machine-level needs, from its LoggingConfiguration and TracingConfiguration. None of these actions
# has a resource type in the SAR, so "*" is the only possible resource.
SFN_LOGGING = Call(
    (
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    ),
    SFN_DOCS + "cw-logs.html",
)
SFN_TRACING = Call(
    ("xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"),
    SFN_DOCS + "xray-iam.html",
)

# --- what Spark (and DataBrew) do on S3 ------------------------------------------------------------
# Reading a folder: list it, get its objects. Overwriting one: list, read (HEAD, committer), write,
# delete the old files, abort failed multipart uploads.
SPARK_READ = Call(("s3:GetObject",), DOC_GLUE_ROLE)
SPARK_OVERWRITE = Call(
    ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"), DOC_GLUE_ROLE
)
S3_LIST = Call(("s3:ListBucket",), SAR_PAGES["s3"])
# HeadObject of a key that does not exist answers 404 only to a caller with s3:ListBucket on the bucket
# (403 otherwise); HeadObject requests carry no s3:prefix, so that grant cannot be prefix-conditioned.
S3_HEAD_MISSING = Call(("s3:ListBucket",), DOC_S3_HEAD)

# --- what the services do with the role passed to them ---------------------------------------------
GLUE_KEY_USE = Call(
    ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"),
    DOC_GLUE_ENCRYPTION,
    "roles passed to jobs and crawlers whose security configuration names the key",
)
GLUE_LOGS = Call(
    ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"),
    DOC_GLUE_LOGGING,
    "continuous logging; AssociateKmsKey for the security configuration's CloudWatch encryption",
)
GLUE_METRICS = Call(("cloudwatch:PutMetricData",), DOC_GLUE_METRICS, "--enable-metrics, observability")
CRAWLER_CATALOG_DATABASE = Call(("glue:GetDatabase",), DOC_CRAWLER_ROLE)
CRAWLER_CATALOG_TABLES = Call(
    (
        "glue:GetTable",
        "glue:GetTables",
        "glue:UpdateTable",
        "glue:GetPartition",
        "glue:GetPartitions",
        "glue:BatchGetPartition",
        "glue:CreatePartition",
        "glue:BatchCreatePartition",
        "glue:UpdatePartition",
        "glue:BatchUpdatePartition",
    ),
    DOC_CRAWLER_ROLE,
    "catalog targets: read the declared tables, register their partitions",
)
CRAWLER_SECURITY_CONFIGURATION = Call(("glue:GetSecurityConfiguration",), DOC_CRAWLER_ROLE)
DATABREW_KEY_USE = Call(("kms:Decrypt", "kms:GenerateDataKey"), DOC_DATABREW_ROLE)
DATABREW_LOGS = Call(("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"), DOC_DATABREW_LOGS)
S3_SSE_KMS_READ = Call(("kms:Decrypt",), DOC_S3_KMS)
S3_SSE_KMS_WRITE = Call(("kms:GenerateDataKey", "kms:Decrypt"), DOC_S3_MPU)
SNS_KMS_PUBLISH = Call(("kms:GenerateDataKey", "kms:Decrypt"), DOC_SNS_KMS)
EVENTS_START = Call(("states:StartExecution",), DOC_EVENTS_TARGET)
ATHENA_WORKGROUP = Call(
    (
        "athena:GetWorkGroup",
        "athena:StartQueryExecution",
        "athena:StopQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:GetQueryResultsStream",
        "athena:ListQueryExecutions",
        "athena:BatchGetQueryExecution",
        "athena:ListNamedQueries",
        "athena:GetNamedQuery",
        "athena:BatchGetNamedQuery",
    ),
    DOC_ATHENA_WORKGROUP,
    "an analyst in the console or a client: run and read queries and named queries of the workgroup",
)
ATHENA_RESULTS = Call(
    ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"), DOC_ATHENA_S3
)
ATHENA_RESULTS_BUCKET = Call(
    ("s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"), DOC_ATHENA_S3
)
ATHENA_DATA_BUCKET = Call(("s3:GetBucketLocation",), DOC_ATHENA_S3)
ATHENA_KEY_USE = Call(("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"), DOC_ATHENA_KMS)
ATHENA_CATALOG_DATABASE = Call(("glue:GetDatabase",), DOC_ATHENA_GLUE)
ATHENA_CATALOG_TABLES = Call(
    (
        "glue:GetTable",
        "glue:GetTables",
        "glue:GetPartition",
        "glue:GetPartitions",
        "glue:BatchGetPartition",
    ),
    DOC_ATHENA_GLUE,
)
PUBLISH_RECIPE = Call(("databrew:PublishRecipe",), SAR_PAGES["databrew"])
LAMBDA_LOGS = Call(("logs:CreateLogStream", "logs:PutLogEvents"), DOC_LAMBDA_ROLE)

# AWS managed policies a principal may have attached (their statements are not in our templates).
ALLOWED_MANAGED_POLICIES = {
    "recipe_publisher": {
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": DOC_LAMBDA_ROLE,
    }
}

# "*" is accepted only for actions whose SAR entry lists no resource type, or lists only types our
# call cannot name (declared here with the reason).
STAR_EXCEPTIONS = {
    "cloudwatch:putmetricdata": (
        "dataset",
        "SAR's only resource type for PutMetricData is a CloudWatch 'dataset'; plain metrics have no "
        "ARN, so the grant is scoped by the cloudwatch:namespace condition instead",
    ),
}


@dataclass(frozen=True)
class Expected:
    """One grant the table requires: principal, action, resource, condition atom, and why."""

    principal: str
    action: str
    resource: str
    condition: Condition
    why: str
    doc: str


@dataclass
class DatasetContext:
    """One dataset's names, declaration and the synthesized artifacts of its state machine."""

    names: DatasetNames
    dataset: Dataset
    portal_file: str  # the raw object its portal-ingest Lambda writes
    sfn_tasks: Sequence[tuple[str, Mapping[str, str]]] = ()  # (Resource, Parameters)
    sfn_logging: bool = False
    sfn_tracing: bool = False
    event_targets: Sequence[str] = ()  # target ARNs of the rules using its events role

    @property
    def id(self) -> str:
        return self.dataset.id

    @property
    def layout(self) -> DatasetLayout:
        return DatasetLayout(self.dataset.id)


@dataclass
class Context:
    """One stage's names and the synthesized artifacts the bindings read."""

    names: PlatformNames
    partition: str
    buckets: Mapping[str, str]  # purpose -> bucket name
    key_arn: str
    topic_arn: str
    stack_names: Mapping[str, str]  # role -> CloudFormation stack name
    datasets: Sequence[DatasetContext] = ()
    glue_jobs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # name -> DefaultArguments
    glue_scripts: Mapping[str, str] = field(default_factory=dict)  # name -> ScriptLocation
    custom_calls: Sequence[Mapping] = ()  # Custom::AWS Create payloads

    def fmt(self, template: str, **params: str) -> str:
        return template.format(
            partition=self.partition, region=self.names.region, account=self.names.account, **params
        )

    def s3(self, purpose_or_bucket: str, key: str | None = None) -> str:
        bucket = self.buckets.get(purpose_or_bucket, purpose_or_bucket)
        return f"arn:{self.partition}:s3:::{bucket}" + (f"/{key}" if key is not None else "")


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


class _Builder:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rows: list[Expected] = []

    def add(
        self,
        principal: str,
        call: Call,
        resources: Iterable[str],
        why: str,
        conditions: Sequence[Condition] = (None,),
    ) -> None:
        for action in call.actions:
            for resource in resources:
                for condition in conditions:
                    self.rows.append(Expected(principal, action, resource, condition, why, call.doc))

    def read_prefixes(self, principal: str, bucket: str, prefixes: Sequence[str], why: str, call=SPARK_READ):
        """Objects under the prefixes, and listing of those prefixes only (with and without '/')."""
        self.add(principal, call, [self.ctx.s3(bucket, f"{p}*") for p in prefixes], why)
        self.list_prefixes(principal, bucket, prefixes, why)

    def list_prefixes(self, principal: str, bucket: str, prefixes: Sequence[str], why: str) -> None:
        atoms = [("StringLike", "s3:prefix", f"{p}*") for p in prefixes]
        atoms += [("StringLike", "s3:prefix", p.rstrip("/")) for p in prefixes]
        self.add(principal, S3_LIST, [self.ctx.s3(bucket)], why, atoms)


def job_principal(ctx: Context, job: str) -> tuple[str, DatasetContext]:
    """``quality_job:<id>`` or ``summary_job:<id>``, and the job's dataset."""
    for d in ctx.datasets:
        if job in d.names.glue_jobs:
            return ("quality_job" if job == d.names.quality_job else "summary_job") + f":{d.id}", d
    raise KeyError(f"Glue job {job} belongs to no dataset")


def expected_grants(ctx: Context) -> list[Expected]:
    """Every (principal, action, resource, condition) the platform's calls need, for one stage."""
    b = _Builder(ctx)
    n = ctx.names
    key = [ctx.key_arn]
    catalog = ctx.fmt("arn:{partition}:glue:{region}:{account}:catalog")

    # --- the Glue jobs of each dataset: what their arguments make Spark and boto3 do ----------------
    for job, args in ctx.glue_jobs.items():
        p, d = job_principal(ctx, job)
        code = [ctx.glue_scripts[job], *args.get("--extra-py-files", "").split(",")]
        b.add(
            p, Call(("s3:GetObject",), DOC_GLUE_ROLE), [ctx.s3(*split_s3(u)) for u in code if u], "job code"
        )
        # dataset_etl.io.read_text of --dataset_declaration: one get_object of the declaration asset
        declaration = [ctx.s3(*split_s3(args["--dataset_declaration"]))]
        b.add(p, BOTO3_CALLS[("s3", "get_object")], declaration, "the dataset's declaration")
        bucket, prefix = split_s3(args["--input_path"])
        b.read_prefixes(p, bucket, [prefix], "Spark reads --input_path")
        outputs: dict[str, list[str]] = {}
        for name in ("--passed_path", "--failed_path"):
            if name in args:
                bucket, prefix = split_s3(args[name])
                outputs.setdefault(bucket, []).append(prefix)
        if (
            "--curated_path" in args
        ):  # summarize writes <curated_path><key>/ and, for a csv output, <key>_csv/
            bucket, curated = split_s3(args["--curated_path"])
            for output in d.dataset.outputs:
                outputs.setdefault(bucket, []).append(f"{curated}{output.key}/")
                if output.csv:
                    outputs[bucket].append(f"{curated}{output.key}_csv/")
        for bucket, prefixes in outputs.items():
            b.add(p, SPARK_OVERWRITE, [ctx.s3(bucket, f"{x}*") for x in prefixes], "Spark overwrites outputs")
            b.list_prefixes(p, bucket, prefixes, "Spark lists its outputs")
        if "--report_path" in args:  # dataset_etl.io.write_json -> s3.put_object of one key
            b.add(p, BOTO3_CALLS[("s3", "put_object")], [ctx.s3(*split_s3(args["--report_path"]))], "report")
        # the summary job's HTML run report: io.write_text -> put_object of one key; io.read_json ->
        # get_object of the quality report's key; Spark reads a few rows of the failed prefix
        if "--report_html_path" in args:
            html = [ctx.s3(*split_s3(args["--report_html_path"]))]
            b.add(p, BOTO3_CALLS[("s3", "put_object")], html, "HTML run report")
        if "--quality_report_path" in args:
            report = [ctx.s3(*split_s3(args["--quality_report_path"]))]
            b.add(p, BOTO3_CALLS[("s3", "get_object")], report, "the quality report, for the HTML report")
        if "--failed_rows_path" in args:
            bucket, prefix = split_s3(args["--failed_rows_path"])
            b.read_prefixes(p, bucket, [prefix], "Spark reads failure examples (--failed_rows_path)")
        namespaces = ["Glue"] + ([METRIC_NAMESPACE] if args.get("--metrics_pipeline") else [])
        atoms = [("StringEquals", "cloudwatch:namespace", ns) for ns in namespaces]
        b.add(p, GLUE_METRICS, ["*"], "Glue job metrics, dataset_etl.io.publish_metrics", atoms)
        b.add(p, GLUE_KEY_USE, key, "security configuration: SSE-KMS outputs, encrypted logs")
        group = ctx.fmt("arn:{partition}:logs:{region}:{account}:log-group:/aws-glue/*")
        b.add(p, GLUE_LOGS, [group], "continuous logging to /aws-glue/ groups")

    for d in ctx.datasets:
        layout, dn = d.layout, d.names
        # --- DataBrew jobs (dataset over its raw prefix; outputs cleaned + profiles) -----------------
        p = f"databrew:{d.id}"
        b.read_prefixes(p, "raw", [layout.raw], "dataset input")
        out = [layout.cleaned, layout.profiles]
        b.add(p, SPARK_OVERWRITE, [ctx.s3("transformed", f"{x}*") for x in out], "job outputs, overwrite")
        b.list_prefixes(p, "transformed", out, "job outputs")
        b.add(p, DATABREW_KEY_USE, key, "SSE-KMS input and outputs")
        group = ctx.fmt("arn:{partition}:logs:{region}:{account}:log-group:/aws-glue-databrew/*")
        b.add(p, DATABREW_LOGS, [group], "LogSubscription ENABLE")

        # --- crawlers: catalog targets on the dataset's declared tables --------------------------------
        p = f"crawler:{d.id}"
        database = ctx.fmt("arn:{partition}:glue:{region}:{account}:database/{db}", db=dn.glue_database)
        tables = [
            ctx.fmt("arn:{partition}:glue:{region}:{account}:table/{db}/{t}", db=dn.glue_database, t=t)
            for t in dn.tables
        ]
        b.add(p, CRAWLER_CATALOG_DATABASE, [catalog, database], "catalog targets")
        b.add(p, CRAWLER_CATALOG_TABLES, [catalog, database, *tables], "catalog targets")
        b.add(p, CRAWLER_SECURITY_CONFIGURATION, ["*"], "its security configuration")
        b.read_prefixes(p, "transformed", [layout.cleaned], "cleaned table location")
        curated = [layout.output(o.key) for o in d.dataset.outputs]
        b.read_prefixes(p, "curated", curated, "curated table locations")
        b.add(p, GLUE_KEY_USE, key, "SSE-KMS data, encrypted crawler logs")
        group = ctx.fmt("arn:{partition}:logs:{region}:{account}:log-group:/aws-glue/crawlers*")
        b.add(p, GLUE_LOGS, [group], "crawler logs")

        # --- the state machine: one entry per Task in the synthesized definition -----------------------
        p = f"state_machine:{d.id}"
        for resource, params in d.sfn_tasks:
            integration = SFN_INTEGRATIONS[resource.replace(f"arn:{ctx.partition}:", "arn:aws:", 1)]
            arn = ctx.fmt(integration.arn, **{k: v for k, v in params.items() if isinstance(v, str)})
            b.add(p, Call(integration.actions, integration.doc), [arn], resource)
            if resource.endswith(":s3:getObject"):
                b.add(p, S3_SSE_KMS_READ, key, "the SSE-KMS quality report")
            if resource.endswith(":s3:putObject"):
                b.add(p, S3_SSE_KMS_WRITE, key, "the SSE-KMS record of the successful run")
            if resource.endswith(":sns:publish"):
                b.add(p, SNS_KMS_PUBLISH, key, "the KMS-encrypted topic")
        if d.sfn_logging:
            b.add(p, SFN_LOGGING, ["*"], "LoggingConfiguration")
        if d.sfn_tracing:
            b.add(p, SFN_TRACING, ["*"], "TracingConfiguration")
        b.add(f"events:{d.id}", EVENTS_START, d.event_targets, "EventBridge rule targets")

        # --- the portal-ingest Lambda (lambdas/portal_ingest): the dataset's raw key and staging key ---
        p = f"portal_ingest:{d.id}"
        raw_key = [ctx.s3("raw", f"{layout.raw}{d.portal_file}")]
        staged = [ctx.s3("raw", f"{layout.incoming}{d.portal_file}")]
        b.add(p, BOTO3_CALLS[("s3", "head_object")], raw_key, "the current copy's metadata")
        b.add(p, S3_HEAD_MISSING, [ctx.s3("raw")], "head_object of a raw copy not there yet")
        for call in (
            "create_multipart_upload",
            "upload_part",
            "complete_multipart_upload",
            "abort_multipart_upload",
        ):
            b.add(p, BOTO3_CALLS[("s3", call)], staged, f"the staged download: {call}")
        b.add(p, Call(("s3:GetObject",), DOC_S3_COPY), staged, "copy_object source")
        b.add(p, Call(("s3:PutObject",), DOC_S3_COPY), raw_key, "copy_object destination")
        b.add(p, BOTO3_CALLS[("s3", "delete_object")], staged, "the staging copy is deleted")
        via = [
            ("StringEquals", "kms:ViaService", ctx.fmt("{s}.{region}.amazonaws.com", s=s))
            for s in ("s3", "sns")
        ]
        b.add(p, S3_SSE_KMS_WRITE, key, "SSE-KMS objects, and the encrypted topic", via)
        b.add(p, BOTO3_CALLS[("sns", "publish")], [ctx.topic_arn], "failure notification")
        group = ctx.fmt(
            "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{f}:*", f=dn.portal_ingest_function
        )
        b.add(p, LAMBDA_LOGS, [group], "its own log group")

    # --- the custom resource that publishes the recipes ----------------------------------------------
    for payload in ctx.custom_calls:
        assert (payload["service"], payload["action"]) == ("DataBrew", "publishRecipe"), payload
        recipe = ctx.fmt(
            "arn:{partition}:databrew:{region}:{account}:recipe/{r}", r=payload["parameters"]["Name"]
        )
        b.add("recipe_publisher", PUBLISH_RECIPE, [recipe], "AwsCustomResource publishRecipe")

    # --- the analyst policy: Athena through the workgroup, on every dataset's curated output tables ---
    # (never a cleaned table: a dataset's PII columns live there; never the raw or transformed buckets)
    workgroup = ctx.fmt("arn:{partition}:athena:{region}:{account}:workgroup/{w}", w=n.workgroup)
    databases = [
        ctx.fmt("arn:{partition}:glue:{region}:{account}:database/{db}", db=d.names.glue_database)
        for d in ctx.datasets
    ]
    output_tables = [
        ctx.fmt("arn:{partition}:glue:{region}:{account}:table/{db}/{t}", db=d.names.glue_database, t=t)
        for d in ctx.datasets
        for t in d.names.output_table_names
    ]
    b.add("analyst", ATHENA_WORKGROUP, [workgroup], "queries through the workgroup")
    b.add("analyst", ATHENA_CATALOG_DATABASE, [catalog, *databases], "Athena reads the catalog")
    b.add("analyst", ATHENA_CATALOG_TABLES, [catalog, *databases, *output_tables], "the curated tables only")
    curated = [d.layout.output(o.key) for d in ctx.datasets for o in d.dataset.outputs]
    b.add("analyst", SPARK_READ, [ctx.s3("curated", f"{x}*") for x in curated], "Athena reads table data")
    atoms = [("StringLike", "s3:prefix", f"{x}*") for x in curated]
    b.add("analyst", S3_LIST, [ctx.s3("curated")], "Athena lists table folders", atoms)
    b.add("analyst", ATHENA_DATA_BUCKET, [ctx.s3("curated")], "Athena locates the data bucket")
    b.add("analyst", ATHENA_RESULTS, [ctx.s3("query-results", "athena/*")], "query results")
    b.add("analyst", ATHENA_RESULTS_BUCKET, [ctx.s3("query-results")], "query results bucket")
    b.add("analyst", ATHENA_KEY_USE, key, "SSE-KMS data and results")

    # --- the operator policy: exactly what `dap ingest | run | status | report` call, every dataset ----
    # (`dap query` runs Athena with the caller's credentials: operators attach the analyst policy too)
    stacks = [
        ctx.fmt("arn:{partition}:cloudformation:{region}:{account}:stack/{s}/*", s=ctx.stack_names[r])
        for r in ("storage", "pipeline")
    ]
    b.add("operator", BOTO3_CALLS[("cloudformation", "describe_stacks")], stacks, "Deployed.stack_outputs")
    b.add("operator", S3_SSE_KMS_WRITE, key, "SSE-KMS upload (multipart needs Decrypt), SSE-KMS reads")
    b.add("operator", S3_HEAD_MISSING, [ctx.s3("raw")], "head_object of a raw copy not there yet")
    for d in ctx.datasets:
        layout, dn = d.layout, d.names
        raw_objects = [ctx.s3("raw", f"{layout.raw}*")]
        b.add("operator", BOTO3_CALLS[("s3", "upload_file")], raw_objects, "dap ingest upload")
        b.add("operator", BOTO3_CALLS[("s3", "head_object")], raw_objects, "dap ingest check")
        machine = dn.state_machine_arn.replace("arn:aws:", f"arn:{ctx.partition}:", 1)
        for call in ("start_execution", "list_executions"):
            b.add("operator", BOTO3_CALLS[("stepfunctions", call)], [machine], f"dap run/status {call}")
        executions = ctx.fmt("arn:{partition}:states:{region}:{account}:execution:{m}:*", m=dn.state_machine)
        for call in ("describe_execution", "get_execution_history"):
            b.add("operator", BOTO3_CALLS[("stepfunctions", call)], [executions], f"dap run --wait {call}")
        profile_job = ctx.fmt(
            "arn:{partition}:databrew:{region}:{account}:job/{j}", j=dn.databrew_profile_job
        )
        b.add("operator", BOTO3_CALLS[("databrew", "start_job_run")], [profile_job], "dap profile")
        # dap cost --measured: the billed time of each job's and crawler's recent runs
        brew_jobs = [
            ctx.fmt("arn:{partition}:databrew:{region}:{account}:job/{j}", j=j) for j in dn.databrew_jobs
        ]
        b.add("operator", BOTO3_CALLS[("databrew", "list_job_runs")], brew_jobs, "dap cost --measured")
        glue_jobs = [ctx.fmt("arn:{partition}:glue:{region}:{account}:job/{j}", j=j) for j in dn.glue_jobs]
        b.add("operator", BOTO3_CALLS[("glue", "get_job_runs")], glue_jobs, "dap cost --measured")
        crawlers = [ctx.fmt("arn:{partition}:glue:{region}:{account}:crawler/{c}", c=c) for c in dn.crawlers]
        b.add("operator", BOTO3_CALLS[("glue", "list_crawls")], crawlers, "dap cost --measured")
        report = [ctx.s3("transformed", layout.quality_report_key)]
        b.add("operator", BOTO3_CALLS[("s3", "get_object")], report, "dap status reads the quality report")
        # dap ingest --from-portal (lambdas/portal_ingest/ingest.py): multipart upload to the staging key,
        # copy to the raw key, delete the staging key; head_object of a raw copy that may not exist yet
        staging = [ctx.s3("raw", f"{layout.incoming}*")]
        for call in (
            "create_multipart_upload",
            "upload_part",
            "complete_multipart_upload",
            "abort_multipart_upload",
        ):
            b.add("operator", BOTO3_CALLS[("s3", call)], staging, f"dap ingest --from-portal {call}")
        b.add("operator", Call(("s3:GetObject",), DOC_S3_COPY), staging, "copy_object source")
        b.add("operator", Call(("s3:PutObject",), DOC_S3_COPY), raw_objects, "copy_object destination")
        b.add("operator", BOTO3_CALLS[("s3", "delete_object")], staging, "the staging copy is deleted")
        for output in d.dataset.outputs:
            if not output.csv:
                continue
            csv = [ctx.s3("curated", f"{layout.output_csv(output.key)}*")]
            b.add("operator", BOTO3_CALLS[("s3", "download_file")], csv, "dap report --from-s3")
            atom = [("StringEquals", "s3:prefix", layout.output_csv(output.key))]
            b.add(
                "operator",
                BOTO3_CALLS[("s3", "list_objects_v2")],
                [ctx.s3("curated")],
                "dap report lists",
                atom,
            )
    return b.rows


# Which principal makes each boto3 call found in the source (by file), so the AST scan maps every
# call site to a principal whose grants the table lists (``kind:*``: that kind of every dataset).
CALLERS_BY_FILE = {
    "glue_scripts/lib/dataset_etl/io.py": ("quality_job:*", "summary_job:*"),
    "dap/operations.py": ("operator", "analyst"),
    "dap/aws/deployed.py": ("operator",),
    "dap/report.py": ("operator",),
    "dap/cost.py": ("operator",),  # dap cost --measured
    "lambdas/portal_ingest/ingest.py": ("operator", "portal_ingest:*"),  # dap ingest --from-portal, Lambda
    "lambdas/portal_ingest/handler.py": ("portal_ingest:*",),
}
# Code no stack deploys yet: its calls have no principal to grant them. The test fails once any Lambda
# function other than the known ones appears in a template, so the rows come with the deployment.
NOT_DEPLOYED: dict[str, str] = {}
