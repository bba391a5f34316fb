"""TIFF files through tifffile: every channel at native depth, only the pages that are needed.

Layouts: single page gray/RGB, planar (C, Y, X) and interleaved (Y, X, C) samples, multi-page
files (each page a channel), ImageJ hyperstacks and OME-TIFF (series axes such as ``TZCYX``),
8/16/32-bit integer and 16/32/64-bit float.

Axes (tifffile's codes): ``Y`` and ``X`` are the image; ``C`` (channel), ``S`` (sample), ``I``/``Q``
(pages of unknown meaning) and ``E`` (wavelength) are **channels** (several such axes combine, in
file order); any other axis of length > 1 (``Z`` depth, ``T`` time, ...) is **reduced to its first
plane** and the image carries a note saying so (3-D and time-lapse training are not supported).
At most :data:`MAX_CHANNELS` channels; the decompression-bomb check uses the header's Y x X
before any pixel data is read. Files whose pages are colour photos in CMYK, Lab or a palette go
through Pillow instead (see :mod:`segstudio.core.image_io`).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from segstudio.core.errors import ImageLoadError

#: tifffile axis codes read as channels
CHANNEL_AXES = "CSIQE"
MAX_CHANNELS = 64
#: photometric interpretations left to Pillow (it converts them to RGB as before)
PILLOW_PHOTOMETRICS = frozenset({3, 5, 8, 9, 10, 32844, 32845})  # palette, CMYK, CIELab, ICCLab, ITULab, LogL, LogLuv
_ALPHA_EXTRASAMPLES = frozenset({1, 2})  # associated / unassociated alpha


@dataclass
class TiffLayout:
    """What the header says: which series, its axes, and the (H, W, C) image that will be read."""

    series: int
    axes: str
    shape: tuple[int, ...]
    height: int
    width: int
    channels: int
    dtype: np.dtype
    photometric: int
    drop_alpha: bool = False
    reduced: list[tuple[str, int]] = field(default_factory=list)  # (axis, length) taken at plane 0
    stacked_series: int = 0  # > 0: that many single-page series of one shape, read as channels
    orientation: int = 1

    @property
    def note(self) -> str | None:
        if not self.reduced:
            return None
        shown = ", ".join(f"{a}={n}" for a, n in self.reduced)
        return f"axes {self.axes} {self.shape}: showing and training on the first plane of {shown} only"


@dataclass
class TiffImage:
    data: np.ndarray  # (H, W, C) native dtype, EXIF/TIFF orientation applied
    raw: np.ndarray  # data, or (H, W) for one channel, or with the alpha that ``data`` drops
    layout: TiffLayout
    channel_names: tuple[str, ...] | None = None
    channel_colors: tuple[str, ...] | None = None


class _ThreadErrors(logging.Handler):
    """Collects tifffile's ERROR records of one thread (it logs damaged IFDs instead of raising)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


def _damaged(path: Path, errors: _ThreadErrors) -> None:
    if errors.messages:
        first = errors.messages[0].split("> ", 1)[-1][:160]
        raise ImageLoadError(path, f"the file is truncated or damaged ({first})")


def is_tiff_path(path: Path) -> bool:
    return path.suffix.lower() in (".tif", ".tiff")


def is_tiff_bytes(head: bytes) -> bool:
    return head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _page_axes_ok(axes: str) -> bool:
    return "Y" in axes and "X" in axes


def plan(tif, path: Path) -> TiffLayout:
    """The layout of the image a TiffFile holds (header only)."""
    series = tif.series
    if not series:
        raise ImageLoadError(path, "the TIFF holds no image")
    s0 = series[0]
    kf = s0.keyframe
    axes, shape = s0.axes, tuple(int(n) for n in s0.shape)
    stacked = 0
    if (len(series) > 1 and axes == "YX" and not (tif.is_imagej or tif.is_ome)
            and all(s.axes == "YX" and tuple(s.shape) == shape and s.dtype == s0.dtype for s in series)):
        stacked = len(series)  # tifffile writes each page of a multi-page file as its own series
        axes, shape = "IYX", (stacked,) + shape
    if not _page_axes_ok(axes):
        raise ImageLoadError(path, f"unsupported TIFF axes {axes} {shape}")
    channels, reduced = 1, []
    for a, n in zip(axes, shape):
        if a in "YX":
            continue
        if a in CHANNEL_AXES:
            channels *= n
        elif n > 1:
            reduced.append((a, n))
    photometric = int(getattr(kf, "photometric", 1))
    extras = tuple(int(e) for e in (getattr(kf, "extrasamples", ()) or ()))
    drop_alpha = (photometric == 2 and s0.dtype == np.uint8 and channels == 4
                  and bool(extras) and extras[-1] in _ALPHA_EXTRASAMPLES)
    if channels > MAX_CHANNELS:
        raise ImageLoadError(path, f"{channels} channels (axes {axes} {shape}); at most {MAX_CHANNELS} are supported")
    orientation = 1
    tag = kf.tags.get(274) if hasattr(kf, "tags") else None
    if tag is not None:
        try:
            orientation = int(tag.value)
        except (TypeError, ValueError):
            orientation = 1
    return TiffLayout(0, axes, shape, int(shape[axes.index("Y")]), int(shape[axes.index("X")]), channels,
                      np.dtype(s0.dtype), photometric, drop_alpha, reduced, stacked, orientation)


def _read_planes(tif, layout: TiffLayout) -> tuple[np.ndarray, str]:
    """The pixel array with its axes string, reading only the pages of the first Z/T plane."""
    if layout.stacked_series:
        return np.stack([s.asarray() for s in tif.series[: layout.stacked_series]]), "IYX"
    s0 = tif.series[layout.series]
    page_axes = s0.keyframe.axes
    axes, shape = layout.axes, layout.shape
    n_lead = len(axes) - len(page_axes)
    page_shape = tuple(int(n) for n in s0.keyframe.shape)
    if (n_lead > 0 and axes.endswith(page_axes) and shape[n_lead:] == page_shape
            and math.prod(shape[:n_lead]) == len(s0.pages)):
        lead_axes, lead_shape = axes[:n_lead], shape[:n_lead]
        ranges = [range(n) if a in CHANNEL_AXES else range(1) for a, n in zip(lead_axes, lead_shape)]
        keys = [int(np.ravel_multi_index(idx, lead_shape)) for idx in itertools.product(*ranges)]
        arr = tif.asarray(series=layout.series, key=keys if len(keys) > 1 else keys[0])
        arr = np.asarray(arr).reshape((len(keys),) + page_shape)
        return arr, "K" + page_axes
    return np.asarray(s0.asarray()), axes


def _to_hwc(arr: np.ndarray, axes: str) -> np.ndarray:
    """(H, W, C) view: Y, X first, channel-like axes merged in file order, other axes at plane 0."""
    index = tuple(slice(None) if (a in "YX" or a in CHANNEL_AXES + "K") else 0 for a in axes)
    arr = arr[index]
    kept = [a for a in axes if a in "YX" or a in CHANNEL_AXES + "K"]
    order = [kept.index("Y"), kept.index("X")] + [i for i, a in enumerate(kept) if a not in "YX"]
    arr = arr.transpose(order)
    return arr.reshape(arr.shape[0], arr.shape[1], -1)


def apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """TIFF/EXIF orientation 1-8 applied to an (H, W, ...) array (a view)."""
    if orientation == 2:
        return arr[:, ::-1]
    if orientation == 3:
        return arr[::-1, ::-1]
    if orientation == 4:
        return arr[::-1]
    if orientation == 5:
        return arr.swapaxes(0, 1)
    if orientation == 6:
        return arr.swapaxes(0, 1)[:, ::-1]
    if orientation == 7:
        return arr.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:
        return arr.swapaxes(0, 1)[::-1]
    return arr


def _channel_names(tif, channels: int) -> tuple[str, ...] | None:
    """Channel names from OME-XML, when there is one per channel."""
    if not tif.is_ome:
        return None
    try:
        import tifffile

        image = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]
        image = image[0] if isinstance(image, list) else image
        chans = image["Pixels"].get("Channel")
        chans = chans if isinstance(chans, list) else [chans]
        names = tuple(str(c.get("Name") or "").strip() for c in chans if isinstance(c, dict))
    except Exception:  # noqa: BLE001 - metadata is optional
        return None
    return names if len(names) == channels and all(names) else None


def _channel_colors(tif, channels: int) -> tuple[str, ...] | None:
    """Channel colours from ImageJ LUTs (the LUT's brightest entry), when there is one per channel."""
    if not tif.is_imagej:
        return None
    try:
        luts = (tif.imagej_metadata or {}).get("LUTs")
        if not luts or len(luts) != channels:
            return None
        cols = []
        for lut in luts:
            top = np.asarray(lut)[:, -1].astype(int)
            if top.max() > 255:
                top = top >> 8
            cols.append("#%02x%02x%02x" % tuple(int(v) for v in top[:3]))
        return tuple(cols)
    except Exception:  # noqa: BLE001
        return None


def open_tiff(path: Path):
    """A tifffile.TiffFile, or ImageLoadError naming the file."""
    import tifffile

    try:
        return tifffile.TiffFile(str(path))
    except (tifffile.TiffFileError, ValueError, OSError, EOFError, IndexError, KeyError, struct.error) as exc:
        raise ImageLoadError(path, f"not a readable TIFF ({str(exc)[:160] or type(exc).__name__})") from exc


@contextlib.contextmanager
def _tifffile_errors(path: Path) -> Iterator["_ThreadErrors"]:
    """Collect what tifffile logs while the block reads ``path``; a damaged file raises ImageLoadError after it."""
    errors = _ThreadErrors()
    logger = logging.getLogger("tifffile")
    logger.addHandler(errors)
    try:
        yield errors
    finally:
        logger.removeHandler(errors)
    _damaged(path, errors)


def read_tiff_layout(path: Path) -> TiffLayout:
    """The layout from the header only (no pixel data read)."""
    with _tifffile_errors(path), open_tiff(path) as tif:
        return plan(tif, path)


def read_tiff(path: Path, max_pixels: int | None, check_pixels) -> TiffImage | None:
    """The TIFF's pixels; None when its photometric interpretation is one for Pillow.

    ``check_pixels(path, width, height, max_pixels)`` runs on the header's size before any pixel is read.
    """
    with _tifffile_errors(path) as errors, open_tiff(path) as tif:
        layout = plan(tif, path)
        if layout.photometric in PILLOW_PHOTOMETRICS:
            return None
        check_pixels(path, layout.width, layout.height, max_pixels)
        _damaged(path, errors)
        try:
            arr, axes = _read_planes(tif, layout)
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - any decoder failure names the file
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            if "imagecodecs" in reason:
                reason = f"{reason} (pip install imagecodecs)"
            elif "read" in reason or "bytes" in reason or isinstance(exc, EOFError):
                reason = f"the file is truncated or damaged ({reason})"
            raise ImageLoadError(path, reason) from exc
        names = _channel_names(tif, layout.channels)
        colors = _channel_colors(tif, layout.channels)
    full = apply_orientation(_to_hwc(arr, axes), layout.orientation)
    data = full[:, :, :3] if layout.drop_alpha else full
    if data.dtype == bool:
        data = data.astype(np.uint8)
    if data.dtype.byteorder not in ("=", "|"):
        data = data.astype(data.dtype.newbyteorder("="))
    for a in (data, full):
        a.flags.writeable = False
    raw = full[:, :, 0] if full.shape[2] == 1 else full
    return TiffImage(data, raw, layout, names, colors)
