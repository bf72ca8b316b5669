"""cfn-lint every template of a cloud assembly for the region its stack deploys to."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cfnlint.api import ManualArgs, lint


def main(assembly_dir: str) -> int:
    manifest = json.loads((Path(assembly_dir) / "manifest.json").read_text())
    failures = 0
    for artifact in manifest["artifacts"].values():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        template_file = Path(assembly_dir) / artifact["properties"]["templateFile"]
        region = artifact["environment"].rsplit("/", 1)[-1]
        matches = lint(template_file.read_text(), config=ManualArgs(regions=[region]))
        for match in matches:
            print(f"{template_file.name}: {match.rule.id} {match.message} ({'/'.join(map(str, match.path))})")
        failures += len(matches)
        print(f"{template_file.name} ({region}): {len(matches)} findings")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "cdk.out"))
