"""A small random RAM checkpoint in the official layout, for smoke tests and the tiny kit.

The keys, shapes and weight ties are the ones the official recognize-anything ``ram``
class produces at the released Swin-L 384 geometry (patch 4, depths 2/2/18/2, heads
6/12/24/48, window 12) with small widths and 12 tags: recorded from the official code by
``tests/caption/reference/make_ram_reference.py`` and shipped as ``tiny_ram_keys.json``
(names and shapes only), so nothing here is derived from this project's own module names.
At 384 px (the released input size) `dalpsr-data caption`'s default --ram-image-size fits.
Values come from one seeded ``torch.Generator`` in key order (:func:`official_state_dict`),
the same function the reference script used, so the tests compare the tags of this very
checkpoint with what the official inference computed.

The file is saved as the official ``.pth`` files are: ``{'model': state_dict, 'optimizer':
..., 'epoch': ...}``, with the older ``vision_multi`` name of the tagging head, zero-filled
position-index / attention-mask buffers, and the two tag files beside it (threshold lines
of exactly 1 switch a tag off, as in the released file).
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from pathlib import Path

import torch

from dalpsr_data.atomic import atomic_path, write_bytes_atomic
from dalpsr_data.caption.ram.tags import TAG_LIST_NAME, THRESHOLD_NAME

KEYS_JSON = Path(__file__).with_name("tiny_ram_keys.json")
# The 12 tags and thresholds given to both implementations when the reference was made.
TAGS = ["flower", "lotus", "water", "sky", "building", "dog", "car", "tree", "body", "cocktail table",
        "grass", "road"]
THRESHOLDS = [0.5, 0.6, 1.0, 0.55, 0.45, 0.65, 0.5, 0.7, 1.0, 0.6, 0.4, 0.5]
BUFFERS = ("relative_position_index", "attn_mask", "position_ids")


def tiny_ram_spec() -> list[list]:
    """``[key, shape, dtype, tied_to]`` rows of the official RAM state dict (Swin-L 384, small widths)."""
    return json.loads(KEYS_JSON.read_text(encoding="utf-8"))["keys"]


def _draw(key: str, shape: list[int], gen: torch.Generator) -> torch.Tensor:
    """One float tensor: LayerNorm gains near 1, small biases, weights ~ N(0, 1/fan_in), a wide fc."""
    z = torch.randn(shape, generator=gen, dtype=torch.float32)
    if not shape:  # RAM++ reweight_scale
        return math.log(1 / 0.07) + 0.1 * z
    if "norm" in key.lower() and key.endswith(".weight"):
        return 1.0 + 0.1 * z
    if key.endswith(".bias"):
        return 0.05 * z
    if "relative_position_bias_table" in key:
        return 0.5 * z
    if key == "label_embed":
        return z
    if key == "fc.weight":  # spread the logits so tags fall on both sides of their thresholds
        return 4.0 * z / math.sqrt(shape[1])
    return z / math.sqrt(math.prod(shape[1:]))


def official_state_dict(spec: list[list], seed: int) -> "OrderedDict[str, torch.Tensor]":
    """The checkpoint's ``'model'`` entry from a recorded key spec.

    ``spec`` rows are ``[key, shape, dtype, tied_to]``. Buffers (relative position index,
    attention masks, position ids) are zeros: both loaders drop or never use them. A key
    tied to an earlier one (the official model shares tagging-head weights with its
    tag encoder) gets that tensor's values, as a saved tied model does.
    """
    gen = torch.Generator().manual_seed(seed)
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, shape, dtype, tied in spec:
        if tied:
            out[key] = out[tied].clone()
        elif any(b in key for b in BUFFERS) or dtype != "float32":
            out[key] = torch.zeros(shape, dtype=getattr(torch, dtype))
        else:
            out[key] = _draw(key, shape, gen)
    return out


def write_tag_files(folder: Path, thresholds: list[float] | None = None,
                    tags: list[str] | None = None) -> tuple[Path, Path]:
    """The official file names (ram_tag_list.txt, ram_tag_list_threshold.txt) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    tag_list, thr = folder / TAG_LIST_NAME, folder / THRESHOLD_NAME
    write_bytes_atomic(tag_list, ("\n".join(tags or TAGS) + "\n").encode("utf-8"))
    write_bytes_atomic(thr, ("\n".join(str(v) for v in (thresholds or THRESHOLDS)) + "\n").encode("utf-8"))
    return tag_list, thr


def write_tiny_ram(path: str | Path, seed: int = 0, spec: list[list] | None = None,
                   vision_multi: bool = True, extra: dict | None = None, drop: tuple[str, ...] = ()) -> Path:
    """Write an official-layout checkpoint at ``path`` (atomically) and the tag files beside it.

    ``spec``: the key rows (default: :func:`tiny_ram_spec`, RAM at 384 px); ``vision_multi``:
    the older release name of the tagging head; ``extra``: more top-level entries (a test
    adds an object that weights-only loading refuses); ``drop``: keys left out after the
    values are drawn (an export without RAM++'s ``reweight_scale``). Deterministic for a
    given ``seed``.
    """
    path = Path(path)
    state = official_state_dict(spec if spec is not None else tiny_ram_spec(), seed)
    for key in drop:
        state.pop(key)
    if vision_multi:
        state = OrderedDict((k.replace("tagging_head", "vision_multi"), v) for k, v in state.items())
    ckpt: dict = {"model": state, "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4, "params": [0]}]},
                  "epoch": 3, **(extra or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(ckpt, tmp)
    write_tag_files(path.parent)
    return path
