"""Main-window behaviour: class list edits, which change the project file and every mask on disk."""

from __future__ import annotations

from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import SegstudioError


class ClassesMixin:
    """Mixed into MainWindow (uses its project, class_panel, canvas, documents, predictions)."""

    # ================================================================ classes
    def _refresh_classes(self, emit: bool = True) -> None:
        if self.project is None:
            return
        self.class_panel.set_classes(self.project.classes)
        self.canvas.set_class_colors(self.project.colors)
        self.canvas.set_current_class(self.class_panel.current_class())
        if emit:
            self.classesChanged.emit()

    def select_class(self, class_id: int) -> None:
        """Make ``class_id`` the painting class (keys 1-9, picker tool, class list)."""
        if self.project is not None and 0 <= class_id < self.project.num_classes:
            self.class_panel.set_current_class(class_id)
            self.canvas.set_current_class(class_id)
            self.status.showMessage(f"Class {class_id}: {self.project.classes[class_id].name}", 1500)

    def current_class(self) -> int:
        return self.class_panel.current_class()

    def add_class(self, name: str, color: str | None = None) -> bool:
        return self._class_op(lambda p: p.add_class(name, color))

    def rename_class(self, class_id: int, name: str) -> bool:
        return self._class_op(lambda p: p.rename_class(class_id, name))

    def recolor_class(self, class_id: int, color: str) -> bool:
        return self._class_op(lambda p: p.recolor_class(class_id, color), save_first=True)

    def delete_class(self, class_id: int, remap_to: int | None = None) -> bool:
        """Delete a class; its pixels become ``remap_to`` (None = unlabeled) in every mask on disk and open."""
        ok = self._class_op(lambda p: p.delete_class(class_id, remap_to), save_first=True)
        if ok:
            # Masks on disk were renumbered: reload open documents (their undo history used the old ids).
            import numpy as np

            lut = np.arange(256, dtype=np.uint8)
            target = IGNORE_INDEX if remap_to is None else (remap_to if remap_to < class_id else remap_to - 1)
            lut[class_id] = target
            lut[class_id + 1: 255] = np.arange(class_id, 254, dtype=np.uint8)
            for image_id, (mask, conf) in list(self.predictions.items()):
                self.predictions[image_id] = (lut[mask], conf)
            self.documents.clear()
            if self.current_image_id is not None and self.current_image is not None:
                doc = self._load_document(self.current_image_id, self.current_image)
                self.canvas.set_image(self.current_image, doc)
                self._show_current_prediction()
            self._update_actions()
        return ok

    def _class_op(self, fn, save_first: bool = False) -> bool:
        if self.project is None:
            return False
        if save_first and not self.save_now():
            self.report_error(f"{self.last_error} — class change cancelled so no edit is lost")
            return False
        try:
            fn(self.project)
        except SegstudioError as exc:
            self.report_error(str(exc))
            return False
        self._refresh_classes()
        return True

