"""The HTML run report: written by `dap local` (and `dap report --html`), and by the Glue summary job.

The page is checked as text (self-contained, escaped) and in a real headless Chromium (Debian's
``/usr/bin/chromium`` driven by Playwright): no console or page errors, no request leaves the file,
the counts shown are report.json's, the chart image decodes; screenshots are written for review.
"""

from __future__ import annotations

import json
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
from dataset_etl import io
from dataset_etl.rules import RuleSet
from dataset_etl.run_report import EXAMPLES_PER_RULE, render_run_report
from moto import mock_aws

from dap.local_run import REPORT_HTML
from tests.glue.conftest import RUN_TIME, licence, write_cleaned

from .conftest import LICENCES, cli

ROW_RULE_NAMES = RuleSet.of(LICENCES).row_names

# Debian's Chromium (what `make test` installs); Google Chrome where a CI runner brings it instead.
CHROMIUM = Path(shutil.which("chromium") or shutil.which("google-chrome") or "/usr/bin/chromium")
# No network on the test machines: keep Chromium from trying (and from waiting on it).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
]
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
COUNT_KEYS = ("rows_read", "duplicates_removed", "rows_cleaned", "rows_passed", "rows_failed", "summary_rows")
HOSTILE = '<script>alert("pwned")</script> & <b>Co</b>'


# -- the browser ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(
            f"Chromium is missing ({CHROMIUM}): the browser test needs Debian's chromium package. "
            "`make test` installs it (apt-get install chromium); on another machine install it first."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextmanager
def opened(browser, html: Path, viewport: dict):
    """The page loaded from file://, with every console error, page error, dialog and request seen."""
    page = browser.new_page(viewport=viewport)
    seen = {"errors": [], "requests": [], "dialogs": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.goto(html.resolve().as_uri(), wait_until="load")
    try:
        yield page, seen
    finally:
        page.close()


def chart_width(page) -> int:
    return page.eval_on_selector("#chart", "img => img.complete ? img.naturalWidth : 0")


# -- dap local --------------------------------------------------------------------------------------
def test_dap_local_writes_the_page_and_prints_its_path_last(sample_run):
    html = sample_run.layout.html
    assert html.is_file() and html.name == REPORT_HTML
    assert sample_run.console_text.rstrip("\n").splitlines()[-1] == f"HTML report: {html}"


def test_report_json_holds_a_few_failed_rows_per_failed_rule(sample_run):
    report = json.loads(sample_run.layout.report.read_text())
    examples = report["failure_examples"]
    failing = {rule for rule, n in report["failed_by_rule"].items() if n}
    assert set(examples) == failing and failing  # the sample breaks some rules
    for rule, rows in examples.items():
        assert 1 <= len(rows) <= min(EXAMPLES_PER_RULE, report["failed_by_rule"][rule])
        assert all(rule in row["failed_rules"] for row in rows)
        assert all(set(LICENCES.identifying_columns) <= set(row) for row in rows)
        assert all(not set(LICENCES.pii_columns) & set(row) for row in rows)


def test_page_is_self_contained(sample_run):
    text = sample_run.layout.html.read_text(encoding="utf-8")
    assert '<meta name="viewport"' in text and "@media print" in text and "@media (max-width" in text
    assert "default-src 'none'" in text  # the CSP: nothing may load, nothing may run
    assert "<script" not in text.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert re.search(r'<img id="chart" src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', text)


def test_dap_report_html_regenerates_the_same_page(sample_run, tmp_path, capsys):
    out = tmp_path / "again.html"
    run_dir = sample_run.layout.root.parent  # dap local's --out: the dataset's run is <run-dir>/<id>/
    code, stdout, stderr = cli(
        ["report", "--html", "--run-dir", run_dir, "--dataset", "business_licences", "--out", out], capsys
    )
    assert (code, stderr) == (0, "")
    assert str(out) in stdout and "with the chart" in stdout
    assert out.read_text(encoding="utf-8") == sample_run.layout.html.read_text(encoding="utf-8")


def test_dap_report_html_without_a_run(tmp_path, capsys):
    code, _, stderr = cli(["report", "--html", "--run-dir", tmp_path], capsys)
    assert code == 1 and f"no dap local run under {tmp_path}" in stderr and "run 'dap local' first" in stderr
    code, _, stderr = cli(
        ["report", "--html", "--run-dir", tmp_path, "--dataset", "business_licences"], capsys
    )
    assert code == 1 and "no report.json" in stderr and "run 'dap local' first" in stderr
    assert not list(tmp_path.rglob(REPORT_HTML))


def test_page_in_chromium_shows_report_json(sample_run, browser):
    report = json.loads(sample_run.layout.report.read_text())
    shots = {}
    for name, viewport in (("report.png", DESKTOP), ("report_phone.png", PHONE)):
        with opened(browser, sample_run.layout.html, viewport) as (page, seen):
            shown = {
                key: int(page.get_attribute(f"#count-{key}", "data-count"))
                for key in COUNT_KEYS
                if page.query_selector(f"#count-{key}")
            }
            assert shown == {k: report[k] for k in COUNT_KEYS}
            assert page.inner_text("#count-rows_read") == f"{report['rows_read']:,}"
            assert page.get_attribute("#conservation", "data-holds") == "true"
            for rule in report["dataset_rules"]:
                outcome = page.get_attribute(f"#rule-{rule['name']}", "data-outcome")
                assert outcome == ("passed" if rule["passed"] else "failed")
            for rule, failures in report["failed_by_rule"].items():
                assert int(page.get_attribute(f"#failures-{rule}", "data-failures")) == failures
            for rule in report["failure_examples"]:
                assert page.query_selector(f"#examples-{rule}") is not None
            by_type = report["answers"]["employees_by_business_type"]
            assert page.locator("#answer-employees_by_business_type tbody tr").count() == len(by_type)
            assert set(report["steps"]) == {
                row.get_attribute("id").removeprefix("step-")
                for row in page.query_selector_all("#steps tbody tr")
            }
            assert chart_width(page) == 1320
            if viewport is PHONE:  # nothing but the scrollable tables and chart is wider than the phone
                assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            path = sample_run.layout.root / name
            page.screenshot(path=str(path), full_page=True)
            shots[name] = path
            assert seen["errors"] == [] and seen["dialogs"] == []
            assert all(url.startswith(("file:", "data:")) for url in seen["requests"]), seen["requests"]
    with opened(browser, sample_run.layout.html, DESKTOP) as (page, seen):
        page.emulate_media(media="print")
        assert page.is_visible("#chart") and page.pdf()[:5] == b"%PDF-"  # the print stylesheet lays out
        assert seen["errors"] == []
    print("screenshots:", *(str(p) for p in shots.values()))
    assert all(p.stat().st_size > 10_000 for p in shots.values())


# -- the Glue summary job: the same renderer, and a hostile value from the data --------------------
@pytest.fixture(scope="module")
def glue_run(spark, tmp_path_factory, quality_check, summarize):
    """quality_check then summarize on a few rows, one with a business name that is HTML."""
    tmp = tmp_path_factory.mktemp("glue_report")
    rows = [
        licence(licence_rsn="1", number_of_employees=20),
        licence(licence_rsn="2", number_of_employees=30, fee_paid=250.0),
        # hostile in every identifying column a failure example may show
        licence(licence_rsn="3", licence_number=HOSTILE, business_name=HOSTILE, status="Bogus"),
        licence(licence_rsn="4", fee_paid=-1.0),
    ]
    cleaned = write_cleaned(spark, rows, tmp / "cleaned")
    p = {k: str(tmp / k) for k in ("passed", "failed")}
    report_json, html = str(tmp / "reports" / "latest.json"), tmp / "curated" / "reports" / "latest.html"
    quality = quality_check.run(
        spark, LICENCES, cleaned, p["passed"], p["failed"], report_json, run_time=RUN_TIME,
        fail_on_dataset_rule=False,
    )  # fmt: skip
    result = summarize.run(
        spark, LICENCES, p["passed"], str(tmp / "curated") + "/", run_time=RUN_TIME,
        report_html_path=str(html), quality_report_path=report_json, failed_rows_path=p["failed"], stage="vdap-test",
    )  # fmt: skip
    return quality, result, html, p["failed"]


@pytest.fixture(scope="module")
def quality_check():
    from dap.local_run import load_glue_script

    return load_glue_script("quality_check")


@pytest.fixture(scope="module")
def summarize():
    from dap.local_run import load_glue_script

    return load_glue_script("summarize")


def test_summary_job_writes_the_report_with_the_quality_counts(glue_run):
    quality, result, html, _ = glue_run
    assert result["report_html_path"] == str(html) and html.is_file()
    text = html.read_text(encoding="utf-8")
    assert 'id="count-rows_cleaned" data-count="4"' in text
    assert f'id="count-rows_passed" data-count="{quality["rows_passed"]}"' in text
    assert f'data-count="{quality["rows_failed"]}"' in text and quality["rows_failed"] == 2
    assert "4 checked = 2 passed + 2 failed" in text
    assert 'id="examples-status_allowed"' in text and 'id="examples-fee_paid_non_negative"' in text
    assert "vdap-test" in text and "Athena named queries" in text
    assert re.search(r'<img id="chart" src="data:image/png;base64,', text)


def test_a_hostile_business_name_is_escaped(glue_run, browser):
    _, _, html, _ = glue_run
    text = html.read_text(encoding="utf-8")
    assert HOSTILE not in text and "<script" not in text.lower() and "<b>Co" not in text
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; &amp; &lt;b&gt;Co&lt;/b&gt;" in text
    with opened(browser, html, DESKTOP) as (page, seen):
        cells = page.locator("#examples-status_allowed td").all_inner_texts()
        assert HOSTILE in cells  # shown as the text it is
        assert page.evaluate("document.querySelectorAll('script, #examples-status_allowed b').length") == 0
        assert seen["dialogs"] == [] and seen["errors"] == []
        assert chart_width(page) == 1320


def test_failure_examples_are_the_same_from_python_and_from_the_window(spark, glue_run, monkeypatch):
    from dataset_etl import run_report

    from dap.html_report import failure_examples_at

    failed = glue_run[3]
    few = failure_examples_at(spark, failed, LICENCES)  # 2 failed rows: collected and picked in Python
    monkeypatch.setattr(run_report, "SMALL_FAILED", 1)  # now: the per-rule window in Spark
    assert failure_examples_at(spark, failed, LICENCES) == few
    assert {rule: [r["licence_rsn"] for r in rows] for rule, rows in few.items()} == {
        "status_allowed": ["3"],
        "fee_paid_non_negative": ["4"],
    }


def test_renderer_escapes_every_field_it_is_given():
    hostile = "<img src=x onerror=alert(1)>"
    doc = {
        "stage": hostile, "status": hostile, "run_time": hostile, "input": hostile,
        "rows_cleaned": 1, "rows_passed": 0, "rows_failed": 1,
        "failed_by_rule": {ROW_RULE_NAMES[0]: 1},
        "failure_examples": {ROW_RULE_NAMES[0]: [{"licence_rsn": hostile, "failed_rules": [hostile]}]},
        "dataset_rules": [{"name": hostile, "dqdl": hostile, "passed": False, "measured": 1.5,
                           "expected": hostile, "detail": hostile}],
        "answers": {"employees_by_business_type": [{"business_type": hostile, "licences": 1}]},
        "steps": {hostile: 1.0}, "settings": {hostile: hostile}, "outputs": {hostile: hostile},
    }  # fmt: skip
    text = render_run_report(doc, LICENCES, title=hostile, origin=hostile)
    assert "<img src=x" not in text
    assert text.count("&lt;img src=x onerror=alert(1)&gt;") >= 12


def test_s3_text_and_json_helpers(monkeypatch):
    """io.write_text / io.read_json on S3 (moto): the summary job's one PutObject and one GetObject."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "ca-central-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name="ca-central-1")
        s3.create_bucket(Bucket="cur", CreateBucketConfiguration={"LocationConstraint": "ca-central-1"})
        io.write_text("<p>é</p>", "s3://cur/reports/latest.html", content_type="text/html; charset=utf-8")
        obj = s3.get_object(Bucket="cur", Key="reports/latest.html")
        assert obj["ContentType"] == "text/html; charset=utf-8" and obj["Body"].read().decode() == "<p>é</p>"
        io.write_json({"rows_in": 3}, "s3://cur/q/latest.json")
        assert io.read_json("s3://cur/q/latest.json") == {"rows_in": 3}
