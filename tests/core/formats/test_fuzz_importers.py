"""Fuzzing the importers (hypothesis): whatever the files hold, an import raises nothing but SegstudioError, never
crashes, never changes a file outside the destination project, and leaves a project that opens.

Few examples by default (the suite's time budget); ``SEGSTUDIO_FUZZ_EXAMPLES=500`` runs 500 random ones per test.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from fuzz_strategies import COCO_DOC, JSON, LABELME_DOC, MASK_FILES, NUMBERS, TEXT, dump_json, png_bytes, tree_digest
from hypothesis import given
from hypothesis import strategies as st

from segstudio.core.errors import SegstudioError
from segstudio.core.formats import ImportOptions, import_annotations
from segstudio.core.project import Project

OPTIONS = st.builds(ImportOptions, overwrite=st.booleans(),
                    value_map=st.one_of(st.none(), st.dictionaries(st.integers(-5, 70000), st.integers(0, 255),
                                                                   max_size=4)),
                    classes=st.one_of(st.none(), st.lists(TEXT, max_size=4)))


def _import_checked(fmt: str, make_source, options: ImportOptions | None = None, existing: bool = False) -> None:
    """Build a source with ``make_source(folder)``, import it, and check the invariants."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "src"
        src.mkdir()
        source = make_source(src) or src
        (tmp / "outside.txt").write_text("a file next to the source and the project")
        dest = tmp / "dest"
        if existing:  # a project that already holds an image and its mask
            project = Project.create(dest, ["background", "cell"])
            (dest / "images" / "a.png").write_bytes(png_bytes())
            project.write_mask("a.png", np.ones((10, 12), np.uint8))
        before = tree_digest(tmp, skip=(dest,))
        try:
            import_annotations(fmt, source, dest, options)
        except SegstudioError as exc:
            assert str(exc) and "\n" not in str(exc)  # one line
        assert tree_digest(tmp, skip=(dest,)) == before  # nothing outside the destination changed
        if dest.exists():
            reopened = Project.open(dest)  # the project is valid after whatever happened
            for image in reopened.labeled_images():
                reopened.read_mask(image)


@given(docs=st.lists(LABELME_DOC, min_size=1, max_size=3), existing=st.booleans(),
       class_file=st.one_of(st.none(), st.lists(TEXT, max_size=5)))
def test_fuzz_labelme(docs, existing, class_file):
    def make(src: Path) -> None:
        (src / "a.png").write_bytes(png_bytes())
        (src / "sub").mkdir()
        for i, doc in enumerate(docs):
            (src / ("sub" if i % 2 else "") / f"f{i}.json").write_text(dump_json(doc), encoding="utf-8")
        if class_file is not None:
            (src / "class_names.txt").write_text("\n".join(class_file), encoding="utf-8", errors="surrogatepass")

    _import_checked("labelme", make, existing=existing)


@given(doc=COCO_DOC, existing=st.booleans(), options=st.one_of(st.none(), OPTIONS))
def test_fuzz_coco(doc, existing, options):
    def make(src: Path) -> None:
        (src / "a.png").write_bytes(png_bytes())
        (src / "annotations.json").write_text(dump_json(doc), encoding="utf-8")

    _import_checked("coco", make, options, existing=existing)


@given(masks=st.lists(MASK_FILES, min_size=1, max_size=3), lists=st.lists(st.lists(TEXT, max_size=3), max_size=2),
       class_names=st.one_of(st.none(), st.lists(TEXT, max_size=6)), options=st.one_of(st.none(), OPTIONS))
def test_fuzz_voc(masks, lists, class_names, options):
    def make(src: Path) -> None:
        for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
            (src / sub).mkdir(parents=True)
        for i, data in enumerate(masks):
            (src / "JPEGImages" / f"im{i}.png").write_bytes(png_bytes())
            (src / "SegmentationClass" / f"im{i}.png").write_bytes(data)
        for k, lines in enumerate(lists):
            text = "\n".join(lines + [f"im{k}"])
            (src / "ImageSets" / "Segmentation" / f"s{k}.txt").write_text(text, errors="surrogatepass")
        if class_names is not None:
            (src / "class_names.txt").write_text("\n".join(class_names), errors="surrogatepass")

    _import_checked("voc", make, options)


@given(masks=st.lists(st.one_of(MASK_FILES, st.none()), min_size=1, max_size=3), options=st.one_of(st.none(), OPTIONS),
       existing=st.booleans())
def test_fuzz_mask_folder(masks, options, existing):
    def make(src: Path) -> None:
        (src / "images").mkdir()
        (src / "masks").mkdir()
        for i, data in enumerate(masks):
            (src / "images" / ("a.png" if i == 0 else f"im{i}.png")).write_bytes(png_bytes())
            if data is not None:
                (src / "masks" / ("a.png" if i == 0 else f"im{i}.png")).write_bytes(data)

    _import_checked("masks", make, options, existing=existing)


@given(value=JSON, number=NUMBERS)
def test_fuzz_any_json_as_any_format(value, number):
    for fmt, name in (("labelme", "x.json"), ("coco", "annotations.json")):
        def make(src: Path, fmt=fmt, name=name) -> Path:
            (src / "a.png").write_bytes(png_bytes())
            (src / name).write_text(dump_json({"v": value, "n": number} if fmt == "coco" else value))
            return src / name

        _import_checked(fmt, make)
