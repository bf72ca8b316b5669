"""dap query: named query -> Athena execution -> aligned table, bytes scanned and cost."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from moto.athena.models import QueryResults, athena_backends
from moto.moto_api import state_manager

from dap.aws.deployed import RETRY_CONFIG, Deployed
from dap.cli import CommandError
from dap.operations import ATHENA_MIN_BYTES_PER_QUERY, athena_cost, query

from .conftest import ACCOUNT, DATABASE, NAMED_QUERIES, REGION, WORKGROUP

COLUMNS = [
    {"Name": "businesstype", "Label": "businesstype", "Type": "varchar"},
    {"Name": "avg_fee", "Label": "avg_fee", "Type": "double"},
]


def row(*values):
    return {"Data": [{"VarCharValue": v} if v is not None else {} for v in values]}


def seed(*rows):
    """Queue the result moto returns for the next query (Athena repeats the header as the first row)."""
    result = QueryResults(rows=[row("businesstype", "avg_fee"), *rows], column_info=COLUMNS)
    athena_backends[ACCOUNT][REGION].query_results_queue.append(result)


@pytest.fixture
def manual_athena():
    """Make moto's query executions advance one state per get_query_execution (QUEUED, RUNNING ...)."""

    def configure(times: int) -> None:
        state_manager.set_transition(
            model_name="athena::execution", transition={"progression": "manual", "times": times}
        )

    yield configure
    state_manager.unset_transition("athena::execution")


def test_query_prints_aligned_table_and_cost(deploy_pipeline, dap):
    deploy_pipeline()
    seed(row("Restaurant", "1234.5"), row("Auto Repairs", "98.25"), row("Unknown", None))

    code, out, err = dap("query", "--dataset", "business_licences", "average_fee_issued")

    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    assert lines[:5] == [
        "businesstype  avg_fee",
        "------------  -------",
        "Restaurant     1234.5",
        "Auto Repairs    98.25",
        "Unknown          NULL",
    ]
    assert lines[5] == "(3 rows)"
    # moto reports 0 bytes scanned: the 10 MB minimum is billed
    assert lines[6] == "scanned 0 B (0 bytes); billed 10.00 MB (10 MB minimum) ≈ $0.000050 at $5.00/TB"
    athena = boto3.client("athena", region_name=REGION)
    [execution_id] = athena.list_query_executions(WorkGroup=WORKGROUP)["QueryExecutionIds"]
    execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    assert execution["Query"] == NAMED_QUERIES["business_licences-average_fee_issued"]
    assert execution["QueryExecutionContext"] == {"Database": DATABASE}
    assert execution["WorkGroup"] == WORKGROUP
    assert f"execution {execution_id} in workgroup {WORKGROUP}, database {DATABASE}" in out


def test_max_rows_limits_the_table(deploy_pipeline, dap):
    deploy_pipeline()
    seed(row("A", "1"), row("B", "2"), row("C", "3"))
    code, out, _ = dap("query", "--dataset", "business_licences", "average_fee_issued", "--max-rows", "2")
    assert code == 0
    assert "C" not in [line.split()[0] for line in out.splitlines()[2:4]]
    assert "(2 rows; more not shown (--max-rows 2))" in out


def test_unknown_query_lists_the_known_names(deploy_pipeline, dap):
    deploy_pipeline()
    code, out, err = dap("query", "--dataset", "business_licences", "top_fees")
    assert (code, out) == (1, "")
    assert err == (
        "dap query: no named query 'business_licences-top_fees' in workgroup vdap-dev-analytics; "
        "known: business_licences-average_fee_issued, business_licences-licences_by_area\n"
    )


def test_waits_with_backoff_until_the_query_succeeds(deploy_pipeline, manual_athena):
    deploy_pipeline()
    manual_athena(times=2)  # two polls per state: QUEUED, QUEUED, RUNNING, RUNNING, SUCCEEDED
    seed(row("Restaurant", "1"))
    sleeps: list[float] = []
    assert (
        query(
            Deployed.from_stage("dev", sleep=sleeps.append),
            "average_fee_issued",
            dataset_id="business_licences",
        )
        == 0
    )
    assert sleeps == [0.25, 0.5, 1.0]  # doubling backoff (capped at 5 s)


def test_cancelled_query_exits_non_zero(deploy_pipeline, manual_athena):
    deploy_pipeline()
    manual_athena(times=1000)  # stays QUEUED until someone cancels it
    athena = boto3.client("athena", region_name=REGION)

    def someone_cancels(_seconds: float) -> None:
        for execution_id in athena.list_query_executions(WorkGroup=WORKGROUP)["QueryExecutionIds"]:
            athena.stop_query_execution(QueryExecutionId=execution_id)

    with pytest.raises(CommandError) as raised:
        query(
            Deployed.from_stage("dev", sleep=someone_cancels),
            "licences_by_area",
            dataset_id="business_licences",
        )
    assert raised.value.exit_code == 5
    # moto sets no StateChangeReason on a cancelled query
    assert str(raised.value).startswith(
        "query business_licences-licences_by_area CANCELLED: no reason given (execution "
    )


def test_failed_query_reports_its_state_change_reason(aws_env, capsys):
    """moto never fails a query: the FAILED path runs on a real boto3 Athena client whose responses come
    from botocore's Stubber, which validates them against Athena's service model (the real shape)."""
    athena = boto3.client("athena", region_name=REGION, config=RETRY_CONFIG)
    stub = Stubber(athena)
    stub.add_response("list_named_queries", {"NamedQueryIds": ["q-1"]}, {"WorkGroup": WORKGROUP})
    stub.add_response(
        "get_named_query",
        {
            "NamedQuery": {
                "Name": "business_licences-average_fee_issued",
                "Database": DATABASE,
                "QueryString": "SELECT x FROM nope",
                "NamedQueryId": "q-1",
                "WorkGroup": WORKGROUP,
            }
        },
        {"NamedQueryId": "q-1"},
    )
    stub.add_response("start_query_execution", {"QueryExecutionId": "e-1"})
    running = {"QueryExecution": {"QueryExecutionId": "e-1", "Status": {"State": "RUNNING"}}}
    failed = {
        "QueryExecution": {
            "QueryExecutionId": "e-1",
            "Status": {
                "State": "FAILED",
                "StateChangeReason": "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved",
                "AthenaError": {"ErrorCategory": 2, "ErrorType": 1006, "Retryable": False},
            },
            "Statistics": {"DataScannedInBytes": 0},
        }
    }
    stub.add_response("get_query_execution", running, {"QueryExecutionId": "e-1"})
    stub.add_response("get_query_execution", failed, {"QueryExecutionId": "e-1"})
    outputs = {"pipeline": {"WorkgroupName": WORKGROUP, "GlueDatabaseName": DATABASE}}
    deployed = Deployed.from_stage("dev", clients={"athena": athena}, outputs=outputs, sleep=lambda _s: None)

    with stub, pytest.raises(CommandError) as raised:
        query(deployed, "average_fee_issued", dataset_id="business_licences")

    stub.assert_no_pending_responses()
    assert raised.value.exit_code == 3
    assert str(raised.value) == (
        "query business_licences-average_fee_issued FAILED: COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved (execution e-1)"
    )
    assert capsys.readouterr().out == ""  # failed queries are not billed: no cost line


@pytest.mark.parametrize(
    ("scanned", "billed", "usd"),
    [
        (0, ATHENA_MIN_BYTES_PER_QUERY, 0.00005),
        (10_000_001, 11_000_000, 0.000055),
        (2_500_000_000_000, 2_500_000_000_000, 12.5),
    ],
)
def test_athena_cost(scanned, billed, usd):
    assert athena_cost(scanned) == (billed, pytest.approx(usd))
