"""`dalpsr-sr` where no input could be super-resolved exits 1 (as a build of 0 samples does).

Found by running `dalpsr-sr` on two photos that both failed: it printed "0 written, 0 already
done, 2 failed" and exited 0, so a script or CI step took the run for a success.
"""

from __future__ import annotations

from typer.testing import CliRunner

from dalpsr_model.cli.sr import app
from tests.sr.conftest import write_lr_folder
from tests.sr.test_sr_run import _args


def test_every_input_failed_exits_1_with_one_line(sr_models, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    good = write_lr_folder(tmp_path / "good", [(32, 32)]) / "img0.png"
    (src / "bad.png").write_bytes(good.read_bytes()[:300])  # truncated
    res = CliRunner().invoke(app, _args(sr_models, tmp_path / "out", src))
    assert res.exit_code == 1, res.output
    assert res.output.strip().splitlines()[-1] == (
        f"error: no image was super-resolved: 1 input(s) failed (reasons in {tmp_path / 'out'}/report.json)")


def test_some_failed_or_all_done_before_exits_0(sr_models, tmp_path):
    src = write_lr_folder(tmp_path / "in", [(32, 32)])
    (src / "bad.png").write_bytes((src / "img0.png").read_bytes()[:300])
    out = tmp_path / "out"
    assert CliRunner().invoke(app, _args(sr_models, out, src)).exit_code == 0   # 1 written, 1 failed
    again = CliRunner().invoke(app, _args(sr_models, out, src))                # 1 already done, 1 failed
    assert again.exit_code == 0 and "0 written, 1 already done, 1 failed" in again.output
