"""The Glue Data Catalog for the licences: database, security configuration, tables and crawlers.

Tables are declared here from the same column definitions the Glue jobs write (schema as code, with
comments and governance parameters), all three with partition projection, so no query and no run
depends on a crawler. The crawlers run on their own schedule to detect schema drift: catalog targets,
schema changes logged (and failures alarmed), never applied.
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
from licence_etl import schema, summary

from stacks.components.access import (
    KEY_FOR_GLUE_SECURITY_CONFIGURATION,
    allow_key_use,
    allow_log_writing,
    allow_prefix_read,
)
from stacks.components.nag import acknowledge
from stacks.layout import CLEANED_PREFIX, LICENCES_PREFIX, SUMMARY_PREFIX
from stacks.names import PlatformNames

GLUE_TYPES = {
    "string": glue.Schema.STRING,
    "int": glue.Schema.INTEGER,
    "bigint": glue.Schema.BIG_INT,
    "double": glue.Schema.DOUBLE,
    "timestamp": glue.Schema.TIMESTAMP,
    "date": glue.Schema.DATE,
}
# Partition projection range of ``year``: the portal's history starts in 1997; a fixed upper bound
# keeps templates reproducible, and years without data simply hold no objects.
FIRST_LICENCE_YEAR = 1997
LAST_PROJECTED_YEAR = 2099
YEAR_PROJECTION = glue.PartitionProjectionConfiguration.integer(
    min=FIRST_LICENCE_YEAR, max=LAST_PROJECTED_YEAR
)


def glue_columns(
    columns: Sequence[schema.Column | summary.OutputColumn], exclude: Sequence[str] = ()
) -> list:
    return [
        glue.Column(name=c.name, type=GLUE_TYPES[c.type], comment=c.comment)
        for c in columns
        if c.name not in exclude
    ]


@dataclass(frozen=True)
class LicenceCatalogProps:
    names: PlatformNames
    key: kms.IKey
    transformed_bucket: s3.IBucket
    curated_bucket: s3.IBucket
    crawler_schedule: str  # the drift crawls (cron): no pipeline run waits for a crawler
    owner: str
    data_classification: str
    removal_policy: RemovalPolicy


class LicenceCatalog(Construct):
    """Database ``<prefix>_licences`` with the cleaned, summary and licences tables, and two crawlers."""

    def __init__(self, scope: Construct, construct_id: str, props: LicenceCatalogProps) -> None:
        super().__init__(scope, construct_id)
        names = props.names
        self.crawler_schedule = props.crawler_schedule
        self.database = glue.Database(
            self,
            "Database",
            database_name=names.glue_database,
            description="City of Vancouver business licences: cleaned, quality-checked and curated",
            removal_policy=props.removal_policy,
        )
        self.security_configuration = glue.SecurityConfiguration(
            self,
            "SecurityConfiguration",
            security_configuration_name=f"{names.prefix}-glue",
            s3_encryption=glue.S3Encryption.kms(props.key),
            cloud_watch_encryption=glue.CloudWatchEncryption.kms(props.key),
            job_bookmarks_encryption=glue.JobBookmarksEncryption.client_side_kms(props.key),
        )

        def governance(source: str) -> dict[str, str]:
            return {
                "source": source,
                "owner": props.owner,
                "classification_level": props.data_classification,
                "licence": "Open Government Licence - Vancouver",
            }

        def table(construct_id: str, name: str, description: str, bucket: s3.IBucket, prefix: str,
                  columns, partition: str, source: str,
                  projection: glue.PartitionProjectionConfiguration) -> glue.S3Table:  # fmt: skip
            return glue.S3Table(
                self,
                construct_id,
                database=self.database,
                table_name=name,
                description=description,
                storage=glue.S3TableStorage.from_bucket(bucket),
                s3_prefix=prefix,
                data_format=glue.DataFormat.PARQUET,
                columns=glue_columns(columns, exclude=[partition]),
                partition_keys=glue_columns([c for c in columns if c.name == partition]),
                partition_projection={partition: projection},
                parameters=governance(source),
            )

        self.cleaned_table = table(
            "CleanedTable",
            names.cleaned_table,
            "Portal export after the DataBrew recipe: typed, trimmed, de-duplicated",
            props.transformed_bucket,
            CLEANED_PREFIX,
            schema.CLEANED_COLUMNS,
            schema.PARTITION_COLUMN,
            f"DataBrew job {names.databrew_recipe_job}",
            # the two-digit licence year of the export ("97".."99", "00".."26"...): every value of 00-99
            # is projected, so a new year needs no crawler before the quality job reads it
            projection=glue.PartitionProjectionConfiguration.integer(min=0, max=99, digits=2),
        )
        self.summary_table = table(
            "SummaryTable",
            names.summary_table,
            "Issued licences with many employees, per local issue day (Vancouver time)",
            props.curated_bucket,
            SUMMARY_PREFIX,
            summary.SUMMARY_COLUMNS,
            "year",
            f"Glue job {names.summary_job}",
            projection=YEAR_PROJECTION,
        )
        self.licences_table = table(
            "LicencesTable",
            names.licences_table,
            "Quality-checked licences with the analysis columns, for ad-hoc questions",
            props.curated_bucket,
            LICENCES_PREFIX,
            summary.LICENCES_COLUMNS,
            "year",
            f"Glue job {names.summary_job}",
            projection=YEAR_PROJECTION,
        )

        self.crawler_role = iam.Role(
            self,
            "CrawlerRole",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description="Glue crawlers: read the table folders, register partitions of the declared tables",
        )
        stack = Stack.of(self)
        catalog_arn = stack.format_arn(service="glue", resource="catalog")
        database_arn = stack.format_arn(
            service="glue", resource="database", resource_name=names.glue_database
        )
        table_arns = [
            stack.format_arn(service="glue", resource="table", resource_name=f"{names.glue_database}/{table}")
            for table in (names.cleaned_table, names.summary_table, names.licences_table)
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
            iam.PolicyStatement(
                actions=["glue:GetSecurityConfiguration"],
                resources=["*"],
            )
        )
        acknowledge(
            self.crawler_role,
            "IAM5[Resource::*]",
            "glue:GetSecurityConfiguration has no resource-level permission (AWS service authorization "
            "reference); it only reads the crawler's own encryption settings.",
        )
        allow_prefix_read(self.crawler_role, props.transformed_bucket.bucket_name, [CLEANED_PREFIX])
        allow_prefix_read(
            self.crawler_role, props.curated_bucket.bucket_name, [SUMMARY_PREFIX, LICENCES_PREFIX]
        )
        allow_key_use(self.crawler_role, props.key, KEY_FOR_GLUE_SECURITY_CONFIGURATION)
        allow_log_writing(self.crawler_role, "/aws-glue/crawlers", associate_key=True)

        self.cleaned_crawler = self._crawler(
            "CleanedCrawler",
            names.cleaned_crawler,
            [names.cleaned_table],
            "new file_year partitions of the cleaned table",
        )
        self.curated_crawler = self._crawler(
            "CuratedCrawler",
            names.curated_crawler,
            [names.summary_table, names.licences_table],
            "year partitions of the curated tables for engines without partition projection (Spark, Glue)",
        )

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
        for table in (self.cleaned_table, self.summary_table, self.licences_table):
            crawler.node.add_dependency(table)
        return crawler
