"""RAM / RAM++ image tagger: Swin encoder (timm), cross-attention tagging head, official-checkpoint loading.

Lives under ``dalpsr_data.caption`` beside its only user, the tagger;
``dalpsr_data.caption`` wraps it as a ``Tagger``.
"""

from dalpsr_data.caption.ram.arch import RamArch
from dalpsr_data.caption.ram.checkpoint import RamCheckpointError, load_ram
from dalpsr_data.caption.ram.model import RamModel
from dalpsr_data.caption.ram.tags import decode_tags, preprocess_images, read_tag_files

__all__ = ["RamArch", "RamCheckpointError", "RamModel", "decode_tags", "load_ram",
           "preprocess_images", "read_tag_files"]
