"""Threshold files as released: values of exactly 1 switch a tag off (issue 12 item 1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dalpsr_data.caption.ram import decode_tags, read_tag_files
from dalpsr_data.caption.ram.tags import TagFileError


def _write(folder, tags, values):
    (folder / "ram_tag_list.txt").write_text("\n".join(tags) + "\n", encoding="utf-8")
    (folder / "ram_tag_list_threshold.txt").write_text("\n".join(values) + "\n", encoding="utf-8")
    return folder / "ram_tag_list.txt", folder / "ram_tag_list_threshold.txt"


def test_threshold_of_one_is_accepted_and_never_fires(tmp_path):
    # The released file writes the switched-off tags as a bare "1" (e.g. "body", "cocktail table").
    tags, values = read_tag_files(*_write(tmp_path, ["sky", "body", "cocktail table"], ["0.65", "1", "1.0"]))
    assert values.tolist() == [pytest.approx(0.65), 1.0, 1.0]
    # logit 40 rounds to probability exactly 1.0 in fp32: the strict ">" keeps it off
    logits = torch.tensor([[40.0, 40.0, 40.0], [3.0, 30.0, 0.0]])
    assert torch.sigmoid(logits)[0, 1].item() == 1.0
    assert [[t for t, _ in row] for row in decode_tags(logits, tags, values)] == [["sky"], ["sky"]]


@pytest.mark.parametrize("bad", ["0", "-0.1", "1.0001", "nan", "inf"])
def test_thresholds_outside_0_1_are_refused(tmp_path, bad):
    with pytest.raises(TagFileError, match=r"0 < t <= 1"):
        read_tag_files(*_write(tmp_path, ["a", "b"], ["0.5", bad]))


def test_threshold_values_keep_float32_order(tmp_path):
    _, values = read_tag_files(*_write(tmp_path, ["a", "b"], ["0.68", "0.9"]))
    assert values.dtype == np.float32
