"""Synthesize the app offline and summarise what it would deploy: stacks, regions, resources, and how
many of each stack's resources belong to each dataset (``--dataset`` narrows the list to one)."""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StackInventory:
    name: str
    region: str
    resource_types: Counter
    by_dataset: Counter = field(default_factory=Counter)  # dataset id -> its resources in this stack

    @property
    def resource_count(self) -> int:
        return sum(self.resource_types.values())


def _dataset_of(logical_id: str, pascal_ids: dict[str, str]) -> str | None:
    """The dataset whose construct made a resource: its logical id starts with the dataset's Pascal id."""
    return next((d for p, d in pascal_ids.items() if logical_id.startswith(p)), None)


def inventory(stage: str | None = None, dataset: str | None = None) -> tuple[str, list[StackInventory]]:
    """Synthesize (cdk-nag included, no AWS credentials needed) and count each stack's resources;
    ``dataset`` keeps only that dataset's resources."""
    from stacks.names import pascal
    from stacks.platform_app import build_app

    app, config = build_app({"stage": stage} if stage else None, outdir=tempfile.mkdtemp(prefix="dap-synth-"))
    if dataset is not None and dataset not in config.dataset_ids:
        from dap.cli import CommandError

        raise CommandError(
            f"--dataset {dataset!r} is not a dataset of stage {config.stage}; choose one of: "
            + ", ".join(config.dataset_ids)
        )
    pascal_ids = {pascal(d): d for d in sorted(config.dataset_ids, key=len, reverse=True)}
    assembly = app.synth()
    stacks = []
    for stack in assembly.stacks:
        resources = {
            k: r
            for k, r in stack.template.get("Resources", {}).items()
            if dataset is None or _dataset_of(k, pascal_ids) == dataset
        }
        stacks.append(
            StackInventory(
                name=stack.stack_name,
                region=stack.environment.region,
                resource_types=Counter(r["Type"] for r in resources.values()),
                by_dataset=Counter(d for k in resources if (d := _dataset_of(k, pascal_ids))),
            )
        )
    return config.stage, stacks


def format_inventory(stage: str, stacks: list[StackInventory]) -> str:
    lines = [
        f"vancouver-dap, stage {stage}: {len(stacks)} stacks, "
        f"{sum(s.resource_count for s in stacks)} resources"
    ]
    for stack in stacks:
        lines.append(f"  {stack.name:<28} {stack.region:<14} {stack.resource_count:>4} resources")
        for dataset_id, count in sorted(stack.by_dataset.items()):
            lines.append(f"      {count:>3} of dataset {dataset_id}")
        for resource_type, count in sorted(stack.resource_types.items()):
            lines.append(f"      {count:>3} x {resource_type}")
    return "\n".join(lines)


def _run(args) -> int:
    print(format_inventory(*inventory(args.stage, args.dataset)))
    return 0


def register(commands) -> None:
    parser = commands.add_parser(
        "inventory", help="synthesize offline and list stacks, regions and resources"
    )
    parser.add_argument("--stage", help="stage from cdk.json (default: dev)")
    parser.add_argument("--dataset", help="only the resources of this dataset of the stage")
    parser.set_defaults(handler=_run)
