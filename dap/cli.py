"""The ``dap`` command: run the platform locally and operate the deployed one."""

from __future__ import annotations

import argparse
import os
import sys


def _inventory(args: argparse.Namespace) -> int:
    from dap.inventory import format_inventory, inventory

    print(format_inventory(*inventory(args.stage)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dap", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    inv = commands.add_parser("inventory", help="synthesize offline and list stacks, regions and resources")
    inv.add_argument("--stage", help="stage from cdk.json (default: dev)")
    inv.set_defaults(handler=_inventory)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    args = build_parser().parse_args(argv)
    from stacks.config import ConfigError

    try:
        return args.handler(args)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
