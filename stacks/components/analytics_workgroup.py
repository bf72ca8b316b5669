"""Athena: the shared analytics workgroup, one named query per ``datasets/<id>/queries/*.sql`` file, and
the analyst policy.

The SQL files are the single source: the same text runs locally on Spark SQL over the curated output
and is deployed here unchanged, in the dataset's database, named ``<dataset id>-<file stem>``. The
analyst policy is what the city attaches to its own roles: every dataset's curated output tables and
their folders; never a cleaned table (where a dataset's PII columns live), never the transformed or raw
buckets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct
from dataset_etl.declaration import Dataset

from stacks.components.nag import acknowledge
from stacks.components.secure_bucket import s3_arn
from stacks.layout import ATHENA_RESULTS_PREFIX, DatasetLayout
from stacks.names import DatasetNames, PlatformNames


@dataclass(frozen=True)
class NamedQueryFile:
    name: str
    description: str
    sql: str


def named_query_name(dataset_id: str, query: str) -> str:
    """What a dataset's query is called in the shared workgroup (``dap query --dataset`` resolves it)."""
    return f"{dataset_id}-{query}"


def query_files(folder: Path) -> list[NamedQueryFile]:
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
    datasets: Sequence[tuple[Dataset, DatasetNames]]
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
            description="Analytics of the curated datasets: results encrypted, scans capped, metrics on",
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
        for dataset, dataset_names in props.datasets:
            for query in query_files(dataset.queries_path):
                name = named_query_name(dataset.id, query.name)
                named = athena.CfnNamedQuery(
                    self,
                    f"Query-{name}",
                    name=name,
                    description=query.description[:1024],
                    database=dataset_names.glue_database,
                    query_string=query.sql,
                    work_group=self.workgroup.ref,
                )
                self.named_queries[name] = named
        self.analyst_policy = self._analyst_policy(props)

    def _analyst_policy(self, props: AnalyticsWorkgroupProps) -> iam.ManagedPolicy:
        """Exactly: use this workgroup, read the curated outputs and their catalog, decrypt, write results."""
        names = props.names
        stack = Stack.of(self)
        curated_prefixes = analyst_prefixes([dataset for dataset, _ in props.datasets])
        curated_objects = [s3_arn(self, props.curated_bucket_name, f"/{p}*") for p in curated_prefixes]
        result_objects = s3_arn(self, props.query_results_bucket_name, f"/{ATHENA_RESULTS_PREFIX}*")
        databases = [
            stack.format_arn(service="glue", resource="database", resource_name=n.glue_database)
            for _, n in props.datasets
        ]
        tables = [
            stack.format_arn(service="glue", resource="table", resource_name=f"{n.glue_database}/{t}")
            for _, n in props.datasets
            for t in n.output_table_names
        ]
        policy = iam.ManagedPolicy(
            self,
            "AnalystPolicy",
            managed_policy_name=names.analyst_policy,
            description="Query the curated output tables of every dataset through the analytics workgroup",
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
                    resources=[stack.format_arn(service="glue", resource="catalog"), *databases],
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
                    resources=[stack.format_arn(service="glue", resource="catalog"), *databases, *tables],
                ),
                iam.PolicyStatement(
                    sid="ReadCuratedData", actions=["s3:GetObject"], resources=curated_objects
                ),
                # Listing only the output tables' folders. GetBucketLocation has no s3:prefix in its request
                # context, so it cannot share this conditional statement (it would never be allowed).
                iam.PolicyStatement(
                    sid="ListCuratedData",
                    actions=["s3:ListBucket"],
                    resources=[s3_arn(self, props.curated_bucket_name)],
                    conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in curated_prefixes]}},
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


def analyst_prefixes(datasets: Sequence[Dataset]) -> list[str]:
    """The curated folders an analyst reads: every declared output's Parquet folder (the tables), not
    the CSV copies for people nor the run reports; nothing of the transformed or raw buckets."""
    return [DatasetLayout(d.id).output(o.key) for d in datasets for o in d.outputs]
