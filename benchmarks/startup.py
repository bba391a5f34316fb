"""Startup time: process start to main window shown, against a bare PySide6 window (same run).

Both are started as subprocesses (offscreen Qt), several times, interleaved; medians are compared.
Prints one JSON object: app_window_s, bare_qt_window_s, ratio, torch_imported.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

BARE = r"""
import sys, time, json
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
w = QMainWindow()
w.resize(1200, 800)
w.show()
def shown():
    print(json.dumps({"t": time.time(), "torch": "torch" in sys.modules}), flush=True)
    app.quit()
QTimer.singleShot(0, shown)
app.exec()
"""

APP = r"""
import sys, time, json
from PySide6.QtCore import QTimer
from segstudio.gui.app import create_application, create_main_window
app = create_application()
w = create_main_window(sys.argv[1])
w.show()
def shown():
    print(json.dumps({"t": time.time(), "torch": "torch" in sys.modules}), flush=True)
    w.close()
    app.quit()
QTimer.singleShot(0, shown)
app.exec()
"""


def run_once(code: str, args: list[str], env: dict) -> tuple[float, bool]:
    start = time.time()
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300)
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            data = json.loads(line)
            return data["t"] - start, bool(data["torch"])
    raise RuntimeError(f"no result from child: {out.stderr[-2000:]}")


def main(repetitions: int = 5) -> dict:
    tmp = tempfile.mkdtemp(prefix="segstudio-startup-")
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "SEGSTUDIO_DATA_DIR": os.path.join(tmp, "data"), "XDG_CONFIG_HOME": os.path.join(tmp, "config")}
    from segstudio.core.demo import generate_demo_project

    project = os.path.join(tmp, "demo")
    generate_demo_project(project)
    run_once(BARE, [], env)  # warm the file cache
    run_once(APP, [project], env)
    bare, app, torch_seen = [], [], False
    for _ in range(repetitions):
        bare.append(run_once(BARE, [], env)[0])
        t, torch_loaded = run_once(APP, [project], env)
        app.append(t)
        torch_seen |= torch_loaded
    app_s, bare_s = statistics.median(app), statistics.median(bare)
    return {"app_window_s": round(app_s, 3), "bare_qt_window_s": round(bare_s, 3),
            "ratio": round(app_s / bare_s, 2), "torch_imported": torch_seen}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)))
