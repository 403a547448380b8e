"""pyiqa metrics through dalpsr-eval, offline, from a folder of random weights (needs pyiqa).

References are pyiqa's own APIs on the same files: ``create_metric('lpips')`` per image and
``create_metric('fid')`` between the two folders, so our tensor conversion, file list, clean
resize and Fréchet distance are checked against the library the paper's numbers come from.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from dalpsr_model.eval.config import EvalConfig
from dalpsr_model.eval.evaluate import evaluate
from dalpsr_model.eval.iqa import DownloadRefused, offline_caches, pyiqa_available
from dalpsr_model.eval.pairing import load_rgb

from .fake_iqa_weights import build_fake_weights

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not pyiqa_available(), reason="pyiqa is not installed")]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return build_fake_weights(tmp_path_factory.mktemp("iqa-weights"))


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
    for rel, digest in m["weights_sha256"].items():
        assert hashlib.sha256((weights / rel).read_bytes()).hexdigest() == digest
    assert len(m["weights_sha256"]) == 4
    with offline_caches(weights):
        lpips = pyiqa.create_metric("lpips", device="cpu")
        musiq = pyiqa.create_metric("musiq", device="cpu")
        fid = pyiqa.create_metric("fid", device="cpu")
        ref_fid = fid(str(bench["hr"]), str(bench["sr"]), num_workers=0, verbose=False)
    def t(p):
        return torch.from_numpy(load_rgb(p).transpose(2, 0, 1).copy()).float()[None] / 255

    for key, row in m["per_image"].items():
        sr, hr = t(bench["sr"] / f"{key}.png"), t(bench["hr"] / f"{key}.png")
        assert row["lpips"] == pytest.approx(lpips(sr, hr).item(), abs=1e-6)
        assert row["musiq"] == pytest.approx(musiq(sr).item(), abs=1e-4)
    assert m["means"]["fid"] == pytest.approx(float(ref_fid), rel=1e-4)
