"""`dalpsr-data convert-ram CKPT OUT`: official RAM .pth -> tagging-only safetensors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from dalpsr_data.caption.config import RAM_VARIANTS as VARIANTS
from dalpsr_data.cli_options import make_command
from dalpsr_data.config_io import ConfigError, opt

DOC = ("Load the checkpoint with the strict tagger loader and save what tagging needs.\n\n"
       "The result loads without unpickling and without the BLIP text branches; copy the "
       "tag list and threshold files next to it.")


@dataclass(frozen=True)
class ConvertRamConfig:
    """Options of `dalpsr-data convert-ram` (CHECKPOINT and OUT are positional)."""

    checkpoint: str = opt("", "Official ram_swin_large_14m.pth or ram_plus_swin_large_14m.pth.")
    out: str = opt("", "Output .safetensors (tagging weights only, timm Swin layout).")
    variant: str = opt("ram", "'ram' or 'ram_plus'.")
    tag_list: str = opt("", "ram_tag_list.txt; empty: the file beside the checkpoint.")
    thresholds: str = opt("", "ram_tag_list_threshold.txt; empty: the file beside the checkpoint.")
    image_size: int = opt(384, "RAM input resolution.")
    allow_unsafe_load: bool = opt(False, "Fully unpickle a trusted .pth that weights-only loading refuses.")

    def __post_init__(self) -> None:
        if not self.out.endswith(".safetensors"):
            raise ValueError(f"OUT must end in .safetensors, got {self.out}")
        if self.variant not in VARIANTS:
            raise ValueError(f"--variant must be one of {', '.join(VARIANTS)}, got {self.variant!r}")


def run(cfg: ConvertRamConfig) -> None:
    # the lazy boundary: --help and option errors answer without loading torch
    from dalpsr_data.atomic import write_safetensors_atomic
    from dalpsr_data.caption.ram import load_ram, read_tag_files
    from dalpsr_data.caption.ram.checkpoint import check_checkpoint_file, tagging_state_dict
    from dalpsr_data.caption.ram.options import CONVERT_OPTIONS
    from dalpsr_data.caption.ram.tags import default_tag_paths

    checkpoint, out = Path(cfg.checkpoint), Path(cfg.out)
    tag_default, thr_default = default_tag_paths(checkpoint)
    # The checkpoint first: a wrong CHECKPOINT must not be reported as a missing tag list.
    check_checkpoint_file(checkpoint, CONVERT_OPTIONS)
    tags, _ = read_tag_files(cfg.tag_list or tag_default, cfg.thresholds or thr_default, CONVERT_OPTIONS)
    model, info = load_ram(checkpoint, cfg.variant, len(tags), cfg.image_size, cfg.allow_unsafe_load,
                           CONVERT_OPTIONS)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_safetensors_atomic(out, tagging_state_dict(model),
                             metadata={"variant": cfg.variant, "num_tags": str(len(tags))})
    typer.echo(f"wrote {out} ({len(model.state_dict())} tensors, {info['skipped_keys']} keys skipped"
               f"{', reweight_scale defaulted' if info['reweight_scale_default'] else ''})")


def register(app: typer.Typer) -> None:
    app.command("convert-ram")(make_command(
        ConvertRamConfig, "convert-ram", run, DOC, arguments=("checkpoint", "out"),
        # RamCheckpointError and TagFileError are ValueErrors: one line, exit 2
        errors=(((ConfigError, ValueError), 2),)))
