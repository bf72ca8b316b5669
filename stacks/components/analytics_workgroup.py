"""Athena: the analytics workgroup, one named query per ``queries/*.sql`` file, and the analyst policy.

The SQL files are the single source: the same text runs locally on Spark SQL over the curated output
and is deployed here unchanged. The analyst policy is what the city attaches to its own roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.components.nag import acknowledge
from stacks.components.secure_bucket import s3_arn
from stacks.layout import ATHENA_RESULTS_PREFIX, LICENCES_PREFIX, SUMMARY_PREFIX
from stacks.names import PlatformNames

QUERIES_DIR = Path(__file__).resolve().parents[2] / "queries"


@dataclass(frozen=True)
class NamedQueryFile:
    name: str
    description: str
    sql: str


def query_files(folder: Path = QUERIES_DIR) -> list[NamedQueryFile]:
    """Every ``*.sql`` file: its stem is the query's name, its first ``--`` line the description."""
    queries = []
    for path in sorted(folder.glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        first = sql.splitlines()[0] if sql else ""
        if not first.startswith("--"):
            raise ValueError(f"{path.name}: the first line must be '-- <description>'")
        queries.append(NamedQueryFile(path.stem, first.removeprefix("--").strip(), sql))
    if not queries:
        raise ValueError(f"no named queries in {folder}")
    return queries


@dataclass(frozen=True)
class AnalyticsWorkgroupProps:
    names: PlatformNames
    key: kms.IKey
    query_results_bucket_name: str
    curated_bucket_name: str
    bytes_scanned_cutoff_per_query: int


class AnalyticsWorkgroup(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: AnalyticsWorkgroupProps) -> None:
        super().__init__(scope, construct_id)
        names = props.names
        results = f"s3://{props.query_results_bucket_name}/{ATHENA_RESULTS_PREFIX}"
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=names.workgroup,
            description="Business-licence analytics: results encrypted, scans capped, metrics published",
            state="ENABLED",
            recursive_delete_option=False,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=props.bytes_scanned_cutoff_per_query,
                requester_pays_enabled=False,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=results,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=props.key.key_arn
                    ),
                ),
            ),
        )
        self.named_queries = {}
        for query in query_files():
            named = athena.CfnNamedQuery(
                self,
                f"Query-{query.name}",
                name=query.name,
                description=query.description[:1024],
                database=names.glue_database,
                query_string=query.sql,
                work_group=self.workgroup.ref,
            )
            self.named_queries[query.name] = named
        self.analyst_policy = self._analyst_policy(props)

    def _analyst_policy(self, props: AnalyticsWorkgroupProps) -> iam.ManagedPolicy:
        """Exactly: use this workgroup, read the curated data and its catalog, decrypt, write results."""
        names = props.names
        stack = Stack.of(self)
        curated_objects = [
            s3_arn(self, props.curated_bucket_name, f"/{p}*") for p in (SUMMARY_PREFIX, LICENCES_PREFIX)
        ]
        result_objects = s3_arn(self, props.query_results_bucket_name, f"/{ATHENA_RESULTS_PREFIX}*")
        tables = [
            stack.format_arn(service="glue", resource="table", resource_name=f"{names.glue_database}/{t}")
            for t in (names.summary_table, names.licences_table)
        ]
        policy = iam.ManagedPolicy(
            self,
            "AnalystPolicy",
            managed_policy_name=f"{names.prefix}-licence-analyst",
            description="Query the curated business-licence tables through the analytics workgroup",
            statements=[
                iam.PolicyStatement(
                    sid="UseTheWorkgroup",
                    actions=[
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
                    ],
                    resources=[
                        stack.format_arn(
                            service="athena", resource="workgroup", resource_name=names.workgroup
                        )
                    ],
                ),
                # GetDatabase acts on the catalog and the database (its SAR resource types), not tables
                iam.PolicyStatement(
                    sid="ReadTheDatabase",
                    actions=["glue:GetDatabase"],
                    resources=[
                        stack.format_arn(service="glue", resource="catalog"),
                        stack.format_arn(
                            service="glue", resource="database", resource_name=names.glue_database
                        ),
                    ],
                ),
                iam.PolicyStatement(
                    sid="ReadTheCatalog",
                    actions=[
                        "glue:GetTable",
                        "glue:GetTables",
                        "glue:GetPartition",
                        "glue:GetPartitions",
                        "glue:BatchGetPartition",
                    ],
                    resources=[
                        stack.format_arn(service="glue", resource="catalog"),
                        stack.format_arn(
                            service="glue", resource="database", resource_name=names.glue_database
                        ),
                        *tables,
                    ],
                ),
                iam.PolicyStatement(
                    sid="ReadCuratedData", actions=["s3:GetObject"], resources=curated_objects
                ),
                # Listing only the two table folders. GetBucketLocation has no s3:prefix in its request
                # context, so it cannot share this conditional statement (it would never be allowed).
                iam.PolicyStatement(
                    sid="ListCuratedData",
                    actions=["s3:ListBucket"],
                    resources=[s3_arn(self, props.curated_bucket_name)],
                    conditions={"StringLike": {"s3:prefix": [f"{SUMMARY_PREFIX}*", f"{LICENCES_PREFIX}*"]}},
                ),
                iam.PolicyStatement(
                    sid="LocateCuratedData",
                    actions=["s3:GetBucketLocation"],
                    resources=[s3_arn(self, props.curated_bucket_name)],
                ),
                iam.PolicyStatement(
                    sid="WriteQueryResults",
                    actions=[
                        "s3:GetObject",
                        "s3:PutObject",
                        "s3:AbortMultipartUpload",
                        "s3:ListMultipartUploadParts",
                    ],
                    resources=[result_objects],
                ),
                iam.PolicyStatement(
                    sid="ListQueryResults",
                    actions=["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                    resources=[s3_arn(self, props.query_results_bucket_name)],
                ),
                iam.PolicyStatement(
                    sid="UseThePlatformKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                    resources=[props.key.key_arn],
                ),
            ],
        )
        for resource in [*curated_objects, result_objects]:
            acknowledge(
                policy,
                f"IAM5[Resource::{resource}]",
                "Athena reads every object of a table's folder and writes result files with generated "
                "names; each grant names one bucket and one prefix.",
            )
        return policy
