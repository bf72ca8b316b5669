"""One syrupy snapshot per stack and stage: any template change shows up as a readable diff.

Update deliberately with ``make snapshot-update`` and review the diff like code.
"""

from __future__ import annotations

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.stacks.conftest import STACK_IDS


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", STACK_IDS)
def test_template_matches_snapshot(synthesized, stack, snapshot_json):
    assert synthesized.templates[stack] == snapshot_json
