"""dap run: start the state machine; --wait follows it state by state (moto executes the definition)."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from dap.aws.deployed import Deployed
from dap.cli import CommandError
from dap.operations import follow_run, start_run

from .conftest import FAIL_DEFINITION, REGION, SLOW_DEFINITION


def test_run_without_wait_starts_a_named_execution(deploy_pipeline, dap):
    machine = deploy_pipeline()["BusinessLicencesStateMachineArn"]

    code, out, err = dap("run", "--dataset", "business_licences")

    assert (code, err) == (0, "")
    executions = boto3.client("stepfunctions", region_name=REGION).list_executions(stateMachineArn=machine)
    [execution] = executions["executions"]
    assert execution["name"].startswith("manual-") and execution["name"].endswith("Z")
    assert f"started {execution['name']}" in out and execution["executionArn"] in out


def test_run_wait_follows_each_state_once_until_succeeded(deploy_pipeline, dap):
    deploy_pipeline(SLOW_DEFINITION)  # Pass, Wait 1 s, Pass: several polls see it RUNNING

    code, out, err = dap("run", "--dataset", "business_licences", "--wait", "--poll-seconds", "0.05")

    assert (code, err) == (0, "")
    lines = out.splitlines()
    for state, kind in (("Clean", "Pass"), ("Settle", "Wait"), ("QualityCheck", "Pass")):
        assert sum(line.endswith(f"entered  {state} ({kind})") for line in lines) == 1, out
        assert sum(f"exited   {state}" in line for line in lines) == 1, out
    order = [line.split("  ", 2)[-1].split(" (")[0] for line in lines if "entered" in line]
    assert order == ["Clean", "Settle", "QualityCheck"]
    assert any("exited   Settle after 1s" in line for line in lines), out
    assert lines[-1].startswith("manual-") and " SUCCEEDED in " in lines[-1]


def test_failed_execution_exits_non_zero_with_error_and_cause(deploy_pipeline, dap):
    deploy_pipeline(FAIL_DEFINITION)

    code, out, err = dap("run", "--dataset", "business_licences", "--wait", "--poll-seconds", "0.05")

    assert code == 3
    assert "entered  QualityGate (Fail)" in out
    assert err.startswith("dap run: execution manual-")
    assert " FAILED in state QualityGate after " in err
    assert err.rstrip().endswith("QualityGateFailed: failed_row_rate 0.31 > 0.2")
    assert err.count("\n") == 1


def test_aborted_execution_has_its_own_exit_code(deploy_pipeline):
    deploy_pipeline({"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 30, "End": True}}})
    sfn = boto3.client("stepfunctions", region_name=REGION)
    polls = []

    def operator_aborts(seconds: float) -> None:  # someone stops the run while it waits in Long
        polls.append(seconds)
        # moto starts an execution's states on its own thread: stop only once Long is entered, as an
        # operator watching the console would (a stop before that has no state to report).
        for _ in range(200):
            events = sfn.get_execution_history(executionArn=arn)["events"]
            if any(e["type"] == "WaitStateEntered" for e in events):
                break
            time.sleep(0.01)
        sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped from the console")

    deployed = Deployed.from_stage("dev", sleep=operator_aborts)
    arn = start_run(deployed, dataset_id="business_licences")
    with pytest.raises(CommandError) as raised:
        follow_run(deployed, arn, poll_seconds=0.05)

    assert raised.value.exit_code == 5
    # moto keeps no error/cause for a stopped execution (AWS would report "Operator: ...")
    assert " ABORTED in state Long after " in str(raised.value)
    # moto applies the stop on its execution thread: the follower may poll a few more times first
    assert polls and set(polls) == {0.05}


def test_timed_out_execution_has_its_own_exit_code(deploy_pipeline, dap):
    deploy_pipeline(
        {
            "TimeoutSeconds": 1,
            "StartAt": "Long",
            "States": {"Long": {"Type": "Wait", "Seconds": 30, "End": True}},
        }
    )
    code, _, err = dap("run", "--dataset", "business_licences", "--wait", "--poll-seconds", "0.1")
    assert code == 4, err
    assert " TIMED_OUT " in err


def test_execution_input_is_an_empty_object(deploy_pipeline, dap):
    machine = deploy_pipeline()["BusinessLicencesStateMachineArn"]
    dap("run", "--dataset", "business_licences")
    sfn = boto3.client("stepfunctions", region_name=REGION)
    [execution] = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == {}


def test_force_is_the_execution_input(deploy_pipeline, dap):
    """`dap run --force` asks the state machine to process an unchanged raw input again."""
    machine = deploy_pipeline()["BusinessLicencesStateMachineArn"]
    code, _, _ = dap("run", "--dataset", "business_licences", "--force")
    assert code == 0
    sfn = boto3.client("stepfunctions", region_name=REGION)
    [execution] = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == {
        "force": True
    }


def test_profile_starts_the_profile_job_named_by_the_stack(deploy_pipeline, capsys):
    """moto has no DataBrew StartJobRun: botocore's own Stubber checks the request we send."""
    from botocore.stub import Stubber

    from dap.operations import profile

    deploy_pipeline()
    deployed = Deployed.from_stage("dev")
    with Stubber(deployed.client("databrew")) as stub:
        stub.add_response(
            "start_job_run", {"RunId": "db_1234"}, {"Name": "vdap-dev-business-licences-profile"}
        )
        assert profile(deployed, dataset_id="business_licences") == 0
        stub.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert "started profile job vdap-dev-business-licences-profile: run db_1234" in out
