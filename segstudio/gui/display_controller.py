"""Keeps the canvas drawing what the session's view state says, and works out what the display needs.

* ``view_changed`` → the canvas' layers, prediction style, hidden classes and display settings;
* a new image (:meth:`DisplayController.image_changed`, called by the window after ``canvas.set_image``):
  the kept settings when they fit it, else automatic ones (``core.display.default_display`` with the project's
  channel colours), and the histograms the contrast controls draw over, computed on the job runner for large
  images (bounded work for small ones: a strided sample);
* auto contrast, reset, and a recoloured channel (``channels_changed``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from segstudio.core.errors import SegstudioError
from segstudio.session.view_state import LAYER_ORDER

if TYPE_CHECKING:
    from segstudio.core.channels import ChannelSpec
    from segstudio.core.display import DisplaySettings, Histogram
    from segstudio.core.image_io import LoadedImage
    from segstudio.gui.canvas.canvas_view import CanvasView
    from segstudio.gui.jobs import JobRunner
    from segstudio.session import Session

log = logging.getLogger(__name__)
#: images up to this many pixels get their settings and histograms at once, larger ones in the background
SYNC_PIXELS = 1024 * 1024


def linked(image: LoadedImage, spec: ChannelSpec | None) -> bool:
    """RGB images are adjusted as one (the same limits and gamma for R, G and B)."""
    return image.channels == 3 and (spec is None or spec.is_rgb)


def image_histograms(data, is_linked: bool) -> dict[int | None, Histogram]:
    """Histogram of every channel, and of all channels pooled (key None) for linked RGB. Pure: any thread."""
    from segstudio.core.display import channel_histogram

    out: dict[int | None, Histogram] = {i: channel_histogram(data, i) for i in range(data.shape[2])}
    if is_linked:
        out[None] = channel_histogram(data, None)
    return out


class DisplayController(QObject):
    """See the module docstring. ``histograms`` are those of the image on screen (empty while computed)."""

    histogramsChanged = Signal()

    def __init__(self, session: Session, canvas: CanvasView, runner: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.canvas, self.runner = session, canvas, runner
        self.histograms: dict[int | None, Histogram] = {}
        self._image: LoadedImage | None = None
        session.events.connect("view_changed", self._on_view_changed)
        session.events.connect("channels_changed", self._on_channels_changed)
        self.apply_all()

    # ---------------------------------------------------------------- state -> canvas
    def apply_all(self) -> None:
        for aspect in ("layers", "prediction_style", "classes", "display"):
            self._on_view_changed(aspect)

    def _on_view_changed(self, aspect: str) -> None:
        view, canvas = self.session.view, self.canvas
        if aspect == "layers":
            for name in LAYER_ORDER:
                layer = view.layers[name]
                canvas.layers.set(name, layer.visible, layer.opacity)
        elif aspect == "prediction_style":
            canvas.layers.set_style(view.prediction_style)
        elif aspect == "classes":
            canvas.layers.set_hidden(view.hidden_classes)
        elif aspect == "display":
            image = self.session.current_image
            if image is not None and canvas.image() is image and view.display_image == self.session.current_id:
                canvas.set_display(view.shown_display())

    # ---------------------------------------------------------------- a new image
    def spec(self) -> ChannelSpec | None:
        """The project's channel description (None when it cannot be read)."""
        if self.session.project is None:
            return None
        try:
            return self.session.channels()
        except SegstudioError:
            return None

    def is_linked(self) -> bool:
        image = self.session.current_image
        return image is not None and linked(image, self.spec())

    def image_changed(self) -> None:
        """The window showed the session's current image on the canvas: give it its display settings."""
        s = self.session
        image, image_id = s.current_image, s.current_id
        same = image is not None and image is self._image
        self._image = image
        if image is None:
            s.view.image_shown(None)
            self.histograms = {}
            self.histogramsChanged.emit()
            return
        kept = s.view.display_image == image_id and s.view.display is not None and same
        if kept or s.view.image_shown(image_id, image.channels, str(image.dtype)):
            self.canvas.set_display(s.view.shown_display())
        else:
            self._compute_defaults(image, image_id)
        if not same:
            self._compute_histograms(image)

    def _default_for(self, image: LoadedImage) -> DisplaySettings:
        from segstudio.core.display import default_display

        spec = self.spec()
        fits = spec is not None and (spec.is_rgb or spec.count == image.channels)
        return default_display(image.data, spec if fits else None)

    def _compute_defaults(self, image: LoadedImage, image_id: str | None) -> None:
        def done(settings: DisplaySettings) -> None:
            if self.session.current_image is image:
                self.session.view.set_display(settings, image_id, user=False)

        if image.width * image.height <= SYNC_PIXELS:
            done(self._default_for(image))
            return
        spec = self.spec()
        fits = spec is not None and (spec.is_rgb or spec.count == image.channels)

        def work(_job):
            from segstudio.core.display import default_display

            return default_display(image.data, spec if fits else None)

        self.runner.submit("display:defaults", work, lane="io", priority=-6, on_done=done)

    def _compute_histograms(self, image: LoadedImage) -> None:
        self.histograms = {}
        self.histogramsChanged.emit()
        is_linked = linked(image, self.spec())

        def done(hists) -> None:
            if self.session.current_image is image:
                self.histograms = hists
                self.histogramsChanged.emit()

        if image.width * image.height <= SYNC_PIXELS:
            done(image_histograms(image.data, is_linked))
            return
        self.runner.submit("display:histograms", lambda _job: image_histograms(image.data, is_linked), lane="io",
                           priority=-4, on_done=done)

    # ---------------------------------------------------------------- user commands
    def change(self, settings: DisplaySettings) -> None:
        """The user changed the display settings of the image on screen (kept for the next images)."""
        self.session.view.set_display(settings, self.session.current_id, user=True)

    def auto_contrast(self, channel: int | None) -> None:
        """Contrast limits from percentiles of the image: one channel, or all (linked RGB: one range for all)."""
        from segstudio.core.channels import robust_range
        from segstudio.core.display import AUTO_PERCENTILES, auto_limits

        image, settings = self.session.current_image, self.session.view.display
        if image is None or settings is None:
            return
        if channel is None and self.is_linked():
            lo, hi = robust_range(image.data, *AUTO_PERCENTILES)
            for i in range(3):
                settings = settings.with_channel(i, lo=lo, hi=hi)
        else:
            for i in ([channel] if channel is not None else range(image.channels)):
                lo, hi = auto_limits(image.data, i)
                settings = settings.with_channel(i, lo=lo, hi=hi)
        self.change(settings)

    def reset(self) -> None:
        """Back to the automatic settings of this image (and no longer carried over)."""
        image = self.session.current_image
        if image is not None:
            self.session.view.set_display(self._default_for(image), self.session.current_id, user=False)

    def _on_channels_changed(self, spec: ChannelSpec) -> None:
        """The channel description was edited: the display follows its colours."""
        settings = self.session.view.display
        if settings is None or spec.is_rgb or spec.count != len(settings.channels):
            return
        for i, color in enumerate(spec.colors):
            if settings.channels[i].color != color:
                settings = settings.with_channel(i, color=color)
        if settings != self.session.view.display:
            self.session.view.set_display(settings, self.session.current_id, user=self.session.view.display_kept)
