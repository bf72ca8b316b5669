"""One dataset's Glue Data Catalog: its database, its tables and the two drift crawlers.

Tables are declared from the dataset's declaration (schema as code, with comments and governance
parameters): the cleaned table from ``[schema]``, one table per ``[[outputs]]``, all with partition
projection, so no query and no run depends on a crawler. Columns the declaration marks ``pii`` are
listed in the table parameter ``classification_pii`` and each marked with the table parameter
``pii.<column> = "true"``: CloudFormation's ``AWS::Glue::Table`` Column takes only Name, Type and
Comment (the Glue API's Column ``Parameters`` cannot be set from a template; cfn-lint E3002).
The crawlers run on their own schedule to detect schema drift: catalog targets, schema changes logged
(and failures alarmed), never applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from dataset_etl.declaration import Dataset

from stacks.components.access import (
    KEY_FOR_GLUE_SECURITY_CONFIGURATION,
    allow_key_use,
    allow_log_writing,
    allow_prefix_read,
)
from stacks.components.nag import acknowledge
from stacks.layout import DatasetLayout
from stacks.names import DatasetNames

GLUE_TYPES = {
    "string": glue.Schema.STRING,
    "int": glue.Schema.INTEGER,
    "bigint": glue.Schema.BIG_INT,
    "double": glue.Schema.DOUBLE,
    "timestamp": glue.Schema.TIMESTAMP,
    "date": glue.Schema.DATE,
    "boolean": glue.Schema.BOOLEAN,
}
# Partition projection of a year: the portal's history starts in 1997; a fixed upper bound keeps the
# templates reproducible, and years without data simply hold no objects.
FIRST_PROJECTED_YEAR = 1997
LAST_PROJECTED_YEAR = 2099
YEAR_PROJECTION = glue.PartitionProjectionConfiguration.integer(
    min=FIRST_PROJECTED_YEAR, max=LAST_PROJECTED_YEAR
)
# A string partition column is the portal's two-digit year ("97".."99", "00".."26"...): every value of
# 00-99 is projected, so a new year needs no crawler before the quality job reads it.
TWO_DIGIT_YEAR_PROJECTION = glue.PartitionProjectionConfiguration.integer(min=0, max=99, digits=2)
PII_TABLE_PARAMETER = "classification_pii"  # the table's PII columns, comma-separated


def pii_column_parameter(column: str) -> str:
    """The table parameter that marks one column as personal information."""
    return f"pii.{column}"


def partition_projection(column_name: str, column_type: str) -> glue.PartitionProjectionConfiguration:
    """The projection of a partition column, from its type: an int is a year, a string a two-digit year."""
    if column_type in ("int", "bigint"):
        return YEAR_PROJECTION
    if column_type == "string":
        return TWO_DIGIT_YEAR_PROJECTION
    raise ValueError(
        f"partition column {column_name!r} is a {column_type}; projection is defined for an int year "
        "or a two-digit string year"
    )


def glue_columns(columns: Sequence, exclude: Sequence[str] = ()) -> list[glue.Column]:
    return [
        glue.Column(name=c.name, type=GLUE_TYPES[c.type], comment=c.comment)
        for c in columns
        if c.name not in exclude
    ]


@dataclass(frozen=True)
class DatasetCatalogProps:
    dataset: Dataset
    names: DatasetNames
    key: kms.IKey
    security_configuration: glue.ISecurityConfiguration
    transformed_bucket: s3.IBucket
    curated_bucket: s3.IBucket
    crawler_schedule: str  # the drift crawls (cron): no pipeline run waits for a crawler
    owner: str
    removal_policy: RemovalPolicy


class DatasetCatalog(Construct):
    """Database ``<prefix>_<catalog.database>``: the cleaned table, one table per output, two crawlers."""

    def __init__(self, scope: Construct, construct_id: str, props: DatasetCatalogProps) -> None:
        super().__init__(scope, construct_id)
        dataset, names = props.dataset, props.names
        layout = DatasetLayout(dataset.id)
        self.crawler_schedule = props.crawler_schedule
        self.security_configuration = props.security_configuration
        self.database = glue.Database(
            self,
            "Database",
            database_name=names.glue_database,
            description=f"{dataset.title}: cleaned, quality-checked and curated ({dataset.source})"[:2048],
            removal_policy=props.removal_policy,
        )
        pii = dataset.pii_columns

        def governance(source: str, pii_columns: Sequence[str]) -> dict[str, str]:
            params = {
                "source": source,
                "owner": props.owner,
                "classification_level": dataset.classification,
                "dataset": dataset.id,
                "dataset_source": dataset.source,
            }
            if pii_columns:
                params[PII_TABLE_PARAMETER] = ",".join(pii_columns)
                params |= {pii_column_parameter(c): "true" for c in pii_columns}
            return params

        def table(construct_id: str, name: str, description: str, bucket: s3.IBucket, prefix: str,
                  columns: Sequence, partition: str, source: str) -> glue.S3Table:  # fmt: skip
            partition_type = next(c.type for c in columns if c.name == partition)
            data_columns = [c for c in columns if c.name != partition]
            pii_here = [c.name for c in data_columns if c.name in pii]
            return glue.S3Table(
                self,
                construct_id,
                database=self.database,
                table_name=name,
                description=description,
                storage=glue.S3TableStorage.from_bucket(bucket),
                s3_prefix=prefix,
                data_format=glue.DataFormat.PARQUET,
                columns=glue_columns(data_columns),
                partition_keys=glue_columns([c for c in columns if c.name == partition]),
                partition_projection={partition: partition_projection(partition, partition_type)},
                parameters=governance(source, pii_here),
            )

        self.cleaned_table = table(
            "CleanedTable",
            names.cleaned_table,
            f"{dataset.title}: the portal export after the DataBrew recipe (typed, trimmed)",
            props.transformed_bucket,
            layout.cleaned,
            dataset.columns,
            dataset.partition_column,
            f"DataBrew job {names.databrew_recipe_job}",
        )
        self.output_tables: dict[str, glue.S3Table] = {}
        for output in dataset.outputs:
            self.output_tables[output.key] = table(
                f"{pascal_key(output.key)}Table",
                output.table,
                output.description,
                props.curated_bucket,
                layout.output(output.key),
                output.columns,
                output.partition,
                f"Glue job {names.summary_job}",
            )

        self.crawler_role = iam.Role(
            self,
            "CrawlerRole",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description=f"Glue crawlers of {dataset.id}: read its table folders, register its partitions",
        )
        stack = Stack.of(self)
        catalog_arn = stack.format_arn(service="glue", resource="catalog")
        database_arn = stack.format_arn(
            service="glue", resource="database", resource_name=names.glue_database
        )
        table_arns = [
            stack.format_arn(service="glue", resource="table", resource_name=f"{names.glue_database}/{t}")
            for t in names.tables
        ]
        # GetDatabase acts on the catalog and the database only (its SAR resource types), so it gets
        # its own statement; the table actions need the catalog, the database and the tables.
        self.crawler_role.add_to_policy(
            iam.PolicyStatement(actions=["glue:GetDatabase"], resources=[catalog_arn, database_arn])
        )
        self.crawler_role.add_to_policy(
            iam.PolicyStatement(
                actions=[
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
                ],
                resources=[catalog_arn, database_arn, *table_arns],
            )
        )
        self.crawler_role.add_to_policy(
            iam.PolicyStatement(actions=["glue:GetSecurityConfiguration"], resources=["*"])
        )
        acknowledge(
            self.crawler_role,
            "IAM5[Resource::*]",
            "glue:GetSecurityConfiguration has no resource-level permission (AWS service authorization "
            "reference); it only reads the crawler's own encryption settings.",
        )
        allow_prefix_read(self.crawler_role, props.transformed_bucket.bucket_name, [layout.cleaned])
        allow_prefix_read(
            self.crawler_role,
            props.curated_bucket.bucket_name,
            [layout.output(o.key) for o in dataset.outputs],
        )
        allow_key_use(self.crawler_role, props.key, KEY_FOR_GLUE_SECURITY_CONFIGURATION)
        allow_log_writing(self.crawler_role, "/aws-glue/crawlers", associate_key=True)

        partition_of = dataset.partition_column
        self.cleaned_crawler = self._crawler(
            "CleanedCrawler",
            names.cleaned_crawler,
            [names.cleaned_table],
            f"new {partition_of} partitions of the cleaned table",
        )
        self.curated_crawler = self._crawler(
            "CuratedCrawler",
            names.curated_crawler,
            list(names.output_table_names),
            "partitions of the curated tables for engines without partition projection (Spark, Glue)",
        )

    @property
    def tables(self) -> list[glue.S3Table]:
        return [self.cleaned_table, *self.output_tables.values()]

    def _crawler(self, construct_id: str, name: str, tables: list[str], what: str) -> glue.CfnCrawler:
        crawler = glue.CfnCrawler(
            self,
            construct_id,
            name=name,
            description=f"Registers {what}; on its own schedule, off the run path (schema drift is logged)",
            schedule=glue.CfnCrawler.ScheduleProperty(schedule_expression=self.crawler_schedule),
            role=self.crawler_role.role_arn,
            database_name=self.database.database_name,
            targets=glue.CfnCrawler.TargetsProperty(
                catalog_targets=[
                    glue.CfnCrawler.CatalogTargetProperty(
                        database_name=self.database.database_name, tables=tables
                    )
                ]
            ),
            # catalog targets: the declared schema is the truth; a drift is logged, never applied
            schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(
                update_behavior="LOG", delete_behavior="LOG"
            ),
            recrawl_policy=glue.CfnCrawler.RecrawlPolicyProperty(recrawl_behavior="CRAWL_EVERYTHING"),
            crawler_security_configuration=self.security_configuration.security_configuration_name,
            configuration='{"Version":1.0,"CrawlerOutput":{"Partitions":{"AddOrUpdateBehavior":"InheritFromTable"}}}',
        )
        for table in self.tables:
            crawler.node.add_dependency(table)
        return crawler


def pascal_key(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))
