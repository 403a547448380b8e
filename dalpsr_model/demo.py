"""`make demo` (`python -m dalpsr_model.demo`): the whole loop on the sample photos and a tiny kit.

Each stage runs through its real command line in a subprocess, in order::

    models   dalpsr-models tiny            -> demo/models   (random weights, official layouts)
    build    dalpsr-data build              -> demo/shards   (8 sample photos, demo preset)
    encoder  dalpsr-train encoder           -> demo/runs/encoder (LLaVA's tower aligned to LR)
    caption  dalpsr-data caption            -> demo/shards/captions (Ray, CPU, the aligned tower)
    recipe   dalpsr-train --shards --base   -> demo/runs (reuses the two above; IRPAD, ControlNet)
    heldout  (this script)                  -> demo/hr, demo/lr (the 3 photos the build left out)
    sr       dalpsr-sr                      -> demo/sr       (RAM + LLaVA captions, IRPAD prompts)
    eval     dalpsr-eval --metrics psnr,ssim -> demo/eval

Why the encoder and captions run before the recipe instead of inside it: the recipe skips the
alignment when every shard is already captioned, so `dalpsr-data caption` (the command a
cluster runs on its own) and the recipe's own alignment could not both run on one build.
A finished stage is not run again (its output is checked here), so a rerun takes seconds
and rewrites nothing; delete demo/ to start over. The models are random: SR images are noise
and the metrics mean nothing; the point is that every command runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PIL import Image

from dalpsr_data.atomic import atomic_path
from dalpsr_data.sources.samples import list_samples
from dalpsr_model import recipe_outputs as outputs
from dalpsr_model.models.kit import is_kit, kit_paths

TRAIN_PHOTOS = 8  # the first 8 sample photos (sorted) are built; the last 3 are held out
HR_SIDE = 128  # held-out HR centre crop; its LR is HR_SIDE / 4 (bicubic)
SCALE = 4
SR_STEPS = 4


@dataclass(frozen=True)
class Stage:
    """One step: ``argv`` after ``python -m`` (None: done in this process by ``work``)."""

    name: str
    output: Path
    done: Callable[[], bool]
    argv: list[str] | None = None
    work: Callable[[], None] | None = None


def _captioned(shards: Path) -> bool:
    return (shards / "index.json").is_file() and not outputs.uncaptioned_shards(shards)[0]


def write_heldout(hr_dir: Path, lr_dir: Path) -> None:
    """HR centre crops (HR_SIDE px) of the photos the build left out, and their bicubic /4 LR."""
    for source in list_samples()[TRAIN_PHOTOS:]:
        with Image.open(source.path) as im:
            rgb = im.convert("RGB")
        left, top = (rgb.width - HR_SIDE) // 2, (rgb.height - HR_SIDE) // 2
        hr = rgb.crop((left, top, left + HR_SIDE, top + HR_SIDE))
        lr = hr.resize((HR_SIDE // SCALE, HR_SIDE // SCALE), Image.BICUBIC)
        name = Path(source.rel_path).stem + ".png"
        for folder, image in ((hr_dir, hr), (lr_dir, lr)):
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(folder / name) as tmp:
                image.save(tmp, format="PNG")


def plan(demo: Path, preset: str) -> list[Stage]:
    models, shards, runs = demo / "models", demo / "shards", demo / "runs"
    kit = kit_paths(models)
    tower = runs / "encoder" / "vision_tower"
    hr, lr, sr, ev = demo / "hr", demo / "lr", demo / "sr", demo / "eval"
    n_held = len(list_samples()) - TRAIN_PHOTOS
    return [
        Stage("models", models, lambda: is_kit(models), ["dalpsr_model.cli.models", "tiny", str(models)]),
        Stage("build", shards, lambda: (shards / "index.json").is_file(),
              ["dalpsr_data.cli", "build", "--sources", "samples", "--limit", str(TRAIN_PHOTOS),
               "--pipeline", preset, "--out", str(shards), "--workers", "2"]),
        Stage("encoder", tower, lambda: outputs.finished_tower(tower),
              ["dalpsr_model.cli.train", "encoder", "--shards", str(shards), "--llava", str(kit["llava"]),
               "--out", str(runs / "encoder"), "--pipeline", preset, "--cpu"]),
        Stage("caption", shards / "captions", lambda: _captioned(shards),
              ["dalpsr_data.cli", "caption", str(shards), "--pipeline", preset, "--llava", str(kit["llava"]),
               "--ram-checkpoint", str(kit["ram"]), "--vision-tower", str(tower), "--no-progress"]),
        Stage("recipe", runs, lambda: (runs / "recipe.json").is_file(),
              ["dalpsr_model.cli.train", "--shards", str(shards), "--base", str(kit["base"]),
               "--llava", str(kit["llava"]), "--ram-checkpoint", str(kit["ram"]), "--pipeline", preset,
               "--out", str(runs), "--cpu"]),
        Stage("heldout", lr, lambda: len(list(lr.glob("*.png"))) == n_held == len(list(hr.glob("*.png"))),
              work=lambda: write_heldout(hr, lr)),
        Stage("sr", sr, lambda: (sr / "report.json").is_file(),
              ["dalpsr_model.cli.sr", str(lr), "--out", str(sr), "--base", str(kit["base"]),
               "--controlnet", str(runs / "controlnet"), "--irpad", str(runs / "irpad"),
               "--llava", str(kit["llava"]), "--ram-checkpoint", str(kit["ram"]), "--vision-tower", str(tower),
               "--caption-max-new-tokens", "16", "--steps", str(SR_STEPS), "--device", "cpu", "--no-progress"]),
        Stage("eval", ev, lambda: (ev / "metrics.json").is_file(),
              ["dalpsr_model.cli.eval", "--sr", str(sr), "--hr", str(hr), "--lr", str(lr), "--out", str(ev),
               "--metrics", "psnr,ssim", "--device", "cpu"]),
    ]


def run_stage(stage: Stage, log: Path) -> tuple[str, float]:
    """Run ``stage`` unless it is done; returns (what happened, seconds). Exits on a failure."""
    if stage.done():
        return "reused", 0.0
    start = time.monotonic()
    if stage.work is not None:
        stage.work()
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"\n$ python -m {' '.join(stage.argv)}\n")
            f.flush()
            code = subprocess.call([sys.executable, "-m", *stage.argv], stdout=f, stderr=subprocess.STDOUT)
        if code != 0 or not stage.done():
            tail = "".join(log.read_text(encoding="utf-8").splitlines(keepends=True)[-15:])
            sys.exit(f"{tail}\ndemo: stage {stage.name} failed (exit {code}); full log in {log}")
    return "ran", time.monotonic() - start


NEXT = """Next, with real models (download them once; paths are placeholders):
  dalpsr-models check /models/stable-diffusion-2-1-base
  dalpsr-models check /models/llava-1.5-7b-hf
  dalpsr-models check /models/ram/ram_swin_large_14m.pth
  dalpsr-data build --sources div2k,flickr2k --data-root /data --out shards/train
  dalpsr-train --shards shards/train --base /models/stable-diffusion-2-1-base \\
      --llava /models/llava-1.5-7b-hf --ram-checkpoint /models/ram/ram_swin_large_14m.pth --out runs/dalpsr
  dalpsr-sr /data/RealSR/LR --out out/sr --base /models/stable-diffusion-2-1-base \\
      --controlnet runs/dalpsr/controlnet --irpad runs/dalpsr/irpad --llava /models/llava-1.5-7b-hf \\
      --ram-checkpoint /models/ram/ram_swin_large_14m.pth --vision-tower runs/dalpsr/encoder/vision_tower
  dalpsr-eval --sr out/sr --hr /data/RealSR/HR --out out/eval"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=Path("demo"), help="Folder of every output (default: demo).")
    parser.add_argument("--pipeline", default="demo", help="Preset of the build and training stages.")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the kit is local; nothing is ever downloaded
    log = args.demo / "demo.log"
    total = time.monotonic()
    rows = []
    for stage in plan(args.demo, args.pipeline):
        print(f"demo: {stage.name} ...", flush=True)
        what, seconds = run_stage(stage, log)
        rows.append((stage.name, str(stage.output), what, seconds))
    width = max(len(r[1]) for r in rows)
    print(f"\n{'stage':<8} {'wrote':<{width}} {'result':<6} {'time':>7}")
    for name, path, what, seconds in rows:
        print(f"{name:<8} {path:<{width}} {what:<6} {seconds:6.1f}s")
    print(f"{'total':<8} {'':<{width}} {'':<6} {time.monotonic() - total:6.1f}s  (log: {log})\n")
    print(NEXT)
    print("\nThe demo's models are random weights: its SR images are noise and its metrics mean nothing.")


if __name__ == "__main__":
    main()
