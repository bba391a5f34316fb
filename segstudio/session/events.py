"""Plain-callback events: how the session tells its views what changed (no Qt).

Each event has a fixed name (:data:`EVENT_NAMES`); ``connect(name, callback)`` subscribes, ``emit`` calls
the subscribers in order. A subscriber that raises does not stop the others: its exception is logged with
its traceback and re-raised after all were called, so a bug is never silent.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger(__name__)

#: name -> what its arguments are
EVENT_NAMES: dict[str, str] = {
    "project_changed": "(project or None): another project is open; everything of the old one was reset",
    "image_changed": "(image_id or None): the current image (and its document) changed",
    "document_edited": "(image_id): an undo step of that image's mask was added, undone or redone",
    "dirty_changed": "(bool): whether any mask has unsaved edits",
    "mask_saved": "(image_id, LabelStatus): a mask was written to disk",
    "classes_changed": "(): the project's class list changed",
    "images_added": "(list of image ids): images were copied into the project",
    "prediction_changed": "(image_id): a prediction was stored for that image",
    "uncertainty_changed": "(image_id, float): the model's uncertainty of that image",
    "model_changed": "(checkpoint path or None): the checkpoint that predicts for this project",
    "model_status": "(text): what the model part of the session last did, for this project",
    "recovery_available": "(count): unsaved edits of a crashed session can be restored",
    "view_changed": "(aspect): layers, prediction_style, classes (hidden), rules (locks) or display changed",
    "channels_changed": "(ChannelSpec): the project's channel description was edited",
}


class Events:
    """Subscribers per event name; see :data:`EVENT_NAMES`."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Callable[..., Any]]] = {name: [] for name in EVENT_NAMES}

    def connect(self, name: str, callback: Callable[..., Any]) -> None:
        """Call ``callback(*args)`` whenever ``name`` is emitted."""
        self._check(name)
        self._subscribers[name].append(callback)

    def disconnect(self, name: str, callback: Callable[..., Any]) -> None:
        self._check(name)
        if callback in self._subscribers[name]:
            self._subscribers[name].remove(callback)

    def emit(self, name: str, *args: Any) -> None:
        """Call every subscriber of ``name``; the first exception is re-raised once all have run."""
        self._check(name)
        first: BaseException | None = None
        for callback in list(self._subscribers[name]):
            try:
                callback(*args)
            except Exception as exc:  # noqa: BLE001 - logged here, re-raised below
                log.error("subscriber of %r failed", name, exc_info=True)
                first = first or exc
        if first is not None:
            raise first

    def _check(self, name: str) -> None:
        if name not in self._subscribers:
            raise KeyError(f"unknown session event {name!r}; events are {', '.join(EVENT_NAMES)}")
