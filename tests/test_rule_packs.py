"""Rule pack safety: a pack is data, checked field by field, never code; every pattern is matched
under a time limit, so a catastrophic user pattern fails a CI job in seconds instead of hanging it.

Every bad pack ends the run with one ``deidlint: error:`` line naming the pack file and, where
the problem is in a rule, the line to edit; never a traceback.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deidlint.cli import main
from deidlint.errors import UsageError
from deidlint.rules import load_pack, load_packs
from tests.conftest import run_cli

HEADER = '[pack]\nname = "site"\ndescription = "our own markers"\n'
RULE = '''
[[rules]]
code = "{code}"
name = "{name}"
message = "site placeholder"
pattern = '{pattern}'
'''


def _pack(folder: Path, body: str, name: str = "site.toml") -> Path:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    (folder / "deidlint.toml").write_text(f'packs = ["{name}"]\n', encoding="utf-8")
    return path


def _rule(code: str = "ST001", name: str = "site-mark", pattern: str = r"@@[A-Z]+@@", **extra: str) -> str:
    lines = "".join(f"{key} = {value}\n" for key, value in extra.items())
    return RULE.format(code=code, name=name, pattern=pattern) + lines


def _data(folder: Path, text: str = "Seen by @@NAME@@ on ___.") -> Path:
    path = folder / "reports.csv"
    path.write_text(f'id,report\n1,"{text}"\n', encoding="utf-8")
    return path


def _fails(folder: Path, *fragments: str, fresh: bool = False) -> str:
    """Check a dataset with *folder*'s deidlint.toml and assert the one-line error and exit 2.

    In this process by default (fast); with *fresh*, in a new interpreter as a CI job runs it.
    Pack paths are shown as the config resolved them (absolute); the fragments name them
    relative to *folder*.
    """
    data = _data(folder)
    before = data.read_bytes()
    args = ["check", str(data), "--config", str(folder / "deidlint.toml")]
    if fresh:
        result = run_cli(*args)
        code, err = result.returncode, result.stderr
    else:
        out, captured = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(captured):
            code = main(args)
        err = captured.getvalue()
    assert "Traceback" not in err, err
    lines = err.replace(f"{folder}/", "").splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("deidlint: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert data.read_bytes() == before
    return lines[0]


def test_a_good_user_pack_is_used(tmp_path: Path) -> None:
    _pack(tmp_path, HEADER + _rule())
    result = run_cli("check", str(_data(tmp_path)), "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert '"rule":"ST001"' in result.stdout and '"rule":"DL104"' in result.stdout


@pytest.mark.parametrize(("body", "fragments"), [
    ("[pack\nname = 1\n", ("site.toml:1: not valid TOML",)),
    (HEADER + '[[rules]]\ncode = "ST001"\nname = "x\n', ("site.toml:6: not valid TOML",)),
    ('name = "site"\n', ("site.toml: needs a [pack] table",)),
    (HEADER, ("needs at least one [[rules]] table",)),
    ("rules = [1, 2]\n" + HEADER, ("needs at least one [[rules]] table",)),
    ("version = 2\n" + HEADER + _rule(), ("site.toml: unknown key(s) version at the top level",)),
    ('[pack]\nname = "site"\nauthor = "me"\n' + _rule(), ("unknown key(s) author in [pack]",)),
    (HEADER + _rule(severity='"error"', sevirity='"info"'), ("site.toml:6: unknown key(s) sevirity",)),
    (HEADER + _rule(code="st1"), ("site.toml:6:", "code 'st1' must look like DL101")),
    (HEADER + _rule(name="Site Mark"), ("must be kebab-case",)),
    (HEADER + _rule(kind='"person"'), ("kind 'person' is not one of",)),
    (HEADER + _rule(fix='"delete"'), ("fix 'delete' is not one of",)),
    (HEADER + _rule(ignorecase='"yes"'), ("'ignorecase' must be true or false",)),
    (HEADER + _rule(match='"@@A@@"'), ("'match' must be a list of strings",)),
    (HEADER + '\n[[rules]]\ncode = "ST001"\nname = "no-pattern"\nmessage = "m"\n', ("rule needs a non-empty string 'pattern'",)),
])
def test_malformed_packs(tmp_path: Path, body: str, fragments: tuple[str, ...]) -> None:
    _pack(tmp_path, body)
    _fails(tmp_path, "rule pack", *fragments, fresh=body.startswith("[pack\n"))


@pytest.mark.parametrize(("pattern", "what"), [
    (r"(@@[A-Z]+", "bad pattern for ST002: missing )"),
    (r"@@[A-Z+@@", "bad pattern for ST002: unterminated character set"),
    (r"@*", "pattern for ST002 matches the empty string"),
    (r"(@@)[A-Z]+\1", "numbered back-references cannot be combined"),
])
def test_bad_pattern_is_reported_with_file_and_pattern_line(tmp_path: Path, pattern: str, what: str) -> None:
    # The second rule's pattern comes after a comment and a blank line, below its code.
    body = HEADER + _rule() + '\n[[rules]]\ncode = "ST002"\nname = "second"\nmessage = "m"\n# note\n\npattern = \'' \
        + pattern + "'\n"
    path = _pack(tmp_path, body)
    line = len(path.read_text().splitlines())
    assert path.read_text().splitlines()[line - 1].startswith("pattern =")
    _fails(tmp_path, f"rule pack site.toml:{line}: {what}")


@pytest.mark.parametrize("pattern", [r"^@@", r"@@$", r"\A@@", r"@@\Z", r"(?:x|^)@@"])
def test_anchors_are_rejected_naming_the_rule(tmp_path: Path, pattern: str) -> None:
    _pack(tmp_path, HEADER + _rule(pattern=pattern))
    _fails(tmp_path, "rule ST001 (site.toml:6): anchors", "not supported", fresh=pattern == "^@@")


def test_a_caret_inside_a_class_is_not_an_anchor(tmp_path: Path) -> None:
    _pack(tmp_path, HEADER + _rule(pattern=r"@@[^a-z@]+@@"))
    assert run_cli("check", str(_data(tmp_path)), cwd=tmp_path).returncode == 1


def test_duplicate_codes(tmp_path: Path) -> None:
    _pack(tmp_path, HEADER + _rule() + _rule(name="other"))
    _fails(tmp_path, "rule code ST001 is defined twice: site.toml:6 and site.toml:12")
    _pack(tmp_path, HEADER + _rule(code="DL104"))
    _fails(tmp_path, "rule code DL104 is defined twice:", "mimic.toml", "site.toml:6")
    second = tmp_path / "more.toml"
    second.write_text(HEADER + _rule(name="again"), encoding="utf-8")
    _pack(tmp_path, HEADER + _rule())
    (tmp_path / "deidlint.toml").write_text('packs = ["site.toml", "more.toml"]\n', encoding="utf-8")
    _fails(tmp_path, "rule code ST001 is defined twice: site.toml:6 and more.toml:6")


@pytest.mark.parametrize("triggers", [False, True])
def test_catastrophic_pattern_times_out_naming_the_rule(tmp_path: Path, triggers: bool) -> None:
    """``(?:(?:a|aa)+)+b`` against a run of ``a`` backtracks exponentially; the run stops at the
    time limit with the rule named, whichever search (candidate literals or full) runs it."""
    extra = {"triggers": '["a"]'} if triggers else {}
    _pack(tmp_path, HEADER + _rule(code="ST666", name="evil", pattern="(?:(?:a|aa)+)+b", **extra))
    data = _data(tmp_path, "a" * 48)
    started = time.monotonic()
    result = run_cli("check", str(data), "--column", "report", cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines() == [
        f"deidlint: error: rule ST666 ({tmp_path}/site.toml:6) ran past its time budget: "
        "its pattern backtracks catastrophically"]
    assert elapsed < 60  # without the limit this would run for years


@pytest.mark.parametrize("pattern, cells", [
    ("(?:a|aa)+c", 100),  # about half a second a cell: never one slow match, many slow records
    ("(a+)+b", 1),  # one 5,000-character cell of a's
])
def test_a_slow_pattern_exhausts_the_record_or_run_budget(tmp_path: Path, pattern: str, cells: int) -> None:
    """The time limit is a budget per record and per run, not per match call: each call of these
    patterns stays under the per-call limit, and without a budget the first ran for hours."""
    _pack(tmp_path, HEADER + _rule(code="ST667", name="slow", pattern=pattern, triggers='["a"]'))
    data = tmp_path / "many.csv"
    data.write_text("report\n" + ("a" * 5000 + " x\n") * cells, encoding="utf-8")
    started = time.monotonic()
    result = run_cli("check", str(data), "--column", "report", "-j", "1", cwd=tmp_path)
    assert result.returncode == 2 and "rule ST667" in result.stderr and "time budget" in result.stderr, result.stderr
    assert time.monotonic() - started < 60


def test_catastrophic_pattern_on_its_own_example_fails_at_load(tmp_path: Path) -> None:
    _pack(tmp_path, HEADER + _rule(code="ST666", name="evil", pattern="(?:(?:a|aa)+)+b", match=f'["{"a" * 48}"]'))
    _fails(tmp_path, "rule pack site.toml:9: pattern for ST666 timed out on one of its own examples")


def test_a_python_file_as_a_pack_is_read_as_toml_never_imported(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    _pack(tmp_path, f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n", name="evil.py")
    _fails(tmp_path, "rule pack evil.py:1: not valid TOML", fresh=True)
    assert not marker.exists()
    assert not list(tmp_path.glob("__pycache__"))
    # The suffix means nothing: the same data is a pack whatever the file is called.
    _pack(tmp_path, HEADER + _rule(), name="data.py")
    assert run_cli("check", str(_data(tmp_path)), cwd=tmp_path).returncode == 1
    assert not list(tmp_path.glob("__pycache__"))


def test_pack_paths_are_paths_never_commands(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    (tmp_path / "deidlint.toml").write_text(f'packs = ["$(touch {marker}).toml", "`touch {marker}`"]\n',
                                            encoding="utf-8")
    _fails(tmp_path, "cannot read rule pack", "No such file or directory")
    assert not marker.exists()


def test_unreadable_packs(tmp_path: Path) -> None:
    (tmp_path / "folder.toml").mkdir()
    (tmp_path / "deidlint.toml").write_text('packs = ["folder.toml"]\n', encoding="utf-8")
    _fails(tmp_path, "rule pack", "folder.toml", "is not a regular file")
    (tmp_path / "latin.toml").write_bytes(HEADER.encode() + _rule(pattern="caf\xe9").encode("latin-1"))
    (tmp_path / "deidlint.toml").write_text('packs = ["latin.toml"]\n', encoding="utf-8")
    _fails(tmp_path, "cannot read rule pack", "latin.toml")


def test_load_pack_raises_only_usage_errors(tmp_path: Path) -> None:
    """The library API gives the same one-line errors as the command line."""
    path = tmp_path / "p.toml"
    path.write_text(HEADER + _rule(pattern="(x"), encoding="utf-8")
    with pytest.raises(UsageError, match=r"p.toml:9: bad pattern for ST001"):
        load_pack(path)
    with pytest.raises(UsageError, match="cannot read rule pack"):
        load_packs([tmp_path / "missing.toml"])


def test_the_command_line_never_imports_a_pack(tmp_path: Path) -> None:
    """Loading packs leaves no module behind: nothing from a pack's folder is importable code."""
    _pack(tmp_path, HEADER + _rule(), name="site.toml")
    script = ("import sys; from deidlint.rules import load_packs; before = set(sys.modules); "
              f"load_packs([{str(tmp_path / 'site.toml')!r}]); print(sorted(set(sys.modules) - before))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("pattern", ["zq{100000000}", "(?:(?:zq{1000}){1000})"])
def test_a_pattern_that_unrolls_to_gigabytes_is_refused_before_compiling(tmp_path: Path, pattern: str) -> None:
    """``zq{100000000}`` (16 bytes) took 10.9 GB to compile; it is refused at load, naming its line."""
    _pack(tmp_path, HEADER + _rule(code="ST668", name="huge", pattern=pattern))
    _fails(tmp_path, "rule pack site.toml:9: pattern for ST668 is too large to compile safely")


def test_a_pack_of_ten_thousand_rules_loads_with_every_line_right(tmp_path: Path) -> None:
    """Positions are found in one pass (loading was quadratic: 139 s for this pack, now about 1 s)."""
    body = '[pack]\nname = "big"\ntriggers = ["@@"]\n' + "".join(
        f'\n[[rules]]\ncode = "BG{i:04d}"\nname = "big-{i}"\nmessage = "m"\npattern = \'@@{i}@@\'\n'
        f'match = ["@@{i}@@"]\nno_match = ["x"]\n' for i in range(10_000))
    path = tmp_path / "big.toml"
    path.write_text(body, encoding="utf-8")
    from deidlint.rules import load_pack

    rules = load_pack(path).rules
    assert len(rules) == 10_000
    assert [r.source for r in (rules[0], rules[-1])] == [f"{path}:6", f"{path}:79998"]
