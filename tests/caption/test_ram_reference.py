"""RAM / RAM++ against the official recognize-anything code (issue 12 item 4).

``reference/ram_reference.json`` holds what the official inference computed (commit in
the file) on checkpoints in the official layout at the Swin-L 384 and 224 geometries
with small widths. The same checkpoints are regenerated here from the recorded keys,
shapes and ties (no official code needed), loaded with the project's loader and run
through the project's preprocessing, model and decoding.
"""

from __future__ import annotations

import pytest
import torch

from dalpsr_data.caption.config import CaptionConfig
from dalpsr_data.caption.ram import decode_tags, load_ram, preprocess_images, read_tag_files
from dalpsr_data.caption.ram_tagger import RamTagger
from tests.caption.reference.make_ram_reference import (
    OFFICIAL_COMMIT, load_reference, make_images, official_state_dict, write_tag_files)

REF = load_reference()
PROB_ATOL = 1e-5


def _write_checkpoint(folder, case: dict, vision_multi: bool = False):
    state = official_state_dict(case["keys"], case["seed"])
    if vision_multi:  # the older release name of the tagging head, renamed by the official loader
        state = {k.replace("tagging_head", "vision_multi"): v for k, v in state.items()}
    path = folder / "model.pth"
    torch.save({"model": state}, path)
    write_tag_files(folder)
    return path


def test_reference_was_made_by_the_pinned_official_commit():
    assert REF["official_commit"] == OFFICIAL_COMMIT
    assert 1.0 in REF["thresholds"]  # the released file's switched-off tags are exercised
    fired = {t for case in REF["cases"].values() for row in case["images"] for t in row["tags"]}
    assert fired and not fired & {t for t, v in zip(REF["tags"], REF["thresholds"]) if v == 1.0}


@pytest.mark.parametrize("name", sorted(REF["cases"]))
def test_every_reference_case_fires_tags(name):
    """A case that fires no tag would compare two empty tag lists: the decoding goes unchecked."""
    rows = REF["cases"][name]["images"]
    assert any(row["tags"] for row in rows), f"{name}: the official code fired no tag"
    for row in rows:  # the recorded tags are those over their thresholds
        over = [t for t, p, v in zip(REF["tags"], row["probs"], REF["thresholds"]) if p > v]
        assert row["tags"] == over


@pytest.mark.parametrize("name", sorted(REF["cases"]))
def test_probabilities_and_tags_match_the_official_code(tmp_path, name):
    case = REF["cases"][name]
    path = _write_checkpoint(tmp_path, case, vision_multi=name.startswith("ram_swinl384"))
    tags, thresholds = read_tag_files(tmp_path / "ram_tag_list.txt", tmp_path / "ram_tag_list_threshold.txt")
    model, info = load_ram(path, case["variant"], len(tags), case["image_size"])
    arch = info["arch"]
    assert (arch.embed_dim, list(arch.depths), list(arch.num_heads), arch.window_size) == (
        case["swin"]["embed_dim"], case["swin"]["depths"], case["swin"]["num_heads"], case["swin"]["window_size"])
    with torch.no_grad():
        logits = model(preprocess_images(make_images(), case["image_size"]))
    probs = torch.sigmoid(logits)
    ref = torch.tensor([row["probs"] for row in case["images"]])
    torch.testing.assert_close(probs, ref, atol=PROB_ATOL, rtol=0)
    ours = [[t for t, _ in row] for row in decode_tags(logits, tags, thresholds)]
    assert ours == [row["tags"] for row in case["images"]]


@pytest.mark.parametrize("name", ["ram_swinl224", "ram_plus_swinl224"])
def test_tagger_matches_the_official_tags(tmp_path, name):
    """The caption stage's RamTagger (fp32 on CPU, batches of 3 over 4 images)."""
    case = REF["cases"][name]
    path = _write_checkpoint(tmp_path, case)
    cfg = CaptionConfig(ram_checkpoint=str(path), ram_variant=case["variant"], ram_image_size=case["image_size"],
                        device="cpu", tag_batch_size=3)
    rows = RamTagger(cfg, "cpu").tag(make_images())
    assert [[t for t, _ in r] for r in rows] == [row["tags"] for row in case["images"]]
    for r, row in zip(rows, case["images"]):
        assert [p for _, p in r] == pytest.approx([row["probs"][REF["tags"].index(t)] for t, _ in r], abs=PROB_ATOL)
