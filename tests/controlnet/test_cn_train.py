"""The `dalpsr-train controlnet` stage end to end on the tiny stack and a tiny build."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from typer.testing import CliRunner

from dalpsr_model.controlnet.trainer import train_controlnet
from dalpsr_model.cli.train import app


def test_stop_and_resume_reproduces_the_uninterrupted_run(cn_config, tmp_path):
    full = train_controlnet(cn_config(out=str(tmp_path / "full"), ema_decay=0.9))
    assert len(full.losses) == 4 and all(torch.isfinite(torch.tensor(full.losses)))
    first = train_controlnet(cn_config(out=str(tmp_path / "split"), ema_decay=0.9, max_steps=2))
    rest = train_controlnet(cn_config(out=str(tmp_path / "split"), ema_decay=0.9, resume="latest"))
    assert first.losses + rest.losses == full.losses
    for name in ("model-controlnet.safetensors", "model-ema.safetensors"):
        a = load_file(tmp_path / "full" / "checkpoints" / "checkpoint-00000004" / name)
        b = load_file(tmp_path / "split" / "checkpoints" / "checkpoint-00000004" / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_cli_writes_grid_and_a_controlnet_diffusers_loads(tiny_sd_dir, cn_build, tmp_path):
    from diffusers import ControlNetModel

    out = tmp_path / "cli"
    args = ["controlnet", "--shards", str(cn_build), "--base", str(tiny_sd_dir), "--out", str(out),
            "--batch-size", "2", "--num-workers", "0", "--shuffle-buffer", "4", "--max-steps", "2",
            "--crop", "64", "--lr", "1e-3", "--validate-every", "2", "--val-steps", "2",
            "--val-samples", "2", "--no-progress", "--cpu", "--cond-embed-channels", "16",
            "--checkpoint-every", "2", "--mixed-precision", "no"]  # paper.yaml's bf16 is for GPUs
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "controlnet: step 2" in result.output
    grid = Image.open(out / "validation" / "step-00000002.png")
    assert grid.size == (3 * 64, 2 * 64)  # LR | SR | HR per row, one row per sample
    assert list((out / "tb").glob("*.images")), "validation image not logged"
    reloaded = ControlNetModel.from_pretrained(out / "controlnet", local_files_only=True)
    saved = load_file(out / "checkpoints" / "checkpoint-00000002" / "model-controlnet.safetensors")
    state = reloaded.state_dict()
    assert state.keys() == saved.keys() and all(torch.equal(state[k], saved[k]) for k in saved)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["stage"] == "controlnet" and cfg["crop"] == 64 and cfg["lr"] == 1e-3


@pytest.mark.parametrize("extra, message", [
    (["--crop", "100"], "multiple of 32"),
    (["--crop", "128", "--latent-cache"], "use --crop 0"),
    (["--empty-prompt-prob", "1.5"], "empty-prompt-prob"),
])
def test_bad_options_fail_before_any_work(tiny_sd_dir, cn_build, tmp_path, extra, message):
    args = ["controlnet", "--shards", str(cn_build), "--base", str(tiny_sd_dir),
            "--out", str(tmp_path / "x"), *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "x").exists()


def test_missing_base_is_a_config_error(cn_build, tmp_path):
    result = CliRunner().invoke(app, ["controlnet", "--shards", str(cn_build), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "--base" in result.output


def test_gradient_checkpointing_and_accumulation_keep_the_losses(cn_config, tmp_path):
    plain = train_controlnet(cn_config(out=str(tmp_path / "a"), max_steps=2))
    ckpt = train_controlnet(cn_config(out=str(tmp_path / "b"), max_steps=2, gradient_checkpointing=True))
    torch.testing.assert_close(torch.tensor(ckpt.losses), torch.tensor(plain.losses), rtol=1e-5, atol=1e-6)
    # Two micro-batches of 1 draw other noise than one batch of 2 but must stay finite and
    # resume-exact as well: the micro-step index is part of the step generator's key.
    accum = train_controlnet(cn_config(out=str(tmp_path / "c"), max_steps=2, batch_size=1, grad_accum_steps=2))
    again = train_controlnet(cn_config(out=str(tmp_path / "d"), max_steps=2, batch_size=1, grad_accum_steps=2))
    assert accum.losses == again.losses and all(torch.isfinite(torch.tensor(accum.losses)))


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(cn_config, tmp_path, monkeypatch):
    import dalpsr_model.controlnet.trainer as trainer_mod  # patched where the trainer looks it up
    from dalpsr_model.training.errors import NonFiniteLossError

    real = trainer_mod.compute_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):  # the third step's loss becomes NaN
        calls["n"] += 1
        loss = real(*args, **kwargs)
        return loss * float("nan") if calls["n"] == 3 else loss

    monkeypatch.setattr(trainer_mod, "compute_loss", poisoned)
    out = tmp_path / "nan"
    with pytest.raises(NonFiniteLossError, match="checkpoint-00000002"):
        train_controlnet(cn_config(out=str(out), max_steps=4))
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-00000002"]
    assert not (out / "controlnet").exists()  # no final weights from a broken run
