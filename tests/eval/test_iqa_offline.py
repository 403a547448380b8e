"""pyiqa metrics through dalpsr-eval, offline, from a folder of random weights (needs pyiqa).

pyiqa is in the ``test`` extra, so these run in CI. The references are pyiqa's own
``create_metric(...)`` under the names written out here (``lpips``, ``musiq``,
``maniqa-pipal``, ``clipiqa``, ``fid``), loaded from the same files and run on the same
images: a wrong metric name, variant or setting in dalpsr-eval, or a different tensor
conversion, file list, clean resize or Fréchet distance, changes the numbers.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from dalpsr_model.eval.config import EvalConfig
from dalpsr_model.eval.evaluate import evaluate
from dalpsr_model.eval.iqa import DownloadRefused, offline_caches, pyiqa_available
from dalpsr_model.eval.pairing import load_rgb

from .fake_iqa_weights import accept_fake_clip, build_fake_weights

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not pyiqa_available(), reason="pyiqa is not installed")]
EQUAL = 1e-6


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return build_fake_weights(tmp_path_factory.mktemp("iqa-weights"))


def _tensor(path):
    import torch

    return torch.from_numpy(load_rgb(path).transpose(2, 0, 1).copy()).float()[None] / 255


def _sha256(weights, m):
    for rel, digest in m["weights_sha256"].items():
        assert hashlib.sha256((weights / rel).read_bytes()).hexdigest() == digest


def test_a_missing_file_is_refused_not_downloaded(tmp_path):
    import pyiqa

    with offline_caches(tmp_path), pytest.raises(DownloadRefused, match="musiq_koniq_ckpt-e95806b9.pth"):
        pyiqa.create_metric("musiq", device="cpu")
    assert not list(tmp_path.rglob("*.pth"))


def test_lpips_fid_musiq_match_pyiqa_on_the_same_files(bench, weights, tmp_path):
    import pyiqa
    import torch

    out = tmp_path / "o"
    result = evaluate(EvalConfig(sr=str(bench["sr"]), hr=str(bench["hr"]), out=str(out), weights_dir=str(weights),
                                 metrics="lpips,fid,musiq,psnr", device="cpu", sheet_images=0))
    m = json.loads((out / "metrics.json").read_text())
    assert result["n_scored"] == 5
    _sha256(weights, m)
    assert len(m["weights_sha256"]) == 4
    with offline_caches(weights):
        lpips = pyiqa.create_metric("lpips", device="cpu")
        musiq = pyiqa.create_metric("musiq", device="cpu")
        fid = pyiqa.create_metric("fid", device="cpu")
        ref_fid = fid(str(bench["hr"]), str(bench["sr"]), num_workers=0, verbose=False)
    with torch.no_grad():
        for key, row in m["per_image"].items():
            sr, hr = _tensor(bench["sr"] / f"{key}.png"), _tensor(bench["hr"] / f"{key}.png")
            assert row["lpips"] == pytest.approx(lpips(sr, hr).item(), abs=EQUAL)
            assert row["musiq"] == pytest.approx(musiq(sr).item(), abs=EQUAL)
    assert m["means"]["fid"] == pytest.approx(float(ref_fid), rel=EQUAL)


def _one_image(bench, root):
    """sr/ and hr/ of bench's first pair under ``root``."""
    for side in ("sr", "hr"):
        (root / side).mkdir(parents=True)
        shutil.copy(bench[side] / "img_000.png", root / side / "img_000.png")
    return root


def _score_one(weights, root, metric, pyiqa_name):
    """(dalpsr-eval's value, pyiqa.create_metric(pyiqa_name)'s value) on root's one SR image."""
    import pyiqa
    import torch

    evaluate(EvalConfig(sr=str(root / "sr"), hr=str(root / "hr"), out=str(root / "o"), weights_dir=str(weights),
                        metrics=metric, device="cpu", sheet_images=0))
    m = json.loads((root / "o" / "metrics.json").read_text())
    _sha256(weights, m)
    with offline_caches(weights), torch.no_grad():
        ref = pyiqa.create_metric(pyiqa_name, device="cpu")(_tensor(root / "sr" / "img_000.png")).item()
    return m["per_image"]["img_000"][metric], ref


def test_maniqa_matches_pyiqa_on_the_same_files(bench, weights, tmp_path):
    """One image: MANIQA runs ViT-B/8 on 20 crops of 224 px, the slowest metric on a CPU."""
    ours, ref = _score_one(weights, _one_image(bench, tmp_path / "one"), "maniqa", "maniqa-pipal")
    assert ours == pytest.approx(ref, abs=EQUAL)


def test_clipiqa_matches_pyiqa_on_the_same_files(bench, weights, tmp_path):
    with accept_fake_clip():
        ours, ref = _score_one(weights, _one_image(bench, tmp_path / "one"), "clipiqa", "clipiqa")
    assert ours == pytest.approx(ref, abs=EQUAL)
