"""The README's architecture picture is the app's: a stale ``docs/architecture.dot`` fails here.

The DOT source is compared, not the PNG (PNG bytes depend on the Graphviz build). One synth serves
every test in the module; rendering goes to a temporary folder.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from stacks.config import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "architecture_diagram.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("architecture_diagram", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


diagram = _load_script()


@pytest.fixture(scope="module")
def assembly(tmp_path_factory):
    return diagram.synthesize(tmp_path_factory.mktemp("diagram-cdk"))


@pytest.fixture(scope="module")
def generated(assembly) -> str:
    return diagram.generate_dot(assembly)


def test_committed_picture_is_the_apps(generated):
    committed = diagram.DOT_PATH.read_text() if diagram.DOT_PATH.exists() else None
    message = diagram.stale_message(committed, generated)
    assert message is None, message


def test_a_changed_app_is_reported_as_stale_with_the_fix(generated):
    job = "vdap-dev-business-licences-quality-check"
    assert job in generated
    planted = generated.replace(job, "vdap-dev-business-licences-quality-gate", 1)
    message = diagram.stale_message(planted, generated)
    assert message is not None
    assert "make diagram" in message
    assert "vdap-dev-business-licences-quality-gate" in message  # the committed line
    assert job in message  # what the app says now
    assert "make diagram" in diagram.stale_message(None, generated)


def test_dot_is_deterministic_and_names_no_local_path(assembly, generated):
    assert diagram.generate_dot(assembly) == generated
    assert not re.search(r"\b[0-9a-f]{32}\b", generated), "a random (uuid4) node id"
    assert str(PROJECT_ROOT) not in generated and "site-packages" not in generated
    images = re.findall(r'image="([^"]+)"', generated)
    assert images
    for image in images:
        assert not Path(image).is_absolute()
        assert (diagram.ICON_ROOT / image).is_file(), image


def test_picture_follows_the_templates(assembly, generated):
    """Buckets, replication, the run's steps and the alert wiring all come from the templates."""
    templates = assembly.templates
    for stack, template in templates.items():
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::S3::Bucket":
                assert f'"{stack}/bucket/{resource["Properties"]["BucketName"]}"' in generated
    replicated = [
        (r["Properties"]["BucketName"], rule["Destination"]["Bucket"].removeprefix("arn:aws:s3:::"))
        for r in templates["Storage"]["Resources"].values()
        if r["Type"] == "AWS::S3::Bucket" and "ReplicationConfiguration" in r["Properties"]
        for rule in r["Properties"]["ReplicationConfiguration"]["Rules"]
    ]
    assert len(replicated) == 3
    for source, target in replicated:
        assert f'"Storage/bucket/{source}" -> "Replica/bucket/{target}"' in generated
    steps = re.findall(
        r'"Pipeline/state-machine/([^"]+)" -> "Pipeline/(?:databrew|glue-job)/([^"]+)" \[label="(\d+)\. ',
        generated,
    )
    machines = sorted({machine for machine, _, _ in steps})
    assert machines == sorted(
        r["Properties"]["StateMachineName"]
        for r in templates["Pipeline"]["Resources"].values()
        if r["Type"] == "AWS::StepFunctions::StateMachine"
    )
    assert "vdap-dev-business-licences-pipeline" in machines
    for machine in machines:  # each dataset's run: clean, check, summarize, its own jobs
        base = machine.removesuffix("-pipeline")
        ordered = sorted(((int(n), job) for m, job, n in steps if m == machine))
        assert [job for _, job in ordered] == [f"{base}-clean", f"{base}-quality-check", f"{base}-summarize"]
    alarms = sum(
        r["Type"] == "AWS::CloudWatch::Alarm" for r in templates["Observability"]["Resources"].values()
    )
    assert f"{alarms} alarms" in generated
    assert '"Observability/alarms" -> "Observability/topic/vdap-dev-alerts"' in generated
    assert '"Pipeline/alarms" -> "Observability/topic/vdap-dev-alerts"' in generated


def test_dot_renders_with_its_icons(tmp_path, generated, capsys):
    dot_path, png_path = tmp_path / "architecture.dot", tmp_path / "architecture.png"
    dot_path.write_text(generated)
    diagram.render(dot_path, png_path)
    assert capsys.readouterr().err == ""  # e.g. no "No or improper image file"
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_committed_png_is_a_picture():
    data = diagram.PNG_PATH.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 100_000
