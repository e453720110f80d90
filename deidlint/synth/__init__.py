"""Deterministic synthetic chest X-ray reports with ground-truth de-identification traces.

Real report corpora (MIMIC-CXR, Open-I) may not be redistributed or derived from, yet a linter
for de-identification traces needs data whose traces are known exactly: every marker's offsets,
what kind of value it hid, and the value itself. This module writes such data. Each report reads
like a real chest radiograph report (sections, varied phrasing, hard wrapping), and its traces sit
in the contexts where real scrubbers leave them (see ``shared/notes/trace-contexts.md``):
comparison dates, communication sentences, ages in the indication, partly scrubbed times, and
ordinary clinical words a scrubber took for names (``Swan-___``, ``x-XXXX``). Reports also carry
look-alikes that are *not* traces (signature underscores, ``x-ray``, ``< 5 mm``, ``C5-C6``,
``ORD_2023_0411``, bold headers), so a linter's precision can be measured as well as its recall.

The package is laid out by concern: :mod:`~deidlint.synth.templates` (the template language),
:mod:`~deidlint.synth.vocabulary` and :mod:`~deidlint.synth.sentences` (what reports say),
:mod:`~deidlint.synth.families` (what each scrubber leaves), :mod:`~deidlint.synth.builder` and
:mod:`~deidlint.synth.sections` (drawing a report), :mod:`~deidlint.synth.report` (laying it out)
and :mod:`~deidlint.synth.writing` (datasets on disk).

Speed matters because benchmarks generate MIMIC-CXR-sized sets (227,835 reports): every template
is expanded and parsed once at import, and a report is assembled from ready-made strings with
one random draw per choice.
"""

from deidlint.synth.families import FAMILIES
from deidlint.synth.report import KINDS, STYLES, Span, SyntheticReport, generate
from deidlint.synth.writing import write_dataset, write_ground_truth

__all__ = [
    "FAMILIES",
    "KINDS",
    "STYLES",
    "Span",
    "SyntheticReport",
    "generate",
    "write_dataset",
    "write_ground_truth",
]
