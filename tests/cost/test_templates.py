"""The template readers on the real synthesized dev app, and the estimate built from them."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from dap import cost

# `dap cost` models the business licences' pipeline (dap.cost.MODELLED_DATASET): its queries
QUERIES = sorted((Path(__file__).parents[2] / "datasets" / cost.MODELLED_DATASET / "queries").glob("*.sql"))


def test_kms_keys_platform_and_replica(dev_deployment):
    assert dev_deployment.kms_keys == 2


def test_alarms_and_dashboards(dev_deployment):
    # 9 in Observability (7 shared: Glue failures, execution failures, Glue runtime, raw and curated size,
    # Athena bytes, access denied; the dataset's 2: freshness, rejected rows), the portal-ingest errors alarm
    assert dev_deployment.alarms == 10
    # the raw-bucket size alarm is metric math over two storage classes: 2 billed metrics
    assert dev_deployment.alarm_metrics == 11
    assert dev_deployment.high_resolution_alarm_metrics == 0
    assert dev_deployment.dashboards == 1


def test_glue_jobs_follow_the_stage_config(dev_synth, dev_deployment):
    config = dev_synth[0]
    assert len(dev_deployment.glue_jobs) == 2
    for job in dev_deployment.glue_jobs:
        assert job.worker_type == "G.1X"
        assert job.workers == config.glue.max_workers
        assert job.execution_class == ("FLEX" if config.glue.flex else "STANDARD")


def test_databrew_jobs_capacity(dev_synth, dev_deployment):
    capacity = dev_synth[0].databrew.max_capacity
    assert sorted(j.job_type for j in dev_deployment.databrew_jobs) == ["PROFILE", "RECIPE"]
    assert {j.nodes for j in dev_deployment.databrew_jobs} == {capacity}


def test_glue_jobs_auto_scale(dev_deployment):
    assert all(job.auto_scaling for job in dev_deployment.glue_jobs)


def test_run_path_is_what_the_state_machine_starts(dev_deployment):
    """A job or crawler is billed per run only when a Task of the state machine starts it."""
    started = dev_deployment.started_per_run
    for job in dev_deployment.glue_jobs:
        assert started.get(job.name) == 1, job.name
    recipe = next(j for j in dev_deployment.databrew_jobs if j.job_type == "RECIPE")
    assert started.get(recipe.name) == 1
    assert set(started) <= {j.name for j in dev_deployment.glue_jobs} | {
        j.name for j in dev_deployment.databrew_jobs
    } | set(dev_deployment.crawlers)
    assert dev_deployment.state_transitions_per_run > 10


def test_crawlers_trail_and_subscriptions(dev_deployment):
    assert len(dev_deployment.crawlers) == 2
    assert dev_deployment.data_event_selectors == 1
    assert dev_deployment.data_event_buckets == 3  # raw, transformed, curated
    assert dev_deployment.trail_to_cloudwatch_logs
    assert dev_deployment.email_subscriptions == 1


def test_buckets_versions_and_replication(dev_synth, dev_deployment):
    retention = dev_synth[0].storage.noncurrent_version_retention_days
    by_purpose = {
        p: [b for b in dev_deployment.buckets if f"-{p}-" in b.name and "replica" not in b.name]
        for p in ("raw", "transformed", "curated")
    }
    for purpose, buckets in by_purpose.items():
        assert len(buckets) == 1, purpose
        assert buckets[0].versioned and buckets[0].replicated, purpose
        assert buckets[0].noncurrent_days == retention, purpose
    assert sum(1 for b in dev_deployment.buckets if "replica" in b.name) == 4


def test_named_queries_are_read_from_the_workgroup(dev_deployment):
    assert len(dev_deployment.named_queries) == len(QUERIES)
    for _, sql in dev_deployment.named_queries:
        cost.parse_query(sql)


def test_standard_execution_class_is_priced_standard(dev_synth):
    templates = copy.deepcopy(dev_synth[1])
    for res in templates["Pipeline"]["Resources"].values():
        if res["Type"] == "AWS::Glue::Job":
            res["Properties"]["ExecutionClass"] = "STANDARD"
            res["Properties"]["NumberOfWorkers"] = 10
            del res["Properties"]["DefaultArguments"]["--enable-auto-scaling"]  # all 10 billed
    deployment = cost.read_templates(templates)
    prices = cost.load_prices()
    est = cost.estimate(deployment, {"noncurrent_version_retention_days": 30}, cost.Usage(rows=10), prices)
    glue = [i for i in est.items if i.service == "Glue" and i.item.startswith("job")]
    assert len(glue) == 2
    for item in glue:
        assert "(STANDARD)" in item.item
        # 10 DPU x 60 s minimum + start-up: per second at the standard rate
        assert item.per_run == pytest.approx(10 * 60.0 * 0.44 / 3600, rel=0.01)


def test_estimate_totals_add_up(dev_synth, dev_deployment):
    prices = cost.load_prices()
    usage = cost.Usage(rows=1_000_000, runs_per_month=30)
    est = cost.estimate(dev_deployment, {"noncurrent_version_retention_days": 30}, usage, prices)
    assert est.per_month == pytest.approx(sum(i.per_month for i in est.items))
    for item in est.items:  # a month is the runs, plus what is billed monthly or on its own schedule
        assert item.per_month >= item.per_run * 30 - 1e-9
    kms = next(i for i in est.items if i.item.endswith("customer managed keys"))
    assert kms.per_month == pytest.approx(2 * prices["kms_key_month"])
    athena = next(i for i in est.items if i.service == "Athena")
    # every named query scans < 10 MB at 1M rows: each bills the minimum
    assert athena.per_run == pytest.approx(len(QUERIES) * 5e-5)
