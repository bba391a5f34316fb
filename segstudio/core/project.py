"""The project: a folder of images with masks, classes in segstudio.json, and training runs.

Layout (docs/architecture.md)::

    PROJECT/segstudio.json   classes, ignore_index; unknown keys preserved
    PROJECT/images/**        images (or PROJECT/** itself when there is no images/)
    PROJECT/masks/<rel>.png  one P-mode mask per labeled image, 255 = unlabeled
    PROJECT/predictions/<rel>.png   model predictions, kept apart from the masks
    PROJECT/runs/<run-id>/   training runs
"""

from __future__ import annotations

import contextlib
import copy
import enum
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from segstudio.core import transaction as txn_mod
from segstudio.core.atomic import atomic_write, atomic_write_json, remove_stale_temp_files
from segstudio.core.classes import (IGNORE_INDEX, MAX_CLASS_NAME, ClassInfo, check_class_name, color_to_hex,
                                    default_classes, default_color, parse_color)
from segstudio.core.errors import ProjectError
from segstudio.core.image_io import IMAGE_EXTENSIONS, is_image_file
from segstudio.core.mask_io import ValueMap, read_mask, write_mask
from segstudio.core.paths import natural_key

PROJECT_FILE = "segstudio.json"
FORMAT_VERSION = 1
#: Folders under the project root that never hold training images.
RESERVED_DIRS = ("masks", "runs", "predictions", ".segstudio")
MAX_PROJECT_FILE_BYTES = 16 * 1024 * 1024
MAX_CLASSES = 255

log = logging.getLogger("segstudio.project")


class LabelStatus(str, enum.Enum):
    """How much of an image is labeled."""

    NONE = "none"  # no mask file, or a mask that is all 255
    PARTIAL = "partial"  # some pixels labeled, some 255
    COMPLETE = "complete"  # every pixel has a class


def mask_label_status(mask: np.ndarray | None) -> LabelStatus:
    """Label status of a mask array (None = no mask)."""
    if mask is None or mask.size == 0:
        return LabelStatus.NONE
    unlabeled = int(np.count_nonzero(mask == IGNORE_INDEX))
    if unlabeled == mask.size:
        return LabelStatus.NONE
    return LabelStatus.PARTIAL if unlabeled else LabelStatus.COMPLETE


class Project:
    """A labeled folder. Create with :meth:`open` or :meth:`create`."""

    def __init__(self, root: Path, config: dict) -> None:
        self.root = Path(root).absolute()  # absolute: image paths and ids stay consistent whatever the cwd
        self.config = config
        self.classes: list[ClassInfo] = _parse_classes(config.get("classes"), self.root / PROJECT_FILE)
        ignore = config.get("ignore_index", IGNORE_INDEX)
        if ignore != IGNORE_INDEX or isinstance(ignore, bool):
            raise ProjectError(f"{self.root / PROJECT_FILE}: ignore_index must be {IGNORE_INDEX} (got {ignore!r})")
        self._txn: txn_mod.ProjectTransaction | None = None

    # ------------------------------------------------------------------ opening and saving
    @classmethod
    def open(cls, path: str | Path) -> "Project":
        """Open a project folder, or a plain folder of images (becomes a project on first save)."""
        root = Path(path)
        if root.is_file() and root.name == PROJECT_FILE:
            root = root.parent
        if not root.exists():
            raise ProjectError(f"project folder {root} does not exist")
        if not root.is_dir():
            raise ProjectError(f"{root} is not a folder")
        _tidy(root)
        cfg_path = root / PROJECT_FILE
        if cfg_path.exists():
            config = _read_config(cfg_path)
        else:
            config = _new_config(["background", "foreground"])
        return cls(root, config)

    @classmethod
    def create(cls, path: str | Path, class_names: Iterable[str] = ("background", "foreground")) -> "Project":
        """Create (or overwrite the class list of) a project folder and write segstudio.json."""
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        (root / "images").mkdir(exist_ok=True)
        project = cls(root, _new_config(list(class_names)))
        project.save()
        return project

    @property
    def config_path(self) -> Path:
        return self.root / PROJECT_FILE

    @property
    def name(self) -> str:
        return self.root.resolve().name

    def save(self) -> None:
        """Write segstudio.json atomically, keeping keys this version does not know."""
        self.config["version"] = FORMAT_VERSION
        self.config["classes"] = [c.to_json() for c in self.classes]
        self.config.setdefault("ignore_index", IGNORE_INDEX)
        self.note_write(self.config_path)
        atomic_write_json(self.config_path, self.config)

    # ------------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def transaction(self, operation: str) -> Iterator[txn_mod.ProjectTransaction]:
        """Run a change of the project as one transaction: if the block raises (or calls
        ``discard()``), or the process dies inside it, segstudio.json, masks/, predictions/ and
        copied images are exactly as before (the next :meth:`open` finishes the rollback).
        A nested call joins the open transaction."""
        if self._txn is not None:
            yield self._txn
            return
        snapshot = (copy.deepcopy(self.config), copy.deepcopy(self.classes))
        txn = txn_mod.ProjectTransaction.begin(self.root, operation)
        self._txn = txn
        try:
            yield txn
        except BaseException:
            self._txn = None
            txn.rollback()
            self.config, self.classes = snapshot
            raise
        self._txn = None
        if txn.discarded:
            txn.rollback()
            self.config, self.classes = snapshot
        else:
            txn.commit()

    def note_write(self, path: str | Path) -> None:
        """Call before writing ``path`` inside the project: an open transaction records it for undo."""
        if self._txn is not None:
            self._txn.record(path)

    # ------------------------------------------------------------------ folders
    @property
    def images_dir(self) -> Path:
        d = self.root / "images"
        return d if d.is_dir() else self.root

    @property
    def masks_dir(self) -> Path:
        return self.root / "masks"

    @property
    def predictions_dir(self) -> Path:
        return self.root / "predictions"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    # ------------------------------------------------------------------ images
    def list_images(self) -> list[Path]:
        """Every image in natural sort order of its relative path, skipping reserved and hidden folders.

        Symlinked folders are not entered (so a link loop cannot recurse); a symlinked file counts
        when it leads to a file (a dangling or looping link is skipped).
        """
        base = self.images_dir
        skip_reserved = base == self.root
        found: list[tuple[list, Path]] = []
        pending: list[tuple[str, str]] = [(str(base), "")]
        while pending:
            folder, rel_dir = pending.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                rel = f"{rel_dir}/{name}" if rel_dir else name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if not (skip_reserved and not rel_dir and name in RESERVED_DIRS):
                            pending.append((entry.path, rel))
                        continue
                    if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS and entry.is_file():
                        found.append((natural_key(rel), Path(entry.path)))
                except OSError:
                    continue
        found.sort(key=lambda item: item[0])
        return [p for _, p in found]

    def image_id(self, image: str | Path) -> str:
        """The image's path relative to the images folder, with '/' separators.

        A relative ``image`` is taken as an id (relative to the images folder) already.
        """
        path = Path(image)
        if not path.is_absolute():
            path = self.images_dir / path
        try:  # without resolving symlinks first: a linked image file keeps its own name
            return Path(os.path.abspath(path)).relative_to(os.path.abspath(self.images_dir)).as_posix()
        except ValueError:
            pass
        try:
            return path.resolve().relative_to(self.images_dir.resolve()).as_posix()
        except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop
            raise ProjectError(f"image {image} is not inside {self.images_dir}") from None

    def image_path(self, image_id: str) -> Path:
        """Absolute path of an image id."""
        return self.images_dir / image_id

    def mask_path(self, image: str | Path) -> Path:
        """masks/<relative path with .png suffix> for an image path or id."""
        rel = Path(self.image_id(image))
        return self.masks_dir / rel.with_suffix(".png")

    def prediction_path(self, image: str | Path) -> Path:
        """predictions/<relative path with .png suffix> for an image path or id."""
        rel = Path(self.image_id(image))
        return self.predictions_dir / rel.with_suffix(".png")

    def has_mask(self, image: str | Path) -> bool:
        return self.mask_path(image).is_file()

    def labeled_images(self) -> list[Path]:
        """Images that have a mask file (the ones training uses)."""
        return [p for p in self.list_images() if self.has_mask(p)]

    def read_mask(self, image: str | Path, expected_shape: tuple[int, int] | None = None,
                  value_map: ValueMap | None = None) -> np.ndarray | None:
        """The image's mask, or None when it has none."""
        path = self.mask_path(image)
        if not path.is_file():
            return None
        return read_mask(path, expected_shape, value_map=value_map, num_classes=self.num_classes, own=True)

    def write_mask(self, image: str | Path, mask: np.ndarray) -> Path:
        """Save the image's mask atomically with the project's palette."""
        path = self.mask_path(image)
        self.note_write(path)
        return write_mask(path, mask, self.colors)

    def read_prediction(self, image: str | Path) -> np.ndarray | None:
        path = self.prediction_path(image)
        if not path.is_file():
            return None
        return read_mask(path, num_classes=self.num_classes)

    def write_prediction(self, image: str | Path, mask: np.ndarray) -> Path:
        path = self.prediction_path(image)
        self.note_write(path)
        return write_mask(path, mask, self.colors)

    def label_status(self, image: str | Path) -> LabelStatus:
        """none / partial / complete, read from the mask file."""
        try:
            return mask_label_status(self.read_mask(image))
        except Exception:  # noqa: BLE001 - an unreadable mask counts as unlabeled for the browser
            return LabelStatus.NONE

    def add_images(self, files: Iterable[str | Path], subfolder: str = "") -> list[Path]:
        """Copy image files into images/ (created if needed); clashing names get a _1, _2 suffix.

        Files that are not images (by extension) are skipped. Returns the new paths.
        """
        target_dir = self.root / "images" / subfolder
        if not (self.root / "images").is_dir() and any(is_image_file(p) for p in self.root.iterdir() if p.is_file()):
            target_dir = self.root / subfolder  # plain folder project: keep images where they are
        target_dir.mkdir(parents=True, exist_ok=True)
        added: list[Path] = []
        for src in files:
            src = Path(src)
            if not src.is_file() or not is_image_file(src):
                continue
            dest = target_dir / src.name
            n = 1
            while dest.exists():
                dest = target_dir / f"{src.stem}_{n}{src.suffix}"
                n += 1
            self.note_write(dest)
            atomic_write(dest, lambda fh, src=src: _copy_into(src, fh))
            shutil.copystat(src, dest)
            added.append(dest)
        return added

    # ------------------------------------------------------------------ classes
    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    @property
    def colors(self) -> list[tuple[int, int, int]]:
        return [c.rgb for c in self.classes]

    @property
    def ignore_index(self) -> int:
        return int(self.config.get("ignore_index", IGNORE_INDEX))

    def add_class(self, name: str, color: str | None = None, save: bool = True) -> ClassInfo:
        """Append a class (id = current count) and save (unless ``save`` is False)."""
        name = _check_name(name, self.class_names)
        if self.num_classes >= MAX_CLASSES:
            raise ProjectError(f"{self.config_path}: a project holds at most {MAX_CLASSES} classes "
                               f"(255 means unlabeled); cannot add {name!r}")
        info = ClassInfo(self.num_classes, name, color or default_color(self.num_classes))
        parse_color(info.color)
        self.classes.append(info)
        if save:
            self.save()
        return info

    def rename_class(self, class_id: int, name: str) -> None:
        others = [c.name for c in self.classes if c.id != class_id]
        self._class(class_id).name = _check_name(name, others)
        self.save()

    def recolor_class(self, class_id: int, color: str) -> None:
        """Change a class colour; masks are rewritten so their palette matches (one transaction)."""
        try:
            parse_color(color)
        except ValueError as exc:
            raise ProjectError(str(exc)) from None
        self._class(class_id)
        with self.transaction(f"recolor class {class_id}"):
            self._class(class_id).color = color.lower() if color.startswith("#") else "#" + color.lower()
            self.save()
            self.remap_masks(None)

    def delete_class(self, class_id: int, remap_to: int | None = None) -> None:
        """Delete a class; its pixels become ``remap_to`` (a remaining class id, or None = unlabeled).

        Ids above the deleted one shift down by one so ids stay 0..n-1, in every mask.
        """
        self._class(class_id)
        if self.num_classes <= 1:
            raise ProjectError("cannot delete the last class")
        if remap_to is not None and (remap_to == class_id or not 0 <= remap_to < self.num_classes):
            raise ProjectError(f"cannot remap class {class_id} to {remap_to}: pick another existing class")
        lut = np.arange(256, dtype=np.uint8)
        target = IGNORE_INDEX if remap_to is None else (remap_to if remap_to < class_id else remap_to - 1)
        lut[class_id] = target
        lut[class_id + 1 : self.num_classes] = np.arange(class_id, self.num_classes - 1, dtype=np.uint8)
        with self.transaction(f"delete class {class_id}"):  # a crash in between: reopening rolls it back
            del self.classes[class_id]
            for i, c in enumerate(self.classes):
                c.id = i
            self.save()
            self.remap_masks(lut)

    def remap_masks(self, lut: np.ndarray | None) -> int:
        """Rewrite every mask (and prediction) through a 256-entry lookup table, as one transaction;
        returns the count. A mask that cannot be read stops it with everything as it was."""
        count = 0
        with self.transaction("remap masks"):
            for folder in (self.masks_dir, self.predictions_dir):
                if not folder.is_dir():
                    continue
                for path in sorted(folder.rglob("*.png")):
                    mask = read_mask(path)
                    if lut is not None:
                        mask = lut[mask]
                    self.note_write(path)
                    write_mask(path, mask, self.colors)
                    count += 1
        return count

    def _class(self, class_id: int) -> ClassInfo:
        if not 0 <= class_id < self.num_classes:
            raise ProjectError(f"no class with id {class_id} (the project has {self.num_classes})")
        return self.classes[class_id]


def read_project_config(path: str | Path) -> dict:
    """The parsed segstudio.json at ``path`` (with the limits and checks of :meth:`Project.open`, nothing
    else of the project touched); ProjectError names the file and the problem."""
    return _read_config(Path(path))


def read_project_classes(path: str | Path) -> list[ClassInfo]:
    """The classes of the project at ``path`` (its folder or its segstudio.json), read without opening it
    (nothing in that project is touched); ProjectError names the file when there is none or it is bad."""
    cfg_path = Path(path)
    if cfg_path.is_dir():
        cfg_path = cfg_path / PROJECT_FILE
    if not cfg_path.is_file():
        raise ProjectError(f"{cfg_path.parent} is not a segstudio project (it has no {PROJECT_FILE})")
    return _parse_classes(_read_config(cfg_path).get("classes"), cfg_path)


def _new_config(class_names: list[str]) -> dict:
    """segstudio.json contents of a new project with these classes."""
    return {"version": FORMAT_VERSION, "classes": [c.to_json() for c in default_classes(class_names)],
            "ignore_index": IGNORE_INDEX}


def _copy_into(src: Path, fh) -> None:
    with open(src, "rb") as fsrc:
        shutil.copyfileobj(fsrc, fh)


def _tidy(root: Path) -> None:
    """On open: roll back a change a killed process left unfinished, remove its temp files."""
    try:
        undone = txn_mod.recover(root)
    except OSError as exc:  # a read-only project: nothing can be undone, but it can be read
        log.warning("%s: cannot roll back an unfinished change (%s)", root, exc)
        undone = None
    if undone:
        log.warning("%s", undone)
    folders = [root / d for d in ("masks", "predictions", "images") if (root / d).is_dir()]
    removed = remove_stale_temp_files(folders)
    removed += remove_stale_temp_files([root], recursive=not (root / "images").is_dir(), skip_dirs=RESERVED_DIRS)
    if removed:
        log.info("%s: removed %d temp file(s) left by an interrupted save", root, len(removed))


def _check_name(name: str, existing: list[str]) -> str:
    try:
        name = check_class_name(name)
    except ValueError as exc:
        raise ProjectError(str(exc)) from None
    if name in existing:
        raise ProjectError(f"a class named {name!r} already exists")
    return name


def _read_config(path: Path) -> dict:
    try:
        size = path.stat().st_size
        if size > MAX_PROJECT_FILE_BYTES:
            raise ProjectError(f"{path} is too large ({size} bytes) to be a project file")
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{path} is not UTF-8 text") from exc
    except RecursionError:
        raise ProjectError(f"{path} is nested too deeply to be a project file") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ProjectError(f"{path} is not a valid project file ({exc})") from None
    except OSError as exc:
        raise ProjectError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not isinstance(config, dict):
        raise ProjectError(f"{path} must hold a JSON object")
    version = config.get("version", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"{path}: invalid version {version!r}")
    if version > FORMAT_VERSION:
        raise ProjectError(
            f"{path} was written by a newer segstudio (format version {version}; this one reads "
            f"up to {FORMAT_VERSION}); update segstudio to open it"
        )
    return config


def _parse_classes(raw, path: Path) -> list[ClassInfo]:
    if raw is None:
        return default_classes(["background", "foreground"])
    if not isinstance(raw, list) or not raw:
        raise ProjectError(f"{path}: 'classes' must be a non-empty list")
    if len(raw) > MAX_CLASSES:
        raise ProjectError(f"{path}: {len(raw)} classes, but at most {MAX_CLASSES} fit in an 8-bit mask "
                           "(255 means unlabeled)")
    classes: list[ClassInfo] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ProjectError(f"{path}: class #{i} must be an object with a 'name'")
        cid = item.get("id", i)
        if isinstance(cid, bool) or not isinstance(cid, int) or cid != i:
            raise ProjectError(f"{path}: class ids must be 0, 1, 2, ... in order (class #{i} has id {cid!r})")
        name = item["name"].strip()
        if not name:
            raise ProjectError(f"{path}: class #{i} has an empty name")
        if len(name) > MAX_CLASS_NAME:
            raise ProjectError(f"{path}: the name of class #{i} is longer than {MAX_CLASS_NAME} characters")
        try:
            check_class_name(name)
        except ValueError as exc:
            raise ProjectError(f"{path}: class #{i}: {exc}") from None
        if name in seen:
            raise ProjectError(f"{path}: class #{i} is named {name!r} like class #{seen[name]}; class names must differ")
        seen[name] = i
        color = item.get("color", default_color(i))
        try:
            rgb = parse_color(color)
        except (ValueError, TypeError) as exc:
            raise ProjectError(f"{path}: class {name!r}: {exc}") from None
        classes.append(ClassInfo(i, name, color if isinstance(color, str) else color_to_hex(rgb)))
    return classes
