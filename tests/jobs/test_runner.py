"""run_shards: skip, commit, retry and fail by the same protocol locally, in Ray tasks and in Ray actors."""

from __future__ import annotations

import io
import json
import os
import signal
from pathlib import Path

import pytest

from dalpsr_data.jobs import Job, JobFailure, RayActors, ShardStats, advance, run_shards
from dalpsr_data.progress import Progress


def _jobs(tmp_path: Path, ids=("a", "b", "c")) -> list[Job]:
    return [Job(i, {"id": i, "n": k + 1}, size=k + 1, marker=str(tmp_path / f"{i}.done.json"))
            for k, i in enumerate(ids)]


def _expected_marker_bytes(obj: dict) -> bytes:
    """What dalpsr_data.atomic.write_json_atomic writes, spelt out independently."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def test_local_skips_commits_retries_and_records_a_failure(tmp_path):
    jobs = _jobs(tmp_path)
    Path(jobs[0].marker).write_text("{}")  # committed by an earlier run
    calls: list[str] = []

    def fn(payload):
        calls.append(payload["id"])
        if payload["id"] == "c":
            raise OSError(28, "No space left on device")
        for _ in range(payload["n"]):
            advance(1)
        return {"shard": payload["id"], "nsamples": payload["n"], "z": [1, 2]}

    seen = []
    result = run_shards(jobs, fn, executor="local", retries=2, on_done=seen.append)
    assert result.skipped == ("a",) and calls == ["b", "c", "c", "c"]  # c: 1 try + 2 retries
    assert result.done == (ShardStats("b", 2, result.done[0].seconds, 1,
                                      {"shard": "b", "nsamples": 2, "z": [1, 2]}),)
    assert result.failed == (JobFailure("c", "OSError: [Errno 28] No space left on device", 3),)
    assert seen == [*result.done, *result.failed]
    assert Path(jobs[1].marker).read_bytes() == _expected_marker_bytes({"shard": "b", "nsamples": 2, "z": [1, 2]})
    assert not Path(jobs[2].marker).exists() and not list(tmp_path.glob(".tmp-*"))
    with pytest.raises(AttributeError):  # typed and frozen
        result.done[0].samples = 3  # type: ignore[misc]


def test_local_state_is_built_once_and_an_interrupt_is_not_caught(tmp_path):
    built = []

    def setup():
        built.append(1)
        return {"model": 7}

    def fn(payload, state):
        if payload["id"] == "c":
            raise KeyboardInterrupt
        return {"nsamples": state["model"]}

    with pytest.raises(KeyboardInterrupt):
        run_shards(_jobs(tmp_path), fn, setup=setup)
    assert built == [1] and sorted(p.name for p in tmp_path.iterdir()) == ["a.done.json", "b.done.json"]
    done = run_shards(_jobs(tmp_path, ("x",)), lambda p, s: {"n": 1}, setup=setup)
    assert done.done[0].samples == 1  # no nsamples: the job's size


def test_a_job_without_marker_always_runs_and_ids_are_unique(tmp_path):
    jobs = [Job("img1.png", 1), Job("img2.png", 2)]
    assert [s.result for s in run_shards(jobs, lambda p: p * 10).done] == [10, 20]
    with pytest.raises(ValueError, match="unique"):
        run_shards([Job("a", 1), Job("a", 2)], lambda p: p)


def test_progress_follows_units_inside_jobs_and_starts_at_the_committed_ones(tmp_path):
    jobs = _jobs(tmp_path)
    Path(jobs[0].marker).write_text("{}")
    stream = io.StringIO()
    bar = Progress("demo", 6, "units", every=0.0, stream=stream, live=False)

    def fn(payload):
        for _ in range(payload["n"]):
            advance(1)
        return {"nsamples": payload["n"]}

    result = run_shards(jobs, fn, progress=bar)
    lines = stream.getvalue().splitlines()
    positions = [int(line.split(": ")[1].split("/")[0]) for line in lines]
    assert positions[0] == 2 and positions[-1] == 6 and positions == sorted(positions)
    assert set(range(2, 7)) <= set(positions)  # unit by unit, not only at the commits
    assert bar.before == 1 and bar.done == 5
    assert bar.rate == pytest.approx(5 / result.seconds)


def test_plain_progress_lines_every_n_seconds_with_rate_and_eta(monkeypatch):
    now = [100.0]
    monkeypatch.setattr("dalpsr_data.progress.time.perf_counter", lambda: now[0])
    stream = io.StringIO()
    bar = Progress("train", 100, "steps", done_before=20, every=30.0, stream=stream, live=False)
    bar.start()
    for step in range(1, 41):  # one step a second
        now[0] += 1.0
        bar.update(step, note=f"loss {1 / step:.4f}")
    bar.close()
    lines = stream.getvalue().splitlines()
    # 30 steps in 30 s: 1.00 steps/s, 50 left -> ETA 50 s; then the closing line at 40 steps.
    assert lines == ["train: 50/100 steps (50.0%), 1.00 steps/s, elapsed 0:00:30, ETA 0:00:50, loss 0.0333",
                     "train: 60/100 steps (60.0%), 1.00 steps/s, elapsed 0:00:40, ETA 0:00:40, loss 0.0250"]


def test_ray_tasks_retry_a_killed_worker_and_leave_a_shared_ray_running(ray_local, tmp_path):
    import ray

    flag = tmp_path / "killed"

    def fn(payload):
        if payload["id"] == "b" and not flag.exists():
            flag.write_text("x")
            os.kill(os.getpid(), signal.SIGKILL)  # the worker process dies mid-job
        for _ in range(payload["n"]):
            advance(1)
        if payload["id"] == "c":
            raise ValueError("bad shard")
        return {"nsamples": payload["n"], "id": payload["id"]}

    bar = Progress("t", 6, "units", every=3600.0, stream=io.StringIO(), live=False)
    result = run_shards(_jobs(tmp_path), fn, executor="ray", retries=1, progress=bar)
    assert bar.before + bar.done == 3  # a and b; the failed c's units are not counted
    assert ray.is_initialized()  # started by the fixture, not by run_shards: left running
    by_id = {s.id: s for s in result.done}
    assert sorted(by_id) == ["a", "b"] and by_id["b"].attempts == 2 and by_id["a"].attempts == 1
    assert result.failed == (JobFailure("c", "ValueError: bad shard", 2),)
    assert json.loads(Path(tmp_path / "b.done.json").read_text()) == {"nsamples": 2, "id": "b"}


def test_ray_actors_build_state_once_and_replace_a_dead_actor(ray_local, tmp_path):
    setups = tmp_path / "setups"
    setups.mkdir()
    sentinel = tmp_path / "crash-once"
    sentinel.touch()

    def setup():
        (setups / str(os.getpid())).touch()
        return {"pid": os.getpid()}

    def fn(payload, state):
        if payload["id"] == "b":
            try:  # the first actor to claim the sentinel dies
                sentinel.unlink()
                os._exit(17)
            except FileNotFoundError:
                pass
        return {"nsamples": 1, "pid": state["pid"]}

    jobs = _jobs(tmp_path, ("a", "b", "c", "d"))
    result = run_shards(jobs, fn, executor="ray", retries=1, setup=setup,
                        actors=RayActors(count=2, num_cpus=1))
    assert not result.failed and sorted(s.id for s in result.done) == ["a", "b", "c", "d"]
    assert {s.id: s.attempts for s in result.done}["b"] == 2
    pids = {s.result["pid"] for s in result.done}
    assert len(list(setups.iterdir())) == 3  # two actors, one replacement: state built 3 times
    assert pids <= {int(p.name) for p in setups.iterdir()}


def test_ray_actors_that_do_not_fit_fail_before_any_work(ray_local, tmp_path):
    from dalpsr_data.config_io import ConfigError

    with pytest.raises(ConfigError, match="no room for one actor.*use --device cpu"):
        run_shards(_jobs(tmp_path), lambda p, s: {}, executor="ray", setup=dict,
                   actors=RayActors(count=1, num_cpus=1, num_gpus=1, hint="use --device cpu"))
    assert not list(tmp_path.glob("*.done.json"))


def test_a_long_tmpdir_falls_back_to_tmp_for_rays_sockets(monkeypatch, tmp_path):
    from dalpsr_data import ray_runtime

    long_dir = tmp_path / ("x" * 40)
    long_dir.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(long_dir))
    # Ray's socket: <root>/dalpsr-ray-<pid>-<8>/session_<date>_<time>_<us>_<pid>/sockets/plasma_store
    assert len(str(long_dir)) + 92 > 107 and ray_runtime.temp_root() == "/tmp"
    monkeypatch.setattr("tempfile.tempdir", "/tmp/ab")
    assert ray_runtime.temp_root() == "/tmp/ab"
