"""The per-shard cache of training latents: HR and upsampled-LR patches, encoded once.

The latents are ``dalpsr_model.diffusion.latents.encode_pair``'s (scaled VAE posterior
means), so a cached latent equals a fresh one and a cached run's loss an uncached run's.

Cache layout, next to the build's own sidecars and with the same commit protocol::

    <build>/latents/<vae-hash>/shard-000000.safetensors   "<key>.hr", "<key>.lr": (4, H/8, W/8) fp32
    <build>/latents/<vae-hash>/shard-000000.done.json     keys, skipped keys with reasons, vae hash

``<vae-hash>`` covers the VAE's config, weights and encode dtype: another VAE never reads
this cache. The safetensors file is written to a temporary name and renamed; the marker is
written after it; a shard without a marker is recomputed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from dalpsr_data.atomic import remove_orphan_temporaries, write_bytes_atomic
from dalpsr_data.buildinfo import BuildInfo, Geometry
from dalpsr_data.jobs import Job, advance, run_shards
from dalpsr_data.progress import Progress
from dalpsr_data.schema import decode_png_member, iter_tar_samples, marker_path
from dalpsr_model.diffusion.latents import encode_pair, images_to_unit


def _encode_shard(vae: Any, tar_path: Path, batch_size: int, geometry: Geometry) -> tuple[dict, dict]:
    import numpy as np

    tensors: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    pending: list[tuple[str, Any, Any]] = []

    def flush() -> None:
        if not pending:
            return
        hr = images_to_unit(np.stack([p[1] for p in pending]))
        lr = images_to_unit(np.stack([p[2] for p in pending]))
        z0, z_lr = encode_pair(vae, hr, lr)
        for i, (key, _, _) in enumerate(pending):
            tensors[f"{key}.hr"] = z0[i].cpu().contiguous()
            tensors[f"{key}.lr"] = z_lr[i].cpu().contiguous()
        advance(len(pending))  # the progress bar, batch by batch
        pending.clear()

    for key, members in iter_tar_samples(tar_path):
        try:
            hr, lr = decode_png_member(members["hr.png"]), decode_png_member(members["lr.png"])
        except (KeyError, OSError, ValueError) as e:  # a bad sample is recorded, not fatal
            skipped[key] = f"{type(e).__name__}: {e}"
            advance(1)
            continue
        want = {"hr": geometry.patch_size, "lr": geometry.lr_size}
        bad = [f"{n}.png is {a.shape[1]}x{a.shape[0]}, expected {want[n]}x{want[n]}"
               for n, a in (("hr", hr), ("lr", lr)) if a.shape[:2] != (want[n], want[n])]
        if bad:  # the loader calls such a sample corrupt too
            skipped[key] = "; ".join(bad)
            advance(1)
            continue
        if pending and (hr.shape != pending[0][1].shape or lr.shape != pending[0][2].shape):
            flush()
        pending.append((key, hr, lr))
        if len(pending) >= batch_size:
            flush()
    flush()
    return tensors, skipped


def latent_file(cache_dir: Path, url: str) -> Path:
    """The cache file of the build shard ``url`` (written by ensure_latent_cache, read by LatentCache)."""
    return cache_dir / url.replace(".tar", ".safetensors")


def ensure_latent_cache(build: BuildInfo | str | Path, vae: Any, vae_hash: str, batch_size: int = 8,
                        rank: int = 0, world_size: int = 1, progress: bool = False) -> Path:
    """Encode every shard of ``build`` (a BuildInfo or a build folder) not yet cached (shards i
    with i % world_size == rank); samples not of the build's geometry are skipped, recorded.

    Returns the cache folder. Reruns skip committed shards; orphan temporaries are removed.
    Callers with several processes must wait for all ranks (a barrier) before reading.
    The shard loop is the job runner's (dalpsr_data.jobs, in this process: the VAE is here);
    a shard that fails twice raises RuntimeError naming it, after the other shards are done.
    """
    from safetensors.torch import save

    build = BuildInfo.of(build)
    out = build.latent_dir(vae_hash)
    out.mkdir(parents=True, exist_ok=True)
    remove_orphan_temporaries(out)

    def encode_shard(url: str) -> dict[str, Any]:
        tensors, skipped = _encode_shard(vae, build.shard_path(url), batch_size, build.geometry)
        write_bytes_atomic(latent_file(out, url), save(tensors, metadata={"vae_hash": vae_hash}))
        keys = sorted({k.rsplit(".", 1)[0] for k in tensors})
        return {"vae_hash": vae_hash, "shard": url, "nsamples": len(keys), "keys": keys, "skipped": skipped}

    jobs = [Job(e["url"], e["url"], size=int(e["nsamples"]), marker=str(marker_path(latent_file(out, e["url"]))))
            for i, e in enumerate(build.shards) if i % world_size == rank]
    bar = Progress("latent cache", sum(j.size for j in jobs), "patches", enabled=progress)
    run = run_shards(jobs, encode_shard, executor="local", retries=1, progress=bar)
    if run.failed:
        raise RuntimeError(f"latent cache: {len(run.failed)} shard(s) failed: " + "; ".join(
            f"{f.id}: {f.reason}" for f in run.failed) + "; rerun to retry them")
    return out


class LatentCache:
    """Read-only view of a committed cache: ``get(keys) -> (z0, z_LR)`` (B, 4, h, w) fp32.

    Every build shard must be committed (else a clear error says to build the cache).
    Shards are memory-mapped by safetensors, so lookups do not load whole files.
    """

    def __init__(self, build: BuildInfo | str | Path, vae_hash: str):
        from safetensors import safe_open

        build = BuildInfo.of(build)
        self.dir = build.latent_dir(vae_hash)
        self._where: dict[str, Any] = {}
        for entry in build.shards:
            target = latent_file(self.dir, entry["url"])
            marker = marker_path(target)
            if not marker.is_file():
                raise FileNotFoundError(f"latent cache shard {target} is not committed: run with "
                                        f"--latent-cache so it is (re)built first")
            with open(marker, encoding="utf-8") as f:
                keys = json.load(f)["keys"]
            handle = safe_open(str(target), framework="pt")
            self._where.update({k: handle for k in keys})

    def __contains__(self, key: str) -> bool:
        return key in self._where

    def get(self, keys: Iterable[str]) -> tuple[Any, Any]:
        import torch

        keys = list(keys)
        missing = [k for k in keys if k not in self._where]
        if missing:
            raise KeyError(f"keys not in the latent cache {self.dir}: {missing[:5]}")
        z0 = torch.stack([self._where[k].get_tensor(f"{k}.hr") for k in keys])
        z_lr = torch.stack([self._where[k].get_tensor(f"{k}.lr") for k in keys])
        return z0, z_lr
