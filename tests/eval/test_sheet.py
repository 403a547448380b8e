"""Issue 20 items 8 and 22: the eval sheet shows the HR's detailed region and marks unscored images.

Before: every row was a centre crop (on OSEDiff's RealSR results one of four was a flat grey
wall), and an image that was not scored (a size mismatch) looked like any other row.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from dalpsr_model.eval.pairing import Pair
from dalpsr_model.eval.sheet import GAP, LABEL_H, UNSCORED, comparison_sheet, detail_box

from .conftest import write_rgb

PATCH = (100, 250, 32)  # top, left, side of the only textured part of the HR


def textured_corner(h: int = 300, w: int = 400) -> np.ndarray:
    img = np.full((h, w, 3), 128, np.uint8)
    t, l, s = PATCH
    img[t:t + s, l:l + s] = np.random.default_rng(0).integers(0, 256, (s, s, 3), dtype=np.uint8)
    return img


def brute_force_energy(img: np.ndarray, t: int, l: int, c: int) -> float:
    """The gradient energy of one crop, written out again from its definition."""
    g = img.astype(np.float64).mean(axis=2)
    dx = (g[:, 1:] - g[:, :-1]) ** 2
    dy = (g[1:, :] - g[:-1, :]) ** 2
    return float(dx[t:t + c, l:l + c].sum() + dy[t:t + c, l:l + c].sum())


def test_the_crop_holds_the_detail_and_flat_images_keep_the_centre():
    img = textured_corner()
    t, l, ch, cw = detail_box(img, 64)
    assert (ch, cw) == (64, 64)
    pt, pl, ps = PATCH
    assert t < pt and t + 64 >= pt + ps and l < pl and l + 64 >= pl + ps  # the whole patch inside
    centre = ((300 - 64) // 2, (400 - 64) // 2)
    assert brute_force_energy(img, t, l, 64) > 100 * max(brute_force_energy(img, *centre, 64), 1.0)
    assert detail_box(np.full((300, 400, 3), 9, np.uint8), 64) == (*centre, 64, 64)
    assert detail_box(img[:40, :50], 64) == (0, 0, 40, 50)  # smaller than the crop: all of it


def panel(sheet: np.ndarray, row_top: int, x: int, side: int) -> np.ndarray:
    return sheet[row_top + LABEL_H:row_top + LABEL_H + side, x:x + side]


def test_sr_hr_and_lr_show_the_same_detailed_region_and_unscored_rows_are_framed(tmp_path):
    hr = textured_corner()
    sr = hr.copy()
    sr[..., 1] //= 2  # a different image, same size
    lr = cv2.resize(hr, (100, 75), interpolation=cv2.INTER_AREA)
    pairs = [Pair("a", write_rgb(tmp_path / "sr/a.png", sr), write_rgb(tmp_path / "hr/a.png", hr),
                  write_rgb(tmp_path / "lr/a.png", lr)),
             Pair("b", write_rgb(tmp_path / "sr/b.png", sr[:200]), write_rgb(tmp_path / "hr/b.png", hr),
                  write_rgb(tmp_path / "lr/b.png", lr))]
    png = comparison_sheet(pairs, 2, 64, unscored={"b": "SR is 400x200 but HR is 400x300"})
    sheet = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    t, l, c, _ = detail_box(hr, 64)
    assert t < PATCH[0] < PATCH[0] + PATCH[2] <= t + c and l < PATCH[1] < PATCH[1] + PATCH[2] <= l + c
    x_lr, x_sr, x_hr = GAP, GAP + 64 + GAP, GAP + 2 * (64 + GAP)
    assert np.array_equal(panel(sheet, GAP, x_sr, 64), sr[t:t + c, l:l + c])  # was: the centre
    assert np.array_equal(panel(sheet, GAP, x_hr, 64), hr[t:t + c, l:l + c])
    lr_part = lr[t // 4:(t + c) // 4, l // 4:(l + c) // 4]  # the same region, 16 LR px, x4 blocks
    assert np.array_equal(panel(sheet, GAP, x_lr, 64), np.repeat(np.repeat(lr_part, 4, 0), 4, 1))

    row2 = GAP + LABEL_H + 64 + GAP
    red = np.all(sheet == UNSCORED, axis=2)
    assert not red[:row2].any()  # the scored row: nothing red
    frame = red[row2 + LABEL_H + 64:row2 + LABEL_H + 66, GAP:GAP + 3 * 64]  # the frame below row 2
    assert frame.any(axis=0).all()  # was: no mark at all
