"""Reading and writing label masks.

segstudio masks are single-channel 8-bit P-mode PNGs whose pixel value is the class id and whose
palette holds the class colours; 255 means unlabeled. Masks written by other tools (L-mode,
binary 0/255, 16-bit label images) are read through an explicit value-to-class mapping, so a 255
that means "foreground" elsewhere is never taken for "unlabeled".
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from segstudio.core.atomic import atomic_write_bytes
from segstudio.core.classes import IGNORE_INDEX, build_palette
from segstudio.core.errors import MaskError, MaskNeedsMappingError

ValueMap = dict[int, int]
#: PNG text chunk that marks a mask written by segstudio (its pixel values are class ids).
MASK_MARKER = ("segstudio", "mask")


def parse_value_map(text: str) -> ValueMap:
    """'0:0,255:1' -> {0: 0, 255: 1}; ValueError names the bad entry."""
    mapping: ValueMap = {}
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            src, dst = part.split(":")
            mapping[int(src)] = int(dst)
        except ValueError:
            raise ValueError(f"invalid mapping entry {part!r}: expected VALUE:CLASS, e.g. 255:1") from None
        if not 0 <= mapping[int(src)] <= 255:
            raise ValueError(f"invalid class {dst!r} in mapping entry {part!r}: must be 0-255")
    if not mapping:
        raise ValueError(f"empty value-to-class mapping {text!r}")
    return mapping


def apply_value_map(values: np.ndarray, mapping: ValueMap, default: int = IGNORE_INDEX) -> np.ndarray:
    """Map raw label values to class ids; values not in ``mapping`` become ``default``."""
    values = np.asarray(values)
    if values.dtype == np.uint8:
        lut = np.full(256, default, np.uint8)
        for k, v in mapping.items():
            if 0 <= k <= 255:
                lut[k] = v
        return lut[values]
    out = np.full(values.shape, default, np.uint8)
    for k, v in mapping.items():
        out[values == k] = v
    return out


def is_segstudio_mask(img: Image.Image) -> bool:
    """True for a P-mode image that segstudio wrote (it carries :data:`MASK_MARKER`)."""
    return img.mode == "P" and img.info.get(MASK_MARKER[0]) == MASK_MARKER[1]


def read_mask(
    path: str | Path,
    expected_shape: tuple[int, int] | None = None,
    value_map: ValueMap | None = None,
    num_classes: int | None = None,
    own: bool = False,
) -> np.ndarray:
    """Read a mask as (H, W) uint8 class ids (255 = unlabeled).

    P-mode PNGs are segstudio masks and are read as they are: ``value_map`` is for foreign masks
    only and never applies to a P-mode mask segstudio wrote, nor to any P-mode mask when ``own``
    (a project's own masks/ folder). Other modes need ``value_map`` unless every value is a valid
    class id below ``num_classes`` (never 255), else :class:`MaskNeedsMappingError`.
    ``expected_shape`` (H, W) is checked; a mismatch raises :class:`MaskError` naming both sizes.
    """
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode == "P" and (value_map is None or own or is_segstudio_mask(img)):
                mask = np.array(img, dtype=np.uint8)
            else:
                raw = np.asarray(img)
                if raw.ndim == 3:  # RGB(A) label images: not supported without a palette
                    raise MaskError(path, f"a {mode} colour image is not a label mask; save it as a palette (P) or grayscale PNG")
                if value_map is not None:
                    mask = apply_value_map(raw, value_map)
                else:
                    values = np.unique(raw)
                    ok = num_classes is not None and values.size and int(values.max()) < min(num_classes, IGNORE_INDEX)
                    if not ok:
                        raise MaskNeedsMappingError(path, [int(v) for v in values])
                    mask = raw.astype(np.uint8)
    except MaskError:
        raise
    except Image.DecompressionBombError as exc:
        raise MaskError(path, f"too large to be a mask ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError, MemoryError, EOFError) as exc:
        raise MaskError(path, f"cannot read it ({str(exc)[:200] or type(exc).__name__})") from None
    if expected_shape is not None and tuple(mask.shape[:2]) != tuple(expected_shape):
        h, w = expected_shape
        raise MaskError(path, f"its size {mask.shape[1]}x{mask.shape[0]} differs from the image's {w}x{h}")
    return mask


def encode_mask_png(mask: np.ndarray, colors: list[tuple[int, int, int]]) -> bytes:
    """PNG bytes of a P-mode mask with the class palette."""
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.dtype != np.uint8:
        raise ValueError(f"a mask must be a 2-D uint8 array, got shape {mask.shape} dtype {mask.dtype}")
    img = Image.fromarray(mask, mode="P")
    img.putpalette(build_palette(colors))
    info = PngImagePlugin.PngInfo()
    info.add_text(*MASK_MARKER)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=1, pnginfo=info)
    return buf.getvalue()


def write_mask(path: str | Path, mask: np.ndarray, colors: list[tuple[int, int, int]]) -> Path:
    """Atomically write a P-mode PNG mask; raises SaveError naming the file on failure."""
    data = encode_mask_png(mask, colors)
    return atomic_write_bytes(path, data)
