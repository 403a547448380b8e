"""Source readers: official layouts, folder=PATH, the embedded samples, clear layout errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dalpsr_data.sources import SourceLayoutError, list_source, parse_sources
from dalpsr_data.sources.samples import SAMPLE_PHOTOS


def touch(root: Path, rel: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x" * 3)  # listing never decodes


def rels(spec: str, data_root: Path) -> list[str]:
    return [f.rel_path for f in list_source(parse_sources([spec])[0], data_root)]


def test_official_layouts(tmp_path):
    for rel in ["DIV2K/DIV2K_train_HR/0002.png", "DIV2K/DIV2K_train_HR/0001.png",
                "DIV2K/DIV2K_valid_HR/0801.png", "DIV8K/train_HR/0001.png",
                "Flickr2K/Flickr2K_HR/000001.png", "Flickr2K/Flickr2K_LR_bicubic/X4/000001x4.png",
                "OST/OutdoorSceneTrain_v2/sky/sky_0002.png", "OST/OutdoorSceneTrain_v2/animal/animal_0001.png",
                "OST/OutdoorSceneTrain_v2/notes/readme.png",
                "FFHQ/images1024x1024/00000/00000.png", "FFHQ/images1024x1024/09000/09999.png",
                "FFHQ/images1024x1024/10000/10000.png", "FFHQ/images1024x1024/LICENSE.txt"]:
        touch(tmp_path, rel)
    assert rels("div2k", tmp_path) == ["0001.png", "0002.png"]  # train only, sorted
    assert rels("div8k", tmp_path) == ["0001.png"]
    assert rels("flickr2k", tmp_path) == ["000001.png"]
    assert rels("ost", tmp_path) == ["animal/animal_0001.png", "sky/sky_0002.png"]
    assert rels("ffhq", tmp_path) == ["00000/00000.png", "09000/09999.png"]  # top-10K subset
    # name=PATH: the dataset folder, or the image folder itself
    assert rels(f"div2k={tmp_path / 'DIV2K'}", Path("/nonexistent")) == ["0001.png", "0002.png"]
    assert rels(f"div2k={tmp_path / 'DIV2K' / 'DIV2K_train_HR'}", Path("/x")) == ["0001.png", "0002.png"]


def test_missing_or_wrong_layout_names_the_expected_one(tmp_path):
    with pytest.raises(SourceLayoutError, match="DIV2K/DIV2K_train_HR/0001.png"):
        rels("div2k", tmp_path)
    touch(tmp_path, "OST/OutdoorSceneTrain_v2/readme.png")
    with pytest.raises(SourceLayoutError, match="animal, building, grass"):
        rels("ost", tmp_path)


def test_folder_source_is_recursive_and_skips_hidden(tmp_path):
    for rel in ["b.jpg", "a/c.PNG", ".hidden/d.png", "e.txt", ".f.png"]:
        touch(tmp_path, rel)
    files = list_source(parse_sources([f"folder={tmp_path}"])[0], "unused")
    assert [f.rel_path for f in files] == ["a/c.PNG", "b.jpg"]
    assert files[0].source == "folder" and files[0].size == 3


def test_parse_sources_labels_and_errors(tmp_path):
    specs = parse_sources(["div2k", f"folder={tmp_path}", f"folder={tmp_path}/x", "FFHQ=/d/ffhq"])
    assert [(s.label, s.kind, s.path) for s in specs] == [
        ("div2k", "div2k", None), ("folder", "folder", str(tmp_path)),
        ("folder2", "folder", f"{tmp_path}/x"), ("ffhq", "ffhq", "/d/ffhq")]
    for bad, msg in [(["imagenet"], "unknown source"), (["div2k", "div2k"], "more than once"),
                     (["folder"], "folder=PATH"), ([], "no sources"), (["samples=/x"], "built in")]:
        with pytest.raises(SourceLayoutError, match=msg):
            parse_sources(bad)


def test_samples_source_lists_the_bundled_photos():
    files = list_source(parse_sources(["samples"])[0], "unused")
    assert [f.rel_path for f in files] == sorted(SAMPLE_PHOTOS)
    assert all(f.path.is_file() and f.size > 10_000 for f in files)
