"""Find the images of an evaluation folder and pair SR, HR (and LR) images by file stem.

A key is the image's path relative to its folder without the extension, with ``/``
separators: the file stem for the flat benchmark folders (``Canon_001_LR4``), the relative
path for the nested outputs of ``dalpsr-sr``. Pairing is by key, never by sorted order, so
a missing file cannot shift every later pair by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from dalpsr_data.config_io import ConfigError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
SHOW_UNPAIRED = 5  # how many unpaired stems an error names


class PairingError(ConfigError):
    """SR and HR (or LR) folders do not hold the same keys; the message names the first ones."""


@dataclass(frozen=True)
class Pair:
    """One image to score: its key and the files on each side (``hr``/``lr`` None when not given)."""

    key: str
    sr: Path
    hr: Path | None = None
    lr: Path | None = None


def list_images(folder: str | Path, exclude: Path | None = None) -> dict[str, Path]:
    """``{key: path}`` of the images under ``folder`` (recursive, sorted by key).

    ``exclude`` is a folder to skip (the output folder when it lies inside the SR folder, so
    the comparison sheet of a previous run is never scored). Hidden files and ``.tmp-*``
    leftovers are skipped. Two files with the same key (``a.png`` and ``a.jpg``) are an
    error: which one was meant cannot be guessed.
    """
    folder = Path(folder)
    exclude = exclude.resolve() if exclude is not None else None
    found: dict[str, Path] = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or p.suffix.lower() not in IMAGE_EXTS:
            continue
        if exclude is not None and p.resolve().is_relative_to(exclude):
            continue
        if not p.is_file():
            continue
        key = rel.with_suffix("").as_posix()
        if key in found:
            raise PairingError(f"{folder}: two images share the key {key!r}: "
                               f"{found[key].name} and {p.name}")
        found[key] = p
    return dict(sorted(found.items()))


def _unpaired_message(name_a: str, a: set[str], name_b: str, b: set[str]) -> str:
    parts = []
    for name, own, other in ((name_a, a, b), (name_b, b, a)):
        missing = sorted(own - other)
        if missing:
            first = ", ".join(missing[:SHOW_UNPAIRED])
            other_name = name_b if name == name_a else name_a
            parts.append(f"{len(missing)} {name} image(s) have no {other_name} image "
                         f"with the same stem (first: {first})")
    return "; ".join(parts)


def pair_images(sr: dict[str, Path], hr: dict[str, Path] | None = None,
                lr: dict[str, Path] | None = None) -> list[Pair]:
    """Pairs in key order; any key present on one side only raises :class:`PairingError`."""
    if not sr:
        raise PairingError("the --sr folder holds no image (" + ", ".join(IMAGE_EXTS) + ")")
    for name, other in (("HR", hr), ("LR", lr)):
        if other is not None and set(other) != set(sr):
            flag = "--" + name.lower()
            raise PairingError(f"--sr and {flag} do not pair by file stem: "
                               + _unpaired_message("SR", set(sr), name, set(other)))
    return [Pair(k, sr[k], hr[k] if hr is not None else None, lr[k] if lr is not None else None)
            for k in sr]


def load_rgb(path: Path) -> np.ndarray:
    """An image file as RGB uint8, shape (H, W, 3).

    Decoded with OpenCV's ``IMREAD_COLOR`` as BasicSR's and pyiqa's evaluation scripts do
    (grey and 16-bit files become 8-bit 3-channel, an alpha channel is dropped). Raises
    ``ValueError`` for a file OpenCV cannot decode.
    """
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise ValueError(f"cannot decode {path.name}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
