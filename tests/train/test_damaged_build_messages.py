"""Issue 20 items 14 and 15: a damaged build file is one line naming the file (and line), and
the advice for a deleted shard is a command that works.

Before: a broken caption sidecar line stopped `dalpsr-train irpad` (which does not use
captions) with an 85-line JSONDecodeError; a 0-byte index.json gave a 58-line traceback;
a deleted shard's message suggested `dalpsr-data build --out DIR`, which fails without
--sources.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dalpsr_data.build.config import BuildConfig
from dalpsr_data.build.runner import run_build
from dalpsr_data.patches import PatchConfig
from dalpsr_data.schema import ShardFormatError, read_caption_sidecar
from dalpsr_model.cli.train import app
from tests.dataset_build.conftest import make_good_folder
from tests.support.fake_build import write_fake_build

REPO = Path(__file__).resolve().parents[2]
IRPAD = ["--max-steps", "1", "--width", "4", "--dim", "16", "--heads", "2", "--batch-size", "4",
         "--num-workers", "0", "--no-progress", "--mixed-precision", "no", "--no-tta"]


def irpad(shards: Path, out: Path):
    return CliRunner().invoke(app, ["irpad", "--shards", str(shards), "--out", str(out), *IRPAD])


def test_a_broken_caption_line_is_named_and_irpad_does_not_read_captions(tmp_path):
    shards = write_fake_build(tmp_path / "b", [5, 7, 3, 6], captions=True)
    side = shards / "captions" / "shard-000001.jsonl"
    lines = side.read_text().splitlines(keepends=True)
    side.write_text("".join(lines[:2] + ['{"key": "s00001_i0002", "capt\n'] + lines[3:]))
    with pytest.raises(ShardFormatError) as e:
        read_caption_sidecar(shards, "shard-000001.tar")
    assert str(e.value).startswith(f"{side}: line 3: not a caption record (Invalid control character")
    assert f"dalpsr-data caption {shards} --overwrite" in str(e.value)
    res = irpad(shards, tmp_path / "irpad")  # the paper preset's --label-sigma reads deg.json too
    assert res.exit_code == 0, res.output  # was: JSONDecodeError traceback


def test_an_empty_index_json_is_one_line(tmp_path):
    shards = write_fake_build(tmp_path / "b", [5, 7, 3, 6])
    (shards / "index.json").write_bytes(b"")
    res = irpad(shards, tmp_path / "irpad")
    assert res.exit_code == 2, res.output  # was: 1 and a JSONDecodeError traceback
    line = res.stderr.strip()
    assert "\n" not in line and "Traceback" not in res.output
    assert line.startswith(f"error: {shards / 'index.json'}: line 1: not valid JSON (Expecting value)")


@pytest.fixture(scope="module")
def real_build(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rb")
    src = make_good_folder(root / "photos", n=2, size=(300, 300))
    run_build(BuildConfig(sources=(f"folder={src}",), out=str(root / "shards"), shard_size=1,
                          executor="local"), PatchConfig(per_image=1))
    return root / "shards"


def test_a_deleted_shard_suggests_the_recorded_build_command_and_it_works(real_build, tmp_path):
    tar = real_build / "shard-000001.tar"
    tar.unlink()
    res = irpad(real_build, tmp_path / "irpad")
    assert res.exit_code == 2, res.output
    cmd = res.stderr.split("rebuild them with `")[1].split("`")[0]
    assert cmd.startswith("dalpsr-data build --sources folder=") and f"--out {real_build}" in cmd, cmd
    # the suggestion works as given (was: `dalpsr-data build --out DIR`, refused without --sources)
    args = shlex.split(cmd)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "dalpsr_data.cli", *args[1:], "--executor", "local",
                          "--no-progress"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert tar.is_file() and "resumed: 1 shard(s)" in run.stdout
