"""Decoded images of recently shown and neighbouring images, prefetched on a background thread."""

from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segstudio.core.image_io import LoadedImage

DEFAULT_BUDGET_BYTES = 768 * 1024 * 1024
#: ``max_pixels`` default: the loader's decompression-bomb limit (core.image_io is imported at first use).
DEFAULT_MAX_PIXELS = "default"


def load_image(path: Path, max_pixels: int | None | str = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """``segstudio.core.image_io.load_image``, imported on first use (numpy and Pillow stay out of startup)."""
    from segstudio.core import image_io

    if max_pixels == DEFAULT_MAX_PIXELS:
        max_pixels = image_io.DEFAULT_MAX_PIXELS
    return image_io.load_image(path, max_pixels=max_pixels)


def image_bytes(image: LoadedImage) -> int:
    return int(image.rgb.nbytes) + (0 if image.raw is image.rgb else int(image.raw.nbytes))


class ImageCache:
    """image id -> LoadedImage (LRU by bytes). ``prefetch`` decodes in the background; ``get`` waits for it."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._images: OrderedDict[str, LoadedImage] = OrderedDict()
        self._pending: dict[str, Future] = {}
        self._loading: OrderedDict[str, Future] = OrderedDict()  # foreground loads (never cancelled by prefetch)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segstudio-prefetch")

    def get(self, image_id: str, path: Path, max_pixels: int | None | str = DEFAULT_MAX_PIXELS) -> LoadedImage:
        """The decoded image; raises ImageLoadError (incl. ImageTooLargeError) like ``load_image``."""
        image = self._images.get(image_id)
        if image is not None:
            self._images.move_to_end(image_id)
            return image
        future = self._pending.pop(image_id, None)
        image = None
        if future is not None and not (future.done() or future.running()):
            future.cancel()  # still queued, maybe behind a large decode: decoding it here is quicker
            future = None
        if future is not None and max_pixels == DEFAULT_MAX_PIXELS:
            try:
                image = future.result()
            except Exception:  # noqa: BLE001 - load again below so the error comes from this call
                image = None
        if image is None:
            image = load_image(path, max_pixels=max_pixels)
        self._put(image_id, image)
        return image

    def prefetch(self, items: list[tuple[str, Path]]) -> None:
        """Start decoding images that are likely to be shown next."""
        for image_id, path in items:
            if image_id in self._images or image_id in self._pending:
                continue
            self._pending[image_id] = self._executor.submit(load_image, path)
        while len(self._pending) > 4:  # forget old requests (they finish harmlessly)
            oldest = next(iter(self._pending))
            self._pending.pop(oldest).cancel()

    def ready(self, image_id: str) -> bool:
        """True when ``get`` would not have to decode (cached, or its prefetch has finished)."""
        future = self._pending.get(image_id)
        return image_id in self._images or (future is not None and future.done() and not future.cancelled())

    def load_async(self, image_id: str, path: Path, max_pixels: int | None | str = DEFAULT_MAX_PIXELS) -> Future:
        """A future of the decoded image, reusing a pending prefetch or earlier load; take it with ``accept``."""
        if max_pixels == DEFAULT_MAX_PIXELS:
            future = self._pending.pop(image_id, None) or self._loading.get(image_id)
            if future is not None and not future.cancelled():
                self._loading[image_id] = future
                self._loading.move_to_end(image_id)
                return future
        future = self._executor.submit(load_image, path, max_pixels)
        if max_pixels == DEFAULT_MAX_PIXELS:
            self._loading[image_id] = future
            while len(self._loading) > 2:  # an abandoned load: drop it (a queued one is cancelled)
                self._loading.popitem(last=False)[1].cancel()
        return future

    def accept(self, image_id: str, future: Future) -> LoadedImage:
        """The finished ``future``'s image, now cached; raises its load error (ImageLoadError, ...)."""
        if self._loading.get(image_id) is future:
            del self._loading[image_id]
        image = future.result(timeout=0)
        self._put(image_id, image)
        return image

    def clear(self) -> None:
        for future in [*self._pending.values(), *self._loading.values()]:
            future.cancel()
        self._pending.clear()
        self._loading.clear()
        self._images.clear()

    def close(self) -> None:
        self.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def __contains__(self, image_id: str) -> bool:
        return image_id in self._images

    def _put(self, image_id: str, image: LoadedImage) -> None:
        self._images[image_id] = image
        self._images.move_to_end(image_id)
        total = sum(image_bytes(i) for i in self._images.values())
        while len(self._images) > 1 and total > self.budget_bytes:
            _, old = self._images.popitem(last=False)
            total -= image_bytes(old)
