"""Saving: autosave after a pause, save on switching and closing, failed saves keep the edit."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from segstudio.core.errors import SaveError
from segstudio.core.mask_io import read_mask
from segstudio.gui import settings as app_settings


def _paint(window, stroke, qtbot, image_id="sample_05.jpg", cls=2):
    window.show_image(image_id)
    window.select_class(cls)
    window.canvas.brush_size = 4
    with qtbot.waitSignal(window.canvas.editFinished, timeout=2000):
        stroke(window, [(8, 20), (40, 20)])
    return window.project.mask_path(image_id)


def test_autosave_writes_the_mask_after_a_pause(main_window, stroke, qtbot):
    w = main_window
    path = _paint(w, stroke, qtbot)
    assert not path.exists()  # debounced, not yet
    with qtbot.waitSignal(w.maskSaved, timeout=4000) as blocker:
        pass
    assert blocker.args == ["sample_05.jpg"]
    mask = read_mask(path)
    assert mask[20, 25] == 2 and mask[50, 50] == 255
    assert not w.current_document().dirty
    assert "•" not in w.windowTitle()


def test_switching_images_saves_at_once(main_window, stroke, qtbot):
    w = main_window
    path = _paint(w, stroke, qtbot)
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_D)
    assert w.current_image_id == "sample_06.jpg"
    assert read_mask(path)[20, 25] == 2


def test_failed_save_keeps_the_edit_shows_error_and_retries(main_window, stroke, qtbot, monkeypatch):
    w = main_window
    real_write = type(w.project).write_mask

    def failing(self, image, mask):
        raise SaveError(self.mask_path(image), "No space left on device")

    monkeypatch.setattr(type(w.project), "write_mask", failing)
    path = _paint(w, stroke, qtbot)
    with qtbot.waitSignal(w.errors.reported, timeout=4000) as blocker:
        pass
    assert "No space left on device" in blocker.args[0]
    assert "sample_05.png" in w.status.error_label.text()
    doc = w.current_document()
    assert doc.dirty and doc.mask[20, 25] == 2 and not path.exists()
    w.next_image()  # leaving the image also fails: the edit stays in memory
    assert w.session.documents.get("sample_05.jpg") is doc and doc.dirty
    # the disk is fixed: the retry saves it without any user action
    monkeypatch.setattr(type(w.project), "write_mask", real_write)
    w.autosaver.retry_timer.setInterval(50)
    w.autosaver.retry_timer.start()
    with qtbot.waitSignal(w.maskSaved, timeout=4000):
        pass
    assert read_mask(path)[20, 25] == 2 and not doc.dirty
    assert w.last_error is None and not w.status.error_label.isVisible()


def test_close_saves_pending_edits(main_window, stroke, qtbot):
    w = main_window
    path = _paint(w, stroke, qtbot)
    assert w.autosaver.pending and not path.exists()
    w.close()
    assert read_mask(path)[20, 25] == 2


def test_close_with_failing_save_asks_and_cancel_keeps_window(main_window, stroke, qtbot, monkeypatch):
    w = main_window
    path = _paint(w, stroke, qtbot)
    monkeypatch.setattr(type(w.project), "write_mask",
                        lambda self, image, mask: (_ for _ in ()).throw(OSError(30, "Read-only file system")))
    asked = []
    w.questions.unsaved_on_close = lambda message: asked.append(message) or "cancel"
    assert not w.close()
    assert w.isVisible() and asked and "Read-only file system" in asked[0]
    assert w.current_document().dirty and not path.exists()
    w.questions.unsaved_on_close = lambda message: "quit"
    root = w.project.root
    assert w.close()
    from segstudio.session.recovery import RecoveryJournal

    journal = RecoveryJournal(root)
    assert "sample_05.jpg" in journal.pending()  # kept for recovery on the next start
    assert journal.load("sample_05.jpg")[20, 25] == 2


def test_recent_projects_and_tool_settings_persist(main_window, qtbot, tmp_path):
    from segstudio.gui.main_window import MainWindow

    w = main_window
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_E)
    w.brush_spin.setValue(37)
    root = str(w.project.root.resolve())
    assert app_settings.recent_projects()[0] == root
    w.close()
    assert not app_settings.app_settings().value("window/state").isEmpty()  # dock layout saved
    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert w2.canvas.tool == "eraser" and w2.canvas.brush_size == 37
    assert app_settings.last_project() == root
    w2.populate_recent_menu()
    assert [a.text() for a in w2.recent_menu.actions()][0] == root
    w2.questions.unsaved_on_close = lambda *_a: "quit"
    w2.close()


def test_bad_project_falls_back_to_demo(qtbot, tmp_path):
    from segstudio.gui.app import create_main_window

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "segstudio.json").write_text("{not json")
    w = create_main_window(bad)
    qtbot.addWidget(w)
    w.show_error_dialogs = False
    assert w.project is not None and w.project.name == "demo-project"
    assert "segstudio.json is not valid JSON" in w.last_error
    w.close()


def test_huge_image_asks_before_loading(main_window, monkeypatch):
    import segstudio.core.image_io as image_io
    from segstudio.session import image_cache as cache_module

    w = main_window
    real = image_io.load_image
    w.session.image_cache.clear()
    monkeypatch.setattr(cache_module, "load_image", 
                        lambda path, max_pixels=1: real(path, max_pixels=None if max_pixels is None else 100))
    questions = []
    w.questions.confirm = lambda title, text: questions.append(text) or False
    w.show_image("sample_02.jpg")
    assert questions and "4,096 pixels" in questions[0]
    assert w.current_image is None and "over the limit" in w.last_error
    w.questions.confirm = lambda title, text: True
    w.show_image("sample_03.jpg")
    assert w.current_image is not None and w.current_image.shape == (64, 64)


@pytest.mark.parametrize("n", [1])
def test_document_store_evicts_clean_documents_only(n):
    from segstudio.core.mask_document import MaskDocument
    from segstudio.session.documents import DocumentStore

    store = DocumentStore(budget_bytes=3 * 100 * 100)
    docs = {f"i{k}": MaskDocument(np.zeros((100, 100), np.uint8)) for k in range(5)}
    docs["i0"].paint(0, 0, 5, 5, lambda v: v.fill(n))
    docs["i0"].end_edit()
    for k, d in docs.items():
        store.put(k, d)
    assert "i0" in store  # dirty: kept
    assert len(store) <= 4 and "i4" in store


def test_save_error_message_box_is_non_modal(main_window, monkeypatch, qtbot):
    w = main_window
    w.show_error_dialogs = True
    monkeypatch.setattr(type(w.project), "write_mask",
                        lambda self, image, mask: (_ for _ in ()).throw(SaveError(self.mask_path(image), "disk full")))
    doc = w.current_document()
    doc.paint(0, 0, 4, 4, lambda v: v.fill(1))
    doc.end_edit()
    assert not w.save_now()
    box = w.errors._box  # noqa: SLF001
    assert box is not None and box.isVisible() and not box.isModal()
    assert "disk full" in box.text()
    assert w.autosaver.pending  # a retry is scheduled
    box.close()
    w.questions.unsaved_on_close = lambda *_a: "quit"
