"""Shared pieces of the interchange formats: reports, options, safe JSON, class mapping, placing files.

Importers never overwrite what a project already holds unless ``overwrite`` is set; every problem
with one file becomes a warning naming that file and the import goes on.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

import numpy as np

from segstudio.core.atomic import atomic_write
from segstudio.core.classes import IGNORE_INDEX, check_class_name, default_classes
from segstudio.core.errors import ProjectError, SaveError, SegstudioError
from segstudio.core.image_io import read_image_size
from segstudio.core.mask_io import ValueMap
from segstudio.core.paths import natural_key, resolve_inside
from segstudio.core.project import PROJECT_FILE, Project

#: progress(done, total, what) - called after each file
ProgressFn = Callable[[int, int, str], None]
#: cancel() -> True to stop between files
CancelFn = Callable[[], bool]
T = TypeVar("T")

IGNORE_LABEL = "__ignore__"
BACKGROUND_LABELS = ("_background_", "background", "__background__")
CLASS_FILES = ("class_names.txt", "labels.txt", "classes.txt")
#: LabelMe / VOC JSON files above this size are refused (imageData can make them large).
MAX_LABELME_JSON_BYTES = 256 * 1024 * 1024
#: COCO annotation files above this size are refused.
MAX_COCO_JSON_BYTES = 2 * 1024 * 1024 * 1024


class FormatError(SegstudioError):
    """The input as a whole is not valid for the format (nothing could be imported)."""


@dataclass
class ImportOptions:
    """What the user chose for an import."""

    overwrite: bool = False  # replace existing images/masks in the project
    value_map: ValueMap | None = None  # mask folders: raw value -> class id
    classes: list[str] | None = None  # accepted class names, in order (class 0 first)
    max_json_bytes: int | None = None  # override the format's JSON size limit


class _Warnings:
    """The ``warn`` of the reports below (each has a ``warnings`` list)."""

    warnings: list[str]

    def warn(self, path: str | Path, message: str) -> None:
        self.warnings.append(f"{path}: {message}")


@dataclass
class ImportReport(_Warnings):
    """Outcome of an import: counts and one warning per problem, each naming its file."""

    format: str
    source: Path
    imported: int = 0  # masks written
    images_copied: int = 0
    skipped: int = 0
    existing: int = 0  # of the skipped: already in the project (masks or different images), not overwritten
    classes_added: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False

    def summary(self) -> str:
        text = (f"imported {self.imported} mask(s) from {self.format} ({self.images_copied} image(s) copied, "
                f"{self.skipped} skipped, {len(self.warnings)} warning(s))")
        if self.classes_added:
            text += "; new classes: " + ", ".join(self.classes_added)
        return text + ("; cancelled" if self.cancelled else "")


@dataclass
class ExportReport(_Warnings):
    """Outcome of an export."""

    format: str
    dest: Path
    exported: int = 0  # images written with their annotations
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False

    def summary(self) -> str:
        text = (f"exported {self.exported} image(s) as {self.format} to {self.dest} "
                f"({self.skipped} skipped, {len(self.warnings)} warning(s))")
        return text + ("; cancelled" if self.cancelled else "")


def read_json_limited(path: str | Path, max_bytes: int) -> Any:
    """Parse a JSON file no larger than ``max_bytes``; errors name the file and the position."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FormatError(f"{path}: {size:,} bytes is over the {max_bytes:,}-byte limit for an annotation file")
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise FormatError(f"{path}: over the {max_bytes:,}-byte limit for an annotation file")
        return json.loads(data.decode("utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not UTF-8 text") from None
    except RecursionError:
        raise FormatError(f"{path}: JSON nested too deeply") from None
    except MemoryError:
        raise FormatError(f"{path}: too large to read into memory") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise FormatError(f"{path}: not valid JSON ({str(exc)[:200]})") from None
    except OSError as exc:
        raise FormatError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def read_class_file(path: Path) -> list[str]:
    """Class names, one per line (blank lines skipped)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: cannot read class names ({exc})") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def find_class_file(folder: Path) -> Path | None:
    """class_names.txt / labels.txt / classes.txt directly in ``folder``."""
    for name in CLASS_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def checked_source(source: str | Path, options: ImportOptions | None, folder: bool = False
                   ) -> tuple[Path, ImportOptions]:
    """SOURCE as a Path (FormatError when it is missing, or not a folder where ``folder``) and the
    options (defaults when None)."""
    source = Path(source)
    if folder and not source.is_dir():
        raise FormatError(f"{source} is not a folder")
    if not source.exists():
        raise FormatError(f"{source} does not exist")
    return source, options or ImportOptions()


def open_or_create_project(path: str | Path | Project) -> tuple[Project, bool]:
    """Open the import target (or take the open ``Project``), creating the folder if needed.

    Returns (project, fresh): ``fresh`` means it has no segstudio.json and no masks yet, so the
    import may set its class list.
    """
    if isinstance(path, Project):
        project, root = path, path.root
    else:
        root = Path(path)
        if root.exists() and not root.is_dir():
            raise ProjectError(f"{root} is not a folder")
        if not root.exists():
            try:
                root.mkdir(parents=True)
                (root / "images").mkdir()
            except OSError as exc:
                raise SaveError(root, exc.strerror or str(exc)) from None
        project = Project.open(root)
    masks = project.masks_dir
    fresh = not (root / PROJECT_FILE).exists() and not (masks.is_dir() and any(masks.rglob("*.png")))
    return project, fresh


def is_background_label(name: str) -> bool:
    return name.strip().lower() in BACKGROUND_LABELS


class ClassResolver:
    """Maps label names from a source to the project's class ids, adding classes where allowed.

    ``accepted`` (from --classes or the source's class file) limits the labels: others are
    unknown (None). '__ignore__' is 255; '_background_'/'background' and the name of the
    project's class 0 are class 0. New classes are saved with the import (:func:`finish_import`).
    ``origin`` (the file the names come from) is named when there are too many.
    """

    def __init__(self, project: Project, fresh: bool, accepted: list[str] | None,
                 origin: str | Path | None = None) -> None:
        self.project = project
        self.origin = origin
        self.added: list[str] = []
        self.accepted = None
        if accepted is not None:
            self.accepted = {n for n in accepted if n != IGNORE_LABEL}
        if fresh:
            names = [n.strip() for n in (accepted or []) if n.strip() and n.strip() != IGNORE_LABEL]
            for n in names:
                try:
                    check_class_name(n)
                except ValueError as exc:
                    where = f"{origin}: " if origin is not None else ""
                    raise FormatError(f"{where}{exc}") from None
            if names and is_background_label(names[0]):
                names[0] = "background"
            if not names:
                names = ["background"]
            seen: list[str] = []
            for n in names:
                if n not in seen:
                    seen.append(n)
            if len(seen) > 255:
                where = f"{origin}: " if origin is not None else ""
                raise FormatError(f"{where}{len(seen)} classes, but a project holds at most 255 "
                                  "(255 means unlabeled)")
            project.classes = default_classes(seen)  # saved by finish_import

    def _add(self, name: str) -> int:
        if self.project.num_classes >= 255:
            raise FormatError(f"label {name!r} would be class {self.project.num_classes + 1}, but a project "
                              "holds at most 255")
        info = self.project.add_class(name, save=False)
        self.added.append(name)
        return info.id

    def id_for(self, name: str) -> int | None:
        """Class id for a label, 255 for '__ignore__', None when the label is unknown."""
        name = str(name).strip()
        if name == IGNORE_LABEL:
            return IGNORE_INDEX
        if self.accepted is not None and name not in self.accepted and not is_background_label(name):
            return None
        names = self.project.class_names
        if name in names:
            return names.index(name)
        if is_background_label(name):
            return 0
        if not name:
            return None
        return self._add(name)


def finish_import(project: Project, report: ImportReport) -> ImportReport:
    """Save the project's class list when anything was imported; fill in the report."""
    if report.imported or report.images_copied:
        project.save()
    return report


def image_dest(project: Project, rel_id: str) -> Path:
    """Where an imported image goes inside the project (refusing ids that escape it).

    A leading 'images/' folder is dropped: the project keeps its images in images/ already.
    """
    if rel_id.startswith("images/") and len(rel_id) > len("images/"):
        rel_id = rel_id[len("images/"):]
    return resolve_inside(project.images_dir, rel_id)


def _same_file_content(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        if a.stat().st_size != b.stat().st_size:
            return False
        with open(a, "rb") as fa, open(b, "rb") as fb:
            while True:
                ca, cb = fa.read(1 << 20), fb.read(1 << 20)
                if ca != cb:
                    return False
                if not ca:
                    return True
    except OSError:
        return False


def mask_is_free(project: Project, dest: Path, overwrite: bool, report: ImportReport, source: Path) -> bool:
    """False (with a warning) when the image already has a mask and overwriting was not asked for."""
    if overwrite or not project.mask_path(dest).exists():
        return True
    report.warn(source, f"the project already has a mask for {project.image_id(dest)}; skipped "
                        "(use --overwrite to replace it)")
    report.skipped += 1
    report.existing += 1
    return False


def store_imported(project: Project, dest: Path, report: ImportReport, source: Path,
                   make_mask: Callable[[], np.ndarray], *, src_file: Path | None = None, data: bytes | None = None,
                   overwrite: bool = False, before_write: Callable[[np.ndarray], None] | None = None) -> bool:
    """Import one image with its mask, never replacing what the project holds unless ``overwrite``.

    In order: skip (with a warning naming ``source``) when ``dest`` already has a mask; build the
    mask with ``make_mask()``; place the image (see :func:`place_image`); call ``before_write(mask)``;
    write the mask and count it. Returns False when it was skipped.
    """
    if not mask_is_free(project, dest, overwrite, report, source):
        return False
    mask = make_mask()
    if not place_image(project, dest, report, source, src_file=src_file, data=data, overwrite=overwrite):
        return False
    if before_write is not None:
        before_write(mask)
    project.write_mask(dest, mask)
    report.imported += 1
    return True


def place_image(project: Project, dest: Path, report: ImportReport, source: Path, *,
                src_file: Path | None = None, data: bytes | None = None, overwrite: bool = False) -> bool:
    """Copy an image (a file or bytes) to ``dest`` in the project; never replaces a different one
    unless ``overwrite``. Returns False (with a warning naming ``source``) when it was skipped."""
    if dest.exists():
        if src_file is not None and _same_file_content(src_file, dest):
            return True
        if data is not None and dest.is_file() and dest.stat().st_size == len(data) and dest.read_bytes() == data:
            return True
        if not overwrite:
            report.warn(source, f"a different image {project.image_id(dest)} is already in the project; skipped "
                                "(use --overwrite to replace it)")
            report.skipped += 1
            report.existing += 1
            return False
    project.note_write(dest)
    if src_file is not None:
        copy_file(src_file, dest)
    elif data is not None:
        atomic_write(dest, lambda fh: fh.write(data))
    else:  # pragma: no cover - programming error
        raise ValueError("place_image needs src_file or data")
    report.images_copied += 1
    return True


def copy_file(src: Path, dst: Path) -> None:
    """Atomic copy of a file (nothing to do when ``dst`` is ``src``)."""
    if dst.exists() and dst.resolve() == src.resolve():
        return

    def write(fh):
        with open(src, "rb") as fsrc:
            shutil.copyfileobj(fsrc, fh)

    atomic_write(dst, write)


def walk_files(folder: Path, accept: Callable[[str], bool]) -> list[Path]:
    """Files under ``folder`` whose name ``accept`` takes, hidden files and folders skipped,
    in natural order of their path relative to ``folder``."""
    found: list[tuple[list, Path]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel_dir = Path(os.path.relpath(dirpath, folder)).as_posix()
        for name in filenames:
            if not name.startswith(".") and accept(name):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                found.append((natural_key(rel), Path(dirpath) / name))
    found.sort(key=lambda item: item[0])
    return [path for _, path in found]


def relative_posix(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` with '/' separators."""
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def read_export_mask(project: Project, image: Path) -> np.ndarray:
    """A labeled image's mask, checked against the image's size (SegstudioError naming the file)."""
    width, height = read_image_size(image)
    return project.read_mask(image, expected_shape=(height, width))


def export_class_ids(names: list[str], classes: list[str] | None) -> list[int]:
    """Class ids to export (background, class 0, never): those named by ``--classes`` in that order,
    else all; FormatError for a name the project lacks."""
    if not classes:
        return list(range(1, len(names)))
    unknown = [c for c in classes if c not in names]
    if unknown:
        raise FormatError(f"--classes: no class named {unknown[0]!r} in the project ({', '.join(names)})")
    return [names.index(c) for c in classes if names.index(c) != 0]


def split_train_val(items: list, val_every: int = 5) -> tuple[list, list]:
    """Deterministic split: every ``val_every``-th item goes to val (none when there are few)."""
    if len(items) < val_every:
        return list(items), []
    train = [x for i, x in enumerate(items) if i % val_every != val_every - 1]
    val = [x for i, x in enumerate(items) if i % val_every == val_every - 1]
    return train, val


def prepare_export_dest(dest: str | Path, overwrite: bool, marker: str) -> Path:
    """Create the export folder; refuse to write into a non-empty one that holds ``marker``
    (a previous export) unless ``overwrite``."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise FormatError(f"{dest} is not a folder")
    if (dest / marker).exists() and not overwrite:
        raise FormatError(f"{dest} already holds an export ({marker}); use --overwrite to replace it")
    dest.mkdir(parents=True, exist_ok=True)
    return dest


def each_file(items: Sequence[T], report: ImportReport | ExportReport, progress: ProgressFn | None,
              cancel: CancelFn | None, label: Callable[[T], str]) -> Iterator[T]:
    """Yield ``items`` in order; stop (marking the report cancelled) when ``cancel()`` says so and
    report ``progress(n, total, label(item))`` after each item's loop body."""
    total = len(items)
    for n, item in enumerate(items, 1):
        if cancel is not None and cancel():
            report.cancelled = True
            return
        yield item
        if progress is not None:
            progress(n, total, label(item))
