"""Repairing report text: every trace goes, every clinical statement keeps its meaning, nothing
is lost in silence.

Naive deletion leaves wreckage (``Comparison to .``, ``discussed with Dr.  by Dr.  at 4:05
p.m. on .``) and wreckage is itself a new trace a model can memorize. So a fix works on
sentences, and only on the sentences that hold a trace; every other sentence of a report is
copied through verbatim, hard wrapping included.

The steps for one report, one module each (data flows down the list):

1. **Kinds** (:mod:`.kinds`). A rule's ``kind`` says what a marker hid. Generic markers
   (``___``, ``XXXX``, ``[REDACTED]``) have kind ``unknown``; their kind is read from the tag's
   own words (``<PERSON>``, ``{{DATE}}``) or from the words around them (``Dr. ___`` is a name,
   ``since ___`` a date, ``___:53`` a time, ``Swan-___`` an ordinary word), using cue tables:
   data, not special cases. A marker whose context says nothing stays ``unknown`` and gets no
   value of any kind.
2. **Strategy** (:mod:`.fixer`). Each trace gets an action: ``remove`` (delete it with its
   grammatical frame), ``neutral`` (category words: ``a prior study``), ``surrogate`` (a fake value
   of the right kind, :mod:`.surrogates`), ``mask`` (one token) or ``restore`` (an over-scrubbed
   ordinary word learnt back from the corpus, :mod:`.restore`; never an identifier). A marker in a
   hedge slot (``XXXX represents atelectasis``) takes the hedge ``likely``.
3. **Sentences** (:mod:`.sentences`, :mod:`.frames`). Traces that are removed or neutralised
   stand as one placeholder character per kind, and an ordered table of frame rewrites runs over
   the sentence (``since <date>`` goes, ``<age>-year-old man`` becomes ``Man``). Every rewrite,
   cue and surrogate form is a record with examples the tests run (:mod:`.rewrite`).
4. **Judgement** (:mod:`.guard`). The repaired sentence must keep the original's meaning, add no
   residue and keep its grammar; otherwise it is unresolved, and goes the way ``--unresolved``
   says (dropped and reported, kept for review, masked). Administrative and comparison-only
   sentences are dropped whole, and a section label whose every sentence went goes too
   (:mod:`.rebuild`).
5. **Statistics** (:mod:`.stats`) and the corpus run over worker processes (:mod:`.run`).

Sentence boundaries come from a rule-based splitter tuned to radiology reports (section
headers, numbered impressions, ``Dr.``, ``a.m.``/``p.m.``), run only over the paragraphs that
hold a trace. spaCy's ``sentencizer`` can find the boundaries instead (``segmenter="spacy"``):
it is imported on first use and run with ``nlp.pipe`` over those paragraphs only, and section
headers and list numbers are split off by the same rules. It was measured too slow to be the
default: a blank English pipeline segments about 4,000 whole reports/s on this machine and
takes 4-7 s to import, while the whole fix aims at 20,000 reports/s.
"""

from deidlint.fix.fixer import Fixer, fix_text, fix_texts
from deidlint.fix.kinds import classify
from deidlint.fix.restore import SYNONYMS, ContextKey, RestoreModel
from deidlint.fix.sentences import Segmenter, sentence_units
from deidlint.fix.stats import Drop, FixStats

__all__ = [
    "SYNONYMS",
    "ContextKey",
    "Drop",
    "FixStats",
    "Fixer",
    "RestoreModel",
    "Segmenter",
    "classify",
    "fix_text",
    "fix_texts",
    "sentence_units",
]
