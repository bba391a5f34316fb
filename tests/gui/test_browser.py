"""The image browser: clicking, status filter, uncertainty sort, background thumbnails, drag and drop."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QDragEnterEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from segstudio.gui.browser_model import LABELED, PARTIAL, PREDICTED, SORT_UNCERTAINTY, UNLABELED
from segstudio.gui.image_browser import row_texts


def _click_row(qtbot, browser, image_id):
    row = browser.model.row_of(image_id)
    rect = browser.view.visualRect(browser.model.index(row, 0))
    QTest.mouseClick(browser.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())


def test_clicking_an_image_in_the_list_opens_it(main_window, qtbot):
    w = main_window
    with qtbot.waitSignal(w.currentImageChanged, timeout=2000) as blocker:
        _click_row(qtbot, w.browser, "sample_03.jpg")
    assert blocker.args == ["sample_03.jpg"]
    assert w.current_image.shape == (64, 64)
    assert w.status.index_label.text() == "3 / 6"


def test_statuses_computed_in_background_and_filter(main_window, qtbot):
    w, model = main_window, main_window.browser.model
    qtbot.waitUntil(lambda: model.status("sample_06.jpg") == UNLABELED, timeout=5000)
    assert model.status("sample_01.jpg") == LABELED
    w.browser.set_filter(UNLABELED)
    assert model.visible_ids() == ["sample_04.jpg", "sample_05.jpg", "sample_06.jpg"]
    w.canvas.setFocus()
    w.show_image("sample_04.jpg")
    QTest.keyClick(w.canvas, Qt.Key.Key_D)  # next within the filtered list
    assert w.current_image_id == "sample_05.jpg"
    # a partly labeled save moves the image to "partly labeled"
    doc = w.current_document()
    doc.paint(0, 0, 8, 8, lambda v: v.fill(1))
    doc.end_edit()
    assert w.save_now()
    assert model.status("sample_05.jpg") == PARTIAL
    w.browser.set_filter(PARTIAL)
    qtbot.waitUntil(lambda: model.visible_ids() == ["sample_05.jpg"], timeout=2000)
    w.set_prediction("sample_02.jpg", np.zeros((64, 64), np.uint8))
    w.browser.set_filter(PREDICTED)
    assert model.visible_ids() == ["sample_02.jpg"]
    w.browser.set_filter(None)
    assert model.rowCount() == 6


def test_sort_most_uncertain_first_ranks_the_images_to_label_next(main_window, qtbot):
    """Unlabeled images first (most uncertain on top), then partly labeled, then labeled; the value is shown."""
    w, model = main_window, main_window.browser.model
    qtbot.waitUntil(lambda: model.counts()["unknown"] == 0, timeout=5000)
    w.set_uncertainty("sample_04.jpg", 0.2)
    w.set_uncertainty("sample_06.jpg", 0.9)
    w.set_uncertainty("sample_02.jpg", 0.95)  # labeled: however uncertain, it comes after the unlabeled ones
    w.browser.set_sort(SORT_UNCERTAINTY)
    assert model.visible_ids() == ["sample_06.jpg", "sample_04.jpg", "sample_05.jpg",
                                   "sample_02.jpg", "sample_01.jpg", "sample_03.jpg"]
    w.set_uncertainty("sample_05.jpg", 0.99)
    model.refilter()
    assert model.visible_ids()[0] == "sample_05.jpg"
    index = model.index(0, 0)
    assert row_texts(index, width=60)[1] == "0.99"  # the value is never elided, however narrow the row


def test_sort_order_and_filter_survive_a_restart(main_window, qtbot):
    from segstudio.gui.main_window import MainWindow

    main_window.browser.sort_combo.setCurrentIndex(main_window.browser.sort_combo.findData(SORT_UNCERTAINTY))
    main_window.browser.filter_combo.setCurrentIndex(main_window.browser.filter_combo.findData(UNLABELED))
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.browser.model.sort == SORT_UNCERTAINTY and again.browser.model.filter == UNLABELED
    assert again.browser.sort_combo.currentData() == SORT_UNCERTAINTY
    again.close()


def test_thumbnails_arrive_from_worker_threads(main_window, qtbot):
    model = main_window.browser.model
    model.invalidate_thumbnail("sample_01.jpg")
    model._pending.discard("sample_01.jpg")  # noqa: SLF001
    placeholder = model.data(model.index(0, 0), Qt.ItemDataRole.DecorationRole)
    assert placeholder is model._placeholder  # noqa: SLF001 - the GUI thread never decodes
    assert main_window.runner.pending("browser:thumb:sample_01.jpg")
    qtbot.waitUntil(lambda: "sample_01.jpg" in model._thumbs, timeout=5000)  # noqa: SLF001
    pix = model._thumbs["sample_01.jpg"]  # noqa: SLF001
    assert not pix.isNull() and max(pix.width(), pix.height()) <= 56


def _drop(window, paths, target=None):
    """Drag enter + drop of file URLs on ``target`` (default: the window itself)."""
    target = target or window
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(target.width() / 2, target.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)


def test_dropping_image_files_copies_them_into_the_project(main_window, tmp_path, qtbot):
    outside = tmp_path / "outside"
    outside.mkdir()
    files = []
    for i, name in enumerate(["new_10.png", "new_2.png"]):
        Image.fromarray(np.full((40, 30, 3), 50 * i, np.uint8)).save(outside / name)
        files.append(outside / name)
    (outside / "notes.txt").write_text("not an image")
    _drop(main_window, files + [outside / "notes.txt"])
    project = main_window.project
    assert (project.images_dir / "new_2.png").is_file() and (project.images_dir / "new_10.png").is_file()
    ids = main_window.browser.model.image_ids()
    assert ids.index("new_2.png") < ids.index("new_10.png")  # natural sort
    assert "notes.txt" not in ids
    assert main_window.current_image_id == "new_10.png"
    assert main_window.current_image.shape == (40, 30)


def test_dropping_the_same_file_twice_does_not_duplicate_it(main_window, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    src = outside / "cells.png"
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(src)
    _drop(main_window, [src])
    _drop(main_window, [src])  # the very same file again: nothing new, and the user is told
    images = main_window.project.images_dir
    assert (images / "cells.png").is_file() and not (images / "cells_1.png").exists()
    assert "already in the project (cells.png)" in main_window.status.currentMessage()
    assert main_window.current_image_id == "cells.png"
    Image.fromarray(np.full((16, 16, 3), 10, np.uint8)).save(src)  # same name, other pixels
    _drop(main_window, [src])
    assert (images / "cells_1.png").is_file()
    assert "stored as cells_1.png" in main_window.status.currentMessage()


def test_dropping_a_folder_opens_it_as_project(main_window, tmp_path, qtbot):
    folder = tmp_path / "plain"
    folder.mkdir()
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(folder / "a.png")
    _drop(main_window, [folder])  # a plain folder first asks for its classes (tests/gui/test_new_project.py)
    question = main_window.opener.new_project_dialog
    qtbot.waitUntil(question.create_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(main_window.projectOpened, timeout=3000):
        QTest.mouseClick(question.create_button, Qt.MouseButton.LeftButton)
    assert main_window.project.root == folder
    assert main_window.current_image_id == "a.png"


def test_listing_many_images_is_immediate(qtbot, tmp_path):
    from segstudio.gui.image_browser import ImageBrowser
    from segstudio.gui.jobs import JobRunner
    from segstudio.session import Session

    root = tmp_path / "many"
    (root / "images").mkdir(parents=True)
    png = (tmp_path / "one.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(png)
    data = png.read_bytes()
    for i in range(300):
        (root / "images" / f"img_{i}.png").write_bytes(data)
    session, runner = Session(), JobRunner()
    browser = ImageBrowser(session, runner)
    qtbot.addWidget(browser)
    session.open_project(root)
    assert browser.model.rowCount() == 300
    assert browser.model.image_ids()[:3] == ["img_0.png", "img_1.png", "img_2.png"]
    qtbot.waitUntil(lambda: browser.model.counts()["unknown"] == 0, timeout=10000)
    assert browser.model.counts()[UNLABELED] == 300
    assert runner.shutdown(10)


def test_next_previous_keys_work_while_the_list_has_focus(main_window, qtbot):
    w = main_window
    _click_row(qtbot, w.browser, "sample_02.jpg")
    w.browser.view.setFocus()
    QTest.keyClick(w.browser.view, Qt.Key.Key_D)
    assert w.current_image_id == "sample_03.jpg"
    QTest.keyClick(w.browser.view, Qt.Key.Key_A)
    assert w.current_image_id == "sample_02.jpg"
    assert w.browser.view.currentIndex().row() == 1


def test_dropping_an_image_on_the_canvas_adds_it(main_window, tmp_path):
    src = tmp_path / "onto_canvas.png"
    Image.fromarray(np.full((24, 36, 3), 200, np.uint8)).save(src)
    _drop(main_window, [src], target=main_window.canvas.viewport())
    assert (main_window.project.images_dir / "onto_canvas.png").is_file()
    assert main_window.current_image_id == "onto_canvas.png"
    assert main_window.current_document().shape == (24, 36)
