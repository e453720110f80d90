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

Speed matters because benchmarks generate MIMIC-CXR-sized sets (227,835 reports): every template
is expanded and parsed once at import, and a report is assembled from ready-made strings with
one random draw per choice.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import os
import random
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, cast

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

#: Scrubber families whose marker shapes the generator reproduces.
FAMILIES = ("mimic", "physionet", "openi", "presidio", "scrubadub", "redaction", "philter")
#: Accepted ``style`` values: one family for every report, or a per-report draw ("mixed").
STYLES = FAMILIES + ("mixed",)
#: What a span hid; "word" is an ordinary clinical word a scrubber removed by mistake.
KINDS = ("name", "date", "time", "age", "place", "id", "phone", "word")


@dataclass(frozen=True, slots=True)
class Span:
    """One trace: ``text[start:end]`` is the marker, ``original`` what the clean text has there."""

    start: int
    end: int
    family: str
    kind: str
    original: str


@dataclass(frozen=True, slots=True)
class SyntheticReport:
    """A scrubbed report, its clean twin and the ground truth linking the two.

    ``clean`` is ``text`` with every span replaced by its original, substituted *after* wrapping,
    so both versions break lines at the same places and a diff shows only the traces. (Clean
    lines can therefore run a few characters past the wrap width.)
    """

    id: str
    text: str
    clean: str
    spans: tuple[Span, ...]
    label: int


# --------------------------------------------------------------------------------------------
# Template language
#
# ``{a|b|c}`` is an alternation, expanded into separate templates at import time (an option may
# be empty: ``{|very }``). ``{lobe}``, ``{complaint}`` and the other keys of _FILLERS insert a
# non-identifying filler. Any other ``{slot}`` (``{date}``, ``{name}``, ``{age}`` ...) or
# ``{w:word}`` is a trace site: the report's scrubber family decides what marker, if any,
# replaces the true value there.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Slot:
    """A trace site in a template: which value to draw (``value``) and the span kind it gets."""

    value: str
    kind: str
    word: str = ""  # the fixed original of an over-scrubbed word slot ("w")


_SLOT_KINDS = {
    "name": "name", "first": "name",
    "date": "date", "md": "date", "year": "date", "iso": "date",
    "time": "time", "hh": "time", "mm": "time",
    "age": "age", "place": "place", "id": "id", "email": "id", "phone": "phone",
    "lang": "word", "size": "word", "w": "word",
}

#: A compiled template: a plain string, or literal strings, filler pools and slots in order.
_Template = str | tuple[str | tuple[str, ...] | _Slot, ...]
#: Templates grouped by source template, so a richly varied template is no likelier to be drawn
#: than a terse one: a draw picks a group, then a variant.
_Pool = tuple[tuple[_Template, ...], ...]

_ALTERNATION = re.compile(r"\{([^{}]*\|[^{}]*)\}")
_PLACEHOLDER = re.compile(r"\{([^{}|]+)\}")
#: Fillers with at most this many values are expanded at import like alternations, so most
#: sentences become plain strings; larger ones (complaints, clock times) are drawn at run time.
_INLINE_FILLER_MAX = 20


def _expand(template: str) -> tuple[str, ...]:
    """Every combination of a template's alternations, in order, without duplicates."""
    pieces = _ALTERNATION.split(template)
    options = [p.split("|") if i % 2 else [p] for i, p in enumerate(pieces)]
    return tuple(dict.fromkeys("".join(combo) for combo in itertools.product(*options)))


def _inline_fillers(template: str) -> str:
    """Rewrite references to small fillers as alternations."""

    def alternation(m: re.Match[str]) -> str:
        values = _FILLERS.get(m.group(1), ())
        return "{" + "|".join(values) + "}" if 1 < len(values) <= _INLINE_FILLER_MAX else m.group(0)

    return _PLACEHOLDER.sub(alternation, template)


def _compile(template: str) -> _Template:
    """Split an expanded template into literals, filler pools and slots (a bare str if none)."""
    parts: list[str | tuple[str, ...] | _Slot] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        if m.start() > pos:
            parts.append(template[pos : m.start()])
        key, _, word = m.group(1).partition(":")
        if key in _FILLERS:
            parts.append(_FILLERS[key])
        elif key in _SLOT_KINDS:
            parts.append(_Slot(key, _SLOT_KINDS[key], word))
        else:
            raise ValueError(f"unknown placeholder {m.group(0)!r} in template {template!r}")
        pos = m.end()
    if pos < len(template):
        parts.append(template[pos:])
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0]
    return tuple(parts)


def _pool(*templates: str) -> _Pool:
    """Expand and compile templates into a pool, one group of variants per template."""
    return tuple(tuple(_compile(t) for t in _expand(_inline_fillers(template))) for template in templates)


def _fill(*templates: str) -> tuple[str, ...]:
    """Expand filler values (alternations only; fillers do not nest)."""
    return tuple(dict.fromkeys(v for template in templates for v in _expand(template)))


# --------------------------------------------------------------------------------------------
# Vocabulary. Names are common US surnames and given names; places are invented. None of it
# refers to a real patient, and phone numbers use the fictional 555 exchange.
# --------------------------------------------------------------------------------------------

_SURNAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Chen", "Patel", "Kim", "Murphy",
    "Cook", "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey", "Kelly", "Howard",
    "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "Hughes",
    "Price", "Sanders", "Myers", "Long", "Ross", "Foster", "Powell", "Jenkins", "Perry",
    "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes", "Fisher", "Olsen",
)
_FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Charles", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty",
    "Mark", "Sandra", "Paul", "Ashley", "Steven", "Kimberly", "Andrew", "Emily", "Kevin",
    "Donna", "Brian", "Michelle", "George", "Carol", "Edward", "Amanda", "Ronald", "Melissa",
    "Timothy", "Deborah", "Jason", "Laura", "Jeffrey", "Rebecca", "Ryan", "Sharon", "Gary",
    "Cynthia", "Eric", "Kathleen", "Stephen", "Amy", "Jacob", "Angela", "Priya", "Wei", "Omar",
)
_PLACES = _fill(
    "{Lakeside|Riverside|Northfield|Maple Grove|Cedar Valley|Harbor View|Westbrook|Pine Ridge|"
    "Fairmont|Brookhaven|Stonegate|Oakwood|Hillcrest|Elmhurst|Willow Creek} "
    "{General Hospital|Medical Center|Community Hospital|Clinic}",
    "St. {Agnes|Brendan|Clare|Jude|Luke|Mark} {Hospital|Medical Center}",
)
_LANGUAGES = ("Portuguese", "Cantonese", "Russian", "Haitian Creole", "Spanish", "Vietnamese",
              "Mandarin", "Arabic", "Polish", "Somali")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")

_COMPLAINTS = _fill(
    "cough", "fever", "fever and cough", "productive cough", "shortness of breath",
    "dyspnea on exertion", "chest pain", "pleuritic chest pain", "hypoxia", "tachypnea",
    "leukocytosis", "sepsis", "altered mental status", "weakness", "syncope", "hemoptysis",
    "wheezing", "new oxygen requirement", "{|recent }fall", "congestive heart failure",
    "COPD exacerbation", "asthma exacerbation", "chest tightness", "abdominal pain",
    "history of lung cancer", "{|status post }CABG", "pneumonia on antibiotics",
    "cirrhosis and new onset ascites", "end-stage renal disease on dialysis",
    "recent intubation", "aspiration event", "fevers and chills", "night sweats",
)

_FILLERS: dict[str, tuple[str, ...]] = {
    "lobe": ("right upper lobe", "right middle lobe", "right lower lobe", "left upper lobe",
             "lingula", "left lower lobe"),
    "zone": _fill("{left|right} {base|lung base|mid lung|upper lung|perihilar region}",
                  "bilateral bases", "retrocardiac region", "lingula", "right infrahilar region"),
    "complaint": _COMPLAINTS,
    "Complaint": tuple(c[0].upper() + c[1:] for c in _COMPLAINTS),
    "question": _fill("evaluate for pneumonia", "eval for infiltrate", "r/o pneumonia", "?PNA",
                      "assess for effusion", "interval change?", "eval for edema",
                      "please assess line placement", "any acute process?",
                      "evaluate for consolidation"),
    "clock": tuple(f"{h}:{m:02d} {ap}" for h in range(1, 13) for m in range(0, 60, 5)
                   for ap in ("a.m.", "p.m.")),
    "clock24": tuple(f"{h:02d}:{m:02d}" for h in range(24) for m in (2, 11, 20, 34, 42, 57)),
    "minute": tuple(f"{m:02d}" for m in range(1, 60, 3)),
    "hour": tuple(str(h) for h in range(1, 13)),
    "cm": ("2", "2.5", "3", "3.5", "4", "4.2", "5", "5.5", "6"),
    "level": ("C5-C6", "C6-C7", "C4-C5", "T11-T12", "T12-L1", "L1-L2"),
    "cervical": ("C4-C5", "C5-C6", "C6-C7", "C5-C7"),
    "role": ("Attending Radiologist", "Radiology Resident", "Staff Radiologist",
             "Reading Physician", "Radiology Fellow"),
    "order": tuple(f"ORD_{y}_{n:04d}" for y in range(2015, 2025) for n in range(7, 2000, 97)),
}

# --------------------------------------------------------------------------------------------
# Sentence pools. Each pool is topical; a report draws from the pools its label and layout call
# for. Pools whose name ends in _T hold trace sites.
# --------------------------------------------------------------------------------------------

_EXAMINATION = _pool(
    "CHEST (PA AND LAT)", "CHEST (PORTABLE AP)", "CHEST (PRE-OP PA AND LAT)",
    "CHEST PORT. LINE PLACEMENT", "CHEST (SINGLE VIEW)", "Chest radiograph, {two views|one view}",
    "Portable chest X-ray", "CHEST X-RAY, PA AND LATERAL", "Chest x-ray, frontal and lateral",
    "CHEST (PA AND LAT), order {order}", "CHEST (PORTABLE AP), order {order}",
)

_INDICATION = _pool(
    "{Cough|Fever|Shortness of breath|Hypoxia|Chest pain|Dyspnea|Leukocytosis}.",
    "{Adult|Elderly} {man|woman|male|female|patient} with {complaint}.",
    "History: {complaint}. {Evaluate for pneumonia|Assess for infiltrate|Eval for effusion}.",
    "{Complaint}, {question}",
    "Patient with {complaint} // {question}",
    "{Pre-operative|Pre-procedure} evaluation.",
    "Line placement. {Please assess position|Assess tip location}.",
    "{Follow-up|Follow up} of known {pneumonia|effusion|nodule|atelectasis}.",
    "{Complaint}. {Rule out|R/O} {pneumonia|pneumothorax|CHF}.",
    "Intubated patient, {assess ET tube position|evaluate for interval change}.",
    "{Man|Woman} with {complaint}, {question}",
    "Status post {thoracentesis|line placement|intubation}, {evaluate for pneumothorax|check position}.",
)

_INDICATION_T = _pool(
    "{age}-year-old {man|woman|male|female} with {complaint}.",
    "{age} year old {man|woman} with {complaint}.",
    "{age} year old {man|woman} with {complaint}, {question}",
    "{age}-year-old {man|woman} with {complaint}. {Evaluate for pneumonia|Assess for interval change}.",
    "{age}{M|F} with {complaint} // {question}",
    "History: {age}-year-old {man|woman|patient} with {complaint}.",
    "{Mr.|Ms.|Mrs.} {name} is a {age}-year-old with {complaint}.",
    "{age}-year-old {man|woman} transferred from {place} with {complaint}.",
    "Transferred from {place} with {complaint}, {question}",
    "{lang}-speaking {man|woman} with {complaint}; history obtained via interpreter.",
)

_TECHNIQUE = _pool(
    "Chest PA and lateral{| radiographs}.", "Portable AP chest radiograph.",
    "Single frontal view of the chest{| was obtained}.", "PA and lateral views of the chest{| were obtained}.",
    "Portable semi-upright AP view of the chest.", "Frontal and lateral chest radiographs.",
    "Upright AP{| and lateral} views of the chest.", "Supine portable AP view of the chest.",
    "PA and lateral chest x-ray.", "Portable AP chest radiograph. Order number {order}.",
)

_TECHNIQUE_T = _pool(
    "Portable AP chest radiograph obtained at {time}",
    "{Single frontal view|PA and lateral views} of the chest. Accession number {id}.",
    "Outside films from {place} were reviewed{| and uploaded to PACS}.",
    "Clip # {id}. {PA and lateral|Portable AP} views of the chest.",
)

_COMPARISON = _pool(
    "None.", "None", "None available.", "No prior studies{| available| for comparison}.",
    "Prior chest radiograph{|s} [see prior].", "Chest x-ray from earlier the same day.",
    "Prior X-ray{| of the chest}, same day.", "Previous studies not available.",
    "Multiple prior chest radiographs, the most recent one day prior.",
    "Prior CT chest [see prior].", "{Prior|Previous} PA and lateral chest radiographs.",
)

_COMPARISON_T = _pool(
    "{date}.", "{date}", "Chest radiographs {date} through {date}.",
    "CHEST RADIOGRAPHS {date} THROUGH {date} AT {clock24}.", "{date} and {date}.",
    "{date}, {date}.", "{Prior|Previous} {chest radiograph|PA and lateral chest radiograph} from {date}.",
    "Radiograph dated {date}, {time}", "CT chest {date}.", "{date} at {time}",
    "Outside {chest radiograph|CT} from {place} dated {date}.", "PA and lateral views from {md}.",
    "Portable chest radiograph {md}, {year}.",
)

_OPENER_T = _pool(
    "Comparison to {date}.", "AP chest compared to {date}:", "Compared to {date}:",
    "In comparison with the study of {date}, there is {little|no} interval change.",
    "Compared to chest radiographs {date} through {date}.",
    "COMPARED TO CHEST RADIOGRAPHS {date} THROUGH {date} AT {clock24}.",
    "As compared to the previous radiograph from {date}, the {lung volumes have decreased|"
    "patient has been extubated|appearance is similar}.",
)

_LUNGS_NORMAL = _pool(
    "The lungs are clear{| bilaterally| without focal consolidation}.",
    "{Lungs are|The lungs are} {well expanded|well inflated|normally expanded} and clear.",
    "No focal consolidation{| is seen| is identified}.",
    "There is no {focal airspace consolidation|focal opacity|airspace disease|infiltrate} to suggest pneumonia.",
    "{The lungs are|Lungs are} free of focal airspace disease.",
    "No {evidence of|signs of|findings to suggest} pneumonia.",
    "Lung volumes are {normal|low|slightly low}{| with crowding of the bronchovascular markings}.",
    "The lungs are hyperinflated{| with flattening of the diaphragms}{|, consistent with COPD}.",
    "Clear lungs.",
    "There is no {consolidation|infiltrate|focal opacity}{| in either lung}.",
    "Mild interstitial prominence is {unchanged|stable|noted}{| and likely chronic}.",
    "Mild chronic interstitial prominence is {unchanged|stable}.",
    "The {left|right} costophrenic angle is {sharp|clear}.",
    "The lungs are {grossly |}clear{| of focal airspace disease, pneumothorax, or pleural effusion}.",
    "Scattered calcified granulomas are noted in the {lobe}.",
    "{Emphysematous|Chronic} changes are {noted|present} without {acute|superimposed} consolidation.",
    "Linear {atelectasis|scarring} at the {zone}{|, otherwise clear lungs}.",
    "No {acute |}cardiopulmonary {process|abnormality} is {seen|identified}.",
    "{Both lungs are|The lungs remain} clear.",
    "There is no focal airspace opacity to suggest pneumonia.",
)

_PNEUMONIA = _pool(
    "There is {a |}{focal|patchy|dense|ill-defined} {consolidation|airspace opacity} in the {lobe}"
    "{|, concerning for pneumonia|, compatible with pneumonia|, likely pneumonia}.",
    "{New|Increased|Persistent} opacity in the {zone} {is concerning for|may represent|likely represents}"
    " {pneumonia|infection|aspiration}.",
    "{Patchy|Hazy|Streaky} opacities at the {zone} {could reflect|are concerning for|are suspicious for}"
    " {early pneumonia|infection|aspiration pneumonia}.",
    "Multifocal {airspace|patchy} opacities {are present|are seen}, {worrisome|concerning} for"
    " {multifocal pneumonia|infection}.",
    "{Right|Left} lower lobe consolidation with air bronchograms{|, consistent with pneumonia}.",
    "Retrocardiac opacity {is present|persists}{|, which may represent atelectasis or pneumonia|, concerning for pneumonia}.",
    "Consolidation in the {lobe} has {increased|worsened|progressed} {|slightly |substantially }since the prior study.",
    "There is {mild|moderate|extensive} {bilateral|right-sided|left-sided} {airspace disease|consolidation}.",
    "The {lobe} is {opacified|consolidated}{| with a small associated effusion}.",
    "Ill-defined nodular opacities in the {zone} {likely represent|may reflect} {infection|bronchopneumonia}.",
    "Silhouetting of the right heart border suggests right middle lobe {pneumonia|consolidation}.",
    "Obscuration of the left hemidiaphragm suggests left lower lobe {pneumonia|consolidation}.",
    "Interval development of {a right|a left|bibasilar} {opacity|consolidation}{|, concerning for pneumonia}.",
    "{Dense|Confluent} consolidation {occupies|involves} {most of |}the {lobe}.",
    "Airspace opacity in the {zone} {with air bronchograms|without volume loss} is {consistent with|suspicious for} pneumonia.",
)

_PLEURA = _pool(
    "No pleural effusion or pneumothorax{| is seen| is identified}.",
    "There is no {pleural effusion|pneumothorax}.",
    "{A small|A trace|A tiny} {left|right} pleural effusion {is present|is noted|has developed}.",
    "Small bilateral pleural effusions {are present|are noted|are unchanged}.",
    "Blunting of the {left|right} costophrenic angle {may reflect|suggests} a small effusion{| or pleural thickening}.",
    "No {large |}pleural effusion{|, pneumothorax, or focal airspace disease}.",
    "There are no {signs|findings} of a pleural effusion.",
    "No pneumothorax{| is seen}.",
    "Pleural surfaces are {clear|smooth}.",
    "Apical pleural thickening is {noted|stable} {bilaterally|on the right|on the left}.",
    "There is no evidence of pneumothorax{| or pleural effusion}.",
)

_EFFUSION = _pool(
    "{Moderate|Large} {left|right} pleural effusion with adjacent {atelectasis|compressive atelectasis}.",
    "{Small|Moderate} {left|right} parapneumonic effusion {is present|has developed}.",
    "Layering {left|right} pleural effusion {is new|has increased}.",
)

_HEART = _pool(
    "Heart size is {normal|within normal limits|top normal|borderline}.",
    "The heart is {normal|not enlarged} in size.",
    "The cardiomediastinal silhouette is {normal|within normal limits|unremarkable}{| in size and contour}.",
    "{Mild|Moderate} cardiomegaly is {stable|unchanged|again noted|present}.",
    "Cardiomediastinal and hilar contours are {normal|unremarkable|stable}.",
    "The mediastinum is {not widened|unremarkable|within normal limits}.",
    "The aorta is {tortuous|calcified|mildly unfolded}{| but otherwise unremarkable}.",
    "{Atherosclerotic calcification|Calcification} of the aortic {knob|arch} is noted.",
    "Normal {cardiac|cardiomediastinal} silhouette.",
    "The hilar contours are {normal|unremarkable|symmetric}.",
    "Stable {enlargement of the cardiac silhouette|mild enlargement of the heart}.",
    "Heart and mediastinum are {stable|unchanged} in appearance.",
    "The cardiac silhouette is {enlarged|mildly enlarged|upper normal in size}{| but stable}.",
    "The heart size and mediastinal contours are {normal|within normal limits|stable}.",
)

_VESSELS = _pool(
    "{Pulmonary vascularity|Pulmonary vasculature} is {normal|within normal limits|not engorged}.",
    "There is no {pulmonary edema|pulmonary vascular congestion|interstitial edema}.",
    "{Mild|Minimal} pulmonary vascular congestion {without|with no} overt edema.",
    "{Mild|Moderate} interstitial edema {is present|has developed|has improved}.",
    "Kerley B lines are {present|seen} at the {right|left} base.",
    "Cephalization of the pulmonary vessels {suggests|may reflect} {mild|early} {fluid overload|congestive failure}.",
    "The pulmonary vasculature is {normal|unremarkable}.",
)

_BONES = _pool(
    "No acute {osseous|bony} abnormality{| is seen| is identified}.",
    "{The osseous structures|The visualized osseous structures|Bony structures} are {intact|unremarkable|grossly intact}.",
    "Degenerative changes are {seen|noted} at {level}{| of the partially imaged spine}.",
    "{The visualized |}posterior ribs II-XII {are intact|appear intact|show no fracture}.",
    "Vertebral body heights are preserved from T2-T12.",
    "{Old|Healed} {left|right} rib fractures are {noted|again seen}.",
    "Surgical clips {project over|are seen in} the {right upper quadrant|left axilla|left neck}.",
    "{Soft tissues|The soft tissues} are unremarkable.",
    "No {displaced|acute} rib fracture is {seen|identified}.",
    "Anterior cervical fusion hardware is noted at {cervical}.",
    "The {upper abdomen|visualized upper abdomen} is unremarkable{| and there is no free air under the diaphragm}.",
    "Mild {dextroscoliosis|levoscoliosis|kyphosis} of the thoracic spine.",
    "Degenerative changes of both shoulders are partially imaged.",
)

_NODULES = _pool(
    "{Several|Multiple|Scattered} calcified granulomas, {each|all} < 5 mm{|, are unchanged}.",
    "A {4|5|6|7} mm {nodule|nodular opacity} projects over the {lobe}{|; recommend CT for further evaluation}.",
    "Nodular opacity in the {zone} measuring {<|less than} 5 mm"
    " {likely represents a nipple shadow|is likely a granuloma|is unchanged}.",
    "Calcified {hilar|mediastinal} lymph nodes {are noted|suggest prior granulomatous disease}.",
    "{A|An} {8|9|10|12} mm {nodule|density} in the {lobe} {is new|is stable|is indeterminate}.",
    "Nipple shadows {project over|overlie} the {lower lungs|lung bases}.",
    "A calcified granuloma < 5 mm is {seen|present} in the {lobe}.",
    "Stable {right|left} hilar fullness [see prior].",
)

_ATELECTASIS = _pool(
    "{Mild|Minimal|Subsegmental|Plate-like} atelectasis {at|in} the {zone}.",
    "Bibasilar atelectasis {is unchanged|is noted|has improved}.",
    "Linear opacity at the {zone} is {consistent with|most likely} {atelectasis|scarring}.",
    "Low lung volumes with {bibasilar|bilateral basilar} atelectasis.",
    "Elevation of the {left|right} hemidiaphragm {is unchanged|is again seen|is noted}{| with adjacent atelectasis}.",
)

_DEVICES = _pool(
    "{An|The} endotracheal tube terminates {approximately |}{cm} cm above the carina.",
    "{Endotracheal tube|ET tube} tip is {in satisfactory position|in the mid trachea|at the thoracic inlet}.",
    "{A|The} {right|left} internal jugular central venous catheter {terminates|ends} in the"
    " {mid SVC|low SVC|cavoatrial junction|right atrium}.",
    "{A|The} {right|left}-sided PICC line {terminates|ends} in the {mid SVC|low SVC|cavoatrial junction}.",
    "{A nasogastric tube|An enteric tube|An orogastric tube} {courses below the diaphragm|terminates in the stomach}"
    "{| with the side port in the stomach}.",
    "{A Dobhoff tube|A feeding tube} {ends|terminates} in the {stomach|proximal duodenum}.",
    "{A|The} Swan-Ganz catheter {terminates|ends} in the {right|left|main} pulmonary artery.",
    "{A left|A right|A dual-chamber}-sided {pacemaker|ICD} {has|with} leads in the right atrium and right ventricle.",
    "Median sternotomy wires {and mediastinal clips |}are {intact|noted|unchanged}.",
    "{A|The} {right|left} chest tube {is in place|remains in place}{| with no pneumothorax}.",
    "{A|The} tracheostomy tube is {in standard position|in place|midline}.",
    "Prosthetic {aortic|mitral} valve {is noted|is in place}.",
    "External monitoring leads {overlie|project over} the chest.",
    "A {right|left} chest wall Port-A-Cath terminates in the {low SVC|mid SVC}.",
)

_TIMEREF_T = _pool(
    "{Heart size|The cardiomediastinal silhouette|The appearance of the chest} is unchanged since {date}.",
    "The {left|right} pleural effusion is {larger|smaller} than on {date} at {time}",
    "{Findings are|The lungs are} unchanged from {date}.",
    "The {nodule|opacity} is better evaluated on CT {date}.",
    "{Moderate|Mild} cardiomegaly has been present since {date}, most recently {date} at {clock24}.",
    "{Right|Left} basilar opacity {is new since|has improved since|has worsened since} {date}.",
    "Lines and tubes are unchanged in position since {date}.",
    "No significant interval change since {date}.",
    "The {right|left} PICC line was placed on {date} and is unchanged.",
)

#: MIMIC-only: times of which the scrubber removed only a part, gluing the marker to digits.
_GLUED_TIME_T = _pool(
    "{Findings are|The appearance is|The opacity is} {unchanged|similar} since {hh}:{minute} {a.m.|p.m.}",
    "Compared to {date}, {hh}:{minute} a.m.:",
    "{A chest tube|The endotracheal tube} was {placed|repositioned} at {hour}.{mm} am{| today}.",
    "{Portable|Upright} radiograph obtained at {hh}:{mm} on {date}.",
    "The {endotracheal tube|nasogastric tube} was {advanced|repositioned} at {hh}:{mm} on {date}.",
)

#: Ordinary words that each family's scrubber took for identifiers.
_OVERSCRUB_T: dict[str, _Pool] = {
    "mimic": _pool(
        "{A|The} Swan-{w:Ganz} catheter {terminates|ends} in the {right|left|main} pulmonary artery.",
        "The {w:Dobhoff} tube {ends|terminates} in the stomach.",
        "{size} mm nodular opacity in the {lobe}{| is unchanged}.",
        "The {w:size} of the known {left|right} pneumothorax {is unchanged|has decreased}.",
        "{A|The} {right|left} chest wall {w:Port-A-Cath} terminates in the {low SVC|mid SVC}.",
    ),
    "physionet": _pool(
        "The {w:Dobhoff} tube {ends|terminates} in the stomach.",
        "{A|The} {w:Swan-Ganz} catheter {terminates|ends} in the {right|left} pulmonary artery.",
    ),
    "openi": _pool(
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
    "presidio": _pool(
        "{A|The} {w:Swan-Ganz} catheter {terminates|ends} in the {right|left} pulmonary artery.",
        "{A|The} {w:Dobhoff} tube {ends|terminates} in the stomach.",
        "{A|The} {right|left} chest wall {w:Port-A-Cath} terminates in the {low SVC|mid SVC}.",
    ),
    "scrubadub": _pool(
        "{A|The} {w:Swan-Ganz} catheter {terminates|ends} in the {right|left} pulmonary artery.",
        "{A|The} {w:Dobhoff} tube {ends|terminates} in the stomach.",
    ),
    "redaction": _pool(
        "{A|The} Swan-{w:Ganz} catheter {terminates|ends} in the {right|left} pulmonary artery.",
        "Findings of {w:Kerley} B lines {are present|are seen} at the {right|left} base.",
    ),
    "philter": _pool(
        "{A|The} Swan-{w:Ganz} catheter {terminates|ends} in the {right|left} pulmonary artery.",
        "{A|The} {w:Dobhoff} tube {ends|terminates} in the stomach.",
    ),
}

#: Open-I reports name the exam in the comparison line, where "x-ray" became "x-XXXX".
_OPENI_COMPARISON_T = _pool(
    "Chest x-{w:ray} dated {date}.", "{PA and lateral|Frontal} chest x-{w:ray} {date}.",
    "Comparison is {w:made} to {date}.", "Radiograph dated {date}, {time}", "{date}, {date}",
)

_IMPRESSION_NORMAL = _pool(
    "No acute cardiopulmonary {process|abnormality|disease}.",
    "No {evidence of|radiographic evidence of} pneumonia.",
    "Normal chest {radiograph|x-ray|X-ray}.",
    "No acute intrathoracic process.",
    "{Clear lungs|Lungs are clear}. No {acute process|pneumonia}.",
    "No radiographic evidence of acute disease.",
    "Stable chest radiograph{| without acute findings}.",
    "{Mild|Stable} cardiomegaly without {pulmonary edema|acute process}.",
    "{Low lung volumes|Hyperinflated lungs} without {acute process|focal consolidation}.",
    "No {focal consolidation|acute focal consolidation} to suggest pneumonia.",
    "Unchanged {appearance of the chest|examination} [see prior].",
    "No acute cardiopulmonary abnormality{|; no pneumothorax}.",
)

_IMPRESSION_PNEUMONIA = _pool(
    "{Right|Left} lower lobe pneumonia.",
    "Opacity in the {zone} {concerning for|consistent with|compatible with} pneumonia{| in the appropriate clinical setting}.",
    "{Multifocal|Bilateral} pneumonia.",
    "Consolidation in the {lobe}, {likely|most consistent with} pneumonia.",
    "{Early|Developing} pneumonia {cannot be excluded|is suspected} in the {zone}.",
    "Pneumonia in the {lobe}{| with a small parapneumonic effusion}.",
    "{Worsening|Improving|Persistent} {lobe} pneumonia.",
    "Findings suggest {aspiration|bronchopneumonia} in the {zone}.",
    "Airspace disease in the {zone}{|, likely pneumonia}.",
)

_IMPRESSION_EXTRA_NORMAL = _pool(
    "Lines and tubes in standard position.",
    "{Bibasilar|Mild basilar} atelectasis.",
    "No pneumothorax.",
    "{Emphysema|Hyperinflation} without acute process.",
)

_IMPRESSION_EXTRA_PNEUMONIA = _pool(
    "Recommend follow-up radiographs after treatment to document resolution.",
    "{Small|Trace} {left|right} pleural effusion.",
    "No pneumothorax.",
    "{Mild|Stable} cardiomegaly.",
)

#: Findings topics drawn independently after the lungs, with the share of reports mentioning each.
_FINDINGS_TOPICS = ((_PLEURA, 0.8), (_HEART, 0.85), (_VESSELS, 0.35), (_ATELECTASIS, 0.15),
                    (_NODULES, 0.15), (_BONES, 0.45))

_COMMUNICATION = _pool(
    "Findings were discussed with the referring {physician|clinician|team} by telephone at {clock}"
    "{| on the day of the study.}",
    "{The referring physician|The ordering team} was notified at {clock24}.",
    "These findings were communicated to the {covering|ordering} {physician|provider} at {clock}",
    "Results were posted to the {ED dashboard|critical results log} at {clock24}.",
)

_COMMUNICATION_T = _pool(
    "Findings were discussed with Dr. {name} by Dr. {name} by telephone at {clock} on {date}.",
    "Dr. {name} was paged.", "Dr. {name} was paged at {clock}", "Dr. {name} was paged at {clock24}.",
    "Comment: findings discussed with {first} {name} by {name}.",
    "Referring physician, {first} {name} was paged at {clock}",
    "{These findings were|Findings were} discussed with the {place} triage nurse by phone.",
    "Results were {telephoned|communicated} to Dr. {name} at {phone}.",
    "Findings were conveyed to {first} {name}, RN, at {time} on {date}.",
    "Dr. {name} (pager {id}) was notified{| by telephone}.",
    "Discussed with Dr. {name} at {time}", "Discussed with Dr. {name} at {time} on {date}.",
)

#: Tools that scrub free text today also meet e-mail addresses in report footers.
_COMMUNICATION_MODERN_T = _pool(
    "Report e-mailed to Dr. {name} at {email}.",
    "Please contact {first} {name} at {phone} or {email} with questions.",
)

_SIGNATURE = _pool(
    "Electronically signed by: {role}", "Dictated by: {role}",
    "I have personally reviewed the images and agree with the {report|findings above}.",
)

_RECORD_DATE_T = _pool("Record date: {iso}")
_FORCED_COMPARISON_T = _pool("{date}.")

# --------------------------------------------------------------------------------------------
# Markers: what each family writes in place of a value.
# --------------------------------------------------------------------------------------------

_PROTECTED_SPACE = "\x00"  # stands for a space inside a marker until wrapping is done

#: Trailing punctuation that token-masking scrubbers leave after a masked token.
_TOKEN_TRAIL = ",.;:"

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
_REDACTION_DIALECTS = (
    {"name": "[NAME]", "first": "[NAME]", "w": "[NAME]",
     **dict.fromkeys(_DATE_SLOTS, "[DATE]"), **dict.fromkeys(_OTHER_SLOTS, "[PHI]")},
    dict.fromkeys(("name", "first", "w") + _DATE_SLOTS + _OTHER_SLOTS, "[REDACTED]"),
    {"name": "<<NAME>>", "first": "<<NAME>>", "w": "<<NAME>>",
     **dict.fromkeys(_DATE_SLOTS, "[DATE]"), **dict.fromkeys(_OTHER_SLOTS, "[PHI]")},
)
#: MIMIC's scrubber writes ``___`` for everything but languages, which are not PHI to it.
_MIMIC = {slot: "___" for slot in _SLOT_KINDS if slot != "lang"}
#: Families writing one fixed marker per value; a slot missing from the table stays in the text.
_FIXED_MARKERS = {"mimic": _MIMIC, "presidio": _PRESIDIO, "scrubadub": _SCRUBADUB}
#: Values that the token-masking scrubbers (Open-I, philter) left alone.
_TOKENWISE_KEPT = {"philter": frozenset({"time", "hh", "mm", "lang", "size"}),
                   "openi": frozenset({"lang", "size"})}

_PHYSIONET_TAGS: dict[str, tuple[str, ...]] = {
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

_PHILTER_MASK = str.maketrans({c: "*" for c in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"})

_FAMILY_WEIGHTS = (("mimic", 0.34), ("openi", 0.20), ("physionet", 0.20), ("presidio", 0.07),
                   ("scrubadub", 0.07), ("redaction", 0.06), ("philter", 0.06))
_FAMILY_CUMULATIVE = tuple(itertools.accumulate(w for _, w in _FAMILY_WEIGHTS))

#: Original date formats; a report's author uses one throughout.
_DATE_FORMATS = ("{m:02d}/{d:02d}/{y}", "{m}/{d}/{y}", "{y}-{m:02d}-{d:02d}", "{month} {d}, {y}",
                 "{m}/{d}/{yy:02d}")


#: A report section: header, body pieces, and its markers as (piece index, original, kind).
_Section = tuple[str, list[str], list[tuple[int, str, str]]]


class _Builder:
    """Builds one report section by section, as lists of text pieces.

    A marker is a piece of its own, recorded with the value it replaced; positions are only
    assigned in :func:`_assemble`, once the whole report is known.
    """

    __slots__ = ("r", "family", "fixed", "date_format", "year_shift", "items", "marks", "n_traces",
                 "ymd")

    def __init__(self, rng: random.Random, family: str) -> None:
        r = self.r = rng.random
        self.family = family
        self.fixed = (_REDACTION_DIALECTS[int(r() * len(_REDACTION_DIALECTS))]
                      if family == "redaction" else _FIXED_MARKERS.get(family))
        self.date_format = _DATE_FORMATS[int(r() * len(_DATE_FORMATS))]
        self.year_shift = 100 + int(r() * 120)  # PhysioNet shifts years into the 2100s-2300s
        self.items: list[str] = []
        self.marks: list[tuple[int, str, str]] = []
        self.n_traces = 0
        self.ymd = (2000, 1, 1)

    def draw(self, pool: _Pool, sep: str = " ") -> None:
        """Append one sentence from ``pool``, preceded by ``sep`` unless it opens the section."""
        r = self.r
        group = pool[int(r() * len(pool))]
        template = group[int(r() * len(group))]
        items = self.items
        if items:
            items.append(sep)
        if template.__class__ is str:
            items.append(template)
            return
        for part in template:
            if part.__class__ is str:
                items.append(part)
            elif part.__class__ is tuple:
                items.append(part[int(r() * len(part))])
            else:  # a class test narrows only where it holds, so mypy is told what is left: a slot
                self._trace(cast(_Slot, part))

    def section(self, head: str) -> _Section:
        """Close the section under construction under ``head`` and start a new one."""
        section = (head, self.items, self.marks)
        self.items = []
        self.marks = []
        return section

    # -- values ------------------------------------------------------------------------------

    def _value(self, slot: _Slot) -> str:
        """Draw the true value of a slot, in the format this report's author would write it."""
        r = self.r
        v = slot.value
        if v == "name":
            return _SURNAMES[int(r() * len(_SURNAMES))]
        if v == "first":
            return _FIRST_NAMES[int(r() * len(_FIRST_NAMES))]
        if v in ("date", "md", "year", "iso"):
            return self._date(v)
        if v == "time":
            return _FILLERS["clock"][int(r() * len(_FILLERS["clock"]))]
        if v == "hh":
            return f"{1 + int(r() * 12)}"
        if v == "mm":
            return f"{int(r() * 60):02d}"
        if v == "age":
            return str(18 + int(r() * 78))
        if v == "place":
            return _PLACES[int(r() * len(_PLACES))]
        if v == "id":
            return str(10000 + int(r() * 9990000))
        if v == "phone":
            return f"{200 + int(r() * 800)}-555-{int(r() * 10000):04d}"
        if v == "email":
            return (f"{_FIRST_NAMES[int(r() * len(_FIRST_NAMES))]}."
                    f"{_SURNAMES[int(r() * len(_SURNAMES))]}@example.org").lower()
        if v == "lang":
            return _LANGUAGES[int(r() * len(_LANGUAGES))]
        if v == "size":
            return str(3 + int(r() * 7))
        return slot.word

    def _date(self, v: str) -> str:
        """Draw a date as slot *v* writes it: the author's format, month/day, the year alone or ISO.

        Kept in ``ymd`` too, for a PhysioNet tag to write it shifted. A method of its own because
        four formats of one draw made :meth:`_value` too branchy to read."""
        r = self.r
        y, m, d = 2008 + int(r() * 16), 1 + int(r() * 12), 1 + int(r() * 28)
        self.ymd = (y, m, d)
        if v == "date":
            return self.date_format.format(y=y, m=m, d=d, yy=y % 100, month=_MONTHS[m - 1])
        if v == "md":
            return f"{m}/{d}"
        if v == "year":
            return str(y)
        return f"{y}-{m:02d}-{d:02d}"

    # -- markers -----------------------------------------------------------------------------

    def _trace(self, slot: _Slot) -> None:
        """Append a slot's value as this family would leave it: masked, or kept as is."""
        original = self._value(slot)
        if self.fixed is not None:
            marker = self.fixed.get(slot.value)
        elif self.family == "physionet":
            marker = self._physionet(slot.value, original)
        elif slot.value in _TOKENWISE_KEPT[self.family]:
            marker = None
        else:
            self._trace_tokens(original, slot.kind)
            return
        if marker is None:
            self.items.append(original)
        else:
            self._mark(marker, original, slot.kind)

    def _mark(self, marker: str, original: str, kind: str) -> None:
        """Append a marker as a piece of its own and remember what it replaced."""
        self.marks.append((len(self.items), original, kind))
        self.items.append(marker)
        self.n_traces += 1

    def _trace_tokens(self, original: str, kind: str) -> None:
        """Mask each whitespace token on its own, trailing punctuation kept (Open-I, philter)."""
        openi = self.family == "openi"
        for i, token in enumerate(original.split(" ")):
            if i:
                self.items.append(" ")
            core = token.rstrip(_TOKEN_TRAIL)
            if openi:
                marker = "XXXX"
            else:
                marker = "*" * len(core) if core.isalnum() else core.translate(_PHILTER_MASK)
            self._mark(marker, core, kind)
            if len(core) < len(token):
                self.items.append(token[len(core) :])

    def _physionet(self, slot: str, original: str) -> str | None:
        """A PhysioNet ``deid`` tag: shifted dates in place, other values as category + number.

        Ages stay unless over 89, as in MIMIC-III; times are not PHI to that tool.
        """
        y, m, d = self.ymd
        if slot in ("date", "iso"):
            body = f"{y + self.year_shift}-{m}-{d}"
        elif slot == "md":
            body = f"{m}-{d}"
        elif slot == "year":
            body = str(y + self.year_shift)
        elif slot == "age":
            if int(original) < 90:
                return None
            body = "Age over 90 "
        elif slot in _PHYSIONET_TAGS:
            tags = _PHYSIONET_TAGS[slot]
            body = tags[int(self.r() * len(tags))].format(n=1 + int(self.r() * 20000))
        else:
            return None
        return f"[**{body}**]".replace(" ", _PROTECTED_SPACE)


# --------------------------------------------------------------------------------------------
# Report layout
# --------------------------------------------------------------------------------------------


def _headers(bold: bool) -> dict[str, str]:
    """Section headers, keyed by name; a trailing newline in the key puts the body below."""
    heads = {}
    for name in ("EXAMINATION", "INDICATION", "TECHNIQUE", "COMPARISON", "FINDINGS", "IMPRESSION"):
        head = f"**{name}:**" if bold else f"{name}:"
        heads[name] = head + " "
        heads[name + "\n"] = head + "\n"
    return heads


#: Plain headers, and the markdown-bold ones some exports use (``**IMPRESSION:**``).
_HEADERS = _headers(False)
_BOLD_HEADERS = _headers(True)


def _draw_family(r: float) -> str:
    """A family for a "mixed" report, weighted like the sources a real mix would contain."""
    for (family, _), bound in zip(_FAMILY_WEIGHTS, _FAMILY_CUMULATIVE, strict=True):
        if r < bound:
            return family
    return _FAMILY_WEIGHTS[-1][0]


def _build(b: _Builder, label: int, traced: bool) -> list[_Section]:
    """Draw a report's sections, in order.

    Trace sites are only used when ``traced``; a traced report that drew none gets a dated
    comparison, so every traced report carries at least one marker.
    """
    r = b.r
    family = b.family
    openi_layout = family == "openi" or (family not in ("mimic", "physionet") and r() < 0.3)
    heads = _BOLD_HEADERS if r() < 0.06 else _HEADERS
    sections: list[_Section] = []

    if traced and r() < (0.5 if family == "philter" else 0.04):
        b.draw(_RECORD_DATE_T)
        sections.append(b.section(""))
    if not openi_layout and r() < 0.4:
        sections.append(("", ["FINAL REPORT"], []))

    # INDICATION, TECHNIQUE, COMPARISON
    b.draw(_INDICATION_T if traced and r() < 0.55 else _INDICATION)
    indication = b.section(heads["INDICATION"])
    if traced and r() < 0.7:
        b.draw(_OPENI_COMPARISON_T if family == "openi" and r() < 0.4 else _COMPARISON_T)
    else:
        b.draw(_COMPARISON)
    comparison = b.section(heads["COMPARISON"])
    if openi_layout:
        sections += [comparison, indication]
    else:
        b.draw(_EXAMINATION)
        sections.append(b.section(heads["EXAMINATION"]))
        sections.append(indication)
        if r() < 0.75:
            b.draw(_TECHNIQUE_T if traced and r() < 0.08 else _TECHNIQUE)
            sections.append(b.section(heads["TECHNIQUE"]))
        sections.append(comparison)

    # FINDINGS
    own_line = not openi_layout and r() < 0.35
    if r() < (0.85 if openi_layout else 0.88):
        if traced and not openi_layout and r() < 0.25:
            b.draw(_OPENER_T)
        if r() < 0.22:
            for _ in range(1 + int(r() * 3)):
                b.draw(_DEVICES)
        if traced and family == "mimic" and r() < 0.3:
            b.draw(_GLUED_TIME_T)
        if label:
            for _ in range(1 + int(r() * 2)):
                b.draw(_PNEUMONIA)
            if r() < 0.3:
                b.draw(_EFFUSION)
        else:
            b.draw(_LUNGS_NORMAL)
        if traced and r() < (0.6 if family == "openi" else 0.3):
            b.draw(_OVERSCRUB_T[family])
        for pool, p in _FINDINGS_TOPICS:
            if r() < p:
                b.draw(pool)
        if traced and r() < 0.3:
            b.draw(_TIMEREF_T)
        sections.append(b.section(heads["FINDINGS\n" if own_line else "FINDINGS"]))

    # IMPRESSION, numbered ("1. ...\n2. ...") in some reports that have several sentences
    pools = [_IMPRESSION_PNEUMONIA if label else _IMPRESSION_NORMAL]
    if r() < 0.25:
        pools.append(_IMPRESSION_EXTRA_PNEUMONIA if label else _IMPRESSION_EXTRA_NORMAL)
    if traced and r() < 0.35:
        modern = family in ("presidio", "scrubadub", "redaction") and r() < 0.3
        pools.append(_COMMUNICATION_MODERN_T if modern else _COMMUNICATION_T)
    elif r() < 0.12:
        pools.append(_COMMUNICATION)
    numbered = len(pools) > 1 and r() < 0.35
    if numbered:
        b.items.append("1. ")
    for k, pool in enumerate(pools, 1):
        b.draw(pool, (f"\n{k}. " if k > 1 else "") if numbered else " ")
    sections.append(b.section(heads["IMPRESSION\n" if own_line or numbered else "IMPRESSION"]))

    # a signature block under a line of underscores, which is not a marker
    if r() < 0.12:
        b.items.append("_" * (10 + int(r() * 31)))
        b.draw(_SIGNATURE, "\n")
        sections.append(b.section(""))

    if traced and b.n_traces == 0:
        b.draw(_FORCED_COMPARISON_T)
        at = next(i for i, section in enumerate(sections) if section is comparison)
        sections[at] = b.section(comparison[0])
    return sections


def _wrap(text: str, width: int) -> str:
    """Greedy hard wrap that turns chosen spaces into newlines, so no offset moves.

    A word longer than ``width`` stays whole on its own line. Spaces inside markers have been
    replaced by ``_PROTECTED_SPACE`` beforehand, so a marker is never broken.
    """
    out: list[str] = []
    for line in text.split("\n"):
        while len(line) > width:
            cut = line.rfind(" ", 0, width + 1)
            if cut <= 0:
                cut = line.find(" ", width + 1)
                if cut < 0:
                    break
            out.append(line[:cut])
            line = line[cut + 1 :]
        out.append(line)
    return "\n".join(out)


def _assemble(report_id: str, family: str, sections: list[_Section], width: int,
              label: int) -> SyntheticReport:
    """Lay the sections out, wrap them, and derive spans and the clean text."""
    texts: list[str] = []
    found: list[tuple[int, int, str, str]] = []  # start, end, kind, original
    offset = 0
    for head, items, marks in sections:
        body = head + "".join(items)
        if len(body) > width:
            body = _wrap(body, width)
        if marks:
            starts = list(itertools.accumulate(map(len, items), initial=offset + len(head)))
            found += [(starts[i], starts[i + 1], kind, original) for i, original, kind in marks]
        texts.append(body)
        offset += len(body) + 2
    text = "\n\n".join(texts)
    if not found:
        return SyntheticReport(report_id, text, text, (), label)
    if _PROTECTED_SPACE in text:
        text = text.replace(_PROTECTED_SPACE, " ")
    clean: list[str] = []
    last = 0
    for start, end, _, original in found:
        clean.append(text[last:start])
        clean.append(original)
        last = end
    clean.append(text[last:])
    spans = tuple(Span(start, end, family, kind, original) for start, end, kind, original in found)
    return SyntheticReport(report_id, text, "".join(clean), spans, label)


def generate(n: int, seed: int = 0, style: str = "mixed", labels: Sequence[int] | None = None,
             trace_rate: float = 0.7) -> Iterator[SyntheticReport]:
    """Yield ``n`` synthetic reports, identical for identical arguments.

    All randomness comes from one ``random.Random(seed)``, so output does not depend on hash
    randomisation or on anything but the arguments. ``labels[i]`` fixes report ``i``'s label
    (0 normal, 1 pneumonia); otherwise about 30% are pneumonia. ``trace_rate`` is the share of
    reports carrying at least one trace; the rest read as if never scrubbed.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, not {style!r}")
    if not 0.0 <= trace_rate <= 1.0:
        raise ValueError(f"trace_rate must lie in [0, 1], not {trace_rate!r}")
    if labels is not None and len(labels) < n:
        raise ValueError(f"labels has {len(labels)} entries, fewer than n={n}")
    rng = random.Random(seed)
    r = rng.random
    for i in range(n):
        family = _draw_family(r()) if style == "mixed" else style
        label = int(labels[i]) if labels is not None else int(r() < 0.3)
        traced = r() < trace_rate
        width = 60 + int(r() * 21)
        sections = _build(_Builder(rng, family), label, traced)
        yield _assemble(f"s{50000000 + i}", family, sections, width, label)


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------

_FORMATS = ("csv", "tsv", "jsonl", "parquet", "txt")
_COLUMNS = ("study_id", "subject_id", "report", "label")
_PARQUET_BATCH = 8192


def _infer_format(path: Path, fmt: str | None) -> tuple[str, bool]:
    """The output format and whether to gzip it, from ``fmt`` or the file name."""
    name = path.name.lower()
    gz = name.endswith(".gz")
    stem = name[:-3] if gz else name
    if fmt is None:
        suffix = stem.rpartition(".")[2] if "." in stem else ""
        if suffix in ("csv", "tsv", "jsonl", "parquet"):
            fmt = suffix
        elif not suffix or path.is_dir():
            fmt = "txt"
        else:
            raise ValueError(f"cannot tell the format of {path} from its name; pass fmt")
    if fmt not in _FORMATS:
        raise ValueError(f"fmt must be one of {_FORMATS}, not {fmt!r}")
    if gz and fmt in ("parquet", "txt"):
        raise ValueError(f"{fmt} output cannot be gzipped")
    return fmt, gz


def _subject_ids(seed: int) -> Iterator[int]:
    """MIMIC-like subject ids: sparse, increasing, several consecutive studies per subject."""
    r = random.Random(seed + 0x5EED).random
    subject = 10000000 + int(r() * 1000)
    while True:
        yield subject
        if r() < 0.65:
            subject += 1 + int(r() * 40)


@contextmanager
def _atomic(path: Path, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` and move it into place only if the block succeeds.

    Readers never see a half-written dataset, and a failed run leaves nothing behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    if directory:
        tmp.mkdir()
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if directory:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


@contextmanager
def _open_text(path: Path, gz: bool) -> Iterator[TextIO]:
    """Open a new UTF-8 text file without newline translation, gzipped if asked.

    Gzip output carries no timestamp or file name, so the same data always gives the same bytes.
    """
    if not gz:
        with open(path, "x", encoding="utf-8", newline="") as f:
            yield f
        return
    with open(path, "xb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zf, \
            io.TextIOWrapper(zf, encoding="utf-8", newline="") as f:
        yield f


def write_dataset(path: str | Path, n: int, seed: int = 0, style: str = "mixed",
                  fmt: str | None = None) -> int:
    """Write ``generate(n, seed, style)`` as a dataset; return the number of reports written.

    The format comes from ``fmt`` or the suffix (``.csv``, ``.tsv``, ``.jsonl``, each optionally
    ``.gz``, or ``.parquet``); any other path is a directory in MIMIC-CXR's layout,
    ``files/p10/p10000032/s50000000.txt`` plus ``labels.csv``. Records carry ``study_id``,
    ``subject_id``, ``report`` and ``label``. Reports are streamed, never held all at once, and
    the result appears atomically.
    """
    path = Path(path)
    fmt, gz = _infer_format(path, fmt)
    rows = ((rep.id, subject, rep.text, rep.label)
            for rep, subject in zip(generate(n, seed, style), _subject_ids(seed), strict=False))
    if fmt == "txt":
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise FileExistsError(f"{path} exists and is not an empty directory")
        if path.is_dir():
            path.rmdir()
        with _atomic(path, directory=True) as tmp:
            return _write_txt(tmp, rows)
    with _atomic(path) as tmp:
        if fmt == "parquet":
            return _write_parquet(tmp, rows)
        with _open_text(tmp, gz) as f:
            if fmt == "jsonl":
                return _write_jsonl(f, rows)
            return _write_csv(f, rows, "\t" if fmt == "tsv" else ",")


_Row = tuple[str, int, str, int]


def _write_csv(f: TextIO, rows: Iterable[_Row], delimiter: str) -> int:
    writer = csv.writer(f, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def _write_jsonl(f: TextIO, rows: Iterable[_Row]) -> int:
    count = 0
    for row in rows:
        f.write(json.dumps(dict(zip(_COLUMNS, row, strict=True)), ensure_ascii=False))
        f.write("\n")
        count += 1
    return count


def _write_parquet(path: Path, rows: Iterable[_Row]) -> int:
    """Parquet in row groups of ``_PARQUET_BATCH``; pyarrow is imported only when needed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("study_id", pa.string()), ("subject_id", pa.int64()),
                        ("report", pa.string()), ("label", pa.int64())])
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        rows = iter(rows)
        while batch := list(itertools.islice(rows, _PARQUET_BATCH)):
            columns = [pa.array(column, type=field.type)
                       for column, field in zip(zip(*batch, strict=True), schema, strict=True)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
            count += len(batch)
    return count


def _write_txt(root: Path, rows: Iterable[_Row]) -> int:
    """One file per report under ``files/pXX/pSUBJECT/STUDY.txt``, labels in ``labels.csv``."""
    count = 0
    with open(root / "labels.csv", "x", encoding="utf-8", newline="") as labels:
        writer = csv.writer(labels, lineterminator="\n")
        writer.writerow(("study_id", "subject_id", "label"))
        made: set[int] = set()
        for study_id, subject, text, label in rows:
            folder = root / "files" / f"p{str(subject)[:2]}" / f"p{subject}"
            if subject not in made:
                folder.mkdir(parents=True, exist_ok=True)
                made.add(subject)
            with open(folder / f"{study_id}.txt", "x", encoding="utf-8", newline="") as f:
                f.write(text)
            writer.writerow((study_id, subject, label))
            count += 1
    return count


def write_ground_truth(path: str | Path, n: int, seed: int = 0, style: str = "mixed") -> int:
    """Write the spans of ``generate(n, seed, style)`` as JSONL (``.gz`` allowed) for recall.

    One line per report, in dataset order: ``{"study_id", "row", "spans": [[start, end, family,
    kind], ...]}`` with offsets into the report text. Returns the number of lines.
    """
    path = Path(path)
    count = 0
    with _atomic(path) as tmp, _open_text(tmp, path.name.lower().endswith(".gz")) as f:
        for row, rep in enumerate(generate(n, seed, style)):
            spans = [[s.start, s.end, s.family, s.kind] for s in rep.spans]
            f.write(json.dumps({"study_id": rep.id, "row": row, "spans": spans}))
            f.write("\n")
            count += 1
    return count
