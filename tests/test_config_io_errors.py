"""A mistake in a `--pipeline FILE.yaml`: one line on stderr naming the file, line or key, exit 2.

Checked through the `dalpsr-data build` and `dalpsr-train irpad` CLIs (both read presets
through dalpsr_data.config_io) and directly on load_config.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from dalpsr_data.cli import app as data_app
from dalpsr_data.config_io import SECTIONS, ConfigError, load_config
from dalpsr_data.patches import PatchConfig

runner = CliRunner()

BAD_PRESETS = {
    # file text -> the pieces the one-line message must hold
    "build:\n  shard_size: 4\n   seed: [1\n": ["bad.yaml", "line 3", "YAML syntax error"],
    "build:\n  shard_size: 4.5\n": ["bad.yaml", "build.shard_size", "expected an integer", "4.5"],
    'patches:\n  per_image: "two"\n': ["bad.yaml", "patches.per_image", "expected an integer", "'two'"],
    "pacthes:\n  per_image: 2\n": ["bad.yaml", "'pacthes'", "did you mean 'patches'", *SECTIONS],
    "build:\n  strict: 3\n": ["bad.yaml", "build.strict", "true or false"],
    "build:\n  sources: samples\n": ["bad.yaml", "build.sources", "a list of strings"],
    "build:\n  shard_sise: 4\n": ["bad.yaml", "'shard_sise'", "did you mean 'shard_size'"],
}


def _one_error_line(res) -> str:
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert "Traceback" not in res.output
    return lines[0]


@pytest.mark.parametrize("text", list(BAD_PRESETS))
def test_build_names_file_key_and_expected_type(tmp_path, text):
    preset = tmp_path / "bad.yaml"
    preset.write_text(text)
    out = tmp_path / "out"
    res = runner.invoke(data_app, ["build", "--sources", "samples", "--pipeline", str(preset),
                                   "--out", str(out), "--executor", "local", "--no-progress"])
    line = _one_error_line(res)
    for piece in BAD_PRESETS[text]:
        assert piece in line, line
    assert not out.exists()  # refused before any work


@pytest.mark.parametrize("text", list(BAD_PRESETS)[:4])
def test_train_irpad_reports_the_same_way(tmp_path, text):
    from dalpsr_model.cli.train import app as train_app

    preset = tmp_path / "bad.yaml"
    preset.write_text(text.replace("build:", "irpad:").replace("shard_size", "batch_size")
                      .replace("patches:\n  per_image", "irpad:\n  max_steps"))
    res = runner.invoke(train_app, ["irpad", "--pipeline", str(preset), "--shards",
                                    str(tmp_path / "none"), "--out", str(tmp_path / "o")])
    line = _one_error_line(res)
    assert "bad.yaml" in line


def test_types_are_checked_and_converted():
    assert load_config(PatchConfig, None, "patches", {"per_image": 3.0}).per_image == 3
    for bad in (4.5, "two", True, [2]):
        with pytest.raises(ConfigError, match=r"patches\.per_image: expected an integer"):
            load_config(PatchConfig, None, "patches", {"per_image": bad})
    with pytest.raises(ConfigError, match=r"patches\.small_policy: expected a string, got 3"):
        load_config(PatchConfig, None, "patches", {"small_policy": 3})
