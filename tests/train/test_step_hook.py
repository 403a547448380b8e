"""The Trainer's on_step_end hook and micro-step index (issue 13: EMA without an optimizer
wrapper), and the last loss a finished run reports when resumed (issue 11 item 16)."""

from __future__ import annotations

import math

import torch

import dalpsr_model.controlnet.ema as ema_module
from dalpsr_model.data import EpochLoader
from dalpsr_model.training.accel import make_accelerator, seed_everything
from dalpsr_model.training.loop import StepOutput, Trainer, make_optimizer
from tests.train.test_trainer_common import _cfg


def _trainer(cfg, record):
    acc = make_accelerator(cfg)
    seed_everything(cfg.seed)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 128 * 128, 4))
    optimizer = make_optimizer(cfg, model.parameters())
    model, optimizer = acc.prepare(model, optimizer)
    loader = EpochLoader.from_config(cfg, acc, fields=("lr", "bins"))
    trainer = None

    def step(batch):
        record["micro"].append(trainer.micro_step)
        loss = torch.nn.functional.cross_entropy(model(batch["lr"]), batch["bins"][:, 0])
        return StepOutput(loss, batch["lr"].shape[0])

    def after(step_no):
        # runs after the optimizer step of step_no, before its checkpoint is written
        record["steps"].append(step_no)
        record["weights"].append(acc.unwrap_model(model)[1].weight.detach().clone())
        record["optimizer_steps"].append(int(optimizer.state_dict()["state"][0]["step"]))

    trainer = Trainer(cfg, acc, models={"m": model}, optimizer=optimizer, loader=loader,
                      training_step=step, on_step_end=after)
    return trainer


def _record():
    return {"micro": [], "steps": [], "weights": [], "optimizer_steps": []}


def test_on_step_end_once_per_optimizer_step_and_micro_step_index(fake_build, tmp_path):
    from safetensors.torch import load_file

    cfg = _cfg(fake_build, tmp_path / "o", grad_accum_steps=2, max_steps=3, checkpoint_every=1,
               keep_checkpoints=5)
    rec = _record()
    result = _trainer(cfg, rec).fit()
    assert rec["steps"] == [1, 2, 3] and rec["optimizer_steps"] == [1, 2, 3]  # not per micro-step
    assert rec["micro"] == [0, 1, 2, 3, 4, 5]  # step * accumulation + micro-step
    for n, w in zip(rec["steps"], rec["weights"]):  # the hook saw the weights of that step
        saved = load_file(tmp_path / "o" / "checkpoints" / f"checkpoint-{n:08d}" / "model-m.safetensors")
        assert torch.equal(saved["1.weight"], w)
    assert result.last_loss == result.losses[-1]

    # a resumed run continues the index where the uninterrupted one was
    more = _record()
    again = _trainer(_cfg(fake_build, tmp_path / "o", grad_accum_steps=2, max_steps=4, checkpoint_every=1,
                          keep_checkpoints=5, resume="latest"), more).fit()
    assert more["micro"] == [6, 7] and more["steps"] == [4] and again.step == 4

    # a finished run resumed runs no step and reports the last loss it saved, not nan
    done = _record()
    finished = _trainer(_cfg(fake_build, tmp_path / "o", grad_accum_steps=2, max_steps=4, checkpoint_every=1,
                             keep_checkpoints=5, resume="latest"), done).fit()
    assert finished.losses == [] and done["steps"] == []
    assert not math.isnan(finished.last_loss) and finished.last_loss == again.losses[-1]


def test_ema_needs_no_optimizer_wrapper():
    assert not hasattr(ema_module, "StepHookOptimizer")
