"""`dap inventory`: the offline synth counted per stack and per dataset."""

from __future__ import annotations

import pytest

from dap.cli import CommandError
from dap.inventory import format_inventory, inventory
from stacks.config import load_stage


@pytest.fixture(scope="module")
def dev():
    return inventory("dev")


def test_every_dataset_has_its_resources_in_the_pipeline_stack(dev):
    stage, stacks = dev
    assert stage == "dev"
    (pipeline,) = [s for s in stacks if s.name == "vdap-dev-pipeline"]
    assert set(pipeline.by_dataset) == set(load_stage("dev").dataset_ids)
    assert len(set(pipeline.by_dataset.values())) == 1  # the same constructs for every dataset
    text = format_inventory(stage, stacks)
    assert "of dataset business_licences" in text


def test_one_dataset_only():
    _, stacks = inventory("dev", "business_licences")
    (pipeline,) = [s for s in stacks if s.name == "vdap-dev-pipeline"]
    assert set(pipeline.by_dataset) == {"business_licences"}
    assert pipeline.resource_count == pipeline.by_dataset["business_licences"]
    assert pipeline.resource_types["AWS::StepFunctions::StateMachine"] == 1
    with pytest.raises(
        CommandError, match="--dataset 'parking' is not a dataset of stage dev; choose one of: "
    ):
        inventory("dev", "parking")
