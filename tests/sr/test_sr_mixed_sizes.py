"""Two LRs of different sizes whose processed sizes agree (both short sides under 128 px).

Found by running `dalpsr-sr` on a 100x75 and a 128x96 photo: both are processed at 170x128
(target 680x512), so they were put in one batch, and the pipeline, which stacks the LRs as
read and resizes the SR back to 4x the LR, failed both ("one batch needs images of one size").
"""

from __future__ import annotations

import json

from PIL import Image

from dalpsr_model.sr.runner import run_sr
from dalpsr_model.sr.sizes import plan_size
from tests.sr.conftest import write_lr_folder


def test_lrs_with_one_processed_size_but_two_read_sizes_are_both_super_resolved(sr_config, tmp_path):
    a, b = plan_size(100, 75), plan_size(128, 96)
    assert (a.lr_work, a.target) == (b.lr_work, b.target) == ((170, 128), (680, 512))
    src = write_lr_folder(tmp_path / "in", [(100, 75), (128, 96)])
    out = tmp_path / "out"
    run_sr(sr_config([src], out=str(out), batch_size=4, steps=1, guidance=1.0))
    report = json.loads((out / "report.json").read_text())
    assert report["failed"] == 0 and report["written"] == 2, report
    assert Image.open(out / "img0.png").size == (400, 300)
    assert Image.open(out / "img1.png").size == (512, 384)
