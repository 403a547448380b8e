"""Common trainer parts with a toy stage: exact resume, checkpoint limit, NaN stop, CLI."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import pytest
import torch
import typer
from typer.testing import CliRunner

from dalpsr_data.config_io import ConfigError
from dalpsr_model.data import EpochLoader
from dalpsr_model.training.errors import NonFiniteLossError
from dalpsr_model.training.loop import StepOutput, Trainer, make_optimizer, make_scheduler
from dalpsr_model.training.config import TrainConfig, opt
from dalpsr_model.training.checkpoint import find_latest_checkpoint
from dalpsr_model.training.accel import make_accelerator, seed_everything
from dalpsr_model.cli.options import make_stage_command
from dalpsr_model.training.checkpoint import list_checkpoints


@dataclasses.dataclass(frozen=True)
class ToyConfig(TrainConfig):
    width: int = opt(8, "Hidden width of the toy model.")
    nan_at: int = opt(0, "Return a NaN loss at this call (0 = never).")


def _run(cfg: ToyConfig) -> tuple:
    acc = make_accelerator(cfg)
    seed_everything(cfg.seed)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, cfg.width, 4, stride=4), torch.nn.ReLU(),
                                torch.nn.Dropout(0.3), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(cfg.width, 4))
    optimizer = make_optimizer(cfg, model.parameters())
    scheduler = make_scheduler(cfg, optimizer)
    model, optimizer = acc.prepare(model, optimizer)
    loader = EpochLoader.from_config(cfg, acc, fields=("lr", "bins"))
    calls = [0]

    def step(batch):
        calls[0] += 1
        loss = torch.nn.functional.cross_entropy(model(batch["lr"]), batch["bins"][:, 0])
        if calls[0] == cfg.nan_at:
            loss = loss * float("nan")
        return StepOutput(loss, batch["lr"].shape[0], {"ce": loss.item()})

    trainer = Trainer(cfg, acc, models={"toy": model}, optimizer=optimizer, scheduler=scheduler,
                      loader=loader, training_step=step)
    return trainer.fit(), acc.unwrap_model(model)


def _cfg(root, out, **kw):
    base = dict(shards=str(root), out=str(out), batch_size=3, num_workers=0, shuffle_buffer=4,
                lr=0.05, warmup_steps=2, max_steps=8, checkpoint_every=3, log_every=2,
                progress=False, grad_accum_steps=1)
    return ToyConfig(**{**base, **kw})


@pytest.mark.parametrize("workers,accum", [(0, 1), (2, 2)])
def test_stop_and_resume_reproduces_uninterrupted_losses(fake_build, tmp_path, workers, accum):
    full, full_model = _run(_cfg(fake_build, tmp_path / "full", num_workers=workers, grad_accum_steps=accum))
    # 8 steps x accum batches cross epoch boundaries (21 samples, batch 3): resume mid-epoch too.
    first, _ = _run(_cfg(fake_build, tmp_path / "cut", num_workers=workers, grad_accum_steps=accum, max_steps=5))
    rest, rest_model = _run(_cfg(fake_build, tmp_path / "cut", num_workers=workers, grad_accum_steps=accum,
                                 resume="latest"))
    assert first.step == 5 and rest.step == 8 and len(rest.losses) == 3
    assert first.losses + rest.losses == full.losses
    for a, b in zip(full_model.state_dict().values(), rest_model.state_dict().values()):
        assert torch.equal(a, b)
    assert len(set(full.losses)) == len(full.losses)  # the losses really change step to step


def test_checkpoint_limit_and_layout(fake_build, tmp_path):
    result, _ = _run(_cfg(fake_build, tmp_path / "o", checkpoint_every=1, keep_checkpoints=2, max_steps=4))
    ckpts = list_checkpoints(tmp_path / "o" / "checkpoints")
    assert [s for s, _ in ckpts] == [3, 4]
    latest = find_latest_checkpoint(tmp_path / "o" / "checkpoints")
    assert latest == result.last_checkpoint and latest.name == "checkpoint-00000004"
    assert sorted(p.name for p in latest.iterdir()) == [
        "config.json", "meta.json", "model-toy.safetensors", "rng-rank0.pt", "state.pt"]
    state = torch.load(latest / "state.pt", weights_only=True)
    assert state["step"] == 4 and state["loader"]["batches_done"] == 4 and state["loader"]["epoch"] == 0
    assert (tmp_path / "o" / "tb").is_dir() and any((tmp_path / "o" / "tb").iterdir())


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(fake_build, tmp_path):
    cfg = _cfg(fake_build, tmp_path / "o", checkpoint_every=2, nan_at=5)
    with pytest.raises(NonFiniteLossError, match="step 5.*checkpoint-00000004"):
        _run(cfg)
    ckpts = list_checkpoints(tmp_path / "o" / "checkpoints")
    assert [s for s, _ in ckpts] == [2, 4]
    assert not [p for p in (tmp_path / "o" / "checkpoints").iterdir() if p.name.startswith(".tmp-")]
    # The weights in the kept checkpoint are finite.
    from safetensors.torch import load_file
    w = load_file(str(ckpts[-1][1] / "model-toy.safetensors"))
    assert all(torch.isfinite(t).all() for t in w.values())


def test_resume_with_changed_options_is_refused(fake_build, tmp_path):
    _run(_cfg(fake_build, tmp_path / "o", max_steps=2))
    with pytest.raises(ConfigError, match="lr"):
        _run(_cfg(fake_build, tmp_path / "o", max_steps=4, lr=0.1, resume="latest"))


def test_config_validation_messages(fake_build):
    with pytest.raises(ConfigError, match="--shards"):
        ToyConfig()
    with pytest.raises(ConfigError, match="mixed-precision"):
        ToyConfig(shards=str(fake_build), mixed_precision="fp8")
    assert math.isclose(ToyConfig(shards="x").lr, 1e-4)


def test_generated_cli_options_preset_and_errors(fake_build, tmp_path):
    got = []
    app = typer.Typer()
    app.command("toy")(make_stage_command(ToyConfig, "encoder", got.append, doc="Toy stage."))
    app.command("other")(lambda: None)
    runner = CliRunner()
    help_text = runner.invoke(app, ["toy", "--help"], env={"COLUMNS": "250", "TERMINAL_WIDTH": "250"}).output
    for flag in ("--batch-size", "--mixed-precision", "--width", "--resume", "--pipeline", "--no-progress"):
        assert flag in help_text
    assert "Hidden width of the toy model." in help_text and "[default: 8]" in help_text
    preset = tmp_path / "p.yaml"
    preset.write_text("encoder:\n  width: 5\n  batch_size: 7\n")
    res = runner.invoke(app, ["toy", "--pipeline", str(preset), "--shards", str(fake_build),
                              "--batch-size", "2", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert got[-1] == ToyConfig(shards=str(fake_build), width=5, batch_size=2, progress=False)
    res = runner.invoke(app, ["toy", "--shards", str(fake_build), "--batch-size", "0"])
    assert res.exit_code == 2 and "--batch-size must be >= 1" in res.output


def test_scheduler_warmup_then_cosine(fake_build):
    cfg = ToyConfig(shards=str(fake_build), lr=1.0, warmup_steps=2, decay_steps=4)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    sched = make_scheduler(cfg, opt)
    lrs = []
    for _ in range(8):
        lrs.append(round(opt.param_groups[0]["lr"], 4))
        opt.step()
        sched.step()
    assert lrs == [0.5, 1.0, 1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]
    const = make_scheduler(ToyConfig(shards="x", lr=1.0), torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0))
    assert const.get_last_lr() == [1.0]


def test_generated_cli_maps_run_errors_to_exit_codes(fake_build):
    def body(cfg):
        if cfg.width == 1:
            raise ConfigError("width 1 is too small")
        raise NonFiniteLossError("non-finite loss at step 3")
    app = typer.Typer()
    app.command("toy")(make_stage_command(ToyConfig, "toy", body, doc="Toy."))
    app.command("other")(lambda: None)
    runner = CliRunner()
    res = runner.invoke(app, ["toy", "--shards", str(fake_build), "--width", "1"])
    assert res.exit_code == 2 and "width 1 is too small" in res.output
    res = runner.invoke(app, ["toy", "--shards", str(fake_build)])
    assert res.exit_code == 1 and "non-finite loss at step 3" in res.output


def test_stage_command_on_a_missing_build_exits_2_without_traceback(tmp_path):
    from dalpsr_model.cli.train import app as train_app

    res = CliRunner().invoke(train_app, ["irpad", "--shards", str(tmp_path / "nothing"),
                                         "--out", str(tmp_path / "run")])
    assert res.exit_code == 2, res.output
    assert "index.json not found" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "run").exists()



@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_keep_freed_memory_is_accepted_by_glibc():
    # Every parameter must be accepted (mallopt returns 1 for each); a fresh process, since
    # the trainer tests above already switched this one over. Its effect on page faults
    # depends on the kernel's state, so it is measured in docs/train.md, not asserted here.
    code = "from dalpsr_model.training.accel import keep_freed_memory as k; print(k(), k())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]
