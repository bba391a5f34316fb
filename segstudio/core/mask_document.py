"""An editable mask with undo/redo and change notification: the Qt-free model behind the canvas.

Edits touch only the tiles they write to: before a region is modified its tiles are backed up
once per edit, so the cost of a brush dab is proportional to the dab, not to the image (an
8192x8192 mask paints as fast as a 1024x1024 one). One edit (a whole stroke, a fill, an accepted
prediction) is one undo step.

Every write reports itself through :meth:`MaskDocument.changed`, which also enforces the document's
:class:`~segstudio.core.paint_rules.PaintRules` (locked classes, paint only unlabeled pixels): pixels the rules
forbid are put back to their value at the start of the edit before any listener sees the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from segstudio.core.paint_rules import PaintRules

#: (x0, y0, x1, y1), end-exclusive, in mask pixels.
Rect = tuple[int, int, int, int]
TILE = 64


def union_rect(a: Rect | None, b: Rect | None) -> Rect | None:
    """Smallest rect holding both (None is empty)."""
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


@dataclass
class MaskEdit:
    """One undo step: the tiles it changed, before and after."""

    label: str
    before: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    after: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    rect: Rect | None = None

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.before.values()) + sum(a.nbytes for a in self.after.values())


class MaskDocument:
    """A (H, W) uint8 mask being edited. ``listen(cb)`` gets the rect of every change."""

    def __init__(self, mask: np.ndarray, max_undo_bytes: int = 512 * 1024 * 1024, max_undo_steps: int = 200) -> None:
        if mask.ndim != 2 or mask.dtype != np.uint8:
            raise ValueError(f"mask must be 2-D uint8, got {mask.shape} {mask.dtype}")
        self.mask = np.ascontiguousarray(mask)
        self._undo: list[MaskEdit] = []
        self._redo: list[MaskEdit] = []
        self._current: MaskEdit | None = None
        self._listeners: list[Callable[[Rect], None]] = []
        self.max_undo_bytes = max_undo_bytes
        self.max_undo_steps = max_undo_steps
        self.revision = 0  # bumps on every change, undo and redo included
        self.saved_revision = 0
        #: bounding box of every pixel changed (painted, undone, redone) since the last save; None = none
        self.unsaved_rect: Rect | None = None
        #: what painting may change (locked classes, only unlabeled pixels); the session sets it
        self.rules = PaintRules()

    # ---------------------------------------------------------------- state
    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.mask.shape[0]), int(self.mask.shape[1]))

    @property
    def dirty(self) -> bool:
        """True when the mask differs from what was last saved (or loaded)."""
        return self.revision != self.saved_revision

    def mark_saved(self, revision: int | None = None) -> None:
        """Record that ``revision`` (default: the current one) is what is on disk."""
        self.saved_revision = self.revision if revision is None else revision
        self.unsaved_rect = None

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def history_nbytes(self) -> int:
        """Memory held by the undo and redo steps."""
        return sum(e.nbytes for e in self._undo) + sum(e.nbytes for e in self._redo)

    @property
    def undo_labels(self) -> list[str]:
        return [e.label for e in self._undo]

    def listen(self, callback: Callable[[Rect], None]) -> None:
        """Call ``callback(rect)`` after every change of the pixels in ``rect``."""
        self._listeners.append(callback)

    def unlisten(self, callback: Callable[[Rect], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _notify(self, rect: Rect) -> None:
        self.unsaved_rect = union_rect(self.unsaved_rect, rect)
        for cb in list(self._listeners):
            cb(rect)

    # ---------------------------------------------------------------- editing
    def begin_edit(self, label: str = "edit") -> None:
        """Start an undo step (a stroke). Nested calls join the open one."""
        if self._current is None:
            self._current = MaskEdit(label)

    def end_edit(self) -> bool:
        """Close the undo step; returns True if it changed anything."""
        edit, self._current = self._current, None
        if edit is None or not edit.before:
            return False
        changed = False
        for key, before in list(edit.before.items()):
            after = self._tile_view(key).copy()
            if np.array_equal(before, after):
                del edit.before[key]
            else:
                edit.after[key] = after
                changed = True
        if not changed:
            return False
        self._undo.append(edit)
        self._redo.clear()
        self._trim()
        return True

    @property
    def in_edit(self) -> bool:
        return self._current is not None

    def clip(self, x0: int, y0: int, x1: int, y1: int) -> Rect | None:
        """Clip a rect to the mask; None when empty."""
        h, w = self.shape
        x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))
        if x0 >= x1 or y0 >= y1:
            return None
        return (x0, y0, x1, y1)

    def writable(self, x0: int, y0: int, x1: int, y1: int) -> tuple[np.ndarray, Rect] | None:
        """A writable view of a region (clipped), its tiles backed up for undo first.

        Call :meth:`changed` with the rect after writing. Must be inside begin/end_edit
        (a one-off edit is opened and must be closed by the caller with ``end_edit``).
        """
        rect = self.clip(x0, y0, x1, y1)
        if rect is None:
            return None
        if self._current is None:
            self.begin_edit()
        cur = self._current
        assert cur is not None
        for key in self._tiles(rect):
            if key not in cur.before:
                cur.before[key] = self._tile_view(key).copy()
        cur.rect = union_rect(cur.rect, rect)
        xa, ya, xb, yb = rect
        return self.mask[ya:yb, xa:xb], rect

    def changed(self, rect: Rect) -> None:
        """Report that pixels in ``rect`` were written (bumps revision, notifies listeners).

        The paint rules are enforced here, the one place every write path goes through: pixels of ``rect``
        the rules forbid to change get back their value from the start of the edit."""
        if self.rules.active and self._current is not None:
            clipped = self.clip(*rect)
            if clipped is not None:
                x0, y0, x1, y1 = clipped
                before = self._before_region(clipped)
                if before is not None:
                    self.rules.enforce(self.mask[y0:y1, x0:x1], before)
        self.revision += 1
        self._notify(rect)

    def _before_region(self, rect: Rect) -> np.ndarray | None:
        """The pixels of ``rect`` as they were when the open edit began (None if some tile was not backed up)."""
        cur = self._current
        if cur is None:
            return None
        x0, y0, x1, y1 = rect
        out = np.empty((y1 - y0, x1 - x0), np.uint8)
        for key in self._tiles(rect):
            tile = cur.before.get(key)
            if tile is None:
                return None
            ty, tx = key
            tx0, ty0 = tx * TILE, ty * TILE
            ax0, ay0 = max(x0, tx0), max(y0, ty0)
            ax1, ay1 = min(x1, tx0 + tile.shape[1]), min(y1, ty0 + tile.shape[0])
            out[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0] = tile[ay0 - ty0:ay1 - ty0, ax0 - tx0:ax1 - tx0]
        return out

    def paint(self, x0: int, y0: int, x1: int, y1: int, fn: Callable[[np.ndarray], None]) -> Rect | None:
        """Run ``fn(view)`` on a writable region and report the change."""
        got = self.writable(x0, y0, x1, y1)
        if got is None:
            return None
        view, rect = got
        fn(view)
        self.changed(rect)
        return rect

    def replace(self, new_mask: np.ndarray, label: str = "replace", where: np.ndarray | None = None) -> bool:
        """Set the whole mask (or the pixels where ``where`` is True) as one undo step."""
        if new_mask.shape != self.mask.shape:
            raise ValueError(f"mask shape {new_mask.shape} differs from the document's {self.mask.shape}")
        h, w = self.shape
        self.begin_edit(label)
        view, rect = self.writable(0, 0, w, h)  # type: ignore[misc]
        if where is None:
            view[...] = new_mask
        else:
            np.copyto(view, new_mask, where=where)
        self.changed(rect)
        return self.end_edit()

    def undo(self) -> Rect | None:
        """Undo the last step; returns the rect that changed (None if nothing to undo)."""
        if self._current is not None:
            self.end_edit()
        if not self._undo:
            return None
        edit = self._undo.pop()
        self._apply(edit.before)
        self._redo.append(edit)
        self.revision += 1
        if edit.rect:
            self._notify(edit.rect)
        return edit.rect

    def redo(self) -> Rect | None:
        """Redo the last undone step; returns the rect that changed."""
        if not self._redo:
            return None
        edit = self._redo.pop()
        self._apply(edit.after)
        self._undo.append(edit)
        self.revision += 1
        if edit.rect:
            self._notify(edit.rect)
        return edit.rect

    # ---------------------------------------------------------------- internals
    def _tiles(self, rect: Rect) -> Iterator[tuple[int, int]]:
        x0, y0, x1, y1 = rect
        for ty in range(y0 // TILE, (y1 - 1) // TILE + 1):
            for tx in range(x0 // TILE, (x1 - 1) // TILE + 1):
                yield (ty, tx)

    def _tile_view(self, key: tuple[int, int]) -> np.ndarray:
        ty, tx = key
        return self.mask[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE]

    def _apply(self, tiles: dict[tuple[int, int], np.ndarray]) -> None:
        for key, data in tiles.items():
            self._tile_view(key)[...] = data

    def _trim(self) -> None:
        total = sum(e.nbytes for e in self._undo)
        while self._undo and (len(self._undo) > self.max_undo_steps or total > self.max_undo_bytes):
            total -= self._undo.pop(0).nbytes
