"""Soft ordinal targets, the 8-view augmentation and test-time augmentation of IRPAD."""

from __future__ import annotations

import json

import pytest
import torch

from dalpsr_model.data import EpochLoader
from dalpsr_model.data.decode import CorruptSample, decode_sample
from dalpsr_model.irpad.io import save_irpad
from dalpsr_model.irpad.model import Irpad, IrpadArch, irpad_loss
from dalpsr_model.irpad.predictor import IrpadPredictor, predict_log_probs
from dalpsr_model.irpad.augment import VIEWS, dihedral_view, random_dihedral
from dalpsr_model.irpad.model import soft_bin_targets
from tests.support.fake_build import sample_bins, sample_degrees


def test_soft_targets_are_bin_probabilities_of_a_noisy_degree():
    d = torch.tensor([[0.01, 0.5, 0.625], [0.2499, 0.99, 0.375]])
    t = soft_bin_targets(d, 0.1)
    assert t.shape == (2, 3, 4) and torch.allclose(t.sum(-1), torch.ones(2, 3))
    # on a bin edge the two neighbours share the mass equally; deep inside bin 0 it is nearly one-hot
    assert torch.allclose(t[0, 1, 1], t[0, 1, 2]) and t[0, 0, 0] > 0.99
    # a bin centre: P(|N(0, 0.1)| < 0.125) = erf(0.125 / (0.1 sqrt 2)) = 0.7887
    assert t[0, 2, 2].item() == pytest.approx(0.78870, abs=1e-4)
    # bin 3 also takes the tail above 1 (bin 1 loses P(z < -3.75) = 9e-5 to bin 0)
    assert t[0, 2, 3].item() - t[0, 2, 1].item() == pytest.approx(8.84e-5, abs=1e-5)
    # a tiny sigma gives the one-hot bins back, and the loss becomes plain cross-entropy
    d = torch.tensor([[0.01, 0.55, 0.625], [0.2, 0.99, 0.375]])
    bins = torch.tensor([[0, 2, 2], [0, 3, 1]])
    assert torch.equal(soft_bin_targets(d, 1e-4).argmax(-1), bins)
    logits = torch.randn(2, 3, 4)
    hard, _ = irpad_loss(logits, bins)
    soft, _ = irpad_loss(logits, bins, d, 1e-4)
    assert soft.item() == pytest.approx(hard.item(), rel=1e-4)
    assert irpad_loss(logits, bins, d, 0.1)[0].item() != pytest.approx(hard.item(), rel=1e-3)


def test_dihedral_views_are_the_8_symmetries_and_keep_the_jpeg_grid():
    x = torch.randn(1, 1, 16, 16)
    views = [dihedral_view(x, i) for i in range(len(VIEWS))]
    assert len({tuple(v.flatten().tolist()) for v in views}) == 8
    grid = torch.zeros(1, 1, 16, 16)
    grid[..., 7::8, :] = 1  # last row of every 8x8 block
    grid[..., :, 7::8] += 2  # last column
    edges = {tuple(map(tuple, (dihedral_view(grid, i) > 0).nonzero()[:, 2:].tolist())) for i in range(8)}
    # every view puts block edges on rows/columns 0 or 7 (mod 8): the block grid is preserved
    for e in edges:
        assert all(r % 8 in (0, 7) or c % 8 in (0, 7) for r, c in e)
    torch.manual_seed(0)
    batch = torch.randn(64, 3, 8, 8)
    out = random_dihedral(batch)
    hits = [sum(torch.equal(out[b], dihedral_view(batch[b:b + 1], i)[0]) for b in range(64)) for i in range(8)]
    assert sum(hits) >= 64 and min(hits) > 0  # every sample is one of the views, all 8 drawn
    flips_only = random_dihedral(batch, rotations=False)
    assert all(any(torch.equal(flips_only[b], dihedral_view(batch[b:b + 1], i)[0]) for i in range(4)) for b in range(64))


def test_tta_prediction_is_invariant_to_every_symmetry():
    torch.manual_seed(0)
    model = Irpad(IrpadArch(width=4, dim=16, heads=2, stats=True)).eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        base = predict_log_probs(model, x, tta=True)
        plain = predict_log_probs(model, x, tta=False)
        assert not torch.allclose(plain, predict_log_probs(model, dihedral_view(x, 5), tta=False), atol=1e-4)
        for i in range(8):
            assert torch.allclose(predict_log_probs(model, dihedral_view(x, i), tta=True), base, atol=1e-5)
    assert torch.allclose(base.exp().sum(-1), torch.ones(2, 3), atol=1e-5)


def test_predictor_uses_the_saved_tta_setting(tmp_path):
    torch.manual_seed(0)
    model = Irpad(IrpadArch(width=4, dim=16, heads=2))
    save_irpad(model, tmp_path / "on", {"tta": True})
    save_irpad(model, tmp_path / "old")  # written before TTA existed: no key, no TTA
    assert IrpadPredictor.load(tmp_path / "on").tta and not IrpadPredictor.load(tmp_path / "old").tta
    assert IrpadPredictor.load(tmp_path / "on", tta=False).tta is False


def test_loader_decodes_degrees_and_rejects_bad_ones(fake_build):
    loader = EpochLoader(fake_build, batch_size=6, fields=("bins", "degrees", "key"), max_epochs=1, shuffle_buffer=1)
    seen = 0
    for batch in loader:
        assert batch["degrees"].dtype == torch.float32
        for key, deg, bins in zip(batch["key"], batch["degrees"].tolist(), batch["bins"].tolist()):
            s, i = int(key[1:6]), int(key[8:])
            assert deg == pytest.approx(sample_degrees(s, i)) and bins == sample_bins(s, i)
            assert [min(int(d * 4), 3) for d in deg] == bins
            seen += 1
    assert seen > 0
    for bad in ({"bins": {}}, {"degrees": {"blur": 0.1, "noise": 1.5, "jpeg": 0.2}},
                {"degrees": {"blur": float("nan"), "noise": 0.1, "jpeg": 0.2}}):
        with pytest.raises(CorruptSample):
            decode_sample("k", {"deg.json": json.dumps(bad).encode()}, "", ("degrees",), True)


def test_soft_labels_need_recorded_degrees(tmp_path):
    from typer.testing import CliRunner

    from dalpsr_model.cli.train import app
    from tests.support.fake_build import write_fake_build

    root = write_fake_build(tmp_path / "b", [3, 3], degrees=False)
    res = CliRunner().invoke(app, ["irpad", "--shards", str(root), "--out", str(tmp_path / "o"), "--no-progress"])
    assert res.exit_code == 2 and "--label-sigma 0" in res.output and not (tmp_path / "o").exists()
