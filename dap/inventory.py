"""Synthesize the app offline and summarise what it would deploy: stacks, regions, resources."""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class StackInventory:
    name: str
    region: str
    resource_types: Counter

    @property
    def resource_count(self) -> int:
        return sum(self.resource_types.values())


def inventory(stage: str | None = None) -> tuple[str, list[StackInventory]]:
    """Synthesize (cdk-nag included, no AWS credentials needed) and count each stack's resources."""
    from stacks.platform_app import build_app

    app, config = build_app({"stage": stage} if stage else None, outdir=tempfile.mkdtemp(prefix="dap-synth-"))
    assembly = app.synth()
    stacks = [
        StackInventory(
            name=stack.stack_name,
            region=stack.environment.region,
            resource_types=Counter(r["Type"] for r in stack.template.get("Resources", {}).values()),
        )
        for stack in assembly.stacks
    ]
    return config.stage, stacks


def format_inventory(stage: str, stacks: list[StackInventory]) -> str:
    lines = [
        f"vancouver-dap, stage {stage}: {len(stacks)} stacks, "
        f"{sum(s.resource_count for s in stacks)} resources"
    ]
    for stack in stacks:
        lines.append(f"  {stack.name:<28} {stack.region:<14} {stack.resource_count:>4} resources")
        for resource_type, count in sorted(stack.resource_types.items()):
            lines.append(f"      {count:>3} x {resource_type}")
    return "\n".join(lines)


def _run(args) -> int:
    print(format_inventory(*inventory(args.stage)))
    return 0


def register(commands) -> None:
    parser = commands.add_parser(
        "inventory", help="synthesize offline and list stacks, regions and resources"
    )
    parser.add_argument("--stage", help="stage from cdk.json (default: dev)")
    parser.set_defaults(handler=_run)
