"""`dap local` and `dap report` through the command line: bad inputs and datasets, --strict, the chart
from a local run and from S3."""

from __future__ import annotations

import json
import shutil
from datetime import date

import boto3
import pytest
from moto import mock_aws

from dap.local_run import EXIT_DATASET_RULE, REPORT_HTML, LocalLayout
from dap.report import ChartError, chart_rows_from_csv, draw_dataset_chart, png_size

from .conftest import LICENCES, cli, small_input

DEFAULT_INPUT = LICENCES.sample_path

HEADER = DEFAULT_INPUT.read_bytes().split(b"\r\n")[0].decode("utf-8-sig")
ROW = DEFAULT_INPUT.read_bytes().split(b"\r\n")[1].decode("utf-8")


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


BAD_FILES = {
    "comma": ((HEADER.replace(";", ",") + "\r\n").encode(), "wrong delimiter: the header is comma-separated"),
    "missing": ((HEADER.replace(";LocalArea", "") + "\r\n").encode(), "missing column(s): LocalArea"),
    "extra": ((HEADER + ";Extra\r\n" + ROW + ";x\r\n").encode(), "unexpected column(s): Extra"),
    "latin1": ((HEADER + "\r\n" + ROW.replace("Vancouver", "Montr\u00e9al") + "\r\n").encode("latin-1"), "not UTF-8: invalid byte 0xe9"),
    "empty": (b"", "empty file (0 bytes)"),
}  # fmt: skip


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_input_stops_with_one_line_and_writes_nothing(tmp_path, capsys, kind):
    data, message = BAD_FILES[kind]
    bad = _write(tmp_path, f"{kind}.csv", data)
    out = tmp_path / "out"
    code, stdout, stderr = cli(
        ["local", "--dataset", "business_licences", "--input", bad, "--out", out], capsys
    )
    assert code == 1
    assert stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith(f"dap local: {kind}.csv: ")
    assert message in stderr
    assert not out.exists()


def test_missing_input_file(tmp_path, capsys):
    argv = [
        "local",
        "--dataset",
        "business_licences",
        "--input",
        tmp_path / "nope.csv",
        "--out",
        tmp_path / "o",
    ]
    code, _, stderr = cli(argv, capsys)
    assert (code, stderr) == (1, "dap local: nope.csv: no such file\n")
    assert not (tmp_path / "o").exists()


def test_input_needs_exactly_one_dataset(tmp_path, capsys):
    code, stdout, stderr = cli(["local", "--input", DEFAULT_INPUT, "--out", tmp_path / "o"], capsys)
    assert (code, stdout) == (1, "")
    assert stderr == "dap local: --input needs exactly one --dataset (whose export it is)\n"
    argv = [
        "local",
        "--dataset",
        "business_licences",
        "--dataset",
        "business_licences",
        "--input",
        DEFAULT_INPUT,
    ]
    assert cli([*argv, "--out", tmp_path / "o"], capsys)[0] == 1
    assert not (tmp_path / "o").exists()


def test_an_unknown_dataset_is_named(tmp_path, capsys):
    code, _, stderr = cli(["local", "--dataset", "parking_tickets", "--out", tmp_path / "o"], capsys)
    assert code == 1 and stderr.count("\n") == 1
    assert stderr.startswith("dap local: --dataset parking_tickets: neither a dataset of datasets/ (")
    assert "business_licences" in stderr and not (tmp_path / "o").exists()


def test_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "mine"
    (out / "business_licences").mkdir(parents=True)
    (out / "business_licences" / "keep.txt").write_text("precious")
    code, _, stderr = cli(["local", "--dataset", "business_licences", "--out", out], capsys)
    assert code == 1 and "not empty and was not written by dap local" in stderr
    assert str(out / "business_licences") in stderr
    assert [p.name for p in (out / "business_licences").iterdir()] == ["keep.txt"]


def test_bad_run_time(tmp_path, capsys):
    code, _, stderr = cli(["local", "--out", tmp_path / "o", "--run-time", "yesterday"], capsys)
    assert code == 1 and "--run-time 'yesterday' is not an ISO 8601 timestamp" in stderr


def test_strict_stops_after_the_quality_step(spark, tmp_path, capsys):
    out = tmp_path / "strict"
    argv = [
        "local",
        "--dataset",
        "business_licences",
        "--input",
        small_input(tmp_path),
        "--out",
        out,
        "--strict",
        "--run-time",
        "2026-01-15T12:00:00Z",
    ]
    code, stdout, stderr = cli(argv, capsys)
    assert code == EXIT_DATASET_RULE
    assert "FAILED dataset rule extract_date_fresh" in stdout
    assert (
        stderr.strip().splitlines()[-1].startswith("dap local: dataset rule(s) failed: extract_date_fresh;")
    )
    layout = LocalLayout.of(out, "business_licences")
    report = json.loads(layout.report.read_text())
    assert report["status"].startswith("stopped after the quality check")
    assert report["rows_read"] == 60
    assert report["rows_read"] - report["duplicates_removed"] == report["rows_passed"] + report["rows_failed"]
    assert list(report["steps"]) == ["check_input", "raw_copy", "spark_start", "recipe", "quality_check"]
    assert "answers" not in report and "summary_rows" not in report
    assert layout.quality_report.is_file() and list(layout.passed.rglob("*.parquet"))
    assert not (layout.root / "curated").exists() and not layout.athena_results.exists()
    assert not layout.chart.exists()
    # the stopped run still gets its page (counts, rules, examples; no chart, no answers), path printed last
    html = layout.root / REPORT_HTML
    assert stdout.rstrip("\n").splitlines()[-1] == f"HTML report: {html}"
    page = html.read_text(encoding="utf-8")
    assert 'id="no-chart"' in page and 'data-outcome="failed"' in page


# -- dap report -------------------------------------------------------------------------------------
def test_report_from_a_local_run(sample_run, tmp_path, capsys):
    png = tmp_path / "chart.png"
    run_dir = sample_run.layout.root.parent  # dap local's --out
    code, stdout, _ = cli(
        ["report", "--run-dir", run_dir, "--dataset", "business_licences", "--out", png], capsys
    )
    csv_file = sample_run.layout.output_csv_file("summary")
    assert code == 0 and str(png) in stdout and str(csv_file) in stdout
    assert f"{sample_run.report['summary_rows']} rows" in stdout
    assert png_size(png) == (1320, 660)
    # one dataset's run folder works too, the dataset read from its report.json
    again = tmp_path / "again.png"
    code, stdout, _ = cli(["report", "--run-dir", sample_run.layout.root, "--out", again], capsys)
    assert code == 0 and png_size(again) == (1320, 660)


def test_report_out_needs_one_dataset(all_runs, remuneration_run, tmp_path, capsys):
    code, _, stderr = cli(["report", "--run-dir", all_runs.out, "--out", tmp_path / "x.png"], capsys)
    assert (code, stderr) == (1, "dap report: --out names one file: give one --dataset\n")


def test_report_without_a_local_run(tmp_path, capsys):
    code, _, stderr = cli(["report", "--run-dir", tmp_path], capsys)
    assert code == 1 and "run 'dap local' first" in stderr
    code, _, stderr = cli(["report", "--run-dir", tmp_path, "--dataset", "business_licences"], capsys)
    assert code == 1 and "no report.json in" in stderr and "run 'dap local' first" in stderr


def test_chart_of_a_header_only_csv_and_a_wrong_csv(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text(",".join(LICENCES.output("summary").names) + "\n")
    rows = chart_rows_from_csv(empty, LICENCES)
    info = draw_dataset_chart(LICENCES, rows, tmp_path / "empty.png")
    assert rows == [] and info.rows == 0 and png_size(info.path) == (info.width, info.height)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    with pytest.raises(ChartError, match="missing column"):
        chart_rows_from_csv(wrong, LICENCES)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "issue_date,max_number_of_employees,avg_fee_paid,report_date\n2024-13-01,3,1.5,2026-01-15\n"
    )
    with pytest.raises(ChartError, match="line 2: issue_date"):
        chart_rows_from_csv(bad, LICENCES)


def test_csv_rows_are_typed_by_the_declaration(sample_run):
    rows = chart_rows_from_csv(sample_run.layout.output_csv_file("summary"), LICENCES)
    assert len(rows) == sample_run.report["summary_rows"]
    assert set(rows[0]) == {"issue_date", "max_number_of_employees", "avg_fee_paid", "report_date"}
    assert all(
        isinstance(r["issue_date"], date) and isinstance(r["max_number_of_employees"], int) for r in rows
    )
    assert {r["report_date"] for r in rows} == {date.fromisoformat(sample_run.report["report_date"])}


STORAGE_TEMPLATE = {
    "Resources": {
        "Curated": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "vdap-dev-curated-test"}}
    },
    "Outputs": {"CuratedBucketName": {"Value": {"Ref": "Curated"}}},
}


@pytest.fixture
def aws(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "ca-central-1", "DAP_ACCOUNT_ID": "123456789012",  # moto's account
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.Session(region_name="ca-central-1")


def test_report_from_s3_draws_the_deployed_summary(sample_run, aws, tmp_path, capsys):
    aws.client("cloudformation").create_stack(
        StackName="vdap-dev-storage", TemplateBody=json.dumps(STORAGE_TEMPLATE)
    )
    s3 = aws.client("s3")
    key = "business_licences/summary_csv/part-00000-x.csv"
    s3.upload_file(str(sample_run.layout.output_csv_file("summary")), "vdap-dev-curated-test", key)
    s3.put_object(Bucket="vdap-dev-curated-test", Key="business_licences/summary_csv/_SUCCESS", Body=b"")
    png = tmp_path / "s3.png"
    argv = ["report", "--from-s3", "--stage", "dev", "--dataset", "business_licences", "--out", png]
    code, stdout, stderr = cli(argv, capsys)
    assert (code, stderr) == (0, "")
    assert f"s3://vdap-dev-curated-test/{key}" in stdout
    assert png_size(png) == (1320, 660)
    assert f"{sample_run.report['summary_rows']} rows" in stdout


def test_report_from_s3_without_the_stack_or_the_csv(aws, tmp_path, capsys):
    argv = ["report", "--from-s3", "--dataset", "business_licences", "--out", tmp_path / "x.png"]
    code, _, stderr = cli(argv, capsys)
    assert code == 1 and "stack vdap-dev-storage is not deployed in ca-central-1" in stderr
    aws.client("cloudformation").create_stack(
        StackName="vdap-dev-storage", TemplateBody=json.dumps(STORAGE_TEMPLATE)
    )
    code, _, stderr = cli(argv, capsys)
    assert (
        code == 1
        and "no summary CSV under s3://vdap-dev-curated-test/business_licences/summary_csv/" in stderr
    )
    assert not (tmp_path / "x.png").exists()
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_strict_stops_only_the_failing_dataset_then_exits_3(spark, tmp_path, capsys):
    """Several datasets: the one whose rule fails stops after its quality step, the next still runs."""
    from .conftest import TREES_FOLDER

    out = tmp_path / "several"
    argv = ["local", "--dataset", "business_licences", "--dataset", TREES_FOLDER, "--out", out, "--strict",
            "--run-time", "2026-01-15T12:00:00Z"]  # fmt: skip
    code, stdout, stderr = cli(argv, capsys)
    assert code == EXIT_DATASET_RULE
    assert stderr.startswith("dap local: dataset rule(s) failed: business_licences: extract_date_fresh; ")
    licences = json.loads(LocalLayout.of(out, "business_licences").report.read_text())
    trees = json.loads(LocalLayout.of(out, "street_trees").report.read_text())
    assert licences["status"].startswith("stopped after the quality check") and "answers" not in licences
    assert trees["status"] == "completed" and trees["answers"]["largest_neighbourhood"]
    assert "spark_start" not in trees["steps"]  # one session for both
    assert stdout.rstrip("\n").splitlines()[-1].startswith("dap local: 1 of 2 dataset(s) completed in ")
