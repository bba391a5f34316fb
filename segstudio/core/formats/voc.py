"""Pascal VOC segmentation: JPEGImages/, SegmentationClass/ palette PNGs (255 = void, which is
segstudio's unlabeled), ImageSets/Segmentation/*.txt lists and a class-name file.

Export writes DEST/VOCdevkit/VOC2012/..., the layout ``torchvision.datasets.VOCSegmentation``
reads (root=DEST, year="2012").
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from segstudio.core.atomic import atomic_write_bytes, atomic_write_text
from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import SaveError, SegstudioError, UnsafePathError
from segstudio.core.formats.common import (
    IGNORE_LABEL, CancelFn, ClassResolver, ExportReport, FormatError, ImportOptions, ImportReport, ProgressFn,
    checked_source, copy_file, each_file, find_class_file, finish_import, image_dest, open_or_create_project,
    prepare_export_dest, read_class_file, read_export_mask, split_train_val, store_imported,
)
from segstudio.core.image_io import load_image, read_image_size
from segstudio.core.mask_io import read_mask, write_mask
from segstudio.core.paths import natural_key, resolve_inside
from segstudio.core.project import Project

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG")


def find_voc_root(source: Path) -> Path:
    """The folder holding SegmentationClass/: SOURCE, SOURCE/VOC*, or SOURCE/VOCdevkit/VOC*."""
    if (source / "SegmentationClass").is_dir():
        return source
    candidates = sorted(p.parent for p in source.glob("VOC*/SegmentationClass") if p.is_dir())
    candidates += sorted(p.parent for p in source.glob("VOCdevkit/VOC*/SegmentationClass") if p.is_dir())
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        found = ", ".join(c.name for c in candidates)
        raise FormatError(f"{source}: several VOC folders ({found}); give one as SOURCE")
    raise FormatError(f"{source}: not a Pascal VOC folder (no SegmentationClass/ folder)")


def _read_ids(root: Path, report: ImportReport) -> list[str]:
    sets = root / "ImageSets" / "Segmentation"
    ids: list[str] = []
    if sets.is_dir():
        lists = sorted(sets.glob("*.txt"), key=lambda p: (p.stem != "train", p.stem != "val", p.stem))
        for lst in lists:
            try:
                lines = lst.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                report.warn(lst, f"cannot read it ({exc})")
                continue
            ids += [line.split()[0] for line in lines if line.strip()]
    if not ids:
        ids = [p.stem for p in (root / "SegmentationClass").glob("*.png")]
    seen: dict[str, None] = {}
    for i in ids:
        seen.setdefault(i, None)
    return sorted(seen, key=natural_key) if not sets.is_dir() else list(seen)


def import_voc(source: str | Path, project_path: str | Path, options: ImportOptions | None = None,
               progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> ImportReport:
    """Import a Pascal VOC segmentation folder into a project."""
    source, options = checked_source(source, options, folder=True)
    root = find_voc_root(source)
    names, origin = options.classes, "--classes"
    if names is None:
        class_file = find_class_file(root) or find_class_file(source)
        names = read_class_file(class_file) if class_file else list(VOC_CLASSES)
        origin = class_file or "the VOC classes"
    names = [n for n in names if n != IGNORE_LABEL]
    project, fresh = open_or_create_project(project_path)
    resolver = ClassResolver(project, fresh, names, origin=origin)
    lut = np.full(256, IGNORE_INDEX, np.uint8)
    for k, name in enumerate(names[:255]):
        value = resolver.id_for(name)  # None: a name that cannot be a class (empty); its pixels stay unlabeled
        lut[k] = IGNORE_INDEX if value is None else value
    report = ImportReport("voc", source)
    ids = _read_ids(root, report)
    if not ids:
        raise FormatError(f"{root}: no images listed and no masks in SegmentationClass/")
    for voc_id in each_file(ids, report, progress, cancel, str):
        try:
            _import_one(root, voc_id, names, lut, project, options, report)
        except SaveError:
            raise  # the project cannot be written (full disk, read-only): stop; the import is rolled back
        except UnsafePathError:
            report.warn(root / "ImageSets" / "Segmentation", f"entry {voc_id!r} points outside {root}; refused")
            report.skipped += 1
        except SegstudioError as exc:
            report.warn(root / "SegmentationClass" / f"{voc_id}.png", str(exc))
            report.skipped += 1
    report.classes_added = resolver.added
    return finish_import(project, report)


def _import_one(root: Path, voc_id: str, names: list[str], lut: np.ndarray, project: Project,
                options: ImportOptions, report: ImportReport) -> None:
    mask_path = resolve_inside(root / "SegmentationClass", voc_id + ".png")
    image = None
    for suffix in _IMAGE_SUFFIXES:
        candidate = resolve_inside(root / "JPEGImages", voc_id + suffix)
        if candidate.is_file():
            image = candidate
            break
    if image is None:
        raise SegstudioError(f"no image JPEGImages/{voc_id}.jpg for it; skipped")
    if not mask_path.is_file():
        raise SegstudioError("mask file not found; skipped")
    width, height = read_image_size(image)
    raw = read_mask(mask_path, expected_shape=(height, width), value_map=options.value_map, num_classes=len(names))
    bad = np.unique(raw[(raw >= len(names)) & (raw != IGNORE_INDEX)])
    if bad.size:
        report.warn(mask_path, f"values {', '.join(str(int(v)) for v in bad[:8])} are not classes "
                               f"(there are {len(names)}); left unlabeled (255)")
    store_imported(project, image_dest(project, voc_id + image.suffix.lower()), report, mask_path,
                   lambda: lut[raw], src_file=image, overwrite=options.overwrite)


# ---------------------------------------------------------------------------------------- export
def voc_id_for(image_id: str) -> str:
    """A flat VOC id for a project image id ('a/b.png' -> 'a__b')."""
    return Path(image_id).with_suffix("").as_posix().replace("/", "__")


def export_voc(project: Project, dest: str | Path, overwrite: bool = False, year: str = "2012",
               progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> ExportReport:
    """Write DEST/VOCdevkit/VOC<year>/ with JPEGImages, SegmentationClass, ImageSets/Segmentation
    (train/val/trainval) and class_names.txt."""
    images = project.labeled_images()
    if not images:
        raise FormatError(f"{project.root}: no labeled images to export")
    dest = Path(dest)
    rel_root = f"VOCdevkit/VOC{year}"
    prepare_export_dest(dest, overwrite, f"{rel_root}/ImageSets/Segmentation/trainval.txt")
    root = dest / rel_root
    report = ExportReport("voc", dest)
    used: set[str] = set()
    written: list[str] = []
    converted = 0
    for image in each_file(images, report, progress, cancel, project.image_id):
        image_id = project.image_id(image)
        voc_id, k = voc_id_for(image_id), 1
        while voc_id in used:
            voc_id, k = f"{voc_id_for(image_id)}_{k}", k + 1
        try:
            mask = read_export_mask(project, image)
            jpg = root / "JPEGImages" / f"{voc_id}.jpg"
            if image.suffix.lower() in (".jpg", ".jpeg") and _is_plain_jpeg(image):
                copy_file(image, jpg)
            else:
                buf = io.BytesIO()
                Image.fromarray(load_image(image).rgb).save(buf, "JPEG", quality=95)
                atomic_write_bytes(jpg, buf.getvalue())
                converted += 1
            write_mask(root / "SegmentationClass" / f"{voc_id}.png", mask, project.colors)
        except SaveError:
            raise  # DEST cannot be written (full disk, read-only): stop, the next images would fail too
        except SegstudioError as exc:
            report.warn(image, str(exc))
            report.skipped += 1
            continue
        used.add(voc_id)
        written.append(voc_id)
        report.exported += 1
    if not written:
        return report  # no trainval.txt: it would mark DEST as holding an export and block a retry
    if converted:
        report.warn(root / "JPEGImages", f"{converted} image(s) were converted to JPEG (quality 95) for the VOC layout")
    train, val = split_train_val(written)
    sets = root / "ImageSets" / "Segmentation"
    atomic_write_text(sets / "train.txt", "".join(f"{i}\n" for i in train))
    atomic_write_text(sets / "val.txt", "".join(f"{i}\n" for i in (val or train)))
    atomic_write_text(sets / "trainval.txt", "".join(f"{i}\n" for i in written))
    atomic_write_text(root / "class_names.txt", "".join(f"{name}\n" for name in project.class_names))
    return report


def _is_plain_jpeg(path: Path) -> bool:
    """A JPEG that shows as stored (no EXIF rotation), so copying it keeps mask alignment."""
    try:
        with Image.open(path) as img:
            return img.format == "JPEG" and img.mode == "RGB" and img.getexif().get(0x0112, 1) == 1
    except OSError:
        return False
