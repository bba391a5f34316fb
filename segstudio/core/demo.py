"""The bundled demo project: a deterministic synthetic microscopy-like dataset.

40 images of three kinds of objects (round cells, angular crystals, thin fibres) on textured,
noisy, unevenly lit backgrounds; masks for the first half, so a new user can click Train at once
and then see predictions on the unlabeled half.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from segstudio.core.atomic import atomic_write_bytes
from segstudio.core.paths import user_data_dir
from segstudio.core.project import Project

DEMO_CLASSES = ("background", "cell", "crystal", "fibre")
DEMO_COLORS = ("#000000", "#e6194b", "#4363d8", "#3cb44b")
DEMO_SIZE = (256, 256)  # (H, W)


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    base = rng.uniform(90, 150)
    low = cv2.resize(rng.normal(0, 18, (h // 32 + 1, w // 32 + 1)).astype(np.float32), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    mid = cv2.resize(rng.normal(0, 8, (h // 8 + 1, w // 8 + 1)).astype(np.float32), (w, h),
                     interpolation=cv2.INTER_LINEAR)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    light = (np.cos(angle) * xx / w + np.sin(angle) * yy / h) * rng.uniform(10, 35)
    gray = base + low + mid + light
    tint = rng.uniform(0.85, 1.1, size=3).astype(np.float32)
    return gray[:, :, None] * tint[None, None, :]


def _draw_cell(img, mask, rng, h, w) -> None:
    cx, cy = int(rng.integers(15, w - 15)), int(rng.integers(15, h - 15))
    ax, ay = int(rng.integers(9, 22)), int(rng.integers(9, 22))
    ang = float(rng.uniform(0, 180))
    shape = np.zeros((h, w), np.uint8)
    cv2.ellipse(shape, (cx, cy), (ax, ay), ang, 0, 360, 1, -1, cv2.LINE_8)
    body = shape.astype(bool)
    img[body] = img[body] * 0.35 + np.array([225, 180, 190], np.float32) * 0.65
    nucleus = np.zeros((h, w), np.uint8)
    cv2.ellipse(nucleus, (cx, cy), (max(2, ax // 3), max(2, ay // 3)), ang, 0, 360, 1, -1)
    img[nucleus.astype(bool)] *= 0.6
    mask[body] = 1


def _draw_crystal(img, mask, rng, h, w) -> None:
    cx, cy = rng.integers(20, w - 20), rng.integers(20, h - 20)
    n = int(rng.integers(3, 6))
    r = rng.uniform(10, 24)
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    pts = np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], 1).astype(np.int32)
    shape = np.zeros((h, w), np.uint8)
    cv2.fillPoly(shape, [pts], 1)
    sel = shape.astype(bool)
    img[sel] = np.array([70, 110, 205], np.float32) + rng.normal(0, 4, (int(sel.sum()), 3))
    cv2.polylines(img, [pts], True, (235, 235, 255), 1)
    mask[sel] = 2


def _draw_fibre(img, mask, rng, h, w) -> None:
    p = rng.uniform([0, 0], [w, h])
    direction = rng.uniform(0, 2 * np.pi)
    pts = [p.copy()]
    for _ in range(int(rng.integers(6, 12))):
        direction += rng.normal(0, 0.35)
        p = p + 12 * np.array([np.cos(direction), np.sin(direction)])
        pts.append(p.copy())
    poly = np.array(pts, np.int32)
    thickness = int(rng.integers(3, 6))
    shape = np.zeros((h, w), np.uint8)
    cv2.polylines(shape, [poly], False, 1, thickness)
    sel = shape.astype(bool)
    img[sel] = img[sel] * 0.3 + np.array([40, 95, 45], np.float32) * 0.7
    mask[sel] = 3


def make_demo_sample(index: int, seed: int = 0, size: tuple[int, int] = DEMO_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """One (RGB uint8 image, uint8 mask) pair, deterministic in (index, seed)."""
    rng = np.random.default_rng([seed, index])
    h, w = size
    img = _background(rng, h, w)
    mask = np.zeros((h, w), np.uint8)
    drawers = [_draw_fibre] * int(rng.integers(1, 3)) + [_draw_cell] * int(rng.integers(3, 7)) + \
        [_draw_crystal] * int(rng.integers(2, 5))
    rng.shuffle(drawers)
    for draw in drawers:
        draw(img, mask, rng, h, w)
    img = cv2.GaussianBlur(img, (3, 3), 0.8)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), mask


def generate_demo_project(dest: str | Path, n_images: int = 40, labeled: int | None = None, seed: int = 0,
                          size: tuple[int, int] = DEMO_SIZE) -> Project:
    """Write the demo project to ``dest`` (images as JPEG, masks for the first ``labeled``)."""
    dest = Path(dest)
    labeled = n_images // 2 if labeled is None else labeled
    project = Project.create(dest, DEMO_CLASSES)
    for cls, color in zip(project.classes, DEMO_COLORS):
        cls.color = color
    project.save()
    for i in range(n_images):
        img, mask = make_demo_sample(i, seed, size)
        name = f"sample_{i + 1:02d}.jpg"
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
        assert ok
        atomic_write_bytes(project.images_dir / name, buf.tobytes())
        if i < labeled:
            project.write_mask(name, mask)
    return project


def demo_project_path() -> Path:
    """Where the demo project lives: <user data folder>/demo-project."""
    return user_data_dir() / "demo-project"


def ensure_demo_project() -> Path:
    """Create the demo project on first use; return its folder."""
    path = demo_project_path()
    if not (path / "segstudio.json").is_file():
        generate_demo_project(path)
    return path
