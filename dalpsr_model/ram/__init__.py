"""RAM / RAM++ image tagger: Swin encoder (timm), cross-attention tagging head, official-checkpoint loading.

The model code lives in ``dalpsr_model`` so the trainer can reuse the RAM Swin encoder;
``dalpsr_data.caption`` wraps it as a ``Tagger``.
"""

from dalpsr_model.ram.arch import RamArch
from dalpsr_model.ram.checkpoint import RamCheckpointError, load_ram
from dalpsr_model.ram.model import RamModel
from dalpsr_model.ram.tags import decode_tags, preprocess_images, read_tag_files

__all__ = ["RamArch", "RamCheckpointError", "RamModel", "decode_tags", "load_ram",
           "preprocess_images", "read_tag_files"]
