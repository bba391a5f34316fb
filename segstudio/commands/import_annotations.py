"""``segstudio import FORMAT SOURCE PROJECT``: bring LabelMe, COCO, Pascal VOC or mask-folder
annotations into a project (created when missing).

Problems with single files are printed as warnings naming the file and the import goes on
(exit 0); when nothing could be imported or the input is invalid the exit status is 2.
"""

from __future__ import annotations

import argparse

from segstudio.commands._common import mask_map_option, parse_class_list, run_format_job
from segstudio.core.formats import IMPORT_FORMATS, ImportOptions, import_annotations


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("format", metavar="FORMAT", choices=IMPORT_FORMATS,
                        help="one of: " + ", ".join(IMPORT_FORMATS))
    parser.add_argument("source", metavar="SOURCE",
                        help="LabelMe folder or .json, COCO folder or annotation file, VOC folder, "
                             "or a folder with images/ and masks/")
    parser.add_argument("project", metavar="PROJECT", help="project folder (created when missing)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace images and masks already in the project (default: skip them with a warning)")
    parser.add_argument("--mask-map", metavar="MAP",
                        help="masks/voc: raw mask value to class id, e.g. 0:0,255:1 (unlisted values become unlabeled)")
    parser.add_argument("--classes", metavar="NAMES",
                        help="comma-separated class names, class 0 first; labels not listed are reported and "
                             "left unlabeled")


def run(args: argparse.Namespace) -> int:
    options = ImportOptions(overwrite=args.overwrite, value_map=mask_map_option(args.mask_map),
                            classes=parse_class_list(args.classes))
    return run_format_job(
        "import", lambda progress: import_annotations(args.format, args.source, args.project, options,
                                                      progress=progress),
        lambda report: report.imported or report.images_copied,
        f"nothing could be imported from {args.source}")
