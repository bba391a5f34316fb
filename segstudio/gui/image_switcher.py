"""Switching the window's current image: decode it (on the job runner when large), ask what must be
asked (huge image, foreign mask values), hand it to the session, and decode the neighbours ahead.

Large images that are not decoded yet open without blocking: the canvas shows "Loading …" at once
and the session's current image follows when the decode is done (the latest request wins).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, Signal

from segstudio.core.errors import ImageTooLargeError, MaskNeedsMappingError, SegstudioError
from segstudio.session import image_cache
from segstudio.session.image_cache import DEFAULT_MAX_PIXELS

if TYPE_CHECKING:
    from segstudio.core.image_io import LoadedImage
    from segstudio.gui.errors import ErrorReporter
    from segstudio.gui.jobs import JobRunner
    from segstudio.gui.questions import Questions
    from segstudio.gui.status_bar import StatusBar
    from segstudio.session import Session

log = logging.getLogger(__name__)

#: Images with more pixels than this (header read) that are not decoded yet open without blocking the window.
BACKGROUND_LOAD_MIN_PIXELS = 16_000_000
DECODE_KEY = "image:decode"


def header_pixels(path: Path) -> int:
    """Width x height from the file header only; 0 when unreadable (the synchronous load reports it)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return int(img.width) * int(img.height)
    except Exception:  # noqa: BLE001 - any problem: let the normal load report it
        return 0


class ImageSwitcher(QObject):
    """Shows images in the session; ``loading(image_id)`` while a large one is decoded in the background."""

    loading = Signal(str)

    def __init__(self, session: Session, runner: JobRunner, errors: ErrorReporter, questions: Questions,
                 status: StatusBar, neighbours: Callable[[str], list[str]], parent: QObject | None = None) -> None:
        """``neighbours(image_id)``: the images shown next to it (decoded ahead)."""
        super().__init__(parent)
        self.session, self.runner, self.errors, self.questions, self.status = session, runner, errors, questions, status
        self.neighbours = neighbours
        self.loading_id: str | None = None  # the image being decoded in the background

    def show(self, image_id: str) -> None:
        """Make ``image_id`` the current image (the session saves the one being left)."""
        session = self.session
        if session.project is None or (image_id == session.current_id and self.loading_id is None):
            return
        if self.loading_id is not None:  # leaving an image still being decoded
            self.runner.cancel(DECODE_KEY)
            self.status.clearMessage()
            self.loading_id = None
        if session.image_cache.peek(image_id) is None and \
                header_pixels(session.image_path(image_id)) > BACKGROUND_LOAD_MIN_PIXELS:
            self._load_in_background(image_id, DEFAULT_MAX_PIXELS)
            return
        self._finish(image_id, self._load_now(image_id))

    def show_again(self) -> None:
        """Show the current image again (its document was replaced, e.g. after recovery or a class change)."""
        if self.session.current_id is not None:
            self._finish(self.session.current_id, self.session.current_image)

    @property
    def busy(self) -> bool:
        return self.loading_id is not None

    # ---------------------------------------------------------------- loading
    def _load_now(self, image_id: str) -> LoadedImage | None:
        path = self.session.image_path(image_id)
        try:
            try:
                return self.session.load_image(image_id)
            except ImageTooLargeError as exc:
                if not self.questions.open_too_large(path, exc):
                    self.errors.report(str(exc))
                    return None
                return self.session.load_image(image_id, max_pixels=None)
        except SegstudioError as exc:
            self.errors.report(str(exc))
            return None

    def _load_in_background(self, image_id: str, max_pixels: int | None | str) -> None:
        """Switch at once to an empty, read-only canvas with "Loading …" and decode on the runner."""
        self.loading_id = image_id
        self.session.show_image(image_id, None)
        self.status.showMessage(f"Loading {Path(image_id).name}…")
        self.loading.emit(image_id)
        path = self.session.image_path(image_id)
        self.runner.submit(DECODE_KEY, lambda _job: image_cache.load_image(path, max_pixels), lane="io", priority=-20,
                           on_done=lambda image: self._on_decoded(image_id, image),
                           on_error=lambda exc, tb: self._on_decode_failed(image_id, path, exc, tb))

    def _on_decoded(self, image_id: str, image: LoadedImage) -> None:
        if image_id != self.loading_id:
            return
        self.loading_id = None
        self.status.clearMessage()
        self.session.image_cache.put(image_id, image)
        self._finish(image_id, image)

    def _on_decode_failed(self, image_id: str, path: Path, exc: BaseException, trace: str) -> None:
        if image_id != self.loading_id:
            return
        if isinstance(exc, ImageTooLargeError) and self.questions.open_too_large(path, exc):
            self._load_in_background(image_id, None)
            return
        self.loading_id = None
        self.status.clearMessage()
        if isinstance(exc, SegstudioError):
            self.errors.report(str(exc))
        else:  # e.g. MemoryError: report, keep the window alive
            self.errors.report(f"cannot open {path.name}: {exc}", trace)
        self._finish(image_id, None)

    def _finish(self, image_id: str, image: LoadedImage | None) -> None:
        from segstudio.core.mask_io import parse_value_map

        session = self.session
        try:
            session.show_image(image_id, image)
        except MaskNeedsMappingError as exc:
            text = self.questions.value_map(exc, session.project.num_classes if session.project else 0)
            try:
                value_map = parse_value_map(text) if text else None
            except ValueError as err:
                value_map, exc = None, SegstudioError(f"value mapping {text!r}: {err}")
            try:
                if value_map is None:
                    raise exc
                session.show_image(image_id, image, value_map)
            except SegstudioError as err:
                session.show_image(image_id, image, read_only=f"{err} (shown read-only; the file is left as it is)")
        if session.read_only_reason:
            self.errors.report(session.read_only_reason)
        self._prefetch_neighbours(image_id)

    def _prefetch_neighbours(self, image_id: str) -> None:
        for neighbour, path in self.session.neighbours(self.neighbours(image_id)):
            if header_pixels(path) > BACKGROUND_LOAD_MIN_PIXELS:
                continue  # a large neighbour is decoded when asked for
            self.runner.submit(f"image:prefetch:{neighbour}", lambda _job, p=path: image_cache.load_image(p), lane="io",
                               priority=10, on_done=lambda image, n=neighbour: self._prefetched(n, image),
                               on_error=lambda _exc, _tb: None)  # reported when it is really opened

    def _prefetched(self, image_id: str, image: LoadedImage) -> None:
        if self.session.project is not None and image_id in self.session.image_ids:
            self.session.image_cache.put(image_id, image)
