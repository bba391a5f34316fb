"""Help > About: versions (segstudio, Python, Qt, PySide6, torch, CUDA), the GPU in use, the log file.

torch is never imported when the app starts: until the engine is loaded (first training or
prediction) the dialog says "not loaded" and offers a button that loads it in a background
thread. :func:`set_app_identity` gives the app its window icon and desktop id.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from segstudio import __version__
from segstudio.core.paths import user_data_dir
from segstudio.engine.weights import weights_dir
from segstudio.gui.jobs import JobRunner
from segstudio.logging_setup import log_file_path
from segstudio.resources import APP_ID, ICON_SIZES, icon_path

NOT_LOADED = "not loaded (loads with the first training or prediction)"
_NOT_LOADED_SHORT = "not loaded"


@dataclass
class TorchInfo:
    """What the dialog shows about torch and the GPU (plain strings)."""

    torch: str
    cuda: str
    cudnn: str
    gpu: str


def torch_info(load: bool = False) -> TorchInfo:
    """torch/CUDA/GPU facts; imports torch only when ``load`` is set and it is not imported yet."""
    if "torch" not in sys.modules and not load:
        return TorchInfo(NOT_LOADED, _NOT_LOADED_SHORT, _NOT_LOADED_SHORT, _NOT_LOADED_SHORT)
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - a broken install must not break the dialog
        return TorchInfo(f"unavailable ({exc})", "-", "-", "-")
    cuda_build = torch.version.cuda or "none (CPU-only build)"
    try:
        cudnn = _cudnn_version(torch.backends.cudnn.version()) if torch.backends.cudnn.is_available() else "-"
    except Exception:  # noqa: BLE001
        cudnn = "-"
    try:
        if torch.cuda.is_available():
            index = torch.cuda.current_device()
            props = torch.cuda.get_device_properties(index)
            count = torch.cuda.device_count()
            gpu = f"cuda:{index} {props.name} ({props.total_memory / 2**30:.1f} GiB)"
            if count > 1:
                gpu += f", {count} GPUs in total"
            cuda = cuda_build
        else:
            gpu = "none: training and prediction run on the CPU"
            cuda = f"{cuda_build} (no usable GPU)" if torch.version.cuda else cuda_build
    except Exception as exc:  # noqa: BLE001 - driver problems are reported, not raised
        gpu = f"unavailable ({exc})"
        cuda = cuda_build
    return TorchInfo(torch.__version__, cuda, cudnn, gpu)


def _cudnn_version(code: int | None) -> str:
    """cuDNN's integer version as text: 92400 -> "9.24.0" (cuDNN 9), 8902 -> "8.9.2" (cuDNN 8)."""
    if not code:
        return "-"
    if code >= 90000:
        return f"{code // 10000}.{code // 100 % 100}.{code % 100}"
    return f"{code // 1000}.{code // 100 % 10}.{code % 100}"


def about_rows(info: TorchInfo | None = None) -> list[tuple[str, str]]:
    """(label, value) rows of the dialog, in order."""
    import platform

    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    info = info or torch_info()
    log = log_file_path()
    return [
        ("segstudio", __version__),
        ("Python", f"{platform.python_version()} ({platform.system()} {platform.machine()})"),
        ("Qt", qVersion()),
        ("PySide6", pyside_version),
        ("torch", info.torch),
        ("CUDA", info.cuda),
        ("cuDNN", info.cudnn),
        ("GPU in use", info.gpu),
        ("Log file", str(log) if log else "none (logging to the console only)"),
        ("Data folder", str(user_data_dir())),
        ("Weights folder", str(weights_dir())),
    ]


def about_text(info: TorchInfo | None = None) -> str:
    """The rows as plain text (what "Copy" puts on the clipboard, for bug reports)."""
    return "\n".join(f"{label}: {value}" for label, value in about_rows(info))


class AboutDialog(QDialog):
    """The About box. ``text()`` returns what it shows, as plain text."""

    def __init__(self, runner: JobRunner, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About segstudio")
        self.setObjectName("about_dialog")
        self.setMinimumWidth(460)
        self.runner = runner
        self._info = torch_info()

        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(96, 96))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel(f"<h2>segstudio {__version__}</h2>"
                       "<p>Annotate images, train a segmentation model on them, correct its predictions.</p>")
        title.setWordWrap(True)
        self.details = QLabel()
        self.details.setObjectName("about_details")
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.details.setOpenExternalLinks(False)
        self.details.linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))

        self.load_button = QPushButton("Load torch and check the GPU")
        self.load_button.setObjectName("about_load_torch")
        self.load_button.clicked.connect(self.load_torch_info)
        copy_button = QPushButton("Copy")
        copy_button.setToolTip("Copy these details to the clipboard (for bug reports)")
        copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.text()))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.addButton(copy_button, QDialogButtonBox.ButtonRole.ActionRole)

        top = QHBoxLayout()
        top.addWidget(icon)
        text_column = QVBoxLayout()
        text_column.addWidget(title)
        text_column.addWidget(self.details)
        text_column.addWidget(self.load_button, 0, Qt.AlignmentFlag.AlignLeft)
        top.addLayout(text_column, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(buttons)
        self._refresh()

    def text(self) -> str:
        """Everything the dialog shows, as plain text."""
        return about_text(self._info)

    def load_torch_info(self) -> None:
        """Import torch (on the job runner) and show its versions and the GPU."""
        self.load_button.setEnabled(False)
        self.load_button.setText("Loading torch...")
        self.runner.submit("about:torch", lambda _job: torch_info(load=True), lane="batch",
                           on_done=self._on_torch_loaded)

    def _on_torch_loaded(self, info: TorchInfo) -> None:
        import shiboken6

        if shiboken6.isValid(self):  # the dialog may have been closed meanwhile
            self._info = info
            self._refresh()

    def _refresh(self) -> None:
        rows = []
        for label, value in about_rows(self._info):
            shown = _escape(value)
            if label in ("Log file", "Data folder", "Weights folder") and value and not value.startswith("none"):
                folder = Path(value).parent if label == "Log file" else Path(value)
                shown = f'<a href="{QUrl.fromLocalFile(str(folder)).toString()}">{shown}</a>'
            rows.append(f"<tr><td><b>{_escape(label)}</b>&nbsp;&nbsp;</td><td>{shown}</td></tr>")
        self.details.setText("<table>" + "".join(rows) + "</table>")
        self.load_button.setVisible(self._info.torch == NOT_LOADED)
        self.adjustSize()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def app_icon() -> QIcon:
    """The segstudio icon with every PNG size (empty icon if the resources are missing)."""
    icon = QIcon()
    try:
        for size in ICON_SIZES:
            icon.addFile(str(icon_path(size)))
    except FileNotFoundError:
        pass
    return icon


def open_log_folder() -> None:
    """Show the folder holding the log file in the system's file manager."""
    log = log_file_path()
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log.parent)))


def set_app_identity() -> None:
    """Give the application its window icon and desktop id (once)."""
    app = QApplication.instance()
    if app is not None:
        if app.windowIcon().isNull():
            app.setWindowIcon(app_icon())
        if not QGuiApplication.desktopFileName():
            QGuiApplication.setDesktopFileName(APP_ID)
