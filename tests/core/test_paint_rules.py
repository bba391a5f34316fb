"""Paint rules: a locked class is never painted over, "only unlabeled" keeps labels; every operation obeys them."""

from __future__ import annotations

import numpy as np

from segstudio.core import painting
from segstudio.core.mask_document import MaskDocument
from segstudio.core.paint_rules import PaintRules


def _doc(rules: PaintRules) -> MaskDocument:
    mask = np.full((100, 100), 255, np.uint8)
    mask[:, :50] = 1  # left half: class 1
    mask[40:60, 40:60] = 2  # a class-2 square across the border
    doc = MaskDocument(mask)
    doc.rules = rules
    return doc


def test_brush_and_eraser_leave_a_locked_class_alone():
    doc = _doc(PaintRules(frozenset({1})))
    before = doc.mask.copy()
    doc.begin_edit("brush")
    painting.paint_segment(doc, 10, 20, 90, 20, 12, 3)
    doc.end_edit()
    assert (doc.mask[:, :50][before[:, :50] == 1] == 1).all()  # the locked class kept every pixel
    assert (doc.mask[14:26, 60:85] == 3).all()  # unlabeled pixels were painted
    doc.begin_edit("erase")
    painting.paint_segment(doc, 10, 80, 30, 80, 12, painting.ERASE_VALUE)
    doc.end_edit()
    assert (doc.mask[74:86, 5:35] == 1).all()  # the eraser cannot remove a locked class either


def test_polygon_fill_wand_and_replace_obey_the_lock():
    doc = _doc(PaintRules(frozenset({2})))
    painting.fill_polygon(doc, [(30, 30), (70, 30), (70, 70), (30, 70)], 3)
    doc.end_edit()
    assert (doc.mask[40:60, 40:60] == 2).all() and doc.mask[35, 35] == 3 and doc.mask[35, 65] == 3
    assert painting.flood_fill(doc, 45, 45, 4) is not None  # the fill writes, the rules put everything back
    doc.end_edit()
    assert (doc.mask[40:60, 40:60] == 2).all()
    image = np.zeros((100, 100, 3), np.uint8)  # one flat colour: the wand takes everything
    painting.magic_wand(doc, image, 5, 5, 0, tolerance=0)
    doc.end_edit()
    assert (doc.mask[40:60, 40:60] == 2).all() and (doc.mask == 0).sum() == 100 * 100 - 400
    assert doc.replace(np.full((100, 100), 1, np.uint8), "accept prediction")
    assert (doc.mask[40:60, 40:60] == 2).all()


def test_only_unlabeled_keeps_labels_but_lets_the_eraser_work_and_a_stroke_repaint_itself():
    doc = _doc(PaintRules(only_unlabeled=True))
    doc.begin_edit("brush")
    painting.paint_segment(doc, 30, 10, 70, 10, 8, 3)
    painting.paint_segment(doc, 70, 10, 60, 10, 8, 3)  # over its own fresh pixels: allowed
    doc.end_edit()
    assert (doc.mask[6:14, 30:50] == 1).all() and (doc.mask[6:14, 52:70] == 3).all()
    painting.paint_segment(doc, 20, 90, 20, 90, 8, painting.ERASE_VALUE)
    doc.end_edit()
    assert doc.mask[90, 20] == 255  # erasing stays possible
    doc.undo()
    assert doc.mask[90, 20] == 1


def test_a_change_the_rules_refuse_entirely_makes_no_undo_step():
    doc = _doc(PaintRules(frozenset({1})))
    doc.begin_edit("brush")
    painting.paint_segment(doc, 10, 10, 20, 10, 6, 3)
    assert not doc.end_edit() and not doc.can_undo


def test_listeners_never_see_forbidden_pixels_and_no_rules_cost_nothing():
    doc = _doc(PaintRules(frozenset({1})))
    seen = []
    doc.listen(lambda rect: seen.append(int((doc.mask[rect[1]:rect[3], rect[0]:rect[2]] == 3).sum())))
    painting.paint_dab(doc, 48, 20, 10, 3)
    doc.end_edit()
    assert seen and seen[-1] == int((doc.mask == 3).sum()) and (doc.mask[:, :50] != 3).all()
    assert not PaintRules().active and PaintRules().forbidden(doc.mask, doc.mask) is None


def test_remap_follows_renumbered_classes():
    lut = np.arange(256, dtype=np.uint8)
    lut[1] = 255
    lut[2:4] = (1, 2)  # class 1 deleted: 2 -> 1, 3 -> 2
    rules = PaintRules(frozenset({1, 3}), True).remap(lut, deleted=1)
    assert rules.locked == frozenset({2}) and rules.only_unlabeled
