"""Opening a large, not yet decoded image does not freeze the window: it is decoded in the background."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QTimer

from segstudio.session import image_cache as cache_module
from segstudio.gui import image_switcher as window_images

BIG_W, BIG_H = 5000, 4000


@pytest.fixture(scope="module")
def big_png(tmp_path_factory) -> Path:
    """A 5000x4000 PNG (smooth, so it is written quickly): a red left half, a blue right half."""
    path = tmp_path_factory.mktemp("big") / "big.png"
    img = np.zeros((BIG_H, BIG_W, 3), np.uint8)
    img[:, : BIG_W // 2, 2] = 200  # BGR: red
    img[:, BIG_W // 2:, 0] = 200
    assert cv2.imwrite(str(path), img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return path


@pytest.fixture
def low_threshold(monkeypatch):
    monkeypatch.setattr(window_images, "BACKGROUND_LOAD_MIN_PIXELS", 1_000_000)


def slow_loader(monkeypatch, seconds: float) -> None:
    """Make every background decode take at least ``seconds`` (so a test can act before it arrives)."""
    real = cache_module.load_image

    def slow(path, max_pixels=cache_module.DEFAULT_MAX_PIXELS):
        time.sleep(seconds)
        return real(path, max_pixels)

    monkeypatch.setattr(cache_module, "load_image", slow)


class GapProbe:
    """A 5 ms QTimer; records the longest gap between its ticks (how long the event loop was blocked)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.max_gap = 0.0
        self.timer = QTimer(interval=5)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.max_gap = max(self.max_gap, now - self.last)
        self.last = now

    def start(self) -> None:
        self.last = time.perf_counter()
        self.timer.start()


def test_large_image_opens_without_blocking_then_can_be_painted(main_window, big_png, low_threshold, qtbot,
                                                                  stroke):
    w = main_window
    old_id = w.current_image_id
    shown = []
    w.currentImageChanged.connect(shown.append)
    probe = GapProbe()
    added: list[str] = []
    probe.start()
    QTimer.singleShot(20, lambda: added.extend(w.add_images([big_png])))
    qtbot.waitUntil(lambda: bool(added), timeout=5000)
    big_id = added[0]
    # switched at once: nothing shown yet, nothing to paint on, the old mask is gone
    assert w.current_image_id == big_id and w.current_image is None
    assert w.canvas.image() is None and w.current_document() is None
    assert "Loading big.png" in w.status.currentMessage()
    assert w.image_loading and shown == []
    qtbot.waitUntil(lambda: w.current_image is not None, timeout=20000)
    probe.timer.stop()
    assert probe.max_gap < 0.3, f"event loop blocked for {probe.max_gap * 1000:.0f} ms"
    assert shown == [big_id] and old_id != big_id
    assert w.canvas.image().shape == (BIG_H, BIG_W)
    assert tuple(w.canvas.image().rgb[10, 10]) == (200, 0, 0)
    assert w.current_document().shape == (BIG_H, BIG_W)
    assert not w.image_loading and "Loading" not in w.status.currentMessage()

    w.canvas.fit_to_window()
    w.canvas.brush_size = 64
    w.select_class(1)
    stroke(w, [(1000, 2000), (1800, 2000)])
    doc = w.current_document()
    assert doc.mask[2000, 1400] == 1 and doc.mask[100, 100] == 255


def test_switching_away_before_the_large_image_arrives_ends_on_the_later_image(main_window, big_png,
                                                                               low_threshold, monkeypatch, qtbot):
    w = main_window
    slow_loader(monkeypatch, 0.4)
    shown = []
    w.currentImageChanged.connect(shown.append)
    big_id = w.add_images([big_png])[0]
    assert w.image_loading and w.current_image is None
    w.show_image("sample_02.jpg")  # small: synchronous as before
    assert w.current_image_id == "sample_02.jpg" and w.current_image.shape == (64, 64)
    assert "Loading" not in w.status.currentMessage()
    qtbot.wait(1500)  # the big decode has arrived meanwhile and must be ignored
    assert w.current_image_id == "sample_02.jpg" and w.canvas.image().shape == (64, 64)
    assert w.current_document().shape == (64, 64)
    assert big_id not in shown and shown[-1] == "sample_02.jpg"


def test_latest_of_two_large_images_wins(main_window, big_png, low_threshold, monkeypatch, qtbot, tmp_path):
    w = main_window
    slow_loader(monkeypatch, 0.3)
    second = tmp_path / "second.png"
    small = np.zeros((1200, 1000, 3), np.uint8)  # 1.2 M pixels: also loaded in the background
    assert cv2.imwrite(str(second), small)
    first_id, second_id = w.add_images([big_png, second])
    assert w.current_image_id == first_id and w.image_loading
    shown = []
    w.currentImageChanged.connect(shown.append)
    w.show_image(second_id)
    assert w.current_image_id == second_id and w.current_image is None
    qtbot.waitUntil(lambda: w.current_image is not None, timeout=20000)
    qtbot.wait(300)
    assert w.current_image_id == second_id and w.canvas.image().shape == (1200, 1000)
    assert shown == [second_id]


def test_too_large_question_and_load_errors_come_from_the_background(main_window, big_png, low_threshold,
                                                                      monkeypatch, qtbot, tmp_path):
    w = main_window
    real = cache_module.load_image
    monkeypatch.setattr(cache_module, "load_image",
                        lambda path, max_pixels=1: real(path, max_pixels=None if max_pixels is None else 1000))
    questions = []
    w.questions.confirm = lambda title, text: questions.append(text) or True
    big_id = w.add_images([big_png])[0]
    qtbot.waitUntil(lambda: w.current_image is not None, timeout=20000)
    assert questions and "20,000,000 pixels" in questions[0]
    assert w.current_image_id == big_id and w.current_image.shape == (BIG_H, BIG_W)

    broken = tmp_path / "broken.png"
    broken.write_bytes(big_png.read_bytes()[:200_000])  # valid header, truncated data
    monkeypatch.setattr(cache_module, "load_image", real)
    with qtbot.waitSignal(w.currentImageChanged, timeout=20000) as blocker:
        broken_id = w.add_images([broken])[0]
    assert blocker.args == [broken_id]
    assert w.current_image is None and w.current_document() is None
    assert w.last_error and "broken.png" in w.last_error


def test_neighbours_are_decoded_ahead_on_the_runner(main_window, qtbot):
    """After an image is shown, the next and previous ones are decoded in the background, so A/D is instant."""
    w = main_window
    w.session.image_cache.clear()
    w.show_image("sample_03.jpg")
    qtbot.waitUntil(lambda: "sample_02.jpg" in w.session.image_cache and "sample_04.jpg" in w.session.image_cache,
                    timeout=10000)
    assert not w.runner.pending("image:prefetch:sample_04.jpg")
    cached = w.session.image_cache.peek("sample_04.jpg")
    w.next_image()
    assert w.current_image is cached
