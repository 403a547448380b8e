"""Tag list and thresholds, RAM preprocessing, and decoding logits into tags.

The official files ``ram_tag_list.txt`` and ``ram_tag_list_threshold.txt`` (one line per
tag, same order, 4,585 lines each) are placed by the user beside the checkpoint; they
are never shipped or fetched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from dalpsr_data.caption.ram.options import CAPTION_OPTIONS, RamOptionNames

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TAG_LIST_NAME = "ram_tag_list.txt"
THRESHOLD_NAME = "ram_tag_list_threshold.txt"


class TagFileError(ValueError):
    """A tag list or threshold file is missing or inconsistent."""


def default_tag_paths(checkpoint: str | Path) -> tuple[Path, Path]:
    """The official file names in the checkpoint's folder."""
    folder = Path(checkpoint).parent
    return folder / TAG_LIST_NAME, folder / THRESHOLD_NAME


def read_tag_files(tag_list: str | Path, thresholds: str | Path,
                   names: RamOptionNames = CAPTION_OPTIONS) -> tuple[list[str], np.ndarray]:
    """(tags, thresholds float32 (T,) in (0, 1]); fails with a message naming the file.

    ``names``: the calling command's option spellings, put in the messages.

    A threshold of exactly 1 is how the released file switches a tag off (ten lines
    such as "body"): the strict ``>`` of ``decode_tags`` never keeps it.
    """
    tag_list, thresholds = Path(tag_list), Path(thresholds)
    for path, option, name in ((tag_list, names.tag_list, TAG_LIST_NAME),
                               (thresholds, names.thresholds, THRESHOLD_NAME)):
        if not path.is_file():
            raise TagFileError(f"{path} not found: place the official {name} beside the RAM checkpoint "
                               f"or pass its path with {option}")
    tags = tag_list.read_text(encoding="utf-8").splitlines()
    lines = [s.strip() for s in thresholds.read_text(encoding="utf-8").splitlines() if s.strip()]
    try:
        values = np.asarray([float(s) for s in lines], dtype=np.float32)
    except ValueError as e:
        raise TagFileError(f"{thresholds}: every line must be a number ({e})") from e
    if len(tags) != len(values):
        raise TagFileError(f"{tag_list} has {len(tags)} tags but {thresholds} has {len(values)} thresholds")
    if not len(tags) or not ((values > 0) & (values <= 1)).all():  # also refuses nan
        raise TagFileError(f"{thresholds}: every threshold t must satisfy 0 < t <= 1 (1 switches a tag off)")
    return tags, values


def preprocess_images(images: Sequence[Image.Image], size: int) -> torch.Tensor:
    """PIL images -> (B, 3, size, size) float32, ImageNet-normalised.

    As the official transform: RGB, bilinear resize to size x size (aspect not kept),
    [0, 1], then (x - mean) / std.
    """
    arrays = [np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR), dtype=np.float32)
              for im in images]
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2) / 255.0
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def decode_tags(logits: torch.Tensor, tags: Sequence[str], thresholds: np.ndarray
                ) -> list[list[tuple[str, float]]]:
    """Logits (B, T) -> per image [(tag, probability)] in tag-list order.

    A tag is kept when sigmoid(logit) > its own threshold (strictly, as the official code).
    """
    probs = torch.sigmoid(logits.float()).cpu().numpy()
    keep = probs > thresholds[None, :]
    return [[(tags[j], float(probs[i, j])) for j in np.flatnonzero(keep[i])] for i in range(len(probs))]
