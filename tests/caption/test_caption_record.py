"""CaptionRecord: the one JSON form of a caption sidecar row, against the row written out."""

from __future__ import annotations

import json

import pytest

from dalpsr_data.caption.sidecar import CaptionRecord


def test_row_is_the_sorted_key_json_of_every_field_and_reads_back():
    rec = CaptionRecord("img0_001", "lr", tags=("chat", "été"), tag_probs=(0.9123, 0.71), instruction="Describe",
                        caption="a cat", batch_size=4, tag_batch_size=2)
    want = {"key": "img0_001", "status": "ok", "reason": "", "image": "lr", "tags": ["chat", "été"],
            "tag_probs": [0.9123, 0.71], "instruction": "Describe", "caption": "a cat", "batch_size": 4,
            "tag_batch_size": 2}
    assert rec.to_json() == json.dumps(want, ensure_ascii=False, sort_keys=True)
    assert CaptionRecord.from_json(rec.to_json()) == rec
    bad = rec.failed("caption: ValueError: x")
    assert not bad.ok and bad.reason == "caption: ValueError: x" and bad.caption == "a cat"


@pytest.mark.parametrize("line", ['{"key": "a"}', '{"key": "a", "image": "lr", "colour": 1}', '"a"'])
def test_a_line_that_is_not_a_row_is_refused(line):
    with pytest.raises(ValueError):
        CaptionRecord.from_json(line)
