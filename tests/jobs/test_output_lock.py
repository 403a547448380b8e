"""Issue 20 item 11: one run at a time per output folder (dalpsr_data.outlock).

The second run is a fresh ``python -m`` process, as a user's second terminal is; the first
"run" is this test process holding the lock (a flock is per open file: another process
and this one contend the same way). Before the lock, a second build swept the first
run's in-flight ``.tmp-`` shard and wrote into the folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dalpsr_data.outlock import LOCK_NAME, OutputLocked, output_lock
from tests.dataset_build.conftest import make_good_folder

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return make_good_folder(tmp_path_factory.mktemp("photos") / "p", n=2, size=(300, 300))


def build(src: Path, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-m", "dalpsr_data.cli", "build", "--sources", f"folder={src}",
            "--out", str(out), "--patches-per-image", "1", "--shard-size", "1",
            "--executor", "local", "--no-progress"]
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_a_second_build_into_a_locked_folder_exits_2_naming_the_holder(tmp_path, photos):
    out = tmp_path / "out"
    out.mkdir()
    in_flight = out / ".tmp-shard-000000.tar.99999"  # the first run's shard being written
    in_flight.write_bytes(b"partial")
    with output_lock(out):
        res = build(photos, out)
        assert json.loads((out / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert res.returncode == 2, res.stderr[-2000:]
    line = res.stderr.strip().splitlines()[-1]
    assert f"is in use by pid {os.getpid()} on " in line and "choose another --out" in line, line
    assert in_flight.read_bytes() == b"partial"  # was: deleted by the second run's sweep
    assert sorted(p.name for p in out.iterdir()) == [in_flight.name]  # nothing else written
    assert not (out / LOCK_NAME).exists()  # released and removed


def test_the_lock_file_of_a_dead_run_is_taken_over(tmp_path, photos):
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (out / LOCK_NAME).write_text(json.dumps({"pid": int(dead), "host": "h", "command": "killed",
                                             "started": "earlier"}))
    res = build(photos, out)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (out / "index.json").is_file() and not (out / LOCK_NAME).exists()


def test_in_one_process_a_second_holder_is_refused_and_a_new_folder_is_removed(tmp_path):
    out = tmp_path / "a" / "b"
    with output_lock(out, "--out"):
        assert out.is_dir()
        with pytest.raises(OutputLocked, match=r"--out .*b is in use by pid \d+ on "):
            with output_lock(out):
                pass
    assert not (tmp_path / "a").exists()  # the lock made it and the run left it empty


def test_every_writing_command_takes_the_lock(tmp_path, monkeypatch):
    """train_*, run_recipe, run_sr and evaluate are wrapped; run_build and run_caption lock inside."""
    from dalpsr_data.build.runner import run_build
    from dalpsr_data.build.config import BuildConfig
    from dalpsr_data.caption.config import CaptionConfig
    from dalpsr_data.caption.run import run_caption
    from dalpsr_model.controlnet.trainer import train_controlnet
    from dalpsr_model.encoder_align.trainer import train_encoder
    from dalpsr_model.eval.evaluate import evaluate
    from dalpsr_model.irpad.trainer import train_irpad
    from dalpsr_model.recipe import run_recipe
    from dalpsr_model.sr.runner import run_sr

    class Cfg:  # only .out is read before the lock refuses
        out = str(tmp_path)

    with output_lock(tmp_path):
        for fn in (train_irpad, train_encoder, train_controlnet, run_recipe, run_sr, evaluate):
            with pytest.raises(OutputLocked):
                fn(Cfg())
        with pytest.raises(OutputLocked):
            run_build(BuildConfig(sources=("samples",), out=str(tmp_path)))
        with pytest.raises(OutputLocked, match="BUILD"):
            run_caption(tmp_path, CaptionConfig(device="cpu"))
