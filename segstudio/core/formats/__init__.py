"""Interchange formats: LabelMe, COCO, Pascal VOC, YOLO and plain mask folders.

``import_annotations(fmt, source, project_path, options)`` and ``export_annotations(fmt, project,
dest)`` dispatch to the format modules; each returns a report with counts and warnings that name
the files at fault. An import is one project transaction: when it fails, or imports nothing, the
project (segstudio.json, masks/, images/) is exactly as it was.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from segstudio.core.formats.common import (
    CancelFn, ExportReport, FormatError, ImportOptions, ImportReport, ProgressFn, open_or_create_project,
)
from segstudio.core.project import Project

IMPORT_FORMATS = ("labelme", "coco", "voc", "masks")
EXPORT_FORMATS = ("labelme", "coco", "voc", "yolo")
FORMAT_TITLES = {"labelme": "LabelMe", "coco": "COCO", "voc": "Pascal VOC", "masks": "Mask folder", "yolo": "YOLO"}

__all__ = [
    "EXPORT_FORMATS", "FORMAT_TITLES", "IMPORT_FORMATS", "ExportReport", "FormatError", "ImportOptions",
    "ImportReport", "export_annotations", "import_annotations",
]


def import_annotations(fmt: str, source: str | Path, project_path: str | Path, options: ImportOptions | None = None,
                       progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> ImportReport:
    """Import SOURCE in format ``fmt`` (labelme | coco | voc | masks) into the project folder.

    All or nothing: an exception, or a report with nothing imported, leaves the project as it was
    (a project folder this call created is removed again).
    """
    if fmt == "labelme":
        from segstudio.core.formats.labelme import import_labelme as run
    elif fmt == "coco":
        from segstudio.core.formats.coco import import_coco as run
    elif fmt == "voc":
        from segstudio.core.formats.voc import import_voc as run
    elif fmt == "masks":
        from segstudio.core.formats.mask_folder import import_mask_folder as run
    else:
        raise FormatError(f"unknown import format {fmt!r}; choose one of {', '.join(IMPORT_FORMATS)}")
    from segstudio.core.write_policy import check_import

    root = Path(project_path)
    check_import(source, root)  # before anything is created
    created = not root.exists()
    try:
        project, _ = open_or_create_project(root)
        with project.transaction(f"import {fmt} from {source}") as txn:
            report = run(source, project, options, progress=progress, cancel=cancel)
            if not (report.imported or report.images_copied):
                txn.discard()  # exit 2 "nothing could be imported": not even a new class stays
    except BaseException:
        if created:
            shutil.rmtree(root, ignore_errors=True)
        raise
    if created and not (report.imported or report.images_copied):
        shutil.rmtree(root, ignore_errors=True)
    return report


def export_annotations(fmt: str, project: Project | str | Path, dest: str | Path, overwrite: bool = False,
                       classes: list[str] | None = None, progress: ProgressFn | None = None,
                       cancel: CancelFn | None = None) -> ExportReport:
    """Export a project's labeled images in format ``fmt`` (labelme | coco | voc | yolo) to DEST."""
    from segstudio.core.write_policy import check_output_folder, export_reads

    if not isinstance(project, Project):
        project = Project.open(project)
    check_output_folder(dest, export_reads(project.images_dir, project.root),
                        hint="export to a folder outside the project's images")
    if fmt == "labelme":
        from segstudio.core.formats.labelme import export_labelme
        return export_labelme(project, dest, overwrite, progress=progress, cancel=cancel)
    if fmt == "coco":
        from segstudio.core.formats.coco import export_coco
        return export_coco(project, dest, overwrite, classes=classes, progress=progress, cancel=cancel)
    if fmt == "voc":
        from segstudio.core.formats.voc import export_voc
        return export_voc(project, dest, overwrite, progress=progress, cancel=cancel)
    if fmt == "yolo":
        from segstudio.core.formats.yolo import export_yolo
        return export_yolo(project, dest, overwrite, classes=classes, progress=progress, cancel=cancel)
    raise FormatError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
