"""Two processes under torchrun (gloo on CPU): distinct data per rank, per-rank RNG files,
and stop + resume reproducing every rank's losses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent("""
    import json, os, sys
    from dalpsr_model.irpad.trainer import IrpadConfig, train_irpad
    root, out, steps, resume = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    cfg = IrpadConfig(shards=root, out=out, width=4, dim=16, heads=2, batch_size=2, num_workers=1,
                      shuffle_buffer=4, warmup_steps=0, progress=False, holdout_shards=1,
                      max_steps=steps, checkpoint_every=2, resume=resume)
    r = train_irpad(cfg)
    with open(f"{out}/losses-rank{os.environ['RANK']}-{steps}.json", "w") as f:
        json.dump(r["result"].losses, f)
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(tmp_path: Path, root: Path, out: Path, steps: int, resume: str = "") -> None:
    script = tmp_path / "run_irpad.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
           str(script), str(root), str(out), str(steps), resume]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]


@pytest.mark.slow
def test_two_processes_train_and_resume_exactly(even_build, tmp_path):
    _torchrun(tmp_path, even_build, tmp_path / "full", 4)
    _torchrun(tmp_path, even_build, tmp_path / "cut", 2)
    _torchrun(tmp_path, even_build, tmp_path / "cut", 4, "latest")
    ckpt = tmp_path / "full" / "checkpoints" / "checkpoint-00000004"
    assert (ckpt / "rng-rank0.pt").is_file() and (ckpt / "rng-rank1.pt").is_file()
    full = [json.loads((tmp_path / "full" / f"losses-rank{r}-4.json").read_text()) for r in (0, 1)]
    assert full[0] != full[1]  # each rank trains on its own samples
    for r in (0, 1):
        head = json.loads((tmp_path / "cut" / f"losses-rank{r}-2.json").read_text())
        tail = json.loads((tmp_path / "cut" / f"losses-rank{r}-4.json").read_text())
        assert head + tail == full[r]
