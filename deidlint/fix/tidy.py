"""The tidy-up after deletions: doubled spaces and punctuation, empty brackets, bare prepositions.

Each rule is a :class:`~deidlint.fix.rewrite.Rewrite` with ``triggers``: substrings that must be
present for it to apply, a cheap ``in`` test that skips most rules for most sentences.
"""

from __future__ import annotations

import regex

from deidlint.fix.rewrite import Example, Rewrite


def _ex(*pairs: tuple[str, str]) -> tuple[Example, ...]:
    return tuple(Example("remove", text, fixed) for text, fixed in pairs)


TIDY: tuple[tuple[tuple[str, ...], Rewrite], ...] = (
    (("(", "["), Rewrite("empty brackets", "`( )` and `[ ]` go", "what they held went",
                         _ex(('Small nodule (XXXX) in the right lung.', 'Small nodule in the right lung.')),
                         r"\(\s*\)|\[\s*\]", "")),
    (("(",), Rewrite("space after '('", "`( x` becomes `(x`", "a deletion at the start of a parenthesis",
                     _ex(('Catheter ( ___ in place) today.', 'Catheter (in place) today.')),
                     r"\(\s+", "(")),
    ((")",), Rewrite("space before ')'", "`x )` becomes `x)`", "a deletion at the end of a parenthesis",
                     _ex(('Tube (in place with ___) today.', 'Tube (in place) today.')),
                     r"\s+\)", ")")),
    ((" .", " ,", " ;", " :", " !", " ?", "\t"),
     Rewrite("space before punctuation", "`x .` becomes `x.`", "a deletion before a stop",
             _ex(('Cough with XXXX.', 'Cough.')),
             # not before a `?` that opens a hedge (`// ? pneumonia`): that one belongs to its word
             r"[ \t]+(?=[.,;:!]|\?(?![ \t]*[A-Za-z]))", "")),
    ((",",), Rewrite("doubled comma", "`, ,` becomes `,`", "a list item between two commas went",
                     _ex(('Cough, MRN ___, seen today.', 'Cough, seen today.')),
                     r",\s*,", ",")),
    ((",", ";"), Rewrite("comma before a stop", "`x, .` becomes `x.`", "the last list item went",
                         # a `?` that opens a hedge (`, ?PNA`) is no stop: it belongs to its word
                         _ex(('Cough, XXXX.', 'Cough.')),
                         r"[,;]\s*(?=[.;:!]|\?(?![ \t]*[A-Za-z])|$)", "")),
    ((":",), Rewrite("colon before a stop", "`Comparison: .` loses its colon", "the colon's value went",
                     _ex(('Abdomen film XXXX: XXXX.', 'Abdomen film.')),
                     r":\s*(?=[.,;]|$)", "")),
    ((".",), Rewrite("doubled full stop", "`x. .` becomes `x.`", "a sentence's last words went",
                     _ex(('A XXXX-year-old man with cough..', 'Man with cough.')),
                     r"(?<=\.)[ \t]*\.(?!\.)", "")),
    ((".",), Rewrite("full stop before a comma", "`x., y` becomes `x. y`", "a deletion between them",
                     _ex(('2., Mild XXXX deformity of a rib.', '2. Mild deformity of a rib.')),
                     r"(?<![ap]\.m|\.\w)\.[ \t]*,", ".")),
    ((" ",), Rewrite("preposition before a preposition", "`with of` loses `with`",
                     "its object went; the next phrase starts",
                     _ex(('Follow-up with Dr. ___ in two weeks.', 'Follow-up in two weeks.')),
                     r"\b(?:with|of|to|from|by|at|on|in|since)\s+(?=(?:for|with|of|to|from|by|at|on|in|and|since)\b)",
                     "")),
    ((" a", "A "), Rewrite("article before a vowel", "`a opacity` becomes `an opacity`",
                            "the deleted word between them began with a consonant",
                            _ex(('There is a XXXX opacity at the left base.', 'There is an opacity at the left base.')),
                            # not before `u` or `one` (`a unilateral`, `a one-time`)
                            r"(?-i:(?:(?<=^A)|(?<=(?<![\w.'-])a))(?=\s+(?!one\b)[aeio][a-z]))", "n")),
    ((" an", "An "), Rewrite("article before a consonant", "`an chest` becomes `a chest`",
                              "the deleted word between them began with a vowel",
                              _ex(('Cough and an XXXX chest pain.', 'Cough and a chest pain.')),
                              # not before `h` or `x` (`an hour`, `an x-ray`), nor capitals (`an NG tube`)
                              r"(?-i:(?:(?<=^A)|(?<=(?<![\w.'-])a))n(?=\s+[b-df-gj-np-tvwyz][a-z]))", "")),
    (("  ", "\t"), Rewrite("doubled space", "runs of spaces become one", "a deletion between two spaces",
                           _ex(('Cough with ___ for two days.', 'Cough for two days.')),
                           r"[ \t]{2,}", " ")),
)
_TIDY = tuple((triggers, rewrite.name, regex.compile(rewrite.pattern, regex.IGNORECASE), rewrite.replacement)
              for triggers, rewrite in TIDY)

#: Words that cannot end a clause: a deletion that leaves one before punctuation takes it too.
_CLAUSE_ENDERS = frozenset("to from of on since at with by and or the a an dated in through for than via per as".split())
_TITLES = frozenset("Dr. Drs. Mr. Mrs. Ms. Miss. Prof.".split())
_STOPS = regex.compile(r"[,.;:!?)]")
_LEADING_JUNK = regex.compile(r"[\s,;:./-]+")

CLAUSE_ENDERS = Rewrite(
    "word that cannot end a clause", "a preposition, article or title left before a stop goes",
    "`Comparison is made to.` is residue: the deletion took the word's object",
                        _ex(('History: cough and XXXX.', 'History: Cough.')))
LEADING_JUNK = Rewrite("leading punctuation", "punctuation and spaces a deletion left at the start go",
                       "a sentence never opens with `, `",
                       _ex(("XXXX, shortness of breath for a week.", "Shortness of breath for a week.")))


def tidy(sentence: str, fired: list[str]) -> str:
    """Remove what deletions leave behind; the names of the rules that acted go to ``fired``."""
    for _ in range(3):
        before = sentence
        if (junk := _LEADING_JUNK.match(sentence)) is not None:
            sentence = sentence[junk.end():]
            fired.append(LEADING_JUNK.name)
        for triggers, name, pattern, repl in _TIDY:
            if any(t in sentence for t in triggers):
                tidied = pattern.sub(repl, sentence)
                if tidied != sentence:
                    fired.append(name)
                    sentence = tidied
        sentence = _drop_clause_enders(sentence, fired)
        if sentence == before:
            break
    return sentence.strip()


def _drop_clause_enders(sentence: str, fired: list[str]) -> str:
    """Drop prepositions, articles and titles left right before punctuation or the end."""
    stops = [m.start() for m in _STOPS.finditer(sentence) if not sentence[m.end():m.end() + 1].isalnum()]
    stops.append(len(sentence))
    for stop in reversed(stops):
        while True:
            head = sentence[:stop].rstrip()
            cut = max(head.rfind(" "), head.rfind("\n")) + 1
            word = head[cut:]
            if not word or (word.lower() not in _CLAUSE_ENDERS and word not in _TITLES):
                break
            sentence = head[:cut].rstrip() + sentence[stop:]
            stop = len(head[:cut].rstrip())
            fired.append(CLAUSE_ENDERS.name)
    return sentence
