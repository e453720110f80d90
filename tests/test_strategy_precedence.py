"""Which strategy a rule gets: a per-rule ``strategies`` entry, else ``--strategy`` or config
``strategy``, else the rule's own ``fix`` (its pack author's default, shown by ``deidlint rules``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deidlint.api import scanner
from deidlint.config import load_config
from deidlint.engine import Scanner
from deidlint.fix import Fixer
from deidlint.rules import load_packs
from tests.conftest import run_cli

#: A site pack whose one rule masks by default.
PACK = """[pack]
name = "site"

[[rules]]
code = "US901"
name = "site-date"
kind = "date"
message = "Site date placeholder"
pattern = '@@D@@'
triggers = ["@@"]
fix = "mask"
match = ["since @@D@@."]
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "site.toml").write_text(PACK)
    (tmp_path / "d.csv").write_text("id,report\n1,Lungs clear. Unchanged since @@D@@.\n")
    return tmp_path


def _fix(folder: Path, config: str, *flags: str) -> str:
    (folder / "deidlint.toml").write_text('packs = ["site.toml"]\n' + config)
    out, stats = folder / "o.csv", folder / "stats.json"
    result = run_cli("fix", str(folder / "d.csv"), "-o", str(out), "--stats-json", str(stats),
                     "--config", str(folder / "deidlint.toml"), *flags)
    assert result.returncode == 0, result.stderr
    assert json.loads(stats.read_text())["remaining"] == 0
    return out.read_text().splitlines()[1]


def test_a_rules_own_fix_applies_when_nothing_else_is_said(site: Path) -> None:
    assert _fix(site, "") == "1,Lungs clear. Unchanged since [PHI]."
    assert json.loads((site / "stats.json").read_text())["by_rule"]["US901"] == {"mask": 1}
    assert run_cli("check", str(site / "o.csv"), "--config", str(site / "deidlint.toml")).returncode == 0


def test_strategy_overrides_the_rules_own_fix(site: Path) -> None:
    assert _fix(site, "", "--strategy", "remove") == "1,Lungs clear. Unchanged."
    assert _fix(site, 'strategy = "remove"\n') == "1,Lungs clear. Unchanged."
    assert _fix(site, 'strategy = "remove"\n', "--strategy", "neutral") == "1,Lungs clear. Unchanged since a prior study."


def test_a_strategies_entry_overrides_both(site: Path) -> None:
    entry = 'strategies = {"US901" = "neutral"}\n'
    assert _fix(site, entry, "--strategy", "remove") == "1,Lungs clear. Unchanged since a prior study."
    assert _fix(site, 'strategy = "remove"\n' + entry) == "1,Lungs clear. Unchanged since a prior study."


def test_builtin_restore_rules_restore_by_default(tmp_path: Path) -> None:
    rules = {r.code: r for r in scanner().rules}
    assert [code for code, r in rules.items() if r.fix == "restore"] == ["DL103", "DL302"]
    fixer = Fixer(scanner())
    assert fixer.strategy_for(rules["DL103"]) == ("restore", False)
    assert fixer.strategy_for(rules["DL302"]) == ("restore", False)
    assert fixer.strategy_for(rules["DL104"]) == ("remove", False)
    assert Fixer(scanner(), "mask").strategy_for(rules["DL103"]) == ("mask", False)
    # End to end: the word comes back from the dataset's own unscrubbed text, with no flag or config.
    data, out = tmp_path / "d.csv", tmp_path / "o.csv"
    data.write_text("id,report\n1,Swan-___ catheter in place.\n" + "".join(
        f"{i},Swan-Ganz catheter tip in the right atrium.\n" for i in range(2, 6)))
    assert run_cli("fix", str(data), "-o", str(out)).returncode == 0
    assert out.read_text().splitlines()[1] == "1,Swan-Ganz catheter in place."


def test_config_strategy_is_unset_by_default_and_checked_when_set(tmp_path: Path) -> None:
    assert load_config(start=tmp_path).strategy is None
    config = tmp_path / "deidlint.toml"
    config.write_text('strategy = "erase"\n')
    (tmp_path / "d.csv").write_text("id,report\n1,Unchanged since ___.\n")
    result = run_cli("fix", str(tmp_path / "d.csv"), "--dry-run", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr == ("deidlint: error: unknown strategy 'erase' "
                             "(one of remove, neutral, surrogate, mask, restore)\n")


def test_restore_passes_run_only_when_some_rule_may_restore(tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text(PACK)
    masking = Scanner(load_packs([str(tmp_path / "site.toml")], builtin=False)[0].rules)
    assert not Fixer(masking).may_restore  # the rule's own fix masks
    assert Fixer(masking, "remove").may_restore
    assert Fixer(scanner()).may_restore
    assert not Fixer(scanner(), "mask").may_restore
    assert Fixer(scanner(), "mask", {"DL103": "restore"}).may_restore
    assert not Fixer(scanner(), "mask", {"DL1": "remove"}).may_restore  # an entry applies literally
