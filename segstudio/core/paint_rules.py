"""Which mask pixels painting may change: locked classes and "paint only unlabeled pixels". Qt-free.

The rules are enforced in ONE place, :meth:`segstudio.core.mask_document.MaskDocument.changed`, which every
write path already calls after writing into a :meth:`~segstudio.core.mask_document.MaskDocument.writable`
view (brush, eraser, polygon, fill, wand, accept prediction and any new operation). It compares the written
pixels with their values at the start of the edit (the undo backup) and puts back every pixel the rules
forbid, before any listener sees the change. So an operation needs nothing special to obey the rules, and a
stroke may repaint its own pixels.

* A pixel whose value at the start of the edit is a **locked** class never changes (not even by the eraser).
* With **only_unlabeled**, a pixel that was labeled at the start of the edit gets no other label; erasing it
  (writing 255) stays possible, so the eraser still removes mistakes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

UNLABELED = 255


@dataclass(frozen=True)
class PaintRules:
    """The open project's painting rules (see the module docstring). Immutable: replace to change."""

    locked: frozenset[int] = field(default_factory=frozenset)
    only_unlabeled: bool = False

    @property
    def active(self) -> bool:
        """True when some pixel might be protected (no cost at all otherwise)."""
        return bool(self.locked) or self.only_unlabeled

    def with_lock(self, class_id: int, locked: bool) -> PaintRules:
        ids = set(self.locked)
        (ids.add if locked else ids.discard)(int(class_id))
        return PaintRules(frozenset(ids), self.only_unlabeled)

    def forbidden(self, before: np.ndarray, after: np.ndarray) -> np.ndarray | None:
        """Bool array: pixels that may not go from ``before`` to ``after`` (same shapes, uint8); None = none."""
        if not self.active:
            return None
        import numpy as np

        out = None
        if self.locked:
            lut = np.zeros(256, bool)
            lut[[c for c in self.locked if 0 <= c < 256]] = True
            out = lut[before]
        if self.only_unlabeled:
            relabel = (before != UNLABELED) & (after != UNLABELED) & (after != before)
            out = relabel if out is None else (out | relabel)
        return out

    def enforce(self, view: np.ndarray, before: np.ndarray) -> int:
        """Put ``before`` back into ``view`` (written pixels) where the rules forbid the change; the count."""
        bad = self.forbidden(before, view)
        if bad is None:
            return 0
        import numpy as np

        bad &= view != before
        count = int(np.count_nonzero(bad))
        if count:
            np.copyto(view, before, where=bad)
        return count

    def remap(self, lut: np.ndarray, deleted: int | None = None) -> PaintRules:
        """The rules after class ids were renumbered by ``lut`` (old id -> new id); ``deleted`` loses its lock."""
        ids = {int(lut[c]) for c in self.locked if 0 <= c < len(lut) and c != deleted}
        ids.discard(UNLABELED)
        return PaintRules(frozenset(ids), self.only_unlabeled)
