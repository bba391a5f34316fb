"""Starting the app: the real main window is shown first, the project opens right after, fast imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from segstudio.gui.app import start_app

CHILD = r"""
import json, sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication(sys.argv[:1])
from segstudio.gui.app import start_app
seen = {}
class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if not seen and event.type() == QEvent.Type.Paint and isinstance(obj, QWidget) \
                and obj.window().objectName() == "segstudio_main_window":
            w = obj.window()
            seen.update(numpy="numpy" in sys.modules, cv2="cv2" in sys.modules, project=w.project is not None,
                        docks=sorted(d.objectName() for d in w.findChildren(QWidget) if d.objectName().startswith("dock_")),
                        training_panel=hasattr(w, "training_panel"))
        return False
f = FirstPaint()
app.installEventFilter(f)
_, window = start_app(sys.argv[1])
def done():
    if window.current_image_id is None:
        QTimer.singleShot(10, done)
        return
    seen.update(opened=window.current_image_id, torch="torch" in sys.modules,
                import_menu=hasattr(window, "import_menu"))
    print(json.dumps(seen), flush=True)
    window.close()
    app.quit()
QTimer.singleShot(10, done)
app.exec()
"""


def test_window_is_painted_before_numpy_and_the_project_load(demo_project, tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SEGSTUDIO_DATA_DIR": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    out = subprocess.run([sys.executable, "-c", CHILD, str(demo_project)], capture_output=True, text=True,
                         env=env, timeout=120)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("{")), None)
    assert line is not None, out.stderr[-2000:]
    seen = json.loads(line)
    # first paint: the real window with its docks and training panel, before numpy / OpenCV / the project
    assert seen["training_panel"] and {"dock_images", "dock_classes", "dock_training"} <= set(seen["docks"])
    assert not seen["numpy"] and not seen["cv2"] and not seen["project"]
    # right after: the project and its first image, the Import/Export menus; never torch
    assert seen["opened"] and seen["import_menu"]
    assert seen["torch"] is False


def test_start_app_opens_the_project_after_showing_the_window(qtbot, demo_project):
    app, window = start_app(str(demo_project))
    qtbot.addWidget(window)
    window.show_error_dialogs = False
    assert window.isVisible() and app is not None
    qtbot.waitUntil(lambda: window.current_image_id is not None, timeout=10000)
    assert window.project is not None and window.project.root == demo_project.resolve()
    assert window.canvas.image() is not None
    assert window.import_menu.actions()  # File > Import, installed with the project
    window.close()
