"""Weights files go through dalpsr_data.atomic like every other output (issue 13 item C,
issue 11 item 16): temporary name, fsync, rename, and the same permissions as the JSON
written beside them (safetensors' own ``save_file`` creates 0600 files)."""

from __future__ import annotations

import os
import stat

import pytest
import torch
from safetensors.torch import load_file, save
from torch import nn
from typer.testing import CliRunner

from dalpsr_data.atomic import TMP_PREFIX, write_json_atomic, write_safetensors_atomic
from dalpsr_data.caption.llava_io import META_NAME, WEIGHTS_NAME, save_vision_tower
from dalpsr_data.cli import app
from dalpsr_model.irpad.io import META, WEIGHTS, save_irpad
from dalpsr_model.irpad.model import Irpad, IrpadArch


@pytest.fixture
def umask_022():
    old = os.umask(0o022)  # the usual one; the expected mode below is written out from it
    yield 0o644
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_helper_writes_save_bytes_with_output_permissions(tmp_path, umask_022):
    tensors = {"a": torch.arange(6.0).reshape(2, 3), "b": torch.zeros(4, dtype=torch.int64)}
    target = tmp_path / "w.safetensors"
    write_safetensors_atomic(target, tensors, metadata={"k": "v"})
    write_json_atomic(tmp_path / "w.json", {"x": 1})
    # Independent reference: the library's in-memory serializer gives the file's bytes.
    assert target.read_bytes() == save(tensors, metadata={"k": "v"})
    assert mode(target) == mode(tmp_path / "w.json") == umask_022
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(TMP_PREFIX)] == []


def test_helper_failure_leaves_target_untouched(tmp_path):
    target = tmp_path / "w.safetensors"
    target.write_bytes(b"old")
    with pytest.raises(Exception):
        write_safetensors_atomic(target, {"bad": "not a tensor"})  # type: ignore[dict-item]
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]


def test_irpad_weights_have_output_permissions(tmp_path, umask_022):
    model = Irpad(IrpadArch(width=4, dim=8, heads=2, blocks=1))
    save_irpad(model, tmp_path)
    assert mode(tmp_path / WEIGHTS) == mode(tmp_path / META) == umask_022
    state = load_file(str(tmp_path / WEIGHTS))
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_vision_tower_has_output_permissions(tmp_path, umask_022):
    class Llava(nn.Module):  # find_vision_tower's shape: model.vision_tower is a module
        def __init__(self):
            super().__init__()
            self.vision_tower = nn.Linear(3, 2)

    save_vision_tower(Llava(), tmp_path / "tower")
    assert mode(tmp_path / "tower" / WEIGHTS_NAME) == mode(tmp_path / "tower" / META_NAME) == umask_022
    assert [p.name for p in (tmp_path / "tower").iterdir() if p.name.startswith(TMP_PREFIX)] == []


def test_convert_ram_output_has_output_permissions(tmp_path, umask_022):
    from tests.caption.tiny_ram import TINY_IMAGE_SIZE, build_tiny_ram

    ckpt = build_tiny_ram(tmp_path / "ram")
    out = tmp_path / "conv" / "ram.safetensors"
    result = CliRunner().invoke(app, ["convert-ram", str(ckpt), str(out), "--image-size", str(TINY_IMAGE_SIZE)])
    assert result.exit_code == 0, result.output
    assert mode(out) == umask_022
    assert sorted(p.name for p in out.parent.iterdir()) == ["ram.safetensors"]
