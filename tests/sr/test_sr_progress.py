"""Progress in denoising steps x latent tiles: the sampler's ``on_step`` and `dalpsr-sr`'s log.

The unit count is written out here: a latent of side n with tile t and overlap o has
ceil((n - t) / (t - o)) + 1 tile positions per axis (1 when n <= t), and each of
``steps`` scheduler steps evaluates every tile once.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dalpsr_model.diffusion.sampler import sample_latents
from dalpsr_model.diffusion.text import prompt_embeddings
from dalpsr_model.sr.pipeline import SRPipeline
from tests.sr.conftest import smooth_image, write_lr_folder

ROOT = Path(__file__).resolve().parents[2]


def positions(n: int, tile: int, overlap: int) -> int:
    return 1 if n <= tile else math.ceil((n - tile) / (tile - overlap)) + 1


@pytest.mark.parametrize("shape,tile,overlap,tile_batch", [((8, 8), 96, 32, 16), ((20, 12), 8, 2, 8),
                                                           ((16, 16), 8, 4, 1)])
def test_on_step_is_called_once_per_tile_evaluation(shape, tile, overlap, tile_batch, sr_base, sr_controlnet,
                                                    sr_config, tmp_path):
    steps = 3
    cfg = sr_config([tmp_path], steps=steps, tile=tile, tile_overlap=overlap, tile_batch=tile_batch, guidance=1.0)
    z_lr = torch.randn(2, 4, *shape, generator=torch.Generator().manual_seed(0))
    cond, uncond = prompt_embeddings(sr_base, ["Denoise"] * 2, ["", ""], cfg.added_prompt, cfg.negative_prompt)
    calls: list[tuple[int, int]] = []
    got = sample_latents(sr_base, sr_controlnet, z_lr, cond, uncond, ["a", "b"], cfg.sampler,
                         on_step=lambda done, total: calls.append((done, total)))
    total = steps * positions(shape[0], tile, overlap) * positions(shape[1], tile, overlap)
    assert calls == [(i, total) for i in range(1, total + 1)]
    # the callback observes, it does not change the result
    quiet = sample_latents(sr_base, sr_controlnet, z_lr, cond, uncond, ["a", "b"], cfg.sampler)
    assert torch.equal(got, quiet)


def test_pipeline_passes_on_step(sr_models, sr_config, tmp_path):
    pipe = SRPipeline.load(sr_config([tmp_path], steps=2, tile=48, tile_overlap=16))
    calls: list[tuple[int, int]] = []
    pipe([smooth_image(0, 128, 128)], ["Deblur"], [""], ["k"], on_step=lambda d, t: calls.append((d, t)))
    total = 2 * positions(64, 48, 16) ** 2   # 128 px LR -> 512 px target -> 64-cell latent
    assert calls == [(i, total) for i in range(1, total + 1)]


def test_piped_run_logs_inside_one_large_image(sr_models, tmp_path):
    """stdout is a pipe: plain lines (every 0 s here) arrive while the one image is sampled,
    and the total is steps x tiles."""
    src = write_lr_folder(tmp_path / "in", [(128, 128)])
    cmd = [sys.executable, "-m", "dalpsr_model.cli.sr", str(src), "--out", str(tmp_path / "out"),
           "--base", str(sr_models["base"]), "--controlnet", str(sr_models["controlnet"]),
           "--irpad", str(sr_models["irpad"]), "--no-captions", "--steps", "2", "--device", "cpu",
           "--tile", "48", "--tile-overlap", "16"]
    env = {**os.environ, "DALPSR_PROGRESS_EVERY": "0", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total = 2 * positions(64, 48, 16) ** 2
    done = [int(m.group(1)) for m in re.finditer(rf"^sr: (\d+)/{total} steps", proc.stdout, re.M)]
    assert done and done[-1] == total, proc.stdout
    assert [d for d in done if 0 < d < total], proc.stdout   # lines from inside the image
