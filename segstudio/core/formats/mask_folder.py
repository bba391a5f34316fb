"""Plain mask folders: SOURCE/images/** with SOURCE/masks/** (same relative path and stem).

Masks may be binary 0/255 or index images. Anything that is not a segstudio palette mask needs
a value-to-class mapping (``--mask-map 0:0,255:1``) unless every value is already a class id;
a 255 is never silently taken for "unlabeled".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segstudio.core.classes import IGNORE_INDEX, default_color
from segstudio.core.errors import SaveError, SegstudioError
from segstudio.core.formats.common import (
    CancelFn, ClassResolver, FormatError, ImportOptions, ImportReport, ProgressFn, checked_source, each_file,
    finish_import, image_dest, open_or_create_project, place_image, relative_posix, store_imported,
    walk_files,
)
from segstudio.core.image_io import is_image_file, read_image_size
from segstudio.core.mask_io import read_mask

MASK_DIRS = ("masks", "labels", "annotations", "SegmentationClass")
IMAGE_DIRS = ("images", "imgs", "JPEGImages")
MASK_SUFFIXES = (".png", ".tif", ".tiff", ".bmp")


def _find_dir(source: Path, names: tuple[str, ...], what: str) -> Path:
    for name in names:
        if (source / name).is_dir():
            return source / name
    raise FormatError(f"{source}: no {what} folder ({' or '.join(n + '/' for n in names)})")


def find_mask_for(image_rel: str, masks_dir: Path) -> Path | None:
    """masks/<rel stem>.png (or .tif/.bmp, or <stem>_mask.png) for an image's relative path."""
    stem = Path(image_rel).with_suffix("")
    for candidate in [stem.as_posix() + s for s in MASK_SUFFIXES] + [stem.as_posix() + "_mask.png"]:
        path = masks_dir / candidate
        if path.is_file():
            return path
    return None


def import_mask_folder(source: str | Path, project_path: str | Path, options: ImportOptions | None = None,
                       progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> ImportReport:
    """Import SOURCE/images + SOURCE/masks into a project (images without a mask come unlabeled)."""
    source, options = checked_source(source, options, folder=True)
    images_dir = _find_dir(source, IMAGE_DIRS, "images")
    masks_dir = _find_dir(source, MASK_DIRS, "masks")
    images = walk_files(images_dir, is_image_file)
    if not images:
        raise FormatError(f"{images_dir}: no images")
    project, fresh = open_or_create_project(project_path)
    if fresh:
        ClassResolver(project, fresh, options.classes, origin="--classes")
    elif options.classes:  # name the classes the mapping points to, keeping existing names
        for name in options.classes[project.num_classes:]:
            project.add_class(name, save=False)
    num_classes = project.num_classes if not fresh or options.classes else IGNORE_INDEX
    report = ImportReport("masks", source)
    unlabeled = 0
    for image in each_file(images, report, progress, cancel, lambda p: relative_posix(p, images_dir)):
        rel = relative_posix(image, images_dir)
        mask_path = find_mask_for(rel, masks_dir)
        try:
            dest = image_dest(project, rel)
            if mask_path is None:
                unlabeled += place_image(project, dest, report, image, src_file=image, overwrite=options.overwrite)
            else:
                width, height = read_image_size(image)
                mask = read_mask(mask_path, expected_shape=(height, width), value_map=options.value_map,
                                 num_classes=num_classes)
                store_imported(project, dest, report, mask_path, lambda: mask, src_file=image,
                               overwrite=options.overwrite, before_write=lambda m: _ensure_classes(project, m, report))
        except SaveError:
            raise  # the project cannot be written (full disk, read-only): stop; the import is rolled back
        except SegstudioError as exc:
            report.warn(mask_path or image, str(exc).replace(f"mask {mask_path}: ", ""))
            report.skipped += 1
    if unlabeled:
        report.warn(masks_dir, f"{unlabeled} image(s) have no mask there; they were added unlabeled")
    return finish_import(project, report)


def _ensure_classes(project, mask: np.ndarray, report: ImportReport) -> None:
    """Add classes ('class_N') for mask values beyond the project's classes."""
    labeled = mask[mask != IGNORE_INDEX]
    if not labeled.size:
        return
    top = int(labeled.max())
    while project.num_classes <= top:
        name = f"class_{project.num_classes}"
        while name in project.class_names:
            name += "_"
        project.add_class(name, default_color(project.num_classes), save=False)
        report.classes_added.append(name)
