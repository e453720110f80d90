"""Every rewrite of ``fix`` carries examples, as every detection rule does; here they are run.

Each example is a report (invented) and what ``fix`` writes for it under a strategy. It must be
written exactly, and it must exercise its record: the repair names the rewrites it applied, the
kinds name the cue that decided, the surrogates the form they took. A table rewrite must also be
needed: without it, at least one of its examples is written differently.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import deidlint.fix.fixer as fixer_module
from deidlint.api import scanner
from deidlint.corpus import read_openi, sentences
from deidlint.fix import fix_texts, frames, kinds, surrogates, tidy
from deidlint.fix.guard import FLAWS, SLOTS
from deidlint.fix.kinds import CUES, DEVICE_TAG, TAG_WORDS, Cue, explain
from deidlint.fix.neutral_frames import NEUTRAL_FRAMES
from deidlint.fix.remove_frames import REMOVE_FRAMES
from deidlint.fix.rewrite import Example, Rewrite
from deidlint.fix.surrogates import FORMS, Form
from tests.case_table import load_cases
from tests.conftest import IU_REPORTS

TIDY = tuple(rewrite for _, rewrite in tidy.TIDY)
REWRITES: tuple[Rewrite, ...] = (*REMOVE_FRAMES, *NEUTRAL_FRAMES, *TIDY, tidy.CLAUSE_ENDERS, tidy.LEADING_JUNK,
                                 *frames.STEPS)


@pytest.fixture(autouse=True)
def _fresh_repairs() -> Iterator[None]:
    """Repairs are cached: a test that takes a rewrite out must not see, or leave, cached results."""
    frames.repair.cache_clear()
    yield
    frames.repair.cache_clear()


def fixed_and_fired(example: Example, monkeypatch: pytest.MonkeyPatch) -> tuple[str, set[str]]:
    """What ``fix`` writes for the example, and the names of the rewrites its repairs applied."""
    fired: set[str] = set()

    def recording(sentence: str, neutral: bool = False) -> frames.Repair:
        repair = frames.repair(sentence, neutral)
        fired.update(repair.fired)
        return repair

    with monkeypatch.context() as m:
        m.setattr(fixer_module, "repair", recording)
        return fix_texts([example.text], example.strategy)[0], fired


def test_rewrite_names_are_unique() -> None:
    names = [r.name for r in (*REMOVE_FRAMES, *TIDY, tidy.CLAUSE_ENDERS, tidy.LEADING_JUNK, *frames.STEPS)]
    assert len(names) == len(set(names))
    assert len({r.name for r in NEUTRAL_FRAMES}) == len(NEUTRAL_FRAMES)


@pytest.mark.parametrize("rewrite", REWRITES, ids=lambda r: r.name)
def test_every_rewrite_writes_its_examples_and_fires_on_them(rewrite: Rewrite, monkeypatch: pytest.MonkeyPatch) -> None:
    assert rewrite.examples, f"{rewrite.name!r} has no example: a rewrite no example exercises goes"
    assert rewrite.does and rewrite.why
    for example in rewrite.examples:
        output, fired = fixed_and_fired(example, monkeypatch)
        assert output == example.fixed, example.text
        assert rewrite.name in fired, (example.text, sorted(fired))


def _without(monkeypatch: pytest.MonkeyPatch, rewrite: Rewrite) -> None:
    """Take one rewrite out of the tables the repair reads."""
    drop = {rewrite.name}
    if rewrite in TIDY:
        monkeypatch.setattr(tidy, "_TIDY", tuple(t for t in tidy._TIDY if t[1] not in drop))
        return
    remove = tuple(f for f in frames._REMOVE if not (rewrite in REMOVE_FRAMES and f.name in drop))
    neutral = tuple(f for f in frames._NEUTRAL if not (rewrite in NEUTRAL_FRAMES and f.name in drop))
    monkeypatch.setattr(frames, "_REMOVE", remove)
    monkeypatch.setattr(frames, "_BOTH", neutral + remove)


@pytest.mark.parametrize("rewrite", (*REMOVE_FRAMES, *NEUTRAL_FRAMES, *TIDY), ids=lambda r: r.name)
def test_every_table_rewrite_is_needed_by_an_example(rewrite: Rewrite, monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, rewrite)
    frames.repair.cache_clear()
    changed = [e.text for e in rewrite.examples if fix_texts([e.text], e.strategy)[0] != e.fixed]
    assert changed, f"without {rewrite.name!r} every example is written the same: no example needs it"


def _one_marker(text: str) -> tuple[str, str]:
    matches = [m for m in scanner().scan(text) if m.rule.fixable]
    assert len(matches) == 1, text
    return explain(text, matches[0])


@pytest.mark.parametrize("cue", (*CUES, *TAG_WORDS, DEVICE_TAG), ids=lambda c: c.name)
def test_every_cue_decides_its_examples(cue: Cue) -> None:
    assert cue.examples and cue.why
    for text in cue.examples:
        assert _one_marker(text) == (cue.kind, cue.name), text


@pytest.mark.parametrize("cue", CUES[1:], ids=lambda c: c.name)
def test_every_cue_is_needed_by_an_example(cue: Cue, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the cue, some example gets another kind (the first cue is also the age check that
    runs before tags are read, so it cannot be taken out alone)."""
    rest = tuple(c for c in CUES if c is not cue)
    monkeypatch.setattr(kinds, "CUES", rest)
    monkeypatch.setattr(kinds, "_CUE_TABLE", kinds._CueTable(rest))
    assert any(_one_marker(text)[0] != cue.kind for text in cue.examples)


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_every_surrogate_form_writes_its_examples(form: Form, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    taken: list[str] = []
    real = surrogates.form_of

    def recording(kind: str, marker: str, left: str, right: str) -> Form:
        found = real(kind, marker, left, right)
        taken.append(found.name)
        return found

    monkeypatch.setattr(surrogates, "form_of", recording)
    assert form.examples and form.why
    for text, pattern in form.examples:
        taken.clear()
        output = fix_texts([text], "surrogate")[0]
        assert re.fullmatch(pattern, output), (text, output)
        assert form.name in taken, (text, taken)


def test_the_examples_are_invented_not_from_openi() -> None:
    """Every example of every rewrite, cue, surrogate form, guard flaw and slot, every case of the
    case table and every residue rule's example was written for these records; none may hold a
    sentence of the Open-I reports (their licence forbids derivatives). Examples are split into
    sentences as the reports are; a sentence of fewer than four words (``No change.``) is a stock
    phrase that every corpus holds."""
    if not IU_REPORTS.is_file():
        pytest.skip(f"public Open-I reports not found at {IU_REPORTS}")
    real = {" ".join(s.split()).lower() for r in read_openi(IU_REPORTS) for s in sentences(r.single_line())}
    ours = [t for r in REWRITES for e in r.examples for t in (e.text, e.fixed)]
    ours += [t for c in (*CUES, *TAG_WORDS, DEVICE_TAG) for t in c.examples]
    ours += [text for f in FORMS for text, _ in f.examples]
    ours += [s for f in FLAWS for pair in f.flags for s in pair] + [s for f in FLAWS for s in f.passes]
    ours += [s for slot in SLOTS for s in (*slot.slots, *slot.not_slots)]
    # The case table and the residue examples also hold stock trace-free phrases that every corpus
    # has (`The lungs are clear.`); a sentence of theirs with Open-I's marker was written from a
    # real context, and must not be the real sentence.
    ours += [s for c in load_cases() for t in (c.input, *c.expected.values(), *c.corpus) for s in sentences(t)
             if "XXXX" in s]
    ours += [s for r in scanner(("residue",)).rules for t in (*r.match, *r.no_match) for s in sentences(t)
             if "XXXX" in s]
    assert len(ours) > 200
    found = [s for text in ours for s in sentences(text) if len(s.split()) >= 4 and " ".join(s.split()).lower() in real]
    assert found == []
