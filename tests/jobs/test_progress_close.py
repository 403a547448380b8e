"""A log gets one line per position: the closing line is not a copy of the last one.

Found in a `dalpsr-train controlnet` log (CPU, 35 s a step): the 2/2 line was printed by the
30-second timer and again, identical, by the closing line.
"""

from __future__ import annotations

import io

from dalpsr_data.progress import Progress


def test_closing_line_is_not_repeated_when_the_position_was_just_printed(monkeypatch):
    now = [100.0]
    monkeypatch.setattr("dalpsr_data.progress.time.perf_counter", lambda: now[0])
    stream = io.StringIO()
    bar = Progress("controlnet", 2, "steps", every=30.0, stream=stream, live=False).start()
    for step in (1, 2):
        now[0] += 35.0
        bar.update(step, note="loss 1.1468")
    bar.close()
    assert stream.getvalue().splitlines() == [
        "controlnet: 1/2 steps (50.0%), 0.03 steps/s, elapsed 0:00:35, ETA 0:00:35, loss 1.1468",
        "controlnet: 2/2 steps (100.0%), 0.03 steps/s, elapsed 0:01:10, ETA 0:00:00, loss 1.1468"]


def test_closing_line_comes_when_the_position_moved_since_the_last_line(monkeypatch):
    now = [0.0]
    monkeypatch.setattr("dalpsr_data.progress.time.perf_counter", lambda: now[0])
    stream = io.StringIO()
    bar = Progress("t", 10, "units", every=30.0, stream=stream, live=False).start()
    now[0] = 31.0
    bar.update(4)
    now[0] = 40.0
    bar.update(10)
    bar.close()
    assert [line.split(",")[0] for line in stream.getvalue().splitlines()] == [
        "t: 4/10 units (40.0%)", "t: 10/10 units (100.0%)"]
