"""YOLO segmentation export: images/{train,val}/, labels/{train,val}/<stem>.txt with one normalised
polygon per connected region per class, and data.yaml (written as plain text).

YOLO class indices are the project's class ids minus one: class 0 (background) is not a YOLO class.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from segstudio.core.atomic import atomic_write_text
from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import SaveError, SegstudioError
from segstudio.core.formats.common import (
    CancelFn, ExportReport, FormatError, ProgressFn, copy_file, each_file, export_class_ids, prepare_export_dest,
    read_export_mask, split_train_val,
)
from segstudio.core.formats.regions import regions_of
from segstudio.core.project import Project


def mask_to_yolo_lines(mask: np.ndarray, class_index: dict[int, int]) -> list[str]:
    """'<cls> x1 y1 x2 y2 ...' lines (coordinates / width, / height) for each region's outline.

    ``class_index`` maps project class ids to YOLO indices; other values are left out.
    """
    h, w = mask.shape
    values = [int(v) for v in np.unique(mask) if int(v) in class_index]
    lines = []
    for region in regions_of(mask, values):
        contour = region.outer_contour()
        if len(contour) < 3:  # YOLO needs a polygon; tiny regions become a one-pixel square
            x, y = int(contour[0][0]), int(contour[0][1])
            contour = np.array([[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1]])
        coords = " ".join(f"{x / w:.6f} {y / h:.6f}" for x, y in contour)
        lines.append(f"{class_index[region.value]} {coords}")
    return lines


def _yaml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def export_yolo(project: Project, dest: str | Path, overwrite: bool = False, classes: list[str] | None = None,
                progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> ExportReport:
    """Write a YOLO segmentation dataset of the labeled images to ``dest``."""
    images = project.labeled_images()
    if not images:
        raise FormatError(f"{project.root}: no labeled images to export")
    names = project.class_names
    ids = export_class_ids(names, classes)
    class_index = {cid: i for i, cid in enumerate(ids)}
    dest = prepare_export_dest(dest, overwrite, "data.yaml")
    report = ExportReport("yolo", dest)
    train, val = split_train_val(images)
    partial = 0
    placed = [("train", image) for image in train] + [("val", image) for image in val]
    for split, image in each_file(placed, report, progress, cancel, lambda item: project.image_id(item[1])):
        image_id = project.image_id(image)
        try:
            mask = read_export_mask(project, image)
            copy_file(image, dest / "images" / split / image_id)
            label_file = (dest / "labels" / split / image_id).with_suffix(".txt")
            atomic_write_text(label_file, "".join(line + "\n" for line in mask_to_yolo_lines(mask, class_index)))
            partial += bool((mask == IGNORE_INDEX).any())
            report.exported += 1
        except SaveError:
            raise  # DEST cannot be written (full disk, read-only): stop, the next images would fail too
        except SegstudioError as exc:
            report.warn(image, str(exc))
            report.skipped += 1
    if not report.exported:
        return report  # no data.yaml: it would mark DEST as holding an export and block a retry
    if partial:
        report.warn(dest / "labels", f"{partial} image(s) have unlabeled pixels; YOLO cannot mark them, "
                                     "they read as background")
    lines = [
        "# YOLO segmentation dataset exported by segstudio",
        "# train/val are relative to path (the folder of this file when it was written)",
        f"path: {_yaml_str(str(dest.resolve()))}",
        "train: images/train",
        f"val: images/{'val' if val else 'train'}",
        f"nc: {len(ids)}",
        "names:",
    ] + [f"  {i}: {_yaml_str(names[cid])}" for i, cid in enumerate(ids)]
    atomic_write_text(dest / "data.yaml", "\n".join(lines) + "\n")
    return report
