"""The one image loader shared by the GUI and the engine: what is shown is what is trained on.

Every image comes back as a :class:`LoadedImage` with

* ``data``: every channel at native depth, (H, W, C), read-only — what a model with a native
  channel description (:mod:`segstudio.core.channels`) is trained on;
* ``rgb``: the (H, W, 3) uint8 display composite — the image itself for 8-bit RGB, grey for one
  channel, percentile-stretched for 16-bit/float gray or RGB (all exactly as before), and for 2
  or 4+ channels the composite of :func:`segstudio.core.display.default_display` (computed on
  first use). RGB projects train on ``rgb``;
* ``raw`` / ``raw_value(x, y)``: the original values under the cursor (every channel).

TIFFs are read with tifffile (:mod:`segstudio.core.tiff_io`): planar or interleaved samples,
multi-page files, ImageJ hyperstacks and OME-TIFF, 8/16/32-bit integer and float. Channel-like
axes (C, samples, pages) become channels; **Z and T stacks are reduced to their first plane**
with a note in ``LoadedImage.notes`` (the trainer and ``segstudio predict`` print it). 8-bit RGBA
TIFFs drop their alpha like PNGs; any other extra sample is a channel. PNG, JPEG, WebP, BMP (and
palette/CMYK TIFFs) go through Pillow with EXIF orientation applied, as before. Every failure
raises :class:`ImageLoadError` naming the file; the decompression-bomb check runs on the header's
size before pixel data is decoded.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from segstudio.core.errors import ImageLoadError, ImageTooLargeError
from segstudio.core.tiff_io import is_tiff_bytes, is_tiff_path, read_tiff, read_tiff_layout

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
#: Images with more pixels than this are refused unless the caller passes a larger limit
#: (the GUI asks the user first). Twice Pillow's default warning threshold.
DEFAULT_MAX_PIXELS = 2 * 89_478_485

# We do our own bomb check (with a message naming the file), so Pillow's global one is off.
Image.MAX_IMAGE_PIXELS = None


class LoadedImage:
    """An image ready for display and training (see the module docstring for the fields).

    ``LoadedImage(path, rgb, raw, mode)`` (an 8-bit RGB array) still works: ``data`` is then ``rgb``.
    """

    __slots__ = ("path", "_rgb", "raw", "mode", "data", "notes", "channel_names", "channel_colors")

    def __init__(self, path: Path, rgb: np.ndarray | None = None, raw: np.ndarray | None = None, mode: str = "",
                 data: np.ndarray | None = None, notes: tuple[str, ...] = (),
                 channel_names: tuple[str, ...] | None = None, channel_colors: tuple[str, ...] | None = None) -> None:
        if data is None:
            if rgb is None:
                raise ValueError("LoadedImage needs rgb or data")
            data = rgb if rgb.ndim == 3 else rgb[:, :, None]
        if data.ndim != 3:
            raise ValueError(f"LoadedImage.data must be (H, W, C), got shape {data.shape}")
        self.path = Path(path)
        self._rgb = rgb
        self.data = data  # (H, W, C) native dtype, read-only
        self.raw = raw if raw is not None else (data[:, :, 0] if data.shape[2] == 1 else data)
        self.mode = mode  # source mode, e.g. "RGB", "I;16", "F", "tiff:CYX"
        self.notes = tuple(notes)  # e.g. "axes TZCYX ...: the first plane of Z=5 only"
        self.channel_names = channel_names  # from OME-XML, when the file names its channels
        self.channel_colors = channel_colors  # "#rrggbb" from ImageJ LUTs, when present

    @property
    def rgb(self) -> np.ndarray:
        """(H, W, 3) uint8 display composite (computed on first use for 2 or 4+ channels)."""
        if self._rgb is None:
            self._rgb = display_rgb(self.data)
        return self._rgb

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays decoded so far, each counted once (a composite not made yet is not made)."""
        seen: set[int] = set()
        total = 0
        for arr in (self._rgb, self.raw, self.data):
            if arr is not None and id(arr) not in seen:
                seen.add(id(arr))
                total += int(arr.nbytes)
        return total

    @property
    def channels(self) -> int:
        return int(self.data.shape[2])

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def planes(self) -> np.ndarray:
        """(C, H, W) view of ``data``."""
        return self.data.transpose(2, 0, 1)

    @property
    def height(self) -> int:
        return int(self.data.shape[0])

    @property
    def width(self) -> int:
        return int(self.data.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width)."""
        return (self.height, self.width)

    def raw_value(self, x: int, y: int) -> tuple[float, ...] | None:
        """Original pixel value(s) at column x, row y (one per channel), or None outside the image."""
        if not (0 <= y < self.raw.shape[0] and 0 <= x < self.raw.shape[1]):
            return None
        v = self.raw[y, x]
        return tuple(np.atleast_1d(v).tolist())

    def __repr__(self) -> str:
        return (f"LoadedImage({str(self.path)!r}, {self.height}x{self.width}, {self.channels} channel(s) "
                f"{self.data.dtype}, mode={self.mode!r})")


def display_rgb(data: np.ndarray) -> np.ndarray:
    """The default (H, W, 3) uint8 view of (H, W, C) data: as before for 1 and 3 channels, else a composite."""
    if data.shape[2] in (1, 3):
        return _to_rgb(data[:, :, 0] if data.shape[2] == 1 else data)
    from segstudio.core.display import composite, default_display

    return composite(data, default_display(data))


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


def _is_tiff(path: Path) -> bool:
    if is_tiff_path(path):
        return True
    try:
        with open(path, "rb") as fh:
            return is_tiff_bytes(fh.read(4))
    except OSError:
        return False


def _load_tiff(path: Path, max_pixels: int | None) -> LoadedImage | None:
    """A TIFF through tifffile; None when Pillow should read it (palette, CMYK, Lab pages)."""
    try:
        got = read_tiff(path, max_pixels, _check_pixels)
    except MemoryError as exc:
        raise ImageLoadError(path, "not enough memory to decode it") from exc
    if got is None:
        return None
    layout = got.layout
    rgb = got.data if (got.data.shape[2] == 3 and got.data.dtype == np.uint8) else None
    notes = (layout.note,) if layout.note else ()
    return LoadedImage(path, rgb, got.raw, f"tiff:{layout.axes}", got.data, notes, got.channel_names,
                       got.channel_colors)


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
    if _is_tiff(path):
        loaded = _load_tiff(path, max_pixels)
        if loaded is not None:
            return loaded
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                _check_pixels(path, img.width, img.height, max_pixels)
                img.load()
                img = ImageOps.exif_transpose(img)
                return _from_pil(path, img)
    except ImageLoadError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageLoadError(path, "not an image file, or an unsupported format") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = str(exc) or type(exc).__name__
        if "truncated" in reason.lower() or isinstance(exc, EOFError):
            reason = f"the file is truncated or damaged ({reason})"
        raise ImageLoadError(path, reason) from exc
    except MemoryError as exc:
        raise ImageLoadError(path, "not enough memory to decode it") from exc


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


def _from_pil(path: Path, img: Image.Image) -> LoadedImage:
    """Pillow image -> LoadedImage; ``data`` is what the model sees (alpha and palettes resolved)."""
    mode = img.mode
    if mode in ("RGB",):
        arr = np.asarray(img, dtype=np.uint8)
        return LoadedImage(path, arr, arr, mode, _readonly(arr))
    if mode in ("L", "1"):
        raw = np.asarray(img.convert("L"), dtype=np.uint8)
        return LoadedImage(path, _to_rgb(raw), raw, mode, _readonly(raw[:, :, None]))
    if mode.startswith("I;16") or mode in ("I", "F"):
        raw = np.asarray(img)
        if mode.startswith("I;16"):
            raw = raw.astype(np.uint16, copy=False)
        return LoadedImage(path, _to_rgb(raw), raw, mode, _readonly(raw[:, :, None]))
    if mode in ("LA", "La"):
        raw = np.asarray(img)
        gray = raw[:, :, 0]
        return LoadedImage(path, _to_rgb(gray), raw, mode, _readonly(gray[:, :, None]))
    if mode == "P":
        raw = np.asarray(img)  # palette indices are the "original values"
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
        return LoadedImage(path, rgb, raw, mode, _readonly(rgb))
    if mode in ("RGBA", "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "PA", "RGBa"):
        raw = np.asarray(img)
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
        return LoadedImage(path, rgb, raw, mode, _readonly(rgb))
    # Anything exotic: let Pillow convert it.
    rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return LoadedImage(path, rgb, rgb, mode, _readonly(rgb))


def read_image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) as displayed (EXIF/TIFF orientation applied), from the header only."""
    path = Path(path)
    if _is_tiff(path):
        try:
            layout = read_tiff_layout(path)
        except ImageLoadError:
            layout = None  # let Pillow try (and name the problem)
        if layout is not None:
            swap = layout.orientation in (5, 6, 7, 8)
            return (layout.height, layout.width) if swap else (layout.width, layout.height)
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
