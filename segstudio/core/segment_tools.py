"""Qt-free pixel logic of the region tools: the magic wand's region (with a preview that stays cheap on big
images), the connected component of a prediction under a click, and GrabCut inside a box.

A result is a :class:`RegionMask`: a bool array over its bounding rect in image pixels. It is shown as a
preview and written with :func:`write_region`, which goes through :meth:`MaskDocument.writable` /
:meth:`MaskDocument.changed`, so locked classes and "only unlabeled" apply as for every other tool.

Images are read through a *reader* ``read(rect) -> (h, w, C) array`` so a tool never composites a whole
multi-channel image: :func:`composite_reader` renders only the crop asked for, as the canvas shows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import cv2
import numpy as np

from segstudio.core.mask_document import MaskDocument, Rect

if TYPE_CHECKING:
    from segstudio.core.display import DisplaySettings

#: a function returning the pixels of ``rect`` (x0, y0, x1, y1) of an image, (h, w) or (h, w, C)
Reader = Callable[[Rect], np.ndarray]
#: the first window a flood looks at, in pixels each side of the seed; doubled while the region touches it
FLOOD_START = 256
#: GrabCut runs on at most this many pixels per side (a larger box is scaled down, its result scaled up)
GRABCUT_MAX_SIDE = 640
#: what GrabCut sees around the box: this fraction of the box's size on each side (at least GRABCUT_MIN_MARGIN)
GRABCUT_MARGIN, GRABCUT_MIN_MARGIN = 0.25, 12


@dataclass(frozen=True)
class RegionMask:
    """``mask`` (bool, (y1 - y0, x1 - x0)) over ``rect`` = (x0, y0, x1, y1) of the image."""

    mask: np.ndarray
    rect: Rect

    @property
    def area(self) -> int:
        return int(np.count_nonzero(self.mask))

    def full(self, shape: tuple[int, int]) -> np.ndarray:
        """The region as a bool array of the whole image (tests)."""
        out = np.zeros(shape, bool)
        x0, y0, x1, y1 = self.rect
        out[y0:y1, x0:x1] = self.mask
        return out

    def outline(self) -> list[np.ndarray]:
        """Closed outlines, each an (N, 2) float array of image coordinates through boundary pixel centres."""
        contours, _ = cv2.findContours(self.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        x0, y0 = self.rect[0], self.rect[1]
        return [c.reshape(-1, 2).astype(np.float64) + (x0 + 0.5, y0 + 0.5) for c in contours if len(c) >= 1]


def _tight(mask: np.ndarray, rect: Rect) -> RegionMask | None:
    """The region cut to its own bounding box (None when empty)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return RegionMask(np.ascontiguousarray(mask[y0:y1, x0:x1]), (rect[0] + x0, rect[1] + y0, rect[0] + x1, rect[1] + y1))


def composite_reader(data: np.ndarray, settings: DisplaySettings | None) -> Reader:
    """Read crops of (H, W, C) ``data`` as the canvas shows them: 8-bit RGB as it is, anything else through its
    display settings (only the crop is rendered; automatic settings when ``settings`` is None)."""
    if settings is not None and settings.is_identity_rgb(data.dtype):
        return lambda r: data[r[1]:r[3], r[0]:r[2]]
    from segstudio.core.display import Compositor, default_display

    compositor = Compositor(data, settings or default_display(data))
    return lambda r: compositor.render(r)


def array_reader(array: np.ndarray) -> Reader:
    """Read crops of an in-memory (H, W[, C]) array."""
    return lambda r: array[r[1]:r[3], r[0]:r[2]]


def _flood_window(pixels: np.ndarray, sx: int, sy: int, tol: int, connectivity: int) -> np.ndarray:
    """Bool mask of the pixels of ``pixels`` connected to (sx, sy) whose every channel is within ``tol`` of it."""
    img = np.ascontiguousarray(pixels)
    if not img.flags.writeable:  # decoded files are read-only; OpenCV refuses those even with MASK_ONLY
        img = img.copy()
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    h, w = img.shape[:2]
    flood = np.zeros((h + 2, w + 2), np.uint8)
    channels = 1 if img.ndim == 2 else img.shape[2]
    diff = (tol,) * channels if channels > 1 else tol
    flags = connectivity | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    cv2.floodFill(img, flood, (int(sx), int(sy)), 0, diff, diff, flags)
    return flood[1:-1, 1:-1].view(bool)  # 0 / 1


def flood_region(read: Reader, width: int, height: int, x: float, y: float, tolerance: int,
                 connectivity: int = 4, start: int = FLOOD_START, limit: int | None = None) -> RegionMask | None:
    """The pixels connected to (x, y) within ``tolerance`` of it (every channel), read through ``read``.

    Starts on a window of ``start`` pixels around the seed and doubles it while the region reaches a window
    edge that is not the image's, so a small region costs a small window on any image. ``limit`` caps the
    window's half size (a preview); None grows it up to the whole image (exact). None outside the image."""
    ix, iy = int(math.floor(x)), int(math.floor(y))
    if not (0 <= ix < width and 0 <= iy < height):
        return None
    tol = max(0, min(255, int(tolerance)))
    half = max(1, int(start))
    while True:
        rect = (max(0, ix - half), max(0, iy - half), min(width, ix + half + 1), min(height, iy + half + 1))
        region = _flood_window(read(rect), ix - rect[0], iy - rect[1], tol, connectivity)
        touches = ((rect[0] > 0 and region[:, 0].any()) or (rect[1] > 0 and region[0].any())
                   or (rect[2] < width and region[:, -1].any()) or (rect[3] < height and region[-1].any()))
        whole = rect == (0, 0, width, height)
        if not touches or whole or (limit is not None and half >= limit):
            return _tight(region, rect)
        half *= 2
        if limit is not None:
            half = min(half, int(limit))


def predicted_component(prediction: np.ndarray, x: float, y: float, ignore: int = 255,
                        connectivity: int = 4) -> tuple[RegionMask, int] | None:
    """The 4-connected region of equal predicted class under (x, y) and that class; None outside the image or
    where nothing is predicted (``ignore``)."""
    h, w = prediction.shape[:2]
    ix, iy = int(math.floor(x)), int(math.floor(y))
    if not (0 <= ix < w and 0 <= iy < h) or int(prediction[iy, ix]) == ignore:
        return None
    region = flood_region(array_reader(prediction), w, h, x, y, 0, connectivity)
    return None if region is None else (region, int(prediction[iy, ix]))


def grabcut_crop(box: Rect, width: int, height: int) -> Rect:
    """The part of the image GrabCut looks at for ``box``: the box and a margin around it, clipped."""
    x0, y0, x1, y1 = box
    m = max(GRABCUT_MIN_MARGIN, int(GRABCUT_MARGIN * max(x1 - x0, y1 - y0)))
    return (max(0, x0 - m), max(0, y0 - m), min(width, x1 + m), min(height, y1 + m))


def grabcut_box(read: Reader, width: int, height: int, box: Rect, prior: np.ndarray | None = None,
                iterations: int = 4, max_side: int = GRABCUT_MAX_SIDE) -> RegionMask | None:
    """Segment the object in ``box`` (x0, y0, x1, y1) with OpenCV's GrabCut on the crop :func:`grabcut_crop`.

    ``prior``: optional bool array over that crop, True where a model predicts the object; inside the box it
    initialises GrabCut's mask as probable foreground / background (otherwise the box itself does). The crop
    is scaled down to ``max_side`` pixels, so the time is bounded on any image. Only pixels inside the box can
    be in the result. None for a box too small or a crop without an object."""
    bx0, by0 = max(0, int(box[0])), max(0, int(box[1]))
    bx1, by1 = min(width, int(box[2])), min(height, int(box[3]))
    if bx1 - bx0 < 2 or by1 - by0 < 2:
        return None
    crop = grabcut_crop((bx0, by0, bx1, by1), width, height)
    pixels = np.asarray(read(crop))
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.shape[2] != 3:
        pixels = np.repeat(pixels[:, :, :1], 3, axis=2)
    rgb = np.ascontiguousarray(pixels, dtype=np.uint8)
    ch, cw = rgb.shape[:2]
    scale = min(1.0, max_side / max(ch, cw))
    sw, sh = max(1, round(cw * scale)), max(1, round(ch * scale))
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA) if scale < 1.0 else rgb
    # the box inside the (scaled) crop
    rx0, ry0 = int((bx0 - crop[0]) * scale), int((by0 - crop[1]) * scale)
    rx1, ry1 = max(rx0 + 2, math.ceil((bx1 - crop[0]) * scale)), max(ry0 + 2, math.ceil((by1 - crop[1]) * scale))
    rx1, ry1 = min(rx1, sw), min(ry1, sh)
    init = np.full((sh, sw), cv2.GC_BGD, np.uint8)
    mode = cv2.GC_INIT_WITH_RECT
    if prior is not None and prior.shape == (ch, cw):
        p = prior.astype(np.uint8)
        if scale < 1.0:
            p = cv2.resize(p, (sw, sh), interpolation=cv2.INTER_NEAREST)
        inner = p[ry0:ry1, rx0:rx1].astype(bool)
        fg = int(inner.sum())
        if 0 < fg < inner.size:  # GrabCut needs both kinds of sample in the box
            init[ry0:ry1, rx0:rx1] = np.where(inner, cv2.GC_PR_FGD, cv2.GC_PR_BGD)
            mode = cv2.GC_INIT_WITH_MASK
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    rect = (rx0, ry0, rx1 - rx0, ry1 - ry0)
    try:
        cv2.grabCut(small, init, rect, bgd, fgd, int(iterations), mode)
    except cv2.error:  # a flat crop: no colour model can be learnt
        return None
    fg_small = (init == cv2.GC_FGD) | (init == cv2.GC_PR_FGD)
    fg_small[:ry0] = fg_small[ry1:] = False
    fg_small[:, :rx0] = fg_small[:, rx1:] = False
    if scale < 1.0:
        fg = cv2.resize(fg_small.astype(np.uint8), (cw, ch), interpolation=cv2.INTER_NEAREST).astype(bool)
    else:
        fg = fg_small
    inside = np.zeros((ch, cw), bool)
    inside[by0 - crop[1]:by1 - crop[1], bx0 - crop[0]:bx1 - crop[0]] = True
    return _tight(fg & inside, crop)


def write_region(doc: MaskDocument, region: RegionMask, value: int) -> Rect | None:
    """Write ``value`` into the region's pixels (paint rules apply); the rect changed, None when none."""
    got = doc.writable(*region.rect)
    if got is None:
        return None
    view, rect = got
    x0, y0 = region.rect[0], region.rect[1]
    sel = region.mask[rect[1] - y0:rect[3] - y0, rect[0] - x0:rect[2] - x0]
    if not sel.any():
        return None
    view[sel] = int(value)
    doc.changed(rect)
    return rect
