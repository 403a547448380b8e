"""One job runner for every shard-as-unit loop: the build, the caption stage, the latent cache.

API::

    from dalpsr_data.jobs import Job, RayActors, run_shards

    jobs = [Job(id="shard-000000.tar", payload=task, size=256, marker=".../shard-000000.done.json")]
    result = run_shards(jobs, fn, executor="local" | "ray", retries=2)
    result.done      # tuple[ShardStats]: id, samples, seconds, attempts, result (fn's return)
    result.failed    # tuple[JobFailure]: id, reason (one line), attempts
    result.skipped   # ids committed before this run
    result.seconds   # wall time of the work (the progress clock)

A job is a generic ``(id, payload)``: shards, image lists (``--gpus N`` actors over
files), anything picklable. The protocol, the same for both executors:

1. **Skip** every job for which ``committed(job)`` is true (default: its ``marker`` file
   exists); the progress bar starts at their summed ``size``.
2. **Run** ``fn(payload)``, or ``fn(payload, state)`` when ``setup`` is given: ``state =
   setup()`` is built once per process (local) or once per Ray actor (a model on a GPU).
   ``fn`` commits its own output atomically (dalpsr_data.atomic) and returns the marker
   content (a JSON-able mapping; ``nsamples`` in it becomes ``ShardStats.samples``).
   Inside ``fn``, ``dalpsr_data.jobs.advance(n)`` moves the progress bar within the job.
3. **Commit**: the runner writes ``job.marker`` (write_json_atomic, sorted keys) after
   ``fn`` returned, in the process that ran it. No marker, no commit: a rerun redoes it.
4. **Retry**: an exception, or the death of the worker or actor process (kill -9, OOM, a
   lost node), is retried ``retries`` times (a dead actor is replaced, its state built
   again); then the job is a ``JobFailure`` and the other jobs go on. ``KeyboardInterrupt``
   (and dalpsr_data.interrupt's SIGTERM) is never caught: the run stops.
5. **Ray**: ``executor="ray"`` with no Ray running starts an embedded one
   (``ray_runtime.init_ray(address, num_cpus)``) and shuts it down at the end, even after
   an error; a Ray already running (or ``address``) is used and left running. Without
   ``setup`` each attempt is a Ray task of ``task_cpus`` CPUs, at most ``max_in_flight``
   at once (default: the cluster's CPUs); with ``setup``, ``actors`` (:class:`RayActors`:
   count, num_cpus, num_gpus) actors share the jobs.

``on_done(outcome)`` is called on the driver as each job finishes (a ShardStats or a
JobFailure); ``progress`` is a :class:`dalpsr_data.progress.Progress` the runner starts
when the work starts and closes at the end, so its rate equals ``len/seconds`` of the run.
"""

from dalpsr_data.jobs.runner import marker_exists, run_shards
from dalpsr_data.jobs.types import Job, JobFailure, RayActors, RunResult, ShardStats
from dalpsr_data.jobs.worker import advance

__all__ = ["Job", "JobFailure", "RayActors", "RunResult", "ShardStats", "advance", "marker_exists",
           "run_shards"]
