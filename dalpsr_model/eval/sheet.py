"""Comparison sheet: one row per image, LR | SR | HR crops of the same region.

The region is the ``--sheet-crop`` square with the most detail in the HR (gradient energy:
a centre crop of a benchmark photo is often a flat wall or sky, where every method looks
alike); it is taken in SR pixels, the LR crop is the matching region scaled up with nearest
neighbour (so LR pixels stay visible as blocks), the HR crop the same pixels as the SR.
Images are picked evenly over the sorted keys, so the sheet does not only show the first
camera of a benchmark. An image that was not scored (e.g. its SR and HR sizes differ) is
framed in red and its label says why, so the sheet never passes it off as a result.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dalpsr_model.eval.pairing import Pair, load_rgb

GAP = 4
LABEL_H = 14
BACKGROUND = (255, 255, 255)
UNSCORED = (220, 0, 0)  # frame and label of an image that was not scored


def pick_evenly(pairs: list[Pair], n: int) -> list[Pair]:
    """``n`` pairs spread over the list (all of them when there are fewer)."""
    if n >= len(pairs):
        return list(pairs)
    idx = np.unique(np.round(np.linspace(0, len(pairs) - 1, n)).astype(int))
    return [pairs[i] for i in idx]


def _positions(size: int, side: int, step: int) -> list[int]:
    """Offsets of a ``side`` window along ``size``: a grid of ``step``, the far end, the centre."""
    return sorted({*range(0, size - side + 1, step), size - side, (size - side) // 2})


def detail_box(img: np.ndarray, crop: int) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the crop of at most ``crop`` px of ``img`` (H, W, 3) uint8
    with the most gradient energy: the sum over the crop of the squared horizontal and
    vertical differences of the grey image (mean of RGB, float64). Positions are tried on a
    grid of a quarter of the crop; the centre crop wins ties (a flat image)."""
    h, w = img.shape[:2]
    ch, cw = min(crop, h), min(crop, w)
    grey = img.astype(np.float64).mean(axis=2)
    energy = np.zeros((h, w))
    energy[:, :-1] += np.diff(grey, axis=1) ** 2
    energy[:-1, :] += np.diff(grey, axis=0) ** 2
    integral = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))

    def total(t: int, l: int) -> float:
        return integral[t + ch, l + cw] - integral[t, l + cw] - integral[t + ch, l] + integral[t, l]

    best = ((h - ch) // 2, (w - cw) // 2)
    best_energy = total(*best)
    step = max(1, min(ch, cw) // 4)
    for t in _positions(h, ch, step):
        for l in _positions(w, cw, step):
            if (e := total(t, l)) > best_energy:
                best, best_energy = (t, l), e
    return best[0], best[1], ch, cw


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


def comparison_sheet(pairs: list[Pair], n: int, crop: int,
                     unscored: dict[str, str] | None = None) -> bytes | None:
    """PNG bytes of the sheet for ``n`` of ``pairs`` (None when ``n`` is 0 or nothing decodes).

    ``unscored``: key -> reason of the images that were not scored (metrics.json's
    ``failed``); their rows are framed in red and labelled "NOT SCORED".
    """
    unscored = unscored or {}
    rows = []
    for pair in pick_evenly(pairs, n):
        try:
            sr = load_rgb(pair.sr)
            lr = load_rgb(pair.lr) if pair.lr is not None else None
            hr = load_rgb(pair.hr) if pair.hr is not None else None
        except ValueError:
            continue  # an undecodable image is already a recorded failure in metrics.json
        # The detail is the HR's (the reference); an HR of another size has no matching region.
        box = detail_box(hr if hr is not None and hr.shape == sr.shape else sr, crop)
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
            label = f"{title}: {key}" if title == "SR" else title
            if title == "SR" and key in unscored:
                label += f" - NOT SCORED: {unscored[key]}"
            draw.text((x, y), label, fill=(0, 0, 0) if key not in unscored else UNSCORED, font=font)
            sheet.paste(p, (x, y + LABEL_H))
            x += p.width + GAP
        if key in unscored:  # a frame in the gap around the whole row
            row_h = max(p.height for _, p in panels)
            draw.rectangle((1, y + LABEL_H - 2, x - GAP + 2, y + LABEL_H + row_h + 1), outline=UNSCORED, width=2)
        y += LABEL_H + max(p.height for _, p in panels) + GAP
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    return buf.getvalue()
