"""The ``remove`` frames: each deletes a trace together with the words that only made sense with it.

They run in order over a sentence whose removed traces stand as placeholders (``{A}`` an age,
``{N}`` a name, ``{WHEN}`` a run of dates and times, :func:`~deidlint.fix.kinds.compile_frame`);
what is left is tidied (:mod:`.tidy`). Order matters: a specific frame (``age: ___``) runs
before the general one that would leave its label behind.
"""

from __future__ import annotations

import regex

from deidlint.fix.rewrite import Example, Rewrite

_NOUN_OF_TITLE = {"mr": "man", "mrs": "woman", "ms": "woman", "miss": "woman"}


def _patient_noun(m: regex.Match[str]) -> str:
    return (m.group("noun") or _NOUN_OF_TITLE[m.group("title").lower()]) + " "


def sex(m: regex.Match[str]) -> str:
    """``M`` or ``F`` after an age, as a word."""
    return "male" if m.group(1) == "M" else "female"


#: Modifiers whose noun a scrubber took inside a conjunction (``The aorta and osseous XXXX are
#: normal``): the conjunct goes whole, and the verb agrees with what is left.
#: The guard knows the marker after one for no orphaned head noun, since this rewrite takes both.
CONJUNCT_MODIFIERS = r"(?i:pulmonary|osseous|bony|soft[ -]tissue|cardiac|mediastinal|hilar|costophrenic)"
_SINGULAR_VERB = {"are": "is", "appear": "appears", "remain": "remains", "have": "has"}
#: The rewrites that take a conjunct whole: the sentence stays, shorter by what the conjunct said,
#: and the fix reports it (``shortened``), so that nothing goes in silence.
CONJUNCT_REWRITES = frozenset({"conjunct without its noun", "leading conjunct without its noun"})
#: Where a conjunct's noun phrase ends: the marker was its head, not a modifier of the next word
#: (``pneumothorax or costophrenic XXXX blunting`` has no conjunct to take whole).
_CONJUNCT_END = r"(?=\s*(?:[.,;:)]|$)|\s+(?:and|or|are|appear|remain|have|is|appears|remains|has|otherwise)\b)"
#: Where a list's first conjunct starts: not after a modifier of its own (``calcified left hilar
#: XXXX and left granuloma`` is no list of ``hilar XXXX`` and ``left``).
_LIST_HEAD = r"(?:(?<=^)|(?<=[.:;,(]\s*)|(?<=\b(?i:the|a|an|and|or|of|with|normal)\s+))"


def _conjunct_gone(m: regex.Match[str]) -> str:
    noun, verb, adverb = m.group("noun"), m.group("verb"), m.group("adverb") or ""
    if verb is None:
        return noun + adverb
    plural = noun.lower().endswith("s") and not noun.lower().endswith(("ss", "us", "is"))
    return f"{noun}{adverb} {verb if plural else _SINGULAR_VERB[verb.lower()]}"


#: Words after a marker that do not make it a modifier of what follows (``seen in XXXX is``).
_FUNCTION_WORDS = ("is|are|was|were|be|been|and|or|but|has|have|had|which|that|who|as|than|there|here|then|also|now|"
                   "at|on|in|with|without|within|to|for|from|by|of|over|under|into|onto|through|across|above|below|"
                   "behind|along|near|the|a|an|this|these|those|its|their|his|her|some|any|all|both|each|several|"
                   "multiple|no|not|one|two|three|four|five|may|might|can|could|would|should|will|must|do|does|did|"
                   "seen|shown|done|made|given|taken|known|shows|reveals|demonstrates|appears|remains|measures")
#: A participle or an adverb after a marker starts a new phrase (``with XXXX presenting with``,
#: ``at XXXX partially accentuated``); the nouns that end like one (``scarring``, ``anomaly``) do not.
_VERB_FORM = (r"[a-z]+(?:ing|ed|ly)\b(?<!scarring|thickening|narrowing|widening|blunting|crowding|tenting|bowing|"
              r"clouding|bleeding|anomaly|family|assembly)")


#: After a date: not a noun it modifies (``seen on ___ scan``: the marker dated, or was, the scan).
_NO_NOUN_AFTER = (rf"(?!\s+(?!(?:{_FUNCTION_WORDS}|today|tonight|yesterday|earlier|later|again|previously)\b|"
                  rf"{_VERB_FORM})[a-z][a-z-]+\b)")


def _exam_heading(m: regex.Match[str]) -> str:
    """What a comparison opener leaves: nothing, or the exam before it, as a heading when a colon or
    comma closed the comparison (``AP chest: the tube ...``) and as the subject when none did
    (``Portable chest shows ...``)."""
    exam = m.group("exam")
    if not exam:
        return ""
    return exam.rstrip() + (": " if m.group("colon") else " ")


def _ex(*pairs: tuple[str, str]) -> tuple[Example, ...]:
    return tuple(Example("remove", text, fixed) for text, fixed in pairs)


REMOVE_FRAMES: tuple[Rewrite, ...] = (
    # -- ages: "___-year-old man with fever" -> "Man with fever"
    Rewrite("titled patient's age", "`Mr. ___ is a ___-year-old man` becomes `Man`",
            "the title and the age's noun say who the patient is; the name and the age go",
            _ex(('Mr. ___ is a ___-year-old man with fever.', 'Man with fever.')),
            r"\b(?P<title>Mr|Mrs|Ms|Miss)\.?\s+{N}(?:\s+{N})*\s+is\s+an?\s+{A}[ -]?(?:years?|yrs?)[ -]?old\b\s*"
            r"(?:(?P<noun>man|woman|male|female|patient|gentleman|lady)\b\s*)?", _patient_noun),
    Rewrite("age after 'is'", "`is a ___-year-old` becomes `is a`",
            "the article stays for the noun that follows (`is a woman`)",
            _ex(('The patient is a ___-year-old woman with cough.', 'The patient is a woman with cough.')),
            r"\b(is|was)\s+an?\s+{A}\s?[ -]?(?:years?|yrs?)[ -]?old\b\s*", r"\1 a "),
    Rewrite("age opening a clause before 'with'", "`___-year-old with` at a clause start becomes `patient with`, "
            "also across a marker of no known kind that goes the remove way (`___-year-old ___ with`)",
            "an age used as a noun: without one the sentence opens with `with`",
            _ex(('___-year-old with chest pain.', 'Patient with chest pain.'),
                ('___-year-old ___ with fever after a fall.', 'Patient with fever after a fall.')),
            r"(?<![\w ]\s)(?<!\w){A}[ -]?(?:years?|yrs?)[ -]?old\s+(?:{U}\s+)?(?=with\b)", "patient "),
    Rewrite("age", "`(a) ___-year-old` goes", "the noun after it (`man`, `female`) carries the sentence",
            _ex(('A ___-year-old man with cough.', 'Man with cough.')),
            r"(?:\ban?\s+)?{A}\s?[ -]?(?:years?|yrs?)[ -]?old\b[ -]?", ""),
    Rewrite("age as y/o", "`___ y/o` and `___yo` go", "the abbreviated age, as `___-year-old`",
            _ex(('History: ___ y/o woman, cough.', 'History: Woman, cough.')),
            r"{A}\s?(?:y/?o|yo|y\.o\.)(?![a-z])\s*", ""),
    Rewrite("age and sex", "`___M` becomes `male`", "the sex is no identifier and says what the letter meant",
            _ex(('History: ___M with cough.', 'History: Male with cough.')), r"{A}\s?(M|F)\b", sex),
    Rewrite("patient's name as subject", "`Mr. ___ is` becomes `the patient is`",
            "the name is the sentence's subject: something must stand in its place",
            _ex(('Mr. ___ has a cough.', 'The patient has a cough.')),
            r"(?:\b(?:Mr|Mrs|Ms|Miss)\.?\s+|^){N}(?:\s+{N})*(?=\s+(?:is|was|has|had|presents|presented|reports)\b)",
            "the patient"),
    # -- places
    Rewrite("place after a preposition", "`at ___` (a place) goes, with the noun of its kind (`at ___ Hospital`) "
            "and a participle that said only where (`performed at`)",
            "the preposition made sense only with it, and `Hospital` only with its name; a transfer stays a transfer",
            _ex(('Patient transferred from ___ for evaluation of pneumonia.', 'Patient transferred for evaluation of pneumonia.'),
                ('A CT from ___ Hospital shows a mass.', 'A CT shows a mass.'),
                ('Mass seen on a CT performed at ___ Hospital.', 'Mass seen on a CT.')),
            r"\s*\b(?:(?:performed|obtained|done)\s+)?(?:from|at|in|to|of)\s+(?:the\s+|an?\s+)?{PLACE}", ""),
    # -- numbers: ids, pagers, phones, e-mail addresses
    Rewrite("number in parentheses", "`(pager ___)` goes", "the parentheses held nothing else",
            _ex(('Line placed (tel <PHONE_NUMBER>) for access.', 'Line placed for access.')),
            r"\s*\(\s*(?:pager|beeper|tel|phone|ext\.?)?\s*[#:]?\s*{I}\s*\)", ""),
    Rewrite("number after its label", "`accession number ___` goes", "a label without its value",
            _ex(('Cough, accession number ___, no effusion.', 'Cough, no effusion.')),
            r"\b(?:accession|clip|order|record|mrn|medical record|pager|beeper|phone|telephone|fax)"
            r"(?:\s+(?:number|no\.?|#))?\s*[#:]?\s*{I}", ""),
    Rewrite("number after a preposition", "`at ___` (a number) goes", "the preposition made sense only with it",
            _ex(('Results to the office at <PHONE_NUMBER> today.', 'Results to the office today.')),
            r"\b(?:at|on|to|via|or)\s+{I}", ""),
    # -- names
    Rewrite("titled name", "`Dr. ___` and `___, RN` go with the title", "a title without its name is residue",
            _ex(('Line placed by Dr. ___ for access.', 'Line placed for access.')),
            r"\b(?:Dr|Drs|Mr|Mrs|Ms|Miss|Prof|Nurse)\.?\s+{N}(?:\s+{N})*(?:\s*,\s*(?:RN|MD|NP|PA-C|DO)\b)?",
            ""),
    Rewrite("name", "a name goes, with a degree after it", "a degree without its name is residue",
            _ex(('Line placed by ___, MD for access.', 'Line placed for access.')),
            r"{N}(?:\s+{N})*(?:\s*,\s*(?:RN|MD|NP|PA-C|DO)\b)?", ""),
    # -- dates: comparison openers go whole, never becoming a claim that no prior exists
    Rewrite("comparison opener", "`Compared to ___:` opening a sentence goes whole (`Compared to the radiograph "
            "obtained on ___,` and a dated `Compared to the [**2150-3-4**] film,` too), and so does a run of "
            "them; the exam before it (`AP chest compared to ___:`) is not the comparison's and stays",
            "a comparison without its date says nothing, and must never turn into `No prior`; the exam "
            "is the image this report describes, and its projection (AP, PA) shows in the image",
            _ex(('Compared to chest radiographs ___: no change.', 'No change.'),
                ('AP chest compared to ___: Compared to ___, ___:52 a.m.: no effusion.', 'AP chest: No effusion.'),
                ('Portable chest compared to ___ shows no change.', 'Portable chest shows no change.'),
                ('Compared to the radiograph obtained on ___, the effusion is smaller.', 'The effusion is smaller.'),
                ('Compared to the [**2150-3-4**] chest film, the effusion is smaller.', 'The effusion is smaller.')),
            r"^(?P<exam>(?:AP|PA|portable|frontal|upright)\s+chest\s+)?(?:(?:as\s+)?(?:compared\s+(?:to|with)|"
            r"comparison\s+(?:to|with)|in\s+comparison\s+(?:to|with))\s+(?:(?:the\s+)?(?:study|studies|exam|"
            r"examination|radiographs?|films?)\s+(?:(?:obtained|taken|performed|done)\s+(?:at|on)|of|from|dated|on)\s+|"
            r"(?:chest\s+)?(?:radiographs?|studies|films?)\s+|the\s+(?=[{D}]))?{WHEN}(?:\s+(?:chest\s+)?(?:radiographs?|study|studies|"
            r"films?|exams?|examinations?)\b)?\s*(?P<colon>[:,]?)\s*)+", _exam_heading),
    Rewrite("comparison inside a sentence", "`unchanged compared to ___` loses the comparison whole, and a "
            "comparison set off by commas loses both (`The heart, compared to ___, is`)",
            "never `unchanged compared.` nor `The heart, is`; a comparison with a named earlier exam (`the prior "
            "study of ___`) is not this frame's: it keeps its exam and loses its date alone",
            _ex(('The effusion is unchanged compared to ___.', 'The effusion is unchanged.'),
                ('The effusion, compared to ___, is smaller.', 'The effusion is smaller.')),
            r"\s*(?P<comma>,)?\s*\b(?:as\s+)?(?:compared|in\s+comparison)\s+(?:to|with)\s+(?:(?:the\s+)?(?:study|"
            r"studies|exam|examination|radiographs?|films?)\s+(?:of|from|dated|on)\s+)?{WHEN}(?(comma),(?=\s))?", ""),
    Rewrite("than on a date", "`than on ___` goes whole, with a time written after the date",
            "a comparative in a report is read against the prior study without its second term (`larger.`); "
            "never `larger than and`, and no word is written that the report did not have",
            _ex(('The effusion is larger than on ___ and there is edema.', 'The effusion is larger and there is edema.'),),
            r"\s*\bthan\s+(?:on|in|at)\s+{WHEN}", ""),
    Rewrite("similar to a date", "`similar to ___` becomes `similar to prior`",
            "a likeness needs what it is like: `similar.` says nothing of time, `similar to prior` is how "
            "reports say it",
            _ex(('The opacity is similar to ___.', 'The opacity is similar to prior.')),
            r"\bsimilar\s+to\s+{WHEN}", "similar to prior"),
    Rewrite("most recently", "`, most recently ___` goes", "a list of dates loses its last one with its words",
            _ex(('Compared with studies ___ and ___, most recently ___, no change.', 'No change.')),
            r"\s*,?\s*(?:and\s+)?most\s+recently\s+(?:on\s+)?{WHEN}", ""),
    Rewrite("event date in parentheses", "`(placed ___)` goes whole", "the parentheses held the date alone",
            _ex(('Left PICC (placed ___) terminates in the SVC.', 'Left PICC terminates in the SVC.')),
            r"\s*\(\s*(?:placed|inserted|removed)\s+(?:on\s+)?{WHEN}\s*\)", ""),
    Rewrite("negated 'seen on' a date", "`not seen on ___` becomes `not seen previously`",
            "`not seen` alone would deny the finding; one word keeps it new",
            _ex(('An opacity, not seen on ___, may be pneumonia.', 'An opacity, not seen previously, may be pneumonia.')),
            r"\b((?i:not|never)\s+(?i:seen|present|visible|identified|evident|demonstrated))\s+(?i:on|in)\s+"
            rf"(?:the\s+)?{{WHEN}}{_NO_NOUN_AFTER}", r"\1 previously"),
    Rewrite("'seen on' a date", "`seen on ___` after a finding goes whole", "the participle only said when it was seen",
            _ex(('The nodule seen on ___ is smaller.', 'The nodule is smaller.')),
            r"(?<!\b(?i:not|never|longer|no|well))\s+(?i:seen|noted|demonstrated|present)\s+(?i:on|in)\s+(?:the\s+)?"
            rf"{{WHEN}}{_NO_NOUN_AFTER}", ""),
    Rewrite("exam of a date after a preposition", "`since the study of ___` goes whole",
            "`since the study` names no study; an exam named as an earlier one (`since the prior study of ___`) "
            "keeps its words and loses the date alone",
            _ex(('The tube has been withdrawn by 2 cm since the study of ___.', 'The tube has been withdrawn by 2 cm.'),),
            r"\s*\b(?:since|from)\s+(?:the|a)\s+(?:study|exam|examination|radiograph|film)s?\s+(?:of|from|dated|on)\s+"
            r"{WHEN}", ""),
    Rewrite("date after its label", "`Date: ___` goes with its label where the value ends the sentence or its "
            "line, or the next label follows (a one-line export's `Date: ___ PM Indication: ...`)",
            "a label without its value is residue (`Date: Indication:`)",
            _ex(('Exam: PA chest Date: ___ Indication: Cough.', 'Exam: PA chest Indication: Cough.')),
            r"(?-i:\b[A-Z][a-z]+(?:\s+[a-z]+)?):\s*{WHEN}(?=\s+(?-i:[A-Z][a-z]+(?:\s+[a-z]+)?):|[ \t]*\n|\s*[.;]?\s*$)", ""),
    Rewrite("date after a preposition", "`since ___` goes", "the preposition made sense only with it",
            _ex(('Since ___ the effusion has grown.', 'The effusion has grown.')),
            r"\b(?:since|from|dated|on|of|through|to|until|before|after|prior\s+to|as\s+of|at)\s+(?:the\s+)?"
            rf"{{WHEN}}{_NO_NOUN_AFTER}", ""),
    Rewrite("date", "a date or a run of dates and times goes", "nothing else was said of it",
            _ex(('Radiographs ___, ___ show no change.', 'Radiographs show no change.')), r"{WHEN}", ""),
    # -- ordinary words that could not be restored
    Rewrite("port without its eponym", "`Port-A-___` becomes `port`",
            "the scrubber took the device's name (Port-A-Cath), not the device: it is still a port, never `Port-`",
            _ex(('A right-sided Port-A-___ ends in the SVC.', 'A right-sided port ends in the SVC.')),
            r"\b(?i:port)-A-{W}", "port"),
    Rewrite("glued word", "`Swan-___` goes whole", "half a compound word is residue",
            _ex(('A Swan-___ catheter ends in the right atrium.', 'A catheter ends in the right atrium.')),
            r"[A-Za-z][\w]*-{W}|{W}-[A-Za-z][\w-]*", ""),
    Rewrite("slash-joined word", "`dyspnea/XXXX` becomes `dyspnea`",
            "the other half of an either-or went: the slash goes with it, never `dyspnea/`",
            _ex(('Cough and dyspnea/XXXX for a week.', 'Cough and dyspnea for a week.')),
            # two letters at least: `w/XXXX` is `with XXXX`, and `XXXX/11` a date's day
            r"(?<=[A-Za-z]{2})\s*/\s*{X}|{X}\s*/\s*(?=[A-Za-z]{2})", ""),
    Rewrite("conjunct without its noun", "`The aorta and osseous XXXX are normal` becomes `The aorta is normal`",
            "the modifier lost its noun: the conjunct goes whole and the verb agrees with what is left",
            _ex(('The aorta and osseous XXXX are normal in caliber.', 'The aorta is normal in caliber.'),
                ('The aorta and osseous XXXX otherwise appear normal.', 'The aorta otherwise appears normal.')),
            rf"\b(?P<noun>[A-Za-z]+)(?:,?\s+(?:and|or)\s+|\s*,\s*){CONJUNCT_MODIFIERS}\s+{{W}}{_CONJUNCT_END}(?P<adverb>\s+otherwise)?"
            r"(?:\s+(?P<verb>are|appear|remain|have)\b)?", _conjunct_gone),
    Rewrite("leading conjunct without its noun", "`The osseous XXXX and aorta are normal` becomes "
            "`The aorta is normal`",
            "the modifier lost its noun at the head of a list: that conjunct goes whole, never `The osseous and`",
            _ex(('The osseous XXXX and aorta are normal in size today.', 'The aorta is normal in size today.')),
            rf"{_LIST_HEAD}\b{CONJUNCT_MODIFIERS}\s+{{W}}\s+(?:and|or)\s+(?P<noun>[A-Za-z]+)(?P<adverb>\s+otherwise)?"
            r"(?:\s+(?P<verb>are|appear|remain|have)\b)?",
            _conjunct_gone),
    Rewrite("time ago without its unit", "`x 6 XXXX ago` goes whole",
            "the unit went with the marker; `6 ago` says nothing, and the finding it dated stays",
            _ex(('History of effusions x 6 XXXX ago, now dyspnea.', 'History of effusions, now dyspnea.'),
                ('Man, 2 XXXX ago, rib pain.', 'Man, rib pain.')),
            r"(?:\s+x)?\s*,?\s+\d+\s+{X}\s+ago\b", ""),
    Rewrite("span of time without its unit", "`for one XXXX` at a sentence's end goes whole",
            "the unit went with the marker (`week`, `month`); `for one` says nothing, the symptom stays",
            _ex(('Left-sided chest pain for one XXXX.', 'Left-sided chest pain.'),),
            r"\s*\b(?:for|since|over|in)\s+(?:the\s+)?(?:one|a|few|several|last|past|\d+)\s+{U}(?=\s*(?:[.,;:]|$))", ""),
    Rewrite("decimal without its fraction", "`9.___ cm` becomes `approximately 9 cm`",
            "the scrubber took the decimals, not the measurement: its whole part stays, marked approximate, "
            "and no digit is invented",
            _ex(('The tube tip is 9.___ cm above the carina.', 'The tube tip is approximately 9 cm above the carina.')),
            r"(?<![\d.])(\d{1,3})\.{W}(?=\s*(?:mm|cm)\b)", r"approximately \1"),
    Rewrite("measurement", "`___ mm` goes", "a unit without its number is residue",
            _ex(('A ___ mm nodule in the left lung.', 'A nodule in the left lung.')),
            r"{W}\s*(?:mm|cm)\b", ""),
    Rewrite("'there are no' without its noun", "`There are no XXXX of a small effusion` becomes `There is no small effusion`",
            "`are` agreed with the noun that went (Open-I's scrubber took `signs`); what is left is one finding after "
            "`a`, or a short phrase whose last word is no plural",
            _ex(('There are no XXXX of a small effusion.', 'There is no small effusion.'),
                ('There are no XXXX of acute lobar consolidation.', 'There is no acute lobar consolidation.')),
            r"\b(?P<there>[Tt]here)\s+are\s+no\s+{W}\s+of\s+(?:an?\s+|(?=(?:[A-Za-z-]+\s+){0,3}[A-Za-z-]*[^s\s.,;:]\s*[.;:]))",
            r"\g<there> is no "),
    Rewrite("'no' before 'of'", "`no ___ of a` becomes `no`", "`There are no ___ of effusion` says `no effusion`",
            _ex(('No XXXX of a pleural effusion.', 'No pleural effusion.')),
            r"\b(no)\s+{W}\s+of\s+(?:an?\s+|the\s+)?", r"\1 "),
    Rewrite("article before 'of'", "`the ___ of the` becomes `the`", "the head noun went; its complement heads",
            _ex(('The XXXX of the lungs look clear on this film.', 'The lungs look clear on this film.')),
            r"\b(the|a|an)\s+{W}\s+of\s+(?:the\s+)?", r"\1 "),
    Rewrite("'evidence' without its 'of'", "`no evidence XXXX fracture` becomes `no evidence of fracture`",
            "whatever the marker was, `evidence` needs its `of`; the finding keeps its negation",
            _ex(('Spondylosis with no evidence XXXX fracture.', 'Spondylosis with no evidence of fracture.')),
            r"\b(evidence)\s+[{U}{W}]\s+(?!(?:of|for)\b)(?=[a-z])", r"\1 of "),
    # -- markers whose kind stayed unknown
    Rewrite("history of an unnamed disease", "`with history of ___ disease` goes whole",
            "the scrubber took the eponym (Crohn, Hodgkin): `history of disease` names nothing, and the corpus "
            "names a different disease each time, so none is guessed",
            _ex(('Patient with history of ___ disease and new cough.', 'Patient with new cough.'),
                ('Woman with history of ___ disease presenting with cough.', 'Woman presenting with cough.')),
            r"(?P<with>\bwith\s+)?(?:a\s+)?\b(?i:history|hx)\s+of\s+[{U}{W}]\s+(?i:disease|syndrome)\b(?P<and>\s+and\b)?",
            lambda m: (m.group("with") or "") if m.group("and") else ""),
    Rewrite("clinical setting", "`in the setting of XXXX` goes whole",
            "the setting went with its marker; what the sentence says of the image stays",
            _ex(('Opacity which in the setting of XXXX is concerning for pneumonia.',
                 'Opacity which is concerning for pneumonia.')),
            r"\s*,?\s*\bin\s+the\s+(?:clinical\s+)?setting\s+of\s+[{U}{W}](?:\s+[{U}{W}])*,?", ""),
    Rewrite("unknown in a list after 'with'", "`woman with XXXX and vomiting` keeps its `with`",
            "the list goes on after the marker; `w/` is `with`, never left as `w/,`",
            _ex(('Woman with XXXX and vomiting.', 'Woman with vomiting.'), ('Man w/ XXXX, cough.', 'Man w/ cough.')),
            r"(\b(?:with|of|for)(?=\s)|\bw/)\s*{U}(?:\s*,\s*|\s+and\s+)(?=[a-z])", r"\1 "),
    Rewrite("unknown after a preposition", "`with XXXX` goes, unless a noun follows the marker",
            "the preposition made sense only with it; before a noun (`evidence of XXXX deformity`) the marker "
            "was a modifier and the preposition belongs to the noun",
            _ex(('A nodule seen in XXXX is unchanged.', 'A nodule seen is unchanged.'),
                ('Woman w/ XXXX.', 'Woman.')),
            # `at XXXX` goes whole even before a noun: Open-I's `at XXXX the right ribs` hid `least`
            rf"\bat\s+{{U}}|(?:\b(?:from|on|of|to|by|with|in|for)\s+|\bw/\s*){{U}}(?!\s+(?!(?:{_FUNCTION_WORDS})\b|{_VERB_FORM})"
            r"[a-z][a-z-]+\b)", ""),
    Rewrite("any marker", "whatever marker is left goes, an ordinary word the corpus could not restore too",
            "the guard judges what is left", _ex(("Cough, XXXX.", "Cough."), ("No XXXX effusion.", "No effusion."),
                                                  ("Without evidence of XXXX thickening.", "Without evidence of thickening.")),
            r"{X}", ""),
)
