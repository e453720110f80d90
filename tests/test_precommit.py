"""The pre-commit hooks and the CI examples in hooks/, as their tools read them.

The end-to-end test runs the real ``pre-commit`` against a snapshot of this working tree: it
installs deidlint from PyPI into a fresh environment (slow, network to PyPI only), blocks a
commit that adds traces, repairs them with ``deidlint-fix`` and lets the next commit through.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pre_commit.clientlib import load_config, load_manifest
from pre_commit.commands.run import Classifier, filter_by_include_exclude

from deidlint import synth
from deidlint.readers import _SUFFIXES
from tests.conftest import REPO

HOOKS = {h["id"]: h for h in load_manifest(str(REPO / ".pre-commit-hooks.yaml"))}
EXAMPLES = REPO / "hooks"


def _selected(hook: dict, folder: Path, names: list[str]) -> set[str]:
    """The files pre-commit would pass to *hook*, by pre-commit's own filtering."""
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        included = filter_by_include_exclude(names, hook["files"], hook["exclude"])
        return set(Classifier(names).by_types(included, hook["types"], hook["types_or"], hook["exclude_types"]))
    finally:
        os.chdir(cwd)


def test_manifest_declares_both_hooks_as_python() -> None:
    assert set(HOOKS) == {"deidlint-check", "deidlint-fix"}
    assert {h["language"] for h in HOOKS.values()} == {"python"}
    assert HOOKS["deidlint-check"]["entry"] == "deidlint check"
    assert HOOKS["deidlint-fix"]["entry"] == "deidlint fix --in-place"
    assert not any(h["additional_dependencies"] for h in HOOKS.values())


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_hooks_select_exactly_the_files_deidlint_reads(tmp_path: Path, hook: str) -> None:
    tables = [s for s in _SUFFIXES if s != ".json"]  # of .json, only R2Gen's annotation.json is a dataset
    readable = [f"d{suffix}" for suffix in tables] + [f"z{s}.gz" for s in tables if s != ".parquet"]
    readable += ["UPPER.CSV", "data/nested/r.jsonl", "annotation.json", "iu_xray/annotation.json.gz"]
    other = ["README.md", "meta.json", "d.json", "my_annotation.json",
             "data.csv.dvc", "t.parquet.gz", ".gitattributes", "a.csv.bak", "x.py"]
    for name in readable + other:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"\x00\x01binary" if name.endswith((".gz", ".parquet")) else b"id,report\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "d.csv")
    assert _selected(HOOKS[hook], tmp_path, readable + other + ["link.csv"]) == set(readable)


def test_hook_installs_without_heavy_extras() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    assert not any(heavy in core for heavy in ("torch", "diffusers", "transformers", "accelerate"))


def test_example_pre_commit_config_is_valid_and_uses_both_hooks() -> None:
    config = load_config(str(EXAMPLES / ".pre-commit-config.yaml"))
    (repo,) = config["repos"]
    hooks = {h["id"]: h for h in repo["hooks"]}
    assert set(hooks) == set(HOOKS)
    assert hooks["deidlint-fix"]["stages"] == ["manual"]


def test_example_github_workflow_uploads_sarif_and_annotates() -> None:
    workflow = yaml.safe_load((EXAMPLES / "github-workflow.yml").read_text())
    assert workflow["permissions"]["security-events"] == "write"
    steps = workflow["jobs"]["traces"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert any("--format github" in r for r in runs)
    sarif_step = next(r for r in runs if "--format sarif" in r)
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert f"> {upload['with']['sarif_file']}" in sarif_step
    assert "!cancelled()" in upload["if"]


def test_example_gitlab_job_publishes_junit_and_keeps_the_exit_code() -> None:
    job = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())["deidlint"]
    report = job["artifacts"]["reports"]["junit"]
    assert job["artifacts"]["when"] == "always"
    assert any(f"--format junit > {report}" in line for line in job["script"])
    assert job["script"][-1] == "exit ${status:-0}"


# -- end to end ------------------------------------------------------------------------------


def _git(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _snapshot(dest: Path, env: dict[str, str]) -> str:
    """Commit this working tree (tracked and untracked, not ignored files) as a new repository.

    pre-commit installs hooks from a commit; the working tree, not only the last commit, is
    what the rest of the test suite checks too.
    """
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO, env=env)
    if listed.returncode != 0:
        pytest.skip("this checkout is not a git repository")
    for name in filter(None, listed.stdout.split("\0")):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        assert _git(*step, cwd=dest, env=env).returncode == 0
    return _git("rev-parse", "HEAD", cwd=dest, env=env).stdout.strip()


@pytest.mark.slow
def test_pre_commit_blocks_traces_and_passes_after_fix(tmp_path: Path) -> None:
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "Curator", "GIT_AUTHOR_EMAIL": "curator@example.org",
           "GIT_COMMITTER_NAME": "Curator", "GIT_COMMITTER_EMAIL": "curator@example.org"}
    env.pop("GIT_DIR", None)
    env.pop("GIT_INDEX_FILE", None)
    (tmp_path / "deidlint").mkdir()
    rev = _snapshot(tmp_path / "deidlint", env)

    dataset = tmp_path / "dataset"
    (dataset / "data").mkdir(parents=True)
    config = yaml.safe_load((EXAMPLES / ".pre-commit-config.yaml").read_text())
    config["repos"][0].update(repo=str(tmp_path / "deidlint"), rev=rev)
    (dataset / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    assert _git("init", "-q", cwd=dataset, env=env).returncode == 0
    pre_commit = [sys.executable, "-m", "pre_commit"]
    installed = subprocess.run([*pre_commit, "install"], cwd=dataset, env=env, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    _git("add", ".pre-commit-config.yaml", cwd=dataset, env=env)
    assert _git("commit", "-q", "-m", "hooks", cwd=dataset, env=env).returncode == 0

    reports = dataset / "data" / "reports.csv"
    with reports.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["study_id", "report"])
        writer.writerows((r.id, r.text) for r in synth.generate(40, seed=5, style="mimic"))
    _git("add", "data/reports.csv", cwd=dataset, env=env)
    blocked = _git("commit", "-m", "add reports", cwd=dataset, env=env)
    assert blocked.returncode != 0, blocked.stdout + blocked.stderr
    output = blocked.stdout + blocked.stderr
    assert "deidlint check" in output and "Failed" in output and "data/reports.csv:" in output

    fixed = subprocess.run([*pre_commit, "run", "deidlint-fix", "--hook-stage", "manual", "--files",
                            "data/reports.csv"], cwd=dataset, env=env, capture_output=True, text=True, timeout=600)
    assert "files were modified by this hook" in fixed.stdout, fixed.stdout + fixed.stderr
    _git("add", "data/reports.csv", cwd=dataset, env=env)
    passed = _git("commit", "-m", "add repaired reports", cwd=dataset, env=env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "deidlint check" in passed.stdout + passed.stderr

    # The hook's environment has the core only: no torch from the verify extra.
    (python,) = (tmp_path / "cache").glob("repo*/py_env-*/bin/python")
    probe = subprocess.run([str(python), "-c", "import importlib.util as u; print(u.find_spec('torch') is None)"],
                           capture_output=True, text=True)
    assert probe.stdout.strip() == "True"
