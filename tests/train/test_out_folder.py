"""`dalpsr-train <stage> --out`: a previous run is never silently restarted or mixed, and an
unwritable target is one line before any work (issue 11 items 5 and 9)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dalpsr_model.cli.train import app
from dalpsr_model.training.checkpoint import list_checkpoints

TINY = ["--width", "4", "--dim", "16", "--heads", "2", "--batch-size", "4", "--num-workers", "0",
        "--shuffle-buffer", "4", "--warmup-steps", "0", "--no-progress", "--mixed-precision", "no",
        "--checkpoint-every", "1"]


def _irpad(shards, out, *extra):
    return CliRunner().invoke(app, ["irpad", "--shards", str(shards), "--out", str(out), *TINY, *extra])


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))}


def test_a_rerun_into_a_finished_run_is_refused_then_resumed_or_overwritten(fake_build, tmp_path):
    out = tmp_path / "run"
    first = _irpad(fake_build, out, "--max-steps", "3")
    assert first.exit_code == 0, first.output
    (out / "notes.txt").write_text("mine")  # a user's file in the run folder
    (out / "tb" / "mine.txt").write_text("mine too")
    before = _snapshot(out)

    again = _irpad(fake_build, out, "--max-steps", "2")  # what silently started at step 0 before
    assert again.exit_code == 2, again.output
    assert again.output.count("\n") == 1 and "Traceback" not in again.output
    assert "--resume latest" in again.output and "--overwrite" in again.output
    assert _snapshot(out) == before  # nothing written, nothing removed

    both = _irpad(fake_build, out, "--max-steps", "2", "--resume", "latest", "--overwrite")
    assert both.exit_code == 2 and "--resume" in both.output and "--overwrite" in both.output
    assert _snapshot(out) == before

    resumed = _irpad(fake_build, out, "--max-steps", "4", "--resume", "latest")
    assert resumed.exit_code == 0, resumed.output
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [2, 3, 4]

    fresh = _irpad(fake_build, out, "--max-steps", "2", "--overwrite")
    assert fresh.exit_code == 0, fresh.output
    # Only the new run's checkpoints: keep-K and --resume latest see one run.
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [1, 2]
    assert (out / "notes.txt").read_text() == "mine" and (out / "tb" / "mine.txt").is_file()
    import json

    assert json.loads((out / "irpad.json").read_text())["config"]["max_steps"] == 2


def test_the_same_rule_for_encoder_and_a_started_run(fake_build, tmp_path):
    # a run killed after its first checkpoint (no saved model yet) counts as well
    out = tmp_path / "enc"
    (out / "checkpoints" / "checkpoint-00000100").mkdir(parents=True)
    (out / "checkpoints" / "checkpoint-00000100" / "meta.json").write_text("{}")
    res = CliRunner().invoke(app, ["encoder", "--shards", str(fake_build), "--out", str(out),
                                   "--llava", str(tmp_path / "no-llava")])
    assert res.exit_code == 2 and "checkpoint-00000100" in res.output and "--overwrite" in res.output
    tower = tmp_path / "enc2" / "vision_tower"
    tower.mkdir(parents=True)
    (tower / "vision_tower.safetensors").write_bytes(b"x")
    res = CliRunner().invoke(app, ["encoder", "--shards", str(fake_build), "--out", str(tower.parent),
                                   "--llava", str(tmp_path / "no-llava")])
    assert res.exit_code == 2 and "vision_tower" in res.output and "--resume latest" in res.output


def test_overwrite_removes_only_what_a_trainer_wrote(tmp_path):
    from dalpsr_model.controlnet.trainer import OUTPUTS
    from dalpsr_model.training.outdir import clear_previous_run

    out = tmp_path / "cn"
    written = ["checkpoints/checkpoint-00000002/meta.json", "checkpoints/.tmp-checkpoint-00000004/x",
               "tb/events.out.tfevents.1.host", "controlnet/config.json", "controlnet-ema/config.json",
               ".tmp-controlnet/config.json", "config.json", "validation/step-00000002.png"]
    mine = ["checkpoints/README", "tb/notes.md", "validation/best.png", "preview.png", "controlnets/x"]
    for rel in written + mine:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text("x")
    clear_previous_run(out, OUTPUTS)
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert left == sorted(mine)


def test_out_below_a_file_is_one_line(fake_build, tmp_path):
    (tmp_path / "file").write_text("x")
    res = _irpad(fake_build, tmp_path / "file" / "run", "--max-steps", "1")
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "Traceback" not in res.output
    assert "is a file" in res.output and "--out" in res.output


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_out_on_a_read_only_file_system_is_one_line(fake_build):
    res = _irpad(fake_build, "/proc/dalpsr-run", "--max-steps", "1")  # /proc takes no new folder
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "Traceback" not in res.output
    assert "cannot write in /proc" in res.output


NOBODY = 65534  # the unprivileged uid/gid the root branch drops to


def _check_out_as_nobody(outs):
    """``check_out`` of each path in a forked child that dropped root for uid/gid 65534.

    The child keeps the interpreter and modules the parent loaded, so the result does not
    depend on whether that user could read the clone (a 0700 folder, /root). Returns one
    line per path: "ok" or the exception's class name and message.
    """
    import dataclasses

    from dalpsr_model.training.outdir import check_out

    cfg = dataclasses.make_dataclass("C", [("out", str), ("resume", str, ""), ("overwrite", bool, False)])
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            lines = []
            for out in outs:
                try:
                    check_out(cfg(str(out)), ())
                    lines.append("ok")
                except Exception as e:  # noqa: BLE001 - reported to the parent
                    lines.append(f"{type(e).__name__} {e}")
            os.write(write_end, "\n".join(lines).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        text = pipe.read().decode()
    _, wait_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(wait_status) == 0, text
    return text.splitlines()


def test_out_in_a_read_only_folder_is_one_line(fake_build, tmp_path):
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="dalpsr-ro-"))  # under /tmp: any user may enter it
    base.chmod(0o755)
    ro = base / "ro"
    ro.mkdir()
    (ro / "locked").mkdir(mode=0o700)
    ro.chmod(0o555)
    try:
        if os.geteuid() != 0:
            res = _irpad(fake_build, ro / "run", "--max-steps", "1")
            assert res.exit_code == 2 and "Traceback" not in res.output
            output = res.output.splitlines()[0]
        else:  # root writes anywhere: check as an unprivileged user
            output, locked = _check_out_as_nobody([ro / "run", ro / "locked" / "a" / "run"])
            assert locked.startswith("ConfigError") and f"cannot reach {ro / 'locked'}" in locked
    finally:
        ro.chmod(0o755)
        shutil.rmtree(base)
    assert f"cannot write in {ro} (Permission denied)" in output, output
