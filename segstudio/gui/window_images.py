"""Main-window behaviour: switching images; large images not yet decoded are loaded in the background."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal

from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import ImageTooLargeError, MaskNeedsMappingError, SegstudioError
from segstudio.gui.image_cache import DEFAULT_MAX_PIXELS

if TYPE_CHECKING:
    from segstudio.core.image_io import LoadedImage
    from segstudio.core.mask_document import MaskDocument

#: Images with more pixels than this (header read) that are not decoded yet open without blocking the window.
BACKGROUND_LOAD_MIN_PIXELS = 16_000_000


def header_pixels(path: Path) -> int:
    """Width x height from the file header only; 0 when unreadable (the synchronous load reports it).

    Not ``image_io.read_image_size``: its EXIF lookup decodes a whole PNG (EXIF rotation keeps the pixel count)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return int(img.width) * int(img.height)
    except Exception:  # noqa: BLE001 - any problem: let the normal load report it
        return 0


class ImageLoadRelay(QObject):
    """Carries a finished background decode (token, image id, future) from the decoder thread to the GUI thread."""

    loaded = Signal(int, str, object)

    def deliver(self, token: int, image_id: str, future: Future) -> None:
        try:
            self.loaded.emit(token, image_id, future)
        except RuntimeError:  # the window was deleted meanwhile
            pass


class ImagesMixin:
    """Mixed into MainWindow (uses its project, image cache, documents, canvas, browser, status bar)."""

    def _init_image_loading(self) -> None:
        self._loading_id: str | None = None  # the image being decoded in the background
        self._load_token = 0  # bumped by every show_image: a background result for an older token is stale
        self._load_relay = ImageLoadRelay(self)
        self._load_relay.loaded.connect(self._on_background_loaded, Qt.ConnectionType.QueuedConnection)

    @property
    def image_loading(self) -> bool:
        """True while the current image is being decoded in the background (nothing shown, no painting)."""
        return self.current_image_id is not None and self.current_image is None and self._loading_id is not None

    # ================================================================ switching
    def show_image(self, image_id: str) -> None:
        """Make ``image_id`` the current image (saving the one being left). A large image that is not decoded
        yet loads in the background; ``currentImageChanged`` is emitted once it is really shown."""
        if self.project is None or image_id == self.current_image_id:
            return
        self._save_current_if_dirty()
        self._load_token += 1
        if self._loading_id is not None:  # leaving an image still being decoded: drop its "Loading ..."
            self.status.clearMessage()
            self._loading_id = None
        if self._should_load_in_background(image_id):
            self._begin_background_load(image_id)
            return
        self._finish_show(image_id, self._load_image(image_id))

    def next_image(self) -> None:
        target = self.browser.neighbour(self.current_image_id, 1)
        if target is None:
            self.status.showMessage("This is the last image", 2000)
        else:
            self.show_image(target)

    def previous_image(self) -> None:
        target = self.browser.neighbour(self.current_image_id, -1)
        if target is None:
            self.status.showMessage("This is the first image", 2000)
        else:
            self.show_image(target)

    def _finish_show(self, image_id: str, image: LoadedImage | None) -> None:
        self.current_image_id = image_id
        self.current_image = image
        self.documents.pinned = image_id
        document = self._load_document(image_id, image) if image is not None else None
        self.canvas.set_image(image, document)
        self._show_current_prediction()
        self._show_switch_state(image_id)
        self._prefetch_neighbours()
        self.currentImageChanged.emit(image_id)

    def _show_switch_state(self, image_id: str) -> None:
        self.browser.select(image_id)
        self.status.show_index(self.browser.model.row_of(image_id), self.browser.model.rowCount())
        self._update_title()
        self._update_actions()

    # ================================================================ loading
    def _should_load_in_background(self, image_id: str) -> bool:
        if self.image_cache.ready(image_id):
            return False
        return header_pixels(self.project.image_path(image_id)) > BACKGROUND_LOAD_MIN_PIXELS

    def _begin_background_load(self, image_id: str) -> None:
        """Switch at once to an empty, read-only canvas with "Loading ..." and decode off the GUI thread."""
        self.current_image_id = image_id
        self.current_image = None
        self.documents.pinned = image_id
        self.canvas.set_image(None, None)
        self._show_switch_state(image_id)
        self.status.showMessage(f"Loading {Path(image_id).name}…")
        self._start_background_load(image_id, DEFAULT_MAX_PIXELS)

    def _start_background_load(self, image_id: str, max_pixels: int | None | str) -> None:
        self._loading_id = image_id
        token, relay = self._load_token, self._load_relay
        future = self.image_cache.load_async(image_id, self.project.image_path(image_id), max_pixels)
        future.add_done_callback(lambda f: relay.deliver(token, image_id, f))

    def _on_background_loaded(self, token: int, image_id: str, future: Future) -> None:
        if token != self._load_token or image_id != self.current_image_id or future.cancelled():
            return  # the user moved on (latest wins); the decode stays available to a later load_async
        path = self.project.image_path(image_id)
        image = None
        try:
            image = self.image_cache.accept(image_id, future)
        except ImageTooLargeError as exc:
            if self._confirm_too_large(path, exc):
                self._start_background_load(image_id, None)
                return
            self.report_error(str(exc))
        except SegstudioError as exc:
            self.report_error(str(exc))
        except Exception as exc:  # noqa: BLE001 - e.g. MemoryError: report, keep the window alive
            self.report_error(f"cannot open {path.name}: {exc}")
        self._loading_id = None
        self.status.clearMessage()
        self._finish_show(image_id, image)

    def _confirm_too_large(self, path: Path, exc: ImageTooLargeError) -> bool:
        return self.confirm("Very large image",
                            f"{path.name} has {exc.pixels:,} pixels, more than the safety limit of "
                            f"{exc.limit:,} (a possible decompression bomb).\n\nOpen it anyway?")

    def _load_image(self, image_id: str) -> LoadedImage | None:
        path = self.project.image_path(image_id)
        try:
            try:
                return self.image_cache.get(image_id, path)
            except ImageTooLargeError as exc:
                if not self._confirm_too_large(path, exc):
                    self.report_error(str(exc))
                    return None
                return self.image_cache.get(image_id, path, max_pixels=None)
        except SegstudioError as exc:
            self.report_error(str(exc))
            return None

    def _prefetch_neighbours(self) -> None:
        ids = [self.browser.neighbour(self.current_image_id, step) for step in (1, -1)]
        self.image_cache.prefetch([(i, self.project.image_path(i)) for i in ids if i is not None])

    def _load_document(self, image_id: str, image: LoadedImage) -> MaskDocument | None:
        import numpy as np

        from segstudio.core.mask_document import MaskDocument
        from segstudio.core.mask_io import parse_value_map

        doc = self.documents.get(image_id)
        if doc is not None and doc.shape == image.shape:
            return doc
        try:
            try:
                mask = self.project.read_mask(image_id, expected_shape=image.shape)
            except MaskNeedsMappingError as exc:
                text = self.ask_value_map(exc)
                if text is None:
                    raise
                mask = self.project.read_mask(image_id, image.shape, value_map=parse_value_map(text))
        except (SegstudioError, ValueError) as exc:
            self.report_error(f"{exc} (shown read-only; the file is left as it is)")
            return None
        if mask is None:
            mask = np.full(image.shape, IGNORE_INDEX, np.uint8)
        doc = MaskDocument(mask)
        self.documents.put(image_id, doc)
        return doc

    def current_document(self) -> MaskDocument | None:
        return self.canvas.document()
