"""Load the official RAM / RAM++ checkpoints (or our safetensors conversion) strictly.

Official ``ram_swin_large_14m.pth`` / ``ram_plus_swin_large_14m.pth`` hold
``{'model': state_dict, ...}`` (some releases add an optimizer or config entry). We do
what the official loader does (rename ``vision_multi`` -> ``tagging_head``, drop the
``relative_position_index`` / ``attn_mask`` buffers, move the Swin downsampling keys to
timm's layout) and skip what closed-set tagging never uses: the BLIP
``tag_encoder`` / ``text_decoder`` and the self-attention and embeddings the official
model deletes. Every other key must match the model exactly (strict load), so a wrong
file fails loudly instead of tagging with random weights.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from dalpsr_data.caption.ram.arch import RamArch, infer_arch
from dalpsr_data.caption.ram.model import DEFAULT_REWEIGHT_SCALE, RamModel
from dalpsr_data.caption.ram.options import CAPTION_OPTIONS, RamOptionNames

# Prefixes closed-set tagging does not need (the official model deletes or never uses them).
SKIPPED_PREFIXES = ("tag_encoder.", "text_decoder.", "tagging_head.embeddings.", "visual_encoder_m.")
SKIPPED_PATTERNS = (".attention.",)  # tagging_head self-attention, deleted by del_selfattention
DROPPED_BUFFERS = ("relative_position_index", "attn_mask")


class RamCheckpointError(ValueError):
    """The RAM weights are missing, unreadable or do not match the architecture."""


# torch.save writes a zip archive (since 1.6) or, in the legacy format, a pickle that
# opens with protocol 2 and a LONG1 magic number.
ZIP_MAGIC = b"PK\x03\x04"
LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\n"


def check_checkpoint_file(path: str | Path, names: RamOptionNames = CAPTION_OPTIONS) -> Path:
    """The path, checked to exist and to look like a PyTorch or safetensors file (reads 8 bytes).

    Raises RamCheckpointError naming the calling command's option (``names``).
    """
    path = Path(path)
    if not path.is_file():
        raise RamCheckpointError(f"RAM checkpoint {path} not found: download ram_swin_large_14m.pth "
                                 f"(or ram_plus_swin_large_14m.pth) yourself and pass its path {names.checkpoint}")
    with path.open("rb") as f:
        head = f.read(8)
    if path.suffix != ".safetensors" and not head.startswith((ZIP_MAGIC, LEGACY_TORCH_MAGIC)):
        raise RamCheckpointError(f"{path} is not a PyTorch checkpoint (neither a torch.save zip archive nor a "
                                 f"legacy torch.save file): pass the official .pth {names.checkpoint}")
    return path


def _refusal(e: Exception) -> str:
    """The informative line of torch's weights-only refusal (the unsupported global)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return next((ln for ln in lines if "Unsupported global" in ln), lines[0] if lines else type(e).__name__)


def read_state_dict(path: str | Path, allow_unsafe_load: bool = False,
                    names: RamOptionNames = CAPTION_OPTIONS) -> dict[str, torch.Tensor]:
    """Tensors of a RAM checkpoint: official ``.pth`` (its ``'model'`` entry) or ``.safetensors``.

    ``.pth`` files are read with ``weights_only=True``; a file whose extra entries
    (optimizer, config objects) need full unpickling is refused unless the caller
    passes ``allow_unsafe_load`` for a file it trusts. Messages name ``names``' options.
    """
    path = check_checkpoint_file(path, names)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as e:  # safetensors raises its own error type for a bad header
            raise RamCheckpointError(f"{path} is not a readable safetensors file ({e}): convert the "
                                     f"official .pth again with `dalpsr-data convert-ram`") from e
    try:
        ckpt: Any = torch.load(path, map_location="cpu", weights_only=not allow_unsafe_load)
    except pickle.UnpicklingError as e:
        if allow_unsafe_load:  # fully unpickled and still unreadable: a damaged file
            raise RamCheckpointError(f"{path} is not a readable PyTorch checkpoint ({_refusal(e)})") from e
        convert = (", or convert it once with `dalpsr-data convert-ram --allow-unsafe-load` and use the "
                   ".safetensors file" if names.suggest_convert else "")
        raise RamCheckpointError(
            f"{path} holds objects that torch.load(weights_only=True) refuses ({_refusal(e)}). "
            f"If you trust this file, pass {names.allow_unsafe_load} (full unpickling can run code){convert}") from e
    except (RuntimeError, EOFError, OSError, ValueError) as e:  # truncated or corrupt archive
        raise RamCheckpointError(f"{path} is not a readable PyTorch checkpoint ({str(e).splitlines()[0]})") from e
    state = ckpt.get("model", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise RamCheckpointError(f"{path}: expected a dict with a 'model' state dict of tensors")
    return state


def _skipped(key: str) -> bool:
    if key.startswith(SKIPPED_PREFIXES):
        return True
    return key.startswith("tagging_head.") and any(p in key for p in SKIPPED_PATTERNS)


def rename_official(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Official names -> our module names; returns (state, skipped keys).

    Already-converted state dicts (our safetensors) pass through unchanged.
    """
    out: dict[str, torch.Tensor] = {}
    skipped: list[str] = []
    for key, value in state.items():
        key = key.replace("vision_multi", "tagging_head")
        if any(b in key for b in DROPPED_BUFFERS):
            continue
        if _skipped(key):
            skipped.append(key)
            continue
        out[key] = value
    return out, skipped


_STAGE_DOWNSAMPLE = re.compile(r"^visual_encoder\.layers\.(\d+)\.downsample\.")


def _to_timm_swin(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official Swin keys (downsample at a stage's end) -> timm's (at the next stage's start).

    The layout is told by stage 0: the official Swin has a downsample there, timm's never
    has. Done here, not by timm's ``checkpoint_filter_fn``: releases before 1.0.31 decide
    by the classifier head, which RAM lacks, and shift a timm-layout file (convert-ram's
    output) a second time. The other parts of that filter do not apply (buffers are dropped
    by ``rename_official``; sizes are read from the shapes, so nothing is resized).
    """
    if "visual_encoder.layers.0.downsample.reduction.weight" not in state:
        return state  # already timm's layout
    return {_STAGE_DOWNSAMPLE.sub(lambda m: f"visual_encoder.layers.{int(m.group(1)) + 1}.downsample.", k): v
            for k, v in state.items()}


def load_ram(path: str | Path, variant: str, num_tags: int, image_size: int = 384,
             allow_unsafe_load: bool = False, names: RamOptionNames = CAPTION_OPTIONS
             ) -> tuple[RamModel, dict[str, Any]]:
    """Build a RamModel from a checkpoint with a strict key check; returns (model, load info).

    ``num_tags`` is the length of the tag list placed beside the checkpoint. The model is
    in eval mode, fp32, on CPU. ``info`` records the architecture, skipped key count and
    whether RAM++'s ``reweight_scale`` fell back to log(1/0.07).
    """
    return build_ram(read_state_dict(path, allow_unsafe_load, names), path, variant, num_tags, image_size, names)


def build_ram(raw: dict[str, torch.Tensor], path: str | Path, variant: str, num_tags: int,
              image_size: int = 384, names: RamOptionNames = CAPTION_OPTIONS
              ) -> tuple[RamModel, dict[str, Any]]:
    """:func:`load_ram` on a state dict already read from ``path`` (named in its errors),
    so a caller that has read the checkpoint does not read it again."""
    state, skipped = rename_official(raw)
    try:
        arch: RamArch = infer_arch(state, variant, num_tags, image_size)
    except (KeyError, ValueError) as e:
        raise RamCheckpointError(f"{path}: not a {variant} checkpoint that fits the tag list ({e}); "
                                 f"check {names.variant} and {names.tag_list}") from e
    model = RamModel(arch)
    state = _to_timm_swin(state)
    info: dict[str, Any] = {"arch": arch, "skipped_keys": len(skipped), "reweight_scale_default": False}
    if variant == "ram_plus" and "reweight_scale" not in state:
        # Some RAM++ exports omit it; the released model was trained from this initial value.
        state["reweight_scale"] = torch.tensor(DEFAULT_REWEIGHT_SCALE)
        info["reweight_scale_default"] = True
    expected = _weights(model)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        raise RamCheckpointError(
            f"{path} does not match the {variant} architecture: missing {missing[:5]} ({len(missing)}), "
            f"unexpected {unexpected[:5]} ({len(unexpected)}), wrong shape {wrong[:5]} ({len(wrong)}); "
            f"check {names.variant} and {names.image_size}")
    # strict above; here only the position-index / mask buffers may be absent (they are
    # computed by the model and persistent in timm 0.9.0, non-persistent later)
    result = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    if result.unexpected_keys or not all(_is_buffer(k) for k in result.missing_keys):
        raise RamCheckpointError(f"{path}: unexpected load result {result}")
    return model.eval(), info


def _is_buffer(key: str) -> bool:
    return any(b in key for b in DROPPED_BUFFERS)


def _weights(model: RamModel) -> dict[str, torch.Tensor]:
    """The model's state dict without the Swin buffers it computes itself."""
    return {k: v for k, v in model.state_dict().items() if not _is_buffer(k)}


def tagging_state_dict(model: RamModel) -> dict[str, torch.Tensor]:
    """What convert-ram saves: the loaded model's weights in timm layout, contiguous fp32."""
    return {k: v.detach().float().contiguous().clone() for k, v in _weights(model).items()}
