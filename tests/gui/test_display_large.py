"""A large 16-bit image: automatic settings come from the background, and a contrast change re-renders only
the tiles the viewport shows (at 1:1 and zoomed out), never the whole image."""

from __future__ import annotations

import math

import numpy as np
import tifffile

from canvas_helpers import canvas_runner
from display_helpers import screen_color
from segstudio.core.image_io import load_image
from segstudio.core.mask_document import MaskDocument
from segstudio.gui.canvas import CanvasView
from segstudio.gui.canvas.image_layer import TILE

SIZE = 2048


def _tiles_over(w: int, h: int) -> int:
    """Most pixels of whole tiles a w x h window can touch."""
    return (math.ceil(w / TILE) + 1) * (math.ceil(h / TILE) + 1) * TILE * TILE


def test_contrast_change_on_a_large_image_renders_only_the_visible_tiles(qtbot, tmp_path):
    data = (np.arange(SIZE, dtype=np.uint32)[None, :] * 20 + 1000).repeat(SIZE, axis=0).astype(np.uint16)
    tifffile.imwrite(tmp_path / "big.tif", data)
    image = load_image(tmp_path / "big.tif")
    canvas = CanvasView(canvas_runner())
    qtbot.addWidget(canvas)
    canvas.resize(400, 300)
    canvas.set_image(image, MaskDocument(np.full(image.shape, 255, np.uint8)))  # automatic settings
    canvas.show()
    qtbot.waitExposed(canvas)
    qtbot.waitUntil(lambda: canvas.display_settings is not None and canvas.overlays_ready, timeout=20000)
    canvas.actual_size()
    canvas.centerOn(SIZE / 2, SIZE / 2)
    vp = canvas.viewport()
    before = screen_color(canvas, SIZE / 2 + 0.5, SIZE / 2 + 0.5)
    layer = canvas.image_layer
    settings = canvas.display_settings
    ch = settings.channels[0]
    rendered = layer.rendered_pixels()
    value = float(data[0, SIZE // 2])
    canvas.set_display(settings.with_channel(0, lo=ch.lo, hi=value))  # the centre becomes white
    after = screen_color(canvas, SIZE / 2 + 0.5, SIZE / 2 + 0.5)
    assert after[0] >= 250 and before[0] < 200
    assert 0 < layer.rendered_pixels() - rendered <= _tiles_over(vp.width(), vp.height()) < SIZE * SIZE // 4
    canvas.fit_to_window()  # zoomed out: the reduced copy is made in the background, then drawn
    qtbot.waitUntil(lambda: canvas.overlays_ready, timeout=20000)
    screen_color(canvas, 10.5, 10.5)
    rendered = layer.rendered_pixels()
    canvas.set_display(settings.with_channel(0, lo=ch.lo, hi=ch.hi * 0.9))
    screen_color(canvas, 10.5, 10.5)
    shown = (vp.width() / canvas.zoom) * (vp.height() / canvas.zoom)
    assert 0 < layer.rendered_pixels() - rendered <= 4 * _tiles_over(vp.width(), vp.height()) < shown
    assert np.array_equal(image.data[:, :, 0], data)
