"""Comparison sheet: one row per image, LR | SR | HR centre crops at the same place.

The crop is taken in SR pixels; the LR crop is the matching region scaled up with nearest
neighbour (so LR pixels stay visible as blocks), the HR crop the same pixels as the SR.
Images are picked evenly over the sorted keys, so the sheet does not only show the first
camera of a benchmark.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dalpsr_model.eval.pairing import Pair, load_rgb

GAP = 4
LABEL_H = 14
BACKGROUND = (255, 255, 255)


def pick_evenly(pairs: list[Pair], n: int) -> list[Pair]:
    """``n`` pairs spread over the list (all of them when there are fewer)."""
    if n >= len(pairs):
        return list(pairs)
    idx = np.unique(np.round(np.linspace(0, len(pairs) - 1, n)).astype(int))
    return [pairs[i] for i in idx]


def centre_box(h: int, w: int, crop: int) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a centre crop of at most ``crop`` px."""
    ch, cw = min(crop, h), min(crop, w)
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def _panel(img: np.ndarray | None, ref_hw: tuple[int, int], box: tuple[int, int, int, int]) -> Image.Image:
    """The crop ``box`` (in ``ref_hw`` coordinates) of ``img``, scaled to the box size."""
    top, left, ch, cw = box
    if img is None:
        return Image.new("RGB", (cw, ch), (200, 200, 200))
    sy, sx = img.shape[0] / ref_hw[0], img.shape[1] / ref_hw[1]
    y0, x0 = int(top * sy), int(left * sx)
    y1, x1 = max(y0 + 1, int(round((top + ch) * sy))), max(x0 + 1, int(round((left + cw) * sx)))
    part = Image.fromarray(img[y0:y1, x0:x1])
    return part.resize((cw, ch), Image.NEAREST) if part.size != (cw, ch) else part


def comparison_sheet(pairs: list[Pair], n: int, crop: int) -> bytes | None:
    """PNG bytes of the sheet for ``n`` of ``pairs`` (None when ``n`` is 0 or nothing decodes)."""
    rows = []
    for pair in pick_evenly(pairs, n):
        try:
            sr = load_rgb(pair.sr)
            lr = load_rgb(pair.lr) if pair.lr is not None else None
            hr = load_rgb(pair.hr) if pair.hr is not None else None
        except ValueError:
            continue  # an undecodable image is already a recorded failure in metrics.json
        box = centre_box(sr.shape[0], sr.shape[1], crop)
        panels = [("LR", lr)] if pair.lr is not None else []
        panels += [("SR", sr)] + ([("HR", hr)] if pair.hr is not None else [])
        rows.append((pair.key, [(t, _panel(im, sr.shape[:2], box)) for t, im in panels]))
    if not rows:
        return None
    font = ImageFont.load_default()
    width = max(sum(p.width for _, p in panels) + GAP * (len(panels) + 1) for _, panels in rows)
    height = sum(LABEL_H + max(p.height for _, p in panels) + GAP for _, panels in rows) + GAP
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    y = GAP
    for key, panels in rows:
        x = GAP
        for title, p in panels:
            draw.text((x, y), f"{title}: {key}" if title == "SR" else title, fill=(0, 0, 0), font=font)
            sheet.paste(p, (x, y + LABEL_H))
            x += p.width + GAP
        y += LABEL_H + max(p.height for _, p in panels) + GAP
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    return buf.getvalue()
