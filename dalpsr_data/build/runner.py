"""``run_build``: plan, check the output folder, run the pending shards, write the report.

Order of writes: build.json (plan hash + resolved configuration) first; then each shard's
tar and its commit marker; report.json and index.json last, only when every shard is
committed. A rerun of the same command resumes; a different configuration is refused.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from dalpsr_data import schema
from dalpsr_data.atomic import remove_orphan_temporaries, write_json_atomic
from dalpsr_data.build.config import BuildConfig, output_config
from dalpsr_data.build.outdir import check_build_json, prepare_out_dir
from dalpsr_data.build.plan import BuildPlan, make_plan
from dalpsr_data.build.process_shard import ShardTask, preflight, process_shard
from dalpsr_data.build.report import is_committed, make_report, read_marker, write_index
from dalpsr_data.config_io import ConfigError, to_dict
from dalpsr_data.degradation import DegradationConfig
from dalpsr_data.jobs import Job, ShardStats, run_shards
from dalpsr_data.outlock import holds_out_lock
from dalpsr_data.patches import PatchConfig
from dalpsr_data.progress import Progress
from dalpsr_data.ray_runtime import RayUnreachable, check_reachable


class BuildFailed(RuntimeError):
    """Shards still failing after retries (every other shard is committed), or --strict skips."""

    def __init__(self, message: str, result: "BuildResult"):
        super().__init__(message)
        self.result = result


@dataclass
class BuildResult:
    out_dir: Path
    plan_hash: str
    num_shards: int
    resumed: list[str] = field(default_factory=list)  # shards already committed before this run
    built: list[str] = field(default_factory=list)  # shards committed by this run
    failed: dict[str, str] = field(default_factory=dict)  # shard name -> cause
    report: dict[str, Any] = field(default_factory=dict)
    removed_temporaries: list[str] = field(default_factory=list)


def _build_json(cfg: BuildConfig, patch_cfg: PatchConfig, deg_cfg: Any, plan: BuildPlan) -> dict:
    return {"plan_hash": plan.plan_hash, "output_config": plan.output_config,
            "config": {"build": to_dict(cfg), "patches": to_dict(patch_cfg),
                       "degradation": to_dict(deg_cfg)},
            "num_files": len(plan.files), "num_patches": plan.num_patches,
            "num_shards": len(plan.shards), "roots": plan.roots,
            "schema": {"members": list(schema.SAMPLE_MEMBERS), "version": 1}}


def _check_address(cfg: BuildConfig) -> None:
    """An unreachable Ray cluster fails before any work."""
    if cfg.executor == "ray" and cfg.address:
        try:
            check_reachable(cfg.address, cfg.connect_timeout)
        except RayUnreachable as e:
            raise ConfigError(f"{e}: check --address and that the cluster is running, or raise "
                              f"--connect-timeout") from None


def _prepare(cfg: BuildConfig, patch_cfg: PatchConfig, deg_cfg: Any) -> tuple[BuildPlan, Path]:
    """The plan, and the output folder checked against it (build.json written when new)."""
    plan = make_plan(cfg.sources, cfg.data_root, cfg.limit, patch_cfg.per_image, cfg.shard_size,
                     output_config(cfg, patch_cfg, deg_cfg))
    preflight(deg_cfg)
    out = prepare_out_dir(Path(cfg.out), cfg.overwrite, plan.roots)
    check_build_json(out, plan.plan_hash, plan.output_config)
    if not (out / schema.BUILD_JSON).is_file():
        write_json_atomic(out / schema.BUILD_JSON, _build_json(cfg, patch_cfg, deg_cfg, plan))
    return plan, out


def _shard_jobs(cfg: BuildConfig, patch_cfg: PatchConfig, deg_cfg: Any, plan: BuildPlan, out: Path) -> list[Job]:
    return [Job(s.name, ShardTask(s.index, s.name, str(out), plan.plan_hash, s.patches, cfg.seed,
                                  patch_cfg, deg_cfg, cfg.png_compression),
                size=len(s.patches), marker=str(schema.marker_path(out / s.name)))
            for s in plan.shards]


def _raise_if_failed(cfg: BuildConfig, result: BuildResult) -> None:
    """BuildFailed for failed shards, an empty build, or skips under --strict."""
    out, report = result.out_dir, result.report
    if result.failed:
        causes = "; ".join(f"{k}: {v}" for k, v in sorted(result.failed.items()))
        raise BuildFailed(f"{len(result.failed)} shard(s) failed after {cfg.max_retries} retries "
                          f"({causes}); the other shards are committed: rerun the same command "
                          f"to retry only the failed ones", result)
    if report["patches"]["built"] == 0:  # an empty index.json would only fail later
        n = report["files"]["skipped"]
        reasons = ", ".join(f"{k}={v}" for k, v in report["skip_reasons"].items())
        raise BuildFailed(f"no samples were built: {n} file{'s' if n != 1 else ''} skipped "
                          f"({reasons}); see {out / schema.REPORT_JSON}", result)
    if cfg.strict and report["skipped_files"]:
        first = report["skipped_files"][0]
        raise BuildFailed(f"--strict: {report['files']['skipped']} file(s) skipped, e.g. "
                          f"{first['source']}:{first['path']} ({first['reason']}); see "
                          f"{out / schema.REPORT_JSON}", result)


_SWEEP_SETTLE_S, _SWEEP_EVERY_S = 0.5, 0.1


def remove_worker_temporaries(out: Path, wait: float = 2.0) -> None:
    """After an interrupt: remove the ``.tmp-`` files the stopped workers were writing.

    A worker killed with its Ray (SIGKILL on shutdown) never runs its own clean-up, and one
    still dying may leave a file a moment later: sweep every 0.1 s until a sweep after 0.5 s
    finds nothing, for at most ``wait`` s (0: one sweep, the local executor's case: no
    worker). This run holds the folder's lock, so every temporary there is one of its own
    workers'.
    """
    t0 = time.monotonic()
    while True:
        found = remove_orphan_temporaries(out)
        elapsed = time.monotonic() - t0
        if (not found and elapsed >= min(_SWEEP_SETTLE_S, wait)) or elapsed >= wait:
            return
        time.sleep(_SWEEP_EVERY_S)


@holds_out_lock  # before the orphan sweep in it: the sweep would take a live run's files
def run_build(cfg: BuildConfig, patch_cfg: PatchConfig | None = None, deg_cfg: Any = None, *,
              progress: bool = False, shard_fn: Callable = process_shard) -> BuildResult:
    """Build (or resume) the shards of ``cfg`` into ``cfg.out``.

    ``patch_cfg``/``deg_cfg`` default to the dataclass defaults. Raises ConfigError (bad or
    changed configuration, unusable output folder), SourceLayoutError (missing source),
    BuildFailed (shards failing after retries, or skips under ``strict``), OutputLocked
    (another run is writing ``cfg.out``).
    """
    t0 = time.perf_counter()
    patch_cfg = patch_cfg or PatchConfig()
    deg_cfg = deg_cfg or DegradationConfig()
    _check_address(cfg)
    plan, out = _prepare(cfg, patch_cfg, deg_cfg)
    result = BuildResult(out, plan.plan_hash, len(plan.shards))
    result.removed_temporaries = [p.name for p in remove_orphan_temporaries(out)]
    jobs = _shard_jobs(cfg, patch_cfg, deg_cfg, plan, out)

    # Each marker is read once here; run_shards skips by this set (it runs right after).
    committed = {j.id: m for j in jobs if is_committed(out, j.id, m := read_marker(out, j.id), plan.plan_hash)}
    done_before = set(committed)
    if len(done_before) < len(jobs):  # an index.json left over (beside a damaged shard) must go
        (out / schema.INDEX_JSON).unlink(missing_ok=True)
    bar = Progress("build", plan.num_patches, "patches", enabled=progress)
    # The bar's position counts planned patches; its note splits the finished ones into made
    # and skipped (unreadable files, crops a small photo cannot give), which add up to it.
    sizes = {j.id: j.size for j in jobs}
    made_before = [int(m.get("nsamples", 0)) for m in committed.values()]
    tally = {"made": sum(made_before), "skipped": sum(sizes[j] for j in done_before) - sum(made_before)}

    def on_done(outcome: Any) -> None:
        if isinstance(outcome, ShardStats):
            result.built.append(outcome.id)
            tally["made"] += outcome.samples
            tally["skipped"] += sizes[outcome.id] - outcome.samples
            bar.note = f"{tally['made']} made, {tally['skipped']} skipped"

    try:
        run = run_shards(jobs, shard_fn, executor=cfg.executor, retries=cfg.max_retries,
                         committed=lambda job: job.id in done_before, address=cfg.address, num_cpus=cfg.workers or os.cpu_count(),
                         max_in_flight=cfg.workers or None, progress=bar, on_done=on_done)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the workers are being stopped
        remove_worker_temporaries(out, wait=2.0 if cfg.executor == "ray" else 0.0)
        raise
    result.resumed, result.failed = list(run.skipped), run.failures
    # committed before this run: read above; the rest: written by this run's workers
    markers = [m for s in plan.shards
               if (m := committed.get(s.name) or read_marker(out, s.name)) is not None
               and m.get("plan_hash") == plan.plan_hash]
    result.report = make_report(plan, markers, time.perf_counter() - t0,
                                sum(s.samples for s in run.done))
    # The progress bar's rate: planned patches of this run's shards over the shard work's time.
    result.report["work_seconds"] = round(run.seconds, 3)
    result.report["patches_per_second"] = round(bar.rate, 3)
    result.report["failed_shards"] = dict(sorted(result.failed.items()))
    result.report["shards_resumed"] = len(run.skipped)  # committed by an earlier run
    write_json_atomic(out / schema.REPORT_JSON, result.report)
    _raise_if_failed(cfg, result)
    write_index(out, plan, markers)
    return result
