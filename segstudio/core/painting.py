"""Qt-free paint operations on a :class:`MaskDocument`: brush, eraser, polygon, fill, magic wand, picker.

Coordinates are image coordinates as floats: pixel ``(i, j)`` covers ``[i, i+1) x [j, j+1)`` and its
centre is ``(i + 0.5, j + 0.5)``. Every operation writes only the bounding box of what it paints
(through :meth:`MaskDocument.writable`), so its cost does not grow with the image size, and returns
the rect it changed (``None`` when it touched nothing). The caller owns the undo step
(``begin_edit`` / ``end_edit``); operations called outside one open a one-off edit that the caller
closes with ``end_edit``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.mask_document import MaskDocument, Rect, union_rect

#: Value the eraser writes: "unlabeled", ignored by the loss.
ERASE_VALUE = IGNORE_INDEX
MIN_BRUSH, MAX_BRUSH = 1, 512


def brush_center(x: float, y: float, size: int) -> tuple[float, float]:
    """Snap a brush centre so the tip is symmetric: odd sizes on pixel centres, even ones on corners."""
    if int(size) % 2:
        return (math.floor(x) + 0.5, math.floor(y) + 0.5)
    return (float(round(x)), float(round(y)))


def brush_footprint(size: int) -> np.ndarray:
    """The round tip of a brush of diameter ``size`` as a (size, size) bool array."""
    size = max(MIN_BRUSH, int(size))
    r = size / 2.0
    c = (np.arange(size) + 0.5) - r
    return (c[None, :] ** 2 + c[:, None] ** 2) <= r * r + 1e-6


def _capsule(ax: float, ay: float, bx: float, by: float, r: float, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """Bool mask over pixels [x0, x1) x [y0, y1) whose centres are within r of segment a-b."""
    px = np.arange(x0, x1, dtype=np.float32) + 0.5 - ax
    py = np.arange(y0, y1, dtype=np.float32) + 0.5 - ay
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 < 1e-12:
        return (px[None, :] ** 2 + py[:, None] ** 2) <= r * r + 1e-6
    t = np.clip((px[None, :] * dx + py[:, None] * dy) / length2, 0.0, 1.0)
    ex = px[None, :] - t * dx
    ey = py[:, None] - t * dy
    return (ex * ex + ey * ey) <= r * r + 1e-6


def paint_segment(
    doc: MaskDocument, x0: float, y0: float, x1: float, y1: float, size: int, value: int
) -> Rect | None:
    """Paint a round brush of diameter ``size`` dragged from (x0, y0) to (x1, y1), ends included.

    Fast mouse moves leave no gaps: the whole capsule between the two positions is painted.
    Long segments are split so each piece only touches a small bounding box.
    """
    size = max(MIN_BRUSH, min(MAX_BRUSH, int(size)))
    value = int(value)
    ax, ay = brush_center(x0, y0, size)
    bx, by = brush_center(x1, y1, size)
    r = size / 2.0
    length = math.hypot(bx - ax, by - ay)
    pieces = max(1, int(math.ceil(length / max(16.0, 2.0 * size))))
    total: Rect | None = None
    for i in range(pieces):
        sx, sy = ax + (bx - ax) * i / pieces, ay + (by - ay) * i / pieces
        ex, ey = ax + (bx - ax) * (i + 1) / pieces, ay + (by - ay) * (i + 1) / pieces
        rect = doc.clip(
            math.floor(min(sx, ex) - r), math.floor(min(sy, ey) - r),
            math.ceil(max(sx, ex) + r) + 1, math.ceil(max(sy, ey) + r) + 1,
        )
        if rect is None:
            continue
        inside = _capsule(sx, sy, ex, ey, r, *rect)
        if not inside.any():
            continue
        got = doc.writable(*rect)
        if got is None:
            continue
        view, rect = got
        view[inside] = value
        doc.changed(rect)
        total = union_rect(total, rect)
    return total


def paint_dab(doc: MaskDocument, x: float, y: float, size: int, value: int) -> Rect | None:
    """One round dab of diameter ``size`` centred at (x, y)."""
    return paint_segment(doc, x, y, x, y, size, value)


def polygon_coverage(points: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """Bool mask over pixels [x0, x1) x [y0, y1) whose centres lie inside the polygon (even-odd rule)."""
    ax, ay = points[:, 0], points[:, 1]
    bx, by = np.roll(ax, -1), np.roll(ay, -1)
    yc = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5  # (R, 1) row centres
    lo, hi = np.minimum(ay, by), np.maximum(ay, by)
    crosses = (yc >= lo) & (yc < hi)  # half-open: a vertex is counted once
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = ax + (yc - ay) * (bx - ax) / (by - ay)
    xs = np.sort(np.where(crosses, xs, np.inf), axis=1)  # crossings first, inf padding last
    width = x1 - x0
    diff = np.zeros((y1 - y0, width + 1), np.int32)
    rows = np.arange(y1 - y0)
    for k in range(0, xs.shape[1] - 1, 2):
        xa, xb = xs[:, k], xs[:, k + 1]
        ok = np.isfinite(xa) & np.isfinite(xb)
        # pixel i is inside when its centre i + 0.5 is in [xa, xb)
        ia = np.clip(np.ceil(xa[ok] - 0.5) - x0, 0, width).astype(np.int64)
        ib = np.clip(np.ceil(xb[ok] - 0.5) - x0, 0, width).astype(np.int64)
        np.add.at(diff, (rows[ok], ia), 1)
        np.add.at(diff, (rows[ok], ib), -1)
    return np.cumsum(diff[:, :width], axis=1) > 0


def fill_polygon(doc: MaskDocument, points: list[tuple[float, float]], value: int) -> Rect | None:
    """Fill the polygon through ``points`` (image coordinates) with ``value``: pixels whose centre is inside."""
    if len(points) < 3:
        return None
    pts = np.asarray(points, dtype=np.float64)
    rect = doc.clip(
        math.floor(pts[:, 0].min()), math.floor(pts[:, 1].min()),
        math.ceil(pts[:, 0].max()) + 1, math.ceil(pts[:, 1].max()) + 1,
    )
    if rect is None:
        return None
    inside = polygon_coverage(pts, *rect)
    if not inside.any():
        return None
    rx0, ry0 = rect[0], rect[1]
    ys, xs = np.nonzero(inside)
    tight = (rx0 + int(xs.min()), ry0 + int(ys.min()), rx0 + int(xs.max()) + 1, ry0 + int(ys.max()) + 1)
    got = doc.writable(*tight)
    if got is None:
        return None
    view, tight = got
    view[inside[tight[1] - ry0 : tight[3] - ry0, tight[0] - rx0 : tight[2] - rx0]] = int(value)
    doc.changed(tight)
    return tight


def _write_region(doc: MaskDocument, region: np.ndarray, bbox: Rect, value: int) -> Rect | None:
    """Write ``value`` where ``region`` (full-image-sized flood mask, offset by 1) is set, inside bbox."""
    x0, y0, x1, y1 = bbox
    got = doc.writable(x0, y0, x1, y1)
    if got is None:
        return None
    view, rect = got
    sel = region[rect[1] + 1 : rect[3] + 1, rect[0] + 1 : rect[2] + 1].astype(bool)
    if not sel.any():
        return None
    view[sel] = int(value)
    doc.changed(rect)
    return rect


def _flood(image: np.ndarray, x: int, y: int, tol: int, connectivity: int) -> tuple[np.ndarray, Rect]:
    """OpenCV flood fill (mask only, fixed range around the seed); returns the flood mask and its bbox."""
    h, w = image.shape[:2]
    flood = np.zeros((h + 2, w + 2), np.uint8)
    img = np.ascontiguousarray(image)
    if not img.flags.writeable:  # OpenCV 5's floodFill refuses read-only input, and the loader's arrays are
        img = img.copy()
    channels = 1 if img.ndim == 2 else img.shape[2]
    diff = (tol,) * channels if channels > 1 else tol
    flags = connectivity | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    _, _, _, (bx, by, bw, bh) = cv2.floodFill(img, flood, (int(x), int(y)), 0, diff, diff, flags)
    return flood, (bx, by, bx + bw, by + bh)


def flood_fill(doc: MaskDocument, x: float, y: float, value: int, connectivity: int = 4) -> Rect | None:
    """Fill the connected region of equal mask values containing (x, y) with ``value``."""
    h, w = doc.shape
    ix, iy = int(math.floor(x)), int(math.floor(y))
    if not (0 <= ix < w and 0 <= iy < h) or int(doc.mask[iy, ix]) == int(value):
        return None
    flood, bbox = _flood(doc.mask, ix, iy, 0, connectivity)
    return _write_region(doc, flood, bbox, value)


def magic_wand(
    doc: MaskDocument, image: np.ndarray, x: float, y: float, value: int, tolerance: int = 32,
    connectivity: int = 4,
) -> Rect | None:
    """Flood fill on the IMAGE from (x, y): pixels connected to it whose every channel is within
    ``tolerance`` of the seed pixel get ``value`` in the mask."""
    h, w = doc.shape
    if image.shape[:2] != (h, w):
        raise ValueError(f"image shape {image.shape[:2]} differs from the mask's {(h, w)}")
    ix, iy = int(math.floor(x)), int(math.floor(y))
    if not (0 <= ix < w and 0 <= iy < h):
        return None
    tol = max(0, min(255, int(tolerance)))
    flood, bbox = _flood(image, ix, iy, tol, connectivity)
    return _write_region(doc, flood, bbox, value)


def pick_class(mask: np.ndarray, x: float, y: float) -> int | None:
    """The mask value under (x, y), or None outside the mask."""
    ix, iy = int(math.floor(x)), int(math.floor(y))
    if 0 <= iy < mask.shape[0] and 0 <= ix < mask.shape[1]:
        return int(mask[iy, ix])
    return None
