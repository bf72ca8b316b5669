"""Synthesize each app variant once per test session and share its templates."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stacks.config import StageConfig, cdk_json_context
from stacks.names import DatasetNames, PlatformNames
from stacks.platform_app import build_app

# Pinned so snapshots do not depend on who runs the suite ($DAP_ACCOUNT_ID is ignored here).
TEST_ACCOUNTS = {"dev": "111111111111", "prod": "222222222222"}
STACK_IDS = ("Replica", "Storage", "Observability", "Pipeline")
STAGES = tuple(TEST_ACCOUNTS)
# The datasets cdk.json lists (every stage lists the same ones; test_config checks it).
DATASET_IDS = tuple(d["id"] for d in cdk_json_context()["stages"]["dev"]["datasets"])


@dataclass(frozen=True)
class Synthesized:
    config: StageConfig
    templates: dict[str, dict[str, Any]]
    validation_report: dict[str, Any] | None
    validation_error: str | None
    # (construct path, rule id, reason) of every cdk-nag acknowledgment in the app
    acknowledgments: tuple[tuple[str, str, str], ...]

    @property
    def names(self) -> PlatformNames:
        return PlatformNames.of(self.config)

    def dataset_names(self, dataset_id: str) -> DatasetNames:
        return self.names.dataset(dataset_id)

    def resources(self, stack: str, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.templates[stack]["Resources"].items()
            if resource["Type"] == resource_type
        }


def _synthesize(
    outdir: Path, stage: str, stage_overrides: dict[str, Any] | None, datasets_dir: str | None = None
) -> Synthesized:
    stages = copy.deepcopy(cdk_json_context()["stages"])
    stages[stage].update(stage_overrides or {})
    context = {"stage": stage, "stages": stages, "account": TEST_ACCOUNTS[stage]}
    if datasets_dir:
        context["datasets_dir"] = datasets_dir
    app, config = build_app(
        context,
        outdir=str(outdir),
        cloudformation_validation=False,
        environ={},
    )
    error = None
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag findings fail validation; the report says which
        error = str(exc)
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    templates = {
        stack: json.loads((outdir / f"{stack}.template.json").read_text())
        for stack in STACK_IDS
        if (outdir / f"{stack}.template.json").exists()
    }
    acknowledgments = []
    for stack in STACK_IDS:
        metadata_path = outdir / f"{stack}.metadata.json"
        metadata = json.loads(metadata_path.read_text()) if metadata_path.exists() else {}
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    acknowledgments.extend((path, rule, reason) for rule, reason in entry["data"].items())
    return Synthesized(config, templates, report, error, tuple(sorted(acknowledgments)))


@pytest.fixture(scope="session")
def synthesize(tmp_path_factory):
    """``synthesize(stage, **stage_overrides)``: each distinct variant is synthesized once."""
    cache: dict[str, Synthesized] = {}

    def get(stage: str = "dev", datasets_dir: str | None = None, **stage_overrides: Any) -> Synthesized:
        key = json.dumps([stage, datasets_dir, stage_overrides], sort_keys=True)
        if key not in cache:
            outdir = tmp_path_factory.mktemp(f"cdk-{stage}")
            cache[key] = _synthesize(outdir, stage, stage_overrides, datasets_dir)
        return cache[key]

    return get


@pytest.fixture(params=STAGES)
def stage(request) -> str:
    return request.param


@pytest.fixture
def synthesized(synthesize, stage) -> Synthesized:
    return synthesize(stage)


@pytest.fixture(params=DATASET_IDS)
def dataset_id(request) -> str:
    return request.param


def render_tokens(part: Any) -> str:
    """A CloudFormation token inside a joined string, as readable text: ``${Ref}``, ``${Id.Attr}``."""
    if isinstance(part, str):
        return part
    if "Ref" in part:
        return f"${{{part['Ref']}}}"
    if "Fn::GetAtt" in part:
        resource, attribute = part["Fn::GetAtt"]
        return f"${{{resource}.{attribute}}}"
    if "Fn::GetStackOutput" in part:
        return f"${{{part['Fn::GetStackOutput']['OutputName']}}}"
    raise ValueError(f"unexpected token {part}")


def state_machine_definition(definition_string: Any) -> dict[str, Any]:
    """A state machine's ``DefinitionString`` (an ``Fn::Join`` around tokens) parsed as ASL."""
    if isinstance(definition_string, str):
        return json.loads(definition_string)
    return json.loads("".join(render_tokens(p) for p in definition_string["Fn::Join"][1]))
