"""Opening a folder of 10,000 small images: time until the browser model holds every row.

Thumbnails and label statuses keep arriving afterwards (background threads); the time until all
statuses are known is reported too, and a plain ``os.scandir`` of the folder as the baseline.
Prints one JSON object: images, list_s, statuses_s, scandir_s.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_folder(root: Path, n: int) -> None:
    import numpy as np
    from PIL import Image

    images = root / "images"
    images.mkdir(parents=True)
    tiny = root / "tiny.png"
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(tiny)
    data = tiny.read_bytes()
    tiny.unlink()
    for i in range(n):
        (images / f"img_{i}.png").write_bytes(data)


def main(n: int = 10_000) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="segstudio-browser-"))
    os.environ["SEGSTUDIO_DATA_DIR"] = str(tmp / "data")
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    make_folder(tmp / "project", n)
    from PySide6.QtWidgets import QApplication

    from segstudio.gui.app import create_application
    from segstudio.gui.main_window import MainWindow

    app = create_application()
    window = MainWindow()
    window.show_error_dialogs = False
    window.show()
    app.processEvents()

    t0 = time.perf_counter()
    names = [e.name for e in os.scandir(tmp / "project" / "images")]
    scandir_s = time.perf_counter() - t0
    assert len(names) == n

    t0 = time.perf_counter()
    ok = window.open_project(tmp / "project")
    rows = window.browser.model.rowCount()
    list_s = time.perf_counter() - t0
    assert ok and rows == n, (ok, rows)
    model = window.browser.model
    deadline = time.perf_counter() + 300
    while model.counts()["unknown"] and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.005)
    statuses_s = time.perf_counter() - t0
    window.close()
    QApplication.processEvents()
    return {"images": rows, "list_s": round(list_s, 3), "statuses_s": round(statuses_s, 3),
            "scandir_s": round(scandir_s, 4)}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)))
