"""`dalpsr-models check`: exit 0 on the tiny kit, exit 1 with a line naming the file on each
hand-made broken copy (the faults the issue lists), and nothing unpickled on the way."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch
from typer.testing import CliRunner

from dalpsr_model.cli.models import app
from dalpsr_model.models.kit import kit_paths


def _check(*args: str):
    result = CliRunner().invoke(app, ["check", *map(str, args)])
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error: ")]
    return result.exit_code, errors, result.output


def test_the_tiny_kit_passes_with_a_size_and_sha256_table(kit):
    code, errors, out = _check(kit)
    assert code == 0 and not errors, out
    assert out.count("OK: it will load") == 3
    ram = kit_paths(kit)["ram"]
    import hashlib
    assert hashlib.sha256(ram.read_bytes()).hexdigest() in out  # the table's sha256 is the file's
    for kind, path in (("sd21", kit_paths(kit)["base"]), ("llava", kit_paths(kit)["llava"]), ("ram", ram)):
        assert _check(path)[0] == 0  # guessed kind
        assert _check(path, "--kind", kind)[0] == 0


def _copy(kit: Path, tmp_path: Path, part: str) -> Path:
    src = kit_paths(kit)[part]
    if part == "ram":
        shutil.copytree(src.parent, tmp_path / "ram")
        return tmp_path / "ram" / src.name
    shutil.copytree(src, tmp_path / src.name)
    return tmp_path / src.name


def _one_problem_naming(path: Path, *check_args) -> str:
    code, errors, out = _check(*check_args)
    assert code == 1, out
    assert len(errors) == 1 and str(path) in errors[0], out
    return errors[0]


def test_missing_unet_weights(kit, tmp_path):
    sd = _copy(kit, tmp_path, "base")
    weights = sd / "unet" / "diffusion_pytorch_model.safetensors"
    weights.unlink()
    assert "download stabilityai/stable-diffusion-2-1-base" in _one_problem_naming(weights, sd)


def test_v_prediction_scheduler_is_the_768_model(kit, tmp_path):
    sd = _copy(kit, tmp_path, "base")
    config_path = sd / "scheduler" / "scheduler_config.json"
    config = json.loads(config_path.read_text())
    config["prediction_type"] = "v_prediction"
    config_path.write_text(json.dumps(config))
    assert "768 px" in _one_problem_naming(config_path, sd, "--kind", "sd21")


def test_original_llava_layout(kit, tmp_path):
    """liuhaotian/llava-v1.5-7b: model_type llava too, but LlavaLlamaForCausalLM, mm_vision_tower, .bin files."""
    folder = tmp_path / "llava-v1.5-7b"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({
        "architectures": ["LlavaLlamaForCausalLM"], "model_type": "llava", "hidden_size": 4096,
        "mm_vision_tower": "openai/clip-vit-large-patch14-336", "mm_projector_type": "mlp2x_gelu"}))
    (folder / "pytorch_model-00001-of-00002.bin").write_bytes(b"PK\x03\x04")
    line = _one_problem_naming(folder / "config.json", folder)
    assert "liuhaotian" in line and "llava-hf/llava-1.5-7b-hf" in line


def test_truncated_pth(kit, tmp_path):
    ram = _copy(kit, tmp_path, "ram")
    ram.write_bytes(ram.read_bytes()[: ram.stat().st_size // 2])
    assert "not a readable PyTorch checkpoint" in _one_problem_naming(ram, ram)


def test_tag_list_of_the_wrong_length(kit, tmp_path):
    ram = _copy(kit, tmp_path, "ram")
    for name in ("ram_tag_list.txt", "ram_tag_list_threshold.txt"):  # both shortened: consistent files
        lines = (ram.parent / name).read_text().splitlines()
        (ram.parent / name).write_text("\n".join(lines[:-1]) + "\n")
    line = _one_problem_naming(ram.parent / "ram_tag_list.txt", ram, "--kind", "ram")
    assert "11 lines" in line and "12 tags" in line


class Exploit:
    """Unpickling this would run code; weights-only loading must refuse it."""

    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('ran')",))


def test_pth_holding_a_pickled_object_is_refused_without_running_it(kit, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ram = _copy(kit, tmp_path, "ram")
    state = torch.load(ram, weights_only=True)
    state["config"] = argparse.Namespace(vit="swin_l")
    state["hook"] = Exploit()
    torch.save(state, ram)
    line = _one_problem_naming(ram, ram)
    assert "weights_only=True" in line and "--ram-allow-unsafe-load" in line
    assert not (tmp_path / "PWNED").exists()


def test_an_unknown_folder_asks_for_the_kind(tmp_path):
    code, errors, _ = _check(tmp_path)
    assert code == 1 and "--kind" in errors[0]
