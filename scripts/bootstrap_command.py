"""Print the `cdk bootstrap` command for both regions of a stage's account (from cdk.json)."""

from __future__ import annotations

import sys

from stacks.config import ConfigError, load_stage

if __name__ == "__main__":
    try:
        config = load_stage(sys.argv[1] if len(sys.argv) > 1 else "dev")
    except ConfigError as error:
        sys.exit(f"config error: {error}")
    print(
        "npx --no-install cdk bootstrap "
        f"aws://{config.account}/{config.primary_region} aws://{config.account}/{config.backup_region}"
    )
