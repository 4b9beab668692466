"""The pre-commit hooks, for real: pre-commit (from PyPI) builds the hook's environment from
a git snapshot of this project and runs it on a throwaway repository.

`pre-commit try-repo` on the project itself would see only HEAD plus changes to *tracked*
files (its shadow commit runs `git add -u`), so new, not yet committed modules would be
missing. The test therefore commits a snapshot of the working tree (tracked and untracked,
minus what .gitignore excludes) into a temporary repository and points pre-commit at it.
Building the environment installs the project's dependencies with pip; the test is
skipped, with the reason, only when the package index cannot be reached.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ann, coco_doc

pytest.importorskip("pre_commit", reason="pre-commit is in the test extra: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]
_GIT = ["git", "-c", "user.name=maskcheck-test", "-c", "user.email=test@example.invalid",
        "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]
_OFFLINE = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable",
            "ConnectTimeout", "ProxyError")


def _sq(aid: int, image_id: Any, category_id: Any) -> dict[str, Any]:
    """A valid annotation whose 10x10 square does not overlap its neighbours' (by id)."""
    x = 5 + 15 * (aid % 6)
    return ann(aid, image_id, category_id, segmentation=[[x, 10, x + 10, 10, x + 10, 20, x, 20]],
               bbox=[x, 10, 10, 10])


_SKIP_DIRS = {".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".venv", "venv", "build",
              "dist"}


def _git(cwd: Path, *args: str) -> str:
    out = subprocess.run([*_GIT, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return out.stdout


def _project_files() -> list[Path]:
    """The working tree as a user would commit it: tracked and untracked, not ignored."""
    if (ROOT / ".git").exists():
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], cwd=ROOT, capture_output=True,
                                check=True).stdout.decode().split("\0")
        return [Path(p) for p in listed if p and (ROOT / p).is_file()]
    return [p.relative_to(ROOT) for p in ROOT.rglob("*")
            if p.is_file() and not _SKIP_DIRS & set(p.relative_to(ROOT).parts)]


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("hook-repo")
    for rel in _project_files():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, repo / rel)
    assert (repo / ".pre-commit-hooks.yaml").is_file()
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "snapshot for the pre-commit test")
    return repo


@pytest.fixture
def data_repo(tmp_path: Path) -> Path:
    """A user's repository with one bad and one good COCO file under data/."""
    repo = tmp_path / "user-repo"
    (repo / "data").mkdir(parents=True)
    bad = coco_doc(annotations=[_sq(1, 1, 1), _sq(2, 1, "defect_type_a"), _sq(3, 2, 2)])
    good = coco_doc(annotations=[_sq(1, 1, 1), _sq(2, 1, 2), _sq(3, 2, 1)])
    (repo / "data" / "bad.json").write_text(json.dumps(bad))
    (repo / "data" / "good.json").write_text(json.dumps(good))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "data")
    return repo


def _pre_commit(cwd: Path, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "PRE_COMMIT_COLOR": "never", "GIT_AUTHOR_NAME": "t", "GIT_COMMITTER_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    env.pop("GITHUB_ACTIONS", None)  # the hook output should be the text report here
    result = subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    if result.returncode != 0 and "CalledProcessError" in output and any(
            s in output for s in _OFFLINE):
        pytest.skip(f"pre-commit could not install the hook environment (package index "
                    f"unreachable): {output[-300:]}")
    return result


def test_try_repo_fails_on_bad_file_and_passes_on_good(hook_repo: Path, data_repo: Path,
                                                       tmp_path: Path) -> None:
    bad = _pre_commit(data_repo, "try-repo", str(hook_repo), "maskcheck",
                      "--files", "data/bad.json", home=tmp_path / "pc-home")
    out = bad.stdout + bad.stderr
    assert bad.returncode == 1, out
    assert "maskcheck" in out and "Failed" in out, out
    assert "MC101" in out and "data/bad.json:/annotations/1" in out, out

    good = _pre_commit(data_repo, "try-repo", str(hook_repo), "maskcheck",
                       "--files", "data/good.json", home=tmp_path / "pc-home")
    out = good.stdout + good.stderr
    assert good.returncode == 0, out
    assert "Passed" in out, out


def test_dataset_hook_lints_the_folder_named_in_args(hook_repo: Path, data_repo: Path,
                                                     tmp_path: Path) -> None:
    rev = _git(hook_repo, "rev-parse", "HEAD").strip()
    config = {"repos": [{"repo": str(hook_repo), "rev": rev, "hooks": [
        {"id": "maskcheck-dataset", "args": ["data/", "--format", "concise"]}]}]}
    (data_repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    _git(data_repo, "add", ".pre-commit-config.yaml")
    # An unrelated file changes: the dataset hook still runs (always_run) over data/.
    (data_repo / "notes.txt").write_text("hello\n")
    _git(data_repo, "add", "notes.txt")
    result = _pre_commit(data_repo, "run", "--files", "notes.txt", home=tmp_path / "pc-home")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "data/bad.json:/annotations/1: MC101" in out, out
    assert "data/good.json:/annotations" not in out, out  # the good file's records are fine
