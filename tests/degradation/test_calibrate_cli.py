"""`dalpsr-data calibrate` end to end (typer CliRunner), and its use through calibration_path."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from dalpsr_data.cli import app
from dalpsr_data.degradation import describe, sample_params
from dalpsr_data.degradation.calibration import TYPES, load_table
from dalpsr_data.seeding import rng_for


def test_calibrate_writes_a_usable_table(tmp_path, cfg):
    out = tmp_path / "calib.json"
    res = CliRunner().invoke(app, ["calibrate", "--pipeline", "demo", "--samples", "300", "--seed", "3",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output
    table = json.loads(out.read_text())
    assert table["samples"] == 300 and table["pipeline"] == "demo"
    assert table["config_hash"] == load_table(cfg)["config_hash"]  # demo keeps the paper's sampling
    for t in TYPES:
        assert len(table["quantiles"][t]) == 1001
        assert all(a <= b for a, b in zip(table["quantiles"][t], table["quantiles"][t][1:]))
    import dataclasses
    rec = describe(sample_params(rng_for(0, "k", "degradation"), cfg),
                   dataclasses.replace(cfg, calibration_path=str(out)))
    assert set(rec["bins"]) == set(TYPES)
    assert not list(tmp_path.glob(".tmp-*"))  # written through a temporary name


def test_calibrate_rejects_bad_options(tmp_path):
    res = CliRunner().invoke(app, ["calibrate", "--samples", "5", "--out", str(tmp_path / "x.json")])
    assert res.exit_code == 2 and "samples" in res.output
    res = CliRunner().invoke(app, ["calibrate", "--pipeline", "no-such-preset", "--samples", "300",
                                   "--out", str(tmp_path / "x.json")])
    assert res.exit_code == 2 and "not found" in res.output
    assert not (tmp_path / "x.json").exists()


def test_help_shows_defaults():
    res = CliRunner().invoke(app, ["calibrate", "--help"])
    assert res.exit_code == 0
    assert "50000" in res.output and "--out" in res.output
