"""MaskDocument: tile-based undo/redo, dirty tracking and change notification."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.mask_document import TILE, MaskDocument


def test_one_edit_is_one_undo_step_and_redo_restores():
    doc = MaskDocument(np.full((200, 300), 255, np.uint8))
    seen = []
    doc.listen(seen.append)
    doc.begin_edit("stroke")
    doc.paint(10, 10, 20, 20, lambda v: v.fill(1))
    doc.paint(150, 100, 170, 190, lambda v: v.fill(2))
    assert doc.end_edit() is True
    assert doc.undo_labels == ["stroke"] and doc.dirty
    assert seen == [(10, 10, 20, 20), (150, 100, 170, 190)]
    painted = doc.mask.copy()
    rect = doc.undo()
    assert rect == (10, 10, 170, 190) and np.all(doc.mask == 255)
    assert doc.redo() == rect and np.array_equal(doc.mask, painted)


def test_only_touched_tiles_are_backed_up():
    doc = MaskDocument(np.zeros((8192, 8192), np.uint8))
    doc.begin_edit()
    doc.paint(4000, 4000, 4010, 4010, lambda v: v.fill(3))
    doc.end_edit()
    edit = doc._undo[-1]
    assert len(edit.before) == 1 and edit.nbytes == 2 * TILE * TILE


def test_edit_without_change_is_not_recorded_and_clipped_outside():
    doc = MaskDocument(np.zeros((50, 50), np.uint8))
    doc.begin_edit()
    doc.paint(0, 0, 5, 5, lambda v: v.fill(0))
    assert doc.end_edit() is False and not doc.can_undo
    assert doc.paint(60, 60, 70, 70, lambda v: v.fill(1)) is None


def test_new_edit_clears_redo_and_dirty_follows_saves():
    doc = MaskDocument(np.zeros((10, 10), np.uint8))
    doc.replace(np.ones((10, 10), np.uint8), "accept")
    doc.mark_saved()
    assert not doc.dirty
    doc.undo()
    assert doc.dirty and doc.can_redo
    doc.replace(np.full((10, 10), 2, np.uint8), "other")
    assert not doc.can_redo


def test_replace_where_only_unlabeled():
    mask = np.full((4, 4), 255, np.uint8)
    mask[0] = 1
    doc = MaskDocument(mask)
    pred = np.full((4, 4), 2, np.uint8)
    doc.replace(pred, "accept", where=doc.mask == 255)
    assert doc.mask[0].tolist() == [1, 1, 1, 1] and np.all(doc.mask[1:] == 2)
    doc.undo()
    assert np.all(doc.mask[1:] == 255)
    with pytest.raises(ValueError, match="shape"):
        doc.replace(np.zeros((3, 3), np.uint8))


def test_undo_history_bounded():
    doc = MaskDocument(np.zeros((64, 64), np.uint8), max_undo_steps=3)
    for v in range(1, 6):
        doc.replace(np.full((64, 64), v, np.uint8), f"s{v}")
    assert doc.undo_labels == ["s3", "s4", "s5"]
