"""Work the image browser hands to the job runner: thumbnails and label statuses (pure functions)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtGui import QImage

if TYPE_CHECKING:
    from segstudio.core.project import Project

THUMB_SIZE = 56
#: label statuses are reported to the GUI in batches of this many images
STATUS_BATCH = 256


def make_thumbnail(path: Path, size: int = THUMB_SIZE) -> QImage:
    """A small RGB QImage of an image file (any format the loader reads); a null QImage on failure."""
    import numpy as np  # imported here (worker threads): the window opens without numpy / Pillow
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as img:
            img.draft("RGB", (size * 2, size * 2))  # fast JPEG downscale while decoding
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGB", "L", "P", "RGBA", "LA", "CMYK", "1") and img.format != "TIFF":
                img = img.convert("RGB")
                img.thumbnail((size, size))
                arr = np.asarray(img, dtype=np.uint8)
            else:
                raise ValueError("needs the full loader")
    except Exception:  # noqa: BLE001 - TIFFs, 16-bit/float and odd files go through the shared loader
        try:
            from segstudio.core.image_io import load_image

            rgb = load_image(path).rgb  # the same composite the canvas shows
            step = max(1, max(rgb.shape[0], rgb.shape[1]) // size)
            arr = np.ascontiguousarray(rgb[::step, ::step])
        except Exception:  # noqa: BLE001 - an unreadable file gets no thumbnail
            return QImage()
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def status_of_file(project: Project, image_id: str) -> tuple[str, bool]:
    """(label status value 'none' | 'partial' | 'complete', has a stored prediction) from the files on disk."""
    predicted = False
    try:
        predicted = project.prediction_path(image_id).is_file()
        if not project.mask_path(image_id).is_file():
            return "none", predicted
        return project.label_status(image_id).value, predicted
    except Exception:  # noqa: BLE001 - a broken file shows as unlabeled; it is reported when opened
        return "none", predicted


def read_statuses(project: Project, image_ids: list[str], report: Callable[[list], None],
                  cancelled: Callable[[], bool]) -> None:
    """Label status of many images, reported in batches of (image id, status, predicted)."""
    batch: list[tuple[str, str, bool]] = []
    for image_id in image_ids:
        if cancelled():
            return
        batch.append((image_id, *status_of_file(project, image_id)))
        if len(batch) >= STATUS_BATCH:
            report(batch)
            batch = []
    if batch:
        report(batch)
