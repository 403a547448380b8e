"""The closing line of a rerun that had nothing left to build.

Found by rerunning `dalpsr-data build` on a finished build: it printed "0 patches built in
0.2 s; shards ran 0.0 s at 0.00 planned patches/s (the progress bar's rate; 864 ms per patch
in the worker)", the 864 ms being the earlier run's.
"""

from __future__ import annotations

import io

from rich.console import Console

from dalpsr_data.build.summary import print_summary


def _report(this_run: int) -> dict:
    counts = {"files_listed": 4, "files_built": 4, "files_skipped": 0, "patches_built": 8,
              "patches_skipped": 0}
    return {"per_source": {"samples": counts}, "files": {"listed": 4, "built": 4, "skipped": 0},
            "patches": {"built": 8, "skipped": 0}, "bins": {t: [2, 2, 2, 2] for t in ("blur", "noise", "jpeg")},
            "skip_reasons": {}, "wall_seconds": 0.2, "work_seconds": 0.0, "patches_this_run": this_run,
            "patches_per_second": 0.0 if this_run == 0 else 4.0, "worker_seconds_per_patch": 0.864,
            "shards_resumed": 2 if this_run == 0 else 0}  # a rerun finds the shards committed


def _text(report: dict) -> str:
    stream = io.StringIO()
    print_summary(report, "out", Console(file=stream, width=200))
    return stream.getvalue()


def test_nothing_left_to_build_says_so_without_a_rate():
    text = _text(_report(0))
    assert "nothing left to build (0.2 s): the totals above are the committed build's" in text
    assert "ms per patch" not in text and "patches/s" not in text


def test_a_run_that_built_patches_gives_its_rates():
    assert "8 patches built in 0.2 s" in _text(_report(8)) and "864 ms per patch" in _text(_report(8))
