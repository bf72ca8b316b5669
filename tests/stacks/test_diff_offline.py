"""`make diff-offline`: a commit that changes one bucket setting shows as that property and nothing else.

Runs the real script (two synths through the pinned CLI, then `cdk diff --template` per stack) in a
throw-away git repository holding a copy of this working tree, with one commit on top that changes
the dev stage's `storage.raw_infrequent_access_after_days`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from stacks.config import PROJECT_ROOT


def _git(*args: str, cwd) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def repository_with_one_bucket_change(tmp_path_factory):
    """A copy of the working tree as commit 1, the raw bucket's transition moved in commit 2."""
    repo = tmp_path_factory.mktemp("diff-offline") / "repo"
    files = _git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=PROJECT_ROOT)
    for relative in filter(None, files.split("\0")):
        source = PROJECT_ROOT / relative
        if source.is_file():
            (repo / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / relative)
    _git("init", "--quiet", cwd=repo)
    _git("add", "--all", cwd=repo)
    _git("commit", "--quiet", "-m", "base", cwd=repo)
    cdk_json = json.loads((repo / "cdk.json").read_text())
    storage = cdk_json["context"]["stages"]["dev"]["storage"]
    assert storage["raw_infrequent_access_after_days"] != 60
    storage["raw_infrequent_access_after_days"] = 60
    (repo / "cdk.json").write_text(json.dumps(cdk_json, indent=2) + "\n")
    _git("commit", "--quiet", "-am", "raw bucket: Infrequent Access after 60 days", cwd=repo)
    (repo / "node_modules").symlink_to(PROJECT_ROOT / "node_modules")  # the pinned CLI, not committed
    return repo


def test_diff_names_the_changed_bucket_property_and_nothing_else(repository_with_one_bucket_change):
    repo = repository_with_one_bucket_change
    summary = repo.parent / "summary.md"
    env = {k: v for k, v in os.environ.items() if k != "DAP_ACCOUNT_ID"}
    result = subprocess.run(
        [sys.executable, "scripts/diff_offline.py", "--base", "HEAD~1", "--stage", "dev",
         "--summary", str(summary), "--fail"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "diff-offline: 1 of 4 stack templates change against HEAD~1" in result.stdout

    sections = dict(
        section.split(" =====\n", 1) for section in result.stdout.split("===== ")[1:]
    )  # {"dev / Storage": "…diff…", …}
    unchanged = {name for name, text in sections.items() if "There were no differences" in text}
    assert unchanged == {"dev / Replica", "dev / Observability", "dev / Pipeline"}

    storage_diff = sections["dev / Storage"]
    changed_resources = [line for line in storage_diff.splitlines() if line.startswith("[~]")]
    assert len(changed_resources) == 1 and "AWS::S3::Bucket" in changed_resources[0], storage_diff
    assert "RawBucket" in changed_resources[0]
    assert "LifecycleConfiguration" in storage_diff
    assert "TransitionInDays" in storage_diff
    assert '"TransitionInDays": 30' in storage_diff and '"TransitionInDays": 60' in storage_diff

    markdown = summary.read_text()
    assert "1 of 4 stack templates change (dev/Storage)" in markdown
    assert "### dev / Pipeline: no differences" in markdown
