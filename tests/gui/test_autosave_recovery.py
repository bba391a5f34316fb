"""Crash recovery: paint in a real app process, kill -9 it, restart, restore the journaled mask."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from segstudio.core.mask_io import read_mask

DRIVER = r"""
import sys, time
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from segstudio.gui.app import create_application, create_main_window

app = create_application()
w = create_main_window(sys.argv[1])
w.show_error_dialogs = False
w.autosaver.timer.setInterval(600_000)  # the crash comes before the autosave
w.show()
w.resize(1000, 700)
app.processEvents()
w.show_image("sample_05.jpg")
w.canvas.fit_to_window()
w.select_class(3)
w.canvas.brush_size = 3
vp = w.canvas.viewport()
pt = lambda x, y: w.canvas.image_to_view(x + 0.5, y + 0.5)
QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pt(5, 40))
for x in range(6, 50, 4):
    QTest.mouseMove(vp, pt(x, 40))
QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pt(49, 40))
assert w.current_document().dirty

def poll():
    if "sample_05.jpg" in w.session.journal.pending():
        print("JOURNALED", flush=True)
    else:
        QTimer.singleShot(100, poll)

poll()
app.exec()
"""


def test_kill_9_then_restart_restores_the_painting(demo_project, qtbot, tmp_path):
    from segstudio.gui.main_window import MainWindow

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(demo_project)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 90
        line = ""
        while time.monotonic() < deadline and "JOURNALED" not in line:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert "JOURNALED" in line, proc.stderr.read()[-3000:] if proc.poll() is not None else "no journal"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    mask_path = demo_project / "masks" / "sample_05.png"
    assert not mask_path.exists()  # the crash came before any save

    window = MainWindow()
    window.show_error_dialogs = False
    window.questions.unsaved_on_close = lambda *_a: "quit"
    qtbot.addWidget(window)
    assert window.open_project(demo_project)
    window.show()
    assert window.recovery_banner.isVisible()
    with qtbot.waitSignal(window.maskSaved, timeout=5000):
        QTest.mouseClick(window.recovery_banner.restore_button, Qt.MouseButton.LeftButton)
    mask = read_mask(mask_path)
    assert (mask[40, 10:45] == 3).all() and mask[10, 10] == 255
    assert not window.recovery_banner.isVisible()
    window.session.journal.flush()
    assert window.session.journal.pending() == []
    window.show_image("sample_05.jpg")
    assert window.current_document().mask[40, 20] == 3
    window.close()


def test_discard_recovery_removes_the_journal(main_window, qtbot, stroke):
    w = main_window
    w.show_image("sample_04.jpg")
    w.canvas.brush_size = 3
    stroke(w, [(5, 5), (30, 5)])
    assert w.session.write_journal() == 1
    w.session.journal.flush()
    assert w.session.journal.pending() == ["sample_04.jpg"]
    w.autosaver.stop()
    w.session.documents.clear()  # simulate a lost session: reopen the project
    assert w.open_project(w.project.root)
    assert w.recovery_banner.isVisible()
    QTest.mouseClick(w.recovery_banner.discard_button, Qt.MouseButton.LeftButton)
    w.session.journal.flush()
    assert w.session.journal.pending() == [] and not w.recovery_banner.isVisible()
