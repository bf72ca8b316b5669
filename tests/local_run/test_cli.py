"""`dap local` and `dap report` through the command line: bad inputs, --strict, the chart from S3."""

from __future__ import annotations

import json
import shutil

import boto3
import pytest
from moto import mock_aws

from dap.local_run import DEFAULT_INPUT, EXIT_DATASET_RULE, REPORT_HTML, LocalLayout
from dap.report import ChartError, draw_summary_chart, png_size

from .conftest import cli, small_input

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
    code, stdout, stderr = cli(["local", "--input", bad, "--out", out], capsys)
    assert code == 1
    assert stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith(f"dap local: {kind}.csv: ")
    assert message in stderr
    assert not out.exists()


def test_missing_input_file(tmp_path, capsys):
    code, _, stderr = cli(["local", "--input", tmp_path / "nope.csv", "--out", tmp_path / "out"], capsys)
    assert (code, stderr) == (1, "dap local: nope.csv: no such file\n")
    assert not (tmp_path / "out").exists()


def test_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    code, _, stderr = cli(["local", "--out", out], capsys)
    assert code == 1 and "not empty and was not written by dap local" in stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_bad_run_time(tmp_path, capsys):
    code, _, stderr = cli(["local", "--out", tmp_path / "o", "--run-time", "yesterday"], capsys)
    assert code == 1 and "--run-time 'yesterday' is not an ISO 8601 timestamp" in stderr


def test_strict_stops_after_the_quality_step(spark, tmp_path, capsys):
    out = tmp_path / "strict"
    argv = [
        "local",
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
    layout = LocalLayout(out.resolve())
    report = json.loads(layout.report.read_text())
    assert report["status"].startswith("stopped after the quality check")
    assert report["rows_read"] == 60
    assert report["rows_read"] - report["duplicates_removed"] == report["rows_passed"] + report["rows_failed"]
    assert list(report["steps"]) == ["check_input", "raw_copy", "spark_start", "recipe", "quality_check"]
    assert "answers" not in report and "summary_rows" not in report
    assert layout.quality_report.is_file() and list(layout.passed.rglob("*.parquet"))
    assert not (out / "curated").exists() and not layout.athena_results.exists() and not layout.chart.exists()
    # the stopped run still gets its page (counts, rules, examples; no chart, no answers), path printed last
    html = out.resolve() / REPORT_HTML
    assert stdout.rstrip("\n").splitlines()[-1] == f"HTML report: {html}"
    page = html.read_text(encoding="utf-8")
    assert 'id="no-chart"' in page and 'data-outcome="failed"' in page


# -- dap report -------------------------------------------------------------------------------------
def test_report_from_a_local_run(sample_run, tmp_path, capsys):
    png = tmp_path / "chart.png"
    code, stdout, _ = cli(["report", "--run-dir", sample_run.layout.root, "--out", png], capsys)
    assert code == 0 and str(png) in stdout
    assert png_size(png) == (1320, 660)


def test_report_without_a_local_run(tmp_path, capsys):
    code, _, stderr = cli(["report", "--run-dir", tmp_path], capsys)
    assert code == 1 and "run 'dap local' first" in stderr


def test_chart_of_a_header_only_csv_and_a_wrong_csv(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text(
        "issue_date,licence_count,max_number_of_employees,avg_fee_paid,max_expired_date,report_date,year\n"
    )
    info = draw_summary_chart(empty, tmp_path / "empty.png")
    assert info.days == 0 and png_size(info.path) == (info.width, info.height)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    with pytest.raises(ChartError, match="missing column"):
        draw_summary_chart(wrong, tmp_path / "wrong.png")


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
    s3.upload_file(
        str(sample_run.layout.summary_csv_file()), "vdap-dev-curated-test", "summary_csv/part-00000-x.csv"
    )
    s3.put_object(Bucket="vdap-dev-curated-test", Key="summary_csv/_SUCCESS", Body=b"")
    png = tmp_path / "s3.png"
    code, stdout, stderr = cli(["report", "--from-s3", "--stage", "dev", "--out", png], capsys)
    assert (code, stderr) == (0, "")
    assert "s3://vdap-dev-curated-test/summary_csv/part-00000-x.csv" in stdout
    assert png_size(png) == (1320, 660)
    assert f"{sample_run.report['summary_rows']} days" in stdout


def test_report_from_s3_without_the_stack_or_the_csv(aws, tmp_path, capsys):
    code, _, stderr = cli(["report", "--from-s3", "--out", tmp_path / "x.png"], capsys)
    assert code == 1 and "stack vdap-dev-storage is not deployed in ca-central-1" in stderr
    aws.client("cloudformation").create_stack(
        StackName="vdap-dev-storage", TemplateBody=json.dumps(STORAGE_TEMPLATE)
    )
    code, _, stderr = cli(["report", "--from-s3", "--out", tmp_path / "x.png"], capsys)
    assert code == 1 and "no summary CSV under s3://vdap-dev-curated-test/summary_csv/" in stderr
    assert not (tmp_path / "x.png").exists()
    shutil.rmtree(tmp_path, ignore_errors=True)
