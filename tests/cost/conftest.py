"""The dev app synthesized once for the cost tests (through dap.cost itself, as `dap cost` does)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dev_synth():
    """(stage config, {stack id: template}) of the dev stage, synthesized offline once per session."""
    from dap.cost import synthesize_templates

    return synthesize_templates("dev")


@pytest.fixture(scope="session")
def dev_deployment(dev_synth):
    from dap.cost import read_templates

    return read_templates(dev_synth[1])
