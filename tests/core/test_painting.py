"""Paint operations on a MaskDocument, without Qt."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core import painting
from segstudio.core.mask_document import MaskDocument


def _doc(h: int = 64, w: int = 64, value: int = 255) -> MaskDocument:
    return MaskDocument(np.full((h, w), value, np.uint8))


def test_footprint_is_round_and_symmetric():
    fp = painting.brush_footprint(9)
    assert fp.shape == (9, 9)
    assert fp[4, 4] and fp[0, 4] and fp[4, 0] and fp[8, 4]
    assert not fp[0, 0] and not fp[8, 8]
    assert np.array_equal(fp, fp[::-1, :]) and np.array_equal(fp, fp.T)
    assert painting.brush_footprint(1).sum() == 1


def test_dab_matches_footprint_at_centre():
    doc = _doc()
    rect = painting.paint_dab(doc, 20.3, 30.7, 9, 2)
    assert rect is not None
    expected = np.full((64, 64), 255, np.uint8)
    expected[26:35, 16:25][painting.brush_footprint(9)] = 2
    assert np.array_equal(doc.mask, expected)
    # the reported rect contains every changed pixel
    x0, y0, x1, y1 = rect
    ys, xs = np.nonzero(doc.mask != 255)
    assert xs.min() >= x0 and xs.max() < x1 and ys.min() >= y0 and ys.max() < y1


def test_size_one_dab_paints_one_pixel():
    doc = _doc()
    painting.paint_dab(doc, 5.9, 7.1, 1, 1)
    assert doc.mask[7, 5] == 1
    assert (doc.mask == 1).sum() == 1


def test_segment_has_no_gaps():
    doc = _doc(40, 200)
    painting.paint_segment(doc, 5, 20, 190, 20, 3, 1)
    assert (doc.mask[20, 4:191] == 1).all()
    assert (doc.mask[17, :] == 255).all() and (doc.mask[23, :] == 255).all()


def test_diagonal_segment_is_connected_and_thick():
    doc = _doc(100, 100)
    painting.paint_segment(doc, 10, 10, 90, 90, 5, 3)
    for i in range(12, 89):
        assert doc.mask[i, i] == 3
        assert doc.mask[i, i + 1] == 3 and doc.mask[i + 1, i] == 3
    assert doc.mask[10, 90] == 255 and doc.mask[90, 10] == 255


def test_paint_clips_at_the_border():
    doc = _doc(16, 16)
    rect = painting.paint_dab(doc, 0, 0, 10, 4)
    assert rect is not None and rect[0] == 0 and rect[1] == 0
    assert doc.mask[0, 0] == 4
    assert painting.paint_dab(doc, -100, -100, 10, 4) is None


def test_stroke_is_one_undo_step():
    doc = _doc()
    doc.begin_edit("Brush")
    painting.paint_segment(doc, 5, 5, 30, 5, 4, 1)
    painting.paint_segment(doc, 30, 5, 30, 40, 4, 1)
    assert doc.end_edit()
    assert doc.undo_labels == ["Brush"]
    doc.undo()
    assert (doc.mask == 255).all()


def test_fill_polygon_fills_inside_only():
    doc = _doc(50, 50)
    rect = painting.fill_polygon(doc, [(10, 10), (40, 10), (40, 30), (10, 30)], 2)
    assert rect == (10, 10, 40, 30)
    assert (doc.mask[10:30, 10:40] == 2).all()
    assert (doc.mask[:10] == 255).all() and (doc.mask[30:] == 255).all()
    assert (doc.mask[:, :10] == 255).all() and (doc.mask[:, 40:] == 255).all()


def test_fill_polygon_triangle_and_degenerate():
    doc = _doc(50, 50)
    painting.fill_polygon(doc, [(0, 0), (40, 0), (0, 40)], 1)
    assert doc.mask[5, 5] == 1 and doc.mask[38, 38] == 255
    assert painting.fill_polygon(doc, [(1, 1), (5, 5)], 1) is None


def test_flood_fill_fills_connected_region_only():
    mask = np.zeros((20, 20), np.uint8)
    mask[:, 10] = 1  # a wall splits two background regions
    doc = MaskDocument(mask)
    rect = painting.flood_fill(doc, 3, 3, 2)
    assert rect == (0, 0, 10, 20)
    assert (doc.mask[:, :10] == 2).all()
    assert (doc.mask[:, 10] == 1).all() and (doc.mask[:, 11:] == 0).all()
    assert painting.flood_fill(doc, 3, 3, 2) is None  # already that class


def test_magic_wand_respects_tolerance():
    image = np.zeros((20, 30, 3), np.uint8)
    image[:, 10:20] = 20  # near the seed's 0
    image[:, 20:] = 100  # far from it
    doc = _doc(20, 30)
    painting.magic_wand(doc, image, 2, 2, 1, tolerance=5)
    assert (doc.mask[:, :10] == 1).all() and (doc.mask[:, 10:] == 255).all()
    doc2 = _doc(20, 30)
    painting.magic_wand(doc2, image, 2, 2, 1, tolerance=30)
    assert (doc2.mask[:, :20] == 1).all() and (doc2.mask[:, 20:] == 255).all()
    with pytest.raises(ValueError, match="differs"):
        painting.magic_wand(doc2, image[:10], 2, 2, 1)


def test_magic_wand_on_an_image_loaded_from_disk(tmp_path):
    """The loader returns read-only arrays (OpenCV 5's floodFill refuses those unless the wand copies)."""
    from PIL import Image

    from segstudio.core.image_io import load_image

    pixels = np.zeros((20, 30, 3), np.uint8)
    pixels[:, 15:] = 200
    Image.fromarray(pixels).save(tmp_path / "two_halves.png")
    image = load_image(tmp_path / "two_halves.png")
    assert not image.rgb.flags.writeable
    doc = _doc(20, 30)
    rect = painting.magic_wand(doc, image.rgb, 3, 3, 2, tolerance=10)
    doc.end_edit()
    assert rect == (0, 0, 15, 20)
    assert (doc.mask[:, :15] == 2).all() and (doc.mask[:, 15:] == 255).all()
    assert not image.rgb.flags.writeable and (image.rgb[:, :15] == 0).all()  # the image itself is untouched


def test_pick_class():
    mask = np.full((5, 5), 255, np.uint8)
    mask[2, 3] = 4
    assert painting.pick_class(mask, 3.5, 2.2) == 4
    assert painting.pick_class(mask, 0, 0) == 255
    assert painting.pick_class(mask, 9, 0) is None


def test_cost_follows_the_dab_not_the_image():
    doc = MaskDocument(np.full((4096, 4096), 255, np.uint8))
    doc.begin_edit()
    rect = painting.paint_segment(doc, 100, 100, 110, 104, 8, 1)
    doc.end_edit()
    assert rect is not None
    x0, y0, x1, y1 = rect
    assert (x1 - x0) * (y1 - y0) < 30 * 30
    assert doc._undo[-1].nbytes <= 4 * 2 * 64 * 64  # only the touched tiles were backed up


def test_magic_wand_on_the_loaders_read_only_image(tmp_path):
    from PIL import Image

    from segstudio.core.image_io import load_image

    pixels = np.zeros((20, 30, 3), np.uint8)
    pixels[:, 15:] = 200
    Image.fromarray(pixels).save(tmp_path / "x.png")
    image = load_image(tmp_path / "x.png").rgb  # what the GUI hands the wand: read-only (OpenCV 5 refused it)
    assert not image.flags.writeable
    doc = _doc(20, 30)
    assert painting.magic_wand(doc, image, 2, 2, 1, tolerance=10) == (0, 0, 15, 20)
    assert (doc.mask[:, :15] == 1).all() and (doc.mask[:, 15:] == 255).all()
