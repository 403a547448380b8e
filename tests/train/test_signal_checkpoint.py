"""Issue 20 item 10: a signal during training finishes the step, checkpoints and stops.

Before: SIGTERM (or Ctrl-C) before the first checkpoint lost every step done so far (500
in paper.yaml). Now the run exits 143 with the usual line after writing a checkpoint;
``--resume latest`` continues from it, and the final weights equal an uninterrupted
run's. The interrupted run is a fresh ``python -m`` process signalled at a random step.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from pathlib import Path

import torch
from typer.testing import CliRunner

from dalpsr_model.cli.train import app
from dalpsr_model.irpad.io import load_irpad
from dalpsr_model.training.checkpoint import find_latest_checkpoint

REPO = Path(__file__).resolve().parents[2]
RESUME_LINE = ("interrupted; rerun the same command with --resume latest to continue from the "
               "last checkpoint")
STEPS = 12


def irpad_args(shards: Path, out: Path, *extra: str) -> list[str]:
    return ["irpad", "--shards", str(shards), "--out", str(out), "--max-steps", str(STEPS),
            "--width", "4", "--dim", "16", "--heads", "2", "--batch-size", "4", "--num-workers", "0",
            "--mixed-precision", "no", "--checkpoint-every", "1000", "--warmup-steps", "0",
            "--holdout-shards", "1", "--no-tta", *extra]


def test_sigterm_at_a_random_step_checkpoints_and_resume_equals_an_uninterrupted_run(fake_build, tmp_path):
    at = random.SystemRandom().randint(1, STEPS - 3)
    out = tmp_path / "interrupted"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "DALPSR_PROGRESS_EVERY": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "dalpsr_model.cli.train", *irpad_args(fake_build, out)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:  # one progress line per step (DALPSR_PROGRESS_EVERY=0)
        m = re.match(r"irpad: (\d+)/", line)
        if m and int(m.group(1)) >= at:
            proc.send_signal(signal.SIGTERM)
            break
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, f"signal at step {at}: {err[-3000:]}"
    assert err.strip().splitlines()[-1] == RESUME_LINE, err[-2000:]
    ckpt = find_latest_checkpoint(out / "checkpoints")
    assert ckpt is not None, f"signal at step {at}: no checkpoint (was: every step lost)"
    stopped = int(ckpt.name.split("-")[-1])
    assert at <= stopped < STEPS, (at, stopped)
    assert not (out / "irpad.safetensors").exists()  # the run stopped; it did not finish

    runner = CliRunner()
    res = runner.invoke(app, irpad_args(fake_build, out, "--resume", "latest", "--no-progress"))
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, irpad_args(fake_build, tmp_path / "straight", "--no-progress"))
    assert res.exit_code == 0, res.output
    a, b = load_irpad(out), load_irpad(tmp_path / "straight")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values())), \
        f"signal at step {at}, checkpoint at {stopped}"


def test_a_second_signal_stops_at_once():
    code = ("import os, signal, time\n"
            "from dalpsr_data.interrupt import defer_signals\n"
            "with defer_signals('finishing the step') as stop:\n"
            "    os.kill(os.getpid(), signal.SIGTERM)\n"
            "    assert stop.signum == signal.SIGTERM\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"
            "    time.sleep(30)\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert res.returncode == 130, res.stderr
    assert res.stderr.splitlines() == ["finishing the step", "interrupted again: stopped at once"]
