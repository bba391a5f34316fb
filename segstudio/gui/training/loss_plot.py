"""Live training curves (pyqtgraph): loss per step (raw + smoothed) and val loss / mIoU per epoch."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Iterable

from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    import numpy as np


def ema_smooth(values: np.ndarray, weight: float = 0.9) -> np.ndarray:
    """TensorBoard-style exponential moving average with bias correction (first value is exact)."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    acc = 0.0
    for i, v in enumerate(values):
        acc = weight * acc + (1.0 - weight) * v
        out[i] = acc / (1.0 - weight ** (i + 1))
    return out


class _Smoother:
    """Incremental version of :func:`ema_smooth` (O(new points) per update)."""

    def __init__(self, weight: float = 0.9) -> None:
        self.weight = weight
        self._acc = 0.0
        self._n = 0

    def push(self, values: Iterable[float]) -> list[float]:
        out = []
        for v in values:
            self._acc = self.weight * self._acc + (1.0 - self.weight) * v
            self._n += 1
            out.append(self._acc / (1.0 - self.weight ** self._n))
        return out


class _Series:
    """Growable x/y float arrays (amortised appends, no per-point Python lists for long runs)."""

    def __init__(self) -> None:
        self._x: np.ndarray | None = None  # numpy is imported with the first point (keeps startup fast)
        self._y: np.ndarray | None = None
        self.n = 0

    def _ensure(self) -> None:
        if self._x is None:
            import numpy as np

            self._x = np.empty(1024, dtype=np.float64)
            self._y = np.empty(1024, dtype=np.float64)

    def extend(self, xs: list[float], ys: list[float]) -> None:
        import numpy as np

        self._ensure()
        k = len(xs)
        if self.n + k > len(self._x):
            cap = max(2 * len(self._x), self.n + k)
            self._x = np.resize(self._x, cap)
            self._y = np.resize(self._y, cap)
        self._x[self.n:self.n + k] = xs
        self._y[self.n:self.n + k] = ys
        self.n += k

    @property
    def x(self) -> np.ndarray:
        self._ensure()
        return self._x[:self.n]

    @property
    def y(self) -> np.ndarray:
        self._ensure()
        return self._y[:self.n]


class LossPlot(QWidget):
    """Two stacked plots. Top: training loss per step, raw (faint) and smoothed. Bottom: per epoch,
    validation loss (left axis) and mIoU (right axis, 0..1).

    Feed it with :meth:`add_steps` and :meth:`add_epoch`; each call redraws once (callers throttle).
    The data is kept here; the pyqtgraph widget is only built (and pyqtgraph imported) when the plot is
    first shown. ``redraws`` counts curve updates actually drawn (for the latency benchmark).
    """

    def __init__(self, parent: QWidget | None = None, smoothing: float = 0.9) -> None:
        super().__init__(parent)
        self.redraws = 0
        self._smoothing = smoothing
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.graphics = None  # pyqtgraph.GraphicsLayoutWidget, built when first shown (keeps startup fast)
        self._reset_data()

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        import pyqtgraph as pg

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumHeight(220)
        self._layout.addWidget(self.graphics)

        # legends sit in their own row above each plot, so they never cover a curve
        step_legend = pg.LegendItem(colCount=2)
        self.graphics.addItem(step_legend, row=0, col=0)
        self.step_plot = self.graphics.addPlot(row=1, col=0)
        self.step_plot.setTitle("training loss", size="9pt")
        self.step_plot.setLabel("bottom", "step")
        self.step_plot.showGrid(x=True, y=True, alpha=0.2)
        self.step_plot.setClipToView(True)
        self.step_plot.setDownsampling(auto=True, mode="peak")
        self.raw_curve = self.step_plot.plot(pen=pg.mkPen((70, 130, 180, 80), width=1), name="raw")
        self.smooth_curve = self.step_plot.plot(pen=pg.mkPen((20, 80, 160), width=2), name="smoothed")
        step_legend.addItem(self.raw_curve, "raw")
        step_legend.addItem(self.smooth_curve, "smoothed")

        epoch_legend = pg.LegendItem(colCount=3)
        self.graphics.addItem(epoch_legend, row=2, col=0)
        self.epoch_plot = self.graphics.addPlot(row=3, col=0)
        self.epoch_plot.setTitle("validation (per epoch)", size="9pt")
        self.epoch_plot.setLabel("bottom", "epoch")
        self.epoch_plot.setLabel("left", "loss")
        self.epoch_plot.showGrid(x=True, y=True, alpha=0.2)
        self.epoch_plot.getViewBox().setLimits(xMin=0)
        sym = dict(symbol="o", symbolSize=6)
        dash = pg.mkPen((120, 120, 120), width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
        self.train_epoch_curve = self.epoch_plot.plot(pen=dash, symbolBrush=(120, 120, 120), **sym)
        self.val_curve = self.epoch_plot.plot(pen=pg.mkPen((200, 80, 20), width=2), symbolBrush=(200, 80, 20), **sym)
        # mIoU on a second y axis (right), in its own ViewBox linked on x
        self.miou_view = pg.ViewBox()
        self.epoch_plot.showAxis("right")
        self.epoch_plot.scene().addItem(self.miou_view)
        self.epoch_plot.getAxis("right").linkToView(self.miou_view)
        self.epoch_plot.getAxis("right").setLabel("mIoU")
        self.miou_view.setXLink(self.epoch_plot)
        self.miou_view.setYRange(0.0, 1.0)
        self.miou_view.enableAutoRange(axis=pg.ViewBox.YAxis, enable=False)
        self.miou_curve = pg.PlotDataItem(pen=pg.mkPen((30, 150, 60), width=2), symbol="s", symbolSize=6,
                                          symbolBrush=(30, 150, 60))
        self.miou_view.addItem(self.miou_curve)
        for curve, name in ((self.train_epoch_curve, "train loss"), (self.val_curve, "val loss"),
                            (self.miou_curve, "mIoU")):
            epoch_legend.addItem(curve, name)
        self._apply_palette()
        self.epoch_plot.getViewBox().sigResized.connect(self._sync_views)
        self._sync_views()
        self._draw_steps()
        self._draw_epochs()

    def _apply_palette(self) -> None:
        """Plot background and axes in the window's colours (light or dark theme)."""
        from PySide6.QtGui import QPalette

        palette = self.palette()
        self.graphics.setBackground(palette.color(QPalette.ColorRole.Base))
        text = palette.color(QPalette.ColorRole.Text)
        for plot in (self.step_plot, self.epoch_plot):
            for name in ("left", "bottom", "right"):
                axis = plot.getAxis(name)
                axis.setPen(text)
                axis.setTextPen(text)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt override
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.PaletteChange and self.graphics is not None:
            self._apply_palette()
        super().changeEvent(event)

    def dispose(self) -> None:
        """Delete the pyqtgraph widget now (window closing): pyqtgraph items left for the interpreter's
        exit-time teardown can crash it. The data is kept; :meth:`showEvent` rebuilds the plots."""
        if self.graphics is None:
            return
        import shiboken6

        g, self.graphics = self.graphics, None
        self._layout.removeWidget(g)
        g.clear()
        g.setParent(None)
        shiboken6.delete(g)

    def rebuild(self) -> None:
        """Recreate the plots after :meth:`dispose` (no-op when they exist)."""
        if self.graphics is None:
            self._build()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.rebuild()
        super().showEvent(event)

    # ------------------------------------------------------------------ data
    def _reset_data(self) -> None:
        self._raw = _Series()
        self._smooth = _Series()
        self._smoother = _Smoother(self._smoothing)
        self._epochs: list[tuple[float, float | None, float | None, float | None]] = []

    def clear(self) -> None:
        """Forget all points (a new run starts)."""
        self._reset_data()
        self._draw_steps()
        self._draw_epochs()

    def add_steps(self, points: list[tuple[int, float]]) -> None:
        """Append (global_step, loss) points and redraw the step curves once. Non-finite losses are skipped."""
        pts = [(float(s), float(v)) for s, v in points if math.isfinite(v)]
        if not pts:
            return
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        self._raw.extend(xs, ys)
        self._smooth.extend(xs, self._smoother.push(ys))
        self._draw_steps()

    def add_epoch(self, epoch: float, train_loss: float | None = None, val_loss: float | None = None,
                  miou: float | None = None) -> None:
        """Append one epoch's numbers (None = not measured) and redraw the epoch curves."""
        self._epochs.append((float(epoch), _finite(train_loss), _finite(val_loss), _finite(miou)))
        self._draw_epochs()

    def _draw_steps(self) -> None:
        if self.graphics is None:
            return
        self.raw_curve.setData(self._raw.x, self._raw.y)
        self.smooth_curve.setData(self._smooth.x, self._smooth.y)
        self.redraws += 1

    def _draw_epochs(self) -> None:
        if self.graphics is None:
            return
        for idx, curve in ((1, self.train_epoch_curve), (2, self.val_curve), (3, self.miou_curve)):
            pts = [(e[0], e[idx]) for e in self._epochs if e[idx] is not None]
            curve.setData([p[0] for p in pts], [p[1] for p in pts])
        last = max((e[0] for e in self._epochs), default=1.0)
        # whole epochs from 0.5 to the last + 0.5: one epoch shows as one point in the middle, not at -5..10
        self.epoch_plot.setXRange(0.5, max(1.0, last) + 0.5, padding=0)
        step = max(1, math.ceil(last / 10))
        self.epoch_plot.getAxis("bottom").setTickSpacing(step, step)  # whole epochs only
        losses = [v for e in self._epochs for v in (e[1], e[2]) if v is not None]
        if losses:
            lo, hi = min(losses), max(losses)
            pad = max(0.05 * (hi - lo), 0.05 * max(abs(hi), 1e-3))
            self.epoch_plot.setYRange(max(0.0, lo - pad), hi + pad, padding=0)
        self.redraws += 1

    # ------------------------------------------------------------------ inspection (tests, benchmark)
    def step_points(self) -> tuple[np.ndarray, np.ndarray]:
        """The raw (step, loss) arrays drawn so far."""
        return self._raw.x.copy(), self._raw.y.copy()

    def smoothed_points(self) -> tuple[np.ndarray, np.ndarray]:
        return self._smooth.x.copy(), self._smooth.y.copy()

    def epoch_points(self) -> list[tuple[float, float | None, float | None, float | None]]:
        """[(epoch, train_loss, val_loss, miou)]."""
        return list(self._epochs)

    def _sync_views(self) -> None:
        if self.graphics is None:
            return
        self.miou_view.setGeometry(self.epoch_plot.getViewBox().sceneBoundingRect())
        self.miou_view.linkedViewChanged(self.epoch_plot.getViewBox(), self.miou_view.XAxis)


def _finite(v: float | None) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None
