""""Start from" in the training form: scratch, a pretrained backbone, a run of this project, or a checkpoint file.

Pretrained weights are only ever downloaded when the user clicks the button that says what and how big
("Download ImageNet weights (21 MB)"); the download runs on the job runner with a progress bar and a
cancel button, checked against the published checksum, and leaves nothing behind when it fails. Which
weights exist (and whether they are present) is looked up on the runner too, because the registry
comes from torchvision's weights API.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout,
                               QWidget)

from segstudio.gui.jobs import JobRunner

SCRATCH, PRETRAINED, RUN, FILE = "scratch", "pretrained", "run", "file"
DOWNLOAD_KEY = "weights:download"


@dataclass(frozen=True)
class WeightsState:
    """What the weights folder has for one model (from ``engine.weights.model_weights``)."""

    model: str
    name: str | None  # weights name, None: the model has no pretrained weights
    size_bytes: int
    present: bool
    path: Path | None


def probe_weights(_job=None) -> dict[str, WeightsState]:
    """model -> WeightsState for every model (imports torchvision: run it on the job runner)."""
    from segstudio.engine.weights import model_weights

    return {m.model: WeightsState(m.model, m.entry.name if m.entry else None,
                                  m.entry.size_bytes if m.entry else 0, m.present, m.path) for m in model_weights()}


def size_text(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{max(1, n // 1024)} kB"


class PopupCombo(QComboBox):
    """A combo that says when its list is about to open (the weights are looked up then, off the GUI thread)."""

    aboutToShowPopup = Signal()

    def showPopup(self) -> None:  # noqa: N802 - Qt override
        self.aboutToShowPopup.emit()
        super().showPopup()


class StartFromPicker(QWidget):
    """The choice of initial weights; ``config_changes()`` are its TrainConfig fields (``init``, ``pretrained``)."""

    changed = Signal()
    downloaded = Signal(object)  # Path of the weights file now in the weights folder
    downloadFailed = Signal(str)

    def __init__(self, runner: JobRunner, model: Callable[[], str], parent: QWidget | None = None) -> None:
        """``model()``: the model the form trains now (the pretrained option depends on it)."""
        super().__init__(parent)
        self.runner, self.model = runner, model
        self.weights: dict[str, WeightsState] | None = None  # None: not looked up yet
        self.runs: list[tuple[str, Path]] = []  # (run name, checkpoint)
        self.file: Path | None = None
        self._user_chose = False  # the user picked an entry (else the default follows the model)
        self._cancel = threading.Event()
        self.combo = PopupCombo()
        self.combo.setToolTip("Which weights training starts from. A run or checkpoint file (of any project): its "
                              "model is trained further with a fresh schedule; classes that differ get a new head.")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(14)
        self.download_button = QPushButton()
        self.download_button.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.combo)
        layout.addWidget(self.download_button)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self.combo.aboutToShowPopup.connect(self.look_up_weights)
        self.combo.activated.connect(self._on_activated)
        self.combo.currentIndexChanged.connect(lambda _i: self._update())
        self.download_button.clicked.connect(self.download)
        self.cancel_button.clicked.connect(self._cancel.set)
        self._fill()

    # ---------------------------------------------------------------- content
    def look_up_weights(self) -> None:
        """Find out (in the background) which models have pretrained weights and which are present."""
        self.runner.submit("weights:probe", probe_weights, lane="batch", on_done=self._on_weights,
                           on_error=lambda exc, _tb: self._show_note(f"Pretrained weights unavailable: {exc}"))

    def _on_weights(self, weights: dict[str, WeightsState]) -> None:
        self.weights = weights
        self._fill()

    def set_runs(self, runs: list[tuple[str, Path]]) -> None:
        """The project's runs with a checkpoint, newest first (the panel passes them on every refresh)."""
        self.runs = list(runs)
        self._fill()

    def model_changed(self) -> None:
        self._fill()

    def _fill(self) -> None:
        current = self.choice()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem("Scratch (random weights)", (SCRATCH, None))
        state = (self.weights or {}).get(self.model())
        if self.weights is None:
            self.combo.addItem("Pretrained backbone (when downloaded)", (PRETRAINED, None))
        elif state is not None and state.name is not None:
            label = "ImageNet backbone" + ("" if state.present else " (not downloaded)")
            self.combo.addItem(label, (PRETRAINED, None))
        for name, ckpt in self.runs:
            self.combo.addItem(f"Run {name} ({ckpt.name})", (RUN, ckpt))
        if self.file is not None:
            self.combo.addItem(f"Checkpoint {self.file.name}", (FILE, self.file))
        self.combo.addItem("Checkpoint file…", (FILE, None))
        index = next((i for i in range(self.combo.count()) if self.combo.itemData(i) == current), -1)
        if index < 0 or not self._user_chose:  # as on the command line: pretrained weights when the model has them (and they are present)
            default = PRETRAINED if self.weights is None or (state is not None and state.name is not None) else SCRATCH
            kinds = [self.combo.itemData(i)[0] for i in range(self.combo.count())]
            index = kinds.index(default) if default in kinds else 0
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        self._update()

    def choice(self) -> tuple[str, Path | None]:
        data = self.combo.currentData()
        return tuple(data) if data else (SCRATCH, None)  # type: ignore[return-value]

    def choose(self, kind: str, path: Path | None = None) -> bool:
        """Select an entry (tests and the form's restore); False when there is no such entry."""
        self._user_chose = True
        if kind == FILE and path is not None:
            self.file = Path(path)
            self._fill()
        for i in range(self.combo.count()):
            if self.combo.itemData(i) == (kind, Path(path) if path else None) or \
                    (path is None and self.combo.itemData(i)[0] == kind):
                self.combo.setCurrentIndex(i)
                return True
        return False

    def _on_activated(self, index: int) -> None:
        self._user_chose = True
        kind, path = self.combo.itemData(index)
        if kind == FILE and path is None:
            chosen, _ = QFileDialog.getOpenFileName(self, "Start from a segstudio checkpoint", "",
                                                    "segstudio checkpoints (*.pt);;All files (*)")
            if chosen:
                self.choose(FILE, Path(chosen))
            else:
                self.combo.setCurrentIndex(0)

    # ---------------------------------------------------------------- what the form trains with
    @property
    def starts_from_checkpoint(self) -> bool:
        kind, path = self.choice()
        return kind in (RUN, FILE) and path is not None

    def config_changes(self) -> dict:
        """``init`` and ``pretrained`` for the training config (a checkpoint brings its own model)."""
        kind, path = self.choice()
        if kind in (RUN, FILE) and path is not None:
            return {"init": str(path), "pretrained": False}
        return {"init": None, "pretrained": kind == PRETRAINED}

    # ---------------------------------------------------------------- the download button
    def _update(self) -> None:
        kind, _ = self.choice()
        state = (self.weights or {}).get(self.model())
        missing = kind == PRETRAINED and state is not None and state.name is not None and not state.present
        busy = self.runner.pending(DOWNLOAD_KEY)
        self.download_button.setVisible(missing and not busy)
        if state is not None and state.name is not None:
            self.download_button.setText(f"Download ImageNet weights ({size_text(state.size_bytes)})")
            self.download_button.setToolTip(f"Fetch {state.name} into the weights folder ({state.path.parent}), "
                                            "checked against its published checksum. Nothing is downloaded "
                                            "unless you click here.")
        if kind == PRETRAINED and state is not None and state.name is None:
            self._show_note(f"{self.model()} has no pretrained weights: it trains from scratch.")
        elif missing and not busy:
            self._show_note("Not downloaded yet: training starts from random weights until you download them "
                            "(or import a file with 'segstudio weights import' on a machine without internet).")
        elif not busy:
            self.note.setVisible(False)
        self.changed.emit()

    def _show_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(True)

    def download(self) -> bool:
        """Fetch the weights of the current model (the user clicked the button that says what and how big)."""
        state = (self.weights or {}).get(self.model())
        if state is None or state.name is None or self.runner.pending(DOWNLOAD_KEY):
            return False
        self._cancel = cancel = threading.Event()
        name = state.name

        def work(job):
            from segstudio.engine.weights_store import download

            return download(name, progress=lambda done, total: job.report((done, total)),
                            cancel=lambda: cancel.is_set() or job.cancelled)

        self.runner.submit(DOWNLOAD_KEY, work, lane="batch", on_progress=self._on_progress, on_done=self._on_done,
                           on_error=self._on_failed)
        self.download_button.setVisible(False)
        self.progress.setRange(0, max(1, state.size_bytes))
        self.progress.setValue(0)
        self.progress.setFormat(f"downloading {name}… %p%")
        for w in (self.progress, self.cancel_button):
            w.setVisible(True)
        self.note.setVisible(False)
        return True

    def _on_progress(self, payload) -> None:
        done, total = payload
        if total:
            self.progress.setRange(0, int(total))
        self.progress.setValue(int(done))

    def _end_download(self) -> None:
        for w in (self.progress, self.cancel_button):
            w.setVisible(False)

    def _on_done(self, path: Path) -> None:
        self._end_download()
        self._show_note(f"Downloaded {Path(path).name} into {Path(path).parent}.")
        self.downloaded.emit(Path(path))
        self.look_up_weights()

    def _on_failed(self, exc: BaseException, _trace: str) -> None:
        self._end_download()
        self._update()
        self._show_note(str(exc))
        self.downloadFailed.emit(str(exc))

    @property
    def model_locked(self) -> bool:
        """A checkpoint brings its own model: the form's model choice does not apply."""
        return self.starts_from_checkpoint


