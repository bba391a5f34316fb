"""COCO instance annotations <-> semantic class masks, through pycocotools.

Import: each annotation (polygons, compressed or uncompressed RLE) is painted with its
category's class in file order (later on top) onto a background (class 0) map; the categories
'_background_'/'background' are class 0 and '__ignore__' is 255, as LabelMe's converters use them.
Export: per image, one RLE annotation per connected region per class (background and 255
excluded), so ``annToMask`` of the exported file gives back the masks exactly.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from segstudio.core.atomic import atomic_write_json
from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import SaveError, SegstudioError
from segstudio.core.formats.common import (
    MAX_COCO_JSON_BYTES, CancelFn, ClassResolver, ExportReport, FormatError, ImportOptions, ImportReport,
    ProgressFn, checked_source, copy_file, each_file, export_class_ids, finish_import, image_dest,
    open_or_create_project, prepare_export_dest, read_export_mask, read_json_limited, relative_posix,
    store_imported,
)
from segstudio.core.formats.regions import regions_of
from segstudio.core.image_io import DEFAULT_MAX_PIXELS, read_image_size
from segstudio.core.paths import resolve_inside
from segstudio.core.project import Project

ANNOTATION_NAMES = ("annotations.json", "instances.json", "_annotations.coco.json")


#: Polygon outlines longer than this many pixels per image side are refused: pycocotools allocates
#: memory in proportion to the outline (a coordinate of 3e8 asks for tens of GB, 1e12 crashes it).
MAX_OUTLINE_PER_SIDE = 256


class AnnotationError(ValueError):
    """One annotation cannot be decoded; the message says why."""


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def is_coco_id(value) -> bool:
    """COCO ids are integers (strings are accepted as some tools write them); nothing else."""
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)


def check_polygon(poly: list[float], height: int, width: int) -> None:
    """AnnotationError unless the polygon stays near the image and its outline is of sane length
    (checked before pycocotools, whose C code trusts its input)."""
    xy = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    limit = 4.0 * max(height, width) + 1024.0
    far = (np.abs(xy - [width / 2, height / 2]) > limit).any(axis=1)
    if far.any():
        i = int(np.argmax(far))
        raise AnnotationError(f"has a polygon point ({xy[i, 0]:g}, {xy[i, 1]:g}) far outside the "
                              f"{width}x{height} image")
    steps = np.abs(np.diff(np.vstack([xy, xy[:1]]), axis=0)).max(axis=1).sum()
    if steps > MAX_OUTLINE_PER_SIDE * (height + width):
        raise AnnotationError(f"has a polygon outline of {steps:,.0f} pixels, too long for a "
                              f"{width}x{height} image")


def find_coco_file(source: Path) -> Path:
    """The annotation file: SOURCE itself, or annotations.json (or the only .json) in SOURCE
    or SOURCE/annotations."""
    if source.is_file():
        return source
    for folder in (source, source / "annotations"):
        for name in ANNOTATION_NAMES:
            if (folder / name).is_file():
                return folder / name
        if folder.is_dir():
            found = sorted(folder.glob("*.json"))
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise FormatError(f"{folder}: several .json files; give the annotation file itself as SOURCE")
    raise FormatError(f"{source}: no COCO annotation file (annotations.json) found")


def _rle_counts_sum(counts: str) -> int:
    """Total of a compressed COCO RLE string (validated before pycocotools decodes it)."""
    values: list[int] = []
    total, i, n = 0, 0, len(counts)
    while i < n:
        x, k, more = 0, 0, True
        while more:
            if i >= n:
                raise AnnotationError("has a truncated RLE string")
            c = ord(counts[i]) - 48
            if not 0 <= c < 64:
                raise AnnotationError("has an invalid character in its RLE string")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            i += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(values) > 2:
            x += values[-2]
        if x < 0:
            raise AnnotationError("has a negative run in its RLE string")
        values.append(x)
        total += x
    return total


def decode_segmentation(seg, height: int, width: int) -> np.ndarray:
    """A COCO ``segmentation`` (polygons, or RLE compressed/uncompressed) -> (H, W) bool.

    Raises AnnotationError when it is malformed or its size disagrees with the image.
    """
    from pycocotools import mask as mask_utils

    if isinstance(seg, list):
        polys = []
        for poly in seg:
            try:
                numbers = isinstance(poly, list) and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in poly)
            except OverflowError:  # an integer too large for a float
                numbers = False
            if not numbers:
                raise AnnotationError("has a polygon that is not a list of numbers")
            if len(poly) < 6 or len(poly) % 2:
                raise AnnotationError(f"has a polygon with {len(poly)} coordinates (needs an even number, at least 6)")
            check_polygon(poly, height, width)
            polys.append([float(v) for v in poly])
        if not polys:
            raise AnnotationError("has an empty segmentation")
        rle = mask_utils.merge(mask_utils.frPyObjects(polys, height, width))
    elif isinstance(seg, dict):
        size, counts = seg.get("size"), seg.get("counts")
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size)):
            raise AnnotationError("has an RLE without a valid 'size' [height, width]")
        if list(size) != [height, width]:
            raise AnnotationError(f"has an RLE of size {size[1]}x{size[0]} but the image is {width}x{height}")
        if isinstance(counts, list):
            if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= height * width for v in counts) \
                    or sum(counts) != height * width:
                raise AnnotationError("has uncompressed RLE counts that do not add up to the image size")
            rle = mask_utils.frPyObjects({"size": size, "counts": counts}, height, width)
        elif isinstance(counts, str):
            if _rle_counts_sum(counts) != height * width:
                raise AnnotationError("has compressed RLE counts that do not add up to the image size")
            rle = {"size": size, "counts": counts.encode("ascii")}
        else:
            raise AnnotationError("has an RLE without 'counts'")
    else:
        raise AnnotationError("has no polygons or RLE in 'segmentation'")
    with warnings.catch_warnings():  # pycocotools' decode warns about numpy 2's copy keyword
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(rle).astype(bool)


def _polygons_outside(seg, height: int, width: int) -> bool:
    if not isinstance(seg, list):
        return False
    for poly in seg:
        xs, ys = poly[0::2], poly[1::2]
        if min(xs) < 0 or min(ys) < 0 or max(xs) > width or max(ys) > height:
            return True
    return False


def _find_image(file_name: str, bases: list[Path]) -> tuple[Path, Path] | None:
    """The image for a COCO file_name: relative to the annotation file's folder (or an images/
    folder beside it); paths escaping the source raise UnsafePathError."""
    first_error = None
    for base in bases:
        try:
            path = resolve_inside(base, file_name)
        except SegstudioError as exc:
            first_error = first_error or exc
            continue
        if path.is_file():
            return path, base
    if first_error is not None:
        raise first_error
    return None


def _check_structure(doc, path: Path) -> None:
    if not isinstance(doc, dict):
        raise FormatError(f"{path}: not a COCO annotation file (expected a JSON object)")
    for key in ("images", "annotations", "categories"):
        if not isinstance(doc.get(key), list):
            raise FormatError(f"{path}: not a COCO annotation file (no '{key}' list)")


def import_coco(source: str | Path, project_path: str | Path, options: ImportOptions | None = None,
                progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> ImportReport:
    """Import a COCO annotation file (or a folder holding one) with its images into a project."""
    source, options = checked_source(source, options)
    ann_path = find_coco_file(source)
    doc = read_json_limited(ann_path, options.max_json_bytes or MAX_COCO_JSON_BYTES)
    _check_structure(doc, ann_path)
    root = source if source.is_dir() else ann_path.parent
    bases = [ann_path.parent, ann_path.parent / "images"]
    if root != ann_path.parent:
        bases += [root, root / "images"]
    project, fresh = open_or_create_project(project_path)
    report = ImportReport("coco", source)
    categories: dict[int | str, str] = {}
    for cat in doc["categories"]:
        if isinstance(cat, dict) and is_coco_id(cat.get("id")) and isinstance(cat.get("name"), str):
            categories[cat["id"]] = cat["name"]
        else:
            report.warn(ann_path, f"invalid category {_short(cat)} (needs an integer 'id' and a 'name'); ignored")
    accepted = options.classes
    if accepted is None and fresh:  # a new project takes the categories in id order
        names = [categories[k] for k in sorted(categories, key=lambda k: (isinstance(k, str), k))]
        if not any(n.lower() in ("_background_", "background") for n in names):
            names = ["background"] + names
        accepted = names
        resolver = ClassResolver(project, fresh, accepted, origin=ann_path)
        resolver.accepted = None
    else:
        resolver = ClassResolver(project, fresh, accepted, origin=ann_path)
    by_image: dict[int | str, list[dict]] = {}
    images: list[dict] = []
    for img in doc["images"]:
        if isinstance(img, dict) and is_coco_id(img.get("id")):
            images.append(img)
        else:
            report.warn(ann_path, f"image entry {_short(img)} has no integer 'id'; ignored")
            report.skipped += 1
    image_ids = {img["id"] for img in images}
    for ann in doc["annotations"]:
        if not isinstance(ann, dict) or not is_coco_id(ann.get("image_id")) or ann["image_id"] not in image_ids:
            report.warn(ann_path, f"annotation {_short(ann.get('id') if isinstance(ann, dict) else ann)} "
                                  "refers to no listed image; ignored")
            continue
        by_image.setdefault(ann["image_id"], []).append(ann)
    for entry in each_file(images, report, progress, cancel, lambda e: str(e.get("file_name"))):
        try:
            _import_image(entry, by_image.get(entry.get("id"), []), bases, ann_path, project, resolver,
                          categories, options, report)
        except SaveError:
            raise  # the project cannot be written (full disk, read-only): stop; the import is rolled back
        except SegstudioError as exc:
            report.warn(ann_path, f"image {entry.get('file_name')!r}: {exc}")
            report.skipped += 1
    report.classes_added = resolver.added
    return finish_import(project, report)


def _import_image(entry: dict, anns: list[dict], bases: list[Path], ann_path: Path, project: Project,
                  resolver: ClassResolver, categories: dict[int, str], options: ImportOptions,
                  report: ImportReport) -> None:
    file_name = entry.get("file_name")
    if not isinstance(file_name, str) or not file_name:
        raise SegstudioError("no file_name; skipped")
    found = _find_image(file_name, bases)
    if found is None:
        raise SegstudioError("image file not found; skipped")
    image, base = found
    width, height = read_image_size(image)
    if width * height > DEFAULT_MAX_PIXELS:
        raise SegstudioError(f"{width}x{height} is over the pixel limit; skipped")
    ew, eh = entry.get("width"), entry.get("height")
    if isinstance(ew, int) and isinstance(eh, int) and (ew, eh) != (width, height):
        raise SegstudioError(f"listed as {ew}x{eh} but the file {image} is {width}x{height}; skipped")
    dest = image_dest(project, relative_posix(image, base))
    store_imported(project, dest, report, image,
                   lambda: _paint_annotations(anns, height, width, file_name, ann_path, resolver, categories, report),
                   src_file=image, overwrite=options.overwrite)


def _paint_annotations(anns: list[dict], height: int, width: int, file_name: str, ann_path: Path,
                       resolver: ClassResolver, categories: dict[int, str], report: ImportReport) -> np.ndarray:
    """The class map of one image's annotations, painted in file order on background (class 0)."""
    mask = np.zeros((height, width), np.uint8)
    for ann in anns:
        ann_id = _short(ann.get("id"))
        cat_id = ann.get("category_id")
        cat = categories.get(cat_id) if is_coco_id(cat_id) else None
        value = resolver.id_for(cat) if cat is not None else None
        if value is None:
            report.warn(ann_path, f"annotation {ann_id} on {file_name!r} has the unknown category "
                                  f"{_short(cat_id)}; its pixels are left unlabeled (255)")
            value = IGNORE_INDEX
        seg = ann.get("segmentation")
        try:
            region = decode_segmentation(seg, height, width)
        except AnnotationError as exc:
            report.warn(ann_path, f"annotation {ann_id} on {file_name!r} {exc}; skipped")
            continue
        except Exception as exc:  # noqa: BLE001 - pycocotools raises assorted types on bad input
            report.warn(ann_path, f"annotation {ann_id} on {file_name!r} cannot be decoded ({exc}); skipped")
            continue
        if _polygons_outside(seg, height, width):
            report.warn(ann_path, f"annotation {ann_id} on {file_name!r} lies partly outside the image; clipped")
        mask[region] = value
    return mask


# ---------------------------------------------------------------------------------------- export
def mask_to_annotations(mask: np.ndarray, image_id: int, first_id: int,
                        class_ids: list[int] | None = None) -> list[dict]:
    """One RLE annotation per 8-connected region per class (class 0 and 255 excluded)."""
    from pycocotools import mask as mask_utils

    values = [int(v) for v in np.unique(mask) if 0 < v < IGNORE_INDEX and (class_ids is None or v in class_ids)]
    anns = []
    for region in regions_of(mask, values):
        rle = mask_utils.encode(np.asfortranarray(region.full_mask(mask.shape)))
        bbox = [float(v) for v in mask_utils.toBbox(rle)]
        anns.append({
            "id": first_id + len(anns), "image_id": image_id, "category_id": region.value,
            "segmentation": {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": rle["counts"].decode("ascii")},
            "area": float(mask_utils.area(rle)), "bbox": bbox, "iscrowd": 0,
        })
    return anns


def export_coco(project: Project, dest: str | Path, overwrite: bool = False, classes: list[str] | None = None,
                progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> ExportReport:
    """Write DEST/annotations.json and the labeled images under DEST/images/."""
    images = project.labeled_images()
    if not images:
        raise FormatError(f"{project.root}: no labeled images to export")
    dest = prepare_export_dest(dest, overwrite, "annotations.json")
    report = ExportReport("coco", dest)
    names = project.class_names
    class_ids = export_class_ids(names, classes)
    doc = {
        "info": {"description": f"exported by segstudio from {project.name}"},
        "licenses": [],
        "images": [],
        "annotations": [],
        "categories": [{"id": i, "name": names[i], "supercategory": ""} for i in class_ids],
    }
    partial = 0
    for image in each_file(images, report, progress, cancel, project.image_id):
        image_id = project.image_id(image)
        try:
            mask = read_export_mask(project, image)
            copy_file(image, dest / "images" / image_id)
        except SaveError:
            raise  # DEST cannot be written (full disk, read-only): stop, the next images would fail too
        except SegstudioError as exc:
            report.warn(image, str(exc))
            report.skipped += 1
            continue
        height, width = mask.shape
        coco_id = len(doc["images"]) + 1
        doc["images"].append({"id": coco_id, "file_name": f"images/{image_id}", "width": width, "height": height})
        doc["annotations"] += mask_to_annotations(mask, coco_id, len(doc["annotations"]) + 1, class_ids)
        partial += bool((mask == IGNORE_INDEX).any())
        report.exported += 1
    if not report.exported:
        return report  # no annotations.json: it would mark DEST as holding an export and block a retry
    if partial:
        report.warn(dest / "annotations.json", f"{partial} image(s) have unlabeled pixels; COCO cannot mark them, "
                                               "they read as background")
    atomic_write_json(dest / "annotations.json", doc)
    return report
