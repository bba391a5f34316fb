"""Help › Getting Started: a short tour of the app in a non-modal window, shown once on the first start.

The page is HTML (:data:`TOUR`) whose keys are taken from the window's actions (``[[name]]`` is replaced by
the shortcut of ``actions_by_name[name]``), so the tour never names a key the app does not use; its colours
come from the palette in use (``theme.html_colors``). :func:`show_on_first_start` (called by ``run_app``,
never by the windows tests build) shows it once and remembers that in the settings.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from segstudio.gui import settings as app_settings
from segstudio.gui.theme import html_colors

if TYPE_CHECKING:
    from segstudio.gui.main_window import MainWindow

SHOWN_KEY = "help/getting_started_shown"

#: the tour's sections, in order (a test checks the page lists them)
HEADINGS = ("Open or make a project", "Paint, and the classes", "Train, and live training",
            "Accept and correct predictions", "Layers and display", "Where your files go")

TOUR = """
<h1>Getting started with segstudio</h1>
<p class=muted>Paint a few strokes, train, correct what the model gets wrong, train again.
This page is under <b>Help › Getting Started</b>; every key is under <b>Help › Keyboard Shortcuts</b> ([[shortcuts]]).</p>

<h2>Open or make a project</h2>
<p>A project is a folder of images with a <code>segstudio.json</code> that names your classes.
<b>File › New Project…</b> ([[new_project]]) chooses the images (or drop images and folders onto it), the classes
and their colours (or copies them from another project), and shows the images before anything is written.
<b>File › Open…</b> ([[open]]) lists folders and the images in them: pick a folder, an image (its project opens on
that image) or a <code>segstudio.json</code>. A folder that is not a project yet asks for its classes first;
Cancel leaves it untouched. You can also drop a folder onto the window, or images to add them.</p>

<h2>Paint, and the classes</h2>
<p>Pick a class in the <i>Classes</i> panel or with <kbd>1</kbd>–<kbd>9</kbd>, then paint: brush [[tool_brush]],
eraser [[tool_eraser]] (erased pixels are <i>unlabeled</i>), polygon [[tool_polygon]], fill [[tool_fill]],
magic wand [[tool_wand]], picker [[tool_picker]]. <kbd>[</kbd> / <kbd>]</kbd> change the brush size, the wheel
zooms, space + drag pans, [[previous_image]] / [[next_image]] go to the previous / next image, [[undo]] undoes.
Unlabeled pixels are simply ignored in training, so a few strokes per image are enough to start.
Add, rename, recolour or delete classes in the <i>Classes</i> panel.</p>

<h2>Train, and live training</h2>
<p>Click <b>Train</b> in the <i>Training</i> panel (or [[train]]). The loss curve and the validation mIoU update
as it learns, and the prediction of the image on screen refreshes every epoch. Tick <i>Live training</i> to keep
the model learning from your newest strokes while you annotate.</p>

<h2>Accept and correct predictions</h2>
<p><b>Model › Accept Prediction</b> ([[accept_unlabeled]]) copies the prediction into the unlabeled pixels of
the mask (one undo step); then paint over what is wrong and train again. <b>Predict All</b> ([[predict_all]])
lets the image list sort by uncertainty, so you label the most informative image next.</p>

<h2>Layers and display</h2>
<p>The <i>Layers</i> panel shows, top first, uncertainty, prediction, mask and image, each with a check box
and an opacity ([[show_mask]] / [[show_prediction]] toggle mask and prediction). Below it: contrast limits over
the histogram, <i>Auto</i>, <i>Reset</i>, gamma and colour maps, and each channel of a multi-channel image.
The eye in the class list hides a class, the padlock locks it. None of this changes what the model learns from.</p>

<h2>Where your files go</h2>
<p>Everything stays in the project folder: <code>segstudio.json</code> (classes), your images (or
<code>images/</code>), <code>masks/</code> (one PNG per image you painted: pixel value = class,
255 = unlabeled), <code>predictions/</code> (the model's, never mixed with yours) and <code>runs/</code>
(each training: settings, metrics and checkpoints). Masks save themselves when you pause or change image
([[save]] saves now); after a crash the last seconds of painting come back on the next start.</p>
"""

STYLE = """
body {{ color: {text}; }}
h1 {{ color: {heading}; font-size: 17pt; margin-bottom: 2px; }}
h2 {{ color: {heading}; font-size: 13pt; margin-top: 14px; margin-bottom: 2px; }}
p {{ margin-top: 2px; line-height: 125%; }}
.muted {{ color: {muted}; }}
a {{ color: {link}; }}
code {{ color: {text}; }}
kbd {{ background-color: {key_bg}; color: {text}; font-family: monospace; font-weight: 600; }}
"""


def tour_html(window: MainWindow) -> str:
    """The tour page with each ``[[action]]`` replaced by that action's keys."""

    def keys(match: re.Match) -> str:
        act = window.actions_by_name.get(match.group(1))
        sequences = act.shortcuts() if act is not None else []
        if not sequences:
            return f"<i>{match.group(1).replace('_', ' ')}</i>"
        return " / ".join(f"<kbd>&nbsp;{s.toString(QKeySequence.SequenceFormat.NativeText)}&nbsp;</kbd>"
                          for s in sequences[:2])

    return re.sub(r"\[\[(\w+)\]\]", keys, TOUR)


class GettingStartedDialog(QDialog):
    """The tour in a QTextBrowser, non-modal; re-coloured when the palette changes (light / dark)."""

    def __init__(self, window: MainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.setObjectName("getting_started")
        self.setWindowTitle("Getting Started")
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.window_ = window
        self.browser = QTextBrowser()
        self.browser.setObjectName("getting_started_text")
        self.browser.setOpenExternalLinks(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(640, 720)
        self.render()

    def render(self) -> None:
        """(Re)build the page with the current palette's colours."""
        self.browser.document().setDefaultStyleSheet(STYLE.format(**html_colors(self.palette())))
        self.browser.setHtml(tour_html(self.window_))

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt API
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.PaletteChange:
            self.render()
        super().changeEvent(event)


def show_on_first_start(window: MainWindow) -> GettingStartedDialog | None:
    """Show the tour if it was never shown (remembered in the settings); the dialog, or None."""
    if app_settings.read_value(SHOWN_KEY, False, bool):
        return None
    app_settings.write_values({SHOWN_KEY: True})
    from segstudio.gui.main_actions import show_getting_started

    return show_getting_started(window)
