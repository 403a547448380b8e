"""Writing images: RGB arrays to PNG files (reading and its rules are ``dalpsr_data.decode``).

The build's shard members use their own byte-stable encoder (build/png.py); this
is for the files a person looks at: SR outputs, validation grids.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from dalpsr_data.atomic import write_bytes_atomic


def write_png(path: str | Path, rgb: Any) -> Path:
    """Write an (H, W, 3) uint8 array as PNG (Pillow, default settings), atomically; parent
    folders are created."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, buf.getvalue())
    return path
