"""`dalpsr-data convert-ram CKPT OUT`: official RAM .pth -> tagging-only safetensors."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dalpsr_data.atomic import write_safetensors_atomic
from dalpsr_data.caption.ram import RamCheckpointError, load_ram, read_tag_files
from dalpsr_data.caption.ram.arch import VARIANTS
from dalpsr_data.caption.ram.checkpoint import check_checkpoint_file, tagging_state_dict
from dalpsr_data.caption.ram.options import CONVERT_OPTIONS
from dalpsr_data.caption.ram.tags import TagFileError, default_tag_paths


def register(app: typer.Typer) -> None:
    @app.command("convert-ram")
    def convert_ram(
        checkpoint: Path = typer.Argument(..., help="Official ram_swin_large_14m.pth or ram_plus_swin_large_14m.pth."),
        out: Path = typer.Argument(..., help="Output .safetensors (tagging weights only, timm Swin layout)."),
        variant: str = typer.Option("ram", help="'ram' or 'ram_plus'.", show_default=True),
        tag_list: Optional[Path] = typer.Option(None, help="ram_tag_list.txt (default: beside the checkpoint)"),
        thresholds: Optional[Path] = typer.Option(None, help="ram_tag_list_threshold.txt (default: beside the checkpoint)"),
        image_size: int = typer.Option(384, help="RAM input resolution.", show_default=True),
        allow_unsafe_load: bool = typer.Option(False, "--allow-unsafe-load", help="Fully unpickle a trusted .pth that weights-only loading refuses. (default: off)"),
    ) -> None:
        """Load the checkpoint with the strict tagger loader and save what tagging needs.

        The result loads without unpickling and without the BLIP text branches; copy the
        tag list and threshold files next to it.
        """
        tag_default, thr_default = default_tag_paths(checkpoint)
        try:
            if out.suffix != ".safetensors":
                raise ValueError(f"OUT must end in .safetensors, got {out}")
            if variant not in VARIANTS:
                raise ValueError(f"--variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
            # The checkpoint first: a wrong CHECKPOINT must not be reported as a missing tag list.
            check_checkpoint_file(checkpoint, CONVERT_OPTIONS)
            tags, _ = read_tag_files(tag_list or tag_default, thresholds or thr_default, CONVERT_OPTIONS)
            model, info = load_ram(checkpoint, variant, len(tags), image_size, allow_unsafe_load, CONVERT_OPTIONS)
        except (RamCheckpointError, TagFileError, ValueError) as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from e
        out.parent.mkdir(parents=True, exist_ok=True)
        write_safetensors_atomic(out, tagging_state_dict(model),
                                 metadata={"variant": variant, "num_tags": str(len(tags))})
        typer.echo(f"wrote {out} ({len(model.state_dict())} tensors, {info['skipped_keys']} keys skipped"
                   f"{', reweight_scale defaulted' if info['reweight_scale_default'] else ''})")
