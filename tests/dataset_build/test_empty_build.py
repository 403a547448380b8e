"""A build that makes no sample fails (exit 1) with the skip counts, and writes no index.json."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from dalpsr_data import schema
from dalpsr_data.build.config import BuildConfig, PatchConfig
from dalpsr_data.build.runner import BuildFailed, run_build
from dalpsr_data.cli import app

runner = CliRunner()


def _non_images(root):
    root.mkdir()
    (root / "a.jpg").write_bytes(b"not a jpeg\n" * 20)
    (root / "b.png").write_bytes(b"")
    (root / "c.png").write_bytes(b"plain text, png name\n")
    return root


def test_zero_samples_is_a_failure_with_reason_counts(tmp_path, deg_cfg):
    folder = _non_images(tmp_path / "junk")
    out = tmp_path / "out"
    with pytest.raises(BuildFailed) as e:
        run_build(BuildConfig(sources=(f"folder={folder}",), out=str(out), executor="local"),
                  PatchConfig(per_image=2), deg_cfg)
    assert str(e.value).startswith(
        "no samples were built: 3 files skipped (empty_file=1, not_an_image=2)")
    assert "rerun" not in str(e.value)
    assert not (out / schema.INDEX_JSON).exists() and (out / schema.REPORT_JSON).is_file()


def test_cli_exits_non_zero(tmp_path, deg_cfg):
    if deg_cfg.calibration_path:
        pytest.skip("the CLI uses the packaged calibration table, which is stale here")
    folder = _non_images(tmp_path / "junk")
    res = runner.invoke(app, ["build", "--sources", f"folder={folder}", "--out", str(tmp_path / "o"),
                              "--executor", "local", "--no-progress"])
    assert res.exit_code == 1, res.output
    assert "no samples were built: 3 files skipped (empty_file=1, not_an_image=2)" in res.stderr
    # issue 20 item 5: a first run has no committed build to speak of
    assert "committed build" not in res.output and "nothing left to build" not in res.output

