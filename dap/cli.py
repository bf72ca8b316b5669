"""The ``dap`` command: run the platform locally and operate the deployed one.

Each group of subcommands lives in its own module with a ``register(subparsers)`` function that adds
its parsers and sets ``handler``; a handler returns the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMAND_MODULES = (
    "dap.inventory",  # inventory: what the app would deploy (offline synth)
    "dap.local_run",  # local: each declared dataset's pipeline on local Spark; report: its chart, its page
    "dap.operations",  # ingest, run, status, query: boto3 on the deployed platform
    "dap.cost",  # cost: USD per run and per month from the synthesized templates
)


class CommandError(Exception):
    """A failure the user can act on: printed as one line, exit code 1 (or ``exit_code``)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dap", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
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
    except CommandError as error:
        print(f"dap {args.command}: {error}", file=sys.stderr)
        return error.exit_code
