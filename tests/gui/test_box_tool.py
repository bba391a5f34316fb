"""The box tool, driven with the mouse on the viewport: a dragged box is segmented by GrabCut on the job
runner, previewed, written only on accept (Enter / double-click), adjusted with its handles, rejected with
Escape; the model's prediction guides it; locked classes stay."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from segstudio.core import segment_tools
from segstudio.core.paint_rules import PaintRules

from tool_helpers import LEFT, NOMOD, at, disk_canvas, disc_rgb, drag, iou

BOX = ((50, 40), (131, 121))  # around the disc at (90, 80), radius 35


def box_canvas(qtbot, tmp_path, mask=None):
    rgb, disc = disc_rgb()
    canvas = disk_canvas(qtbot, tmp_path, rgb, mask, zoom=1.5, centre=(100, 80))
    canvas.set_tool("box")
    return canvas, canvas._tool, disc


def wait_preview(qtbot, tool):
    qtbot.waitUntil(lambda: not tool.computing and tool.preview.region is not None, timeout=5000)
    return tool.preview.region


def test_box_previews_the_disc_and_writes_it_only_on_enter(qtbot, tmp_path):
    canvas, tool, disc = box_canvas(qtbot, tmp_path)
    canvas.set_current_class(2)
    drag(canvas, *BOX)
    assert tool.box is not None and tool.computing  # GrabCut runs off the GUI thread
    region = wait_preview(qtbot, tool)
    assert iou(region.full(disc.shape), disc) > 0.8
    assert (canvas.document().mask == 255).all() and not canvas.document().can_undo  # only a preview so far
    with qtbot.waitSignal(canvas.editFinished, timeout=1000):
        QTest.keyClick(canvas, Qt.Key.Key_Return)
    written = canvas.document().mask == 2
    assert iou(written, disc) > 0.8 and (canvas.document().mask[~written] == 255).all()
    assert canvas.document().undo_labels == ["Box"] and tool.box is None and tool.preview.region is None


def test_dragging_a_handle_recomputes_and_escape_rejects(qtbot, tmp_path):
    canvas, tool, disc = box_canvas(qtbot, tmp_path)
    messages = []
    canvas.toolMessage.connect(messages.append)
    drag(canvas, (50, 40), (100, 121))  # cuts the disc: its bright right part is "background"
    qtbot.waitUntil(lambda: not tool.computing, timeout=5000)
    first = tool.preview.region
    assert first is None or iou(first.full(disc.shape), disc) < 0.7
    assert first is not None or "no object" in messages[-1]
    drag(canvas, (tool.box[2] - 0.5, 80), (131, 80))  # the right edge's handle, pulled past the disc
    assert tool.box[:2] == (50, 40) and tool.box[2] == 132
    region = wait_preview(qtbot, tool)
    assert iou(region.full(disc.shape), disc) > 0.8
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert tool.box is None and tool.preview.region is None
    assert (canvas.document().mask == 255).all() and not canvas.document().can_undo


def test_double_click_accepts_and_a_locked_class_is_kept(qtbot, tmp_path):
    mask = np.full((160, 200), 255, np.uint8)
    mask[70:90, 60:120] = 3  # a locked band across the disc
    canvas, tool, disc = box_canvas(qtbot, tmp_path, mask)
    canvas.document().rules = PaintRules(frozenset({3}))
    drag(canvas, *BOX)
    wait_preview(qtbot, tool)
    QTest.mouseDClick(canvas.viewport(), LEFT, NOMOD, at(canvas, 90, 80))
    m = canvas.document().mask
    assert (m[70:90, 60:120] == 3).all()
    assert iou(m == 1, disc & (mask == 255)) > 0.8


def test_the_prediction_initialises_grabcut(qtbot, tmp_path, monkeypatch):
    canvas, tool, disc = box_canvas(qtbot, tmp_path)
    pred = np.where(disc, 1, 0).astype(np.uint8)
    canvas.set_prediction(pred, np.full(pred.shape, 0.9, np.float32))
    seen = []
    original = segment_tools.grabcut_box

    def spy(read, width, height, box, prior=None, **kw):
        seen.append(prior)
        return original(read, width, height, box, prior, **kw)

    monkeypatch.setattr(segment_tools, "grabcut_box", spy)
    drag(canvas, *BOX)
    region = wait_preview(qtbot, tool)
    crop = segment_tools.grabcut_crop(tool.box, 200, 160)
    assert len(seen) == 1 and np.array_equal(seen[0], disc[crop[1]:crop[3], crop[0]:crop[2]])
    assert iou(region.full(disc.shape), disc) > 0.9


def test_a_click_without_a_drag_keeps_the_box(qtbot, tmp_path):
    canvas, tool, _ = box_canvas(qtbot, tmp_path)
    drag(canvas, *BOX)
    wait_preview(qtbot, tool)
    box = tool.box
    QTest.mouseClick(canvas.viewport(), LEFT, NOMOD, at(canvas, 90, 80))
    assert tool.box == box and tool.preview.region is not None
