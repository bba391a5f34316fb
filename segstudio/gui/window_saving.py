"""Main-window behaviour: undo/redo, debounced autosave, save on leave, the crash-recovery journal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import SegstudioError
from segstudio.gui.browser_model import status_from_label

if TYPE_CHECKING:
    from segstudio.core.mask_document import MaskDocument


class SavingMixin:
    """Mixed into MainWindow (uses its documents, project, journal, autosaver, browser, canvas)."""

    # ================================================================ editing and saving
    def undo(self) -> None:
        doc = self.current_document()
        if doc is not None and doc.undo() is not None:
            self._on_edit_finished()

    def redo(self) -> None:
        doc = self.current_document()
        if doc is not None and doc.redo() is not None:
            self._on_edit_finished()

    def _on_edit_finished(self) -> None:
        self.autosaver.schedule()
        self._update_actions()
        self._update_title()

    def _autosave(self) -> bool:
        if any(doc.in_edit for _, doc in self.documents.dirty_items()):
            self.autosaver.schedule()  # mid-stroke: wait for the pause
            return True
        return self.save_now()

    def save_now(self) -> bool:
        """Save every dirty mask now; False (error shown, edits kept) if any save failed."""
        ok = True
        for image_id, doc in self.documents.dirty_items():
            ok = self._save_document(image_id, doc) and ok
        if ok:
            if self.last_error and self.last_error.startswith("cannot save"):
                self.clear_error()
            self.autosaver.retry_timer.stop()
        elif not self.autosaver.pending:
            self.autosaver.retry_timer.start()
        self._update_title()
        return ok

    def _save_document(self, image_id: str, doc: MaskDocument) -> bool:
        if self.project is None:
            return False
        revision = doc.revision
        try:
            self.project.write_mask(image_id, doc.mask)
        except (SegstudioError, OSError) as exc:
            self.report_error(str(exc) if isinstance(exc, SegstudioError) else f"cannot save {image_id}: {exc}")
            return False
        doc.mark_saved(revision)
        if self.journal is not None:
            self.journal.remove(image_id)
        from segstudio.core.project import mask_label_status

        self.browser.model.set_status(image_id, status_from_label(mask_label_status(doc.mask)))
        self.documents.trim()
        self.maskSaved.emit(image_id)
        return True

    def _save_current_if_dirty(self) -> None:
        if self.current_image_id is None:
            return
        doc = self.documents.get(self.current_image_id)
        if doc is not None and doc.dirty:
            if doc.in_edit:
                doc.end_edit()
            self._save_document(self.current_image_id, doc)

    def write_journal(self, force: bool = False) -> int:
        """Copy dirty masks to the recovery journal (every few seconds); returns how many were written."""
        if self.journal is None or self.project is None:
            return 0
        written = 0
        for image_id, doc in self.documents.dirty_items():
            if force or self.journal.journaled_revision(image_id) != doc.revision:
                self.journal.write(image_id, doc.mask.copy(), self.project.colors, doc.revision)
                written += 1
        return written

    # ================================================================ recovery
    def _offer_recovery(self) -> None:
        pending = self.journal.pending() if self.journal else []
        known = set(self.browser.model.image_ids())
        pending = [i for i in pending if i in known]
        if pending:
            self.recovery_banner.offer(len(pending))
        else:
            self.recovery_banner.hide()

    def restore_recovery(self) -> int:
        """Put the journaled edits back into their masks (one undo step each) and save; returns the count."""
        if self.journal is None or self.project is None:
            return 0
        import numpy as np

        from segstudio.core.mask_document import MaskDocument

        restored = 0
        known = set(self.browser.model.image_ids())
        for image_id in self.journal.pending():
            mask = self.journal.load(image_id) if image_id in known else None
            if mask is None:
                continue
            doc = self.documents.get(image_id)
            if doc is None or doc.shape != mask.shape:
                try:
                    current = self.project.read_mask(image_id, expected_shape=mask.shape)
                except SegstudioError:
                    current = None
                doc = MaskDocument(current if current is not None else np.full(mask.shape, IGNORE_INDEX, np.uint8))
                self.documents.put(image_id, doc)
            if doc.replace(mask, "recovered edits"):
                restored += 1
            else:
                self.journal.remove(image_id)
        self.recovery_banner.hide()
        self.save_now()
        self.status.showMessage(f"Restored unsaved edits of {restored} image(s)", 5000)
        if self.current_image_id is not None and self.current_image is not None:
            doc = self.documents.get(self.current_image_id)
            if doc is not None and doc is not self.canvas.document() and doc.shape == self.current_image.shape:
                self.canvas.set_image(self.current_image, doc)
        return restored

    def discard_recovery(self) -> None:
        if self.journal is not None:
            self.journal.discard()
        self.recovery_banner.hide()

