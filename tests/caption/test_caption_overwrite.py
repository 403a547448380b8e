"""Issue 20 item 7: `dalpsr-data caption --overwrite` captions again, removing only its files.

Before, the refusal of a rerun with other settings told the user to delete ``captions/``
by hand (with whatever else they kept there) and there was no --overwrite.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from dalpsr_data.cli import app
from tests.caption.tiny_ram import TINY_IMAGE_SIZE

runner = CliRunner()


def caption(build, llava, ram, *extra):
    return runner.invoke(app, ["caption", str(build), "--local", "--no-progress", "--device", "cpu",
                               "--llava", str(llava), "--ram-checkpoint", str(ram),
                               "--ram-image-size", str(TINY_IMAGE_SIZE), "--batch-size", "4",
                               "--max-new-tokens", *extra])


def test_overwrite_recaptions_and_keeps_the_users_files(tiny_build, tiny_llava_dir, tiny_ram_path):
    res = caption(tiny_build, tiny_llava_dir, tiny_ram_path, "3")
    assert res.exit_code == 0, res.output
    captions = tiny_build / "captions"
    (captions / "notes.txt").write_text("mine\n")
    (captions / "shard-000000.jsonl.bak").write_text("my copy\n")

    res = caption(tiny_build, tiny_llava_dir, tiny_ram_path, "4")
    assert res.exit_code == 2 and "--max-new-tokens: 3 -> 4" in res.output
    assert "add --overwrite" in res.output, res.output

    markers_before = {p.name: p.read_bytes() for p in captions.glob("*.done.json")}
    res = caption(tiny_build, tiny_llava_dir, tiny_ram_path, "4", "--overwrite")
    assert res.exit_code == 0, res.output
    saved = json.loads((captions / "caption.json").read_text())
    assert saved["config"]["max_new_tokens"] == 4
    assert "resumed" not in res.output and "skipped 2" not in res.output
    # every shard captioned again: the markers carry the new output hash
    for name, old in markers_before.items():
        new = json.loads((captions / name).read_text())
        assert new != json.loads(old) and new["output_hash"] == saved["output_hash"]
    assert (captions / "notes.txt").read_text() == "mine\n"
    assert (captions / "shard-000000.jsonl.bak").read_text() == "my copy\n"
