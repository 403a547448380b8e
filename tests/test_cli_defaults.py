"""CLI defaults that must agree: both entry points without arguments, calibrate's draws."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from dalpsr_data.cli import app as data_app
from dalpsr_data.commands.calibrate import CalibrateConfig
from dalpsr_data.degradation.calibration import PACKAGED_TABLE
from dalpsr_model.cli.train import app as train_app

runner = CliRunner()


def test_both_entry_points_without_arguments_show_usage_and_exit_2():
    for app in (data_app, train_app):
        res = runner.invoke(app, [])
        assert res.exit_code == 2, (app.info.name, res.exit_code)
        assert "Usage" in res.output and "Commands" in res.output
        assert runner.invoke(app, ["--help"]).exit_code == 0  # asking for help is not an error


def test_calibrate_defaults_are_the_shipped_tables():
    shipped = json.loads(PACKAGED_TABLE.read_text())
    res = runner.invoke(data_app, ["calibrate", "--help"])
    assert f"[default: {shipped['samples']}]" in res.output.replace("\n", " ")
    assert CalibrateConfig().samples == shipped["samples"] and CalibrateConfig().seed == shipped["seed"]
