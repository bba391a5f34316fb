"""Hypothesis strategies for the fuzz tests: arbitrary JSON, and JSON shaped like the files segstudio reads
with hostile values in every slot (imported by name: tests/ is on sys.path through its conftest)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
from hypothesis import strategies as st
from PIL import Image

#: numbers that broke parsers before: huge, tiny, negative, not finite, too long for a float
NASTY_NUMBERS = st.sampled_from([0, 1, -1, 2, 3, 255, 256, 1e12, 3e8, -3e8, 2**31, 2**63, -2**64, 10**400, 1e308,
                                 -1e308, 1e-300, float("nan"), float("inf"), float("-inf"), 0.5, True, False])
NUMBERS = st.one_of(st.integers(-50, 100), st.floats(-1e13, 1e13, allow_nan=False), NASTY_NUMBERS)
NASTY_TEXT = st.sampled_from(["", " ", "a.png", "../a.png", "../../etc/passwd", "/etc/passwd", "C:\\x.png",
                              "sub/../../a.png", "a.png\x00", "\ud800", "x" * 5000, "images/a.png", ".", "..",
                              "__ignore__", "_background_", "background", "🦠", "masks/a.png"])
TEXT = st.one_of(st.text(max_size=12), NASTY_TEXT)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(TEXT, kids, max_size=4),
                    max_leaves=20)


def png_bytes(mode: str = "RGB", size: tuple[int, int] = (12, 10), value: int = 100) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, value if mode != "RGB" else (value, value, value)).save(buf, "PNG")
    return buf.getvalue()


PNG_B64 = base64.b64encode(png_bytes()).decode("ascii")
IMAGE_DATA = st.one_of(st.none(), TEXT, st.just(PNG_B64), st.just(PNG_B64[:40]),
                       st.just(base64.b64encode(b"\x89PNG garbage").decode()))


def points():
    return st.one_of(st.lists(st.lists(NUMBERS, min_size=0, max_size=3), max_size=7), JSON)


SHAPE = st.fixed_dictionaries(
    {"label": st.one_of(TEXT, JSON), "points": points(),
     "shape_type": st.one_of(st.sampled_from(["polygon", "rectangle", "circle", "line", "linestrip", "point",
                                              "mask", "rotation", "bogus", None]), JSON)},
    optional={"mask": IMAGE_DATA, "group_id": JSON, "flags": JSON})
LABELME_DOC = st.one_of(
    st.fixed_dictionaries({"shapes": st.one_of(st.lists(st.one_of(SHAPE, JSON), max_size=4), JSON)},
                          optional={"imagePath": TEXT, "imageData": IMAGE_DATA, "imageWidth": NUMBERS,
                                    "imageHeight": NUMBERS, "version": JSON}),
    JSON)

COCO_IDS = st.one_of(st.integers(0, 4), TEXT, JSON)
SEGMENTATION = st.one_of(
    st.lists(st.lists(NUMBERS, max_size=10), max_size=3),
    st.fixed_dictionaries({"size": st.one_of(st.just([10, 12]), st.lists(NUMBERS, max_size=3), JSON),
                           "counts": st.one_of(st.text(alphabet="0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
                                                                "abcdefghijklmno", max_size=30),
                                               st.lists(NUMBERS, max_size=6), st.just([120]), JSON)}),
    JSON)
COCO_DOC = st.one_of(
    st.fixed_dictionaries({
        "images": st.one_of(st.lists(st.one_of(st.fixed_dictionaries(
            {"id": COCO_IDS, "file_name": st.one_of(st.just("a.png"), TEXT, JSON)},
            optional={"width": NUMBERS, "height": NUMBERS}), JSON), max_size=3), JSON),
        "annotations": st.one_of(st.lists(st.one_of(st.fixed_dictionaries(
            {"id": COCO_IDS, "image_id": COCO_IDS, "category_id": COCO_IDS, "segmentation": SEGMENTATION}),
            JSON), max_size=4), JSON),
        "categories": st.one_of(st.lists(st.one_of(st.fixed_dictionaries(
            {"id": COCO_IDS, "name": st.one_of(TEXT, JSON)}), JSON), max_size=4), JSON)}),
    JSON)

#: small images and masks as the folder importers find them: valid PNGs of several modes, sizes, garbage
MASK_FILES = st.one_of(
    st.builds(lambda mode, w, h, v: png_bytes(mode, (w, h), v),
              st.sampled_from(["P", "L", "RGB", "I;16", "1", "LA"]), st.integers(1, 14), st.integers(1, 12),
              st.integers(0, 255)),
    st.binary(max_size=64), st.just(png_bytes("P", (12, 10), 255)), st.just(png_bytes()[:30]))


def dump_json(value) -> str:
    """JSON text of any generated value (NaN/Infinity as Python writes them; lone surrogates escaped)."""
    return json.dumps(value)


def tree_digest(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, str]:
    """relative path -> sha256 (or 'dir' / 'link') of everything under ``root`` except ``skip``."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip]
        for name in dirnames + filenames:
            p = here / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = "link"
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def random_mask(rng: np.random.Generator, shape=(10, 12), high: int = 256) -> np.ndarray:
    return rng.integers(0, high, shape, dtype=np.uint8)
