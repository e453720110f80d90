"""The layout a repaired sentence keeps (deidlint.fix.layout): lines not re-wrapped, only a line
that empties goes, white space between words that stay neighbours as it was. Expected outputs
written before the code ran; ``\\ufdd1`` is the placeholder of a removed date."""

from __future__ import annotations

import pytest

from deidlint.fix.layout import Lines, keep_lines

P = "\ufdd1"

CASES = [
    # (original with placeholders, the repair as tidy wrote it, what the sentence becomes)
    (f"Cough with {P}.", "Cough.", Lines("Cough.")),
    (f"unchanged since {P}\n and there is no effusion.", "unchanged\nand there is no effusion.",
     Lines("unchanged\n and there is no effusion.")),
    (f"unchanged since\n {P} and there is no effusion.", "unchanged and there is no effusion.",
     Lines("unchanged\n and there is no effusion.")),
    (f"improved compared to\r\n {P}.", "improved.", Lines("improved.", after="\r\n ")),
    (f"Compared to {P},\n there is new opacity.", "There is new opacity.", Lines("There is new opacity.", before="\n ")),
    (f"smaller than on\n{P}.", "smaller\n.", Lines("smaller.", after="\n")),
    (f"one two\n {P}\n three four.", "one two\nthree four.", Lines("one two\n three four.")),
    (f"sepsis  // eval for {P}", "sepsis // eval", Lines("sepsis  // eval")),
    (f"Dr.\n {P} was paged.", "The referring clinician was paged.", Lines("The referring clinician\n was paged.")),
    (f"compared to\n {P}.", "compared to a prior study.", Lines("compared to\n a prior study.")),
    # White space laid out (a tab) but no line break, and no word kept: there is no break to move
    # (found by tests/test_properties.py as '(\tComparisonComparison{{NAME}}').
    (f"(\t{P}", "(", Lines("(")),
]


@pytest.mark.parametrize(("original", "repaired", "expected"), CASES, ids=[c[0][:30] for c in CASES])
def test_a_repair_keeps_the_original_layout(original: str, repaired: str, expected: Lines) -> None:
    assert keep_lines(original, repaired) == expected
