"""Live training in the window: the check box that starts and stops it, and which previews are shown.

Ticking *Live training* starts a continuous training with the form's settings at once; unticking stops
it (the last checkpoint is kept, the curves stay). When a normal training runs, ticking asks whether to
stop it and train live instead; the live run starts once the other one has ended. The box is unticked
whenever the live run ends for another reason (Stop, a failure, another project), so it always says
whether live training runs.

:class:`PreviewGate` decides which of the trainer's previews reach the canvas: only those of the image
on screen, and only when newer than what is shown for it.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QCheckBox, QWidget

from segstudio.gui.questions import Questions

LIVE_TOOLTIP = ("Tick to start training now, with these settings, until you untick it. While it runs, every "
                "stroke you finish is saved and joins the training at once, and the prediction of the image "
                "on screen refreshes about every second. Untick to stop; the last checkpoint is kept.")

#: seconds of training between two previews of the image on screen (TrainConfig.preview_every_s)
LIVE_PREVIEW_EVERY_S = 1.0


def ask_switch_to_live(parent: QWidget) -> bool:
    """Ask whether to stop the running (normal) training and train live instead (tests replace it)."""
    return Questions(parent).confirm(
        "A training is running",
        "A training is running. Stop it and start live training instead? Its last checkpoint is kept.")


class LiveToggle(QObject):
    """Drives training from the check box; see the module docstring.

    ``start()`` starts a training with the form's settings (True when it started), ``stop()`` asks the
    running one to stop, ``is_training()`` / ``is_live()`` say what runs. The panel calls
    :meth:`training_ended` when a run has ended and :meth:`reset` when another project opens."""

    liveChanged = Signal(bool)  # live training started (True) / ended (False)

    def __init__(self, check: QCheckBox, start: Callable[[], bool], stop: Callable[[], None],
                 is_training: Callable[[], bool], is_live: Callable[[], bool], parent: QWidget) -> None:
        super().__init__(parent)
        self.check, self._start, self._stop = check, start, stop
        self._is_training, self._is_live = is_training, is_live
        self.parent_widget = parent
        self.ask_switch = ask_switch_to_live
        self._switch_pending = False  # a normal run is stopping; live training starts when it has ended
        self._quiet = False  # set_checked is changing the box
        check.setToolTip(LIVE_TOOLTIP)
        check.toggled.connect(self._on_toggled)

    @property
    def switch_pending(self) -> bool:
        return self._switch_pending

    def set_checked(self, on: bool) -> None:
        """Show ``on`` without starting or stopping anything (the form still follows the box)."""
        self._quiet = True
        try:
            self.check.setChecked(on)
        finally:
            self._quiet = False

    def _on_toggled(self, on: bool) -> None:
        if self._quiet:
            return
        if on:
            self._tick()
        else:
            self._switch_pending = False
            if self._is_training() and self._is_live():
                self._stop()

    def _tick(self) -> None:
        if self._is_training():
            if self._is_live():
                return
            if not self.ask_switch(self.parent_widget):
                self.set_checked(False)
                return
            self._switch_pending = True
            self._stop()
            return
        if self._start():
            self.liveChanged.emit(True)
        else:
            self.set_checked(False)

    def training_ended(self, was_live: bool) -> None:
        """A run has ended: start the live run a switch waits for, or untick the box."""
        if was_live:
            self.liveChanged.emit(False)
        if self._switch_pending:
            self._switch_pending = False
            if self.check.isChecked() and self._start():
                self.liveChanged.emit(True)
                return
        self.set_checked(False)

    def reset(self) -> None:
        """Another project: unticked, no switch waiting (the panel stops the old project's run)."""
        self._switch_pending = False
        self.set_checked(False)


class PreviewGate:
    """Which previews reach the canvas: the image on screen's, newer than the one shown for it."""

    def __init__(self) -> None:
        self._shown: dict[str, tuple[float, ...]] = {}
        self.dropped = 0  # previews not shown (another image, or not newer)

    def accept(self, image_id: str, stamp: tuple[float, ...], current_id: str | None) -> bool:
        """True (and remembered) when the preview of ``image_id`` stamped ``stamp`` should be shown."""
        if image_id != current_id or stamp <= self._shown.get(image_id, (float("-inf"),)):
            self.dropped += 1
            return False
        self._shown[image_id] = stamp
        return True

    def forget(self) -> None:
        """A new run (or project): its previews start afresh."""
        self._shown.clear()
