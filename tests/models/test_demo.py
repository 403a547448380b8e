"""`make demo`'s script in a fresh process: every stage's output exists and is valid, and a
rerun reuses every stage without rewriting a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from PIL import Image

from dalpsr_data.atomic import file_sha256
from dalpsr_data.buildinfo import BuildInfo

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # the whole loop: ~2-6 minutes on 2 cores
STAGES = ("models", "build", "encoder", "caption", "recipe", "heldout", "sr", "eval")


def _demo(out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run([sys.executable, "-m", "dalpsr_model.demo", "--demo", str(out)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=1500)


def _state(folder: Path) -> dict[str, tuple[int, str]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, file_sha256(p))
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "demo"
    res = _demo(out)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return out, res.stdout


def _keys(shard: Path) -> set[str]:
    with tarfile.open(shard) as tf:
        return {name.split(".", 1)[0] for name in tf.getnames()}


def test_every_stage_ran_and_the_closing_note_is_there(demo):
    _, stdout = demo
    rows = [ln.split() for ln in stdout.splitlines() if ln.split()[:1] and ln.split()[0] in STAGES]
    assert [r[0] for r in rows] == list(STAGES) and all(r[2] == "ran" for r in rows)
    assert "Next, with real models" in stdout and "dalpsr-models check" in stdout
    assert "random weights" in stdout and "mean nothing" in stdout


def test_shards_and_one_caption_row_per_key(demo):
    out, _ = demo
    build = BuildInfo.open(out / "shards")
    assert build.urls and all(build.shard_path(u).is_file() for u in build.urls)
    for url in build.urls:
        rows = build.captions(url)
        assert set(rows) == _keys(build.shard_path(url)) and all(r["caption"] for r in rows.values())


def test_the_three_trained_models_reload(demo):
    import torch
    from transformers import LlavaForConditionalGeneration

    from dalpsr_data.caption.llava_io import load_vision_tower
    from dalpsr_model.controlnet.model import load_controlnet
    from dalpsr_model.irpad.io import load_irpad

    out, _ = demo
    llava = LlavaForConditionalGeneration.from_pretrained(out / "models" / "llava-1.5-7b-hf", local_files_only=True)
    load_vision_tower(llava, out / "runs" / "encoder" / "vision_tower")  # strict
    irpad = load_irpad(out / "runs" / "irpad")
    assert all(torch.isfinite(p).all() for p in irpad.parameters())  # load_irpad is strict: it returns or raises
    controlnet = load_controlnet(out / "runs" / "controlnet" / "controlnet")
    assert all(torch.isfinite(p).all() for p in controlnet.parameters())


def test_sr_is_four_times_the_lr_and_eval_scores_each_image(demo):
    out, _ = demo
    lr = sorted((out / "lr").glob("*.png"))
    assert len(lr) == 3
    for path in lr:
        sr = out / "sr" / path.name
        with Image.open(path) as a, Image.open(sr) as b:
            assert b.size == (4 * a.width, 4 * a.height)
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert metrics["metrics"] == ["psnr", "ssim"] and metrics["n_scored"] == len(lr)
    for path in lr:
        psnr = metrics["per_image"][path.stem]["psnr"]
        assert isinstance(psnr, float) and 0 < psnr < 100


def test_a_rerun_reuses_everything_and_rewrites_no_file(demo):
    out, _ = demo
    before = _state(out)
    res = _demo(out)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = [ln.split() for ln in res.stdout.splitlines() if ln.split()[:1] and ln.split()[0] in STAGES]
    assert [r[2] for r in rows] == ["reused"] * len(STAGES)
    assert _state(out) == before
