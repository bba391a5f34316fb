"""The app's state in one Qt-free object: the open project, the current image, its documents and undo,
the recovery journal, the project's model state, class operations and accepting predictions.

Views (the main window's widgets) render it and forward user actions to it; it reports every change
through :class:`~segstudio.session.events.Events`. Opening another project is ONE transition
(:meth:`Session.open_project`): the old project's edits are saved (or kept for recovery), and its
documents, images, predictions, checkpoint and status are dropped together. It runs on one thread
(the GUI thread); background work only ever calls pure functions and hands results back.
"""

from __future__ import annotations

import filecmp
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import MaskNeedsMappingError, SaveError, SegstudioError
from segstudio.session.documents import DocumentStore
from segstudio.session.events import Events
from segstudio.session.image_cache import DEFAULT_MAX_PIXELS, ImageCache
from segstudio.session.model_state import ModelState, Prediction
from segstudio.session.view_state import ViewState

if TYPE_CHECKING:
    import numpy as np

    from segstudio.core.classes import ClassInfo
    from segstudio.core.image_io import LoadedImage
    from segstudio.core.mask_document import MaskDocument
    from segstudio.core.mask_io import ValueMap
    from segstudio.core.project import Project
    from segstudio.session.new_project import NewProjectPlan
    from segstudio.session.recovery import RecoveryJournal

log = logging.getLogger(__name__)

ACCEPT_MODES = ("unlabeled", "all")


def list_image_ids(project: Project) -> list[str]:
    """Image ids (relative posix paths) in natural order, without resolving every path."""
    base = str(project.images_dir)
    prefix = base if base.endswith(os.sep) else base + os.sep
    ids = []
    for path in project.list_images():
        text = str(path)
        rel = text[len(prefix):] if text.startswith(prefix) else os.path.relpath(text, base)
        ids.append(rel.replace(os.sep, "/"))
    return ids


@dataclass
class AddedImages:
    """What :meth:`Session.add_images` did with each dropped file."""

    added: list[str] = field(default_factory=list)  # new image ids
    already_there: list[str] = field(default_factory=list)  # identical files already in the project (not copied)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (dropped name, id it was stored as)

    def summary(self) -> str:
        parts = []
        if self.added:
            parts.append(f"added {_count(len(self.added), 'image')}")
        if self.already_there:
            parts.append(f"{_count(len(self.already_there), 'image')} already in the project "
                         f"({', '.join(self.already_there[:3])}{', …' if len(self.already_there) > 3 else ''})")
        for name, stored in self.renamed[:3]:
            parts.append(f"{name} differs from the image of that name already there: stored as {stored}")
        return "; ".join(parts) or "no images added"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


class Session:
    """See the module docstring. ``events`` carries every change (names in ``events.EVENT_NAMES``)."""

    def __init__(self) -> None:
        self.events = Events()
        self.project: Project | None = None
        self.model: ModelState | None = None
        self.documents = DocumentStore()
        #: layers, prediction style, class visibility and locks, display settings (see view_state)
        self.view = ViewState(self.events, self.documents)
        self.image_cache = ImageCache()
        self.journal: RecoveryJournal | None = None
        self.image_ids: list[str] = []
        self.current_id: str | None = None
        self.current_image: LoadedImage | None = None
        self.current_document: MaskDocument | None = None
        #: why the current image's mask is shown read-only (unreadable mask file), or None
        self.read_only_reason: str | None = None
        #: the last save failure's message (cleared by a successful save of everything)
        self.save_error: str | None = None
        self._was_dirty = False
        self._channels = None  # the channel description decided for the open project (see channels())
        #: image id -> bounding box (x0, y0, x1, y1) of what its last save changed (None: unknown / whole mask)
        self.saved_boxes: dict[str, tuple[int, int, int, int] | None] = {}

    # ================================================================ projects
    def open_project(self, path: str | Path, keep_unsaved: bool = False) -> Project:
        """Make the project (or plain image folder) at ``path`` the open one.

        The edits of the project being left are saved first; when that fails a SaveError is raised and
        nothing changes, unless ``keep_unsaved``: then they stay in the recovery journal. A folder that
        cannot be opened raises ProjectError and nothing changes."""
        from segstudio.core.project import Project
        from segstudio.session.recovery import RecoveryJournal

        project = Project.open(path)
        self.close_project(keep_unsaved)
        self.project = project
        self.model = ModelState(project)
        self.image_ids = list_image_ids(project)
        self.journal = RecoveryJournal(project.root)
        log.info("opened project %s (%d images, %d classes)", project.root, len(self.image_ids), project.num_classes)
        self.events.emit("project_changed", project)
        pending = self.pending_recovery()
        if pending:
            self.events.emit("recovery_available", len(pending))
        return project

    def close_project(self, keep_unsaved: bool = False) -> None:
        """Save every edit and drop everything that belongs to the open project (see :meth:`open_project`)."""
        if self.project is None:
            return
        if self.current_document is not None and self.current_document.in_edit:
            self.current_document.end_edit()
        failures = self.save_all()
        if failures and not keep_unsaved:
            image_id, message = failures[0]
            raise SaveError(self.project.mask_path(image_id), f"{message}; the project stays open so no edit is lost")
        if failures:
            self.write_journal(force=True)
            log.warning("left %s with %d unsaved mask(s) kept in the recovery journal", self.project.root,
                        len(failures))
        if self.journal is not None:
            self.journal.close()
        log.info("closed project %s", self.project.root)
        self.project = self.model = self.journal = None
        self.view.reset_project()
        self.documents.clear()
        self.documents.pinned = None
        self.image_cache.clear()
        self.image_ids = []
        self.saved_boxes.clear()
        self.current_id = self.current_image = self.current_document = None
        self.read_only_reason = self.save_error = None
        self._channels = None
        self._notify_dirty()

    def reload_project(self) -> Project:
        """Re-read the open project from disk (after an import wrote images, masks or classes)."""
        return self.open_project(self._project().root)

    def create_project(self, plan: NewProjectPlan, replace_existing: bool = False,
                       keep_unsaved: bool = False) -> Project:
        """Write the project ``plan`` describes as one transaction (``session.new_project.build_project``:
        nothing is left when it fails) and open it as :meth:`open_project` does."""
        from segstudio.session.new_project import build_project

        return self.open_project(build_project(plan, replace_existing), keep_unsaved)

    # ================================================================ images
    def image_path(self, image_id: str) -> Path:
        return self._project().image_path(image_id)

    def load_image(self, image_id: str, max_pixels: int | None | str = DEFAULT_MAX_PIXELS) -> LoadedImage:
        """The decoded image (cached); raises ImageLoadError / ImageTooLargeError naming the file."""
        return self.image_cache.get(image_id, self.image_path(image_id), max_pixels)

    def show_image(self, image_id: str, image: LoadedImage | None, value_map: ValueMap | None = None,
                   read_only: str | None = None) -> MaskDocument | None:
        """Make ``image_id`` the current image, showing ``image`` (None: not decoded, nothing to paint on).

        The image being left is saved when it has edits (a failure keeps them and sets ``save_error``).
        A mask written by another tool raises MaskNeedsMappingError before anything changes: ask for a
        value map and call again with it (or with ``read_only`` = the reason to show it without its mask).
        An unreadable mask leaves the image read-only (``read_only_reason`` says why). Returns the
        editable document, or None."""
        document, reason = None, read_only
        if image is not None and reason is None:
            reason = self._channel_problem(image)
        if image is not None and reason is None:
            try:
                document = self.document_for(image_id, image, value_map)
            except MaskNeedsMappingError:
                raise
            except (SegstudioError, ValueError) as exc:
                reason = f"{exc} (shown read-only; the file is left as it is)"
                log.warning("%s", reason)
        if self.current_id is not None and self.current_id != image_id:
            self._save_quietly(self.current_id)
        self.current_id, self.current_image, self.current_document = image_id, image, document
        self.read_only_reason = reason
        self.documents.pinned = image_id
        self.events.emit("image_changed", image_id)
        return document

    def channels(self):
        """The project's channel description (``core.channels.ChannelSpec``). When the project stores none it is
        inferred from its first image, as ``core.channels.ensure_project_channels`` does (kept in memory and
        written with the project's next save); the first image comes from the image cache when it is there."""
        from segstudio.core.channels import CONFIG_KEY, ChannelSpec, infer_channels, project_channels

        project = self._project()
        if project.config.get(CONFIG_KEY) is not None:
            return project_channels(project)
        if self._channels is not None:  # decided once per opening: images added later do not change it
            return self._channels
        first = None
        for image_id in self.image_ids[:5]:
            try:
                first = self.load_image(image_id, max_pixels=None)
                break
            except SegstudioError:
                continue
        if first is None or (project.config_path.exists() and first.channels in (1, 3)):
            self._channels = ChannelSpec.rgb()
            if first is not None:  # record it, so images added later (and the trainer) agree with what is shown
                self._record_channels(self._channels)
            return self._channels
        self._channels = inferred = infer_channels(first)
        if not inferred.is_rgb:
            project.config[CONFIG_KEY] = inferred.to_json()
        return inferred

    def set_channels(self, spec) -> None:
        """Store an edited channel description (names, colours, normalisation) in segstudio.json."""
        from segstudio.core.channels import set_project_channels

        set_project_channels(self._project(), spec, save=True)
        self._channels = spec
        self.events.emit("channels_changed", spec)

    def _record_channels(self, spec) -> None:
        from segstudio.core.channels import set_project_channels

        try:
            set_project_channels(self._project(), spec, save=True)
        except SegstudioError as exc:  # a read-only project: the description stays in memory
            log.warning("cannot record the channel description: %s", exc)

    def _channel_problem(self, image: LoadedImage) -> str | None:
        """Why ``image`` does not fit the project's channels (it is shown, never silently converted), or None."""
        from segstudio.core.errors import ChannelMismatchError

        try:
            self.channels().check(image)
        except ChannelMismatchError as exc:
            log.warning("%s", exc)
            return f"{exc} (shown read-only: this project cannot train on it)"
        except SegstudioError as exc:
            return str(exc)
        return None

    def neighbours(self, ids: Iterable[str]) -> list[tuple[str, Path]]:
        """(image id, path) of images to decode ahead (those not cached yet)."""
        return [(i, self.image_path(i)) for i in ids if i is not None and i not in self.image_cache]

    def document_for(self, image_id: str, image: LoadedImage, value_map: ValueMap | None = None) -> MaskDocument:
        """The image's editable mask: the open document, else its mask file, else all unlabeled."""
        import numpy as np

        from segstudio.core.mask_document import MaskDocument

        doc = self.documents.get(image_id)
        if doc is not None and doc.shape == image.shape:
            return doc
        mask = self._project().read_mask(image_id, expected_shape=image.shape, value_map=value_map)
        if mask is None:
            mask = np.full(image.shape, IGNORE_INDEX, np.uint8)
        doc = MaskDocument(np.array(mask, dtype=np.uint8, copy=True))
        doc.rules = self.view.rules
        self.documents.put(image_id, doc)
        return doc

    def add_images(self, files: Iterable[str | Path]) -> AddedImages:
        """Copy image files into the project. A file identical to the image of the same name already there
        is not copied again; a different one is stored under a new name (both reported)."""
        from segstudio.core.image_io import is_image_file

        project = self._project()
        result = AddedImages()
        fresh: list[Path] = []
        for src in (Path(f) for f in files):
            if not src.is_file() or not is_image_file(src):
                continue
            existing = project.images_dir / src.name
            if existing.is_file() and filecmp.cmp(src, existing, shallow=False):
                result.already_there.append(project.image_id(existing))
                continue
            fresh.append(src)
        try:
            added = project.add_images(fresh)
        except OSError as exc:
            raise SegstudioError(f"cannot add images to {project.root}: {exc.strerror or exc}") from exc
        for src, path in zip(fresh, added):
            image_id = project.image_id(path)
            result.added.append(image_id)
            if path.name != src.name:
                result.renamed.append((src.name, image_id))
        if result.added:
            known = set(self.image_ids)
            from segstudio.core.paths import natural_key

            self.image_ids = sorted(known | set(result.added), key=natural_key)
            log.info("added %d image(s) to %s", len(result.added), project.root)
            self.events.emit("images_added", list(result.added))
        return result

    # ================================================================ editing and saving
    def note_edit(self) -> None:
        """The current document got a new undo step (a stroke, fill, polygon ...)."""
        if self.current_id is not None:
            self.events.emit("document_edited", self.current_id)
        self._notify_dirty()

    def undo(self) -> bool:
        doc = self.current_document
        if doc is None or doc.undo() is None:
            return False
        self.note_edit()
        return True

    def redo(self) -> bool:
        doc = self.current_document
        if doc is None or doc.redo() is None:
            return False
        self.note_edit()
        return True

    @property
    def dirty(self) -> bool:
        """Any mask has edits not on disk yet."""
        return bool(self.documents.dirty_items())

    def save_document(self, image_id: str) -> None:
        """Write one document's mask (atomically); raises SaveError naming the file, keeping the edit."""
        from segstudio.core.project import mask_label_status

        doc = self.documents.get(image_id)
        if doc is None or not doc.dirty:
            return
        if doc.in_edit:
            doc.end_edit()
        revision, box = doc.revision, doc.unsaved_rect
        try:
            self._project().write_mask(image_id, doc.mask)
        except OSError as exc:  # SaveError is raised as it is
            raise SaveError(self._project().mask_path(image_id), exc.strerror or str(exc)) from exc
        doc.mark_saved(revision)
        self.saved_boxes[image_id] = box  # what live training re-reads first (see saved_box)
        if self.journal is not None:
            self.journal.remove(image_id)
        self.documents.trim()
        self.events.emit("mask_saved", image_id, mask_label_status(doc.mask))
        self._notify_dirty()

    def saved_box(self, image_id: str) -> tuple[int, int, int, int] | None:
        """The region (x0, y0, x1, y1, end-exclusive) that the last save of ``image_id`` changed; None when
        unknown (the whole mask). Subscribers of ``mask_saved`` ask it."""
        return self.saved_boxes.get(image_id)

    def save_all(self) -> list[tuple[str, str]]:
        """Save every dirty mask; returns the failures as (image id, message), each one logged."""
        failures = []
        for image_id, doc in self.documents.dirty_items():
            if doc.in_edit:
                continue  # mid-stroke: saved once the stroke ends
            try:
                self.save_document(image_id)
            except SegstudioError as exc:
                failures.append((image_id, str(exc)))
                log.error("saving %s failed: %s", image_id, exc)
        self.save_error = failures[0][1] if failures else None
        return failures

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

    def _save_quietly(self, image_id: str) -> None:
        try:
            self.save_document(image_id)
        except SegstudioError as exc:
            self.save_error = str(exc)
            log.error("saving %s failed: %s", image_id, exc)

    def _notify_dirty(self) -> None:
        dirty = self.dirty
        if dirty != self._was_dirty:
            self._was_dirty = dirty
            self.events.emit("dirty_changed", dirty)

    # ================================================================ recovery
    def pending_recovery(self) -> list[str]:
        """Images of this project with journaled edits left by a crash."""
        if self.journal is None:
            return []
        known = set(self.image_ids)
        return [i for i in self.journal.pending() if i in known]

    def restore_recovery(self) -> int:
        """Put the journaled edits back into their masks (one undo step each) and save; returns the count."""
        import numpy as np

        from segstudio.core.mask_document import MaskDocument

        journal, project = self.journal, self._project()
        if journal is None:
            return 0
        restored = 0
        for image_id in self.pending_recovery():
            mask = journal.load(image_id)
            if mask is None:
                continue
            doc = self.documents.get(image_id)
            if doc is None or doc.shape != mask.shape:
                try:
                    current = project.read_mask(image_id, expected_shape=mask.shape)
                except SegstudioError:
                    current = None
                doc = MaskDocument(np.array(current, np.uint8) if current is not None
                                   else np.full(mask.shape, IGNORE_INDEX, np.uint8))
                self.documents.put(image_id, doc)
            if doc.replace(mask, "recovered edits"):
                restored += 1
            else:
                journal.remove(image_id)
        log.info("restored the unsaved edits of %d image(s) in %s", restored, project.root)
        self.save_all()
        if self.current_id is not None and self.current_image is not None:
            doc = self.documents.get(self.current_id)
            if doc is not None and doc is not self.current_document and doc.shape == self.current_image.shape:
                self.current_document = doc
                self.events.emit("image_changed", self.current_id)
        return restored

    def discard_recovery(self) -> None:
        if self.journal is not None:
            self.journal.discard()

    # ================================================================ classes
    def add_class(self, name: str, color: str | None = None) -> ClassInfo:
        info = self._project().add_class(name, color)
        self.events.emit("classes_changed")
        return info

    def rename_class(self, class_id: int, name: str) -> None:
        self._project().rename_class(class_id, name)
        self.events.emit("classes_changed")

    def recolor_class(self, class_id: int, color: str) -> None:
        """Change a class colour (every mask file's palette is rewritten: edits are saved first)."""
        self._save_before_class_change()
        self._project().recolor_class(class_id, color)
        self.events.emit("classes_changed")

    def delete_class(self, class_id: int, remap_to: int | None = None) -> None:
        """Delete a class: its pixels become ``remap_to`` (None = unlabeled) and higher ids shift down, in
        every mask on disk, every open document (reloaded) and every prediction."""
        from segstudio.core.classes import delete_class_lut

        project = self._project()
        self._save_before_class_change()
        lut = delete_class_lut(project.num_classes, class_id, remap_to)
        project.delete_class(class_id, remap_to)
        if self.model is not None:
            self.model.remap(lut)
        self.view.remap_classes(lut, class_id)
        self.documents.clear()  # their undo history used the old ids
        self.documents.pinned = self.current_id
        if self.current_id is not None and self.current_image is not None:
            self.current_document = self.document_for(self.current_id, self.current_image)
        self.events.emit("classes_changed")
        if self.current_id is not None:
            self.events.emit("image_changed", self.current_id)

    def _save_before_class_change(self) -> None:
        failures = self.save_all()
        if failures:
            raise SaveError(self._project().mask_path(failures[0][0]),
                            f"{failures[0][1]} — class change cancelled so no edit is lost")

    # ================================================================ the model's predictions
    def set_checkpoint(self, path: str | Path | None) -> None:
        """The checkpoint that predicts for this project (None: no model yet)."""
        model = self._model()
        model.checkpoint = Path(path) if path else None
        self.events.emit("model_changed", model.checkpoint)

    def set_model_status(self, text: str) -> None:
        self._model().status = text
        self.events.emit("model_status", text)

    def set_prediction(self, image_id: str, mask: np.ndarray, confidence: np.ndarray | None = None,
                       project_root: str | Path | None = None) -> bool:
        """Keep a model prediction of an image. ``project_root`` (where the model's job came from): a result
        of another project than the open one is dropped (False)."""
        if self.model is None or (project_root is not None
                                  and Path(project_root).resolve() != self.model.project.root.resolve()):
            return False
        if image_id not in self.image_ids:
            return False
        self.model.put(image_id, mask, confidence)
        self.events.emit("prediction_changed", image_id)
        return True

    def prediction(self, image_id: str | None = None) -> Prediction | None:
        """The prediction of ``image_id`` (default: the current image), or None."""
        image_id = image_id or self.current_id
        if self.model is None or image_id is None:
            return None
        return self.model.get(image_id)

    def set_uncertainty(self, image_id: str, value: float, project_root: str | Path | None = None) -> None:
        if self.model is None or (project_root is not None
                                  and Path(project_root).resolve() != self.model.project.root.resolve()):
            return
        self.model.uncertainty[image_id] = float(value)
        self.events.emit("uncertainty_changed", image_id, float(value))

    def accept_prediction(self, mode: str = "unlabeled") -> bool:
        """Copy the current image's prediction into its mask ("unlabeled": only pixels without a label;
        "all": everywhere) as one undo step. False when there is nothing to accept; SegstudioError when the
        prediction holds class ids the project has no class for."""
        if mode not in ACCEPT_MODES:
            raise ValueError(f"mode must be one of {ACCEPT_MODES}, not {mode!r}")
        doc, pred = self.current_document, self.prediction()
        if doc is None or pred is None or pred.mask.shape != doc.shape:
            return False
        self._model().check_classes(pred.mask)
        where = pred.mask != IGNORE_INDEX
        if mode == "unlabeled":
            where &= doc.mask == IGNORE_INDEX
        changed = doc.replace(pred.mask, "accept prediction", where=where)
        if changed:
            self.note_edit()
        return changed

    # ================================================================ helpers
    def _project(self) -> Project:
        if self.project is None:
            raise SegstudioError("no project is open")
        return self.project

    def _model(self) -> ModelState:
        if self.model is None:
            raise SegstudioError("no project is open")
        return self.model
