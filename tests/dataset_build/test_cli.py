"""`dalpsr-data build`, `stats` and `preview` through typer's CliRunner."""

from __future__ import annotations

import json

import yaml
from PIL import Image
from typer.testing import CliRunner

from dalpsr_data import schema
from dalpsr_data.cli import app
from tests.dataset_build.conftest import make_good_folder

runner = CliRunner()


def _type_signature(obj):
    if isinstance(obj, dict):
        return {k: _type_signature(v) for k, v in sorted(obj.items())}
    return type(obj).__name__


def test_build_stats_preview_end_to_end(tmp_path, deg_cfg):
    folder = make_good_folder(tmp_path / "photos", n=2, size=(530, 600))
    preset = tmp_path / "p.yaml"
    deg = {"calibration_path": deg_cfg.calibration_path} if deg_cfg.calibration_path else {}
    preset.write_text(yaml.safe_dump({"degradation": deg, "patches": {"per_image": 2},
                                      "build": {"shard_size": 3}}))
    out = tmp_path / "out"
    args = ["build", "--sources", f"folder={folder}", "--pipeline", str(preset), "--out", str(out),
            "--executor", "local"]  # with the progress bar
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "total" in res.output and "output:" in res.output and "4/4" in res.output
    assert [s["nsamples"] for s in schema.read_index(out)["shardlist"]] == [3, 1]
    res = runner.invoke(app, args + ["--seed", "5"])
    assert res.exit_code == 2 and "--overwrite" in res.output
    res = runner.invoke(app, ["stats", str(out), "--json", "--plot", str(tmp_path / "h.png")])
    assert res.exit_code == 0, res.output
    st = json.loads(res.output)
    assert st["samples"] == 4 and st["finished"] and st["per_source"] == {"folder": 4}
    assert [sum(st["bins"][t]) for t in schema.DEGRADATION_TYPES] == [4, 4, 4]
    assert Image.open(tmp_path / "h.png").size[0] > 500
    res = runner.invoke(app, ["preview", str(out), "--n", "3", "--out", str(tmp_path / "pv.png"), "--tile", "64"])
    assert res.exit_code == 0, res.output
    assert Image.open(tmp_path / "pv.png").size == (3 * (2 * 64 + 8) + 8, 64 + 64 + 8 + 8)


def test_cli_errors_exit_2_with_a_message(tmp_path):
    res = runner.invoke(app, ["build", "--sources", "div2k", "--data-root", str(tmp_path), "--out",
                              str(tmp_path / "o"), "--executor", "local", "--no-progress"])
    assert res.exit_code == 2 and "DIV2K_train_HR" in res.output
    res = runner.invoke(app, ["stats", str(tmp_path)])
    assert res.exit_code == 2 and "not a build folder" in res.output


def test_json_members_are_type_stable(reference_build):
    """Columnar readers infer one schema: every sample's JSON has the same fields and types."""
    sigs = {"deg.json": set(), "src.json": set()}
    for entry in schema.read_index(reference_build)["shardlist"]:
        for _, m in schema.iter_tar_samples(reference_build / entry["url"]):
            for name in sigs:
                sigs[name].add(json.dumps(_type_signature(json.loads(m[name])), sort_keys=True))
    assert len(sigs["deg.json"]) == 1 and len(sigs["src.json"]) == 1
