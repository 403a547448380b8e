"""What `dalpsr-sr` writes in OUT, besides prompts.jsonl (prompts.py).

    OUT/<key>.png     the SR, written to a temporary name then renamed: a PNG that exists is
                      complete, so a rerun skips it (resume)
    OUT/run.json      resolved config, output hash, model paths and sha256 of their weight
                      files, seed, device/dtype, package versions
    OUT/report.json   counts, and every input that was not super-resolved with its reason

``output_hash`` covers every option that changes an image (not INPUT, OUT, batch size,
GPUs, ...) plus the model hashes: a rerun into an OUT made with other settings or models
is refused before any work, so one folder never mixes images of two settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dalpsr_data.atomic import remove_orphan_temporaries, write_json_atomic
from dalpsr_data.hash_cache import files_sha256
from dalpsr_data.config_io import ConfigError, config_hash, to_dict
from dalpsr_data.image_io import write_png as write_png_file
from dalpsr_data.outlock import LOCK_NAME  # this run's own lock file is no foreign file
from dalpsr_data.versions import package_versions

from .config import RUNTIME_ONLY, SRConfig

RUN_JSON = "run.json"
REPORT_JSON = "report.json"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt", ".ckpt")
PACKAGES = ("dalpsr", "torch", "diffusers", "transformers", "numpy", "pillow")


def output_path(out: str | Path, key: str) -> Path:
    return Path(out) / f"{key}.png"


def is_done(out: str | Path, key: str) -> bool:
    return output_path(out, key).is_file()


def write_png(out: str | Path, key: str, rgb: Any) -> Path:
    """(H, W, 3) uint8 -> OUT/<key>.png, atomically (parent folders created)."""
    return write_png_file(output_path(out, key), rgb)


def clean_temporaries(out: str | Path) -> None:
    """Remove ``.tmp-*`` files a killed run left in OUT and its subfolders (ours only)."""
    out = Path(out)
    for folder in [out, *(p for p in out.rglob("*") if p.is_dir())]:
        remove_orphan_temporaries(folder)


def weight_hashes(folder: str | Path) -> dict[str, str]:
    """{relative path: sha256} of every weight file under ``folder`` (or of the file itself)."""
    p = Path(folder)
    files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.suffix in WEIGHT_SUFFIXES and f.is_file())
    hashes = files_sha256(files)  # remembered by (path, size, mtime_ns): not 20 GB read per run
    return {(f.name if f == p else f.relative_to(p).as_posix()): hashes[f] for f in files}


def model_record(cfg: SRConfig, controlnet_dir: Path) -> dict[str, Any]:
    """Paths and weight hashes of every model the run reads (captions: only when used)."""
    models: dict[str, Any] = {"base": str(cfg.base), "controlnet": str(controlnet_dir)}
    hashes = {"base": weight_hashes(cfg.base), "controlnet": weight_hashes(controlnet_dir)}
    if not cfg.restoration_prompt:
        models["irpad"], hashes["irpad"] = str(cfg.irpad), weight_hashes(cfg.irpad)
    if cfg.captions:
        models["captions"], hashes["captions"] = cfg.captions, weight_hashes(cfg.captions)
    elif cfg.use_captions:
        for name in ("llava", "ram_checkpoint", "vision_tower"):
            value = getattr(cfg, name)
            if value:
                models[name], hashes[name] = value, weight_hashes(value)
    return {"paths": models, "sha256": hashes}


def output_hash(cfg: SRConfig, models: dict[str, Any], dtype_name: str) -> str:
    settings = {k: v for k, v in to_dict(cfg).items() if k not in RUNTIME_ONLY}
    for name in ("base", "controlnet", "irpad", "captions", "llava", "ram_checkpoint", "vision_tower"):
        settings.pop(name, None)  # paths may move; their weights' hashes decide
    return config_hash({"settings": settings, "weights": models["sha256"], "dtype": dtype_name})


def write_run_json(cfg: SRConfig, models: dict[str, Any], device: str, dtype_name: str) -> str:
    """Check OUT is empty of other settings' results, then write OUT/run.json; returns the hash."""
    out = Path(cfg.out)
    digest = output_hash(cfg, models, dtype_name)
    path = out / RUN_JSON
    if not path.is_file() and out.is_dir() and any(p.name != LOCK_NAME for p in out.iterdir()):
        raise ConfigError(f"--out {out} is a non-empty folder without {RUN_JSON}: not written by dalpsr-sr; "
                          f"give a new or empty folder")
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8")).get("output_hash", "?")
        if old != digest:
            raise ConfigError(f"{out} holds SR images made with other settings or models (output hash "
                              f"{old[:12]} != {digest[:12]}): use another --out, or the same options")
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"config": to_dict(cfg), "output_hash": digest, "models": models,
                             "seed": cfg.seed, "noise": "CPU torch.Generator per image, seeded by sha256(seed, key)",
                             "device": device, "dtype": dtype_name, "versions": package_versions(PACKAGES)})
    return digest


def write_report(out: str | Path, summary: dict[str, Any]) -> None:
    write_json_atomic(Path(out) / REPORT_JSON, summary)
