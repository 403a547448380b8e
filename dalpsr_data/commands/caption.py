"""`dalpsr-data caption BUILD`: RAM tags -> LLaVA captions, one sidecar per build shard."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dalpsr_data.caption.config import CaptionConfig
from dalpsr_data.caption.run import run_caption
from dalpsr_data.config_io import ConfigError, load_config


def _default(name: str) -> str:

    return f" (default: {getattr(CaptionConfig, name)!r})"


def register(app: typer.Typer) -> None:
    @app.command("caption")
    def caption(
        build: Path = typer.Argument(..., help="Finished build folder (index.json, committed shards)."),
        pipeline: Optional[str] = typer.Option(None, help="Preset name or yaml whose `caption:` section sets defaults. (default: none)"),
        llava: Optional[str] = typer.Option(None, help="Local LLaVA-1.5 HF folder (llava-hf/llava-1.5-7b-hf layout); else $DALPSR_LLAVA." + _default("llava")),
        tagger: Optional[str] = typer.Option(None, help="'ram' (tags in the instruction) or 'none' (plain instruction)." + _default("tagger")),
        ram_checkpoint: Optional[str] = typer.Option(None, help="RAM/RAM++ .pth or converted .safetensors; else $DALPSR_RAM_CHECKPOINT." + _default("ram_checkpoint")),
        ram_variant: Optional[str] = typer.Option(None, help="'ram' (ram_swin_large_14m, as the paper) or 'ram_plus'." + _default("ram_variant")),
        ram_tag_list: Optional[str] = typer.Option(None, help="ram_tag_list.txt; empty: the file beside the checkpoint." + _default("ram_tag_list")),
        ram_thresholds: Optional[str] = typer.Option(None, help="ram_tag_list_threshold.txt; empty: the file beside the checkpoint." + _default("ram_thresholds")),
        ram_image_size: Optional[int] = typer.Option(None, help="RAM input resolution (384 for the released Swin-L)." + _default("ram_image_size")),
        ram_allow_unsafe_load: Optional[bool] = typer.Option(None, "--ram-allow-unsafe-load/--no-ram-allow-unsafe-load", help="Fully unpickle a trusted .pth that weights-only loading refuses." + _default("ram_allow_unsafe_load")),
        max_tags: Optional[int] = typer.Option(None, help="Most probable tags put in the instruction (0: all)." + _default("max_tags")),
        instruction: Optional[str] = typer.Option(None, help="Instruction before the tag clause." + _default("instruction")),
        vision_tower: Optional[str] = typer.Option(None, help="LR-aligned vision tower folder saved by `dalpsr-train encoder`." + _default("vision_tower")),
        image: Optional[str] = typer.Option(None, help="Image captioned: 'lr' (paper) or 'hr' (ablation)." + _default("image")),
        max_new_tokens: Optional[int] = typer.Option(None, help="LLaVA tokens generated per caption." + _default("max_new_tokens")),
        dtype: Optional[str] = typer.Option(None, help="auto (bf16 on cuda, fp32 on cpu), bf16, fp16 or fp32." + _default("dtype")),
        device: Optional[str] = typer.Option(None, help="'cuda' or 'cpu'." + _default("device")),
        gpus: Optional[int] = typer.Option(None, help="Ray actors, one GPU each (one CPU slot each with --device cpu)." + _default("gpus")),
        address: Optional[str] = typer.Option(None, help="Address of an existing Ray cluster (empty: start a local one)." + _default("address")),
        batch_size: Optional[int] = typer.Option(None, help="Images per LLaVA generate call (halved on CUDA OOM)." + _default("batch_size")),
        tag_batch_size: Optional[int] = typer.Option(None, help="Images per RAM forward." + _default("tag_batch_size")),
        retries: Optional[int] = typer.Option(None, help="Times a shard is redone after its actor crashed." + _default("retries")),
        cpus_per_actor: Optional[int] = typer.Option(None, help="CPU slots reserved per Ray actor." + _default("cpus_per_actor")),
        local: bool = typer.Option(False, "--local", help="Run in this process instead of Ray actors. (default: off)"),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar. (default: on)"),
    ) -> None:
        """Tag each LR patch with RAM, ask LLaVA for a detailed caption, write captions/ sidecars.

        Resumable: committed caption shards are skipped on a rerun.
        """
        import json


        overrides = dict(llava=llava, tagger=tagger, ram_checkpoint=ram_checkpoint, ram_variant=ram_variant,
                         ram_tag_list=ram_tag_list, ram_thresholds=ram_thresholds, ram_image_size=ram_image_size,
                         ram_allow_unsafe_load=ram_allow_unsafe_load, max_tags=max_tags, instruction=instruction,
                         vision_tower=vision_tower, image=image, max_new_tokens=max_new_tokens, dtype=dtype,
                         device=device, gpus=gpus, address=address, batch_size=batch_size,
                         tag_batch_size=tag_batch_size, retries=retries, cpus_per_actor=cpus_per_actor)
        try:
            cfg = load_config(CaptionConfig, pipeline, "caption", overrides)
            summary = run_caption(build, cfg, executor="local" if local else "ray", progress=progress)
        except ConfigError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from e
        typer.echo(json.dumps(summary, sort_keys=True))
        if summary["failed_shards"]:
            typer.echo(f"error: {len(summary['failed_shards'])} shard(s) failed; rerun to retry them", err=True)
            raise typer.Exit(1)
