"""`stats` and `preview` output: a missing or read-only target folder is one line, exit 2,
before any work; the per-source counts read well for the source called "samples"."""

from __future__ import annotations

import re
import tempfile

import pytest
from typer.testing import CliRunner

from dalpsr_data.cli import app

runner = CliRunner()


def _unwritable_folder():
    """/sys refuses new files even for root on Linux; skip where it does not."""
    try:
        tempfile.NamedTemporaryFile(dir="/sys").close()
    except OSError:
        return "/sys"
    pytest.skip("no read-only folder on this machine")


def _one_line(res, *pieces):
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert "Traceback" not in res.output
    for piece in pieces:
        assert piece in lines[0], lines[0]


@pytest.mark.parametrize("command,flag", [("preview", "--out"), ("stats", "--plot")])
def test_missing_or_read_only_target(reference_build, tmp_path, command, flag):
    missing = tmp_path / "no" / "such" / "x.png"
    res = runner.invoke(app, [command, str(reference_build), flag, str(missing)])
    _one_line(res, flag, "does not exist")
    assert not (tmp_path / "no").exists()  # never created
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    res = runner.invoke(app, [command, str(reference_build), flag, str(not_a_folder / "x.png")])
    _one_line(res, flag, "does not exist")
    res = runner.invoke(app, [command, str(reference_build), flag, str(tmp_path)])
    _one_line(res, flag, "is a folder")
    ro = _unwritable_folder()
    res = runner.invoke(app, [command, str(reference_build), flag, f"{ro}/x.png"])
    _one_line(res, flag, "not writable")


def test_stats_per_source_reads_well(reference_build, tmp_path):
    res = runner.invoke(app, ["stats", str(reference_build), "--plot", str(tmp_path / "h.png")])
    assert res.exit_code == 0, res.output
    assert not re.search(r"samples: \d+ samples", res.output), res.output
    row = next(ln for ln in res.output.splitlines() if "│" in ln and ln.strip("│ ").startswith("samples "))
    assert [c.strip() for c in row.split("│")[1:-1]] == ["samples", "11"]
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".tmp-*"))
