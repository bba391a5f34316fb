"""The one image loader shared by the GUI and the engine: what is shown is what is trained on.

EXIF orientation is applied; 1/L/LA/P/RGB/RGBA/CMYK/I;16/I/F images and 16-bit or float TIFFs
become RGB uint8 (percentile normalisation for 16-bit and float data) while the original values
are kept in ``LoadedImage.raw`` for the status bar. Every failure raises :class:`ImageLoadError`
naming the file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from segstudio.core.errors import ImageLoadError, ImageTooLargeError

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
#: Images with more pixels than this are refused unless the caller passes a larger limit
#: (the GUI asks the user first). Twice Pillow's default warning threshold.
DEFAULT_MAX_PIXELS = 2 * 89_478_485

# We do our own bomb check (with a message naming the file), so Pillow's global one is off.
Image.MAX_IMAGE_PIXELS = None


@dataclass
class LoadedImage:
    """An image ready for display and training."""

    path: Path
    rgb: np.ndarray  # (H, W, 3) uint8, EXIF orientation applied
    raw: np.ndarray  # original values, same orientation: (H, W) or (H, W, C), original dtype
    mode: str  # source mode, e.g. "RGB", "I;16", "F", "CMYK"

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width)."""
        return (self.height, self.width)

    def raw_value(self, x: int, y: int) -> tuple[float, ...] | None:
        """Original pixel value(s) at column x, row y, or None outside the image."""
        if not (0 <= y < self.raw.shape[0] and 0 <= x < self.raw.shape[1]):
            return None
        v = self.raw[y, x]
        return tuple(np.atleast_1d(v).tolist())


def is_image_file(path: str | Path) -> bool:
    """True for a file name with a supported image extension."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def normalize_to_uint8(values: np.ndarray, low_pct: float = 0.5, high_pct: float = 99.5) -> np.ndarray:
    """Scale 16-bit / float data to uint8 between two percentiles (NaN and inf become 0)."""
    data = np.asarray(values, dtype=np.float32)
    finite = np.isfinite(data)
    if not finite.any():
        return np.zeros(data.shape, np.uint8)
    sample = data[finite]
    if sample.size > 1_000_000:  # percentiles of a strided sample are plenty
        sample = sample[:: sample.size // 1_000_000]
    lo, hi = np.percentile(sample, [low_pct, high_pct])
    if hi <= lo:
        hi = lo + 1.0
    out = (np.where(finite, data, lo) - lo) * (255.0 / (hi - lo))
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _to_rgb(arr: np.ndarray) -> np.ndarray:
    """Any (H,W), (H,W,1..4) array of any dtype -> (H,W,3) uint8."""
    if arr.dtype != np.uint8:
        arr = normalize_to_uint8(arr) if arr.dtype != bool else arr.astype(np.uint8) * 255
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    channels = arr.shape[2]
    if channels == 1:
        return np.repeat(arr, 3, axis=2)
    if channels == 2:  # gray + alpha
        return np.repeat(arr[:, :, :1], 3, axis=2)
    return np.ascontiguousarray(arr[:, :, :3])


def _check_pixels(path: Path, width: int, height: int, max_pixels: int | None) -> None:
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLargeError(path, width * height, max_pixels)


def _load_with_opencv(path: Path, max_pixels: int | None) -> LoadedImage:
    """Fallback for TIFFs Pillow cannot decode (16-bit RGB, float multi-channel)."""
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH)
    if arr is None:
        raise ImageLoadError(path, "unsupported or damaged file")
    _check_pixels(path, arr.shape[1], arr.shape[0], max_pixels)
    if arr.ndim == 3 and arr.shape[2] >= 3:
        arr = arr[:, :, [2, 1, 0] + list(range(3, arr.shape[2]))]  # BGR(A) -> RGB(A)
    return LoadedImage(path=path, rgb=_to_rgb(arr), raw=arr, mode=f"cv2:{arr.dtype}")


def load_image(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Read an image file; raise :class:`ImageLoadError` naming the file on any problem.

    ``max_pixels=None`` disables the decompression-bomb check (after the user agreed).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageLoadError(path, exc.strerror or "cannot open file") from exc
    if size == 0:
        raise ImageLoadError(path, "the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                _check_pixels(path, img.width, img.height, max_pixels)
                if _is_deep_multichannel_tiff(img):
                    return _load_with_opencv(path, max_pixels)
                img.load()
                img = ImageOps.exif_transpose(img)
                return _from_pil(path, img)
    except ImageLoadError:
        raise
    except UnidentifiedImageError as exc:
        if path.suffix.lower() in (".tif", ".tiff"):
            return _load_with_opencv(path, max_pixels)
        raise ImageLoadError(path, "not an image file, or an unsupported format") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        if path.suffix.lower() in (".tif", ".tiff"):
            try:
                return _load_with_opencv(path, max_pixels)
            except ImageLoadError:
                pass
        reason = str(exc) or type(exc).__name__
        if "truncated" in reason.lower() or isinstance(exc, EOFError):
            reason = f"the file is truncated or damaged ({reason})"
        raise ImageLoadError(path, reason) from exc
    except MemoryError as exc:
        raise ImageLoadError(path, "not enough memory to decode it") from exc


def _is_deep_multichannel_tiff(img: Image.Image) -> bool:
    """Pillow reads 16-bit/float RGB TIFFs as 8-bit RGB, losing data; OpenCV reads them right."""
    if img.format != "TIFF" or img.mode.startswith("I") or img.mode == "F":
        return False
    bits = getattr(img, "tag_v2", {}).get(258, (8,))
    bits = bits if isinstance(bits, tuple) else (bits,)
    return any(int(b) > 8 for b in bits)


def _from_pil(path: Path, img: Image.Image) -> LoadedImage:
    mode = img.mode
    if mode in ("RGB",):
        arr = np.asarray(img, dtype=np.uint8)
        return LoadedImage(path, np.ascontiguousarray(arr), arr, mode)
    if mode in ("L", "1"):
        raw = np.asarray(img.convert("L"), dtype=np.uint8)
        return LoadedImage(path, _to_rgb(raw), raw, mode)
    if mode.startswith("I;16") or mode in ("I", "F"):
        raw = np.asarray(img)
        if mode.startswith("I;16"):
            raw = raw.astype(np.uint16, copy=False)
        return LoadedImage(path, _to_rgb(raw), raw, mode)
    if mode == "P":
        raw = np.asarray(img)  # palette indices are the "original values"
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
        return LoadedImage(path, rgb, raw, mode)
    if mode in ("RGBA", "LA", "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "PA", "La", "RGBa"):
        raw = np.asarray(img)
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
        return LoadedImage(path, rgb, raw, mode)
    # Anything exotic: let Pillow convert it.
    rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return LoadedImage(path, rgb, rgb, mode)


def read_image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) as displayed (EXIF rotation applied), from the header only."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            width, height = img.size
            orientation = 1
            # Only formats that carry EXIF in the header: Pillow decodes a whole PNG to find its eXIf chunk.
            if img.format in ("JPEG", "MPO", "TIFF", "WEBP"):
                try:
                    orientation = img.getexif().get(0x0112, 1)
                except Exception:  # noqa: BLE001 - broken EXIF is not fatal for a size query
                    orientation = 1
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(path, str(exc) or "not an image file") from exc
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return width, height
