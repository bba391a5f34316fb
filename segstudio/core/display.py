"""The display composite of a C-channel image, Qt-free: colours, visibility, contrast limits, gamma.

Each visible channel maps its values through a look-up table to an RGB contribution
(``colour * clip((v - lo) / (hi - lo), 0, 1) ** gamma``); contributions add up and saturate at 255,
as in ImageJ's and napari's additive composites. Tables are built once per settings change
(256 entries for 8-bit, 65536 for 16-bit data, indexed by the raw values; 4096 levels of the
lo..hi range for float and 32-bit data), so re-rendering only the visible region of a huge image
after a contrast change costs one table look-up per channel and pixel, in row bands on a few
threads. :class:`Compositor` keeps its buffers between renders; :func:`composite` is the one-shot form.
Default settings of an 8-bit RGB image are the identity: its composite is the image.

A channel is drawn either as a linear ramp from black to its ``color`` or, when ``colormap`` names one of
:data:`COLORMAPS` (viridis, magma, ...), through that colour map (for single-channel images).
:func:`channel_histogram` gives the histogram the contrast controls draw over.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from segstudio.core.channels import default_color, robust_range, sample_plane
from segstudio.core.classes import parse_color

if TYPE_CHECKING:
    from segstudio.core.channels import ChannelSpec

Region = tuple[int, int, int, int]  # x0, y0, x1, y1 (end exclusive), clipped to the image
#: percentiles of the automatic contrast limits
AUTO_PERCENTILES = (0.5, 99.5)
#: levels of the lo..hi range a float / 32-bit channel is quantised to before its table
FLOAT_LEVELS = 4096
#: regions with at least this many pixels render in parallel row bands
PARALLEL_PIXELS = 200_000
_ALPHA = np.uint32(0xFF000000)
#: colour maps a channel can be shown with (besides the linear ramp to its colour), OpenCV's tables
COLORMAPS: dict[str, int] = {
    "viridis": cv2.COLORMAP_VIRIDIS, "magma": cv2.COLORMAP_MAGMA, "inferno": cv2.COLORMAP_INFERNO,
    "plasma": cv2.COLORMAP_PLASMA, "cividis": cv2.COLORMAP_CIVIDIS, "turbo": cv2.COLORMAP_TURBO,
    "hot": cv2.COLORMAP_HOT,
}
#: bins of :func:`channel_histogram`
HISTOGRAM_BINS = 256


@dataclass(frozen=True)
class ChannelDisplay:
    """How one channel is shown."""

    color: str = "#ffffff"
    visible: bool = True
    lo: float = 0.0
    hi: float = 255.0
    gamma: float = 1.0
    colormap: str = ""  # "" = linear ramp to ``color``; else a key of COLORMAPS

    @property
    def rgb(self) -> tuple[int, int, int]:
        return parse_color(self.color)


@dataclass(frozen=True)
class DisplaySettings:
    """Display settings of every channel of an image (hashable: tables are cached per value)."""

    channels: tuple[ChannelDisplay, ...]

    def with_channel(self, index: int, **changes: Any) -> "DisplaySettings":
        """A copy with channel ``index`` changed, e.g. ``with_channel(3, lo=100, hi=4000)``."""
        chans = list(self.channels)
        chans[index] = replace(chans[index], **changes)
        return DisplaySettings(tuple(chans))

    def solo(self, index: int) -> "DisplaySettings":
        """Single-channel view: only channel ``index``, in gray, with its contrast limits."""
        return DisplaySettings(tuple(replace(c, visible=i == index, color="#ffffff" if i == index else c.color)
                                     for i, c in enumerate(self.channels)))

    @property
    def visible(self) -> list[int]:
        return [i for i, c in enumerate(self.channels) if c.visible]

    def is_identity_rgb(self, dtype: np.dtype) -> bool:
        """True when these settings show 8-bit RGB data exactly as it is (the canvas then draws it directly)."""
        return (np.dtype(dtype) == np.uint8 and len(self.channels) == 3
                and all(c == ChannelDisplay(col, True, 0.0, 255.0)
                        for c, col in zip(self.channels, ("#ff0000", "#00ff00", "#0000ff"))))


@dataclass(frozen=True)
class Histogram:
    """Counts of one channel's values (of a strided sample) in ``HISTOGRAM_BINS`` bins from ``lo`` to ``hi``."""

    counts: np.ndarray
    lo: float
    hi: float

    def value_at(self, fraction: float) -> float:
        """The value at ``fraction`` (0..1) of the histogram's range."""
        return self.lo + (self.hi - self.lo) * float(fraction)


def channel_histogram(data: np.ndarray, channel: int | None, bins: int = HISTOGRAM_BINS) -> Histogram:
    """Histogram of one channel of (H, W, C) ``data`` (None: all channels pooled) over its sampled min..max
    (the dtype's range for 8-bit)."""
    sample = sample_plane(data if channel is None else data[:, :, channel])
    if sample.size == 0:
        return Histogram(np.zeros(bins, np.int64), 0.0, 1.0)
    if data.dtype == np.uint8:
        lo, hi = 0.0, 255.0
    else:
        lo, hi = float(sample.min()), float(sample.max())
    if hi <= lo:
        hi = lo + 1.0
    counts, _ = np.histogram(sample, bins=bins, range=(lo, hi))
    return Histogram(counts, lo, hi)


def auto_limits(data: np.ndarray, channel: int, low: float = AUTO_PERCENTILES[0],
                high: float = AUTO_PERCENTILES[1]) -> tuple[float, float]:
    """Contrast limits of one channel of (H, W, C) ``data`` from percentiles (of a strided sample)."""
    return robust_range(data[:, :, channel], low, high)


def default_display(data: np.ndarray, spec: "ChannelSpec | None" = None) -> DisplaySettings:
    """Identity for 8-bit RGB/gray; otherwise the spec's (or ImageJ's) colours with automatic limits."""
    c = data.shape[2]
    if data.dtype == np.uint8 and c == 3 and (spec is None or spec.is_rgb):
        return DisplaySettings(tuple(ChannelDisplay(col, True, 0.0, 255.0) for col in ("#ff0000", "#00ff00", "#0000ff")))
    if data.dtype == np.uint8 and c == 1:
        return DisplaySettings((ChannelDisplay("#ffffff", True, 0.0, 255.0),))
    if c == 3 and (spec is None or spec.is_rgb):  # deep RGB: one range for all three keeps the colour balance
        lo, hi = robust_range(data, *AUTO_PERCENTILES)
        return DisplaySettings(tuple(ChannelDisplay(col, True, lo, hi) for col in ("#ff0000", "#00ff00", "#0000ff")))
    colors = spec.colors if spec is not None and not spec.is_rgb and spec.count == c else \
        [default_color(i, c) for i in range(c)]
    return DisplaySettings(tuple(ChannelDisplay(colors[i], True, *auto_limits(data, i)) for i in range(c)))


# ---------------------------------------------------------------------- tables
def _table_kind(dtype: np.dtype) -> str:
    if dtype == np.uint8 or dtype == bool:
        return "u8"
    if dtype == np.int8:
        return "i8"
    if dtype == np.uint16:
        return "u16"
    if dtype == np.int16:
        return "i16"
    return "float"


@lru_cache(maxsize=None)
def _table_values(kind: str) -> np.ndarray:
    """The raw value each table entry stands for (float: the fraction of lo..hi), float32."""
    if kind == "u8":
        values = np.arange(256, dtype=np.float32)
    elif kind == "i8":
        values = np.arange(256, dtype=np.uint16).astype(np.uint8).view(np.int8).astype(np.float32)
    elif kind == "u16":
        values = np.arange(65536, dtype=np.float32)
    elif kind == "i16":
        values = np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.float32)
    else:
        values = np.linspace(0.0, 1.0, FLOAT_LEVELS, dtype=np.float32)
    values.flags.writeable = False
    return values


def channel_table(kind: str, ch: ChannelDisplay) -> np.ndarray:
    """Packed RGBX (uint32, little-endian R in the low byte) contribution of every table entry."""
    values = _table_values(kind)
    lo, hi = (0.0, 1.0) if kind == "float" else (float(ch.lo), float(ch.hi))
    if hi > lo:
        f = np.clip((values - np.float32(lo)) * np.float32(1.0 / (hi - lo)), 0.0, 1.0)
    else:
        f = (values >= hi).astype(np.float32)
    if ch.gamma != 1.0:
        f = f ** np.float32(max(1e-3, float(ch.gamma)))
    if ch.colormap:
        rgb = colormap_rgb(ch.colormap)[np.rint(f * np.float32(255)).astype(np.intp)].astype(np.uint32)
        return rgb[:, 0] | (rgb[:, 1] << np.uint32(8)) | (rgb[:, 2] << np.uint32(16)) | _ALPHA
    r, g, b = ch.rgb
    packed = np.rint(f * np.float32(r)).astype(np.uint32)
    packed |= np.rint(f * np.float32(g)).astype(np.uint32) << np.uint32(8)
    packed |= np.rint(f * np.float32(b)).astype(np.uint32) << np.uint32(16)
    return packed | _ALPHA


@lru_cache(maxsize=None)
def colormap_rgb(name: str) -> np.ndarray:
    """(256, 3) uint8 RGB of a colour map in :data:`COLORMAPS`; ValueError names an unknown one."""
    if name not in COLORMAPS:
        raise ValueError(f"unknown colour map {name!r}; expected one of {', '.join(COLORMAPS)}")
    ramp = np.arange(256, dtype=np.uint8).reshape(256, 1)
    out = np.ascontiguousarray(cv2.applyColorMap(ramp, COLORMAPS[name])[:, 0, ::-1])
    out.flags.writeable = False
    return out


@lru_cache(maxsize=64)
def _table(kind: str, ch: ChannelDisplay) -> np.ndarray:
    return channel_table(kind, ch)


def _tables(kind: str, settings: DisplaySettings) -> list[tuple[int, np.ndarray]]:
    """(channel, table) of the visible channels; each table is cached by its channel's settings."""
    return [(i, _table(kind, c)) for i, c in enumerate(settings.channels) if c.visible]


def _indices(plane: np.ndarray, kind: str, ch: ChannelDisplay) -> np.ndarray:
    """Table indices of a plane (a view for 8/16-bit data)."""
    if kind in ("u8", "u16"):
        return plane
    if kind == "i8":
        return plane.view(np.uint8)
    if kind == "i16":
        return plane.view(np.uint16)
    lo, hi = float(ch.lo), float(ch.hi)
    scale = (FLOAT_LEVELS - 1) / (hi - lo) if hi > lo else 0.0
    v = (plane.astype(np.float32) - np.float32(lo)) * np.float32(scale)
    v = np.nan_to_num(v, nan=0.0, posinf=FLOAT_LEVELS - 1, neginf=0.0)
    if hi <= lo:
        v = np.where(plane >= hi, FLOAT_LEVELS - 1, 0)
    return np.clip(v + 0.5, 0, FLOAT_LEVELS - 1).astype(np.uint16)


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                       thread_name_prefix="segstudio-composite")
        return _POOL


def clip_region(region: Region | None, width: int, height: int) -> Region:
    """``region`` clipped to the image (None = the whole image)."""
    if region is None:
        return (0, 0, width, height)
    x0, y0, x1, y1 = (int(v) for v in region)
    x0, x1 = max(0, min(x0, width)), max(0, min(x1, width))
    y0, y1 = max(0, min(y0, height)), max(0, min(y1, height))
    return (x0, y0, max(x0, x1), max(y0, y1))


class Compositor:
    """Renders regions of one (H, W, C) image; tables are rebuilt only when the settings change."""

    def __init__(self, data: np.ndarray, settings: DisplaySettings | None = None) -> None:
        if data.ndim != 3:
            raise ValueError(f"expected (H, W, C) data, got shape {data.shape}")
        self.data = data
        self.kind = _table_kind(data.dtype)
        self.settings = settings or default_display(data)
        self._acc = np.empty(0, np.uint32)
        self._tmp = np.empty(0, np.uint32)

    def set_settings(self, settings: DisplaySettings) -> None:
        if len(settings.channels) != self.data.shape[2]:
            raise ValueError(f"{len(settings.channels)} channel settings for {self.data.shape[2]} channels")
        self.settings = settings

    def _buffers(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self._acc.size < n:
            self._acc = np.empty(n, np.uint32)
            self._tmp = np.empty(n, np.uint32)
        return self._acc[:n], self._tmp[:n]

    def render_rgbx(self, region: Region | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """(h, w, 4) uint8 RGBX (X = 255) of ``region`` (x0, y0, x1, y1); ready for an RGBX8888 image."""
        x0, y0, x1, y1 = clip_region(region, self.data.shape[1], self.data.shape[0])
        h, w = y1 - y0, x1 - x0
        if out is None:
            out = np.empty((h, w, 4), np.uint8)
        self._render(x0, y0, x1, y1, out.view(np.uint32).reshape(h, w))
        return out

    def render(self, region: Region | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """(h, w, 3) uint8 RGB of ``region`` (x0, y0, x1, y1), end exclusive; None = the whole image."""
        x0, y0, x1, y1 = clip_region(region, self.data.shape[1], self.data.shape[0])
        h, w = y1 - y0, x1 - x0
        if out is None:
            out = np.empty((h, w, 3), np.uint8)
        if h == 0 or w == 0:
            return out
        acc, _ = self._buffers(h * w)
        acc = acc.reshape(h, w)
        self._render(x0, y0, x1, y1, acc, out)
        return out

    def _render(self, x0: int, y0: int, x1: int, y1: int, acc: np.ndarray, rgb: np.ndarray | None = None) -> None:
        h, w = y1 - y0, x1 - x0
        if h == 0 or w == 0:
            return
        tables = _tables(self.kind, self.settings)
        _, tmp = self._buffers(h * w)
        tmp = tmp.reshape(h, w)
        workers = _pool()._max_workers if h * w >= PARALLEL_PIXELS and h >= 8 else 1
        cuts = np.linspace(0, h, workers + 1).astype(int)
        bands = [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]

        def band(r0: int, r1: int) -> None:
            a, t = acc[r0:r1], tmp[r0:r1]
            if not tables:
                a.fill(_ALPHA)
            for k, (c, table) in enumerate(tables):
                idx = _indices(self.data[y0 + r0:y0 + r1, x0:x1, c], self.kind, self.settings.channels[c])
                if k == 0:
                    np.take(table, idx, out=a, mode="clip")  # "clip": no error buffering, 2x faster
                else:
                    np.take(table, idx, out=t, mode="clip")
                    a8, t8 = a.view(np.uint8).reshape(r1 - r0, w * 4), t.view(np.uint8).reshape(r1 - r0, w * 4)
                    cv2.add(a8, t8, dst=a8)  # saturating
            if rgb is not None:
                cv2.cvtColor(a.view(np.uint8).reshape(r1 - r0, w, 4), cv2.COLOR_RGBA2RGB, dst=rgb[r0:r1])

        if len(bands) == 1:
            band(*bands[0])
        else:
            for f in [_pool().submit(band, r0, r1) for r0, r1 in bands]:
                f.result()


def composite(data: np.ndarray, settings: DisplaySettings | None = None, region: Region | None = None) -> np.ndarray:
    """(h, w, 3) uint8 composite of ``region`` (x0, y0, x1, y1) of (H, W, C) ``data`` (None = everything)."""
    return Compositor(data, settings).render(region)
