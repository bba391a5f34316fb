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


def make_thumbnail(path: Path, size: int = THUMB_SIZE, project: Project | None = None) -> QImage:
    """A small RGB QImage of an image file (any format the loader reads); a null QImage on failure.

    Multi-channel images are composited as the canvas does (``default_display`` with the ``project``'s channel
    colours, limits from the whole image), only at the thumbnail's pixels."""
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

            image = load_image(path)
            step = max(1, max(image.height, image.width) // size)
            arr = np.ascontiguousarray(_composite(image, project, step))
        except Exception:  # noqa: BLE001 - an unreadable file gets no thumbnail
            return QImage()
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _composite(image, project: Project | None, step: int):
    """Every ``step``-th pixel of the canvas' automatic composite of ``image``."""
    if image.channels in (1, 3):
        return image.rgb[::step, ::step]
    from segstudio.core.channels import project_channels
    from segstudio.core.display import composite, default_display

    spec = None
    if project is not None:
        try:
            spec = project_channels(project)
        except Exception:  # noqa: BLE001 - a broken description: the default colours
            spec = None
    if spec is not None and (spec.is_rgb or spec.count != image.channels):
        spec = None
    return composite(image.data[::step, ::step], default_display(image.data, spec))


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
