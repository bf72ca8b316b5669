"""`dap cost --assume` and `--measured`: assumptions replaced by name, or by the account's recent runs.

Glue runs and crawls come from moto (its job runs report ExecutionTime 123 s and the run's workers, no
DPUSeconds; a crawl's DPUHour is seeded on moto's own crawl object). What moto does not serve - DataBrew
ListJobRuns, a Glue run's DPUSeconds and ExecutionClass, access denied - comes from botocore's Stubber
on real boto3 clients. The templates are the session's dev synth (names read from them, not written here).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.glue.models import glue_backends
from moto.moto_api import state_manager

from dap import cost
from dap.aws.deployed import Deployed
from dap.cli import CommandError, build_parser, main

ACCOUNT = "123456789012"  # moto's default account
REGION = "ca-central-1"  # stage dev's primary region in cdk.json
PRICES = cost.load_prices()
T0 = datetime(2026, 11, 1, tzinfo=UTC)
IDENTITY = {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/o", "UserId": "AIDAEXAMPLE"}


@pytest.fixture
def reuse_synth(monkeypatch, dev_synth):
    monkeypatch.setattr(cost, "synthesize_templates", lambda stage=None, settings=None: dev_synth)


@pytest.fixture
def moto_glue(aws_env):
    """moto with job runs and crawls that finish at once (SUCCEEDED / COMPLETED)."""
    with mock_aws():
        for model in ("glue::job_run", "glue::crawl"):
            state_manager.set_transition(model_name=model, transition={"progression": "immediate"})
        yield boto3.client("glue", region_name=REGION)
        for model in ("glue::job_run", "glue::crawl"):
            state_manager.unset_transition(model_name=model)


def _items(out: str) -> dict[str, tuple[float, float, str]]:
    """The estimate's table (fixed columns: service 13, item 60, per run 10, per month 10, basis):
    "service item" -> (per run, per month, basis)."""
    rows = {}
    for line in out.splitlines():
        if re.fullmatch(r"\s*-?\d+\.\d{4}", line[75:85]) and re.fullmatch(r"\s*\d+\.\d{4}", line[86:96]):
            label = f"{line[:13].strip()} {line[14:74].strip()}".strip()
            rows[label] = (float(line[75:85]), float(line[86:96]), line[98:])
    return rows


def _one(rows: dict[str, tuple[float, float, str]], part: str) -> tuple[float, float, str]:
    (found,) = [v for k, v in rows.items() if part in k]
    return found


def _brew_run(seconds: int, started: datetime, state: str = "SUCCEEDED") -> dict:
    return {"RunId": f"db_{started:%d%H%M}", "State": state, "ExecutionTime": seconds, "StartedOn": started}


def _dollars(minutes: float, nodes: int = 1) -> float:
    return nodes * minutes * PRICES["databrew_node_hour"] / 60


# -- --assume ----------------------------------------------------------------------------------------
def test_assume_replaces_the_databrew_minutes(reuse_synth, capsys, dev_deployment):
    assert main(["cost", "--rows", "100000"]) == 0
    before = _items(capsys.readouterr().out)
    assert main(["cost", "--rows", "100000", "--assume", "databrew_minutes_per_job=2"]) == 0
    out = capsys.readouterr().out
    after = _items(out)
    nodes = next(j.nodes for j in dev_deployment.databrew_jobs if j.job_type == "RECIPE")
    assert _one(before, "recipe job")[0] == pytest.approx(_dollars(5, nodes), abs=1e-4)
    assert _one(after, "recipe job")[0] == pytest.approx(_dollars(2, nodes), abs=1e-4)
    assert _one(after, "recipe job")[2].startswith(f"assumed: {nodes} nodes x 2 min")
    saved = _dollars(5, nodes) - _dollars(2, nodes)
    assert after["TOTAL"][0] == pytest.approx(before["TOTAL"][0] - saved, abs=2e-4)
    assert (
        "usage assumptions (--assume NAME=VALUE): databrew_minutes_per_job=2, glue_startup_seconds=60" in out
    )


@pytest.mark.parametrize(
    ("assume", "message"),
    [
        ("databrew_minute=2", "--assume: unknown usage assumption 'databrew_minute'; valid names: "
         "databrew_minutes_per_job, glue_startup_seconds, crawler_seconds"),
        ("rows=10", "--assume: unknown usage assumption 'rows'"),
        ("crawler_seconds=fast", "--assume crawler_seconds: 'fast' is not a number >= 0"),
        ("crawler_seconds=-5", "--assume crawler_seconds: '-5' is not a number >= 0"),
        ("crawler_seconds=nan", "--assume crawler_seconds: 'nan' is not a number >= 0"),
        ("s3_put_requests_per_run=2.5", "--assume s3_put_requests_per_run: '2.5' is not a whole number"),
        ("crawler_seconds", "--assume 'crawler_seconds': expected NAME=VALUE"),
    ],
)  # fmt: skip
def test_bad_assumptions_are_one_line_errors(reuse_synth, capsys, assume, message):
    assert main(["cost", "--assume", assume]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"dap cost: {message}") and err.count("\n") == 1


def test_assumptions_go_to_both_sides_of_a_comparison(capsys):
    argv = ["cost", "--rows", "100000", "--set", "databrew.max_capacity=2"]
    assert main([*argv, "--assume", "databrew_minutes_per_job=3", "--assume", "crawler_seconds=900"]) == 0
    out = capsys.readouterr().out
    recipe = next(line for line in out.splitlines() if "recipe job" in line).split()[-4:]
    assert float(recipe[0]) == pytest.approx(_dollars(3, 1), abs=1e-4)  # dev: 1 node
    assert float(recipe[1]) == pytest.approx(_dollars(3, 2), abs=1e-4)  # changed: 2 nodes, same minutes
    assert "usage assumptions (both sides): databrew_minutes_per_job=3, glue_startup_seconds=60, " in out
    assert "crawler_seconds=900" in out


def test_measured_options_are_checked(reuse_synth, capsys):
    assert main(["cost", "--runs", "3"]) == 1
    assert capsys.readouterr().err == "dap cost: --runs goes with --measured\n"
    assert main(["cost", "--measured", "--runs", "0"]) == 1
    assert capsys.readouterr().err == "dap cost: --runs must be >= 1\n"


# -- billing a measured run --------------------------------------------------------------------------
def test_a_run_is_billed_as_aws_bills_it():
    job = cost.GlueJob("j", "G.1X", 10, "STANDARD")
    assert cost.databrew_billed_minutes({"ExecutionTime": 61}) == 2  # whole minutes
    assert cost.databrew_billed_minutes({"ExecutionTime": 5}) == 1
    assert (
        cost.glue_billed_dpu_seconds({"DPUSeconds": 90, "ExecutionTime": 400, "MaxCapacity": 10}, job) == 90
    )
    assert cost.glue_billed_dpu_seconds({"ExecutionTime": 100, "MaxCapacity": 3}, job) == 300
    assert (
        cost.glue_billed_dpu_seconds({"ExecutionTime": 100, "NumberOfWorkers": 3, "WorkerType": "G.2X"}, job)
        == 600
    )
    assert cost.glue_billed_dpu_seconds({"ExecutionTime": 20, "MaxCapacity": 2}, job) == 120  # 1-min minimum
    assert cost.glue_billed_dpu_seconds({"ExecutionTime": 100}, job) == 1000  # the template's 10 DPU
    # a 60 s crawl that used 0.01 DPU-h (0.6 DPU) bills 0.6 DPU for the 600 s minimum
    crawl = {"DPUHour": 0.01, "StartTime": T0, "EndTime": T0 + timedelta(seconds=60)}
    assert cost.crawl_billed_dpu_seconds(crawl, 600) == pytest.approx(360)
    assert cost.crawl_billed_dpu_seconds(
        {**crawl, "EndTime": T0 + timedelta(seconds=900)}, 600
    ) == pytest.approx(36)
    assert cost.crawl_billed_dpu_seconds({"DPUHour": 0.5}, 600) == pytest.approx(1800)  # no duration given


# -- --measured: moto for Glue, Stubber for DataBrew -------------------------------------------------
def _create_glue(glue, deployment, *, skip: str = "") -> None:
    """The dev Glue jobs and crawlers, as the templates name them, each with a few finished runs."""
    for job in deployment.glue_jobs:
        if job.name == skip:
            continue
        glue.create_job(
            Name=job.name,
            Role="arn:aws:iam::123456789012:role/glue",
            Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/job.py"},
            WorkerType=job.worker_type,
            NumberOfWorkers=job.workers,
            ExecutionClass=job.execution_class,
        )
        for _ in range(4):
            glue.start_job_run(JobName=job.name)
            glue.get_job_runs(JobName=job.name)  # moto moves a run to SUCCEEDED when it is read
    for name in deployment.crawlers:
        glue.create_crawler(
            Name=name,
            Role="arn:aws:iam::123456789012:role/crawler",
            Targets={"CatalogTargets": [{"DatabaseName": "db", "Tables": ["t"]}]},
        )


def _stub_databrew(deployment, recipe_runs: list[dict]) -> tuple[object, Stubber]:
    """A real DataBrew client whose ListJobRuns answers come from Stubber: the profile job is not
    deployed, the recipe job has ``recipe_runs``."""
    client = boto3.client("databrew", region_name=REGION)
    stub = Stubber(client)
    for job in deployment.databrew_jobs:  # the order measure_runs asks in
        if job.job_type == "RECIPE":
            stub.add_response("list_job_runs", {"JobRuns": recipe_runs}, {"Name": job.name})
        else:
            stub.add_client_error("list_job_runs", "ResourceNotFoundException", "no such job", 404)
    stub.activate()
    return client, stub


def test_measured_runs_replace_the_assumptions(moto_glue, reuse_synth, dev_deployment, capsys):
    """3 recent 2-minute recipe runs price 2 node-minutes; moto's Glue runs (123 s on 2 G.1X workers)
    price 246 DPU-s on Flex; a crawl of 0.5 DPU-h is priced as such; what has no run stays assumed."""
    quality, summarize = (j.name for j in dev_deployment.glue_jobs)
    _create_glue(moto_glue, dev_deployment, skip=summarize)
    measured_crawler, idle_crawler = dev_deployment.crawlers
    moto_glue.start_crawler(Name=measured_crawler)
    glue_backends[ACCOUNT][REGION].crawlers[measured_crawler].crawls[-1].dpu_hour = 0.5
    recipe_runs = [  # the API's order is not trusted: older, slower runs come first
        _brew_run(900, T0),
        _brew_run(900, T0 + timedelta(days=1)),
        _brew_run(600, T0 + timedelta(days=6), state="FAILED"),  # the newest runs failed: not counted
        _brew_run(600, T0 + timedelta(days=7), state="FAILED"),
        _brew_run(100, T0 + timedelta(days=3)),
        _brew_run(110, T0 + timedelta(days=4)),
        _brew_run(95, T0 + timedelta(days=5)),
    ]
    databrew, stub = _stub_databrew(dev_deployment, recipe_runs)
    deployed = Deployed.from_stage("dev", clients={"databrew": databrew})
    args = build_parser().parse_args(["cost", "--rows", "100000", "--measured", "--runs", "3"])

    assert cost._run(args, deployed=deployed) == 0
    stub.assert_no_pending_responses()
    out = capsys.readouterr().out
    rows = _items(out)

    recipe_nodes = next(j.nodes for j in dev_deployment.databrew_jobs if j.job_type == "RECIPE")
    recipe = _one(rows, "recipe job")
    assert recipe[0] == pytest.approx(_dollars(2, recipe_nodes), abs=1e-4)
    assert recipe[2].startswith(f"measured: median of 3 runs, {recipe_nodes} nodes x 2 min")
    assert _one(rows, "profile job")[2].startswith("assumed: 1 nodes x 5 min = $0.0400 (not deployed")

    workers = next(j for j in dev_deployment.glue_jobs if j.name == quality).workers
    moto_dpu_seconds = 123 * workers  # G.1X = 1 DPU a worker
    check = _one(rows, quality)
    assert check[0] == pytest.approx(moto_dpu_seconds * PRICES["glue_etl_dpu_hour_flex"] / 3600, abs=1e-4)
    assert check[2].startswith(f"measured: median of 3 runs, {moto_dpu_seconds} DPU-s ran FLEX;")
    assert _one(rows, summarize)[2].startswith("assumed: 2 DPU (2 x G.1X, auto scaling, max 2)")

    crawl = 0.5 * PRICES["glue_crawler_dpu_hour"]
    assumed_crawl = 2 * 600 * PRICES["glue_crawler_dpu_hour"] / 3600
    month = sum(
        one * dev_deployment.runs_per_month(name, 30)[1]  # the crawlers run on their own schedules
        for name, one in ((measured_crawler, crawl), (idle_crawler, assumed_crawl))
    )
    crawlers = _one(rows, "2 crawlers")
    assert crawlers[1] == pytest.approx(month, abs=1e-4) and crawlers[0] == 0
    assert (
        f"measured: median of 1 runs, 0.500 DPU-h = ${crawl:.4f} a crawl ({measured_crawler})" in crawlers[2]
    )
    assert f"(no successful run to measure) ({idle_crawler})" in crawlers[2]

    # the total moves by exactly what the measured lines changed
    retention = {"noncurrent_version_retention_days": 30}
    assumed = cost.estimate(dev_deployment, retention, cost.Usage(rows=100_000), PRICES)
    old = {i.key: i.per_run for i in assumed.items}
    delta = (recipe[0] - old["databrew.recipe"]) + (check[0] - old["glue.quality"])
    assert rows["TOTAL"][0] == pytest.approx(assumed.per_run + delta, abs=5e-4)
    assert rows["TOTAL"][0] < assumed.per_run
    assert "measured in ca-central-1: median of the last 3 successful runs; 3 of 6 jobs and crawlers" in out


def _stub(client, calls: list[tuple[str, dict]]) -> Stubber:
    stub = Stubber(client)
    for operation, response in calls:
        stub.add_response(operation, response)
    stub.activate()
    return stub


def test_flex_dpu_seconds_are_priced_at_the_flex_rate(aws_env, dev_deployment):
    """Glue's DPUSeconds (auto scaling, Flex) is what it bills: 90 DPU-s on Flex cost 90 DPU-s at the
    Flex rate; a STANDARD run without it bills ExecutionTime x MaxCapacity at the standard rate."""
    quality, summarize = (j.name for j in dev_deployment.glue_jobs)
    glue = boto3.client("glue", region_name=REGION)
    started = {"StartedOn": T0, "JobRunState": "SUCCEEDED"}
    flex = {"DPUSeconds": 90.0, "ExecutionTime": 300, "MaxCapacity": 2.0, "ExecutionClass": "FLEX"}
    flex_run = {**started, "Id": "jr_1", **flex}
    standard_run = {
        **started,
        "Id": "jr_2",
        "ExecutionTime": 95,
        "MaxCapacity": 2.0,
        "ExecutionClass": "STANDARD",
    }
    calls = [("get_job_runs", {"JobRuns": [flex_run]}), ("get_job_runs", {"JobRuns": [standard_run]})]
    calls += [("list_crawls", {"Crawls": []})] * len(dev_deployment.crawlers)
    glue_stub = _stub(glue, calls)
    databrew = boto3.client("databrew", region_name=REGION)
    brew_stub = _stub(databrew, [("list_job_runs", {"JobRuns": []})] * len(dev_deployment.databrew_jobs))
    sts = boto3.client("sts", region_name=REGION)
    sts_stub = _stub(sts, [("get_caller_identity", IDENTITY)])
    deployed = Deployed.from_stage("dev", clients={"glue": glue, "databrew": databrew, "sts": sts})

    runs = cost.measure_runs(deployed, dev_deployment, PRICES, count=5)
    for stub in (glue_stub, brew_stub, sts_stub):
        stub.assert_no_pending_responses()
    assert runs[quality] == cost.RunMeasurement(1, 90.0, "FLEX")
    assert runs[summarize] == cost.RunMeasurement(1, 190.0, "STANDARD")
    assert all(runs[name] == cost.RunMeasurement(0) for name in dev_deployment.crawlers)

    est = cost.estimate(dev_deployment, {}, cost.Usage(rows=100_000), PRICES, account_runs=runs)
    items = {i.key: i for i in est.items}
    assert items["glue.quality"].per_run == pytest.approx(90 * PRICES["glue_etl_dpu_hour_flex"] / 3600)
    assert items["glue.summary"].per_run == pytest.approx(190 * PRICES["glue_etl_dpu_hour_standard"] / 3600)
    assert "190 DPU-s ran STANDARD" in items["glue.summary"].basis
    assert est.flex_alternative[summarize] == pytest.approx(190 * PRICES["glue_etl_dpu_hour_flex"] / 3600)
    assert items["databrew.recipe"].basis.startswith("assumed: 1 nodes x 5 min = $0.0400 (no successful run")


def test_access_denied_is_one_line(aws_env, dev_deployment):
    databrew = boto3.client("databrew", region_name=REGION)
    stub = Stubber(databrew)
    stub.add_client_error(
        "list_job_runs",
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/o is not\nauthorized",
        403,
    )
    stub.activate()
    sts = boto3.client("sts", region_name=REGION)
    _stub(sts, [("get_caller_identity", IDENTITY)])
    deployed = Deployed.from_stage("dev", clients={"databrew": databrew, "sts": sts})
    with pytest.raises(CommandError) as raised:
        cost.measure_runs(deployed, dev_deployment, PRICES)
    first = dev_deployment.databrew_jobs[0].name
    assert str(raised.value) == (
        f"access denied: ListJobRuns while trying to read the runs of DataBrew job {first}: "
        "User: arn:aws:iam::123456789012:user/o is not authorized"
    )


def test_measured_without_credentials_exits_with_one_line(aws_env, monkeypatch, reuse_synth, capsys):
    # no mock: botocore refuses to sign without credentials, nothing is sent
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    assert main(["cost", "--measured"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("dap cost: no usable AWS credentials (Unable to locate credentials)")
    assert captured.err.count("\n") == 1


def test_measured_does_not_go_with_a_comparison(capsys):
    with pytest.raises(SystemExit):
        main(["cost", "--measured", "--compare", "prod"])
    assert "not allowed with argument" in capsys.readouterr().err
