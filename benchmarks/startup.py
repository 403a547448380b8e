"""Benchmark: seconds from a fresh process to the answer of every `--help` and option error.

Every console script of pyproject.toml (dalpsr-data, dalpsr-train, dalpsr-sr, dalpsr-eval and
any added since) runs as its entry point does, in a fresh interpreter, with ``--help``, then
each of its subcommands with ``--help``, then one option error and one path error that must be
reported before any work. Each is run 5 times; the median wall time of each is reported, with
the heavy libraries (torch, transformers, diffusers, ray, cv2) the process imported. The goal
(issue 20) is every median <= 0.5 s with none of them imported. Prints one JSON line.

    .venv/bin/python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "diffusers", "ray", "cv2")
# Run the entry point as its console script does, and say which heavy libraries it imported.
LAUNCH = ("import atexit, sys\n"
          "atexit.register(lambda: sys.stderr.write('\\nHEAVY ' + ','.join(m for m in {heavy!r} "
          "if m in sys.modules) + '\\n'))\n"
          "from {module} import {attr} as main\n"
          "sys.argv[0] = {name!r}\n"
          "sys.exit(main())\n")
# Errors found before any work: a missing required option, then a path that does not exist.
MISSING = "/nonexistent-dalpsr-path"
ERRORS = {
    "dalpsr-data": [["build"], ["caption", MISSING]],
    "dalpsr-train": [["irpad"], ["irpad", "--shards", MISSING]],
    "dalpsr-sr": [["in.png"], [MISSING, "--out", "o", "--base", MISSING, "--controlnet", MISSING,
                               "--irpad", MISSING]],
    "dalpsr-eval": [["--sr", MISSING], ["--sr", MISSING, "--hr", MISSING]],
}


def console_scripts() -> dict[str, str]:
    """{script name: "module:attr"} from pyproject.toml."""
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]


def subcommands(target: str) -> list[str]:
    """Names of the subcommands of a typer app (none for a single-command app)."""
    import typer.main

    module, attr = target.split(":")
    command = typer.main.get_command(getattr(__import__(module, fromlist=[attr]), attr))
    return sorted(getattr(command, "commands", {}))


def timed(name: str, target: str, args: list[str], runs: int) -> dict:
    module, attr = target.split(":")
    code = LAUNCH.format(heavy=HEAVY, module=module, attr=attr, name=name)
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "100"}
    times, heavy, rc = [], "", None
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env,
                              capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        rc = proc.returncode
        heavy = proc.stderr.rsplit("HEAVY ", 1)[-1].strip() if "HEAVY " in proc.stderr else "?"
    return {"median_s": round(statistics.median(times), 3), "rc": rc,
            "heavy": heavy.split(",") if heavy else []}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per command (median)")
    args = ap.parse_args()
    results = {}
    for name, target in console_scripts().items():
        cases = [["--help"]] + [[sub, "--help"] for sub in subcommands(target)]
        cases += ERRORS.get(name, [])
        for case in cases:
            results[" ".join([name, *case])] = timed(name, target, case, args.runs)
    worst = max(results, key=lambda k: results[k]["median_s"])
    print(json.dumps({
        "benchmark": "startup", "runs": args.runs, "python": sys.version.split()[0],
        "max_median_s": results[worst]["median_s"], "slowest": worst,
        "with_heavy_imports": sorted(k for k, v in results.items() if v["heavy"]),
        "commands": results}))


if __name__ == "__main__":
    main()
