"""--weights-dir: every file checked before any work, missing ones named, sha256 recorded."""

from __future__ import annotations

import hashlib

import pytest

from dalpsr_data.config_io import ConfigError
from dalpsr_model.eval.weights import IQA_METRICS, TIMM_VIT, check_weights

ALL = ["lpips", "fid", "maniqa", "musiq", "clipiqa"]
REV = "0123456789abcdef0123456789abcdef01234567"


def fill(root, skip=()):
    """Write a small distinct file at every expected path (an HF snapshot through refs/main)."""
    written = {}
    (root / "hub" / TIMM_VIT / "refs").mkdir(parents=True, exist_ok=True)
    (root / "hub" / TIMM_VIT / "refs" / "main").write_text(REV + "\n")
    for m in ALL:
        for rel in IQA_METRICS[m].files:
            rel = rel.replace("{rev}", REV)
            if any(s in rel for s in skip):
                continue
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(rel.encode())
            written[rel] = hashlib.sha256(rel.encode()).hexdigest()
    return written


def test_expected_layout_is_pyiqa_torch_and_hf_caches():
    files = {m: IQA_METRICS[m].files for m in ALL}
    assert files["lpips"] == ("hub/pyiqa/LPIPS_v0.1_alex-df73285e.pth", "hub/checkpoints/alexnet-owt-7be5be79.pth")
    assert files["fid"] == ("hub/pyiqa/pt_inception-2015-12-05-6726825d.pth",)
    assert files["musiq"] == ("hub/pyiqa/musiq_koniq_ckpt-e95806b9.pth",)
    assert files["clipiqa"] == ("hub/clip/RN50.pt",)
    assert files["maniqa"][0] == "hub/pyiqa/MANIQA_PIPAL-ae6d356b.pth"
    assert {m: IQA_METRICS[m].pyiqa_name for m in ALL} == {
        "lpips": "lpips", "fid": "fid", "maniqa": "maniqa-pipal", "musiq": "musiq", "clipiqa": "clipiqa"}


def test_complete_folder_gives_sha256_of_every_file(tmp_path):
    expected = fill(tmp_path)
    assert check_weights(tmp_path, ALL) == expected
    assert f"hub/{TIMM_VIT}/snapshots/{REV}/model.safetensors" in expected


def test_missing_file_is_named_by_its_expected_path(tmp_path):
    fill(tmp_path, skip=("musiq_koniq", "RN50"))
    with pytest.raises(ConfigError) as e:
        check_weights(tmp_path, ALL)
    msg = str(e.value)
    assert "lacks 2 file(s)" in msg
    assert "hub/pyiqa/musiq_koniq_ckpt-e95806b9.pth (musiq)" in msg and "hub/clip/RN50.pt (clipiqa)" in msg
    # only what the chosen metrics need is checked
    assert set(check_weights(tmp_path, ["lpips", "fid"])) == set(IQA_METRICS["lpips"].files + IQA_METRICS["fid"].files)


def test_missing_hf_ref_names_the_snapshot(tmp_path):
    fill(tmp_path)
    (tmp_path / "hub" / TIMM_VIT / "refs" / "main").unlink()
    with pytest.raises(ConfigError, match=f"hub/{TIMM_VIT}/snapshots/<revision in refs/main>/model.safetensors"):
        check_weights(tmp_path, ["maniqa"])


def test_weights_dir_required_only_for_pyiqa_metrics(tmp_path):
    assert check_weights(None, ["psnr", "ssim"]) == {}
    with pytest.raises(ConfigError, match="--weights-dir is required for maniqa,musiq"):
        check_weights(None, ["maniqa", "musiq", "psnr"])
    with pytest.raises(ConfigError, match="is not a folder"):
        check_weights(tmp_path / "nope", ["fid"])
