"""The fixed block measurements of IRPAD's conv trunk respond to what they are meant to measure."""

from __future__ import annotations

import json

import cv2
import numpy as np
import torch

from dalpsr_model.irpad.io import load_irpad, save_irpad
from dalpsr_model.irpad.model import Irpad, IrpadArch
from dalpsr_model.irpad.stats import BlockStats, dct_basis

# Channel layout of BlockStats: 64 DCT, 6 high-pass (R, G, B, Y, R-G, B-G), Laplacian,
# 3 band-pass, then blockiness (h edge, h inside, v edge, v inside).
HP_Y, EDGE_H, IN_H = 64 + 3, 64 + 6 + 1 + 3, 64 + 6 + 1 + 3 + 1


def smooth_image(seed: int = 0) -> np.ndarray:
    """(128,128,3) uint8: a smooth random field (low-pass noise) with some edges."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (128, 128, 3)).astype(np.float32), (0, 0), 6)
    img = (img - img.min()) / (img.max() - img.min()) * 200 + 20
    img[40:90, 30:100] += 30
    return np.clip(img, 0, 255).astype(np.uint8)


def stats_of(img: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    return BlockStats()(x)[0].flatten(1).median(1).values  # (num_stats,) median over blocks


def test_dct_basis_is_orthonormal():
    b = dct_basis(8).flatten(1)
    assert torch.allclose(b @ b.T, torch.eye(64), atol=1e-5)


def test_noise_raises_highpass_energy_by_its_variance():
    clean = smooth_image()
    rng = np.random.default_rng(1)
    levels = []
    for sigma in (2.0, 8.0, 16.0):
        noisy = np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 255).round().astype(np.uint8)
        levels.append(float(stats_of(noisy)[HP_Y]))
    # log energy: doubling sigma adds ~log 4 = 1.39 once noise dominates the residual
    assert levels[0] < levels[1] < levels[2], levels
    assert abs((levels[2] - levels[1]) - np.log(4)) < 0.35, levels


def test_blur_lowers_highpass_energy():
    sharp = np.clip(smooth_image() + np.random.default_rng(2).normal(0, 6, (128, 128, 3)), 0, 255).astype(np.uint8)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 1.5)
    assert float(stats_of(blurred)[HP_Y]) < float(stats_of(sharp)[HP_Y]) - 1.0


def test_jpeg_block_edges_show_in_blockiness():
    img = smooth_image(3)
    ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 20])
    jpeg = cv2.imdecode(enc, cv2.IMREAD_COLOR)
    s_clean, s_jpeg = stats_of(img), stats_of(jpeg)
    # compression concentrates the pixel steps on the 8x8 grid lines
    assert float(s_jpeg[EDGE_H] - s_jpeg[IN_H]) > float(s_clean[EDGE_H] - s_clean[IN_H]) + 0.5


def test_stats_trunk_any_size_and_old_json_loads(tmp_path):
    torch.manual_seed(0)
    model = Irpad(IrpadArch(width=4, dim=16, heads=2, stats=True))
    assert model(torch.rand(2, 3, 100, 84)).shape == (2, 3, 4)
    save_irpad(model, tmp_path / "new")
    assert load_irpad(tmp_path / "new").arch.stats is True
    # irpad.json written before the stats option existed: no "stats" key -> plain conv trunk
    old = Irpad(IrpadArch(width=4, dim=16, heads=2))
    save_irpad(old, tmp_path / "old")
    meta = json.loads((tmp_path / "old" / "irpad.json").read_text())
    del meta["arch"]["stats"]
    (tmp_path / "old" / "irpad.json").write_text(json.dumps(meta))
    loaded = load_irpad(tmp_path / "old")
    assert loaded.arch.stats is False and loaded.trunk.stats is None
