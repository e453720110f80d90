"""Paired data: tables with image paths or bytes, image folders, the demo set, held-out splits."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
Image = pytest.importorskip("PIL.Image")

from deidlint.verify import dataset as ds  # noqa: E402


def png(value: int, size: int = 20) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size + 8), value, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def write_images(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for index in range(count):
        (folder / f"r{index}.png").write_bytes(png(index * 10))
        names.append(f"r{index}.png")
    return names


def test_csv_with_relative_paths_and_duplicates(tmp_path: Path) -> None:
    names = write_images(tmp_path / "img", 3)
    pd.DataFrame({"text": ["a ___", "b", "a ___", None], "image": [f"img/{n}" for n in names] + ["img/r0.png"]}).to_csv(
        tmp_path / "d.csv", index=False
    )
    data = ds.load_table(tmp_path / "d.csv")
    assert len(data) == 3  # the empty prompt is dropped
    prompts, rows = data.items()
    assert prompts == ["a ___", "b"] and rows == [[0, 2], [1]]
    pixels = ds.load_images(data.images, 16, 1)
    assert pixels.shape == (3, 1, 16, 16) and pixels[1].max() == 10


def test_jsonl_parquet_bytes_and_image_dir(tmp_path: Path) -> None:
    pd.DataFrame({"report": ["x", "y"], "image": [{"bytes": png(5), "path": None}, {"bytes": png(6), "path": None}]}).to_parquet(
        tmp_path / "d.parquet"
    )
    data = ds.load_table(tmp_path / "d.parquet", column="report")
    assert ds.load_images(data.images, 8, 3).shape == (2, 3, 8, 8)
    write_images(tmp_path / "dir", 2)
    pd.DataFrame({"text": ["p", "q"], "id": ["r0", "r1"]}).to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    data = ds.load_table(tmp_path / "d.jsonl", image_dir=tmp_path / "dir")
    assert [ref.name for ref in data.images] == ["r0.png", "r1.png"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        ({"text": ["a"], "image": ["missing.png"]}, {}, "not found"),
        ({"txt": ["a"], "image": ["x.png"]}, {}, "no column 'text'"),
        ({"text": ["a"]}, {}, "no image column"),
        ({"text": ["a"], "id": ["zz"]}, {"image_dir": "."}, "no image for id"),
    ],
)
def test_bad_tables_raise_one_line_errors(
    tmp_path: Path, frame: dict, kwargs: dict, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    pd.DataFrame(frame).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(ds.DataError, match=message) as info:
        ds.load_table(tmp_path / "d.csv", **kwargs)
    assert "\n" not in str(info.value)
    with pytest.raises(ds.DataError, match="no such file"):
        ds.load_table(tmp_path / "absent.csv")


def test_heldout_split_takes_only_single_prompts(tmp_path: Path) -> None:
    prompts = [f"p{i}" for i in range(40)] + ["p0"] * 5
    data = ds.PairedData(prompts, [np.zeros((4, 4), dtype=np.uint8)] * len(prompts), "t")
    train, heldout = ds.split_heldout(data, 0.25, seed=1, minimum=4)
    assert len(heldout) == 10 and "p0" not in heldout.prompts
    assert not set(train.prompts) & set(heldout.prompts)
    assert len(train) + len(heldout) == len(data)
    assert ds.split_heldout(data, 0.25, seed=1, minimum=4)[1].prompts == heldout.prompts
    with pytest.raises(ds.DataError):
        ds.split_heldout(data, 0.95, seed=1, minimum=4)


def test_demo_set_is_deterministic_and_duplicates_some_pairs() -> None:
    pytest.importorskip("deidlint.synth")
    train, heldout = ds.load_demo(0)
    prompts, rows = train.items()
    counts = sorted((len(r) for r in rows), reverse=True)
    assert counts[: ds.DEMO_DUPLICATED] == [ds.DEMO_COPIES] * ds.DEMO_DUPLICATED
    assert len(heldout.items()[0]) == ds.DEMO_HELDOUT
    assert not set(prompts) & set(heldout.prompts)
    assert ds.load_demo(0)[0].fingerprint() == train.fingerprint()
    assert ds.load_demo(1)[0].fingerprint() != train.fingerprint()
    assert any("___" in prompt or "XXXX" in prompt or "[**" in prompt for prompt in prompts)


def test_bundled_demo_files_are_small_and_credited() -> None:
    folder = ds.DEMO_FILE.parent
    assert sum(item.stat().st_size for item in folder.iterdir()) < 1_000_000
    credit = (folder / "ATTRIBUTION.md").read_text()
    assert "CC BY 4.0" in credit and "MedMNIST" in credit and "Kermany" in credit
    with np.load(ds.DEMO_FILE) as bundle:
        assert bundle["images"].shape[1:] == (28, 28) and set(np.unique(bundle["labels"])) == {0, 1}
