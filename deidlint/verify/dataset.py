"""Paired image-report data for ``verify``: user tables, the bundled demo, and the held-out split.

Memorization is scored per *prompt*, so rows are grouped by their prompt text: a prompt that
occurs in several rows (a duplicated pair, as real datasets have) is one scored item with a
count. Prompts held out from training come only from prompts that occur once, so the
calibration set looks like the ordinary, non-duplicated part of the data.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from deidlint.verify.errors import VerifyError

DEMO_FILE = Path(__file__).resolve().parent / "data" / "pneumoniamnist_demo.npz"
DEMO_HELDOUT = 64
"""Demo prompts kept out of training to calibrate the thresholds."""
DEMO_DUPLICATED = 16
"""Demo pairs that are duplicated in the training set ..."""
DEMO_COPIES = 16
"""... each appearing this many times, like the repeated studies of real report corpora."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

ImageRef = np.ndarray | bytes | Path
"""An image in memory (uint8 array), encoded bytes, or a file."""


class DataError(VerifyError):
    """Unusable data; the CLI reports it as a one-line error."""


@dataclass
class PairedData:
    """Rows of (prompt, image); the same prompt may occur in several rows."""

    prompts: list[str]
    images: list[ImageRef]
    source: str
    notes: list[str] = field(default_factory=list)
    """Facts about how the data was built, repeated in the report (e.g. the demo's duplication)."""
    labels: list[int] | None = None
    """A 0/1 image label per row (``--label-column``; the demo: normal/pneumonia), for utility."""
    label_names: tuple[str, str] = ("0", "1")

    def __len__(self) -> int:
        return len(self.prompts)

    def items(self) -> tuple[list[str], list[list[int]]]:
        """Unique prompts in order of first occurrence, and the rows that carry each."""
        rows: dict[str, list[int]] = {}
        for index, prompt in enumerate(self.prompts):
            rows.setdefault(prompt, []).append(index)
        return list(rows), list(rows.values())

    def subset(self, rows: Sequence[int]) -> PairedData:
        labels = [self.labels[i] for i in rows] if self.labels is not None else None
        return PairedData([self.prompts[i] for i in rows], [self.images[i] for i in rows], self.source, list(self.notes),
                          labels, self.label_names)  # fmt: skip

    def fingerprint(self) -> str:
        """Hash of prompts and images, to tell whether a resumed run sees the same data."""
        digest = hashlib.sha256()
        for prompt, image in zip(self.prompts, self.images, strict=True):
            digest.update(prompt.encode())
            if isinstance(image, np.ndarray):
                digest.update(image.tobytes())
            elif isinstance(image, bytes):
                digest.update(image)
            else:
                stat = image.stat()
                digest.update(f"{image}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return digest.hexdigest()[:16]


def load_images(images: Sequence[ImageRef], size: int, channels: int) -> np.ndarray:
    """Images as uint8 ``(n, channels, size, size)``: resized on the short side, centre-cropped."""
    out = np.empty((len(images), channels, size, size), dtype=np.uint8)
    for index, ref in enumerate(images):
        if isinstance(ref, np.ndarray):
            image = Image.fromarray(ref)
        elif isinstance(ref, bytes):
            image = Image.open(io.BytesIO(ref))
        else:
            image = Image.open(ref)
        image = image.convert("L" if channels == 1 else "RGB")
        scale = size / min(image.size)
        width, height = max(size, round(image.width * scale)), max(size, round(image.height * scale))
        image = image.resize((width, height), Image.Resampling.BILINEAR)
        left, top = (width - size) // 2, (height - size) // 2
        array = np.asarray(image.crop((left, top, left + size, top + size)))
        out[index] = array[None] if channels == 1 else array.transpose(2, 0, 1)
    return out


def load_table(
    path: str | Path,
    column: str = "text",
    image_column: str = "image",
    image_dir: str | Path | None = None,
    id_column: str = "id",
    label_column: str | None = None,
) -> PairedData:
    """Read a CSV, JSONL or Parquet table of prompts and images.

    With ``image_dir`` each row's image is ``image_dir/<id>.<png|jpg|...>`` (``id_column``);
    otherwise ``image_column`` holds a path (relative to the table's folder), encoded bytes, or a
    ``{"bytes": ..., "path": ...}`` record as Hugging Face datasets write to Parquet.
    ``label_column`` holds a binary image label (two distinct values) for the utility measures.
    """
    import pandas as pd

    table_path = Path(path)
    if not table_path.is_file():
        raise DataError(f"--data {table_path}: no such file")
    suffix = table_path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(table_path)
        elif suffix in {".jsonl", ".ndjson", ".json"}:
            frame = pd.read_json(table_path, lines=suffix != ".json")
        elif suffix in {".parquet", ".pq"}:
            frame = pd.read_parquet(table_path)
        else:
            raise DataError(f"--data {table_path}: unsupported format (use .csv, .jsonl or .parquet)")
    except (ValueError, OSError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"--data {table_path}: cannot read: {str(exc).splitlines()[0]}") from exc
    if column not in frame.columns:
        raise DataError(
            f"--data {table_path}: no column {column!r} (columns: {', '.join(map(str, frame.columns))}); pick one with --column"
        )
    frame = frame[frame[column].notna() & (frame[column].astype(str).str.strip() != "")]
    if frame.empty:
        raise DataError(f"--data {table_path}: no rows with a prompt in column {column!r}")
    if image_dir is not None:
        images = _images_from_dir(frame, Path(image_dir), id_column, table_path)
    else:
        if image_column not in frame.columns:
            raise DataError(
                f"--data {table_path}: no image column {image_column!r}; pick one with --image-column or use --image-dir"
            )
        images = [_image_ref(value, table_path.parent) for value in frame[image_column]]
    missing = [ref for ref in images if isinstance(ref, Path) and not ref.is_file()]
    if missing:
        raise DataError(f"{len(missing)} image file(s) not found, first: {missing[0]}")
    data = PairedData([str(text) for text in frame[column]], images, str(table_path.resolve()))
    if label_column is not None:
        data.labels, data.label_names = _binary_labels(frame, label_column, table_path)
    return data


def _binary_labels(frame: Any, column: str, table_path: Path) -> tuple[list[int], tuple[str, str]]:
    """A column of two distinct values as 0/1 (in sorted order of the values' text)."""
    if column not in frame.columns:
        raise DataError(f"--data {table_path}: no label column {column!r}")
    values = frame[column]
    if values.isna().any():
        raise DataError(f"--data {table_path}: label column {column!r} has {int(values.isna().sum())} empty cell(s)")
    text = values.astype(str)
    names = sorted(set(text))
    if len(names) != 2:
        raise DataError(f"--data {table_path}: label column {column!r} must hold two distinct values, not {len(names)}")
    return [int(value == names[1]) for value in text], (names[0], names[1])


def load_prompt_list(path: str | Path, column: str = "text") -> list[str]:
    """Prompts of ``--memorized``: a .txt file holds one per line; a CSV, JSONL or Parquet table
    holds them in ``column`` (reports that span several lines need a table)."""
    import pandas as pd

    list_path = Path(path)
    if not list_path.is_file():
        raise DataError(f"--memorized {list_path}: no such file")
    suffix = list_path.suffix.lower()
    try:
        if suffix == ".txt":
            prompts = [line for line in list_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        else:
            if suffix == ".csv":
                frame = pd.read_csv(list_path)
            elif suffix == ".jsonl":
                frame = pd.read_json(list_path, lines=True)
            elif suffix == ".parquet":
                frame = pd.read_parquet(list_path)
            else:
                raise DataError(f"--memorized {list_path}: unsupported format (use .txt, .csv, .jsonl or .parquet)")
            if column not in frame.columns:
                raise DataError(f"--memorized {list_path}: no column {column!r}; pick one with --column")
            prompts = [str(text) for text in frame[column].dropna()]
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"--memorized {list_path}: cannot read: {str(exc).splitlines()[0]}") from None
    if not prompts:
        raise DataError(f"--memorized {list_path}: no prompts")
    return prompts


def normalise_prompt(text: str) -> str:
    """A prompt with its whitespace collapsed, so a listed prompt matches however it was wrapped."""
    return " ".join(text.split())


def _images_from_dir(frame: Any, image_dir: Path, id_column: str, table_path: Path) -> list[ImageRef]:
    if not image_dir.is_dir():
        raise DataError(f"--image-dir {image_dir}: no such folder")
    if id_column not in frame.columns:
        raise DataError(
            f"--data {table_path}: no id column {id_column!r} to find images in --image-dir; pick one with --id-column"
        )
    by_stem = {item.stem: item for item in image_dir.iterdir() if item.suffix.lower() in IMAGE_SUFFIXES}
    images: list[ImageRef] = []
    for value in frame[id_column]:
        name = str(value)
        ref = image_dir / name if (image_dir / name).is_file() else by_stem.get(name)
        if ref is None:
            raise DataError(f"--image-dir {image_dir}: no image for id {name!r}")
        images.append(ref)
    return images


def _image_ref(value: Any, base: Path) -> ImageRef:
    if isinstance(value, dict):
        if value.get("bytes"):
            return bytes(value["bytes"])
        value = value.get("path")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, str) or not value:
        raise DataError(f"image column holds {type(value).__name__} values; expected file paths or image bytes")
    path = Path(value)
    return path if path.is_absolute() else base / path


def load_demo(seed: int) -> tuple[PairedData, PairedData]:
    """The bundled demo: PneumoniaMNIST images paired with synthetic reports of the same label.

    The reports come from :func:`deidlint.synth.generate` (deterministic by ``seed``), so they
    carry known de-identification traces. :data:`DEMO_DUPLICATED` training pairs are repeated
    :data:`DEMO_COPIES` times so that memorization has a realistic chance to appear, and
    :data:`DEMO_HELDOUT` pairs are held out for calibration. Returns (train, held-out).
    """
    try:
        from deidlint import synth
    except ImportError as exc:
        raise DataError("the demo data needs deidlint.synth, which this installation lacks; pass --data") from exc
    with np.load(DEMO_FILE) as bundle:
        images, labels = bundle["images"], bundle["labels"].astype(int)
    reports = list(synth.generate(len(images), seed=seed, labels=labels.tolist()))
    prompts = [report.text for report in reports]
    order = np.random.default_rng(seed).permutation(len(images))
    heldout, train = order[:DEMO_HELDOUT], order[DEMO_HELDOUT:]
    duplicated = train[:DEMO_DUPLICATED]
    rows = [int(i) for i in train] + [int(i) for i in duplicated for _ in range(DEMO_COPIES - 1)]
    notes = [
        f"Demo data: {len(images)} PneumoniaMNIST images (MedMNIST v2, CC BY 4.0; Kermany et al. 2018) "
        f"paired with synthetic reports from deidlint.synth (seed {seed}, label-matched).",
        f"{len(train)} pairs are trained on; {DEMO_DUPLICATED} of them are duplicated {DEMO_COPIES} times "
        f"({len(rows)} training rows), as real report corpora repeat studies, so memorization can appear.",
        f"{DEMO_HELDOUT} pairs are held out (never trained on) to calibrate the thresholds.",
    ]
    source = f"demo:{DEMO_FILE.name}"
    names = ("normal", "pneumonia")
    train_data = PairedData([prompts[i] for i in rows], [images[i] for i in rows], source, notes,
                            [int(labels[i]) for i in rows], names)  # fmt: skip
    heldout_data = PairedData([prompts[i] for i in heldout], [images[i] for i in heldout], source, notes,
                              [int(labels[i]) for i in heldout], names)  # fmt: skip
    return train_data, heldout_data


def split_heldout(data: PairedData, fraction: float, seed: int, minimum: int = 16) -> tuple[PairedData, PairedData]:
    """Hold out a seeded share of the once-occurring prompts; returns (train, held-out)."""
    if not 0 < fraction < 1:
        raise DataError(f"--holdout must be between 0 and 1, got {fraction}")
    prompts, rows = data.items()
    singles = [index for index, item_rows in enumerate(rows) if len(item_rows) == 1]
    wanted = max(minimum, round(fraction * len(prompts)))
    if len(singles) < wanted or len(prompts) - wanted < minimum:
        raise DataError(
            f"{len(prompts)} distinct prompts ({len(singles)} occurring once) are too few to hold out {wanted} "
            "for calibration and still train; pass --heldout with prompts the model is not trained on"
        )
    chosen = set(np.random.default_rng(seed).choice(singles, size=wanted, replace=False).tolist())
    train_rows = [row for index, item_rows in enumerate(rows) if index not in chosen for row in item_rows]
    heldout_rows = [rows[index][0] for index in sorted(chosen)]
    return data.subset(train_rows), data.subset(heldout_rows)
