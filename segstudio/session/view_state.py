"""How the open project is shown and what painting may change: layers, prediction style, class visibility and
locks, the image's display settings. Qt-free; the GUI renders it (canvas, layers panel, class panel).

What lives where:

* **layers** (visibility and opacity of image, mask, prediction, uncertainty) and the **prediction style**
  are the user's preferences: kept across projects (the window saves them in its settings);
* **hidden classes**, **locked classes** and **paint only unlabeled** belong to the open project for this
  session (reset when another project opens); the rules reach every open document (``doc.rules``), so
  :meth:`segstudio.core.mask_document.MaskDocument.changed` enforces them for every tool;
* **display settings** (contrast limits, gamma, colour map, channel visibility) are view state of the image
  on screen: automatic for each new image until the user changes them, then carried over to the next images
  with the same channels (until Reset). Channel names, colours and normalisation are the project's channel
  description (segstudio.json, :meth:`Session.set_channels`). None of it changes ``LoadedImage.data``, which
  is what the model trains on.

Every change emits ``view_changed(aspect)`` with aspect one of :data:`ASPECTS`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from segstudio.core.paint_rules import PaintRules

if TYPE_CHECKING:
    import numpy as np

    from segstudio.core.display import DisplaySettings
    from segstudio.session.documents import DocumentStore
    from segstudio.session.events import Events

#: the layers, top first (the order they are listed in and drawn in, reversed)
LAYER_ORDER: tuple[str, ...] = ("uncertainty", "prediction", "mask", "image")
LAYER_TITLES: dict[str, str] = {"uncertainty": "Uncertainty", "prediction": "Prediction", "mask": "Mask",
                                "image": "Image"}
#: how the prediction is drawn: key -> what the user reads
PREDICTION_STYLES: dict[str, str] = {
    "unlabeled": "Filled where unlabeled",
    "outline": "Outline",
    "hatched": "Hatched",
    "filled": "Filled everywhere",
    "disagreement": "Where it disagrees with the mask",
}
ASPECTS = ("layers", "prediction_style", "classes", "rules", "display")


@dataclass(frozen=True)
class LayerSettings:
    """One layer: shown or not, and its opacity (0..1)."""

    visible: bool = True
    opacity: float = 0.5


DEFAULT_LAYERS: dict[str, LayerSettings] = {
    "uncertainty": LayerSettings(False, 0.6), "prediction": LayerSettings(True, 0.5),
    "mask": LayerSettings(True, 0.5), "image": LayerSettings(True, 1.0),
}


class ViewState:
    """See the module docstring. ``documents`` are the session's open documents (they get the paint rules)."""

    def __init__(self, events: Events, documents: DocumentStore) -> None:
        self._events, self._documents = events, documents
        self.layers: dict[str, LayerSettings] = dict(DEFAULT_LAYERS)
        self.prediction_style = "unlabeled"
        self.hidden_classes: frozenset[int] = frozenset()
        self.rules = PaintRules()
        self.display: DisplaySettings | None = None  # of ``display_image``
        self.display_image: str | None = None
        self.display_kept = False  # the user changed it: carried over to the next images with the same channels
        self.solo: int | None = None  # single-channel view of this channel
        self._display_key: tuple | None = None  # (channels, dtype) the kept settings fit

    # ---------------------------------------------------------------- layers (user preferences)
    def set_layer(self, name: str, visible: bool | None = None, opacity: float | None = None) -> None:
        if name not in self.layers:
            raise KeyError(f"unknown layer {name!r}; layers are {', '.join(LAYER_ORDER)}")
        old = self.layers[name]
        new = replace(old, visible=old.visible if visible is None else bool(visible),
                      opacity=old.opacity if opacity is None else max(0.0, min(1.0, float(opacity))))
        if new != old:
            self.layers[name] = new
            self._events.emit("view_changed", "layers")

    def set_prediction_style(self, style: str) -> None:
        if style not in PREDICTION_STYLES:
            raise ValueError(f"unknown prediction style {style!r}; expected one of {', '.join(PREDICTION_STYLES)}")
        if style != self.prediction_style:
            self.prediction_style = style
            self._events.emit("view_changed", "prediction_style")

    # ---------------------------------------------------------------- classes (this project, this session)
    def set_class_hidden(self, class_id: int, hidden: bool) -> None:
        ids = set(self.hidden_classes)
        (ids.add if hidden else ids.discard)(int(class_id))
        if frozenset(ids) != self.hidden_classes:
            self.hidden_classes = frozenset(ids)
            self._events.emit("view_changed", "classes")

    def set_class_locked(self, class_id: int, locked: bool) -> None:
        self._set_rules(self.rules.with_lock(class_id, locked))

    def set_only_unlabeled(self, on: bool) -> None:
        self._set_rules(PaintRules(self.rules.locked, bool(on)))

    def _set_rules(self, rules: PaintRules) -> None:
        if rules == self.rules:
            return
        self.rules = rules
        for _image_id, doc in self._documents.items():
            doc.rules = rules
        self._events.emit("view_changed", "rules")

    def remap_classes(self, lut: np.ndarray, deleted: int) -> None:
        """Class ids were renumbered (a class was deleted): hidden and locked ids follow."""
        hidden = {int(lut[c]) for c in self.hidden_classes if c != deleted and 0 <= c < len(lut)} - {255}
        self.hidden_classes = frozenset(hidden)
        self._set_rules(self.rules.remap(lut, deleted))
        self._events.emit("view_changed", "classes")

    # ---------------------------------------------------------------- the image's display settings
    def image_shown(self, image_id: str | None, channels: int = 0, dtype: str = "") -> bool:
        """Another image is on screen: True when the kept settings fit it (same channels and dtype), else the
        settings are cleared (the GUI computes automatic ones and calls :meth:`set_display`)."""
        key = (channels, dtype)
        if image_id is not None and self.display_kept and self.display is not None and key == self._display_key:
            self.display_image = image_id
            return True
        self.display, self.display_image, self.display_kept = None, image_id, False
        self._display_key = key
        if self.solo is not None and self.solo >= channels:
            self.solo = None
        return False

    def set_display(self, settings: DisplaySettings | None, image_id: str | None, user: bool = True) -> None:
        """Settings for ``image_id`` (ignored for another image than the one shown). ``user``: a change the
        user made, kept for the next images; False: automatic ones (or a Reset)."""
        if image_id != self.display_image:
            return
        self.display = settings
        self.display_kept = bool(user) and settings is not None
        self._events.emit("view_changed", "display")

    def set_solo(self, channel: int | None) -> None:
        """Single-channel view of ``channel`` (None: the composite of every visible channel)."""
        if channel != self.solo:
            self.solo = channel
            self._events.emit("view_changed", "display")

    def shown_display(self) -> DisplaySettings | None:
        """What the canvas draws: the settings, or one channel in gray in the single-channel view."""
        settings = self.display
        if settings is None or self.solo is None or self.solo >= len(settings.channels):
            return settings
        return settings.solo(self.solo)

    # ---------------------------------------------------------------- project switch
    def reset_project(self) -> None:
        """Another project (or none) is open: forget what belonged to the old one (layers stay)."""
        self.hidden_classes = frozenset()
        self._set_rules(PaintRules())
        self.display, self.display_image, self.display_kept, self.solo = None, None, False, None
        self._display_key = None
