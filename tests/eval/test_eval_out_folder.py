"""Issue 20 item 6: `dalpsr-eval --out` follows the rule of every output folder.

Before: eval wrote into a folder of the user's own files, and a rerun with other settings
replaced an earlier evaluation's metrics without a word.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from dalpsr_model.cli.eval import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_a_folder_of_the_users_files_is_refused(bench, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes\n")
    for extra in ((), ("--overwrite",)):
        res = invoke("--sr", bench["sr"], "--hr", bench["hr"], "--metrics", "psnr", "--out", out, *extra)
        assert res.exit_code == 2, res.output
        assert "holds 1 file(s) not written by dalpsr-eval (notes.txt)" in res.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_other_settings_are_refused_and_overwrite_replaces_only_our_files(bench, tmp_path):
    out = tmp_path / "o"
    base = ("--sr", bench["sr"], "--hr", bench["hr"], "--lr", bench["lr"], "--out", out)
    assert invoke(*base, "--metrics", "psnr,ssim").exit_code == 0
    (out / "notes.txt").write_text("my notes\n")  # the user's, beside our outputs
    assert invoke(*base, "--metrics", "psnr,ssim", "--device", "cpu").exit_code == 0  # same numbers: allowed
    before = (out / "metrics.json").read_bytes()

    res = invoke(*base, "--metrics", "psnr", "--sheet-images", "0")
    assert res.exit_code == 2
    assert "holds an evaluation made with other settings (--metrics: 'psnr,ssim' -> 'psnr'; " \
           "--sheet-images: 4 -> 0): add --overwrite" in res.stderr, res.stderr
    assert (out / "metrics.json").read_bytes() == before

    res = invoke(*base, "--metrics", "psnr", "--sheet-images", "0", "--overwrite")
    assert res.exit_code == 0, res.output
    assert json.loads((out / "metrics.json").read_text())["metrics"] == ["psnr"]
    # the earlier sheet is gone (this run made none); the user's file stays
    assert sorted(p.name for p in out.iterdir()) == ["metrics.csv", "metrics.json", "metrics.md", "notes.txt"]
