"""How good is a cleaned dataset? `fix` with every strategy (and a naive deletion) on real and
generated reports, judged by instruments that share no code with the fixer.

    python benchmarks/fix_quality.py [--reports N] [--json FILE]

Corpora: (a) the 3,927 non-empty Open-I reports from ../shared as a one-line export
(``COMPARISON: ... INDICATION: ... FINDINGS: ... IMPRESSION: ...``), (b) the same reports
hard-wrapped at 70 columns, one section per paragraph, (c) the MIMIC-style case table
(tests/data/fix_cases.toml), (d) generated corpora (MIMIC style and mixed families; the
generator shares the fixer's understanding, so (d) flatters it). Per corpus and strategy:

- traces left: what ``deidlint check`` (default rules) still finds; for ``mask``, with the mask
  token accepted, as ``check`` does with the config that masked;
- residue added: ``residue`` pack findings after minus before, per report, summed over reports
  where they grew (Open-I's own text already holds ``disease. .``; that is not the fix's);
- trace-free sentences changed: sentences without a trace (``deidlint.corpus.sentences``, white
  space folded) not found verbatim afterwards, a numbered sentence's list number set aside;
- list items renumbered: trace-free sentences found verbatim but under another list number (an
  item before them went, ``2. Cardiomegaly.`` is now ``1. Cardiomegaly.``): counted apart,
  because the number is the list's, not the sentence's;
- clinical sentences dropped: sentences with a trace and a finding mention (``deidlint.meaning``)
  that no sentence afterwards keeps: one keeps it when it holds every mention's words and, in
  order, half the other words; the share is of all sentences with a trace;
- reports whose meaning changed: ``meaning.changed(before, after)`` not empty; changed by written
  hedges alone: of those, the ones that read as the fixed report once the hedges the fix wrote for
  markers are put in the markers' places (``XXXX represents`` -> ``likely represents``), counted
  apart and not subtracted, since that the scrubber took a hedge there is the fix's reading;
- restores: a marker replaced by one word of the corpus's clean vocabulary; unseen: some word
  trigram holding the restored word (two words each side) never occurs in the corpus's
  trace-free sentences (``The lungs are intact``: ``lungs are intact`` never does);
  ``prior`` in a date's place (``similar to prior``, ``prior chest radiograph``) is the word the
  fix writes for a date, no word put back, and counts in neither column;
- hedges written: a marker replaced by one hedge word (``likely``, ``suggests``), where the fix read
  the marker as the hedge the scrubber took; neither a restore nor a value. The meaning reader
  reads a bare marker as no hedge, so each such sentence also counts in "reports meaning changed"
  (and in "changed by written hedges alone" where nothing else changed the report);
- taken words written: a marker replaced by the noun its one modifier names (``lymph nodes``,
  ``costophrenic angles``, ``sternotomy wires``, ``aortic arch``, ``productive cough``), by the
  modifier its noun names (``median sternotomy``) or by the subject its predicate names (``The
  bones are intact``), which Open-I's scrubber took in every report, where the clean text never
  shows it there: the fix's reading of the slot, as a hedge is, neither a restore nor a value
  (where the clean text does show it, a restore);
- wrong-kind values: a name, date, time or place put where the words before the marker ask for a
  clinical word (``with XXXX``, ``history of XXXX``, ``pulmonary XXXX``, ``Swan-___``), or a
  second meridiem (``4:25 a.m. p.m.``).

An ``unchanged`` row (the input as its own output) shows every instrument's null: all zeros
but the traces the input holds; the run stops if it is not. The ``naive`` row (every trace
deleted where it stands) shows what the instruments see in wreckage.

Then the masking experiment on real clean text: in one trace-free sentence of each Open-I report,
one word (a noun naming a finding, an adjective, a hedge, a negation, or the sentence's subject)
is replaced by ``XXXX``; the corpus is fixed, and each masked sentence is scored on its repair (a
sentence of the fixed report that was not already in the masked one): restored right, another
word in the slot (a wrong restore, or a surrogate value), another hedge in a masked hedge's place
(the hedge slots' ``likely`` for ``may``: the finding stays uncertain, but the word is not the one
masked), removed with meaning kept, removed with meaning changed, sentence dropped, or marker left
(the null, a fix that did nothing). Meaning changed counts every outcome whose finding statuses
differ from the original sentence's; restore precision is right / (right + wrong word + another
hedge), coverage (right + wrong word + another hedge) / masked.

Only counts are printed: the Open-I licence forbids derivatives, so no report text leaves ../shared.
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from deidlint import meaning  # noqa: E402
from deidlint.api import scanner  # noqa: E402
from deidlint.corpus import is_label, naive_deletion, read_openi, sentences  # noqa: E402
from deidlint.engine import Scanner  # noqa: E402
from deidlint.fix import fix_texts  # noqa: E402
from deidlint.synth import generate  # noqa: E402
from tests.case_table import load_cases  # noqa: E402

IU = REPO.parent / "shared" / "data" / "iu-xray" / "NLMCXR_reports.tgz"
STRATEGIES = ("remove", "neutral", "surrogate", "mask", "restore")
TRACES = scanner()
#: What ``check`` reports after ``fix --strategy mask`` with the same config: the mask token it
#: wrote is accepted (deidlint.cli.accepted_mask), every other trace counts.
MASKED_TRACES = Scanner(TRACES.rules, mask_token="[PHI]")
RESIDUE = scanner(("residue",))
_WORDS = re.compile(r"[A-Za-z]{3,}")
_PUNCT = ".,;:()[]\"'"


def naive(texts: Sequence[str]) -> list[str]:
    """Every trace deleted where it stands (``re.sub(marker, "")``)."""
    return naive_deletion(texts, TRACES)


def _counts(engine: Scanner, texts: Sequence[str]) -> Counter[int]:
    return Counter(i for i, *_ in engine.spans(texts))


#: The number opening a list item (``2. Cardiomegaly.``).
_LIST_NUMBER = re.compile(r"^\d{1,2}[.)]\s+")


def _marked(sentence: str) -> bool:
    return bool(TRACES.scan(sentence))


def _norm(token: str) -> str:
    return token.strip(_PUNCT).lower()


def _tokens(sentence: str) -> list[str]:
    """A sentence's words, with two boundary tokens each side (a restore's context is two words)."""
    return ["<s>", "<s>", *(_norm(t) for t in sentence.split(" ")), "</s>", "</s>"]


def _ends(token: str) -> bool:
    """Whether *token* ends a sentence or is a section label (``FINDINGS:``)."""
    return token.endswith((".", "!", "?")) or (token.endswith(":") and token[:-1].isupper())


class Clean:
    """The corpus's own trace-free sentences: the vocabulary and word trigrams a restore may use."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.words: set[str] = set()
        self.trigrams: set[tuple[str, str, str]] = set()
        for text in texts:
            for s in sentences(text):
                if is_label(s) or _marked(s):
                    continue
                toks = _tokens(s)
                self.words.update(toks[2:-2])
                self.trigrams.update(zip(toks, toks[1:], toks[2:], strict=False))

    def supports(self, left: Sequence[str], token: str, right: Sequence[str]) -> bool:
        """Whether every trigram that holds the restored *token* occurs in the clean text: the word
        is supported from both sides (``The lungs are intact``: ``lungs are intact`` never occurs)."""
        p2, p1, n1, n2 = _context(left, token, right)
        w = _norm(token)
        return all(g in self.trigrams for g in ((p2, p1, w), (p1, w, n1), (w, n1, n2)))


_CLINICAL_LEFT = {"with", "of", "for", "no", "the", "a", "an", "pulmonary", "and", "or", "non-", "represents",
                  "in", "are", "is", "mild", "small", "lymph", "bony", "osseous"}
_PHI_LEFT2 = {"discussed with", "spoke with", "spoken with", "conveyed to", "study of", "exam of", "examination of",
              "radiograph of", "radiographs of", "films of", "dr. with"}
_VALUE_KINDS = (
    ("time", re.compile(r"\d{1,2}[:.]\d{2}")),
    ("date", re.compile(r"\d{1,2}/\d{1,2}|\d{4}-\d|\bprior (?:study|studies|exam)|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|"
                        r"Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d")),
    ("place", re.compile(r"(?i)hospital|outside|medical center|clinic\b")),
    ("name", re.compile(r"(?i)referring (?:clinician|physician)|\bDr\.")),
)
_DOUBLE_MERIDIEM = re.compile(r"(?i)[ap]\.?\s?m\.?\s+[ap]\.?\s?m\b")


def _value_kind(value: str, clean: Clean) -> str | None:
    for kind, pattern in _VALUE_KINDS:
        if pattern.search(value):
            return kind
    words = value.split()
    if len(words) <= 2 and all(w[:1].isupper() and _norm(w) not in clean.words for w in words):
        return "name"  # a surrogate name: a capitalised word the corpus never uses
    return None


def _context(left: Sequence[str], token: str, right: Sequence[str]) -> tuple[str, str, str, str]:
    """Two words each side of a restored *token*; a sentence end on the way reads ``<s>``/``</s>``."""
    before = ["<s>", "<s>"]
    for t in left:
        before = ["<s>", "<s>"] if _ends(t) else [before[1], _norm(t)]
    after: list[str] = []
    ended = _ends(token)
    for t in right[:2]:
        if ended or _ends(t) and t.endswith(":"):
            break
        after.append(_norm(t))
        ended = _ends(t)
    after += ["</s>"] * (2 - len(after))
    return before[0], before[1], after[0], after[1]


def _edits(before: str, after: str) -> Iterable[tuple[list[str], list[str], list[str], list[str]]]:
    """Word-level replacements of marker tokens: (left context, old tokens, new tokens, right context)."""
    a, b = before.split(), after.split()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "replace" and any(_marked(t) for t in a[i1:i2]):
            yield a[max(0, i1 - 3):i1], a[i1:i2], b[j1:j2], b[j2:j2 + 2]


def judge(before: Sequence[str], after: Sequence[str], clean: Clean, masked: bool = False) -> dict[str, float]:
    """The quality counts of one fixed corpus (see the module docstring); ``masked``: the fix
    masked, so its mask token is no trace left, as for ``check`` with the same config."""
    res_before, res_after = _counts(RESIDUE, before), _counts(RESIDUE, after)
    out: Counter[str] = Counter()
    out["traces left"] = len((MASKED_TRACES if masked else TRACES).spans(after))
    out["residue added"] = sum(max(0, res_after[i] - res_before[i]) for i in range(len(before)))
    for b, a in zip(before, after, strict=True):
        sb = [s for s in sentences(b) if not is_label(s)]
        if b == a:
            out["marked sentences"] += sum(map(_marked, sb))
            continue
        sa = sentences(a)
        # A trace-free sentence is kept when its text is still there, white space folded: looked
        # up in the whole text, because where a splitter ends a sentence depends on how the next
        # one starts, which the repair of a neighbour may change.
        folded = " ".join(a.split())
        needed = Counter(s for s in sb if not _marked(s))
        for s, n in needed.items():
            whole, body = min(n, folded.count(s)), min(n, folded.count(_LIST_NUMBER.sub("", s, count=1)))
            out["trace-free sentences changed"] += n - body
            out["list items renumbered"] += body - whole
        words_after = [_WORDS.findall(s.lower()) for s in sa]
        for s in sb:
            if not _marked(s):
                continue
            out["marked sentences"] += 1
            out["clinical sentences dropped"] += _dropped(s, words_after)
        if meaning.changed(b, a):
            out["reports meaning changed"] += 1
            out["changed by written hedges alone"] += not meaning.changed(_hedges_put_back(b, a), a)
        out["wrong-kind values"] += len(_DOUBLE_MERIDIEM.findall(a)) - len(_DOUBLE_MERIDIEM.findall(b))
        _judge_values(b, a, clean, out)
    return dict(out)


def _dropped(sentence: str, words_after: Sequence[Sequence[str]]) -> bool:
    """Whether *sentence* (with a trace) states a finding that no sentence of the fixed report
    keeps: one keeps it when it holds the words of every finding mention and, in order, half the
    sentence's other words (a set overlap would let ``Old granulomas noted.`` keep ``Port XXXX
    noted.``, and a report's impression keep the findings sentence it repeats in other words)."""
    found = meaning.mentions(sentence)
    words = [w for w in _WORDS.findall(sentence.lower()) if not _marked(w) and w != "xxxx"]
    if not found or not words:
        return False
    needed = {w for m in found for w in _WORDS.findall(sentence[m.start:m.end].lower())} - {"xxxx"}

    def keeps(after: Sequence[str]) -> bool:
        if not needed <= set(after):
            return False
        matcher = difflib.SequenceMatcher(None, words, after, autojunk=False)
        return sum(block.size for block in matcher.get_matching_blocks()) >= len(words) / 2

    return not any(keeps(after) for after in words_after)


def _hedges_put_back(before: str, after: str) -> str:
    """*before* with each marker the fix replaced by one hedge word replaced by that word: the
    meaning reader reads a bare marker as no hedge, so a report whose meaning changed only by the
    hedges written reads the same as the fixed one once they are put back. Counted apart, not
    subtracted: whether the scrubber took that hedge is the fix's reading, not the instrument's."""
    tokens = list(re.finditer(r"\S+", before))
    new = after.split()
    matcher = difflib.SequenceMatcher(None, [t.group() for t in tokens], new, autojunk=False)
    pieces, pos = [], 0
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if (op == "replace" and j2 - j1 == 1 and _norm(new[j1]) in HEDGES
                and all(_marked(t.group()) for t in tokens[i1:i2])):
            pieces += [before[pos:tokens[i1].start()], new[j1]]
            pos = tokens[i2 - 1].end()
    return "".join(pieces) + before[pos:]


def _judge_values(b: str, a: str, clean: Clean, out: Counter[str]) -> None:
    """Count what took each marker's place in one report: restores (and unseen ones), hedges
    (a word of :data:`HEDGES`, the slot's reading of the marker, neither a restore nor a value),
    and values of the wrong kind."""
    for left, old, new, right in _edits(b, a):
        value = " ".join(new)
        if value.replace(" ", "") == naive(["".join(old)])[0]:
            continue  # the marker deleted where it stood: no value was put in
        glued = False
        if len(old) == 1 == len(new):
            m = TRACES.scan(old[0])[0]
            prefix, suffix = old[0][:m.start], old[0][m.end:]
            filled = new[0].startswith(prefix) and new[0].endswith(suffix)
            if filled:
                value = new[0][len(prefix):len(new[0]) - len(suffix) or None]  # what took the marker's place
                glued = prefix.endswith("-")
            if filled and _norm(value) in HEDGES:
                out["hedges written"] += 1  # not a corpus word put back: the slot's reading of the marker
                continue
            if filled and _norm(value) in DATE_WORDS:
                continue  # the word written for a date under every strategy: no restore, no value
            # the noun its one modifier names, or the modifier its noun names, which the scrubber took
            # (``lymph nodes``, ``median sternotomy``): the slot's
            # reading where the clean text never shows it there, a restore where it does
            taken = (bool(left) and _norm(value) in TAKEN_NOUNS.get(_norm(left[-1]), ())) or (
                bool(right) and (_norm(value) in TAKEN_MODIFIERS.get(_norm(right[0]), ())
                                 or _norm(right[0]) in TAKEN_SUBJECTS.get(_norm(value), ())))
            if filled and value.isalpha() and _norm(new[0]) in clean.words:
                supported = clean.supports(left, new[0], right)
                if taken and not supported:
                    out["taken words written"] += 1
                else:
                    out["restores"] += 1
                    if not supported:
                        out["restores unseen"] += 1
                continue
            if filled and taken:
                out["taken words written"] += 1
                continue
        if not value or TRACES.scan(value):
            continue  # a mask token: no value of any kind
        kind = _value_kind(value, clean)
        # The slot is what stood before the marker, the words the value replaced with it included
        # (``with the study of ___`` -> ``with the prior study``: ``study of`` asked for a date).
        left = [*left, *old[:next(k for k, t in enumerate(old) if _marked(t))]]
        slot = " ".join(_norm(t) for t in left[-2:])
        # ``___ and ___`` coordinates two markers: the second has the first's kind, so its
        # ``and`` is no clinical slot (two comparison dates are right).
        coordinated = len(left) >= 2 and _norm(left[-1]) in {"and", "or"} and _marked(left[-2])
        if kind and (glued or (left and _norm(left[-1]) in _CLINICAL_LEFT and slot not in _PHI_LEFT2
                               and not coordinated)):
            out["wrong-kind values"] += 1


# -- the masking experiment ------------------------------------------------------------------------

#: What the fix writes for a date before an exam or after ``similar to``, under every strategy.
DATE_WORDS = {"prior"}
#: The nouns a modifier names that Open-I's scrubber took in every report (the corpus never spells
#: them): written in a marker's place after that modifier, they are the slot's reading.
TAKEN_NOUNS = {"lymph": {"node", "nodes"}, "costophrenic": {"angle", "angles"}, "sternotomy": {"wire", "wires"},
               "aortic": {"arch"}, "productive": {"cough"}}
#: The subjects the scrubber took, with the verbs they were seen before (``The bones are intact``).
TAKEN_SUBJECTS = {"bones": {"are", "appear"}}
#: The modifiers its noun names that the scrubber took (``median`` before ``sternotomy``).
TAKEN_MODIFIERS = {"sternotomy": {"median"}, "loss": {"weight", "height"}, "deformity": {"compression"},
                   "deformities": {"compression"}, "cell": {"sickle", "stem"}}
HEDGES = {"likely", "possible", "possibly", "probable", "probably", "may", "might", "suggest", "suggests",
          "suggestive", "suspicious", "questionable", "question", "concerning", "borderline", "suspected"}
NEGATIONS = {"no", "not", "without", "negative"}
ADJECTIVES = {"normal", "clear", "small", "large", "mild", "mildly", "moderate", "severe", "stable", "enlarged",
              "unremarkable", "intact", "left", "right", "bilateral", "focal", "acute", "chronic", "calcified",
              "degenerative", "tortuous", "prominent", "minimal", "low", "hyperinflated", "unchanged", "patchy"}
CATEGORIES = ("finding", "adjective", "hedge", "negation", "subject")


def _candidates(sentence: str) -> dict[str, list[int]]:
    """Token indexes of *sentence* (split on spaces) that fall in each masking category."""
    tokens = sentence.split(" ")
    found: dict[str, list[int]] = {c: [] for c in CATEGORIES}
    starts = []
    pos = 0
    for t in tokens:
        starts.append(pos)
        pos += len(t) + 1
    for m in meaning.mentions(sentence):
        i = max(k for k, s in enumerate(starts) if s <= m.start)
        if " " not in sentence[m.start:m.end] and _norm(tokens[i]).isalpha():
            found["finding"].append(i)
    for i, t in enumerate(tokens):
        w = _norm(t)
        if w in HEDGES:
            found["hedge"].append(i)
        elif w in NEGATIONS:
            found["negation"].append(i)
        elif w in ADJECTIVES:
            found["adjective"].append(i)
    for i in range(1, min(len(tokens), 5)):
        if _norm(tokens[i]) in ("is", "are", "appears", "appear") and _norm(tokens[i - 1]).isalpha():
            found["subject"].append(i - 1)
            break
    return {c: sorted(set(v)) for c, v in found.items() if v}


def _mask_token(token: str, marker: str) -> str:
    word = _norm(token)
    start = token.lower().find(word)
    return token[:start] + marker + token[start + len(word):]


def _masked_tokens(sentence: str, i: int, marker: str) -> list[str]:
    tokens = sentence.split(" ")
    tokens[i] = _mask_token(tokens[i], marker)
    return tokens


def _mask_in(text: str, sentence: str, i: int, marker: str) -> str:
    """*text* with word *i* of *sentence* (one of its sentences, white space folded) masked where
    it stands: the sentence is found across the text's own line breaks and runs of spaces, which
    stay as they were."""
    tokens = sentence.split(" ")
    found = re.search(r"\s+".join(map(re.escape, tokens)), text)
    assert found is not None, "a sentence of the text is in the text"
    word = list(re.finditer(r"\S+", text[found.start():found.end()]))[i]
    start, end = found.start() + word.start(), found.start() + word.end()
    return text[:start] + _mask_token(text[start:end], marker) + text[end:]


def repairs(masked: str, fixed: str, sentence: str, i: int, marker: str) -> Counter[str]:
    """The sentences of the *fixed* report that may be the repair of *sentence* (word *i* masked
    in the *masked* report): not the report's other sentences, which the fix keeps as they were;
    one of them may differ from the masked sentence in that word alone (``No effusions.`` beside
    ``No XXXX.``, dropped), and scored as its repair it would count as a wrong word in the slot."""
    others = Counter(sentences(masked)) - Counter({" ".join(_masked_tokens(sentence, i, marker)): 1})
    return Counter(sentences(fixed)) - others


def score_masked(sentence: str, i: int, candidates: Iterable[str]) -> tuple[str, bool]:
    """The outcome for *sentence* with word *i* masked, and whether its meaning changed, judged on
    its repair among *candidates* (sentences of the fixed report): the sentence itself, or one with
    another word in the slot; else the one that keeps most of its other words (at least half)."""
    original = meaning.assertions(sentence)
    orig = sentence.split(" ")
    words = set(_WORDS.findall(sentence.lower())) - {_norm(orig[i])}
    same, slot, best, overlap = None, None, None, 0.0
    for s in candidates:
        toks = s.split(" ")
        if s[:1].lower() + s[1:] == sentence[:1].lower() + sentence[1:]:
            same = s
        elif len(toks) == len(orig) and not is_label(s) and all(
                x == y for k, (x, y) in enumerate(zip(toks, orig, strict=True)) if k != i):
            slot = s
        share = len(words & set(_WORDS.findall(s.lower()))) / len(words) if words else 0.0
        if share > overlap:
            best, overlap = s, share
    if slot is not None and _marked(slot.split(" ")[i]):  # the null: a fix that did nothing
        return "marker left", meaning.assertions(slot) != original
    if same is not None:
        return "restored right", meaning.assertions(same) != original
    if slot is not None:
        if _norm(orig[i]) in HEDGES and _norm(slot.split(" ")[i]) in HEDGES:
            return "another hedge", meaning.assertions(slot) != original
        return "wrong word in slot", meaning.assertions(slot) != original
    if best is None or overlap < 0.5:
        return "sentence dropped", bool(original)
    changed = meaning.assertions(best) != original
    return ("removed, meaning changed" if changed else "removed, meaning kept"), changed


def masking_experiment(reports: Sequence[str], marker: str, seed: int = 0,
                       strategies: Sequence[str] = ("remove", "neutral", "surrogate", "restore"),
                       ) -> dict[str, dict[str, dict[str, int]]]:
    """Score each strategy on one word per report masked with the corpus's own *marker*."""
    rng = random.Random(seed)
    masked, cases = [], []
    turn = 0
    for text in reports:
        options = [(s, c, i) for s in sentences(text) if not is_label(s) and not _marked(s)
                   for c, idx in _candidates(s).items() for i in idx]
        if not options:
            masked.append(text)
            continue
        wanted = CATEGORIES[turn % len(CATEGORIES)]
        pool = [o for o in options if o[1] == wanted] or options
        sentence, category, i = rng.choice(pool)
        turn += 1
        masked.append(_mask_in(text, sentence, i, marker))
        cases.append((len(masked) - 1, sentence, category, i))
    results: dict[str, dict[str, dict[str, int]]] = {}
    for strategy in strategies:
        fixed = fix_texts(masked, strategy, seed=seed)
        table: dict[str, dict[str, int]] = {c: Counter() for c in (*CATEGORIES, "all")}  # type: ignore[misc]
        for index, sentence, category, i in cases:
            outcome, changed = score_masked(sentence, i, repairs(masked[index], fixed[index], sentence, i, marker))
            for key in (category, "all"):
                table[key][outcome] += 1
                table[key]["masked"] += 1
                table[key]["meaning changed"] += changed
        results[strategy] = {k: dict(v) for k, v in table.items()}
    return results


# -- running and printing --------------------------------------------------------------------------

COLUMNS = ("traces left", "residue added", "trace-free sentences changed", "list items renumbered",
           "clinical sentences dropped", "reports meaning changed", "changed by written hedges alone", "restores",
           "restores unseen", "hedges written",
           "taken words written",
           "wrong-kind values")


def corpora(n: int) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if IU.is_file():
        reports = read_openi(IU)
        found["Open-I, one line"] = [r.single_line() for r in reports]
        found["Open-I, wrapped at 70"] = [r.wrapped() for r in reports]
    else:
        print(f"skipping the Open-I corpora: {IU} not found (../shared is absent)", file=sys.stderr)
    found["case table"] = [c.input for c in load_cases()]
    found["generated, MIMIC style"] = [r.text for r in generate(n, seed=1, style="mimic")]
    found["generated, mixed"] = [r.text for r in generate(n, seed=2, style="mixed")]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=5000, help="reports per generated corpus (default 5000)")
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results: dict[str, object] = {"table": [], "cases passing": {}}
    print("| corpus | strategy | reports | marked sentences | " + " | ".join(COLUMNS) + " |")
    print("|---|---|---:|---:|" + "---:|" * len(COLUMNS))
    cases = load_cases()
    for name, texts in corpora(args.reports).items():
        clean = Clean(texts)
        for strategy in ("unchanged", "naive", *STRATEGIES):
            fixed = (list(texts) if strategy == "unchanged" else naive(texts) if strategy == "naive"
                     else fix_texts(texts, strategy, seed=0))
            row = judge(texts, fixed, clean, masked=strategy == "mask")
            if strategy == "unchanged" and any(row.get(c) for c in COLUMNS if c != "traces left"):
                raise SystemExit(f"the instruments are not silent on unchanged text: {row}")
            marked = int(row.get("marked sentences", 0))
            cells = []
            for col in COLUMNS:
                value = int(row.get(col, 0))
                cells.append(f"{value:,} ({value / marked:.1%})" if col == "clinical sentences dropped" and marked
                             else f"{value:,}")
            print(f"| {name} | {strategy} | {len(texts):,} | {marked:,} | " + " | ".join(cells) + " |", flush=True)
            results["table"].append({"corpus": name, "strategy": strategy, "reports": len(texts), **row})  # type: ignore[attr-defined]
    print("\n| case table | " + " | ".join(STRATEGIES) + " |\n|---|" + "---:|" * len(STRATEGIES))
    from tests.case_table import run_case

    passing = {s: sum(c.accepts(s, run_case(c, s)) for c in cases) for s in STRATEGIES}
    results["cases passing"] = passing
    print(f"| cases passing (of {len(cases)}) | " + " | ".join(str(passing[s]) for s in STRATEGIES) + " |")
    masking = {"generated, MIMIC style": ([r.text for r in generate(args.reports, seed=1, style="mimic")], "___")}
    if IU.is_file():
        masking = {"Open-I, one line": ([r.single_line() for r in read_openi(IU)], "XXXX"), **masking}
    results["masking"] = {}
    outcomes = ("restored right", "wrong word in slot", "another hedge", "removed, meaning kept",
                "removed, meaning changed", "sentence dropped", "marker left")
    for name, (reports, marker) in masking.items():
        experiment = masking_experiment(reports, marker)
        results["masking"][name] = experiment  # type: ignore[index]
        print(f"\nMasking experiment, {name} (one word per report masked with {marker}):\n")
        print("| strategy | category | masked | " + " | ".join(outcomes) + " | meaning changed | restore precision | coverage |")
        print("|---|---|---:|" + "---:|" * (len(outcomes) + 3))
        for strategy, table in experiment.items():
            for category in (*CATEGORIES, "all"):
                t = table[category]
                # a hedge written for another is a word not restored: it counts against precision
                right, n = t.get("restored right", 0), t["masked"]
                wrong = t.get("wrong word in slot", 0) + t.get("another hedge", 0)
                precision = f"{right / (right + wrong):.3f}" if right + wrong else "-"
                cells = " | ".join(f"{t.get(o, 0):,}" for o in outcomes)
                print(f"| {strategy} | {category} | {n:,} | {cells} | {t.get('meaning changed', 0):,} "
                      f"({t.get('meaning changed', 0) / n:.1%}) | {precision} | {(right + wrong) / n:.3f} |")
    print(f"\n{time.perf_counter() - started:.0f} s", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
