#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth -c stage=prod`. A bad setting exits 2 with one clear line."""

import sys

from stacks.config import ConfigError
from stacks.platform_app import build_app

if __name__ == "__main__":
    try:
        app, _ = build_app()
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        sys.exit(2)
    app.synth()
