"""`dalpsr-eval` end to end on tiny folders: CliRunner, then one fresh process of the entry point."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from typer.testing import CliRunner

import dalpsr_data.atomic
import dalpsr_model.eval.iqa
from dalpsr_model.cli.eval import app
from dalpsr_model.eval.pairing import load_rgb

from .conftest import write_rgb

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def y(img: np.ndarray) -> np.ndarray:  # BasicSR's Y, written out again
    return 16.0 + (65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]) / 255.0


def test_psnr_ssim_run_writes_every_output(bench, tmp_path):
    out = tmp_path / "eval"
    res = invoke("--sr", bench["sr"], "--hr", bench["hr"], "--lr", bench["lr"], "--metrics", "psnr,ssim",
                 "--out", out, "--dataset", "RealSR", "--crop-border", "2")
    assert res.exit_code == 0, res.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["tool"] == "dalpsr-eval" and m["metrics"] == ["psnr", "ssim"]
    assert m["n_images"] == m["n_scored"] == 5 and m["failed"] == {}
    assert m["weights_sha256"] == {}  # PSNR/SSIM read no weights
    # per-image values against scikit-image on the written-out Y, cropped by 2
    sr, hr = load_rgb(bench["sr"] / "img_003.png"), load_rgb(bench["hr"] / "img_003.png")
    a, b = y(hr.astype(float))[2:-2, 2:-2], y(sr.astype(float))[2:-2, 2:-2]
    row = m["per_image"]["img_003"]
    assert row["psnr"] == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-9)
    assert row["ssim"] == pytest.approx(structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255), abs=1e-9)
    assert m["means"]["psnr"] == pytest.approx(np.mean([r["psnr"] for r in m["per_image"].values()]))
    # csv: one row per image plus the mean row, same numbers as the json
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [r["key"] for r in rows] == [f"img_{i:03d}" for i in range(5)] + ["mean"]
    assert float(rows[3]["ssim"]) == row["ssim"]
    # markdown in Table I layout, with the paper's Ours column for a Table I set
    md = (out / "metrics.md").read_text().splitlines()
    assert md[0] == "| Datasets | Metrics | Ours | DaLPSR paper (Table I, Ours) |"
    assert md[2].startswith("| RealSR | PSNR ↑ | ") and md[3].startswith("|  | SSIM ↑ | ")
    # sheet: 4 rows of LR | SR | HR crops (the 64x48 images are smaller than the crop)
    sheet = cv2.imread(str(out / "sheet.png"))
    assert sheet is not None and sheet.shape[0] > 4 * 48 and sheet.shape[1] > 3 * 64
    assert not list(out.glob(".tmp-*"))
    # a second run with other settings replaces what dalpsr-eval wrote only with --overwrite
    again = ("--sr", bench["sr"], "--hr", bench["hr"], "--metrics", "psnr", "--out", out)
    assert invoke(*again).exit_code == 2
    assert invoke(*again, "--overwrite").exit_code == 0


def test_without_hr_only_no_reference_metrics_are_asked_for(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(dalpsr_model.eval.iqa, "pyiqa_available", lambda: False)
    res = invoke("--sr", bench["sr"], "--out", tmp_path / "o")
    assert res.exit_code == 2
    assert "--metrics maniqa,musiq,clipiqa needs pyiqa" in res.stderr
    monkeypatch.setattr(dalpsr_model.eval.iqa, "pyiqa_available", lambda: True)
    res = invoke("--sr", bench["sr"], "--out", tmp_path / "o")
    assert res.exit_code == 2 and "--weights-dir is required for maniqa,musiq,clipiqa " in res.stderr
    res = invoke("--sr", bench["sr"], "--metrics", "psnr,ssim", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "nothing to compute without --hr" in res.stderr
    assert not (tmp_path / "o").exists()


def test_missing_weight_file_fails_before_any_work(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(dalpsr_model.eval.iqa, "pyiqa_available", lambda: True)
    weights = tmp_path / "w"
    (weights / "hub" / "pyiqa").mkdir(parents=True)
    (weights / "hub" / "pyiqa" / "pt_inception-2015-12-05-6726825d.pth").write_bytes(b"x")
    res = invoke("--sr", bench["sr"], "--hr", bench["hr"], "--metrics", "fid,lpips,psnr",
                 "--weights-dir", weights, "--out", tmp_path / "o")
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --weights-dir")
    assert "hub/pyiqa/LPIPS_v0.1_alex-df73285e.pth (lpips)" in lines[0]
    assert "hub/checkpoints/alexnet-owt-7be5be79.pth (lpips)" in lines[0] and "pt_inception" not in lines[0]
    assert not (tmp_path / "o").exists()


def test_pairing_error_exits_2_naming_stems(bench, tmp_path):
    (bench["hr"] / "img_004.png").rename(bench["hr"] / "other.png")
    res = invoke("--sr", bench["sr"], "--hr", bench["hr"], "--metrics", "psnr", "--out", tmp_path / "o")
    assert res.exit_code == 2
    assert "(first: img_004)" in res.stderr and "(first: other)" in res.stderr


def test_bad_image_is_recorded_and_the_run_goes_on(bench, tmp_path):
    (bench["sr"] / "img_001.png").write_bytes(b"\x89PNG truncated")
    write_rgb(bench["sr"] / "img_002.png", np.zeros((10, 10, 3), np.uint8))
    out = tmp_path / "o"
    res = invoke("--sr", bench["sr"], "--hr", bench["hr"], "--metrics", "psnr,ssim", "--out", out)
    assert res.exit_code == 0, res.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_scored"] == 3 and sorted(m["failed"]) == ["img_001", "img_002"]
    assert m["failed"]["img_002"] == "SR is 10x10 but HR is 64x48"
    assert set(m["per_image"]) == {"img_000", "img_003", "img_004"}


def test_out_folder_with_foreign_files_is_refused(bench, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "metrics.csv").write_text("someone else's table\n")
    res = invoke("--sr", bench["sr"], "--hr", bench["hr"], "--metrics", "psnr", "--out", out)
    assert res.exit_code == 2 and "already holds metrics.csv not written by dalpsr-eval" in res.stderr
    assert (out / "metrics.csv").read_text() == "someone else's table\n"


def test_outputs_are_replaced_atomically(bench, tmp_path, monkeypatch):
    out = tmp_path / "o"
    assert invoke("--sr", bench["sr"], "--hr", bench["hr"], "--metrics", "psnr", "--out", out).exit_code == 0
    before = (out / "metrics.json").read_bytes()
    real_replace = dalpsr_data.atomic.os.replace

    def crash_on_json(src, dst):
        if Path(dst).name == "metrics.json":
            raise OSError("disk full")  # the rename never happens
        real_replace(src, dst)

    monkeypatch.setattr(dalpsr_data.atomic.os, "replace", crash_on_json)
    res = invoke("--sr", bench["sr"], "--hr", bench["hr"], "--metrics", "psnr,ssim", "--out", out, "--overwrite")
    assert res.exit_code != 0 and "disk full" in str(res.exception)
    assert (out / "metrics.json").read_bytes() == before  # the old complete file, not half a new one
    assert not list(out.glob(".tmp-*"))


def test_fresh_process_runs_the_entry_point(bench, tmp_path):
    exe = Path(sys.executable).parent / "dalpsr-eval"
    assert exe.exists(), "entry point missing: pip install -e . after editing pyproject.toml"
    out = tmp_path / "o"
    proc = subprocess.run([str(exe), "--sr", str(bench["sr"]), "--hr", str(bench["hr"]), "--lr", str(bench["lr"]),
                           "--metrics", "psnr,ssim", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # the dataset is named after the parent of the generic "hr" folder
    assert f"{tmp_path.name}: 5/5 images scored" in proc.stdout and "PSNR ↑" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == ["metrics.csv", "metrics.json", "metrics.md", "sheet.png"]
