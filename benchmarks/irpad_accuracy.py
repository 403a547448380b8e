"""Benchmark: IRPAD held-out accuracy, with the paper's Table IV (blur 0.63, noise 0.65,
JPEG 0.69) as a reference point, end to end with the real commands. Prints one JSON line.

Not the paper's test: the degree is this project's (quantile of an analytic severity of the
sampled parameters), the held-out photos are the ones below, evaluation averages 8 views
(TTA); the paper defines none of these, so "above_table_iv" compares numbers, not models.

Photos (nothing is downloaded): Urban100 and Sun-Hays80, two public super-resolution test
sets of large photos (1024 px wide), as laid out in a clone of the SelfExSR repository
(jbhuang0604/SelfExSR on GitHub: ``data/Urban100/image_SRF_4/img_XXX_SRF_4_HR.png``,
``data/Sun-Hays80/image_SRF_8/img_0XX_SRF_8_HR.png``), plus photos that ship with
scikit-image and matplotlib.

* training photos (172): Urban100 001-100, Sun-Hays80 001-060, 11 scikit-image photos
  (astronaut, brick, camera, coffee, grass, hubble_deep_field, moon, rocket, retina, ihc,
  cell) and matplotlib's grace_hopper;
* held-out photos (23), never seen in training: Sun-Hays80 061-080 and scikit-image's
  chelsea, motorcycle_left and gravel.

Steps: ``dalpsr-data build`` of both folders (own seeds), ``dalpsr-train irpad`` with
``--val-shards`` = the held-out build, then eval.json is read back, and the accuracy gets
95 % intervals from a bootstrap over the held-out photos (``photo_bootstrap``). About 11 min
of builds (2 workers) and about 2 h 10 min of training (9,000 steps) on two CPU threads.

    .venv/bin/python benchmarks/irpad_accuracy.py --selfexsr /path/to/SelfExSR [--work runs/irpad_accuracy]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PAPER = {"blur": 0.63, "noise": 0.65, "jpeg": 0.69}
SKIMAGE_TRAIN = ["astronaut.png", "brick.png", "camera.png", "coffee.png", "grass.png", "hubble_deep_field.jpg",
                 "moon.png", "rocket.jpg", "retina.jpg", "ihc.png", "cell.png"]
SKIMAGE_VAL = ["chelsea.png", "motorcycle_left.png", "gravel.png"]
# --mixed-precision no: the commands apply the paper preset unless --pipeline names another,
# and its irpad section asks for bf16, which a CPU without bf16 units emulates many times slower;
# the runs recorded in docs/train.md trained in fp32.
TRAIN_ARGS = ["--mixed-precision", "no", "--warmup-steps", "100", "--lr", "1.5e-3",
              "--batch-size", "32", "--num-workers", "0", "--shuffle-buffer", "3000", "--width", "16", "--dim", "128",
              "--eval-every", "1500", "--checkpoint-every", "1500", "--no-progress"]


def photo_folders(selfexsr: Path, work: Path) -> tuple[Path, Path]:
    """Symlink the chosen photos into work/photos/{train,val}; fails naming a missing file."""
    from dalpsr_data.sources.samples import samples_root
    import matplotlib

    sk = Path(samples_root())
    mpl = Path(matplotlib.get_data_path()) / "sample_data"
    urban = [selfexsr / f"data/Urban100/image_SRF_4/img_{i:03d}_SRF_4_HR.png" for i in range(1, 101)]
    sun = [selfexsr / f"data/Sun-Hays80/image_SRF_8/img_{i:03d}_SRF_8_HR.png" for i in range(1, 81)]
    plan = {"train": urban + sun[:60] + [sk / n for n in SKIMAGE_TRAIN] + [mpl / "grace_hopper.jpg"],
            "val": sun[60:] + [sk / n for n in SKIMAGE_VAL]}
    missing = [str(p) for files in plan.values() for p in files if not p.is_file()]
    if missing:
        sys.exit(f"missing photos ({len(missing)}), e.g. {missing[0]}: give --selfexsr a clone of SelfExSR")
    for split, files in plan.items():
        folder = work / "photos" / split
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for f in files:
            (folder / f"{f.parent.parent.name}_{f.name}" if "SRF" in f.name else folder / f.name).symlink_to(f.resolve())
    return work / "photos" / "train", work / "photos" / "val"


def photo_bootstrap(model_dir: Path, val_root: Path, resamples: int = 2000) -> dict:
    """95 % intervals of the held-out accuracy, resampling whole photos (seeded).

    The patches of one photo share its content, so they are not independent: the
    uncertainty is per photo. A patch key is ``<source>_<photo>_pNN``. Returns
    {"photos": int, "ci95": {type: [lo, hi]}, "p_above_table_iv": {type: fraction of resamples}}.
    """
    import numpy as np
    from dalpsr_data.schema import DEGRADATION_TYPES
    from dalpsr_model.data import EpochLoader
    from dalpsr_model.irpad.predictor import IrpadPredictor

    predictor = IrpadPredictor.load(model_dir)  # the TTA setting the run was evaluated with
    hits, photos = [], []
    for batch in EpochLoader(val_root, batch_size=64, fields=("lr", "bins", "key"), max_epochs=1, shuffle_buffer=1):
        hits.append((predictor.predict_bins(batch["lr"]) == batch["bins"]).numpy())
        photos += [k.rsplit("_p", 1)[0] for k in batch["key"]]
    hit, photo = np.concatenate(hits), np.array(photos)
    groups = [np.flatnonzero(photo == q) for q in sorted(set(photos))]
    rng = np.random.default_rng(0)
    boots = np.array([hit[np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])].mean(0)
                      for _ in range(resamples)])
    return {"photos": len(groups),
            "ci95": {t: np.percentile(boots[:, k], [2.5, 97.5]).round(3).tolist()
                     for k, t in enumerate(DEGRADATION_TYPES)},
            "p_above_table_iv": {t: round(float((boots[:, k] > PAPER[t]).mean()), 3)
                              for k, t in enumerate(DEGRADATION_TYPES)}}


def run(cmd: list[str], threads: int = 1) -> float:
    t = time.time()
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    return round(time.time() - t, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--selfexsr", required=True, type=Path, help="clone of jbhuang0604/SelfExSR (its data/ folder)")
    ap.add_argument("--work", default=Path("runs/irpad_accuracy"), type=Path)
    ap.add_argument("--threads", type=int, default=2, help="torch threads of the training process")
    ap.add_argument("--train-patches", type=int, default=96, help="patches per training photo (seed 11)")
    ap.add_argument("--val-patches", type=int, default=24, help="patches per held-out photo (seed 12)")
    ap.add_argument("--label-sigma", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    ap.add_argument("--steps", type=int, default=9000,
                    help="training steps: 100 warm-up steps, then a cosine decay of the lr to 0 over the rest")
    ap.add_argument("--extra", default="", help="more dalpsr-train irpad options, space-separated")
    ap.add_argument("--run-name", default="", help="training folder under --work (default irpad_seed<seed>); "
                    "distinct names keep the models of several variants trained on the same builds")
    args = ap.parse_args()
    if args.steps <= 200:
        ap.error("--steps must be > 200 (100 warm-up steps, then a cosine decay over steps - 100)")
    bindir = Path(sys.executable).parent
    train_photos, val_photos = photo_folders(args.selfexsr, args.work)
    build = [str(bindir / "dalpsr-data"), "build", "--shard-size", "64", "--workers", "2", "--no-progress"]
    times = {}
    for name, photos, per, seed in (("val", val_photos, args.val_patches, 12), ("train", train_photos, args.train_patches, 11)):
        out = args.work / f"build_{name}"
        if not (out / "index.json").exists():  # a finished build is reused (the build itself also resumes)
            times[f"build_{name}_s"] = run(build + ["--sources", f"folder={photos}", "--patches-per-image", str(per),
                                                    "--seed", str(seed), "--out", str(out),
                                                    "--repeat-crops"])  # the small photos: many degradations each
    out = args.work / (args.run_name or f"irpad_seed{args.seed}")
    shutil.rmtree(out, ignore_errors=True)  # this script's own run folder: always a fresh run
    times["train_s"] = run([str(bindir / "dalpsr-train"), "irpad", "--shards", str(args.work / "build_train"),
                            "--val-shards", str(args.work / "build_val"), "--out", str(out),
                            "--seed", str(args.seed), "--label-sigma", str(args.label_sigma),
                            "--max-steps", str(args.steps), "--decay-steps", str(args.steps - 100), *TRAIN_ARGS,
                            *args.extra.split()], args.threads)
    ev = json.loads((out / "eval.json").read_text())
    queries = json.loads((out / "irpad.json").read_text()).get("queries", {"source": "learned"})
    acc = {k: round(v, 3) for k, v in ev["accuracy"].items()}
    boot = photo_bootstrap(out, args.work / "build_val")
    print(json.dumps({"benchmark": "irpad_accuracy", "held_out_samples": ev["n"], "tta": ev.get("tta", False),
                      "seed": args.seed, "steps": args.steps, "train_patches": args.train_patches,
                      "val_patches": args.val_patches, "queries": queries["source"],
                      "label_sigma": args.label_sigma, "accuracy": acc, "table_iv": PAPER,
                      "above_table_iv": {k: acc[k] > PAPER[k] for k in PAPER},
                      "test": "own degree definition and held-out photos, 8-view TTA: not the paper's test", "confusion": ev["confusion"],
                      "photo_bootstrap": boot, **times, "threads": args.threads}))


if __name__ == "__main__":
    main()
