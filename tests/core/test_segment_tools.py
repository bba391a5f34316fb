"""The region tools' pixel logic: wand region (windowed flood), predicted component, GrabCut in a box,
writing through the document (paint rules apply), on images loaded from disk."""

from __future__ import annotations

import numpy as np
from PIL import Image

from segstudio.core.display import default_display
from segstudio.core.image_io import load_image
from segstudio.core.mask_document import MaskDocument
from segstudio.core.paint_rules import PaintRules
from segstudio.core.segment_tools import (
    array_reader, composite_reader, flood_region, grabcut_box, predicted_component, write_region,
)


def disc_image(tmp_path, size=(160, 200), centre=(90, 80), radius=35):
    """A bright noisy disc on a dark noisy background, saved as PNG and loaded back (read-only arrays)."""
    h, w = size
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    disc = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius ** 2
    rgb = np.where(disc[..., None], 210, 40) + rng.integers(-15, 16, (h, w, 3))
    path = tmp_path / "disc.png"
    Image.fromarray(rgb.clip(0, 255).astype(np.uint8)).save(path)
    return load_image(path), disc


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum()) / float((a | b).sum())


def test_flood_region_grows_its_window_to_the_exact_region(tmp_path):
    image, disc = disc_image(tmp_path, size=(300, 900), centre=(450, 150), radius=120)
    read = composite_reader(image.data, default_display(image.data))
    exact = flood_region(read, image.width, image.height, 450, 150, 60, start=16)
    assert exact is not None and np.array_equal(exact.full(image.shape), disc)
    preview = flood_region(read, image.width, image.height, 450, 150, 60, start=16, limit=32)
    assert preview.area < exact.area and preview.full(image.shape)[disc].sum() == preview.area  # a part of it
    outline = exact.outline()
    assert len(outline) == 1 and abs(outline[0][:, 0].min() - 330.5) <= 1


def test_tolerance_changes_the_region(tmp_path):
    ramp = np.tile(np.arange(0, 250, 5, dtype=np.uint8)[None, :, None], (20, 1, 3))
    path = tmp_path / "ramp.png"
    Image.fromarray(ramp).save(path)
    image = load_image(path)
    read = composite_reader(image.data, default_display(image.data))
    small = flood_region(read, image.width, image.height, 0, 0, 10)
    large = flood_region(read, image.width, image.height, 0, 0, 40)
    assert small.rect == (0, 0, 3, 20) and large.rect == (0, 0, 9, 20)


def test_predicted_component_is_the_connected_part_of_one_class():
    pred = np.full((40, 50), 255, np.uint8)
    pred[5:15, 5:15] = 2
    pred[5:15, 30:40] = 2  # same class, not connected
    pred[20:30, 5:15] = 1
    pred[14, 15] = 2  # diagonal neighbour only: not 4-connected
    pred[15, 16] = 2
    region, cls = predicted_component(pred, 7.5, 7.5)
    expected = np.zeros(pred.shape, bool)
    expected[5:15, 5:15] = True
    expected[14, 15] = True
    assert cls == 2 and np.array_equal(region.full(pred.shape), expected)
    assert predicted_component(pred, 45, 35) is None  # nothing predicted there
    assert predicted_component(pred, -1, 3) is None


def test_grabcut_box_finds_the_disc_and_the_prior_helps(tmp_path):
    image, disc = disc_image(tmp_path)
    read = composite_reader(image.data, default_display(image.data))
    box = (45, 35, 136, 126)
    region = grabcut_box(read, image.width, image.height, box)
    assert region is not None and iou(region.full(image.shape), disc) > 0.8
    inside = np.zeros(image.shape, bool)
    inside[35:126, 45:136] = True
    assert not (region.full(image.shape) & ~inside).any()  # never outside the box
    from segstudio.core.segment_tools import grabcut_crop

    crop = grabcut_crop(box, image.width, image.height)
    prior = disc[crop[1]:crop[3], crop[0]:crop[2]]
    guided = grabcut_box(read, image.width, image.height, box, prior=prior)
    assert iou(guided.full(image.shape), disc) > 0.9


def test_grabcut_on_a_large_box_is_scaled_down_and_still_right(tmp_path):
    image, disc = disc_image(tmp_path, size=(1400, 1400), centre=(700, 700), radius=500)
    read = composite_reader(image.data, default_display(image.data))
    region = grabcut_box(read, image.width, image.height, (120, 120, 1280, 1280), max_side=300)
    assert iou(region.full(image.shape), disc) > 0.9


def test_write_region_obeys_locks_and_is_one_undo_step():
    mask = np.full((20, 20), 255, np.uint8)
    mask[0:5] = 1
    doc = MaskDocument(mask)
    doc.rules = PaintRules(frozenset({1}))
    region, _ = predicted_component(np.zeros((20, 20), np.uint8), 10, 10)
    doc.begin_edit("Region")
    write_region(doc, region, 3)
    assert doc.end_edit()
    assert (doc.mask[0:5] == 1).all() and (doc.mask[5:] == 3).all()
    doc.undo()
    assert np.array_equal(doc.mask, mask)


def test_array_reader_reads_crops():
    a = np.arange(30).reshape(5, 6)
    assert np.array_equal(array_reader(a)((1, 2, 3, 4)), a[2:4, 1:3])
