"""Background work for the image browser: thumbnails and label statuses, off the GUI thread.

Workers are QRunnables on a QThreadPool; results come back through a QObject's signals
(queued to the GUI thread). A generation number lets a new project cancel stale work.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

THUMB_SIZE = 56


def make_thumbnail(path: Path, size: int = THUMB_SIZE) -> QImage:
    """A small RGB QImage of an image file (any format load_image reads); null QImage on failure."""
    import numpy as np  # imported here (pool threads): the window opens without numpy / Pillow
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as img:
            img.draft("RGB", (size * 2, size * 2))  # fast JPEG downscale while decoding
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGB", "L", "P", "RGBA", "LA", "CMYK", "1"):
                img = img.convert("RGB")
                img.thumbnail((size, size))
                arr = np.asarray(img, dtype=np.uint8)
            else:
                raise ValueError("needs the full loader")
    except Exception:  # noqa: BLE001 - 16-bit/float and odd files go through the shared loader
        try:
            from segstudio.core.image_io import load_image

            rgb = load_image(path).rgb
            step = max(1, max(rgb.shape[0], rgb.shape[1]) // size)
            arr = np.ascontiguousarray(rgb[::step, ::step])
        except Exception:  # noqa: BLE001 - an unreadable file gets no thumbnail
            return QImage()
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class _Signals(QObject):
    thumbnailReady = Signal(int, str, QImage)  # generation, image id, thumbnail
    statusesReady = Signal(int, list)  # generation, [(image id, status str)]


def _emit(signal, *args) -> bool:
    """Emit from a pool thread; False when the receiver side is gone (window closed, app quitting)."""
    try:
        signal.emit(*args)
    except RuntimeError:  # "Signal source has been deleted"
        return False
    return True


class _ThumbnailJob(QRunnable):
    def __init__(self, owner: "BackgroundLoader", generation: int, image_id: str, path: Path) -> None:
        super().__init__()
        self.owner, self.generation, self.image_id, self.path = owner, generation, image_id, path

    def run(self) -> None:
        if self.generation != self.owner.generation:
            return
        image = make_thumbnail(self.path)
        if self.generation == self.owner.generation:
            _emit(self.owner.signals.thumbnailReady, self.generation, self.image_id, image)


class _StatusJob(QRunnable):
    """Label status of many images, reported in batches."""

    def __init__(self, owner: "BackgroundLoader", generation: int, project, image_ids: list[str]) -> None:
        super().__init__()
        self.owner, self.generation, self.project, self.image_ids = owner, generation, project, image_ids

    def run(self) -> None:
        from segstudio.gui.browser_model import status_of_file

        batch: list[tuple[str, str]] = []
        for image_id in self.image_ids:
            if self.generation != self.owner.generation:
                return
            batch.append((image_id, status_of_file(self.project, image_id)))
            if len(batch) >= 256:
                if not _emit(self.owner.signals.statusesReady, self.generation, batch):
                    return
                batch = []
        if batch and self.generation == self.owner.generation:
            _emit(self.owner.signals.statusesReady, self.generation, batch)


class BackgroundLoader:
    """Queues thumbnail and status jobs on a private thread pool."""

    def __init__(self, max_threads: int = 2) -> None:
        self.signals = _Signals()
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(max_threads)
        self.generation = 0
        self._lock = threading.Lock()

    def new_generation(self) -> int:
        """Cancel queued work (running jobs drop their results) and start a new generation."""
        with self._lock:
            self.generation += 1
            self.pool.clear()
            return self.generation

    def request_thumbnail(self, image_id: str, path: Path, priority: int = 0) -> None:
        self.pool.start(_ThumbnailJob(self, self.generation, image_id, path), priority)

    def request_statuses(self, project, image_ids: list[str]) -> None:
        # Statuses go first: they are cheap per image and the filter needs them.
        self.pool.start(_StatusJob(self, self.generation, project, list(image_ids)), 10)

    def wait(self, msecs: int = 5000) -> bool:
        return self.pool.waitForDone(msecs)
