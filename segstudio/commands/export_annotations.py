"""``segstudio export FORMAT PROJECT DEST``: write a project's labeled images as LabelMe, COCO,
Pascal VOC or YOLO segmentation data."""

from __future__ import annotations

import argparse

from segstudio.commands._common import parse_class_list, run_format_job
from segstudio.core.formats import EXPORT_FORMATS, export_annotations
from segstudio.core.project import Project


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("format", metavar="FORMAT", choices=EXPORT_FORMATS,
                        help="one of: " + ", ".join(EXPORT_FORMATS))
    parser.add_argument("project", metavar="PROJECT", help="project folder")
    parser.add_argument("dest", metavar="DEST", help="output folder (created when missing)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier export in DEST")
    parser.add_argument("--classes", metavar="NAMES",
                        help="coco/yolo: export only these classes (comma-separated names)")


def run(args: argparse.Namespace) -> int:
    project = Project.open(args.project)
    return run_format_job(
        "export", lambda progress: export_annotations(args.format, project, args.dest, overwrite=args.overwrite,
                                                      classes=parse_class_list(args.classes), progress=progress),
        lambda report: report.exported,
        f"nothing could be exported from {args.project}")
