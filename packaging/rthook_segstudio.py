"""PyInstaller runtime hook: runs in the frozen app before segstudio is imported."""

import os
import sys

# One Qt binding only: tell pyqtgraph not to probe PyQt5/PyQt6/PySide2.
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
if sys.platform.startswith("linux"):
    # The bundled Qt finds its platform plugins itself; do not let a system-wide
    # QT_PLUGIN_PATH (e.g. from another Qt install) load incompatible plugins.
    os.environ.pop("QT_PLUGIN_PATH", None)
