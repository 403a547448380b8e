"""Check a RAM / RAM++ checkpoint and its tag files as `dalpsr-data caption` and `dalpsr-sr` load them.

RAM vs RAM++ is told by the keys (RAM++ has ``reweight_scale`` and 51 label embeddings per
tag, the LLM tag descriptions of its release; RAM one per tag). The tag files beside the
checkpoint must have one line per tag of the checkpoint's tag head (``label_embed``): 4,585
for the released ram_swin_large_14m.pth and ram_plus_swin_large_14m.pth (the official
recognize-anything ram_tag_list.txt). The ``.pth`` is read with ``torch.load(weights_only=True)``
(dalpsr_data.caption.ram.checkpoint), so a file holding pickled objects is refused, not run;
the model is then built and loaded strictly, as the caption command does.
"""

from __future__ import annotations

from pathlib import Path

from dalpsr_data.caption.ram.arch import DESCRIPTIONS_PER_TAG
from dalpsr_data.caption.ram.checkpoint import RamCheckpointError, build_ram, read_state_dict
from dalpsr_data.caption.ram.tags import TagFileError, default_tag_paths, read_tag_files
from dalpsr_model.models.report import Report

RELEASED_TAGS = 4585  # lines of the official ram_tag_list.txt
FETCH = "download ram_swin_large_14m.pth (or ram_plus_swin_large_14m.pth) again"


def _checkpoint_in(folder: Path) -> Path | None:
    found = sorted(folder.glob("ram*.pth")) + sorted(folder.glob("ram*.safetensors"))
    return found[0] if found else None


def _variant(state: dict) -> tuple[str, int]:
    """("ram" | "ram_plus", tags in the head) from the keys and the label embeddings' rows."""
    rows = int(state["label_embed"].shape[0])
    if "reweight_scale" in state or (rows % DESCRIPTIONS_PER_TAG == 0 and rows >= DESCRIPTIONS_PER_TAG * 2):
        return "ram_plus", rows // DESCRIPTIONS_PER_TAG
    return "ram", rows


def check_ram(path: Path) -> Report:
    ckpt = _checkpoint_in(path) if path.is_dir() else path
    report = Report("ram", path)
    if ckpt is None:
        report.problems.append(f"{path}: no ram*.pth in this folder; {FETCH} and place it here")
        return report
    report.add_file(ckpt)
    try:
        state = read_state_dict(ckpt)
    except RamCheckpointError as e:
        report.problems.append(f"{ckpt}: {str(e).removeprefix(str(ckpt)).lstrip(': ')}")
        return report
    if "label_embed" not in state:
        report.problems.append(f"{ckpt}: no label_embed tensor, not a RAM checkpoint; {FETCH}")
        return report
    variant, head = _variant(state)
    report.found.append(f"{'RAM++' if variant == 'ram_plus' else 'RAM'} (by its keys): a tag head of {head} tags"
                        + ("" if head == RELEASED_TAGS else f" (the released checkpoints have {RELEASED_TAGS})"))
    named_plus = "plus" in ckpt.name
    if named_plus != (variant == "ram_plus"):
        report.problems.append(f"{ckpt}: the name says {'RAM++' if named_plus else 'RAM'} but the keys are "
                               f"{'RAM++' if variant == 'ram_plus' else 'RAM'}'s; rename the file or fetch the "
                               f"one you meant (pass --ram-variant {variant} to the commands)")
    tag_list, thresholds = default_tag_paths(ckpt)
    try:
        tags, _ = read_tag_files(tag_list, thresholds)
    except TagFileError as e:
        report.problems.append(str(e))
        return report
    report.add_file(tag_list)
    report.add_file(thresholds)
    if len(tags) != head:
        report.problems.append(f"{tag_list}: {len(tags)} lines but the checkpoint's tag head has {head} tags; "
                               f"place the official tag list of this checkpoint ({RELEASED_TAGS} lines for "
                               f"the releases) and its thresholds beside it")
        return report
    try:  # the strict load the caption command does (architecture from the shapes)
        build_ram(state, ckpt, variant, len(tags))
    except RamCheckpointError as e:
        report.problems.append(f"{ckpt}: {str(e).removeprefix(str(ckpt)).lstrip(': ')}")
    return report

