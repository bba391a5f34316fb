"""The app's state, Qt-free: open project, current image, documents and undo, recovery, the project's model
state and class operations. The GUI renders it; tests drive it without a window (see docs/architecture.md)."""

from __future__ import annotations

from segstudio.session.events import EVENT_NAMES, Events
from segstudio.session.session import AddedImages, Session, list_image_ids

__all__ = ["EVENT_NAMES", "AddedImages", "Events", "Session", "list_image_ids"]
