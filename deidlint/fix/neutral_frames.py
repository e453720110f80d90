"""The ``neutral`` frames: category words in place of the value (``Dr. ___`` -> ``the referring clinician``).

They run before the ``remove`` frames; kinds without a sensible category word (times, numbers,
markers of unknown kind) are then removed by those.
"""

from __future__ import annotations

import regex

from deidlint.fix.kinds import ANY_PLACEHOLDER, PLACE_NOUN, PLACEHOLDER
from deidlint.fix.remove_frames import sex
from deidlint.fix.rewrite import Example, Rewrite


def _when_phrase(m: regex.Match[str], single: str, several: str) -> str:
    return several if m.group(0).count(PLACEHOLDER["date"]) > 1 else single


def _neutral_age(m: regex.Match[str]) -> str:
    return f"{m.group(1)}n adult" if m.group(1) else "adult"


#: The nouns that name an exam, shared by the two rewrites below.
_EXAM_HEAD = r"radiographs?|films?|x-rays?|ct|scans?|exams?|examinations?|studies"
#: What a date may stand before as the exam it dated (``___ chest radiograph``, ``___ PA and lateral``).
_EXAM_NOUN = rf"(?i:{_EXAM_HEAD}|chest|pa|ap|portable|frontal|upright|study|cxr|mri|views?)"


def _prior_exam(m: regex.Match[str]) -> str:
    """``prior`` before the exam, after the determiner or preposition it had: no article is added,
    since the exam's head noun may be plural (``since prior PA and lateral films``)."""
    lead = m.group("det") or m.group("prep")
    return f"{lead} prior " if lead else "prior "


#: An exam named by its modifiers and its noun: ``PA and lateral chest radiographs``, ``two view
#: chest radiograph``, ``chest CT scan``.
_EXAM_MODIFIERS = r"(?:(?:chest|portable|frontal|upright|pa|ap|lateral|single|two|one|ct)(?:\s+(?:and|view|views))?\s+)*"
_EXAM_RUN = rf"{_EXAM_MODIFIERS}(?:{_EXAM_HEAD})"


def _prior_exam_of(m: regex.Match[str]) -> str:
    """``prior`` before an exam whose date went: ``a prior`` after a preposition or determiner when
    the exam is one (``on a prior CT``), ``prior`` alone before several or at a phrase's start, and
    nothing new where the words before already say it (``previous CT scan ___``)."""
    exam = m.group("exam")
    if m.group("prior"):
        return exam
    if not exam.split()[0].isupper():
        exam = exam[0].lower() + exam[1:]
    several = exam.lower().endswith("s") or m.group(0).count(PLACEHOLDER["date"]) > 1
    if m.group("det") or m.group("prep"):
        return f"{'prior' if several else 'a prior'} {exam}"
    return f"prior {exam}"


#: Words before an exam's noun that are not its modifiers (``compared to radiograph dated ___``).
_NOT_MODIFIER = regex.compile(r"(?i:to|with|on|from|since|than|of|in|and|or|is|are|was|were|for|at|by|versus|vs)")
#: The word before an exam, or a removed word's placeholder (``an upright XXXX film``: a modifier too).
_LAST_WORD = regex.compile(rf"([A-Za-z][\w-]*|{ANY_PLACEHOLDER})\s*$")


def _study_of(m: regex.Match[str]) -> str:
    """The exam whose date went: as written where a word before it says it is an earlier one, or
    where modifiers before it name the exam (``Upright chest film dated ___``: a category
    in the noun's place would leave ``Upright chest a prior study``); else the date's category."""
    if m.group("prior"):
        return f"{m.group('det') + ' ' if m.group('det') else ''}{m.group('prior')}{m.group('exam')}"
    if not m.group("det"):
        before = _LAST_WORD.search(m.string, 0, m.start())
        if before is not None and not _NOT_MODIFIER.fullmatch(before.group(1)):
            return m.group("exam")
    return _when_phrase(m, "a prior study", "prior studies")


def _ex(*pairs: tuple[str, str]) -> tuple[Example, ...]:
    return tuple(Example("neutral", text, fixed) for text, fixed in pairs)


def _role(m: regex.Match[str]) -> str:
    """The role alone; opening its sentence it takes the article the name had stood in for."""
    role = m.group(1)
    if m.string[:m.start()].strip() or not role[:1].isupper():
        return role
    return "The " + role[0].lower() + role[1:]


#: Verbs of telling someone a result: their sentence's dates and its radiologist are no finding's.
#: The repair sees one sentence at a time, so the look back may cross a title's stop (``Dr.``).
_TOLD = (r"(?<=\b(?i:discussed|communicated|conveyed|relayed|paged|notified|called|telephoned|informed|reported|"
         r"spoke|spoken)\b[^;]*?)")


NEUTRAL_FRAMES: tuple[Rewrite, ...] = (
    Rewrite("neutral: clinician's name after the role", "`referring physician, ___` and `the covering resident, "
            "Dr. ___,` become the role alone", "the role already says who: never `the covering resident, the "
            "referring clinician,`",
            _ex(('The referring physician ___ was paged.', 'The referring physician was paged.'),
                ('Referring physician, ___ ___ was paged.', 'The referring physician was paged.'),
                ('Findings were told to the covering resident, Dr. ___, at noon.',
                 'Findings were told to the covering resident at noon.')),
            r"\b((?:referring|covering|on-call|treating|primary)\s+(?:physician|clinician|provider|resident|fellow|"
            r"attending|doctor|nurse|team))(?P<comma>\s*,)?\s+(?:(?:Dr|Drs)\.?\s+)?{N}(?:\s+{N})*(?(comma)\s*,(?=\s))?",
            _role),
    Rewrite("neutral: the radiologist who told", "`discussed with Dr. ___ by Dr. ___` loses `by Dr. ___`",
            "the one who discussed the findings is the report's radiologist: `by the radiologist` says nothing",
            _ex(('Findings were discussed with Dr. ___ by Dr. ___ by telephone.',
                 'Findings were discussed with the referring clinician by telephone.'),),
            rf"{_TOLD}\s+by\s+(?:(?:Dr|Drs|Prof)\.?\s+)?{{N}}(?:\s+{{N}})*(?:\s*,\s*(?:MD|DO)\b)?", ""),
    Rewrite("neutral: by a doctor", "`by Dr. ___` becomes `by the radiologist`",
            "in a report, the one who did or read something is the radiologist",
            _ex(('The line was placed by Dr. ___ today.', 'The line was placed by the radiologist today.')),
            r"\bby\s+(?:(?:Dr|Drs|Prof)\.?\s+)?{N}(?:\s+{N})*(?:\s*,\s*(?:MD|DO)\b)?", "by the radiologist"),
    Rewrite("neutral: doctor", "`Dr. ___` becomes `the referring clinician`", "the doctor a report names is told the result",
            _ex(('Findings discussed with Dr. ___ today.', 'Findings discussed with the referring clinician today.')),
            r"\b(?:Dr|Drs|Prof)\.?\s+{N}(?:\s+{N})*(?:\s*,\s*(?:MD|DO)\b)?", "the referring clinician"),
    Rewrite("neutral: titled patient", "`Mr. ___` becomes `the patient`", "a lay title names the patient",
            _ex(('Mrs. ___ reports cough.', 'The patient reports cough.')),
            r"\b(?:Mr|Mrs|Ms|Miss)\.?\s+{N}(?:\s+{N})*", "the patient"),
    Rewrite("neutral: nurse", "`___, RN` becomes `the nurse`", "the degree says the role",
            _ex(('Findings discussed with ___, RN today.', 'Findings discussed with the nurse today.')),
            r"{N}(?:\s+{N})*\s*,\s*(?:RN|NP)\b", "the nurse"),
    Rewrite("neutral: name", "any other name becomes `the referring clinician`",
            "names in radiology reports are of the clinicians told",
            _ex(('Findings discussed with ___ today.', 'Findings discussed with the referring clinician today.')),
            r"{N}(?:\s+{N})*", "the referring clinician"),
    Rewrite("neutral: age", "`a ___-year-old` becomes `an adult`", "the category of an age",
            _ex(('History: a ___-year-old man with cough.', 'History: An adult man with cough.')),
            r"(?:\b(a|A)n?\s+)?{A}\s?[ -]?(?:years?|yrs?)[ -]?old\b", _neutral_age),
    Rewrite("neutral: age as y/o", "`___ y/o` becomes `adult`", "the abbreviated age, as `___-year-old`",
            _ex(('History: ___ y/o woman with cough.', 'History: Adult woman with cough.')),
            r"{A}\s?(?:y/?o|yo|y\.o\.)(?![a-z])", "adult"),
    Rewrite("neutral: age and sex", "`___M` becomes `adult male`", "the age's category and the sex",
            _ex(('History: ___M with cough.', 'History: Adult male with cough.')),
            r"{A}\s?(M|F)\b", lambda m: "adult " + sex(m)),
    Rewrite("neutral: place before its noun", "`___ Hospital` becomes `an outside hospital`, `the ___ clinic` "
            "`the outside clinic`", "the text's own noun says what kind of place; never `outside hospital Hospital`",
            _ex(('A CT from ___ Hospital shows a mass.', 'A CT from an outside hospital shows a mass.'),
                ('Seen at the ___ clinic for cough.', 'Seen at the outside clinic for cough.')),
            rf"(?:\b(?P<the>the)\s+|\b(?:an?)\s+)?{{P}}\s+(?P<noun>{PLACE_NOUN})",
            lambda m: f"{m.group('the') or 'an'} outside {' '.join(m.group('noun').lower().split())}"),
    Rewrite("neutral: the place", "`the ___` (a place) becomes `the outside hospital`", "the category of a place",
            _ex(('Seen in the ___ emergency room with cough.', 'Seen in the outside hospital emergency room with cough.')),
            r"\bthe\s+{P}", "the outside hospital"),
    Rewrite("neutral: place", "a place becomes `an outside hospital`", "the category of a place",
            _ex(('Transferred from ___ today.', 'Transferred from an outside hospital today.')),
            r"{P}", "an outside hospital"),
    Rewrite("neutral: since a date after prior exams", "`prior radiographs since ___` loses `since ___` (and a "
            "`most recently ___` after it)", "`prior radiographs since a prior study` says it twice",
            _ex(('COMPARISON: Several prior films since ___, most recently ___.', 'COMPARISON: Several prior films.'),),
            rf"\b(?P<exam>prior\s+(?:[\w-]+\s+){{0,3}}?(?:{_EXAM_HEAD}))\s+since\s+{{DATES}}"
            r"(?:\s*,?\s*(?:and\s+)?most\s+recently\s+(?:on\s+)?{DATES})?", r"\g<exam>"),
    Rewrite("neutral: since and most recently", "`since ___, most recently ___` becomes `since prior studies`",
            "two dates are two prior studies",
            _ex(('Unchanged since ___, most recently ___.', 'Unchanged since prior studies.'),),
            r"\bsince\s+{DATES}\s*,?\s*(?:and\s+)?most\s+recently\s+(?:on\s+)?{DATES}", "since prior studies"),
    Rewrite("neutral: most recently", "`, most recently ___` goes", "`most recently a prior study` says nothing",
            _ex(('Compared with ___, most recently ___, no change.', 'Compared with a prior study, no change.')),
            r"\s*,?\s*(?:and\s+)?most\s+recently\s+(?:on\s+)?{DATES}", ""),
    Rewrite("neutral: than on a date", "`than on ___` becomes `than on a prior study`",
            "a comparative needs its second term; `a`, as every other date's category here",
            _ex(('The effusion is larger than on ___.', 'The effusion is larger than on a prior study.')),
            r"\bthan\s+(?:on|in|at)\s+{DATES}", "than on a prior study"),
    Rewrite("neutral: date before an exam", "`___ chest radiograph` becomes `prior chest radiograph`",
            "the date dated the exam that follows it: `a prior study chest radiograph` and `on an earlier date "
            "scan` say it twice",
            _ex(('COMPARISON: ___ chest radiograph.', 'COMPARISON: Prior chest radiograph.'),
                ('The nodule was seen on ___ scan.', 'The nodule was seen on prior scan.'),
                ('No change since ___ PA and lateral films.', 'No change since prior PA and lateral films.')),
            rf"(?:\b(?P<det>the|a|an)\s+|\b(?P<prep>on|to|from|since|with|of|than|in)\s+)?{{DATES}}\s+"
            rf"(?={_EXAM_NOUN}\b)", _prior_exam),
    Rewrite("neutral: study of a date", "`the study of ___` becomes `a prior study`; where the words before the "
            "date already say it is an earlier exam (`the previous radiograph from ___`), only the date goes",
            "the date said which study; never `the previous the prior study`",
            _ex(('Compared with the study of ___, no change.', 'Compared with a prior study, no change.'),
                ('Compared with the prior study from ___, no change.', 'Compared with the prior study, no change.'),
                ('As compared to the previous radiograph from ___, no change.',
                 'As compared to the previous radiograph, no change.'),
                ('COMPARISON: Previous PA and lateral chest film from ___.',
                 'COMPARISON: Previous PA and lateral chest film.'),
                ('COMPARISON: Upright frontal chest film dated ___, ___.', 'COMPARISON: Upright frontal chest film.')),
            r"\b(?:(?P<det>the|a)\s+)?(?P<prior>(?:prior|previous|preceding|earlier|last|most\s+recent)\s+"
            rf"{_EXAM_MODIFIERS})?"
            r"(?P<exam>study|exam|examination|radiograph|film)\s+(?:of|from|dated|on)\s+{DATES}", _study_of),
    Rewrite("neutral: exam obtained at a time", "`the radiograph obtained at ___` becomes `a prior radiograph`",
            "the time said which exam; the participle said only when",
            _ex(('Compared to the radiograph obtained at ___:15 p.m., no change.',
                 'Compared to a prior radiograph, no change.'),),
            r"\b(?:the|a)\s+(?P<exam>radiograph|study|film|exam|examination)\s+(?:obtained|taken|performed|done)\s+"
            r"(?:at|on)\s+{WHEN}", lambda m: f"a prior {m.group('exam')}"),
    Rewrite("neutral: dated", "`dated ___` becomes `from a prior study`", "the date's category",
            _ex(('Chest films dated ___ show no change.', 'Chest films from a prior study show no change.')),
            r"\bdated\s+{DATES}", lambda m: "from " + _when_phrase(m, "a prior study", "prior studies")),
    Rewrite("neutral: exam and its date", "`chest radiographs ___ through ___` becomes `prior chest radiographs`",
            "the dates said which exams: `prior` says it in one word, where `radiographs from a prior study "
            "through a prior study` says it twice",
            _ex(('Compared to chest radiographs ___ through ___.', 'Compared to prior chest radiographs.'),
                ('COMPARISON:  Chest radiograph ___.', 'COMPARISON:  Prior chest radiograph.'),
                ('The nodule is better evaluated on CT ___.', 'The nodule is better evaluated on a prior CT.'),
                ('Bronchiectasis is better seen on the chest CT from ___.',
                 'Bronchiectasis is better seen on a prior chest CT.')),
            # the exam opens its noun phrase: after a determiner, a preposition, a label or `and`
            # (`Left wrist films ___` is left to the other rewrites)
            rf"(?:\b(?P<det>the|a|an)\s+|(?<=\b(?P<prep>on|to|with|in|from|than)\s+)|(?<=(?:^|[:;,(]|\band|"
            rf"\b(?P<prior>prior|previous|old))\s*))(?P<exam>{_EXAM_RUN})\s+(?:from\s+)?{{DATES}}"
            r"(?=\s*(?:[.,;:]|$|\b(?:were|was|is|are|show|shows|demonstrates?|reveals?)\b))",
            _prior_exam_of),
    Rewrite("neutral: seen on a date", "`seen on ___` becomes `seen on a prior study`",
            "what was seen on a date was seen on an exam: `not seen on an earlier date` reads as a day, not a study",
            _ex(('An opacity not seen on ___ is new.', 'An opacity not seen on a prior study is new.'),),
            r"\b(?P<verb>seen|visible|present|noted|demonstrated|identified|evident|apparent)\s+on\s+(?:the\s+)?{DATES}",
            lambda m: f"{m.group('verb')} on " + _when_phrase(m, "a prior study", "prior studies")),
    Rewrite("neutral: an event's date", "`removed on ___` and `discussed ... on ___` lose `on ___`; a time written "
            "after it stays", "a day is no category of an event: `was removed on an earlier date` says only that "
            "the past is past",
            _ex(('The drain was removed on ___, and the lungs are clear.', 'The drain was removed, and the lungs are clear.'),
                ('Findings were discussed with Dr. ___ at 4:05 p.m. on ___.',
                 'Findings were discussed with the referring clinician at 4:05 p.m.')),
            r"(?:(?<=\b(?i:removed|placed|inserted|exchanged|repositioned|started|stopped))|" + _TOLD + r")\s+on\s+{D}"
            r"(?:\s*,\s*{D})*(?![\w{D}])", ""),
    Rewrite("neutral: since a time", "`since ___:53 a.m.` becomes `since a prior study`",
            "a time after `since` is the time of a prior study; no category is left of it otherwise",
            _ex(('The tube has been advanced since ___:53 a.m.', 'The tube has been advanced since a prior study.'),),
            r"\b(since)\s+{T}", r"\1 a prior study"),
    Rewrite("neutral: on a date", "`on ___` becomes `on an earlier date`", "a date's category",
            _ex(('Admitted on ___ for cough.', 'Admitted on an earlier date for cough.')),
            r"\bon\s+{DATES}", "on an earlier date"),
    Rewrite("neutral: date after a preposition", "`since ___` becomes `since a prior study`",
            "a report's dates are its prior studies", _ex(('No change since ___.', 'No change since a prior study.')),
            r"\b(since|from|of|to|with|through)\s+(?:the\s+)?{DATES}",
            lambda m: f"{m.group(1)} " + _when_phrase(m, "a prior study", "prior studies")),
    Rewrite("neutral: date alone", "a sentence (or a label's body) of dates alone becomes `Prior study.`",
            "a comparison section's body is a noun phrase, without an article",
            _ex(('COMPARISON:  ___.', 'COMPARISON:  Prior study.'), ('Comparison: ___, ___', 'Comparison: Prior studies')),
            r"^(\s*(?:[A-Za-z]{3,20}:\s*)?){DATES}(?=\s*[.;]?\s*$)",
            lambda m: m.group(1) + _when_phrase(m, "prior study", "prior studies")),
    Rewrite("neutral: date opening a sentence", "`___` opening a sentence becomes `A prior study`",
            "a report's dates are its prior studies",
            _ex(('___ through ___: no change.', 'A prior study through a prior study: no change.')),
            r"^\s*{DATES}", lambda m: _when_phrase(m, "a prior study", "prior studies")),
    Rewrite("neutral: date after a word", "`comparison ___` becomes `comparison from a prior study`",
            "a report's dates are its prior studies",
            _ex(('Comparison ___ shows no change.', 'Comparison from a prior study shows no change.')),
            # not after a word that dates an event (`pain after ___`): an event's date has no neutral
            # word and goes the remove way, never `after from a prior study`
            r"(?<=\w)(?<!\b(?i:after|before|until|at|by|in|during|and|or|placed|inserted|removed))\s+{DATES}",
            lambda m: " from " + _when_phrase(m, "a prior study", "prior studies")),
)
