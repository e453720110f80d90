"""Scrubber families: what each writes in place of a value, and its own phrasing."""

from __future__ import annotations

import itertools

from deidlint.synth.templates import SLOT_KINDS, Pool, pool

#: Scrubber families whose marker shapes the generator reproduces.
FAMILIES = ("mimic", "physionet", "openi", "presidio", "scrubadub", "redaction", "philter")

#: MIMIC-only: times of which the scrubber removed only a part, gluing the marker to digits.
GLUED_TIME_T = pool(
    "{Findings are|The appearance is|The opacity is} {unchanged|similar} since {hh}:{minute} {a.m.|p.m.}",
    "Compared to {date}, {hh}:{minute} a.m.:",
    "{A chest tube|The endotracheal tube} was {placed|repositioned} at {hour}.{mm} am{| today}.",
    "{Portable|Upright} radiograph obtained at {hh}:{mm} on {date}.",
    "The {endotracheal tube|nasogastric tube} was {advanced|repositioned} at {hh}:{mm} on {date}.",
)

#: Ordinary words that each family's scrubber took for identifiers.
OVERSCRUB_T: dict[str, Pool] = {
    "mimic": pool(
        "{A|The} Swan-{w:Ganz} catheter {terminates|ends} in the {right|left|main} pulmonary artery.",
        "The {w:Dobhoff} tube {ends|terminates} in the stomach.",
        "{size} mm nodular opacity in the {lobe}{| is unchanged}.",
        "The {w:size} of the known {left|right} pneumothorax {is unchanged|has decreased}.",
        "{A|The} {right|left} chest wall {w:Port-A-Cath} terminates in the {low SVC|mid SVC}.",
    ),
    "physionet": pool(
        "The {w:Dobhoff} tube {ends|terminates} in the stomach.",
        "{A|The} {w:Swan-Ganz} catheter {terminates|ends} in the {right|left} pulmonary artery.",
    ),
    "openi": pool(
        "The heart size and pulmonary {w:vasculature} are within normal limits.",
        "The cardiomediastinal silhouette and pulmonary {w:vasculature} are {normal|within normal limits in size}.",
        "There are no {w:signs} of a pleural effusion.",
        "There is no {w:evidence} of {pneumothorax|pleural effusion|focal consolidation}.",
        "The {w:lungs} are clear{| bilaterally}.",
        "The {w:osseous structures} are intact.",
        "Midline sternotomy {w:wires}{| are intact}.",
        "Comparison is {w:made} to the prior x-{w:ray}.",
        "Degenerative disease is seen in the thoracic spine and left {w:AC joint}.",
    ),
    "presidio": pool(
        "{A|The} {w:Swan-Ganz} catheter {terminates|ends} in the {right|left} pulmonary artery.",
        "{A|The} {w:Dobhoff} tube {ends|terminates} in the stomach.",
        "{A|The} {right|left} chest wall {w:Port-A-Cath} terminates in the {low SVC|mid SVC}.",
    ),
    "scrubadub": pool(
        "{A|The} {w:Swan-Ganz} catheter {terminates|ends} in the {right|left} pulmonary artery.",
        "{A|The} {w:Dobhoff} tube {ends|terminates} in the stomach.",
    ),
    "redaction": pool(
        "{A|The} Swan-{w:Ganz} catheter {terminates|ends} in the {right|left} pulmonary artery.",
        "Findings of {w:Kerley} B lines {are present|are seen} at the {right|left} base.",
    ),
    "philter": pool(
        "{A|The} Swan-{w:Ganz} catheter {terminates|ends} in the {right|left} pulmonary artery.",
        "{A|The} {w:Dobhoff} tube {ends|terminates} in the stomach.",
    ),
}

#: Open-I reports name the exam in the comparison line, where "x-ray" became "x-XXXX".
OPENI_COMPARISON_T = pool(
    "Chest x-{w:ray} dated {date}.", "{PA and lateral|Frontal} chest x-{w:ray} {date}.",
    "Comparison is {w:made} to {date}.", "Radiograph dated {date}, {time}", "{date}, {date}",
)



# --------------------------------------------------------------------------------------------
# Markers: what each family writes in place of a value.
# --------------------------------------------------------------------------------------------

PROTECTED_SPACE = "\x00"  # stands for a space inside a marker until wrapping is done

#: Trailing punctuation that token-masking scrubbers leave after a masked token.
TOKEN_TRAIL = ",.;:"

_PRESIDIO = {
    "name": "<PERSON>", "first": "<PERSON>", "w": "<PERSON>", "lang": "<NRP>",
    "date": "<DATE_TIME>", "md": "<DATE_TIME>", "year": "<DATE_TIME>", "iso": "<DATE_TIME>",
    "time": "<DATE_TIME>", "hh": "<DATE_TIME>", "mm": "<DATE_TIME>", "age": "<DATE_TIME>",
    "place": "<LOCATION>", "id": "<MEDICAL_LICENSE>", "phone": "<PHONE_NUMBER>",
    "email": "<EMAIL_ADDRESS>",
}
#: scrubadub has no detectors for times, ages or free identifiers: those stay in the text.
_SCRUBADUB = {
    "name": "{{NAME}}", "first": "{{NAME}}", "w": "{{NAME}}",
    "date": "{{DATE}}", "md": "{{DATE}}", "year": "{{DATE}}", "iso": "{{DATE}}",
    "place": "{{ADDRESS}}", "phone": "{{PHONE}}", "email": "{{EMAIL}}",
}
_DATE_SLOTS = ("date", "md", "year", "iso", "time", "hh", "mm")
_OTHER_SLOTS = ("age", "place", "id", "phone", "email")
#: Generic redaction tags come in dialects; a dataset (here: a report) uses one. Only names have
#: an angle-bracket tag (``<<NAME>>``); that dialect falls back to square brackets otherwise.
REDACTION_DIALECTS = (
    {"name": "[NAME]", "first": "[NAME]", "w": "[NAME]",
     **dict.fromkeys(_DATE_SLOTS, "[DATE]"), **dict.fromkeys(_OTHER_SLOTS, "[PHI]")},
    dict.fromkeys(("name", "first", "w") + _DATE_SLOTS + _OTHER_SLOTS, "[REDACTED]"),
    {"name": "<<NAME>>", "first": "<<NAME>>", "w": "<<NAME>>",
     **dict.fromkeys(_DATE_SLOTS, "[DATE]"), **dict.fromkeys(_OTHER_SLOTS, "[PHI]")},
)
#: MIMIC's scrubber writes ``___`` for everything but languages, which are not PHI to it.
_MIMIC = {slot: "___" for slot in SLOT_KINDS if slot != "lang"}
#: Families writing one fixed marker per value; a slot missing from the table stays in the text.
FIXED_MARKERS = {"mimic": _MIMIC, "presidio": _PRESIDIO, "scrubadub": _SCRUBADUB}
#: Values that the token-masking scrubbers (Open-I, philter) left alone.
TOKENWISE_KEPT = {"philter": frozenset({"time", "hh", "mm", "lang", "size"}),
                   "openi": frozenset({"lang", "size"})}

PHYSIONET_TAGS: dict[str, tuple[str, ...]] = {
    "name": ("Last Name (NamePattern1) {n}", "Known lastname {n}", "Last Name (un) {n}",
             "Name (NI) ", "Doctor Last Name ", " Known patient lastname "),
    "first": ("First Name8 (NamePattern2) {n}", "First Name4 (NamePattern1) {n}",
              "Doctor First Name ", "Name (NI) "),
    "place": ("Hospital1 {n}", "Hospital {n}", "Location (un) {n}", "Hospital3 ", "Hospital Ward Name {n}"),
    "id": ("MD Number(1) {n}", "Clip Number (Radiology) {n}", "Numeric Identifier {n}",
           "Medical Record Number {n}"),
    "phone": ("Telephone/Fax (1) {n}",),
    "email": ("E-mail address {n}",),
    "w": ("Last Name (un) ", "Doctor Last Name ", "Location (un) "),
}

PHILTER_MASK = str.maketrans({c: "*" for c in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"})

_FAMILY_WEIGHTS = (("mimic", 0.34), ("openi", 0.20), ("physionet", 0.20), ("presidio", 0.07),
                   ("scrubadub", 0.07), ("redaction", 0.06), ("philter", 0.06))
_FAMILY_CUMULATIVE = tuple(itertools.accumulate(w for _, w in _FAMILY_WEIGHTS))




def draw_family(r: float) -> str:
    """A family for a "mixed" report, weighted like the sources a real mix would contain."""
    for (family, _), bound in zip(_FAMILY_WEIGHTS, _FAMILY_CUMULATIVE, strict=True):
        if r < bound:
            return family
    return _FAMILY_WEIGHTS[-1][0]
