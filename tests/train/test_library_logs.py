"""Library progress bars and notices stay out of a run's log unless --verbose (issue 20 item 4).

transformers drew a ``Loading weights`` tqdm bar on stderr in every caption, train and sr
run, even piped to a file. The command runs here as a user runs it: a fresh process, stderr
a pipe, the tiny LLaVA in place of the real one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BAR = "Loading weights"


def train_encoder_piped(fake_build: Path, llava: Path, out: Path, *flags: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY")}
    env["PYTHONPATH"] = str(ROOT)
    args = ["encoder", "--shards", str(fake_build), "--llava", str(llava), "--out", str(out),
            "--batch-size", "4", "--num-workers", "0", "--shuffle-buffer", "4", "--max-steps", "1",
            "--warmup-steps", "0", "--no-progress", "--cpu", *flags]
    return subprocess.run([sys.executable, "-m", "dalpsr_model.cli.train", *args], env=env, cwd=out.parent,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_piped_run_shows_no_library_bar_unless_verbose(fake_build, tiny_llava_dir, tmp_path):
    quiet = train_encoder_piped(fake_build, tiny_llava_dir, tmp_path / "quiet")
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert BAR not in quiet.stderr and "it/s]" not in quiet.stderr, quiet.stderr[-3000:]
    assert "saved the aligned tower" in quiet.stdout  # our own lines stay
    loud = train_encoder_piped(fake_build, tiny_llava_dir, tmp_path / "loud", "--verbose")
    assert loud.returncode == 0, loud.stderr[-3000:]
    assert BAR in loud.stderr  # the same bar is there: the quiet run hid it, nothing else did
