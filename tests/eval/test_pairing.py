"""Pairing SR/HR/LR by file stem; errors name the first unpaired stems."""

from __future__ import annotations

import numpy as np
import pytest

from dalpsr_model.eval.pairing import PairingError, list_images, load_rgb, pair_images

from .conftest import write_rgb

PIXEL = np.full((4, 4, 3), 128, np.uint8)


def make(folder, names):
    """A 4x4 PNG for each ``*.png`` name, a text file for any other name."""
    for n in names:
        if n.endswith(".png"):
            write_rgb(folder / n, PIXEL)
        else:
            (folder / n).parent.mkdir(parents=True, exist_ok=True)
            (folder / n).write_text("x")


def test_pairs_by_stem_not_by_order(tmp_path):
    make(tmp_path / "sr", ["b.png", "a.png", "c.png"])
    make(tmp_path / "hr", ["c.png", "a.png", "b.png"])
    pairs = pair_images(list_images(tmp_path / "sr"), list_images(tmp_path / "hr"))
    assert [p.key for p in pairs] == ["a", "b", "c"]
    assert all(p.sr.name == p.hr.name for p in pairs)


def test_error_names_first_unpaired_stems_on_both_sides(tmp_path):
    make(tmp_path / "sr", [f"s{i:02d}.png" for i in range(8)] + ["both.png"])
    make(tmp_path / "hr", ["both.png", "h1.png"])
    with pytest.raises(PairingError) as e:
        pair_images(list_images(tmp_path / "sr"), list_images(tmp_path / "hr"))
    msg = str(e.value)
    assert "--sr and --hr do not pair by file stem" in msg
    assert "8 SR image(s) have no HR image" in msg and "s00, s01, s02, s03, s04)" in msg
    assert "s05" not in msg  # only the first five are named
    assert "1 HR image(s) have no SR image with the same stem (first: h1)" in msg


def test_same_count_different_stems_is_an_error(tmp_path):
    make(tmp_path / "sr", ["a.png", "b.png", "c.png"])
    make(tmp_path / "hr", ["a.png", "b.png", "d.png"])
    with pytest.raises(PairingError, match=r"1 SR image\(s\) have no HR image .*first: c\); 1 HR .*first: d\)"):
        pair_images(list_images(tmp_path / "sr"), list_images(tmp_path / "hr"))


def test_lr_pairing_is_checked_too(tmp_path):
    make(tmp_path / "sr", ["a.png", "b.png"])
    make(tmp_path / "lr", ["a.png"])
    with pytest.raises(PairingError, match=r"--sr and --lr .*1 SR image\(s\) have no LR image .*first: b"):
        pair_images(list_images(tmp_path / "sr"), None, list_images(tmp_path / "lr"))


def test_listing_skips_non_images_hidden_temporaries_and_the_out_folder(tmp_path):
    make(tmp_path / "sr", ["a.png", "notes.txt", ".hidden.png", ".tmp-b.png.123", "sub/c.png",
                           "eval/sheet.png"])
    found = list_images(tmp_path / "sr", exclude=tmp_path / "sr" / "eval")
    assert list(found) == ["a", "sub/c"]  # nested outputs keep their relative path as key


def test_two_files_with_one_stem_are_an_error(tmp_path):
    make(tmp_path / "sr", ["a.png"])
    write_rgb(tmp_path / "sr" / "a.jpg", PIXEL)
    with pytest.raises(PairingError, match="two images share the key 'a'"):
        list_images(tmp_path / "sr")


def test_empty_sr_folder(tmp_path):
    (tmp_path / "sr").mkdir()
    with pytest.raises(PairingError, match="--sr folder holds no image"):
        pair_images(list_images(tmp_path / "sr"))


def test_load_rgb_channel_order_and_bad_file(tmp_path):
    img = np.zeros((2, 3, 3), np.uint8)
    img[..., 0] = 200  # red
    write_rgb(tmp_path / "r.png", img)
    assert load_rgb(tmp_path / "r.png")[0, 0].tolist() == [200, 0, 0]
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot decode bad.png"):
        load_rgb(tmp_path / "bad.png")
