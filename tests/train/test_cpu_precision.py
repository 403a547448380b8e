"""The presets' bf16 applies on CUDA only: on the CPU every stage trains in fp32.

Found by running `dalpsr-train irpad` and `dalpsr-train controlnet` on their defaults on a
2-core CPU: paper.yaml's ``mixed_precision: bf16`` turned on CPU bf16 autocast (and bf16
frozen SD weights), 6x (IRPAD, 10 steps) and 13x (tiny ControlNet, 512 px) slower than fp32.
"""

from __future__ import annotations

import torch

from dalpsr_model.controlnet.config import ControlNetConfig
from dalpsr_model.controlnet.trainer import weight_dtype
from dalpsr_model.training.accel import effective_precision, make_accelerator
from dalpsr_model.training.config import TrainConfig


def test_bf16_on_the_cpu_runs_fp32_and_says_so(capsys):
    cfg = TrainConfig(shards="unused", mixed_precision="bf16", cpu=True)
    acc = make_accelerator(cfg)
    assert acc.mixed_precision == "no"
    layer = torch.nn.Linear(4, 4)
    with acc.autocast():  # bf16 autocast would give a bfloat16 output here
        out = layer(torch.ones(2, 4))
    assert out.dtype == torch.float32
    effective_precision(cfg)
    err = capsys.readouterr().err
    assert err.count("note: --mixed-precision bf16 applies on CUDA only") <= 1


def test_no_stays_no_and_controlnet_frozen_weights_stay_fp32_on_the_cpu():
    assert effective_precision(TrainConfig(shards="unused", mixed_precision="no", cpu=True)) == "no"
    cn = ControlNetConfig(shards="unused", base="unused", mixed_precision="bf16", cpu=True)
    assert weight_dtype(cn) == torch.float32


def test_cuda_keeps_the_configured_precision(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert effective_precision(TrainConfig(shards="unused", mixed_precision="bf16")) == "bf16"
    cn = ControlNetConfig(shards="unused", base="unused", mixed_precision="bf16")
    assert weight_dtype(cn) == torch.bfloat16
