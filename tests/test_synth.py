"""Tests for the synthetic report generator: ground truth exactness, realism checks, writers."""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from deidlint.engine import Scanner
from deidlint.errors import UsageError
from deidlint.rules import load_pack, load_packs
from deidlint.synth import (
    FAMILIES,
    KINDS,
    STYLES,
    SyntheticReport,
    generate,
    write_dataset,
    write_ground_truth,
)
from deidlint.synth.families import BUILTIN, load_families
from deidlint.synth.report import wrap

ROOT = Path(__file__).resolve().parents[1]
N = 2000


@functools.cache
def reports(style: str, n: int = N, seed: int = 0) -> tuple[SyntheticReport, ...]:
    return tuple(generate(n, seed=seed, style=style))


def corpus(style: str) -> str:
    """All texts of a style, one line each (newlines folded), for shape searches."""
    return "\n".join(r.text.replace("\n", " ") for r in reports(style))


def digest(reps: tuple[SyntheticReport, ...] | list[SyntheticReport]) -> str:
    h = hashlib.sha256()
    for r in reps:
        h.update(repr((r.id, r.text, r.clean, r.spans, r.label)).encode())
    return h.hexdigest()


# ---------------------------------------------------------------------------------- determinism


def test_same_seed_same_reports() -> None:
    assert digest(list(generate(300, seed=5))) == digest(list(generate(300, seed=5)))


def test_different_seeds_differ() -> None:
    a, b = list(generate(50, seed=1)), list(generate(50, seed=2))
    assert sum(x.text != y.text for x, y in zip(a, b, strict=True)) > 45


def test_independent_of_hash_randomisation() -> None:
    code = (
        "import hashlib,sys; sys.path.insert(0, sys.argv[1]); from deidlint.synth import generate;"
        "h=hashlib.sha256()\n"
        "for r in generate(200, seed=9): h.update(repr((r.id, r.text, r.clean, r.spans, r.label)).encode())\n"
        "print(h.hexdigest())"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT)], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == digest(list(generate(200, seed=9)))


def test_reports_vary() -> None:
    texts = [r.text for r in reports("mixed")]
    assert len(set(texts)) > 0.99 * len(texts)
    sentences = {s for t in texts for s in re.split(r"(?<=\.) ", t.replace("\n", " "))}
    assert len(sentences) > 2000


# ------------------------------------------------------------------------------- ground truth


@pytest.mark.parametrize("style", STYLES)
def test_span_invariants(style: str) -> None:
    for r in reports(style):
        last = 0
        clean = []
        for s in r.spans:
            assert last <= s.start < s.end <= len(r.text)
            assert s.kind in KINDS
            assert s.family == style if style != "mixed" else s.family in FAMILIES
            assert s.original and "\n" not in s.original
            clean += [r.text[last : s.start], s.original]
            last = s.end
        clean.append(r.text[last:])
        assert "".join(clean) == r.clean
        assert len({s.family for s in r.spans}) <= 1


@pytest.mark.parametrize("style", STYLES)
def test_clean_text_has_no_trace(style: str) -> None:
    """Every trace in ``text`` is a span: once substituted, nothing marker-like is left."""
    leftovers = re.compile(
        r"(?<!_)___(?!_)|XXXX|\[\*\*|<[A-Z_]+>|\{\{|\[(?:REDACTED|NAME|DATE|PHI)\]|<<|\*\*\*|"
        r"(?<![\w*])\*+(?:-\*+)+"
    )
    found = leftovers.search("\n".join(r.clean for r in reports(style)))
    assert found is None, found


def test_trace_rate() -> None:
    share = sum(bool(r.spans) for r in reports("mixed")) / N
    assert 0.65 < share < 0.75
    assert not any(r.spans for r in generate(300, seed=1, trace_rate=0.0))
    assert all(r.spans for r in generate(300, seed=1, trace_rate=1.0))
    assert all(r.text == r.clean for r in reports("mixed") if not r.spans)


def test_mixed_draws_every_family_weighted() -> None:
    counts = {f: 0 for f in FAMILIES}
    for r in reports("mixed"):
        if r.spans:
            counts[r.spans[0].family] += 1
    assert all(counts.values())
    assert counts["mimic"] > counts["openi"] > counts["presidio"]


# -------------------------------------------------------------------------------- marker shapes

@pytest.mark.parametrize("family", FAMILIES)
def test_family_marker_shapes_occur(family: str) -> None:
    text = corpus(family)
    missing = [shape for shape in BUILTIN[family].shapes if not re.search(shape, text)]
    assert not missing


@pytest.mark.parametrize("family", FAMILIES)
def test_every_shape_of_a_record_is_found_by_its_pack(family: str) -> None:
    """A record's shapes are examples of its family: its own pack finds a marker in each."""
    (pack,) = [p for p in load_packs() if p.name == family]
    engine = Scanner(pack.rules)
    shapes = BUILTIN[family].shapes
    assert shapes
    for shape in shapes:
        hit = next((r.text, m) for r in reports(family) if (m := re.search(shape, r.text.replace("\n", " "))))
        text, m = hit
        assert any(f.start < m.end() and m.start() < f.end for f in engine.scan(text)), (shape, m.group())


SITE_PACK = """[pack]
name = "site"
description = "a made-up scrubber"
triggers = ["@@"]

[[rules]]
code = "ST001"
name = "site-tag"
message = "site tag"
pattern = '@@[A-Z]+@@'
match = ["Dr. @@NAME@@ was paged"]
"""
SITE_FAMILY = """[family]
name = "site"
weight = 0.1
mix_order = 8
openi_layout = 0.5
record_date = 0.1
shapes = ['Dr\\. @@NAME@@']

[family.markers]
scheme = "replace"
dialects = [{ name = "@@NAME@@", first = "@@NAME@@", date = "@@DATE@@", place = "@@PLACE@@" }]

[family.overscrubbed]
share = 0.5
sentences = ["The {w:Dobhoff} tube {ends|terminates} in the stomach."]
"""


def test_a_new_family_is_a_record_and_a_pack_and_no_code(tmp_path: Path) -> None:
    """A throw-away family written only as data: the generator writes it, its pack finds it all."""
    (tmp_path / "families").mkdir()
    (tmp_path / "families" / "site.toml").write_text(SITE_FAMILY, encoding="utf-8")
    (tmp_path / "site.toml").write_text(SITE_PACK, encoding="utf-8")
    families = {**BUILTIN, **load_families(tmp_path / "families")}
    site = list(generate(300, seed=1, style="site", families=families))
    spans = {(i, s.start, s.end) for i, r in enumerate(site) for s in r.spans}
    assert spans and {s.family for r in site for s in r.spans} == {"site"}
    found = {(i, m.start, m.end) for i, m in Scanner(load_pack(tmp_path / "site.toml").rules).scan_many([r.text for r in site])}
    assert found == spans
    assert re.search(families["site"].shapes[0], "\n".join(r.text for r in site))
    mixed = {s.family for r in generate(500, seed=1, families=families) for s in r.spans}
    assert "site" in mixed and "mimic" in mixed


@pytest.mark.parametrize(("change", "fragment"), [
    (("weight = 0.1", "weight = 2"), "'weight' must lie in [0, 1]"),
    (("mix_order = 8", "mix_order = 1"), "share mix_order 1"),
    (('scheme = "replace"', 'scheme = "magic"'), "'scheme' must be one of"),
    (("name = \"@@NAME@@\"", "nom = \"@@NAME@@\""), "unknown slot(s) nom"),
    (("record_date = 0.1", "record_date = 0.1\nlayout = 1"), "unknown key(s) layout"),
    (("{w:Dobhoff}", "{dobhoff}"), "unknown placeholder"),
])
def test_a_bad_family_record_is_one_error_naming_its_file(tmp_path: Path, change: tuple[str, str], fragment: str) -> None:
    (tmp_path / "site.toml").write_text(SITE_FAMILY.replace(*change), encoding="utf-8")
    for builtin in BUILTIN.values():
        (tmp_path / builtin.path.name).write_bytes(builtin.path.read_bytes())
    with pytest.raises(UsageError) as error:
        load_families(tmp_path)
    assert fragment in str(error.value) and str(tmp_path) in str(error.value)


def test_marker_spans_are_exact() -> None:
    """A span covers the marker only: glued text around it stays outside."""
    seen = set()
    for r in reports("mimic"):
        for s in r.spans:
            assert r.text[s.start : s.end] == "___"
            seen.add((r.text[s.start - 5 : s.start], r.text[s.end : s.end + 1]))
    assert any(after == ":" for _, after in seen) and any(before.endswith("Swan-") for before, _ in seen)
    philter = [s for r in reports("philter") for s in r.spans]
    assert all(len(s.original) == s.end - s.start for s in philter)
    openi = [(r, s) for r in reports("openi") for s in r.spans]
    assert all(r.text[s.start : s.end] == "XXXX" for r, s in openi)
    assert any(s.original == "ray" and r.text[s.start - 2 : s.start] == "x-" for r, s in openi)
    tags = [r.text[s.start : s.end] for r in reports("physionet") for s in r.spans]
    assert all(t.startswith("[**") and t.endswith("**]") for t in tags)


def test_every_kind_occurs() -> None:
    kinds = {s.kind for style in FAMILIES for r in reports(style) for s in r.spans}
    assert kinds == set(KINDS)


# -------------------------------------------------------------------------------- distractors

DISTRACTORS = [
    r"_{10,}\n(?:Electronically signed by|Dictated by|I have personally)", r"\bx-ray\b", r"\bX-ray\b",
    r"< 5 mm", r"\[see prior\]", r"\*\*IMPRESSION:\*\*", r"II-XII", r"T2-T12", r"ORD_\d{4}_\d{4}",
    r"C5-C6", r"\d{1,2}:\d\d [ap]\.m\.",
]


def test_distractors_occur_outside_spans() -> None:
    counts = dict.fromkeys(DISTRACTORS, 0)
    for r in reports("mixed"):
        for pattern in DISTRACTORS:
            for m in re.finditer(pattern, r.text):
                counts[pattern] += 1
                assert not any(s.start < m.end() and m.start() < s.end for s in r.spans), (pattern, r.text)
    assert all(counts.values()), counts


# ------------------------------------------------------------------------------------- layout


def test_sections_and_wrapping() -> None:
    widest = set()
    for r in reports("mixed"):
        lines = r.text.split("\n")
        assert max(map(len, lines)) <= 80
        widest.add(max(map(len, lines)))
        assert "IMPRESSION:" in r.text
        assert "\n\n\n" not in r.text and "\r" not in r.text and not r.text.endswith("\n")
    assert min(widest) < 66 and max(widest) > 76  # widths are drawn per report
    mimic = corpus("mimic")
    assert "FINDINGS:" in mimic and "EXAMINATION:" in mimic and "TECHNIQUE:" in mimic
    openi = reports("openi")
    assert all(r.text.startswith(("COMPARISON:", "**COMPARISON:", "Record date:")) for r in openi)


def test_markers_run_across_line_ends() -> None:
    text = "\n".join(r.text for r in reports("mimic"))
    assert re.search(r"___\n", text) and re.search(r"Dr\.\n___", text)


@pytest.mark.parametrize("width", [60, 67, 80])
def test_wrap_is_greedy_and_keeps_offsets(width: int) -> None:
    text = " ".join(f"w{'x' * (i % 9)}" for i in range(200)) + "\n\nshort line\n" + "y" * 90 + " z"
    wrapped = wrap(text, width)
    assert len(wrapped) == len(text)
    assert all(a == b or (a == " " and b == "\n") for a, b in zip(text, wrapped, strict=True))
    lines = wrapped.split("\n")
    for line, following in zip(lines, lines[1:], strict=False):
        assert len(line) <= width or " " not in line
        if line and following and not line.startswith("short"):
            assert len(line) + 1 + len(following.split(" ")[0]) > width


def test_labels_honoured() -> None:
    labels = [1, 0, 0, 1] * 100
    reps = list(generate(400, seed=3, labels=labels))
    assert [r.label for r in reps] == labels
    pneumonia = re.compile(r"pneumonia|consolidation|opacit|airspace disease|aspiration", re.I)
    for r in reps:
        impression = r.clean.split("IMPRESSION:")[1]
        if r.label:
            assert pneumonia.search(impression)
    drawn = sum(r.label for r in reports("mixed")) / N
    assert 0.25 < drawn < 0.35


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        list(generate(1, style="nope"))
    with pytest.raises(ValueError):
        list(generate(3, labels=[0]))
    with pytest.raises(ValueError):
        list(generate(1, trace_rate=1.5))


# ------------------------------------------------------------------------------------ writers


def read_delimited(path: Path, delimiter: str) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.mark.parametrize("name", ["r.csv", "r.csv.gz", "r.tsv", "r.tsv.gz", "r.jsonl", "r.jsonl.gz"])
def test_text_formats_round_trip(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    assert write_dataset(path, 120, seed=4) == 120
    expected = list(generate(120, seed=4))
    if ".jsonl" in name:
        rows = read_jsonl(path)
    else:
        rows = read_delimited(path, "\t" if ".tsv" in name else ",")
    assert list(rows[0]) == ["study_id", "subject_id", "report", "label"]
    assert [row["report"] for row in rows] == [r.text for r in expected]
    assert [row["study_id"] for row in rows] == [r.id for r in expected]
    assert [int(row["label"]) for row in rows] == [r.label for r in expected]
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left behind


def test_gzip_output_is_reproducible(tmp_path: Path) -> None:
    write_dataset(tmp_path / "a.csv.gz", 50)
    write_dataset(tmp_path / "b.csv.gz", 50)
    assert (tmp_path / "a.csv.gz").read_bytes() == (tmp_path / "b.csv.gz").read_bytes()


def test_parquet_round_trip(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "r.parquet"
    assert write_dataset(path, 100, seed=4) == 100
    table = pq.read_table(path).to_pydict()
    assert table["report"] == [r.text for r in generate(100, seed=4)]
    with pytest.raises(UsageError):
        write_dataset(tmp_path / "r.parquet.gz", 1)


def test_txt_layout(tmp_path: Path) -> None:
    root = tmp_path / "mimic-cxr"
    assert write_dataset(root, 60, seed=4) == 60
    files = sorted(root.glob("files/p*/p*/s*.txt"))
    assert len(files) == 60
    for f in files:
        group, subject, study = f.relative_to(root / "files").parts
        assert re.fullmatch(r"p1\d", group) and re.fullmatch(r"p1\d{7}", subject)
        assert subject.startswith(group) and re.fullmatch(r"s\d{8}\.txt", study)
    texts = {r.id: r.text for r in generate(60, seed=4)}
    assert {f.stem: f.read_text(encoding="utf-8") for f in files} == texts
    labels = read_delimited(root / "labels.csv", ",")
    assert len(labels) == 60 and len({row["subject_id"] for row in labels}) < 60
    with pytest.raises(UsageError):
        write_dataset(root, 1)


def test_ground_truth_matches(tmp_path: Path) -> None:
    path = tmp_path / "gt.jsonl"
    assert write_ground_truth(path, 80, seed=4, style="physionet") == 80
    for row, (line, r) in enumerate(zip(read_jsonl(path), generate(80, seed=4, style="physionet"), strict=True)):
        assert line == {"study_id": r.id, "row": row,
                        "spans": [[s.start, s.end, s.family, s.kind] for s in r.spans]}


def test_bundled_example_is_reproducible(tmp_path: Path) -> None:
    fresh = tmp_path / "reports.csv"
    write_dataset(fresh, 500, seed=0, style="mixed")
    assert (ROOT / "examples" / "reports.csv").read_bytes() == fresh.read_bytes()


def test_csv_quoting_is_minimal(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    write_dataset(path, 30, seed=4)
    raw = path.read_text(encoding="utf-8")
    assert raw.startswith("study_id,subject_id,report,label\ns50000000,")
    assert "\r" not in raw
    rows = list(csv.reader(io.StringIO(raw)))
    assert len(rows) == 31
