"""Helper functions for the format tests (imported by name: this folder is on sys.path)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image


def save_image(path: Path, width: int = 40, height: int = 30, color=(120, 60, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), color).save(path)
    return path


def png_base64(width: int = 40, height: int = 30) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def labelme_doc(image_path: str | None, shapes: list[dict], width: int = 40, height: int = 30,
                image_data: str | None = None, **extra) -> dict:
    doc = {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": image_path, "imageData": image_data,
           "imageHeight": height, "imageWidth": width}
    doc.update(extra)
    return doc


def shape(label: str, points, shape_type: str = "polygon", **extra) -> dict:
    return {"label": label, "points": [list(map(float, p)) for p in points], "group_id": None,
            "shape_type": shape_type, "flags": {}, **extra}


def write_json(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def masks_equal_fraction(a: np.ndarray, b: np.ndarray) -> float:
    return float((a == b).mean())
