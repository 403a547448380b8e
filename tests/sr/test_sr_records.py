"""PromptRecord: the one JSON form of a prompts.jsonl line, against the line written out."""

from __future__ import annotations

import json

import pytest

from dalpsr_model.sr.records import PromptRecord, append_records, read_records


def test_line_is_the_sorted_key_json_of_every_field_and_reads_back(tmp_path):
    rec = PromptRecord("sub/é", size=(100, 75), conversions=("cmyk->rgb",), restoration="Deblur",
                       caption="un chat", tags=("cat", "sofa"), instruction="Describe")
    want = {"key": "sub/é", "status": "ok", "reason": "", "size": [100, 75], "conversions": ["cmyk->rgb"],
            "restoration": "Deblur", "caption": "un chat", "tags": ["cat", "sofa"], "instruction": "Describe"}
    assert rec.to_json() == json.dumps(want, sort_keys=True, ensure_ascii=False)
    assert PromptRecord.from_json(rec.to_json()) == rec
    append_records(tmp_path, [rec, PromptRecord("b", status="error", reason="decode: truncated")])
    got = read_records(tmp_path)
    assert got["sub/é"] == rec and not got["b"].ok and got["b"].reason == "decode: truncated"


@pytest.mark.parametrize("line", ['{"status": "ok"}', '{"key": "a", "colour": "red"}', '[1, 2]'])
def test_a_line_that_is_not_a_record_is_refused(line):
    with pytest.raises(ValueError):
        PromptRecord.from_json(line)
