"""Readers for the paper's training sources in their official download layouts.

Each reader takes the dataset's own folder (``<data-root>/<Name>`` or a path given as
``name=PATH``) and also accepts the image folder itself, so both of these work::

    div2k    DIV2K/DIV2K_train_HR/0001.png .. 0800.png
    div8k    DIV8K/train_HR/0001.png .. 1500.png         (AIM 2019 extreme-SR training set)
    flickr2k Flickr2K/Flickr2K_HR/000001.png .. 002650.png
    ost      OST/OutdoorSceneTrain_v2/{animal,building,grass,mountain,plant,sky,water}/*.png
    ffhq     FFHQ/images1024x1024/00000/00000.png .. 69000/69999.png  (first 10,000 by index)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dalpsr_data.sources.base import (SourceFile, SourceLayoutError, first_existing, list_images,
                                      to_source_files)

OST_CATEGORIES = ("animal", "building", "grass", "mountain", "plant", "sky", "water")
FFHQ_SUBSET = 10_000  # the paper trains on the top-10K FFHQ images: indices 00000..09999


@dataclass(frozen=True)
class OfficialLayout:
    """``folder``: the dataset folder name under --data-root; ``image_dirs``: where the images
    sit inside it (first existing wins); ``layout``: shown in the error message."""

    name: str
    folder: str
    image_dirs: tuple[str, ...]
    recursive: bool
    layout: str


LAYOUTS = {
    "div2k": OfficialLayout("div2k", "DIV2K", ("DIV2K_train_HR", "."), False,
                            "DIV2K/DIV2K_train_HR/0001.png .. 0800.png"),
    "div8k": OfficialLayout("div8k", "DIV8K", ("train_HR", "train", "."), False,
                            "DIV8K/train_HR/0001.png .. 1500.png"),
    "flickr2k": OfficialLayout("flickr2k", "Flickr2K", ("Flickr2K_HR", "."), False,
                               "Flickr2K/Flickr2K_HR/000001.png .. 002650.png"),
    "ost": OfficialLayout("ost", "OST", ("OutdoorSceneTrain_v2", "."), True,
                          "OST/OutdoorSceneTrain_v2/<category>/*.png with categories "
                          + ", ".join(OST_CATEGORIES)),
    "ffhq": OfficialLayout("ffhq", "FFHQ", ("images1024x1024", "."), True,
                           "FFHQ/images1024x1024/00000/00000.png .. (first 10,000 by index used)"),
}

_FFHQ_NAME = re.compile(r"^(?:\d{5}/)?(\d{5})\.png$")


def _layout_error(lay: OfficialLayout, root: Path, why: str) -> SourceLayoutError:
    return SourceLayoutError(
        f"source {lay.name!r}: {why} under {root}. Expected the official layout "
        f"{lay.layout} (give --data-root DIR holding {lay.folder}/, or {lay.name}=PATH)")


def _image_dir(lay: OfficialLayout, dataset_dir: Path) -> Path:
    found = first_existing([dataset_dir / d for d in lay.image_dirs])
    if found is None:
        raise _layout_error(lay, dataset_dir, "folder not found")
    return found


def _select(lay: OfficialLayout, image_dir: Path, rel: list[str]) -> list[str]:
    """Per-dataset rules: OST uses its category folders; FFHQ keeps indices < 10,000."""
    if lay.name == "ost":
        rel = [r for r in rel if r.split("/", 1)[0] in OST_CATEGORIES and "/" in r]
        if not rel:
            raise _layout_error(lay, image_dir, "no images in the category folders")
    elif lay.name == "ffhq":
        keep = []
        for r in rel:
            m = _FFHQ_NAME.match(r)
            if m and int(m.group(1)) < FFHQ_SUBSET:
                keep.append(r)
        rel = keep
    return rel


def list_official(name: str, dataset_dir: Path) -> list[SourceFile]:
    """Sorted files of an official dataset folder; SourceLayoutError names the layout."""
    lay = LAYOUTS[name]
    if not dataset_dir.is_dir():
        raise _layout_error(lay, dataset_dir.parent, f"folder {dataset_dir.name!r} not found")
    image_dir = _image_dir(lay, dataset_dir)
    rel = _select(lay, image_dir, list_images(image_dir, lay.recursive))
    if not rel:
        raise _layout_error(lay, image_dir, "no image files found")
    return to_source_files(name, image_dir, rel)
