"""Source readers: parse ``--sources`` items and list their files in a stable order.

Items: a name (``div2k``, ``div8k``, ``flickr2k``, ``ost``, ``ffhq``, ``samples``) found
under ``--data-root``; ``name=PATH`` for a dataset folder elsewhere; ``folder=PATH`` for
any folder of images (searched recursively). Construction is explicit (a ``match``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dalpsr_data.sources.base import SourceFile, SourceLayoutError, list_images, to_source_files
from dalpsr_data.sources.official import LAYOUTS, list_official
from dalpsr_data.sources.samples import list_samples

KNOWN_SOURCES = tuple(sorted(LAYOUTS)) + ("samples",)

__all__ = ["KNOWN_SOURCES", "SourceFile", "SourceLayoutError", "SourceSpec", "list_source",
           "parse_sources"]


@dataclass(frozen=True)
class SourceSpec:
    """``label``: the name used in keys and reports; ``kind``: which reader; ``path``: the
    dataset folder (None: under data_root, or built in for samples)."""

    label: str
    kind: str
    path: str | None


def parse_sources(items: tuple[str, ...] | list[str]) -> list[SourceSpec]:
    """``("div2k", "ffhq=/data/ffhq", "folder=/photos")`` -> specs; labels are unique.

    Several ``folder=`` items get labels folder, folder2, folder3, ... in the given order.
    """
    specs: list[SourceSpec] = []
    folders = 0
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        name, sep, path = item.partition("=")
        name = name.strip().lower()
        if name == "folder":
            if not sep or not path:
                raise SourceLayoutError("folder source needs a path: folder=PATH")
            folders += 1
            specs.append(SourceSpec("folder" if folders == 1 else f"folder{folders}", "folder", path))
        elif name in KNOWN_SOURCES:
            if name == "samples" and sep:
                raise SourceLayoutError("the samples source is built in: give 'samples' without a path")
            specs.append(SourceSpec(name, name, path if sep else None))
        else:
            raise SourceLayoutError(
                f"unknown source {name!r}: use one of {list(KNOWN_SOURCES)}, name=PATH or folder=PATH")
    labels = [s.label for s in specs]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise SourceLayoutError(f"source(s) {dupes} given more than once")
    if not specs:
        raise SourceLayoutError("no sources given: e.g. --sources samples or --sources div2k,ffhq")
    return specs


def list_source(spec: SourceSpec, data_root: str | Path) -> list[SourceFile]:
    """All files of one source, sorted by relative path."""
    match spec.kind:
        case "samples":
            return list_samples()
        case "folder":
            root = Path(spec.path or "").expanduser()
            if not root.is_dir():
                raise SourceLayoutError(f"folder source: {root} is not a folder")
            rel = list_images(root, recursive=True)
            if not rel:
                raise SourceLayoutError(f"folder source: no image files under {root}")
            files = to_source_files(spec.label, root, rel)
            return files
        case kind if kind in LAYOUTS:
            folder = Path(spec.path).expanduser() if spec.path else Path(data_root) / LAYOUTS[kind].folder
            return list_official(kind, folder)
        case _:
            raise SourceLayoutError(f"unknown source kind {spec.kind!r}")
