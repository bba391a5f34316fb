"""LabelMe JSON: import (shapes rasterised onto class masks) and export (one polygon per region).

Import follows LabelMe's own converter: shapes are drawn in file order (later on top) with
polygon outlines included, lines and line strips 10 px wide, points as radius-5 discs, circles
from centre and rim point; pixels outside every shape are background (class 0); the label
``__ignore__`` becomes 255 (unlabeled). ``imageData`` may be embedded or absent (then
``imagePath`` is read relative to the JSON, and must stay inside the source folder).
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from segstudio.core.atomic import atomic_write_json
from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import SaveError, SegstudioError
from segstudio.core.formats.common import (
    IGNORE_LABEL, MAX_LABELME_JSON_BYTES, CancelFn, ClassResolver, ExportReport, FormatError, ImportOptions,
    ImportReport, ProgressFn, checked_source, copy_file, each_file, find_class_file, finish_import, image_dest,
    open_or_create_project, prepare_export_dest, read_class_file, read_export_mask, read_json_limited,
    relative_posix, store_imported, walk_files,
)
from segstudio.core.formats.regions import regions_of
from segstudio.core.image_io import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, read_image_size
from segstudio.core.paths import resolve_inside
from segstudio.core.project import Project

LINE_WIDTH = 10  # LabelMe's width for line / linestrip shapes
POINT_RADIUS = 5  # LabelMe's radius for point shapes
POLYGON_TYPES = ("polygon", "rotation", "quadrilateral")  # X-AnyLabeling adds the last two
_PIL_EXT = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif", "BMP": ".bmp", "WEBP": ".webp"}
#: What decoding untrusted base64 image data may raise (all become one warning naming the file).
_PIL_ERRORS = (binascii.Error, OSError, ValueError, SyntaxError, TypeError, EOFError, MemoryError,
               Image.DecompressionBombError)


#: A shape with more points than this is refused (2.5 M points still import in about a second).
MAX_SHAPE_POINTS = 5_000_000


class ShapeError(ValueError):
    """One shape cannot be drawn; the message says why."""


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def coordinate_limit(width: int, height: int) -> float:
    """How far outside the image a coordinate may lie (further: refused, before any drawing code
    sees it; PIL needs minutes for a circle of radius 1e7)."""
    return 4.0 * max(width, height) + 1024.0


def _points(shape: dict, width: int, height: int) -> np.ndarray:
    """The shape's points as an (N, 2) float array, checked: numbers, finite, near the image."""
    raw = shape.get("points")
    if not isinstance(raw, list):
        raise ShapeError("has no 'points' list")
    if len(raw) > MAX_SHAPE_POINTS:
        raise ShapeError(f"has {len(raw):,} points, more than the {MAX_SHAPE_POINTS:,} a shape may have")
    arr = None
    if raw and all(isinstance(p, list) and len(p) == 2 for p in raw[:1]):
        try:  # fast path for long outlines: one conversion instead of a Python loop
            arr = np.array(raw, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            arr = None
        if arr is not None and (arr.ndim != 2 or arr.shape[1] != 2):
            arr = None
    if arr is None:
        pts: list[tuple[float, float]] = []
        for p in raw:
            if not isinstance(p, (list, tuple)) or len(p) < 2:
                raise ShapeError(f"has an invalid point {_short(p)}")
            try:
                pts.append((float(p[0]), float(p[1])))
            except (TypeError, ValueError, OverflowError):
                raise ShapeError(f"has an invalid point {_short(p)}") from None
        arr = np.array(pts, dtype=np.float64).reshape(-1, 2)
    if arr.size:
        finite = np.isfinite(arr).all(axis=1)
        if not finite.all():
            raise ShapeError(f"has a non-finite point {_short(raw[int(np.argmin(finite))])}")
        limit = coordinate_limit(width, height)
        far = (np.abs(arr - [width / 2, height / 2]) > limit).any(axis=1)
        if far.any():
            raise ShapeError(f"has a point {_short(raw[int(np.argmax(far))])} far outside the "
                             f"{width}x{height} image")
    return arr


def _decode_shape_mask(shape: dict) -> np.ndarray:
    data = shape.get("mask")
    if not isinstance(data, str):
        raise ShapeError("is a 'mask' shape without mask data")
    try:
        with Image.open(io.BytesIO(base64.b64decode(data))) as img:
            if img.width * img.height > DEFAULT_MAX_PIXELS:
                raise ShapeError("has an oversized mask")
            return np.asarray(img.convert("L")) > 0
    except ShapeError:
        raise
    except _PIL_ERRORS as exc:
        raise ShapeError(f"has unreadable mask data ({str(exc)[:200]})") from None


def _disc(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, value: int) -> list[tuple[float, float]]:
    """Fill a disc of radius ``r`` around (cx, cy); returns its bounding box as two corner points."""
    box = [(cx - r, cy - r), (cx + r, cy + r)]
    draw.ellipse(box, outline=value, fill=value)
    return box


def draw_shape(canvas: Image.Image, shape: dict, value: int) -> str | None:
    """Draw one LabelMe shape onto an 'L' canvas with ``value``.

    Returns a note when the shape lies partly or wholly outside the image; raises ShapeError
    when it cannot be drawn.
    """
    shape_type = shape.get("shape_type") or "polygon"
    w, h = canvas.size
    arr = _points(shape, w, h)
    pts = arr if len(arr) > 16 else [tuple(p) for p in arr.tolist()]
    draw = ImageDraw.Draw(canvas)
    if not isinstance(shape_type, str):
        raise ShapeError(f"has the unsupported shape_type {_short(shape_type)}")
    if shape_type in POLYGON_TYPES:
        if len(pts) < 3:
            raise ShapeError(f"is a polygon with {len(pts)} point(s); it needs at least 3")
        draw.polygon(arr.ravel().tolist(), outline=value, fill=value)
    elif shape_type == "rectangle":
        if len(pts) != 2:
            raise ShapeError(f"is a rectangle with {len(pts)} points; it needs 2")
        (x0, y0), (x1, y1) = pts
        draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=value, fill=value)
    elif shape_type == "circle":
        if len(pts) != 2:
            raise ShapeError(f"is a circle with {len(pts)} points; it needs centre and rim")
        (cx, cy), (px, py) = pts
        pts = _disc(draw, cx, cy, math.hypot(cx - px, cy - py), value)  # its box decides clipping
    elif shape_type in ("line", "linestrip"):
        if len(pts) < 2:
            raise ShapeError(f"is a {shape_type} with {len(pts)} point(s); it needs at least 2")
        draw.line(arr.ravel().tolist(), fill=value, width=LINE_WIDTH)
    elif shape_type == "point":
        if len(pts) != 1:
            raise ShapeError(f"is a point with {len(pts)} points")
        _disc(draw, *pts[0], POINT_RADIUS, value)
    elif shape_type == "mask":
        if len(pts) == 0:
            raise ShapeError("is a mask shape without its corner point")
        sub = _decode_shape_mask(shape)
        x0, y0 = int(round(pts[0][0])), int(round(pts[0][1]))
        arr = np.array(canvas)
        ys, xs = slice(max(y0, 0), min(y0 + sub.shape[0], h)), slice(max(x0, 0), min(x0 + sub.shape[1], w))
        part = sub[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
        if part.size:
            arr[ys, xs][part] = value
            canvas.paste(Image.fromarray(arr, "L"))
        pts = [(x0, y0), (x0 + sub.shape[1] - 1, y0 + sub.shape[0] - 1)]
    else:
        raise ShapeError(f"has the unsupported shape_type {_short(shape_type)}")
    box = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    (min_x, min_y), (max_x, max_y) = box.min(axis=0), box.max(axis=0)
    if max_x < 0 or max_y < 0 or min_x > w or min_y > h:
        return "lies outside the image; nothing drawn"
    if min_x < 0 or min_y < 0 or max_x > w or max_y > h:
        return "lies partly outside the image; clipped"
    return None


def rasterize(shapes: list, height: int, width: int, class_of, warn) -> np.ndarray:
    """Class map (H, W) uint8 of LabelMe ``shapes``: background 0, later shapes on top.

    ``class_of(label) -> id | None`` (None: unknown label, drawn as 255 with a warning);
    ``warn(message)`` receives per-shape problems.
    """
    canvas = Image.new("L", (width, height), 0)
    for i, shape in enumerate(shapes):
        if not isinstance(shape, dict):
            warn(f"shape #{i + 1} is not an object; skipped")
            continue
        raw_label = shape.get("label", "")
        label = (raw_label if isinstance(raw_label, str) else str(raw_label)[:200]).strip()
        value = class_of(label)
        if value is None:
            warn(f"shape #{i + 1} has the unknown label {label!r}; its pixels are left unlabeled (255)")
            value = IGNORE_INDEX
        try:
            note = draw_shape(canvas, shape, value)
        except ShapeError as exc:
            warn(f"shape #{i + 1} ({label!r}) {exc}; skipped")
            continue
        if note:
            warn(f"shape #{i + 1} ({label!r}) {note}")
    return np.array(canvas, dtype=np.uint8)


def _embedded_image(data: str, json_path: Path) -> tuple[bytes, str, tuple[int, int]]:
    """Decode imageData -> (bytes, extension, (width, height) as displayed)."""
    try:
        raw = base64.b64decode(data)
        with Image.open(io.BytesIO(raw)) as img:
            fmt = img.format or ""
            width, height = img.size
            if width * height > DEFAULT_MAX_PIXELS:
                raise SegstudioError(f"embedded image of {width}x{height} is over the pixel limit")
            orientation = img.getexif().get(0x0112, 1)
            if fmt not in _PIL_EXT:
                buf = io.BytesIO()
                img.convert("RGB").save(buf, "PNG")
                raw, fmt = buf.getvalue(), "PNG"
    except _PIL_ERRORS as exc:
        raise SegstudioError(f"imageData is not a readable image ({str(exc)[:200]})") from None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return raw, _PIL_EXT[fmt], (width, height)


def find_labelme_files(source: Path) -> list[Path]:
    """LabelMe JSON files under a folder (natural order), or the one file given."""
    if source.is_file():
        return [source]
    return walk_files(source, lambda name: name.lower().endswith(".json"))


def import_labelme(source: str | Path, project_path: str | Path, options: ImportOptions | None = None,
                   progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> ImportReport:
    """Import LabelMe JSON files (a folder, searched recursively, or one file) into a project."""
    source, options = checked_source(source, options)
    root = source if source.is_dir() else source.parent
    files = find_labelme_files(source)
    if not files:
        raise FormatError(f"{source}: no LabelMe .json files found")
    project, fresh = open_or_create_project(project_path)
    accepted, origin = options.classes, "--classes"
    if accepted is None and (class_file := find_class_file(root)) is not None:
        accepted, origin = read_class_file(class_file), class_file
    resolver = ClassResolver(project, fresh, accepted, origin=origin)
    report = ImportReport("labelme", source)
    limit = options.max_json_bytes or MAX_LABELME_JSON_BYTES
    for json_path in each_file(files, report, progress, cancel, lambda p: p.name):
        try:
            _import_one(json_path, root, project, resolver, options, report, limit)
        except SaveError:
            raise  # the project cannot be written (full disk, read-only): stop; the import is rolled back
        except SegstudioError as exc:
            report.warn(json_path, str(exc).replace(f"{json_path}: ", ""))
            report.skipped += 1
    report.classes_added = resolver.added
    return finish_import(project, report)


def _import_one(json_path: Path, root: Path, project: Project, resolver: ClassResolver, options: ImportOptions,
                report: ImportReport, limit: int) -> None:
    doc = read_json_limited(json_path, limit)
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
        raise SegstudioError("not a LabelMe annotation (no 'shapes' list); skipped")
    rel_dir = relative_posix(json_path.parent, root)
    rel_dir = "" if rel_dir == "." else rel_dir + "/"
    image_path_text = doc.get("imagePath")
    image_data = doc.get("imageData")
    src_file: Path | None = None
    if isinstance(image_path_text, str) and image_path_text.strip():
        try:
            src_file = resolve_inside(root, rel_dir + image_path_text)
        except SegstudioError as exc:
            if not image_data:
                raise SegstudioError(f"imagePath {image_path_text!r} points outside {root}; refused") from exc
            report.warn(json_path, f"imagePath {image_path_text!r} points outside {root}; refused, "
                                   "using the embedded imageData")
            image_path_text = None
        else:
            if not src_file.is_file():
                src_file = None
    data: bytes | None = None
    if src_file is not None:
        width, height = read_image_size(src_file)
        rel_id = relative_posix(src_file, root)
    elif isinstance(image_data, str) and image_data:
        data, ext, (width, height) = _embedded_image(image_data, json_path)
        name = Path(str(image_path_text).replace("\\", "/")).name if image_path_text else ""
        if not name or Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
            name = json_path.stem + ext
        rel_id = rel_dir + name
    else:
        raise SegstudioError(f"image {image_path_text!r} not found next to it and no imageData embedded; skipped")
    if width * height > DEFAULT_MAX_PIXELS:
        raise SegstudioError(f"image of {width}x{height} is over the pixel limit; skipped")
    jw, jh = doc.get("imageWidth"), doc.get("imageHeight")
    if isinstance(jw, int) and isinstance(jh, int) and (jw, jh) != (width, height):
        report.warn(json_path, f"imageWidth/imageHeight {jw}x{jh} differ from the image's {width}x{height}; "
                               "using the image's size")
    store_imported(project, image_dest(project, rel_id), report, json_path,
                   lambda: rasterize(doc["shapes"], height, width, resolver.id_for,
                                     lambda msg: report.warn(json_path, msg)),
                   src_file=src_file, data=data, overwrite=options.overwrite)


# ---------------------------------------------------------------------------------------- export
def _polygon_shape(region, names: list[str]) -> dict | None:
    contour = region.outer_contour()
    if len(contour) == 0:
        return None
    pts = [[float(x), float(y)] for x, y in contour]
    while len(pts) < 3:  # 1- or 2-pixel regions: repeat points so the polygon is valid
        pts.append(list(pts[-1]))
    if region.value == IGNORE_INDEX:
        label = IGNORE_LABEL
    elif region.value < len(names):
        label = names[region.value]
    else:
        label = f"class_{region.value}"
    return {"label": label, "points": pts, "group_id": None, "description": "", "shape_type": "polygon",
            "flags": {}}


def mask_to_shapes(mask: np.ndarray, names: list[str], max_fix_passes: int = 4) -> list[dict]:
    """LabelMe polygon shapes that rasterise back to ``mask``.

    Each 8-connected region becomes one polygon (its outline, holes filled); larger outlines
    come first so that regions inside holes are drawn on top of them. Background regions are
    only written where they are enclosed (holes); 255 is written as ``__ignore__``. Pixels the
    polygons still get wrong (diagonal pinches) are fixed by small polygons drawn last.
    """
    items = []
    for region in regions_of(mask):
        if region.value == 0 and region.touches_border:
            continue
        shape = _polygon_shape(region, names)
        if shape is not None:
            items.append((-region.filled_area(), len(items), shape))
    items.sort(key=lambda t: (t[0], t[1]))
    shapes = [shape for _, _, shape in items]
    ids = {name: i for i, name in enumerate(names)}
    ids[IGNORE_LABEL] = IGNORE_INDEX

    def class_of(label: str) -> int:
        return ids.get(label, int(label[6:]) if label.startswith("class_") else 0)

    for _ in range(max_fix_passes):
        wrong = rasterize(shapes, mask.shape[0], mask.shape[1], class_of, lambda _m: None) != mask
        if not wrong.any():
            break
        for region in regions_of(mask, where=wrong, connectivity=4):
            shape = _polygon_shape(region, names)
            if shape is not None:
                shapes.append(shape)
    return shapes


def export_labelme(project: Project, dest: str | Path, overwrite: bool = False,
                   progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> ExportReport:
    """Write every labeled image with a LabelMe JSON beside it (same relative paths) under ``dest``."""
    dest = Path(dest)
    images = project.labeled_images()
    if not images:
        raise FormatError(f"{project.root}: no labeled images to export")
    first_json = dest / Path(project.image_id(images[0])).with_suffix(".json")
    prepare_export_dest(dest, overwrite, first_json.relative_to(dest).as_posix())
    report = ExportReport("labelme", dest)
    names = project.class_names
    for image in each_file(images, report, progress, cancel, project.image_id):
        try:
            mask = read_export_mask(project, image)
            height, width = mask.shape
            target = dest / project.image_id(image)
            copy_file(image, target)
            shapes = mask_to_shapes(mask, names)
            doc = {"version": "5.0.1", "flags": {}, "shapes": shapes, "imagePath": target.name,
                   "imageData": None, "imageHeight": int(height), "imageWidth": int(width)}
            atomic_write_json(target.with_suffix(".json"), doc)
            report.exported += 1
        except SaveError:
            raise  # DEST cannot be written (full disk, read-only): stop, the next images would fail too
        except SegstudioError as exc:
            report.warn(image, str(exc))
            report.skipped += 1
    return report

