"""RAM loading errors: one line, exit 2, naming the options of the command that prints it
(issue 11 item 10): convert-ram's own (CHECKPOINT, --variant, --allow-unsafe-load, ...),
caption's --ram-* ones.
"""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from dalpsr_data.cli import app
from tests.caption.tiny_ram import TINY_IMAGE_SIZE, build_tiny_ram

CAPTION_ONLY = ("--ram-allow-unsafe-load", "--ram-checkpoint", "--ram-variant", "--ram-tag-list",
                "--ram-thresholds", "--ram-image-size")


def _convert(*args):
    return CliRunner().invoke(app, ["convert-ram", *map(str, args), "--image-size", str(TINY_IMAGE_SIZE)])


def _error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def _random_bytes(path):
    path.write_bytes(os.urandom(4096))
    return path


def test_convert_ram_unsafe_refusal_names_its_own_option(tmp_path):
    ckpt = build_tiny_ram(tmp_path, "ram", config_object=True)
    line = _error_line(_convert(ckpt, tmp_path / "out.safetensors"))
    assert "--allow-unsafe-load" in line and "convert-ram" not in line
    assert not any(opt in line for opt in CAPTION_ONLY)
    ok = _convert(ckpt, tmp_path / "out.safetensors", "--allow-unsafe-load")
    assert ok.exit_code == 0, ok.output


def test_convert_ram_missing_checkpoint_is_reported_as_such(tmp_path):
    line = _error_line(_convert(tmp_path / "nope.pth", tmp_path / "out.safetensors"))
    assert "RAM checkpoint" in line and "not found" in line and "CHECKPOINT argument" in line
    assert "ram_tag_list" not in line and not any(opt in line for opt in CAPTION_ONLY)


@pytest.mark.parametrize("with_tag_files", [True, False])
def test_convert_ram_random_bytes_is_not_a_checkpoint(tmp_path, with_tag_files):
    if with_tag_files:
        build_tiny_ram(tmp_path, "ram")
    line = _error_line(_convert(_random_bytes(tmp_path / "junk.pth"), tmp_path / "out.safetensors"))
    assert "not a PyTorch checkpoint" in line
    assert "unsafe" not in line and "weights_only" not in line and not any(opt in line for opt in CAPTION_ONLY)


def test_convert_ram_other_messages_name_its_options(tmp_path):
    ckpt = build_tiny_ram(tmp_path, "ram_plus")
    line = _error_line(_convert(ckpt, tmp_path / "out.safetensors", "--variant", "ram"))  # RAM++ file
    assert "--variant" in line and not any(opt in line for opt in CAPTION_ONLY)
    (tmp_path / "ram_tag_list.txt").unlink()
    line = _error_line(_convert(ckpt, tmp_path / "out.safetensors", "--variant", "ram_plus"))
    assert "ram_tag_list.txt not found" in line and "--tag-list" in line and "--ram-tag-list" not in line
    line = _error_line(_convert(ckpt, tmp_path / "out.pth", "--variant", "ram_plus"))
    assert "OUT must end in .safetensors" in line


def test_convert_ram_accepts_thresholds_of_one(tmp_path):
    ckpt = build_tiny_ram(tmp_path, "ram", thresholds=[0.6, 1, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 1, 0.5, 0.5, 0.5])
    assert (tmp_path / "ram_tag_list_threshold.txt").read_text().splitlines()[1] == "1"
    result = _convert(ckpt, tmp_path / "out.safetensors")
    assert result.exit_code == 0, result.output


def _caption(build, llava, *args):
    return CliRunner().invoke(app, ["caption", str(build), "--llava", str(llava), "--device", "cpu", "--local",
                                    "--ram-image-size", str(TINY_IMAGE_SIZE), "--no-progress", *map(str, args)])


def test_caption_messages_name_the_ram_options(tmp_path, tiny_build, tiny_llava_dir):
    line = _error_line(_caption(tiny_build, tiny_llava_dir, "--ram-checkpoint", tmp_path / "nope.pth"))
    assert "not found" in line and "--ram-checkpoint" in line
    junk = _random_bytes(tmp_path / "junk.pth")
    line = _error_line(_caption(tiny_build, tiny_llava_dir, "--ram-checkpoint", junk))
    assert "not a PyTorch checkpoint" in line and "--ram-checkpoint" in line and "unsafe" not in line
    ckpt = build_tiny_ram(tmp_path / "ram", "ram")
    (tmp_path / "ram" / "ram_tag_list.txt").unlink()
    line = _error_line(_caption(tiny_build, tiny_llava_dir, "--ram-checkpoint", ckpt))
    assert "--ram-tag-list" in line


def test_caption_unsafe_refusal_names_the_caption_option(tmp_path, tiny_build, tiny_llava_dir):
    ckpt = build_tiny_ram(tmp_path / "ram", "ram", config_object=True)
    line = _error_line(_caption(tiny_build, tiny_llava_dir, "--ram-checkpoint", ckpt))
    assert "--ram-allow-unsafe-load" in line and "dalpsr-data convert-ram --allow-unsafe-load" in line
