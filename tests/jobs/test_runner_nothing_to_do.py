"""A rerun with every job committed does not build the worker state (the models).

Found by rerunning `dalpsr-data caption` on a finished build: it did nothing, yet took 8 s more
than the import because the local path called ``setup`` (RAM + LLaVA loading; minutes and
~15 GB for the real LLaVA-1.5-7B) before finding no job to run.
"""

from __future__ import annotations

from pathlib import Path

from dalpsr_data.jobs import Job, run_shards


def test_all_committed_runs_no_setup(tmp_path):
    jobs = [Job(i, {"id": i}, size=1, marker=str(tmp_path / f"{i}.done.json")) for i in ("a", "b")]
    for job in jobs:
        Path(job.marker).write_text("{}")
    calls = []

    def setup():
        calls.append("setup")
        return object()

    for executor in ("local", "ray"):  # ray: nothing to do starts no Ray either
        result = run_shards(jobs, lambda payload, state: {}, executor=executor, setup=setup)
        assert result.skipped == ("a", "b") and result.done == () and result.failed == ()
    assert calls == []


def test_a_job_to_do_still_gets_its_state(tmp_path):
    jobs = [Job("a", {"id": "a"}, size=1, marker=str(tmp_path / "a.done.json"))]
    result = run_shards(jobs, lambda payload, state: {"state": state}, setup=lambda: "models")
    assert [s.result for s in result.done] == [{"state": "models"}]
