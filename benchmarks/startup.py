"""Startup time: process start to main window shown, against a bare PySide6 window (same run).

Both are started as subprocesses (offscreen Qt), several times, interleaved; medians are compared.
"Shown" is the same moment for both: the first paint of a widget of the window. The app child runs
exactly what ``segstudio`` runs (``segstudio.gui.app.start_app``, as ``run_app`` does): the real main
window is shown first and the project + first image open in the next event-loop turn; that later
moment is reported too (``app_ready_s``: project open, first image on the canvas).
Prints one JSON object: app_window_s, bare_qt_window_s, ratio, app_ready_s, torch_imported.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

FIRST_PAINT = r"""
import sys, time, json
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

class FirstPaint(QObject):
    # records the first paint of any widget of the top-level window named NAME, then calls THEN
    def __init__(self, name, then):
        super().__init__()
        self.name, self.then, self.t = name, then, None
    def eventFilter(self, obj, event):
        if (self.t is None and event.type() == QEvent.Type.Paint and isinstance(obj, QWidget)
                and obj.window().objectName() == self.name):
            self.t = time.time()
            QTimer.singleShot(0, self.then)
        return False
"""

BARE = FIRST_PAINT + r"""
from PySide6.QtWidgets import QMainWindow
app = QApplication(sys.argv[:1])
def shown():
    print(json.dumps({"t": watcher.t, "ready": watcher.t, "torch": "torch" in sys.modules}), flush=True)
    app.quit()
watcher = FirstPaint("bare", shown)
app.installEventFilter(watcher)
w = QMainWindow()
w.setObjectName("bare")
w.resize(1200, 800)
w.show()
app.exec()
"""

APP = FIRST_PAINT + r"""
app = QApplication(sys.argv[:1])  # start_app's create_application() adopts it (the filter must come first)
from segstudio.gui.app import start_app
state = {}
def shown():
    state["torch"] = "torch" in sys.modules
    poll()
def poll():  # then wait for the project and its first image (opened right after the window is shown)
    w = state["window"]
    if w.project is None or w.current_image_id is None or w.canvas.image() is None:
        QTimer.singleShot(1, poll)
        return
    ready = time.time()
    print(json.dumps({"t": watcher.t, "ready": ready, "torch": state["torch"] or "torch" in sys.modules}), flush=True)
    w.close()
    app.quit()
watcher = FirstPaint("segstudio_main_window", shown)
app.installEventFilter(watcher)
state["app"], state["window"] = start_app(sys.argv[1])  # exactly what run_app does before app.exec()
app.exec()
"""


def run_once(code: str, args: list[str], env: dict) -> tuple[float, float, bool]:
    start = time.time()
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300)
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            data = json.loads(line)
            return data["t"] - start, data["ready"] - start, bool(data["torch"])
    raise RuntimeError(f"no result from child: {out.stderr[-2000:]}")


def main(repetitions: int = 5) -> dict:
    tmp = tempfile.mkdtemp(prefix="segstudio-startup-")
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "SEGSTUDIO_DATA_DIR": os.path.join(tmp, "data"), "XDG_CONFIG_HOME": os.path.join(tmp, "config")}
    # An installed app runs from compiled bytecode (pip compiles on install); a session that sets
    # PYTHONDONTWRITEBYTECODE would otherwise make the app recompile its modules on every start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    from segstudio.core.demo import generate_demo_project

    project = os.path.join(tmp, "demo")
    generate_demo_project(project)
    run_once(BARE, [], env)  # warm the file cache and write the bytecode caches
    run_once(APP, [project], env)
    bare, app, ready, torch_seen = [], [], [], False
    for _ in range(repetitions):
        bare.append(run_once(BARE, [], env)[0])
        t, t_ready, torch_loaded = run_once(APP, [project], env)
        app.append(t)
        ready.append(t_ready)
        torch_seen |= torch_loaded
    app_s, bare_s = statistics.median(app), statistics.median(bare)
    return {"app_window_s": round(app_s, 3), "bare_qt_window_s": round(bare_s, 3),
            "ratio": round(app_s / bare_s, 2), "app_ready_s": round(statistics.median(ready), 3),
            "torch_imported": torch_seen}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)))
