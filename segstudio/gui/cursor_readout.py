"""The status bar's readout of the pixel under the mouse: original value(s) of every channel (named after the
project's channel description for multi-channel images), the mask's class and the predicted class with its
confidence. Refreshed when the mouse moves and also when what is under a still
mouse changes (another image, an edit, a new prediction)."""

from __future__ import annotations

from segstudio.core.classes import IGNORE_INDEX
from segstudio.gui.canvas.canvas_view import CanvasView
from segstudio.gui.class_panel import class_label
from segstudio.gui.status_bar import StatusBar
from segstudio.session import Session


class CursorReadout:
    """Renders the session's pixel under the canvas' mouse into the status bar."""

    def __init__(self, session: Session, canvas: CanvasView, status: StatusBar) -> None:
        self.session, self.canvas, self.status = session, canvas, status
        self._names: tuple[object, list[str] | None] = (None, None)  # (image, its channel names)
        canvas.cursorMoved.connect(self.show)
        session.events.connect("channels_changed", lambda _spec: (self._forget(), self.refresh()))

    def _forget(self) -> None:
        self._names = (None, None)

    def channel_names(self) -> list[str] | None:
        """Names of the current image's channels when the project describes several (None: RGB or one channel)."""
        from segstudio.core.errors import SegstudioError

        image = self.session.current_image
        if self._names[0] is not image:
            names = None
            try:
                spec = self.session.channels() if image is not None and self.session.project is not None else None
            except SegstudioError:
                spec = None
            if spec is not None and not spec.is_rgb and image is not None and spec.count == image.channels > 1:
                names = spec.names
            self._names = (image, names)
        return self._names[1]

    def refresh(self) -> None:
        self.show(*self.canvas.cursor_pixel)

    def show(self, x: int, y: int) -> None:
        s = self.session
        image, doc, project = s.current_image, s.current_document, s.project
        if image is None or x < 0 or project is None:
            self.status.show_cursor(-1, -1, None, None)
            return

        def name(cid: int) -> str:
            if cid == IGNORE_INDEX:
                return "unlabeled"
            return class_label(cid, project.classes[cid].name) if cid < project.num_classes else f"class {cid}?"

        mask_text = name(int(doc.mask[y, x])) if doc is not None and doc.shape == image.shape else None
        pred_text = None
        pred = s.prediction()
        if pred is not None and pred.mask.shape == image.shape:
            pred_text = "predicted " + name(int(pred.mask[y, x]))
            if pred.confidence is not None:
                conf = float(pred.confidence[y, x])
                pred_text += f" ({conf / 255.0 if pred.confidence.dtype.kind == 'u' else conf:.0%})"
        self.status.show_cursor(x, y, image.raw_value(x, y), mask_text, pred_text, self.channel_names())
