"""Open mask documents per image, LRU-bounded by bytes, so undo history survives image switches."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from segstudio.core.mask_document import MaskDocument

DEFAULT_BUDGET_BYTES = 1024 * 1024 * 1024


def document_bytes(doc: MaskDocument) -> int:
    """Memory held by a document: its mask plus its undo and redo tiles."""
    return int(doc.mask.nbytes) + doc.history_nbytes


class DocumentStore:
    """image id -> MaskDocument. Dirty documents and the pinned (current) one are never evicted."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._docs: OrderedDict[str, MaskDocument] = OrderedDict()
        self.pinned: str | None = None

    def get(self, image_id: str) -> MaskDocument | None:
        doc = self._docs.get(image_id)
        if doc is not None:
            self._docs.move_to_end(image_id)
        return doc

    def put(self, image_id: str, doc: MaskDocument) -> None:
        self._docs[image_id] = doc
        self._docs.move_to_end(image_id)
        self.trim()

    def pop(self, image_id: str) -> MaskDocument | None:
        return self._docs.pop(image_id, None)

    def clear(self) -> None:
        self._docs.clear()

    def __contains__(self, image_id: str) -> bool:
        return image_id in self._docs

    def __len__(self) -> int:
        return len(self._docs)

    def items(self) -> Iterator[tuple[str, MaskDocument]]:
        return iter(list(self._docs.items()))

    def dirty_items(self) -> list[tuple[str, MaskDocument]]:
        return [(k, d) for k, d in self._docs.items() if d.dirty]

    def total_bytes(self) -> int:
        return sum(document_bytes(d) for d in self._docs.values())

    def trim(self) -> list[str]:
        """Drop least-recently used clean documents until under budget; returns the dropped ids."""
        dropped: list[str] = []
        total = self.total_bytes()
        for image_id in list(self._docs):
            if total <= self.budget_bytes:
                break
            doc = self._docs[image_id]
            if image_id == self.pinned or doc.dirty:
                continue
            total -= document_bytes(doc)
            del self._docs[image_id]
            dropped.append(image_id)
        return dropped
