"""One rule for every command's defaults: pipelines/paper.yaml applies unless --pipeline is
given, and --help shows each default as [default: X] (issue 11 item 15; issue 13: both CLIs
generate their options the same way)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

# The commands import their trainers when they run (issue 20): patch the trainers' modules.
import dalpsr_data.caption.run as caption_cli
import dalpsr_model.controlnet.trainer as controlnet_cli
import dalpsr_model.encoder_align.trainer as encoder_cli
import dalpsr_model.irpad.trainer as irpad_cli
from dalpsr_data.cli import app as data_app
from dalpsr_data.config_io import ConfigError, to_dict
from dalpsr_model.cli.train import app as train_app
from tests.support.fake_build import write_fake_build

PAPER = yaml.safe_load((Path(__file__).resolve().parents[2] / "pipelines" / "paper.yaml").read_text())
WIDE = {"COLUMNS": "250", "TERMINAL_WIDTH": "250"}


class Seen(ConfigError):
    """Raised by the stand-in trainer: the command exits 2 after recording its config."""


def _capture(monkeypatch, module, name):
    seen = []

    def fake(*args, **kwargs):  # the config is the one dataclass argument
        seen.append(next(a for a in args if hasattr(a, "__dataclass_fields__")))
        raise Seen("stop")

    monkeypatch.setattr(module, name, fake)
    return seen


STAGES = [
    (irpad_cli, "train_irpad", ["irpad"], "irpad"),
    (encoder_cli, "train_encoder", ["encoder", "--llava", "L"], "encoder"),
    (controlnet_cli, "train_controlnet", ["controlnet", "--base", "B"], "controlnet"),
]


@pytest.mark.parametrize("module, name, args, section", STAGES, ids=[s[3] for s in STAGES])
def test_a_stage_without_pipeline_resolves_the_paper_section(monkeypatch, tmp_path, module, name, args, section):
    seen = _capture(monkeypatch, module, name)
    write_fake_build(tmp_path, [2])  # the command opens the build before it imports the trainer
    res = CliRunner().invoke(train_app, [*args, "--shards", str(tmp_path), "--seed", "7"])
    assert res.exit_code == 2 and "stop" in res.output, res.output
    got = to_dict(seen[0])
    assert PAPER[section] and {k: got[k] for k in PAPER[section]} == PAPER[section]
    assert got["seed"] == 7  # the command line still wins
    # another preset replaces paper's values; a value paper sets but the file does not goes back
    # to the dataclass default, not paper's
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({section: {"max_steps": 5}}))
    res = CliRunner().invoke(train_app, [*args, "--shards", str(tmp_path), "--pipeline", str(other)])
    assert res.exit_code == 2 and to_dict(seen[1])["max_steps"] == 5
    default_cls = type(seen[1])
    assert seen[1].batch_size == default_cls.__dataclass_fields__["batch_size"].default


def test_the_readme_irpad_command_runs_paper_steps_and_buffer(monkeypatch, tmp_path):
    seen = _capture(monkeypatch, irpad_cli, "train_irpad")
    write_fake_build(tmp_path, [2])
    CliRunner().invoke(train_app, ["irpad", "--shards", str(tmp_path)])
    assert seen[0].max_steps == PAPER["irpad"]["max_steps"] == 20000
    assert seen[0].shuffle_buffer == PAPER["irpad"]["shuffle_buffer"] == 2048


def test_caption_without_pipeline_resolves_the_paper_section(monkeypatch, tmp_path):
    seen = _capture(monkeypatch, caption_cli, "run_caption")
    write_fake_build(tmp_path, [2])  # the command reads index.json before it imports run_caption
    res = CliRunner().invoke(data_app, ["caption", str(tmp_path), "--max-tags", "3"])
    assert res.exit_code == 2 and "stop" in res.output, res.output
    got = to_dict(seen[0])
    assert {k: got[k] for k in PAPER["caption"]} == PAPER["caption"] and got["max_tags"] == 3


HELP = [(train_app, ["irpad"]), (train_app, ["encoder"]), (train_app, ["controlnet"]), (train_app, []),
        (data_app, ["caption"]), (data_app, ["build"]), (data_app, ["calibrate"])]


@pytest.mark.parametrize("app, args", HELP, ids=[" ".join(a) or "recipe" for _, a in HELP])
def test_help_names_the_preset_applied_and_one_default_style(app, args):
    res = CliRunner().invoke(app, [*args, "--help"], env=WIDE)
    assert res.exit_code == 0, res.output
    assert "--pipeline" in res.output and "[default: paper]" in res.output
    assert "(default:" not in res.output and "[default: (" not in res.output


def test_stage_help_shows_paper_values_as_defaults():
    res = CliRunner().invoke(train_app, ["irpad", "--help"], env=WIDE)
    row = next(x for x in res.output.splitlines() if "--max-steps" in x)
    assert f"[default: {PAPER['irpad']['max_steps']}]" in row


def test_both_clis_generate_their_options_from_the_config_dataclass():
    import dataclasses

    import typer.main

    from dalpsr_data.caption.config import CaptionConfig
    from dalpsr_data.commands.calibrate import CalibrateConfig
    from dalpsr_data.commands.convert_ram import ConvertRamConfig
    from dalpsr_model.controlnet.config import ControlNetConfig
    from dalpsr_model.encoder_align.trainer import EncoderConfig
    from dalpsr_model.irpad.trainer import IrpadConfig

    cases = [(data_app, "caption", CaptionConfig, "caption", {"build", "local", "progress"}),
             (data_app, "calibrate", CalibrateConfig, None, set()),
             (data_app, "convert-ram", ConvertRamConfig, None, set()),
             (train_app, "irpad", IrpadConfig, "irpad", set()),
             (train_app, "encoder", EncoderConfig, "encoder", set()),
             (train_app, "controlnet", ControlNetConfig, "controlnet", set())]
    for app, name, cls, section, extra in cases:
        params = {p.name: p for p in typer.main.get_command(app).commands[name].params}
        fields = {f.name: f.default for f in dataclasses.fields(cls)}
        # --verbose: every command's (the libraries' notices, dalpsr_data.library_logs)
        assert set(params) - {"help", "verbose"} == set(fields) | extra | ({"pipeline"} if section else set()), name
        preset = PAPER.get(section, {}) if section else {}
        for field, default in fields.items():  # the shown default is what applies without --pipeline
            expected = preset.get(field, default)
            assert params[field].default == (expected if expected != "" or not params[field].required
                                             else None), (name, field)
            assert params[field].help == cls.__dataclass_fields__[field].metadata["help"], (name, field)


def test_generator_positional_and_repeatable_fields():
    import dataclasses

    import typer

    from dalpsr_data.config_io import opt
    from dalpsr_model.cli.options import make_stage_command

    @dataclasses.dataclass(frozen=True)
    class Many:
        inputs: tuple[str, ...] = opt((), "Files.")
        tags: tuple[str, ...] = opt(("a",), "Tags.")
        n: int = opt(1, "N.")

    got = []
    app = typer.Typer()
    app.command("x")(make_stage_command(Many, "x", got.append, "Doc.", arguments=("inputs",)))
    app.command("y")(lambda: None)
    res = CliRunner().invoke(app, ["x", "a.png", "b.png", "--tags", "t1", "--tags", "t2", "--n", "3"])
    assert res.exit_code == 0, res.output
    assert got == [Many(inputs=("a.png", "b.png"), tags=("t1", "t2"), n=3)]
    assert CliRunner().invoke(app, ["x"]).exit_code == 0 and got[-1] == Many()
