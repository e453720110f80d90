"""`deidlint fix` end to end: refusal without a destination, exit codes, atomic in-place writes,
untouched columns and rows byte-identical, privacy of the output, idempotence."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from deidlint import synth
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fix") / "reports.csv"
    synth.write_dataset(path, 600, seed=9)
    return path


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


def test_refuses_to_write_without_a_destination(dataset: Path) -> None:
    result = run_cli("fix", str(dataset))
    assert result.returncode == 2
    assert result.stderr.strip() == "deidlint: error: fix writes nothing without -o OUT or --in-place (or --dry-run to preview)"


def test_fix_to_output_leaves_no_trace_and_keeps_other_columns(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "fixed.csv"
    stats = tmp_path / "stats.json"
    result = run_cli("fix", str(dataset), "-o", str(out), "--stats-json", str(stats))
    assert result.returncode == 0, result.stderr
    assert "0 finding(s) remain" in result.stderr
    assert result.stdout == ""  # no report text unless --diff
    assert run_cli("check", str(out)).returncode == 0
    before, after = rows(dataset), rows(out)
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        assert old[:2] + old[3:] == new[:2] + new[3:]
    raw_before = dataset.read_bytes().decode().split("\n")
    assert sum(line in out.read_bytes().decode() for line in raw_before) > len(raw_before) // 2
    doc = json.loads(stats.read_text())
    assert doc["remaining"] == 0 and doc["records"] == 600 and doc["records_changed"] > 300
    assert doc["by_rule"]["DL104"]["remove"] > 0


def test_fix_twice_equals_fix_once_and_is_deterministic(dataset: Path, tmp_path: Path) -> None:
    for strategy in ("remove", "surrogate"):
        once, twice, again = (tmp_path / f"{strategy}{i}.csv" for i in range(3))
        assert run_cli("fix", str(dataset), "-o", str(once), "--strategy", strategy, "--seed", "3").returncode == 0
        assert run_cli("fix", str(once), "-o", str(twice), "--strategy", strategy).returncode == 0
        assert run_cli("fix", str(dataset), "-o", str(again), "--strategy", strategy, "--seed", "3").returncode == 0
        assert once.read_bytes() == twice.read_bytes() == again.read_bytes()


def test_in_place_and_dry_run_and_diff(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "a", "report": "Lungs clear. Unchanged since ___."}\n{"id": "b", "report": "Fine."}\n')
    original = path.read_bytes()
    dry = run_cli("fix", str(path), "--dry-run", "--diff", "--id-column", "id")
    assert dry.returncode == 0 and path.read_bytes() == original
    assert "-Lungs clear. Unchanged since ___." in dry.stdout and "+Lungs clear. Unchanged." in dry.stdout
    assert f"{path}:0 report (a)" in dry.stdout
    result = run_cli("fix", str(path), "--in-place")
    assert result.returncode == 0, result.stderr
    assert path.read_text() == '{"id": "a", "report": "Lungs clear. Unchanged."}\n{"id": "b", "report": "Fine."}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jsonl"]


def test_findings_that_cannot_be_fixed_exit_1(tmp_path: Path) -> None:
    pack = tmp_path / "notes.toml"
    pack.write_text('[pack]\nname = "notes"\n\n[[rules]]\ncode = "US901"\nname = "study-number"\n'
                    'message = "Study number"\npattern = "STUDY-[0-9]+"\ncategory = "identifier"\n'
                    'match = ["STUDY-12"]\n')
    config = tmp_path / "deidlint.toml"
    config.write_text(f'packs = ["{pack.name}"]\nstrategies = {{"DL104" = "mask"}}\nmask-token = "<gone>"\n')
    data = tmp_path / "d.csv"
    data.write_text("id,report\n1,STUDY-12 clear since ___.\n")
    out = tmp_path / "o.csv"
    result = run_cli("fix", str(data), "-o", str(out), "--config", str(config))
    assert result.returncode == 1, result.stderr
    assert "1 finding(s) remain: US901 1" in result.stderr
    assert out.read_text() == "id,report\n1,STUDY-12 clear since <gone>.\n"


def test_folder_of_reports_to_output_folder(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    (root / "a.txt").write_text("Unchanged since ___.\n")
    (root / "b.txt").write_text("Clear.\n")
    out = tmp_path / "out"
    assert run_cli("fix", str(root), "-o", str(out)).returncode == 0
    assert (out / "a.txt").read_text() == "Unchanged.\n"
    assert (out / "b.txt").read_bytes() == (root / "b.txt").read_bytes()


def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    missing = run_cli("fix", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "x.csv"))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    data = tmp_path / "d.csv"
    data.write_text("id,report\n1,a ___\n")
    same = run_cli("fix", str(data), "-o", str(data))
    assert same.returncode == 2 and "--in-place" in same.stderr
    both = run_cli("fix", str(data), "-o", "x.csv", "--in-place")
    assert both.returncode == 2 and "Traceback" not in both.stderr


#: Only fixable traces, of several rules (a MIMIC blank, a MIMIC tag, an Open-I age).
MASKABLE = ("id,report\n1,Lungs clear. Unchanged since ___. Dr. [**Last Name 12**] was paged at [**Time 3**].\n"
            "2,Heart normal. XXXX-year-old female.\n")


@pytest.mark.parametrize("settings, token", [
    ('strategy = "mask"\n', "[PHI]"),
    ('strategies = {"DL1" = "mask", "DL2" = "mask", "DL3" = "mask"}\n', "[PHI]"),
    ('strategy = "mask"\nmask-token = "<REDACTED>"\n', "<REDACTED>"),
    ('strategy = "mask"\nmask-token = "[REDACTED]"\n', "[REDACTED]"),
])
def test_a_masked_file_passes_check_with_the_same_config(tmp_path: Path, settings: str, token: str) -> None:
    config = tmp_path / "deidlint.toml"
    config.write_text(settings)
    data, out = tmp_path / "d.csv", tmp_path / "o.csv"
    data.write_text(MASKABLE)
    fixed = run_cli("fix", str(data), "-o", str(out), "--config", str(config))
    assert fixed.returncode == 0, fixed.stderr
    assert out.read_text().count(token) == 4
    checked = run_cli("check", str(out), "--config", str(config))
    assert checked.returncode == 0, checked.stdout
    assert run_cli("baseline", str(out), "-o", str(tmp_path / "b.json"), "--config", str(config)).stderr.startswith(
        "wrote 0 baseline entries")


def test_the_mask_token_stays_a_trace_where_the_config_never_masks(tmp_path: Path) -> None:
    # [PHI] is also what other de-identification tools write: a config that does not mask (the
    # default) reports it and removes it, and a masked file fails a check that does not know.
    data, masked, removed = tmp_path / "d.csv", tmp_path / "m.csv", tmp_path / "r.csv"
    data.write_text(MASKABLE)
    assert run_cli("fix", str(data), "-o", str(masked), "--strategy", "mask").returncode == 0
    assert masked.read_text().count("[PHI]") == 4
    assert run_cli("check", str(masked)).returncode == 1
    assert run_cli("fix", str(masked), "-o", str(removed)).returncode == 0
    assert "[PHI]" not in removed.read_text() and run_cli("check", str(removed)).returncode == 0


def _record_diffs(stdout: str) -> dict[str, str]:
    """``--diff`` output cut into one diff per record, keyed by the record's header name."""
    headers = list(re.finditer(r"^--- (.*)\n\+\+\+ \1 \(fixed\)\n", stdout, re.MULTILINE))
    ends = [m.start() for m in headers[1:]] + [len(stdout)]
    return {m.group(1): stdout[m.start():end] for m, end in zip(headers, ends, strict=True)}


def _patched(tmp_path: Path, original: str, diff: str) -> str:
    """*original* with *diff* applied by GNU patch, which refuses a malformed or misplaced hunk."""
    target, patch_file = tmp_path / "target", tmp_path / "record.diff"
    target.write_bytes(original.encode())
    patch_file.write_bytes(diff.encode())
    subprocess.run(["patch", "--batch", "--fuzz=0", "--quiet", str(target), str(patch_file)], check=True)
    return target.read_bytes().decode()


@pytest.mark.skipif(shutil.which("patch") is None, reason="GNU patch is not installed")
def test_diff_is_a_valid_patch_per_record(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    root.mkdir()
    texts = {
        # No trailing newline, the trace on the last line: both sides need the marker.
        "a.txt": "FINDINGS: Lungs clear.\nHeart normal. Unchanged since ___.",
        # Several lines and a trailing newline; a form feed, which is no line end to patch.
        "b.txt": "FINDINGS: Lungs clear.\fHeart normal.\n\nIMPRESSION: Unchanged since ___.\nNo effusion.\n",
        # The last line unchanged and without a newline: the marker follows a context line.
        "c.txt": "Discussed with Dr. ___ at 4 p.m.\nNo effusion.",
    }
    for name, text in texts.items():
        (root / name).write_bytes(text.encode())
    dry = run_cli("fix", str(root), "--dry-run", "--diff")
    assert dry.returncode == 0, dry.stderr
    assert run_cli("fix", str(root), "-o", str(out)).returncode == 0
    diffs = _record_diffs(dry.stdout)
    assert sorted(diffs) == [f"{root / name}:0" for name in sorted(texts)]
    for name, text in texts.items():
        diff = diffs[f"{root / name}:0"]
        fixed = (out / name).read_bytes().decode()
        assert fixed != text
        assert diff.count("\\ No newline at end of file\n") == {"a.txt": 2, "b.txt": 0, "c.txt": 1}[name], diff
        assert _patched(tmp_path, text, diff) == fixed


@pytest.mark.skipif(shutil.which("patch") is None, reason="GNU patch is not installed")
def test_diff_of_several_records_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    records = ["Unchanged since ___.", "Lungs clear.\nHeart normal.\nNo change since ___.\n", "Fine."]
    path.write_text("".join(json.dumps({"id": str(i), "report": r}) + "\n" for i, r in enumerate(records)))
    dry = run_cli("fix", str(path), "--dry-run", "--diff", "--id-column", "id")
    assert dry.returncode == 0, dry.stderr
    diffs = _record_diffs(dry.stdout)
    assert sorted(diffs) == [f"{path}:0 report (0)", f"{path}:1 report (1)"]
    assert _patched(tmp_path, records[0], diffs[f"{path}:0 report (0)"]) == "Unchanged."
    assert _patched(tmp_path, records[1], diffs[f"{path}:1 report (1)"]) == "Lungs clear.\nHeart normal.\nNo change.\n"


def test_diff_headers_escape_file_names(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    (root / "a\n@@ -1 +1 @@\n+forged.txt").write_text("Unchanged since ___.\n")
    dry = run_cli("fix", str(root), "--dry-run", "--diff")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[:2] == [f"--- {root}/a\\n@@ -1 +1 @@\\n+forged.txt:0",
                                           f"+++ {root}/a\\n@@ -1 +1 @@\\n+forged.txt:0 (fixed)"]


UNRESOLVED_DATA = ('id,report\n'
                   'r1,"FINDINGS: The XXXX are unremarkable today. No pneumothorax."\n'
                   'r2,"Heart size normal. Discussed with Dr. ___ at ___."\n')


@pytest.mark.parametrize(("unresolved", "code", "first"), [
    ("drop", 0, "FINDINGS: No pneumothorax."),
    ("keep", 1, "FINDINGS: The XXXX are unremarkable today. No pneumothorax."),
    ("mask", 0, "FINDINGS: The [PHI] are unremarkable today. No pneumothorax."),
])
def test_unresolved_sentences_are_counted_reported_and_never_shown(tmp_path: Path, unresolved: str, code: int,
                                                                  first: str) -> None:
    data, out = tmp_path / "d.csv", tmp_path / "o.csv"
    data.write_text(UNRESOLVED_DATA)
    drops, stats = tmp_path / "drops.jsonl", tmp_path / "stats.json"
    result = run_cli("fix", str(data), "-o", str(out), "--id-column", "id", "--unresolved", unresolved,
                     "--report-drops", str(drops), "--stats-json", str(stats))
    assert result.returncode == code, result.stderr
    assert rows(out)[1][1] == first and rows(out)[2][1] == "Heart size normal."
    lines = [json.loads(line) for line in drops.read_text().splitlines()]
    action = {"drop": "dropped", "keep": "kept", "mask": "masked"}[unresolved]
    assert [(d["row"], d["id"], d["action"], d["clinical"]) for d in lines] == \
        [(0, "r1", action, True), (1, "r2", "dropped", False)]
    assert lines[0]["reason"] == "residue" and lines[1]["reason"] == "administrative"
    assert UNRESOLVED_DATA.split('"')[1][lines[0]["start"]:lines[0]["end"]] == "The XXXX are unremarkable today."
    written = json.loads(stats.read_text())
    assert written["sentences_dropped"] == (2 if unresolved == "drop" else 1)
    assert written["clinical_sentences_dropped"] == (1 if unresolved == "drop" else 0)
    assert written["records_with_clinical_drops"] == ([f"{data}:0 (r1)"] if unresolved == "drop" else [])
    for text in ("XXXX are unremarkable", "pneumothorax", "Discussed"):  # counts and names, never report text
        assert text not in result.stderr and text not in drops.read_text()
    if unresolved == "mask":
        assert run_cli("check", str(out), "--config", str(_config(tmp_path, 'unresolved = "mask"\n'))).returncode == 0


def _config(folder: Path, text: str) -> Path:
    path = folder / "deidlint.toml"
    path.write_text(text)
    return path


def test_dry_run_says_would_fix_and_a_bad_unresolved_value_is_one_line(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text(UNRESOLVED_DATA)
    dry = run_cli("fix", str(data), "--dry-run")
    assert dry.returncode == 0 and dry.stderr.startswith("would fix 3 trace(s) in 2 of 2 record(s)")
    bad = run_cli("fix", str(data), "--dry-run", "--config", str(_config(tmp_path, 'unresolved = "guess"\n')))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "unresolved" in bad.stderr


def test_a_sentence_shortened_by_a_conjunct_is_reported_not_silent(tmp_path: Path) -> None:
    """A conjunct whose noun a marker hid goes whole (``The spine is intact``): the sentence stays,
    shorter by what the conjunct said, and the fix says so, in every output, without its text."""
    data, out = tmp_path / "d.csv", tmp_path / "o.csv"
    data.write_text('id,report\nr1,"FINDINGS: The spine and osseous XXXX are intact today. No effusion."\n')
    drops, stats = tmp_path / "drops.jsonl", tmp_path / "stats.json"
    result = run_cli("fix", str(data), "-o", str(out), "--id-column", "id", "--report-drops", str(drops),
                     "--stats-json", str(stats))
    assert result.returncode == 0, result.stderr
    assert rows(out)[1][1] == "FINDINGS: The spine is intact today. No effusion."
    (line,) = [json.loads(text) for text in drops.read_text().splitlines()]
    assert (line["id"], line["action"], line["reason"]) == ("r1", "shortened", "conjunct without its noun")
    assert json.loads(stats.read_text())["sentences_shortened"] == 1
    assert "shortened 1 sentence(s)" in result.stderr
    assert "spine" not in result.stderr and "spine" not in drops.read_text()
