"""IRPAD model, CLI, predictor and exact resume (on synthetic shards)."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from dalpsr_data.degradation.prompt import parse_prompt
from dalpsr_model.irpad.evaluate import evaluate
from dalpsr_model.irpad.io import load_irpad
from dalpsr_model.irpad.model import Irpad, IrpadArch, irpad_loss
from dalpsr_model.irpad.predictor import IrpadPredictor
from dalpsr_model.irpad.prompts import degradation_prompts
from dalpsr_model.cli.train import app
from dalpsr_model.irpad.trainer import IrpadConfig, train_irpad

SMALL = dict(width=4, dim=16, heads=2, batch_size=4, num_workers=0, shuffle_buffer=4,
             warmup_steps=0, progress=False, holdout_shards=1)


def test_prompts_are_type_major_in_the_paper_wording():
    p = degradation_prompts()
    assert len(p) == 12 and p[0] == "Deblur with sigma 0~0.25" and p[6] == "Denoise with sigma 0.5~0.75"
    assert p[11] == "Dejpeg with sigma 0.75~1"


def test_forward_shapes_loss_and_any_input_size():
    torch.manual_seed(0)
    model = Irpad(IrpadArch(width=4, dim=16, heads=2))
    logits = model(torch.rand(2, 3, 128, 128))
    assert logits.shape == (2, 3, 4) and logits.dtype == torch.float32
    assert model(torch.rand(1, 3, 96, 80)).shape == (1, 3, 4)
    bins = torch.tensor([[0, 1, 2], [3, 2, 1]])
    loss, logs = irpad_loss(logits, bins)
    expected = sum(torch.nn.functional.cross_entropy(logits[:, t], bins[:, t]) for t in range(3)) / 3
    assert torch.allclose(loss, expected) and set(logs) == {"ce_blur", "ce_noise", "ce_jpeg"}
    # All-correct logits give accuracy 1 and a diagonal confusion matrix.
    class Oracle(torch.nn.Module):
        def forward(self, lr):
            return torch.nn.functional.one_hot(lr[:, 0, 0, :3].long(), 4).float()
    lr = torch.zeros(2, 3, 8, 8)
    lr[:, 0, 0, :3] = bins.float()
    m = evaluate(Oracle(), [{"lr": lr, "bins": bins}])
    assert m["accuracy"] == {"blur": 1.0, "noise": 1.0, "jpeg": 1.0}
    assert m["confusion"]["blur"][0] == [1, 0, 0, 0] and m["confusion"]["blur"][3] == [0, 0, 0, 1]


def test_clip_text_queries_from_a_base_model(tiny_sd_text_dir):
    from dalpsr_model.irpad.text import embed_prompts_with_clip

    emb = embed_prompts_with_clip(tiny_sd_text_dir)
    assert emb.shape == (12, 32) and torch.isfinite(emb).all()
    assert not torch.allclose(emb[0], emb[1])  # different bins give different queries
    model = Irpad(IrpadArch(width=4, dim=16, heads=2, text_dim=32), emb)
    assert torch.equal(model.state_dict()["prompt_embeddings"], emb)
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 3, 4)


def test_irpad_stop_and_resume_reproduces_losses(fake_build, tmp_path):
    full = train_irpad(IrpadConfig(shards=str(fake_build), out=str(tmp_path / "a"), max_steps=6, **SMALL))
    train_irpad(IrpadConfig(shards=str(fake_build), out=str(tmp_path / "b"), max_steps=4, **SMALL))
    rest = train_irpad(IrpadConfig(shards=str(fake_build), out=str(tmp_path / "b"), max_steps=6,
                                   resume="latest", **SMALL))
    assert full["result"].losses[4:] == rest["result"].losses
    a, b = load_irpad(tmp_path / "a"), load_irpad(tmp_path / "b")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert full["eval"] == {**rest["eval"]}


def test_cli_end_to_end_outputs_and_predictor(fake_build, tmp_path):
    out = tmp_path / "irpad"
    res = CliRunner().invoke(app, ["irpad", "--shards", str(fake_build), "--out", str(out),
                                   "--max-steps", "3", "--width", "4", "--dim", "16", "--heads", "2",
                                   "--batch-size", "4", "--num-workers", "0", "--no-progress",
                                   "--mixed-precision", "no"])  # paper.yaml's bf16 is for GPUs
    assert res.exit_code == 0, res.output
    assert "accuracy blur" in res.output
    ev = json.loads((out / "eval.json").read_text())
    assert ev["n"] == 6 and ev["held_out"]["shards"] == [3]  # last shard (6 samples) held out
    assert sum(map(sum, ev["confusion"]["noise"])) == 6
    meta = json.loads((out / "irpad.json").read_text())
    assert meta["prompts"] == degradation_prompts() and meta["config"]["max_steps"] == 3
    pred = IrpadPredictor.load(out)
    prompts = pred(torch.rand(2, 3, 128, 128))
    assert len(prompts) == 2 and all(set(parse_prompt(p)) == {"blur", "noise", "jpeg"} for p in prompts)
    import numpy as np
    from PIL import Image
    img = Image.fromarray((np.random.default_rng(0).random((128, 128, 3)) * 255).astype(np.uint8))
    assert pred([img]) == [pred.__call__(IrpadPredictor.to_tensor([img]))[0]]


def test_cli_refuses_bad_configs_before_work(fake_build, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["irpad", "--shards", str(fake_build), "--holdout-shards", "4",
                              "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "cannot hold out 4" in res.output
    res = runner.invoke(app, ["irpad", "--shards", str(fake_build), "--trunk", "timm"])
    assert res.exit_code == 2 and "--trunk-weights" in res.output
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("preset", ["paper", "demo"])
def test_presets_load(preset):
    from dalpsr_data.config_io import load_config
    from dalpsr_model.encoder_align.trainer import EncoderConfig

    irpad = load_config(IrpadConfig, preset, "irpad", {"shards": "x"})
    enc = load_config(EncoderConfig, preset, "encoder", {"shards": "x", "llava": "y"})
    assert irpad.blocks == 2 and irpad.warmup_steps < irpad.max_steps
    assert enc.warmup_steps < enc.max_steps


def test_pretrained_timm_trunk_loads_local_weights(tmp_path):
    import timm
    from safetensors.torch import save_file

    from dalpsr_model.irpad.trunk import TimmTrunk

    torch.manual_seed(1)
    src = timm.create_model("resnet18", pretrained=False)
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(tmp_path / "r18.safetensors"))
    trunk = TimmTrunk("resnet18", str(tmp_path / "r18.safetensors"))
    assert torch.equal(trunk.model.state_dict()["conv1.weight"], src.state_dict()["conv1.weight"])
    assert trunk(torch.rand(1, 3, 128, 128)).shape == (1, 32 * 32, 128)  # stride 8 of the 2x input
    save_file({"unrelated": torch.zeros(1)}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(ValueError, match="no tensor matches"):
        TimmTrunk("resnet18", str(tmp_path / "bad.safetensors"))


def test_build_irpad_builds_a_timm_trunk_once(monkeypatch, tmp_path):
    """The timm trunk is built once, with its weights; no random trunk is built and dropped."""
    import dalpsr_model.irpad.model as model_mod
    import dalpsr_model.irpad.trainer as trainer_mod

    built = []

    class FakeTrunk(torch.nn.Module):
        def __init__(self, name, weights=""):
            super().__init__()
            built.append((name, weights))
            self.out_dim = 8
            self.conv = torch.nn.Conv2d(3, 8, 1)

    monkeypatch.setattr(model_mod, "TimmTrunk", FakeTrunk)
    monkeypatch.setattr(trainer_mod, "TimmTrunk", FakeTrunk)
    cfg = IrpadConfig(shards=str(tmp_path), out=str(tmp_path / "o"), trunk="timm", timm_model="m",
                      trunk_weights="w.safetensors", **SMALL)
    model = trainer_mod.build_irpad(cfg)
    assert built == [("m", "w.safetensors")] and isinstance(model.trunk, FakeTrunk)
