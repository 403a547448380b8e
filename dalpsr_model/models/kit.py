"""The tiny model kit: random-weight models in the official layouts, for smoke tests.

``write_tiny_kit(OUT)`` writes the folders every command reads from real downloads::

    OUT/sd21-base/            diffusers layout of stabilityai/stable-diffusion-2-1-base
    OUT/llava-1.5-7b-hf/      llava-hf layout of llava-hf/llava-1.5-7b-hf (its chat template)
    OUT/ram/ram_swin_large_14m.pth, ram_tag_list.txt, ram_tag_list_threshold.txt
    OUT/README.txt            what these are (random weights: outputs mean nothing)

Same ``seed``, same bytes. The kit is assembled in a ``.tmp-`` folder beside OUT and renamed
into place, so OUT is never half written; a non-empty OUT that is not a kit is refused.
"""

from __future__ import annotations

from pathlib import Path

from dalpsr_data.atomic import commit_dir, fresh_temporary_dir
from dalpsr_data.caption.ram.tiny import write_tiny_ram
from dalpsr_model.models.tiny_llava import build_tiny_llava
from dalpsr_model.models.tiny_sd import build_tiny_sd

SD_DIR = "sd21-base"
LLAVA_DIR = "llava-1.5-7b-hf"
RAM_FILE = "ram/ram_swin_large_14m.pth"
README = "README.txt"
# Kit seed 0 gives the RAM checkpoint of the reference's ram_swinl384 case (drawn from seed 4,
# tests/caption/reference/make_ram_reference.py), whose tags on the reference images the
# official code recorded; seed 0's own checkpoint fires no tag there.
RAM_SEED_OFFSET = 4
TITLE = "DaLPSR tiny model kit (random weights, for smoke tests only)"
README_TEXT = f"""{TITLE}

These folders hold tiny models with random weights, written by `dalpsr-models tiny` in the
layouts of the real downloads: sd21-base/ as stabilityai/stable-diffusion-2-1-base
(diffusers), llava-1.5-7b-hf/ as llava-hf/llava-1.5-7b-hf, ram/ as the official RAM release
(ram_swin_large_14m.pth with ram_tag_list.txt and ram_tag_list_threshold.txt beside it).
Every dalpsr command runs on them quickly on a CPU, which shows that a machine and the
toolkit work end to end; no output made with them means anything (SR images are noise,
captions are random words, metrics are meaningless). Use the real weights for real work and
run `dalpsr-models check PATH` on them before a long job.
"""


class KitError(ValueError):
    """OUT cannot receive a kit (a non-empty folder the kit writer did not make)."""


def is_kit(folder: str | Path) -> bool:
    """True when ``folder`` holds a kit this module wrote (its README's first line)."""
    readme = Path(folder) / README
    return readme.is_file() and readme.read_text(encoding="utf-8").startswith(TITLE)


def check_kit_target(out: str | Path) -> Path:
    """OUT checked before any work: absent, empty, or a previous kit (replaced)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise KitError(f"{out} is a file: give `dalpsr-models tiny` a folder path")
    if out.is_dir() and any(out.iterdir()) and not is_kit(out):
        raise KitError(f"{out} is not empty and holds no tiny kit (no {README} of one): give "
                       f"`dalpsr-models tiny` a new or empty folder")
    return out


def write_tiny_kit(out: Path, seed: int = 0) -> Path:
    """Write the kit into ``out`` (replacing a previous kit there); returns ``out``.

    Raises KitError, before any work, when ``out`` is a non-empty folder that is not a kit.
    """
    out = check_kit_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = fresh_temporary_dir(out)
    build_tiny_sd(tmp / SD_DIR, seed=seed)
    build_tiny_llava(tmp / LLAVA_DIR, seed=seed)
    write_tiny_ram(tmp / RAM_FILE, seed=seed + RAM_SEED_OFFSET)
    (tmp / README).write_text(README_TEXT, encoding="utf-8")
    commit_dir(tmp, out)
    return out


def kit_paths(out: str | Path) -> dict[str, Path]:
    """Where each model of the kit in ``out`` is: {"base", "llava", "ram"}."""
    out = Path(out)
    return {"base": out / SD_DIR, "llava": out / LLAVA_DIR, "ram": out / RAM_FILE}
