"""End-to-end builds with the local executor: contents, bad inputs, resume, refusal, strict."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from dalpsr_data import schema
from dalpsr_data.build.config import BuildConfig, PatchConfig
from dalpsr_data.build.runner import BuildFailed, run_build
from dalpsr_data.config_io import ConfigError
from dalpsr_data.degradation import parse_prompt
from tests.dataset_build.conftest import make_good_folder, tree_bytes


def _build(tmp_path, folder, deg_cfg, **kw):
    cfg = BuildConfig(sources=(f"folder={folder}",), out=str(tmp_path / "out"), executor="local",
                      shard_size=3, **kw)
    return run_build(cfg, PatchConfig(per_image=1), deg_cfg)


def test_bad_inputs_are_recorded_and_counts_add_up(tmp_path, bad_folder, deg_cfg):
    folder, expected = bad_folder
    result = _build(tmp_path, folder, deg_cfg)
    rep = result.report
    skipped = {s["path"]: s["reason"] for s in rep["skipped_files"]}
    assert skipped == {k: v for k, v in expected.items() if v != "ok"}
    ok = sorted(k for k, v in expected.items() if v == "ok")
    assert rep["files"] == {"listed": len(expected), "built": len(ok), "skipped": len(skipped),
                            "padded": 0}
    # every usable image here is >= 512 on both sides: nothing padded
    assert rep["patches"] == {"planned": len(expected), "built": len(ok), "skipped": len(skipped),
                              "not_distinct": 0, "padded": 0}
    assert rep["skip_reasons"] == {"empty_file": 1, "not_an_image": 1, "too_small": 1, "truncated": 1}
    assert sum(sum(rep["bins"][t]) for t in schema.DEGRADATION_TYPES) == 3 * len(ok)
    out = tmp_path / "out"
    index = schema.read_index(out)
    assert sum(s["nsamples"] for s in index["shardlist"]) == len(ok) == index["num_samples"]
    conversions = {}
    for entry in index["shardlist"]:
        for key, m in schema.iter_tar_samples(out / entry["url"]):
            assert sorted(m) == sorted(schema.SAMPLE_MEMBERS)
            hr = cv2.imdecode(np.frombuffer(m["hr.png"], np.uint8), cv2.IMREAD_UNCHANGED)
            lr = cv2.imdecode(np.frombuffer(m["lr.png"], np.uint8), cv2.IMREAD_UNCHANGED)
            assert hr.shape == (512, 512, 3) and lr.shape == (128, 128, 3) and hr.dtype == np.uint8
            deg, src = json.loads(m["deg.json"]), json.loads(m["src.json"])
            prompt = m["prompt.txt"].decode()
            assert prompt == deg["prompt"] and parse_prompt(prompt) == deg["bins"]
            assert src["key"] == key and key.startswith("folder_")
            conversions[src["path"]] = src["conversions"]
    assert conversions == {"cmyk.jpg": "cmyk->rgb", "gray16.png": "16bit->8bit,gray->rgb",
                           "ok_rgb.png": "", "palette.png": "palette->rgb",
                           "rotated.jpg": "exif_orientation=6"}


def test_strict_fails_without_index_then_plain_rerun_finishes(tmp_path, bad_folder, deg_cfg):
    folder, _ = bad_folder
    with pytest.raises(BuildFailed, match="--strict: 4 file"):
        _build(tmp_path, folder, deg_cfg, strict=True)
    out = tmp_path / "out"
    assert not (out / schema.INDEX_JSON).exists() and (out / schema.REPORT_JSON).is_file()
    result = _build(tmp_path, folder, deg_cfg)  # --strict does not change the output: resumes
    assert result.built == [] and len(result.resumed) == result.num_shards
    assert (out / schema.INDEX_JSON).is_file()


def test_rerun_resumes_refuses_changes_and_overwrites(tmp_path, deg_cfg):
    folder = make_good_folder(tmp_path / "p", n=2, size=(520, 530))
    first = _build(tmp_path, folder, deg_cfg)
    before = tree_bytes(tmp_path / "out")
    again = _build(tmp_path, folder, deg_cfg, workers=3, max_retries=0)  # run-only fields
    assert again.built == [] and again.resumed == ["shard-000000.tar"]
    assert tree_bytes(tmp_path / "out") == before
    with pytest.raises(ConfigError, match=r"configuration fields changed: build\.seed.*--overwrite"):
        _build(tmp_path, folder, deg_cfg, seed=1)
    (folder / "img_000.png").write_bytes((folder / "img_001.png").read_bytes()[:-1] + b"\0")
    with pytest.raises(ConfigError, match="source files changed"):
        _build(tmp_path, folder, deg_cfg)
    rebuilt = _build(tmp_path, folder, deg_cfg, seed=1, overwrite=True)
    assert rebuilt.built == ["shard-000000.tar"] and rebuilt.plan_hash != first.plan_hash
    build_json = json.loads((tmp_path / "out" / schema.BUILD_JSON).read_text())
    assert build_json["plan_hash"] == rebuilt.plan_hash and build_json["config"]["build"]["seed"] == 1


def test_output_folder_errors_fail_before_work(tmp_path, deg_cfg):
    folder = make_good_folder(tmp_path / "p", n=1)
    (tmp_path / "out").write_text("a file, not a folder")
    with pytest.raises(ConfigError, match="not a folder"):
        _build(tmp_path, folder, deg_cfg)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no image files"):
        run_build(BuildConfig(sources=(f"folder={tmp_path / 'empty'}",), out=str(tmp_path / "o2"),
                              executor="local"), PatchConfig(), deg_cfg)
    with pytest.raises(ConfigError, match="DIV2K/DIV2K_train_HR/0001.png"):
        run_build(BuildConfig(sources=("div2k",), data_root=str(tmp_path), out=str(tmp_path / "o2"),
                              executor="local"), PatchConfig(), deg_cfg)
    assert not (tmp_path / "o2").exists()  # sources are checked before the folder is made
    with pytest.raises(ConfigError, match="cannot create output folder"):
        run_build(BuildConfig(sources=(f"folder={folder}",), out="/proc/dalpsr-out", executor="local"),
                  PatchConfig(), deg_cfg)
