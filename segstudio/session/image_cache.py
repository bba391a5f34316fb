"""Decoded images of recently shown and neighbouring images: an LRU bounded by bytes (no threads here).

Decoding happens wherever the caller runs :func:`load_image` (the GUI does it on its job runner for
prefetching and for large images) and the result is handed in with :meth:`ImageCache.put`.
"""

from __future__ import annotations

from collections import OrderedDict
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
    """Memory held by a decoded image (its arrays, each counted once; the display composite of a multi-channel
    or deep image is not computed for this: the canvas renders those through its own tables)."""
    return image.nbytes


class ImageCache:
    """image id -> LoadedImage, least recently used dropped first beyond ``budget_bytes``."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._images: OrderedDict[str, LoadedImage] = OrderedDict()

    def get(self, image_id: str, path: Path, max_pixels: int | None | str = DEFAULT_MAX_PIXELS) -> LoadedImage:
        """The cached image, else decode it here; raises ImageLoadError (incl. ImageTooLargeError)."""
        image = self.peek(image_id)
        if image is None:
            image = load_image(path, max_pixels=max_pixels)
            self.put(image_id, image)
        return image

    def peek(self, image_id: str) -> LoadedImage | None:
        """The cached image (marked recently used), or None."""
        image = self._images.get(image_id)
        if image is not None:
            self._images.move_to_end(image_id)
        return image

    def put(self, image_id: str, image: LoadedImage) -> None:
        self._images[image_id] = image
        self._images.move_to_end(image_id)
        total = sum(image_bytes(i) for i in self._images.values())
        while len(self._images) > 1 and total > self.budget_bytes:
            _, old = self._images.popitem(last=False)
            total -= image_bytes(old)

    def clear(self) -> None:
        self._images.clear()

    def __contains__(self, image_id: str) -> bool:
        return image_id in self._images

    def __len__(self) -> int:
        return len(self._images)
