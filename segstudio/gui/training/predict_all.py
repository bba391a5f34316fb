""""Predict all": run a checkpoint over every image of the project in the background.

Each prediction is stored with ``Project.write_prediction`` (PROJECT/predictions, apart from the
masks) and reported with its uncertainty (mean per-pixel entropy) so the browser can sort by it.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from segstudio.gui.training.prediction import PredictionCancelled, PredictorCache, predict_file
from segstudio.gui.training.worker import lower_thread_priority, worker_torch_threads


class PredictAllWorker(QObject):
    """Worker-thread side: predicts ``image_ids`` one by one; ``cancel`` is thread-safe."""

    imageDone = Signal(int, int, str, object, float)  # index, total, image_id, mask, entropy
    imageFailed = Signal(str, str)  # image_id, message
    finished = Signal(int, bool, str)  # predicted count, cancelled, error trace ("" when none)

    def __init__(self, project_root: Path, image_ids: list[str], checkpoint: Path, device: str = "auto") -> None:
        super().__init__()
        self.project_root = Path(project_root)
        self.image_ids = list(image_ids)
        self.checkpoint = Path(checkpoint)
        self.device = device
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @Slot()
    def run(self) -> None:
        done, error = 0, ""
        try:
            import torch

            from segstudio.core.project import Project

            lower_thread_priority()
            torch.set_num_threads(worker_torch_threads())
            project = Project.open(self.project_root)
            cache = PredictorCache(self.device, self._cancel)  # cancel also stops mid-image
            cache.get(self.checkpoint)  # an unreadable checkpoint stops here, with one message
            total = len(self.image_ids)
            for i, image_id in enumerate(self.image_ids):
                if self._cancel.is_set():
                    break
                try:
                    pred = predict_file(cache, self.checkpoint, project.image_path(image_id))
                    project.write_prediction(image_id, pred.mask)
                except PredictionCancelled:
                    break
                except Exception as exc:  # noqa: BLE001 - one bad image does not stop the others
                    self.imageFailed.emit(image_id, f"{type(exc).__name__}: {exc}")
                    continue
                done += 1
                self.imageDone.emit(i + 1, total, image_id, pred.mask, float(pred.entropy))
        except PredictionCancelled:
            pass
        except Exception:  # noqa: BLE001 - checkpoint unreadable etc.: reported in the panel
            error = traceback.format_exc()
        self.finished.emit(done, self._cancel.is_set(), error)


class PredictAllJob(QObject):
    """GUI-thread handle: starts the worker thread, forwards its signals, joins it when done."""

    imageDone = Signal(int, int, str, object, float)
    imageFailed = Signal(str, str)
    finished = Signal(int, bool, str)

    def __init__(self, project_root: Path, image_ids: list[str], checkpoint: Path, device: str = "auto",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.total = len(image_ids)
        self.thread = QThread()
        self.thread.setObjectName("segstudio-predict-all")
        self.worker = PredictAllWorker(project_root, image_ids, checkpoint, device)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.imageDone.connect(self.imageDone)
        self.worker.imageFailed.connect(self.imageFailed)
        self.worker.finished.connect(self._on_finished)
        self.running = False

    def start(self) -> None:
        self.running = True
        self.thread.start()

    def cancel(self) -> None:
        self.worker.cancel()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel and join (window close)."""
        self.worker.cancel()
        self.thread.quit()
        ok = self.thread.wait(timeout_ms) if self.thread.isRunning() else True
        self.running = False
        return bool(ok)

    @Slot(int, bool, str)
    def _on_finished(self, done: int, cancelled: bool, error: str) -> None:
        self.thread.quit()
        self.thread.wait(5000)
        self.running = False
        self.finished.emit(done, cancelled, error)
