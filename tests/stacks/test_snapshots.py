"""One syrupy snapshot per stack and stage: any template change shows up as a readable diff.

Update deliberately with ``make snapshot-update`` and review the diff like code.
"""

from __future__ import annotations

import copy

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.stacks.conftest import STACK_IDS, state_machine_definition


def readable(template: dict) -> dict:
    """The template with each state machine definition parsed, so a change diffs state by state."""
    template = copy.deepcopy(template)
    for resource in template.get("Resources", {}).values():
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            props = resource["Properties"]
            props["DefinitionString"] = state_machine_definition(props["DefinitionString"])
    return template


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", STACK_IDS)
def test_template_matches_snapshot(synthesized, stack, snapshot_json):
    assert readable(synthesized.templates[stack]) == snapshot_json
