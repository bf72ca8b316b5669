"""cdk-nag (AwsSolutions) and cfn-lint over every synthesized template: security checks are tests."""

from __future__ import annotations

import json
import re

import pytest
from cfnlint.api import ManualArgs, lint

from tests.stacks.conftest import STACK_IDS

_BUCKET = r"vdap-\w+-(raw|transformed|curated|query-results)(-replica)?-\d{12}-ca-(central|west)-1"
# A dataset's prefixes (stacks.layout.DatasetLayout): <area>/<dataset id> in the raw and transformed
# buckets, <dataset id>/<output key>[_csv] in the curated bucket; and the workgroup's results.
_ID = r"[a-z][a-z0-9_]+"
_PREFIX = rf"((raw|incoming|cleaned|profiles|quality_check/(passed|failed|reports))/{_ID}|{_ID}/{_ID}|athena)"
_NAG = r"AwsSolutions::AwsSolutions-"
_DATASET = r"/Pipeline/[A-Z][A-Za-z0-9]+"  # a dataset's construct: /Pipeline/BusinessLicences
_GLUE_JOB = rf"{_DATASET}/(QualityGate/QualityCheck|SummaryJob/Summarize)"

# Every acknowledgment the app makes: (construct path pattern, rule id pattern). A new one must be
# added here on purpose, with its reason reviewed like code.
EXPECTED_ACKNOWLEDGMENTS = (
    # the access-log targets themselves
    (r"/(Storage|Replica)/AccessLogs/Bucket", _NAG + r"S1"),
    # replication: every key of one bucket and of its one replica
    (
        r"/Storage/(Raw|Transformed|Curated)/ReplicationRole",
        _NAG + rf"IAM5\[Resource::arn:aws:s3:::{_BUCKET}/\*\]",
    ),
    # one prefix of one bucket, for a role or the analyst policy
    (
        rf"({_DATASET}/(DataBrewCleaning/Role|Catalog/CrawlerRole|QualityGate/QualityCheck/Role|"
        r"SummaryJob/Summarize/Role)|/Pipeline/(AnalyticsWorkgroup/AnalystPolicy|OperatorPolicy/Policy))",
        _NAG + rf"IAM5\[Resource::arn:aws:s3:::{_BUCKET}/{_PREFIX}/\*\]",
    ),
    # the service's own log groups in this account and region
    (
        rf"{_DATASET}/(DataBrewCleaning/Role|Catalog/CrawlerRole|QualityGate/QualityCheck/Role|SummaryJob/Summarize/Role)",
        _NAG
        + r"IAM5\[Resource::arn:aws:logs:ca-central-1:\d{12}:log-group:/aws-glue(-databrew)?/(crawlers)?\*\]",
    ),
    # a dataset's portal-ingest function's own log group: its streams
    (
        rf"{_DATASET}/PortalIngestion/Role",
        _NAG
        + r"IAM5\[Resource::arn:aws:logs:ca-central-1:\d{12}:log-group:/aws/lambda/vdap-[\w-]+-portal-ingest:\*\]",
    ),
    # actions without resource-level permissions: PutMetricData (namespace-conditioned),
    # glue:GetSecurityConfiguration, X-Ray and log delivery for the state machine
    (
        rf"({_GLUE_JOB}/Role|{_DATASET}/Catalog/CrawlerRole|{_DATASET}/Orchestration/StateMachine/Role)",
        _NAG + r"IAM5\[Resource::\*\]",
    ),
    # the operator policy: executions of each dataset's state machine, the two stacks dap reads outputs of
    (
        r"/Pipeline/OperatorPolicy/Policy",
        _NAG + r"IAM5\[Resource::arn:aws:states:ca-central-1:\d{12}:execution:vdap-[\w-]+-pipeline:\*\]",
    ),
    (
        r"/Pipeline/OperatorPolicy/Policy",
        _NAG
        + r"IAM5\[Resource::arn:aws:cloudformation:ca-central-1:\d{12}:stack/vdap-\w+-(storage|pipeline)/\*\]",
    ),
    # CDK's AwsCustomResource provider (publishes the DataBrew recipe)
    (
        r"/Pipeline/AWS679f53fac002430cb0da5b7982bd2287",
        _NAG
        + r"IAM4\[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\]",
    ),
    # a CDK warning, not a nag rule: "--passed_path" is a folder, not a password
    (rf"{_GLUE_JOB}/Job", r"Annotation::@aws-cdk/aws-glue-alpha:plaintextJobArgumentSecret"),
)


def violations(synthesized) -> list[str]:
    report = synthesized.validation_report or {"pluginReports": []}
    return [
        f"{v['ruleName']} at {[c['constructPath'] for c in v['violatingConstructs']]}"
        for plugin in report["pluginReports"]
        for v in plugin["violations"]
    ]


def test_cdk_nag_reports_no_unacknowledged_finding(synthesized):
    assert synthesized.validation_report is not None, "cdk-nag did not run"
    assert violations(synthesized) == []
    assert synthesized.validation_error is None


def test_cdk_nag_is_clean_when_dev_may_destroy(synthesize):
    destroyable = synthesize("dev", allow_destroy=True)
    assert violations(destroyable) == []


def test_cdk_nag_catches_an_unhardened_bucket(tmp_path):
    """The checks are live: an unacknowledged finding fails the synth."""
    from aws_cdk import App, Stack, Validations
    from aws_cdk import aws_s3 as s3
    from cdk_nag import AwsSolutionsChecks

    app = App(outdir=str(tmp_path))
    s3.Bucket(Stack(app, "Probe"), "Unlogged")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for v in report["pluginReports"][0]["violations"]}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules


def test_every_acknowledgment_is_expected_narrow_and_explained(synthesized):
    assert synthesized.acknowledgments, "expected the documented acknowledgments"
    for path, rule, reason in synthesized.acknowledgments:
        assert path.count("/") >= 2, f"{rule} acknowledged on a whole stack: {path}"
        assert len(reason) >= 60, f"{rule} at {path}: the reason must convince a reviewer"
        assert any(
            re.fullmatch(path_pattern, path) and re.fullmatch(rule_pattern, rule)
            for path_pattern, rule_pattern in EXPECTED_ACKNOWLEDGMENTS
        ), f"unexpected acknowledgment {rule} at {path}"


@pytest.mark.parametrize("stack", STACK_IDS)
def test_cfn_lint_finds_nothing_in_the_templates_region(synthesized, stack):
    region = synthesized.config.backup_region if stack == "Replica" else synthesized.config.primary_region
    matches = lint(json.dumps(synthesized.templates[stack]), config=ManualArgs(regions=[region]))
    assert [f"{m.rule.id} {m.message} ({m.path})" for m in matches] == []
