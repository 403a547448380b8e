"""Every `--help`, and every option error found before work, answers without loading torch
(issue 20 item 1): the command-line modules import config modules only and import the
library that does the work when the command runs (the lazy boundary, see test_layers.py).

Each case runs the console script's entry point in a fresh interpreter with an import spy:
a ``sys.meta_path`` finder that records every attempt to import torch, transformers,
diffusers, ray or cv2 (an attempt inside ``try: import torch`` counts too). The time goal
(<= 0.5 s) is measured by benchmarks/startup.py, not here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import typer.main

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "diffusers", "ray", "cv2")
SPY = """
import atexit, sys
seen = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {heavy!r} and name.split(".")[0] not in seen:
            seen.append(name.split(".")[0])
        return None
sys.meta_path.insert(0, Spy())
atexit.register(lambda: sys.stderr.write("\\nHEAVY-IMPORTS [" + ",".join(seen) + "]\\n"))
from {module} import {attr} as main
sys.argv[0] = {name!r}
sys.exit(main())
"""
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
MISSING = "/nonexistent-dalpsr-path"


def entry_point(target: str):
    module, attr = target.split(":")
    return getattr(__import__(module, fromlist=[attr]), attr)


def help_cases() -> list[tuple[str, list[str]]]:
    """(script, args) for every script's --help and every subcommand's --help."""
    cases = []
    for name, target in SCRIPTS.items():
        cases.append((name, ["--help"]))
        command = typer.main.get_command(entry_point(target))
        cases += [(name, [sub, "--help"]) for sub in sorted(getattr(command, "commands", {}))]
    return cases


# Errors in the options or paths that are reported before any work: exit 2, one line.
ERROR_CASES = [
    ("dalpsr-data", ["build"]),  # --sources missing
    ("dalpsr-data", ["build", "--sources", "samples", "--shard-size", "0"]),
    ("dalpsr-data", ["caption", MISSING, "--ram-variant", "nope"]),
    ("dalpsr-models", ["check", MISSING, "--kind", "nope"]),
    ("dalpsr-data", ["convert-ram", "a.pth", "b.txt"]),
    ("dalpsr-train", ["irpad"]),  # --shards missing
    ("dalpsr-train", ["controlnet", "--shards", "x"]),  # --base missing
    ("dalpsr-train", ["encoder", "--shards", "x"]),  # --llava missing
    ("dalpsr-train", ["--shards", "x"]),  # the recipe without --base
    ("dalpsr-train", ["irpad", "--shards", MISSING]),
    ("dalpsr-train", ["encoder", "--shards", MISSING, "--llava", MISSING]),
    ("dalpsr-sr", ["in.png"]),  # --out missing
    ("dalpsr-sr", ["in.png", "--out", "o", "--base", "b", "--controlnet", "c", "--irpad", "i",
                   "--scheduler", "nope"]),
    ("dalpsr-sr", [MISSING, "--out", "o", "--base", "b", "--controlnet", "c", "--irpad", "i"]),
    ("dalpsr-sr", ["in.png", "--out", "o", "--base", MISSING, "--controlnet", "c", "--irpad", "i"]),
    ("dalpsr-data", ["caption", MISSING]),
    ("dalpsr-eval", []),  # --sr missing
]


def run_spied(name: str, args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    module, attr = SCRIPTS[name].split(":")
    code = SPY.format(heavy=HEAVY, module=module, attr=attr, name=name)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    (tmp_path / "in.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # an INPUT that exists (read only later)
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert "HEAVY-IMPORTS [" in proc.stderr, proc.stderr[-2000:]
    heavy = proc.stderr.rsplit("HEAVY-IMPORTS [", 1)[1].split("]", 1)[0]
    return proc, [h for h in heavy.split(",") if h]


@pytest.mark.parametrize("name, args", help_cases(), ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_help_loads_no_heavy_library(name, args, tmp_path):
    proc, heavy = run_spied(name, args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Usage" in proc.stdout
    assert heavy == [], f"`{name} {' '.join(args)}` imported {heavy}"


@pytest.mark.parametrize("name, args", ERROR_CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_option_and_path_errors_load_no_heavy_library(name, args, tmp_path):
    proc, heavy = run_spied(name, args, tmp_path)
    assert proc.returncode == 2, (proc.stdout[-1000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    assert heavy == [], f"`{name} {' '.join(args)}` imported {heavy} before failing"


def test_the_spy_sees_a_heavy_import(tmp_path):
    # The spy itself must see an import, or the tests above could never fail: a command
    # module that imports its trainer at the top (as before issue 20) loads torch at --help.
    probe = tmp_path / "probe_cli.py"
    probe.write_text("import typer\nfrom dalpsr_model.irpad.trainer import train_irpad\n"
                     "app = typer.Typer()\n@app.command()\ndef main() -> None:\n    pass\n")
    code = SPY.format(heavy=HEAVY, module="probe_cli", attr="app", name="probe")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    proc = subprocess.run([sys.executable, "-c", code, "--help"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "torch" in proc.stderr.rsplit("HEAVY-IMPORTS [", 1)[1].split("]", 1)[0]
