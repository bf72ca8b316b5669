"""`cdk diff` between two commits without AWS credentials: what a reviewer reads before `cdk deploy`.

Synthesizes the app at a base ref (a clean `git archive` of it) and in the working tree, for every
configured stage, then runs the pinned CDK CLI's `cdk diff STACK --template BASE_TEMPLATE` stack by
stack. Both sides use this checkout's venv and CLI, so the diff shows what the code changed, not the
tools. Prints one section per stage and stack; with ``--summary FILE`` (CI passes
``$GITHUB_STEP_SUMMARY``) it also writes them as Markdown.

    python scripts/diff_offline.py --base origin/main [--stage dev] [--summary FILE] [--fail]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CDK = PROJECT_ROOT / "node_modules" / ".bin" / "cdk"
# cdk diff colours its output when it thinks it writes to a terminal; the report is plain text.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CDK_ENV = {
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "FORCE_COLOR": "0",
    "NO_COLOR": "1",
}


@dataclass(frozen=True)
class StackDiff:
    stage: str
    stack: str
    text: str
    changed: bool


def configured_stages(tree: Path) -> list[str]:
    return sorted(json.loads((tree / "cdk.json").read_text())["context"]["stages"])


def export_ref(ref: str, into: Path) -> Path:
    """The tree of ``ref`` as plain files (no .git, no venv), like a fresh clone of that commit."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=PROJECT_ROOT, capture_output=True, check=False
    )
    if archive.returncode != 0:
        sys.exit(f"diff-offline: cannot read ref {ref!r}: {archive.stderr.decode().strip()}")
    archive_path = into / "base.tar"
    archive_path.write_bytes(archive.stdout)
    tree = into / "base"
    with tarfile.open(archive_path) as tar:
        tar.extractall(tree, filter="data")
    return tree


def synthesize(tree: Path, stage: str, outdir: Path) -> dict[str, Path]:
    """``{stack id: template path}`` of the app in ``tree`` for ``stage``."""
    # The tree's own packages first: the editable install would otherwise lend the base side this
    # checkout's `stacks` and `dataset_etl`, and hide a change to them.
    pythonpath = os.pathsep.join([str(tree), str(tree / "glue_scripts" / "lib")])
    env = {**os.environ, **_CDK_ENV, "PYTHONPATH": pythonpath}
    env.pop("DAP_ACCOUNT_ID", None)  # both sides synthesize for the account cdk.json names
    result = subprocess.run(
        [str(CDK), "synth", "--all", "--quiet", "-c", f"stage={stage}", "--output", str(outdir),
         "--app", f"{sys.executable} app.py"],
        cwd=tree, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        sys.exit(f"diff-offline: synth of {tree} for stage {stage} failed:\n{result.stderr[-4000:]}")
    manifest = json.loads((outdir / "manifest.json").read_text())
    return {
        name: outdir / artifact["properties"]["templateFile"]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }


def diff_stack(head_assembly: Path, stack: str, base_template: Path) -> StackDiff:
    result = subprocess.run(
        [str(CDK), "diff", stack, "--exclusively", "--app", str(head_assembly),
         "--template", str(base_template), "--no-notices", "--no-version-reporting"],
        cwd=PROJECT_ROOT, env={**os.environ, **_CDK_ENV}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    text = _ANSI.sub("", result.stdout + result.stderr).strip()
    return StackDiff("", stack, text, changed="There were no differences" not in text)


def diff_stage(base_tree: Path, stage: str, workdir: Path) -> list[StackDiff]:
    base = synthesize(base_tree, stage, workdir / f"base-{stage}")
    head = synthesize(PROJECT_ROOT, stage, workdir / f"head-{stage}")
    empty = workdir / "empty.template.json"
    empty.write_text("{}")
    diffs = []
    for stack in sorted(head):
        stack_diff = diff_stack(workdir / f"head-{stage}", stack, base.get(stack, empty))
        diffs.append(StackDiff(stage, stack, stack_diff.text, stack_diff.changed))
    diffs.extend(
        StackDiff(stage, stack, f"Stack {stack}: removed (present at the base, absent now)", True)
        for stack in sorted(base.keys() - head.keys())
    )
    return diffs


def markdown(base_ref: str, diffs: list[StackDiff]) -> str:
    changed = [d for d in diffs if d.changed]
    lines = [
        f"## cdk diff against `{base_ref}`",
        "",
        f"{len(changed)} of {len(diffs)} stack templates change "
        f"({', '.join(f'{d.stage}/{d.stack}' for d in changed) or 'none'}).",
    ]
    for d in diffs:
        lines += ["", f"### {d.stage} / {d.stack}: {'changes' if d.changed else 'no differences'}"]
        if d.changed:
            lines += ["", "```", d.text, "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git ref to compare against (e.g. origin/main)")
    parser.add_argument("--stage", action="append", help="stage to diff (repeatable; default: all)")
    parser.add_argument("--summary", type=Path, help="also append the report as Markdown to this file")
    parser.add_argument("--fail", action="store_true", help="exit 1 when any template changes")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="dap-diff-") as tmp:
        workdir = Path(tmp)
        base_tree = export_ref(args.base, workdir)
        stages = args.stage or configured_stages(PROJECT_ROOT)
        diffs = [d for stage in stages for d in diff_stage(base_tree, stage, workdir)]

    for d in diffs:
        print(f"===== {d.stage} / {d.stack} =====")
        print(d.text)
    changed = sum(d.changed for d in diffs)
    print(f"diff-offline: {changed} of {len(diffs)} stack templates change against {args.base}")
    if args.summary:
        with args.summary.open("a") as summary:
            summary.write(markdown(args.base, diffs))
    return 1 if args.fail and changed else 0


if __name__ == "__main__":
    sys.exit(main())
