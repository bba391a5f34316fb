"""Fusion style with a light or dark palette that follows the system colour scheme (Qt 6.5+)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


def system_is_dark() -> bool:
    """True when the platform reports a dark colour scheme."""
    hints = QGuiApplication.styleHints()
    try:
        return hints.colorScheme() == Qt.ColorScheme.Dark
    except AttributeError:  # Qt < 6.5: guess from the default window colour
        return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor(45, 47, 51), QColor(30, 31, 34), QColor(225, 227, 230)
    highlight = QColor(61, 133, 214)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor(38, 40, 43),
        QPalette.ColorRole.ToolTipBase: QColor(55, 57, 61),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor(130, 133, 138),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(52, 54, 58),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 90, 90),
        QPalette.ColorRole.Light: QColor(70, 72, 77),
        QPalette.ColorRole.Midlight: QColor(60, 62, 66),
        QPalette.ColorRole.Mid: QColor(40, 41, 44),
        QPalette.ColorRole.Dark: QColor(25, 26, 28),
        QPalette.ColorRole.Shadow: QColor(10, 10, 10),
        QPalette.ColorRole.Highlight: highlight,
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(100, 160, 240),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    _set_disabled(p, text=QColor(110, 112, 116), button=QColor(44, 46, 50), base=QColor(34, 35, 38))
    return p


def light_palette() -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: QColor(239, 240, 242),
        QPalette.ColorRole.WindowText: QColor(30, 30, 32),
        QPalette.ColorRole.Base: QColor(255, 255, 255),
        QPalette.ColorRole.AlternateBase: QColor(246, 247, 249),
        QPalette.ColorRole.ToolTipBase: QColor(255, 255, 225),
        QPalette.ColorRole.ToolTipText: QColor(30, 30, 32),
        QPalette.ColorRole.Text: QColor(30, 30, 32),
        QPalette.ColorRole.Button: QColor(232, 233, 236),
        QPalette.ColorRole.ButtonText: QColor(30, 30, 32),
        QPalette.ColorRole.Highlight: QColor(48, 120, 206),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(30, 100, 200),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    _set_disabled(p, text=QColor(160, 161, 165), button=QColor(226, 227, 230), base=QColor(244, 245, 247))
    return p


def _set_disabled(p: QPalette, text: QColor, button: QColor, base: QColor) -> None:
    """The Disabled colour group: greyed text and flatter fills, so a disabled control never looks enabled."""
    disabled = QPalette.ColorGroup.Disabled
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.PlaceholderText):
        p.setColor(disabled, role, text)
    p.setColor(disabled, QPalette.ColorRole.Button, button)
    p.setColor(disabled, QPalette.ColorRole.Base, base)
    p.setColor(disabled, QPalette.ColorRole.Highlight, text)
    p.setColor(disabled, QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(disabled, QPalette.ColorRole.Light, button)


def apply_theme(app: QApplication, dark: bool | None = None) -> bool:
    """Fusion style plus a matching palette; ``dark=None`` follows the system. Returns dark."""
    app.setStyle("Fusion")
    if dark is None:
        dark = system_is_dark()
    app.setPalette(dark_palette() if dark else light_palette())
    return dark


def follow_system_scheme(app: QApplication) -> None:
    """Re-apply the palette whenever the system switches between light and dark."""
    hints = QGuiApplication.styleHints()
    signal = getattr(hints, "colorSchemeChanged", None)
    if signal is not None:
        signal.connect(lambda *_: apply_theme(app))


def html_colors(palette: QPalette) -> dict[str, str]:
    """'#rrggbb' colours for rich-text pages (Help › Getting Started) that match the palette in use: ``text``,
    ``muted``, ``heading``, ``link``, ``key_bg`` and ``key_border`` (key caps), ``base``."""
    role = QPalette.ColorRole
    text, base = palette.color(role.Text), palette.color(role.Base)
    dark = base.lightness() < 128
    heading = palette.color(role.Highlight)
    heading = heading.lighter(135) if dark else heading.darker(115)
    muted = QColor((text.red() * 2 + base.red()) // 3, (text.green() * 2 + base.green()) // 3,
                   (text.blue() * 2 + base.blue()) // 3)
    key_bg = base.lighter(160) if dark else palette.color(role.Button)
    key_border = base.lighter(220) if dark else palette.color(role.Button).darker(130)
    return {"text": text.name(), "base": base.name(), "muted": muted.name(), "heading": heading.name(),
            "link": palette.color(role.Link).name(), "key_bg": key_bg.name(), "key_border": key_border.name()}
