"""Making a new project, Qt-free: File › New Project… and the classes question on a plain folder.

A :class:`NewProjectPlan` says where the images come from (a folder and/or image files dropped on the
dialog), where the project lives (default: the image folder) and its classes. :func:`plan_problem` gives
the one reason it cannot be created yet (shown beside the disabled Create button), :func:`survey_images`
lists what would be in it (run on a worker thread: it reads file headers), and :func:`build_project`
writes it as one transaction (``Project.transaction``): segstudio.json, plus copies of the images when the
project lives elsewhere. Nothing is written before that, and a failure leaves the folders as they were.
"""

from __future__ import annotations

import filecmp
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from segstudio.core.classes import DEFAULT_COLORS, ClassInfo, check_class_name, color_to_hex, parse_color
from segstudio.core.errors import SegstudioError
from segstudio.core.project import MAX_CLASSES, PROJECT_FILE, Project

#: image headers checked by a survey (a huge folder is listed in full, its first files checked)
CHECK_LIMIT = 2000


@dataclass
class ClassSpec:
    """One class row of the dialog: a name and a colour '#rrggbb'."""

    name: str
    color: str


def default_class_specs() -> list[ClassSpec]:
    """What a new project starts with: background and one class."""
    return [ClassSpec("background", DEFAULT_COLORS[0]), ClassSpec("object", DEFAULT_COLORS[1])]


def next_class_spec(existing: list[ClassSpec]) -> ClassSpec:
    """A new row: an unused name ("class 2", ...) and the next default colour."""
    from segstudio.core.classes import default_color

    names = {c.name.strip() for c in existing}
    n = len(existing)
    while f"class {n}" in names:
        n += 1
    return ClassSpec(f"class {n}", default_color(len(existing)))


def class_problem(classes: list[ClassSpec]) -> str | None:
    """Why these classes cannot make a project (empty or duplicate names, bad colours, too few), or None."""
    if len(classes) < 2:
        return "add at least two classes (for example background and the object you label)"
    if len(classes) > MAX_CLASSES:
        return f"at most {MAX_CLASSES} classes fit in an 8-bit mask (255 means unlabeled)"
    seen: dict[str, int] = {}
    for i, spec in enumerate(classes, start=1):
        try:
            name = check_class_name(spec.name)
        except ValueError as exc:
            return f"class {i}: {exc}"
        if name in seen:
            return f"classes {seen[name]} and {i} are both named {name!r}; class names must differ"
        seen[name] = i
        try:
            parse_color(spec.color)
        except (ValueError, TypeError) as exc:
            return f"class {name!r}: {exc}"
    return None


@dataclass
class NewProjectPlan:
    """What the user chose in the dialog (see the module docstring)."""

    image_folder: Path | None = None
    files: list[Path] = field(default_factory=list)  # image files dropped on the dialog: copied into the project
    location: Path | None = None  # the project folder; None: the image folder
    classes: list[ClassSpec] = field(default_factory=default_class_specs)

    @property
    def root(self) -> Path | None:
        """Where segstudio.json will be written."""
        return self.location or self.image_folder

    @property
    def copies_folder(self) -> bool:
        """True when the project lives elsewhere than the image folder (its images are copied in)."""
        root = self.root
        return self.image_folder is not None and root is not None and _real(root) != _real(self.image_folder)

    def existing_project_file(self) -> Path | None:
        """The segstudio.json already at the project folder (creating would replace its classes), or None."""
        root = self.root
        path = root / PROJECT_FILE if root is not None else None
        return path if path is not None and path.is_file() else None


@dataclass
class SurveyEntry:
    """One image the project would hold: its id, file, (width, height) from the header, or why it is unreadable."""

    image_id: str
    path: Path
    size: tuple[int, int] | None = None
    problem: str | None = None


@dataclass
class ImageSurvey:
    """The images a plan would put in the project, with the first readable image's channels and depth."""

    entries: list[SurveyEntry]
    checked: int = 0
    first: str = ""  # e.g. "a.png: 640 × 480, 3 channels, 8-bit"

    @property
    def unreadable(self) -> list[SurveyEntry]:
        return [e for e in self.entries if e.problem]

    @property
    def readable(self) -> int:
        return len(self.entries) - len(self.unreadable)

    def summary(self) -> str:
        """One line: the count, the first image's description, the unreadable files."""
        n = len(self.entries)
        parts = [f"{n} image{'s' if n != 1 else ''}"]
        if self.first:
            parts.append(f"first: {self.first}")
        bad = self.unreadable
        if bad:
            names = ", ".join(e.image_id for e in bad[:3]) + (", …" if len(bad) > 3 else "")
            parts.append(f"{len(bad)} unreadable ({names})")
        if self.checked < n:
            parts.append(f"the first {self.checked} checked")
        return " · ".join(parts)


def folder_images(folder: Path) -> list[tuple[str, Path]]:
    """(image id, path) of every image a project at ``folder`` holds (images/ when there is one, skipping
    masks/, runs/ and predictions/), in natural order; nothing is written."""
    project = Project(folder, {})
    return [(project.image_id(p), p) for p in project.list_images()]


def survey_images(plan: NewProjectPlan, cancelled: Callable[[], bool] = lambda: False,
                  check_limit: int = CHECK_LIMIT) -> ImageSurvey:
    """List the plan's images and read the headers of the first ``check_limit`` (a worker-thread job)."""
    from segstudio.core.image_io import is_image_file, read_image_size

    pairs = folder_images(plan.image_folder) if plan.image_folder is not None and plan.image_folder.is_dir() else []
    taken = {image_id for image_id, _ in pairs}
    for path in plan.files:
        if path.is_file() and is_image_file(path) and path.name not in taken:
            pairs.append((path.name, path))
            taken.add(path.name)
    survey = ImageSurvey([SurveyEntry(i, p) for i, p in pairs])
    for entry in survey.entries[:check_limit]:
        if cancelled():
            break
        try:
            entry.size = read_image_size(entry.path)
        except SegstudioError as exc:
            entry.problem = str(exc)
        survey.checked += 1
    for entry in [e for e in survey.entries if e.size is not None][:5]:
        if cancelled():
            break
        try:
            survey.first = _describe(entry)
            break
        except SegstudioError as exc:  # a header that reads but pixels that do not
            entry.problem = str(exc)
    return survey


def _describe(entry: SurveyEntry) -> str:
    """'name: W × H, C channels, 16-bit' from the real loader; ImageLoadError names a file that does not decode."""
    from segstudio.core.errors import ImageTooLargeError
    from segstudio.core.image_io import load_image

    width, height = entry.size or (0, 0)
    try:
        image = load_image(entry.path)
    except ImageTooLargeError:
        return f"{entry.image_id}: {width} × {height} (very large: it opens after asking)"
    kind = image.dtype.kind
    bits = image.dtype.itemsize * 8
    depth = f"{bits}-bit float" if kind == "f" else f"{bits}-bit"
    channels = f"{image.channels} channel{'s' if image.channels != 1 else ''}"
    return f"{entry.image_id}: {image.width} × {image.height}, {channels}, {depth}"


def plan_problem(plan: NewProjectPlan, survey: ImageSurvey | None = None) -> str | None:
    """The one reason the plan cannot be created yet (shown with the disabled Create button), or None."""
    from segstudio.core.write_policy import ReadFolder, check_output_folder

    if plan.image_folder is None and not plan.files:
        return "choose a folder of images (or drop images here)"
    if plan.image_folder is not None and not plan.image_folder.is_dir():
        return f"{plan.image_folder} is not a folder"
    root = plan.root
    if root is None:
        return "choose the folder the project lives in"
    problem = class_problem(plan.classes)
    if problem:
        return problem
    reads = [ReadFolder(plan.image_folder)] if plan.copies_folder else []
    try:
        check_output_folder(root, reads, hint="choose a project folder outside the image folder")
    except SegstudioError as exc:
        return str(exc)
    if survey is not None:
        if not survey.entries:
            where = plan.image_folder if plan.image_folder is not None else "the dropped files"
            return f"no images in {where} (segstudio reads png, jpg, tif, bmp, webp)"
        if survey.checked and not survey.readable:
            return f"none of the {len(survey.entries)} images can be read ({survey.entries[0].problem})"
    return None


def build_project(plan: NewProjectPlan, replace_existing: bool = False) -> Path:
    """Write the project the plan describes as one transaction; returns its folder.

    An existing segstudio.json is replaced (its other keys kept) only with ``replace_existing``. When the
    project lives elsewhere than the image folder, the folder's images are copied into its images/ (an
    identical file already there is kept; a different one is refused). SegstudioError names what is wrong;
    on any failure the folders are as they were."""
    problem = plan_problem(plan)
    if problem:
        raise SegstudioError(problem)
    root = plan.root
    assert root is not None
    existing = plan.existing_project_file()
    if existing is not None and not replace_existing:
        raise SegstudioError(f"{existing} already exists; confirm replacing its classes to create the project here")
    config: dict = {}
    if existing is not None:
        from segstudio.core.project import read_project_config

        config = read_project_config(existing)
    made = [p for p in (root, *root.parents) if not p.exists()]
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SegstudioError(f"cannot create the project folder {root}: {exc.strerror or exc}") from exc
    try:
        project = Project(root, config)
        project.classes = [ClassInfo(i, check_class_name(c.name), color_to_hex(parse_color(c.color)))
                           for i, c in enumerate(plan.classes)]
        with project.transaction("create project"):
            if plan.copies_folder:
                _copy_folder(project, folder_images(plan.image_folder))
            project.add_images(plan.files)
            project.save()
    except BaseException:
        for folder in made:  # folders this call made, deepest first; only when empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    return root


def _copy_folder(project: Project, images: list[tuple[str, Path]]) -> None:
    """Copy the image folder's files into the project's images/, keeping their relative paths."""
    import shutil

    from segstudio.core.atomic import atomic_write

    target_root = project.root / "images"
    for image_id, src in images:
        dest = target_root / image_id
        if dest.exists():
            if dest.is_file() and filecmp.cmp(src, dest, shallow=False):
                continue
            raise SegstudioError(f"{dest} already exists and differs from {src}; choose an empty project folder")
        project.note_write(dest)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(dest, lambda fh, src=src: _copy_into(src, fh))
            shutil.copystat(src, dest)
        except OSError as exc:
            raise SegstudioError(f"cannot copy {src} into {dest.parent}: {exc.strerror or exc}") from exc


def _copy_into(src: Path, fh) -> None:
    import shutil

    with open(src, "rb") as fsrc:
        shutil.copyfileobj(fsrc, fh)


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def project_root_of(path: str | Path) -> Path:
    """The project folder an image file (or segstudio.json, or a folder) belongs to: the nearest folder at or
    above it holding segstudio.json whose images include it, else the parent of an enclosing images/ folder,
    else the file's own folder."""
    path = Path(path).absolute()
    if path.is_dir():  # a project's images/ folder stands for its project
        return path.parent if path.name == "images" and (path.parent / PROJECT_FILE).is_file() else path
    if path.name == PROJECT_FILE:
        return path.parent
    folder = path.parent
    for candidate in (folder, *folder.parents):
        if (candidate / PROJECT_FILE).is_file() and _inside(path, Project(candidate, {}).images_dir):
            return candidate
    for candidate in (folder, *folder.parents):
        if candidate.name == "images":
            return candidate.parent
    return folder


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False
