"""Robust image decoding: any common file -> 8-bit RGB array, or one typed error.

Every conversion that changes the pixels is named in ``DecodedImage.conversions`` so it
can be recorded in the sample's ``src.json``. Pillow's decompression-bomb guard stays on;
``max_pixels`` adds our own, configurable limit checked from the header before decoding.
A truncated file is an error (Pillow raises on it unless told not to; we never tell it).
"""

from __future__ import annotations

import errno
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

EXIF_ORIENTATION_TAG = 0x0112


class DecodeError(Exception):
    """A file that cannot be used; ``reason`` is a short stable code counted in report.json."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class DecodedImage:
    """``rgb``: uint8 (H, W, 3) in [0, 255], EXIF orientation applied.

    ``conversions``: what was done to reach 8-bit RGB (empty for a plain RGB 8-bit file).
    ``size``: (width, height) after orientation. ``format``: Pillow's format name.
    """

    rgb: np.ndarray
    conversions: tuple[str, ...]
    format: str

    @property
    def size(self) -> tuple[int, int]:
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


def _orient(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) to an (H, W, C) array, as the EXIF spec defines."""
    ops = {
        1: lambda x: x,
        2: lambda x: x[:, ::-1],
        3: lambda x: x[::-1, ::-1],
        4: lambda x: x[::-1],
        5: lambda x: x.swapaxes(0, 1),
        6: lambda x: np.rot90(x, -1),
        7: lambda x: x[::-1, ::-1].swapaxes(0, 1),
        8: lambda x: np.rot90(x, 1),
    }
    return np.ascontiguousarray(ops.get(orientation, ops[1])(a))


def _to16_to_8(a: np.ndarray) -> np.ndarray:
    """uint16 [0, 65535] -> uint8 [0, 255] by rounding v / 257 (exact for 8-bit data stored as 16)."""
    return np.round(a.astype(np.float64) / 257.0).astype(np.uint8)


def _is_16bit(im: Image.Image) -> bool:
    """Pillow reads 16-bit RGB(A) PNG/TIFF as 8-bit 'RGB' by truncation; its raw mode tells."""
    if im.mode.startswith("I;16") or im.mode == "I":
        return True
    for tile in getattr(im, "tile", []) or []:
        args = tile.args if hasattr(tile, "args") else tile[3]
        raw = args[0] if isinstance(args, tuple) and args else args
        if isinstance(raw, str) and ";16" in raw:
            return True
    return False


def _decode_16bit_color(data: bytes) -> np.ndarray:
    """16-bit colour file -> uint8 RGB via OpenCV (which keeps all 16 bits), rounded."""
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if arr is None:
        raise DecodeError("decode_error", "OpenCV could not decode the 16-bit file")
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    arr = arr[..., :3][..., ::-1]  # BGR(A) -> RGB, alpha dropped
    return _to16_to_8(arr) if arr.dtype == np.uint16 else arr.astype(np.uint8)


def _pil_to_rgb(im: Image.Image) -> tuple[np.ndarray, list[str]]:
    """Loaded Pillow image -> (uint8 RGB array, conversions)."""
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im), []
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im)
        a8 = _to16_to_8(np.clip(a, 0, 65535)) if a.dtype != np.uint8 else a
        return np.repeat(a8[..., None], 3, axis=2), ["16bit->8bit", "gray->rgb"]
    names = {"L": ["gray->rgb"], "LA": ["gray->rgb", "alpha_dropped"], "RGBA": ["alpha_dropped"],
             "RGBa": ["alpha_dropped"], "P": ["palette->rgb"], "PA": ["palette->rgb", "alpha_dropped"],
             "CMYK": ["cmyk->rgb"], "YCbCr": ["ycbcr->rgb"], "1": ["bilevel->rgb"], "LAB": ["lab->rgb"],
             "HSV": ["hsv->rgb"]}
    if mode not in names:
        raise DecodeError("unsupported_mode", f"Pillow mode {mode!r}")
    conv = list(names[mode])
    if mode == "P" and "transparency" in im.info:
        conv.append("alpha_dropped")
    return np.asarray(im.convert("RGB")), conv


def decode_bytes(data: bytes, max_pixels: int) -> DecodedImage:
    """Decode file content to 8-bit RGB; raises DecodeError with a reason code."""
    if not data:
        raise DecodeError("empty_file", "zero bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as e:
        raise DecodeError("too_large", str(e)) from None
    except UnidentifiedImageError:
        raise DecodeError("not_an_image", "no image format recognised") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise DecodeError("decode_error", str(e)) from None
    w, h = im.size
    if w * h > max_pixels:
        raise DecodeError("too_large", f"{w}x{h} pixels exceeds max_pixels={max_pixels}")
    fmt = im.format or "unknown"
    sixteen = _is_16bit(im)  # before load(): loading clears the tile list
    try:
        im.load()
        # after load(): Pillow's PNG reader finds an eXIf chunk behind the pixel data
        orientation = int(im.getexif().get(EXIF_ORIENTATION_TAG, 1) or 1)
    except OSError as e:
        reason = "truncated" if "truncated" in str(e) else "decode_error"
        raise DecodeError(reason, str(e)) from None
    except (ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise DecodeError("decode_error", str(e)) from None
    if sixteen and im.mode not in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        rgb, conv = _decode_16bit_color(data), ["16bit->8bit"]
    else:
        rgb, conv = _pil_to_rgb(im)
    if orientation not in (1,) and 1 <= orientation <= 8:
        rgb = _orient(rgb, orientation)
        conv.append(f"exif_orientation={orientation}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise DecodeError("decode_error", f"unexpected decoded array {rgb.shape} {rgb.dtype}")
    return DecodedImage(rgb=np.ascontiguousarray(rgb), conversions=tuple(conv), format=fmt)


def read_error_reason(path: str | Path, e: OSError) -> str:
    """``symlink_loop`` (ELOOP), ``broken_symlink`` (a link to nothing) or ``read_error``."""
    if e.errno == errno.ELOOP:
        return "symlink_loop"
    if isinstance(e, FileNotFoundError) and os.path.islink(path):
        return "broken_symlink"
    return "read_error"


def decode_file(path: str | Path, max_pixels: int) -> DecodedImage:
    """Read and decode one file; an unreadable file raises DecodeError with the reason of
    :func:`read_error_reason`. A symlink to an image is followed."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise DecodeError(read_error_reason(path, e), str(e)) from None
    return decode_bytes(data, max_pixels)
