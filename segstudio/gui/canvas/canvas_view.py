"""CanvasView: the image with its mask, prediction and uncertainty layers, zoom/pan, and the painting tools.

Scene coordinates are image pixels (pixel (i, j) covers [i, i+1) x [j, j+1)). Nothing lives in
the scene as items: ``drawBackground`` draws only the exposed part of the layers (photo through its display
settings, mask, prediction in its style, uncertainty; :mod:`~segstudio.gui.canvas.scene_painter`) and
``drawForeground`` the brush-size circle and the tool's feedback (polygon, box, previews). A
mask change (a brush dab, an undo) refreshes only its dirty rect of the overlay and asks the
viewport to repaint only that rect, so a stroke costs the same on 8192x8192 as on 1024x1024.

Images above ``SYNC_PIXELS`` never block the GUI thread for long: the prediction overlay (with its
confidence shading) and the reduced copies of the photo are computed on the job runner and swapped in
when ready (``predictionDisplayed``), and the mask overlay is filled a strip of rows per event-loop turn
(:class:`~segstudio.gui.canvas.async_overlays.OverlayPreparer`). Zoom and pan are
:class:`~segstudio.gui.canvas.navigation.ZoomPan`. The layers' visibility and opacity, the prediction style,
hidden classes and the display settings come from the session's view state (the window forwards them); in
the default style the prediction is drawn only where the mask is still unlabeled (while the mask is shown), so
an accepted prediction is not covered by itself.
"""

from __future__ import annotations

import math
import weakref
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator

import shiboken6
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractSpinBox, QApplication, QFrame, QGraphicsScene, QGraphicsView, QLineEdit, QPlainTextEdit, QTextEdit,
    QWidget,
)

from segstudio.gui.canvas.async_overlays import SYNC_PIXELS, OverlayPreparer
from segstudio.gui.canvas.canvas_layers import CanvasLayers
from segstudio.gui.canvas.navigation import ZoomPan
from segstudio.gui.canvas.scene_painter import draw_background, draw_foreground
from segstudio.gui.canvas.tools import TOOL_CLASSES, TOOL_NAMES, Tool
from segstudio.gui.jobs import JobRunner

if TYPE_CHECKING:  # numpy / OpenCV (layers, painting) are imported with the first image: fast startup
    import numpy as np

    from segstudio.core.display import DisplaySettings
    from segstudio.core.image_io import LoadedImage
    from segstudio.core.mask_document import MaskDocument, Rect
    from segstudio.gui.canvas.image_layer import ImageLayer
    from segstudio.gui.canvas.layers import MaskLayer, PredictionLayer, UncertaintyLayer

#: ``set_image(..., display=AUTO)``: the canvas computes automatic display settings itself
AUTO = "auto"

#: Brush size limits, the same as ``segstudio.core.painting.MIN_BRUSH / MAX_BRUSH`` (a test checks it).
MIN_BRUSH, MAX_BRUSH = 1, 512



class CanvasView(QGraphicsView):
    """Shows an image, its editable mask and a prediction; paints into the mask with the current tool."""

    cursorMoved = Signal(int, int)
    editFinished = Signal()
    classPicked = Signal(int)
    toolChanged = Signal(str)
    brushSizeChanged = Signal(int)
    zoomChanged = Signal(float)
    predictionDisplayed = Signal()  # the overlay of the last set_prediction is now drawn
    displayChanged = Signal()  # the image is drawn with other display settings
    toolMessage = Signal(str)  # a tool's message for the status bar ("no prediction for this image")
    wandToleranceChanged = Signal(int)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor)

        self.runner = runner  # the window's one job runner (GrabCut, previews of big images, overlays)
        self._image: LoadedImage | None = None
        self._document: MaskDocument | None = None
        self.image_layer: ImageLayer | None = None
        self.mask_layer: MaskLayer | None = None
        self.prediction_layer: PredictionLayer | None = None
        self.uncertainty_layer: UncertaintyLayer | None = None
        self._colors: list[tuple[int, int, int]] = []
        #: visibility and opacity of each layer, the prediction style, hidden classes
        self.layers = CanvasLayers(self)
        self._current_class = 1
        self._brush_size = 16
        self._wand_tolerance = 32
        #: the model-assisted click writes the predicted class instead of the current one (Shift inverts)
        self.region_takes_predicted_class = False
        self._hover: QPointF | None = None  # scene position of the mouse, None when outside
        self._last_cursor = (-1, -1)
        self._pan_from: QPointF | None = None
        self._space = False
        self._tools: dict[str, Tool] = {name: cls(self) for name, cls in TOOL_CLASSES.items()}
        self._tool = self._tools["brush"]
        #: Keyboard modifiers of the last mouse press (Shift+click draws a straight brush line).
        self.modifiers = Qt.KeyboardModifier.NoModifier
        self._listener = _document_listener(self)
        #: Number of paint events so far (benchmarks check that a repaint really happened).
        self.paint_count = 0
        self.last_paint_rect = QRect()
        self.nav = ZoomPan(self, self._image_size, self.zoomChanged.emit)
        self.overlays = OverlayPreparer(self, runner)

    # ---------------------------------------------------------------- content
    def set_image(self, image: LoadedImage | None, document: MaskDocument | None,
                  display: DisplaySettings | None | str = AUTO) -> None:
        """Show ``image`` with ``document`` as its editable mask (either may be None; None image clears).

        ``display``: the display settings to draw the image with; ``AUTO`` computes automatic ones (at once for
        small images, in the background for large ones); None draws a new image only once :meth:`set_display`
        gives its settings.
        A new image is fitted to the window; setting the same image again (e.g. with another document) keeps
        the zoom and scroll position.
        """
        same_image = image is not None and image is self._image
        self._tool.cancel()
        if self._document is not None:
            self._document.unlisten(self._listener)
        if image is None:
            document = None
        if image is not None and document is not None and document.shape != image.shape:
            raise ValueError(f"mask shape {document.shape} differs from the image's {image.shape}")
        self._image, self._document = image, document
        self.overlays.reset(same_image)
        if image is None:
            self.image_layer = self.mask_layer = self.prediction_layer = self.uncertainty_layer = None
            self.scene().setSceneRect(QRectF(0, 0, 1, 1))
            self.nav.update_scene_rect()
        else:
            from segstudio.gui.canvas.image_layer import ImageLayer
            from segstudio.gui.canvas.layers import MaskLayer, PredictionLayer, UncertaintyLayer

            if not same_image or self.image_layer is None:
                self.image_layer = ImageLayer(image.data, None)
            if display == AUTO:
                if not same_image or self.image_layer.settings is None:
                    self.overlays.auto_display(image, self.set_display)
            elif display is not None or not same_image:  # None for the same image: keep drawing it as it is
                self.image_layer.set_settings(display)  # type: ignore[arg-type]
            self.prediction_layer = PredictionLayer(image.width, image.height)
            self.prediction_layer.set_colors(self._colors, self.layers.hidden)
            self.uncertainty_layer = UncertaintyLayer()
            self.mask_layer = None
            if document is not None:
                large = image.width * image.height > SYNC_PIXELS
                self.mask_layer = MaskLayer(image.width, image.height, fill=not large)
                self.mask_layer.set_colors(self._colors, self.layers.hidden)
                if large:  # filled a strip per event-loop turn; drawn once complete
                    self.overlays.start_mask_fill()
                else:
                    self.mask_layer.write(document.mask)
                    self.overlays.mask_rows_done = image.height
                document.listen(self._listener)
            if not same_image:
                self.scene().setSceneRect(QRectF(0, 0, image.width, image.height))
                self.nav.update_scene_rect()
                self.fit_to_window()
        self._set_hover(self._hover)
        self.viewport().update()

    # ---------------------------------------------------------------- display settings (view state)
    def set_display(self, settings: DisplaySettings | None) -> None:
        """Draw the image with other display settings: only the tiles the viewport shows are re-rendered."""
        if self.image_layer is not None:
            self.image_layer.set_settings(settings)
            self.viewport().update()
            self.displayChanged.emit()

    @property
    def display_settings(self) -> DisplaySettings | None:
        return None if self.image_layer is None else self.image_layer.settings

    def _image_size(self) -> tuple[int, int] | None:
        return None if self._image is None else (self._image.width, self._image.height)

    def image(self) -> LoadedImage | None:
        return self._image

    def composite_reader(self) -> Callable[[Rect], np.ndarray] | None:
        """Reads crops of the image as the canvas shows it (8-bit RGB as it is, other images through their
        display settings, only the crop rendered); None while the image is not drawn yet."""
        settings = self.display_settings
        if self._image is None or settings is None:
            return None
        from segstudio.core.segment_tools import composite_reader

        return composite_reader(self._image.data, settings)

    def prediction(self) -> tuple[np.ndarray, np.ndarray | None] | None:
        """(predicted class mask, confidence or None) of the image shown, None without one."""
        return self.overlays.current_prediction

    def document(self) -> MaskDocument | None:
        return self._document

    def set_class_colors(self, colors: list[tuple[int, int, int]]) -> None:
        self._colors = [tuple(int(c) for c in rgb) for rgb in colors]  # type: ignore[misc]
        for layer in (self.mask_layer, self.prediction_layer):
            if layer is not None:
                layer.set_colors(self._colors, self.layers.hidden)
        self.viewport().update()

    def class_color(self, class_id: int) -> QColor:
        """The display colour of a class (grey for ids without one)."""
        if 0 <= class_id < len(self._colors):
            return QColor(*self._colors[class_id])
        return QColor(160, 160, 160)

    @property
    def current_class(self) -> int:
        return self._current_class

    def set_current_class(self, class_id: int) -> None:
        if int(class_id) != self._current_class:
            self._current_class = int(class_id)
            self._tool.options_changed()

    # ---------------------------------------------------------------- tools
    @property
    def tool(self) -> str:
        return self._tool.name

    def set_tool(self, name: str) -> None:
        """Switch tool: one of ``TOOL_NAMES`` (brush, eraser, polygon, box, fill, wand, region, picker)."""
        if name not in self._tools:
            raise ValueError(f"unknown tool {name!r}; expected one of {', '.join(TOOL_NAMES)}")
        if name == self._tool.name:
            return
        self._tool.cancel()
        with self._brush_cursor_change():
            self._tool = self._tools[name]
        self.toolChanged.emit(name)

    @property
    def brush_size(self) -> int:
        return self._brush_size

    @brush_size.setter
    def brush_size(self, size: int) -> None:
        size = max(MIN_BRUSH, min(MAX_BRUSH, int(size)))
        if size == self._brush_size:
            return
        with self._brush_cursor_change():
            self._brush_size = size
        self.brushSizeChanged.emit(size)

    @property
    def wand_tolerance(self) -> int:
        return self._wand_tolerance

    @wand_tolerance.setter
    def wand_tolerance(self, value: int) -> None:
        value = max(0, min(255, int(value)))
        if value != self._wand_tolerance:
            self._wand_tolerance = value
            self._tool.options_changed()  # the wand's preview follows at once
            self.wandToleranceChanged.emit(value)

    def begin_edit(self, label: str) -> None:
        if self._document is not None:
            self._document.begin_edit(label)

    def finish_edit(self) -> None:
        """Close the undo step; emits ``editFinished`` when it changed pixels."""
        if self._document is not None and self._document.end_edit():
            self.editFinished.emit()

    # ---------------------------------------------------------------- zoom and pan (see ZoomPan)
    @property
    def zoom(self) -> float:
        return self.nav.zoom

    def zoom_in(self) -> None:
        self.nav.zoom_in()

    def zoom_out(self) -> None:
        self.nav.zoom_out()

    def set_zoom(self, z: float, anchor: QPointF | None = None) -> None:
        self.nav.set_zoom(z, anchor)

    def actual_size(self) -> None:
        self.nav.actual_size()

    def fit_to_window(self) -> None:
        self.nav.fit_to_window()

    def image_to_view(self, x: float, y: float) -> QPoint:
        """Viewport coordinates of image point (x, y) (for tests and tooltips)."""
        return self.nav.image_to_view(x, y)

    def view_to_image(self, pos: QPointF | QPoint) -> QPointF:
        return self.nav.view_to_image(pos)

    def view_distance(self, a: QPointF, b: QPointF) -> float:
        return self.nav.view_distance(a, b)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if self.nav.auto_fit:
            self.fit_to_window()

    def wheelEvent(self, event) -> None:  # noqa: N802
        self.nav.wheel(event.angleDelta().y() or event.pixelDelta().y(), event.position())
        event.accept()

    # ---------------------------------------------------------------- prediction (see OverlayPreparer)
    def set_prediction(self, mask: np.ndarray | None, confidence: np.ndarray | None = None) -> None:
        """Show a predicted class mask (255 = no prediction); low-confidence pixels are dimmed.

        Small images are coloured at once; a large one in the background (the previous prediction of
        the same image stays on screen meanwhile) and ``predictionDisplayed`` tells when it is drawn."""
        self.overlays.set_prediction(mask, confidence)
        self._tool.options_changed()  # a preview made from the prediction follows it

    @property
    def has_prediction(self) -> bool:
        """A prediction is set for the image (it may still be being coloured, see ``prediction_ready``)."""
        return self.overlays.has_prediction or self.overlays.prediction_pending

    @property
    def prediction_ready(self) -> bool:
        """The overlay of the last prediction set is the one drawn."""
        return self.overlays.prediction_shown and not self.overlays.prediction_pending

    @property
    def overlays_ready(self) -> bool:
        """No overlay or reduced copy is still being prepared in the background (tests, benchmarks)."""
        return self.overlays.ready

    @property
    def cursor_pixel(self) -> tuple[int, int]:
        """The image pixel under the mouse, (-1, -1) when it is not over the image."""
        return self._last_cursor

    # ---------------------------------------------------------------- layers (the mask's and prediction's, in short)
    def set_mask_opacity(self, v: float) -> None:
        self.layers.set("mask", opacity=v)

    def set_prediction_opacity(self, v: float) -> None:
        self.layers.set("prediction", opacity=v)

    def set_mask_visible(self, on: bool) -> None:
        self.layers.set("mask", visible=on)

    def set_prediction_visible(self, on: bool) -> None:
        self.layers.set("prediction", visible=on)

    mask_opacity = property(lambda self: self.layers.opacity("mask"))
    prediction_opacity = property(lambda self: self.layers.opacity("prediction"))
    mask_visible = property(lambda self: self.layers.settings("mask").visible)
    prediction_visible = property(lambda self: self.layers.settings("prediction").visible)

    # ---------------------------------------------------------------- mouse / keys
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        button = event.button()
        self.modifiers = event.modifiers()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        elif self._image is not None:
            self._tool.press(self.view_to_image(event.position()), button)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if self._pan_from is not None:
            d = pos - self._pan_from
            self._pan_from = pos
            self.nav.auto_fit = False
            self.nav.scroll_by(-d.x(), -d.y())
        scene = self.view_to_image(pos)
        self._set_hover(scene)
        if self._pan_from is None and self._image is not None:
            self._tool.move(scene)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.CrossCursor)
        elif self._image is not None:
            self._tool.release(self.view_to_image(event.position()), event.button())
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._image is None:
            return
        if self._tool.wants_double_click and event.button() == Qt.MouseButton.LeftButton:
            self._tool.double_click(self.view_to_image(event.position()))
        else:  # other tools treat it as a second press
            self.mousePressEvent(event)
        event.accept()

    def enterEvent(self, event) -> None:  # noqa: N802
        # take the keyboard on hover ([ ] space Enter Escape) unless the user is typing somewhere
        focus = QApplication.focusWidget()
        typing = isinstance(focus, (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit))
        if focus is not self and not typing:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._set_hover(None)
        super().leaveEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space = True
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        elif key == Qt.Key.Key_BracketRight:
            self.brush_size = max(self._brush_size + 1, round(self._brush_size * 1.2))
        elif key == Qt.Key.Key_BracketLeft:
            self.brush_size = min(self._brush_size - 1, round(self._brush_size / 1.2))
        elif not self._tool.key(key):
            super().keyPressEvent(event)
            return
        event.accept()

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            if self._pan_from is None:
                self.viewport().setCursor(Qt.CursorShape.CrossCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802
        self._space = False
        super().focusOutEvent(event)

    def _set_hover(self, scene: QPointF | None) -> None:
        with self._brush_cursor_change():
            self._hover = scene
        cursor = (-1, -1)
        if scene is not None and self._image is not None:
            x, y = math.floor(scene.x()), math.floor(scene.y())
            if 0 <= x < self._image.width and 0 <= y < self._image.height:
                cursor = (x, y)
        if cursor != self._last_cursor:
            self._last_cursor = cursor
            self.cursorMoved.emit(*cursor)

    # ---------------------------------------------------------------- painting
    def _on_document_changed(self, rect: Rect) -> None:
        if self.mask_layer is not None and self._document is not None:
            self.mask_layer.update_from(self._document.mask, rect)
            self.overlays.mask_edited(rect)
            self.update_image_rect(QRectF(rect[0], rect[1], rect[2] - rect[0], rect[3] - rect[1]))

    def update_image_rect(self, rect: QRectF) -> None:
        """Repaint only the viewport area showing image rect ``rect`` (scene coordinates)."""
        view_rect = self.viewportTransform().mapRect(rect).toAlignedRect().adjusted(-2, -2, 2, 2)
        self.viewport().update(view_rect.intersected(QRect(QPoint(0, 0), self.viewport().size())))

    def _brush_rect(self) -> QRectF | None:
        if self._hover is None or not self._tool.shows_brush:
            return None
        from segstudio.core.painting import brush_center

        cx, cy = brush_center(self._hover.x(), self._hover.y(), self._brush_size)
        r = self._brush_size / 2.0
        return QRectF(cx - r, cy - r, 2 * r, 2 * r)

    def _update_brush_cursor(self) -> None:
        rect = self._brush_rect()
        if rect is not None:
            z = self.nav.zoom
            self.update_image_rect(rect.adjusted(-2 / z, -2 / z, 2 / z, 2 / z))

    @contextmanager
    def _brush_cursor_change(self) -> Iterator[None]:
        """Repaint the brush circle where it was before the block and where it is after it."""
        self._update_brush_cursor()
        yield
        self._update_brush_cursor()

    def paintEvent(self, event) -> None:  # noqa: N802
        self.paint_count += 1
        self.last_paint_rect = event.rect()
        super().paintEvent(event)

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        draw_background(self, painter, rect)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        draw_foreground(self, painter, rect)

    @property
    def mask_drawn(self) -> bool:
        """The mask overlay is drawn (visible, complete, not fully transparent)."""
        return self.layers.drawn("mask") and self.mask_layer is not None and self.overlays.mask_ready

    @property
    def prediction_drawn(self) -> bool:
        return self.overlays.has_prediction and self.layers.drawn("prediction")

    def brush_outline(self) -> QRectF | None:
        """Where the brush circle is drawn (scene coordinates), or None."""
        return self._brush_rect()

    def draw_tool(self, painter: QPainter) -> None:
        self._tool.draw(painter)


def _document_listener(canvas: CanvasView) -> Callable[[Rect], None]:
    """A document callback that holds the canvas weakly and ignores it once the widget is gone."""
    ref = weakref.ref(canvas)

    def on_change(rect: Rect) -> None:
        view = ref()
        if view is not None and shiboken6.isValid(view):
            view._on_document_changed(rect)

    return on_change
