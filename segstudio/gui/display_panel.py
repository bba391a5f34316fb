"""The image's display controls (in the Layers dock): contrast limits over a histogram, auto contrast, reset,
gamma, a colour map for single-channel images, and for multi-channel images the channels (each with its
colour and visibility, ImageJ/napari style), the composite or a single-channel view, and the project's channel
description (names, colours, normalisation; :class:`~segstudio.gui.channels_dialog.ChannelsDialog`).

RGB images are adjusted as one (the same limits for R, G and B). Everything here is view state of the
session (``session.view``) except the channel names and colours, which are the project's (segstudio.json).
Nothing changes the pixel values the model trains on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
    QVBoxLayout, QWidget,
)

from segstudio.core.errors import SegstudioError
from segstudio.gui.class_panel import color_swatch
from segstudio.gui.histogram_view import HistogramView

if TYPE_CHECKING:
    from segstudio.core.display import DisplaySettings
    from segstudio.gui.display_controller import DisplayController
    from segstudio.gui.errors import ErrorReporter
    from segstudio.gui.questions import Questions
    from segstudio.session import Session

#: colour map choices: (key of ChannelDisplay.colormap, text)
COLORMAP_CHOICES = (("", "Channel colour"), ("viridis", "Viridis"), ("magma", "Magma"), ("inferno", "Inferno"),
                    ("plasma", "Plasma"), ("cividis", "Cividis"), ("turbo", "Turbo"), ("hot", "Hot"))


class DisplayPanel(QWidget):
    """See the module docstring."""

    def __init__(self, session: Session, controller: DisplayController, questions: Questions,
                 errors: ErrorReporter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.controller, self.questions, self.errors = session, controller, questions, errors
        self.setObjectName("display_panel")
        self._channel = 0  # the channel the controls edit (multi-channel composite view)
        self.title = QLabel("<b>Image display</b>")
        self.channel_list = QListWidget()
        self.channel_list.setObjectName("channel_list")
        self.channel_list.setIconSize(QSize(14, 14))
        self.channel_list.setToolTip("Tick to show a channel; select one to adjust it; double-click its colour")
        self.channel_list.setMaximumHeight(110)
        self.view_combo = QComboBox()
        self.view_combo.setObjectName("channel_view")
        self.view_combo.setToolTip("Composite of the visible channels, or one channel alone in gray")
        self.histogram = HistogramView()
        self.lo_spin, self.hi_spin = self._spin("Lower contrast limit"), self._spin("Upper contrast limit")
        self.gamma_spin = QDoubleSpinBox()
        self.gamma_spin.setObjectName("gamma")
        self.gamma_spin.setRange(0.1, 5.0)
        self.gamma_spin.setSingleStep(0.05)
        self.gamma_spin.setDecimals(2)
        self.gamma_spin.setToolTip("Gamma: below 1 brightens the dark values, above 1 darkens them")
        self.colormap_combo = QComboBox()
        self.colormap_combo.setObjectName("colormap")
        for key, text in COLORMAP_CHOICES:
            self.colormap_combo.addItem(text, key)
        self.colormap_combo.setToolTip("Colour map of a single-channel image (or of the single-channel view)")
        self.auto_button = self._button("Auto", "auto_contrast", "Contrast limits from the 0.5 and 99.5 percentiles")
        self.reset_button = self._button("Reset", "reset_display", "Back to the automatic display of this image")
        self.color_button = self._button("Colour…", "channel_color", "Colour of the selected channel (the project's)")
        self.channels_button = self._button("Channels…", "edit_channels",
                                            "Names, colours and normalisation of the project's channels")
        self.note = QLabel("Display only: the model always sees the original values.")
        self.note.setWordWrap(True)
        self.note.setEnabled(False)
        self._layout()
        self._connect()
        for name in ("view_changed", "channels_changed", "project_changed", "image_changed"):
            session.events.connect(name, lambda *_a: self.refresh())
        controller.histogramsChanged.connect(self.refresh)
        self.refresh()

    def _spin(self, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setToolTip(tip)
        spin.setKeyboardTracking(False)
        spin.setRange(-1e12, 1e12)
        return spin

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        b.setToolTip(tip)
        return b

    def _layout(self) -> None:
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        self.lo_spin.setObjectName("contrast_min")
        self.hi_spin.setObjectName("contrast_max")
        for row, (text, left, right_text, right) in enumerate((
                ("Min", self.lo_spin, "Max", self.hi_spin), ("Gamma", self.gamma_spin, "Map", self.colormap_combo))):
            grid.addWidget(QLabel(text), row, 0)
            grid.addWidget(left, row, 1)
            grid.addWidget(QLabel(right_text), row, 2)
            grid.addWidget(right, row, 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for b in (self.auto_button, self.reset_button, self.color_button, self.channels_button):
            buttons.addWidget(b)
        view_row = QHBoxLayout()
        view_row.setContentsMargins(0, 0, 0, 0)
        self.view_label = QLabel("View")
        view_row.addWidget(self.view_label)
        view_row.addWidget(self.view_combo, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for item in (self.title, self.channel_list, view_row, self.histogram, grid, buttons, self.note):
            (layout.addLayout if isinstance(item, (QGridLayout, QHBoxLayout)) else layout.addWidget)(item)
        layout.addStretch(1)

    def _connect(self) -> None:
        self.channel_list.currentRowChanged.connect(self._on_channel_row)
        self.channel_list.itemChanged.connect(self._on_channel_item)
        self.channel_list.itemDoubleClicked.connect(lambda item: self.recolor_channel(self.channel_list.row(item)))
        self.view_combo.currentIndexChanged.connect(
            lambda i: self.session.view.set_solo(None if i <= 0 else i - 1))
        self.histogram.limitsChanged.connect(self._set_limits)
        self.lo_spin.valueChanged.connect(lambda v: self._set_limits(v, None))
        self.hi_spin.valueChanged.connect(lambda v: self._set_limits(None, v))
        self.gamma_spin.valueChanged.connect(lambda v: self._change(gamma=float(v)))
        self.colormap_combo.currentIndexChanged.connect(
            lambda i: self._change(colormap=self.colormap_combo.itemData(i) or ""))
        self.auto_button.clicked.connect(lambda: self.controller.auto_contrast(None if self._linked() else
                                                                              self.edited_channel()))
        self.reset_button.clicked.connect(self.controller.reset)
        self.color_button.clicked.connect(lambda: self.recolor_channel(self.edited_channel()))
        self.channels_button.clicked.connect(self.edit_channels)

    # ---------------------------------------------------------------- what is edited
    def _linked(self) -> bool:
        return self.controller.is_linked()

    def _multi(self) -> bool:
        settings = self.session.view.display
        return settings is not None and len(settings.channels) > 1 and not self._linked()

    def edited_channel(self) -> int:
        """The channel the controls show and change (the single-channel view's, else the selected one)."""
        solo = self.session.view.solo
        return solo if solo is not None else self._channel

    def _targets(self, settings: DisplaySettings) -> list[int]:
        return list(range(3)) if self._linked() else [min(self.edited_channel(), len(settings.channels) - 1)]

    def _change(self, **changes) -> None:
        settings = self.session.view.display
        if settings is None:
            return
        for i in self._targets(settings):
            settings = settings.with_channel(i, **changes)
        if settings != self.session.view.display:
            self.controller.change(settings)

    def _set_limits(self, lo: float | None, hi: float | None) -> None:
        settings = self.session.view.display
        if settings is None:
            return
        ch = settings.channels[self._targets(settings)[0]]
        lo = ch.lo if lo is None else float(lo)
        hi = ch.hi if hi is None else float(hi)
        if hi <= lo:
            return
        self._change(lo=lo, hi=hi)

    def _on_channel_row(self, row: int) -> None:
        if row >= 0 and row != self._channel:
            self._channel = row
            if self.session.view.solo is not None:
                self.session.view.set_solo(row)
            self.refresh()

    def _on_channel_item(self, item: QListWidgetItem) -> None:
        settings = self.session.view.display
        row = self.channel_list.row(item)
        if settings is None or not 0 <= row < len(settings.channels):
            return
        on = item.checkState() == Qt.CheckState.Checked
        if settings.channels[row].visible != on:
            self.controller.change(settings.with_channel(row, visible=on))

    # ---------------------------------------------------------------- the project's channel description
    def recolor_channel(self, index: int) -> bool:
        """Ask for a channel's colour and store it in the project's channel description."""
        spec = self.controller.spec()
        if spec is None or spec.is_rgb or not 0 <= index < spec.count:
            return False
        color = self.questions.color(spec.channels[index].color)
        if not color or color.lower() == spec.channels[index].color.lower():
            return False
        try:
            self.session.set_channels(spec.with_channel(index, color=color))
        except SegstudioError as exc:
            self.errors.report(f"cannot change the channel colour: {exc}")
            return False
        return True

    def edit_channels(self) -> None:
        """The channel description dialog (names, colours, normalisation)."""
        from segstudio.gui.channels_dialog import ChannelsDialog

        spec = self.controller.spec()
        if spec is None or spec.is_rgb:
            return
        dialog = ChannelsDialog(spec, self.questions, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted_spec.connect(self._store_spec)
        self.channels_dialog = dialog
        dialog.show()

    def _store_spec(self, spec) -> None:
        try:
            self.session.set_channels(spec)
        except SegstudioError as exc:
            self.errors.report(f"cannot change the channels: {exc}")

    # ---------------------------------------------------------------- rendering the state
    def refresh(self) -> None:
        settings, image = self.session.view.display, self.session.current_image
        enabled = settings is not None and image is not None
        for w in (self.histogram, self.lo_spin, self.hi_spin, self.gamma_spin, self.auto_button, self.reset_button):
            w.setEnabled(enabled)
        multi = enabled and self._multi()
        spec = self.controller.spec() if enabled else None
        for w in (self.channel_list, self.view_combo, self.view_label):
            w.setVisible(multi)
        self.channels_button.setVisible(spec is not None and not spec.is_rgb)
        self.color_button.setVisible(multi and spec is not None and not spec.is_rgb)
        if not enabled:
            self.histogram.set_content(None, 0, 1)
            self.colormap_combo.setEnabled(False)
            return
        assert settings is not None and image is not None
        self._channel = min(self._channel, len(settings.channels) - 1)
        if multi:
            self._fill_channels(settings, spec)
        index = self._targets(settings)[0]
        ch = settings.channels[index]
        key = None if self._linked() else index
        self.histogram.set_content(self.controller.histograms.get(key), ch.lo, ch.hi, ch.gamma,
                                   "#ffffff" if self.session.view.solo is not None or self._linked() else ch.color)
        integer = image.dtype.kind in "iub"
        for spin, value in ((self.lo_spin, ch.lo), (self.hi_spin, ch.hi), (self.gamma_spin, ch.gamma)):
            spin.blockSignals(True)
            if spin is not self.gamma_spin:
                spin.setDecimals(0 if integer else 4)
            spin.setValue(value)
            spin.blockSignals(False)
        single = len(settings.channels) == 1 or self.session.view.solo is not None
        self.colormap_combo.setEnabled(single)
        self.colormap_combo.blockSignals(True)
        self.colormap_combo.setCurrentIndex(max(0, self.colormap_combo.findData(ch.colormap)))
        self.colormap_combo.blockSignals(False)

    def _fill_channels(self, settings: DisplaySettings, spec) -> None:
        names = spec.names if spec is not None and not spec.is_rgb and spec.count == len(settings.channels) \
            else [f"C{i + 1}" for i in range(len(settings.channels))]
        lst = self.channel_list
        lst.blockSignals(True)
        if lst.count() != len(settings.channels):
            lst.clear()
            for _ in settings.channels:
                item = QListWidgetItem()
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                lst.addItem(item)
        for i, (ch, name) in enumerate(zip(settings.channels, names)):
            item = lst.item(i)
            item.setText(name)
            item.setIcon(color_swatch(ch.color, 14))
            item.setCheckState(Qt.CheckState.Checked if ch.visible else Qt.CheckState.Unchecked)
        lst.setCurrentRow(self.edited_channel())
        lst.blockSignals(False)
        combo = self.view_combo
        combo.blockSignals(True)
        if combo.count() != len(names) + 1 or [combo.itemText(i) for i in range(1, combo.count())] != names:
            combo.clear()
            combo.addItem("Composite")
            for name in names:
                combo.addItem(f"{name} only")
        solo = self.session.view.solo
        combo.setCurrentIndex(0 if solo is None else solo + 1)
        combo.blockSignals(False)
