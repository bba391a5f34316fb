"""Quality on data unlike the demo: segstudio's DEFAULT settings vs a plain hand-written U-Net loop.

The data set is generated here, deterministically: two-channel 16-bit fluorescence-like TIFFs (CYX,
written with tifffile) with shot noise, uneven illumination and out-of-focus haze; classes background,
nucleus (bright textured ellipses in channel 1), cell (irregular cytoplasm blobs in channel 2) and
speck (tiny bright spots in channel 2, about 1.5 % of the pixels, the small foreground class). 20
labeled training images and 12 held-out test images. Both methods train for the same wall time in
this process (segstudio first, with no options; then the loop of ``quality_loop.plain_loop``) and are
scored on the test images. The defaults were chosen on the demo, never tuned on this data.
The last line is one JSON object: segstudio_miou, loop_miou, ratio, per-class IoU, wall_s of each.

    python benchmarks/quality_second.py [--threads 2]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from quality_loop import benchmark_main, compare, scoped_env  # noqa: E402

from segstudio.core.channels import ChannelSpec, set_project_channels  # noqa: E402
from segstudio.core.project import Project  # noqa: E402

CLASSES = ("background", "nucleus", "cell", "speck")
SIZE = (256, 256)
TRAIN, TEST = 20, 12


def _smooth(rng: np.random.Generator, h: int, w: int, cell: int, sigma: float) -> np.ndarray:
    grid = rng.normal(0, sigma, (h // cell + 2, w // cell + 2)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def make_sample(index: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """((2, H, W) uint16 image, (H, W) uint8 mask), deterministic in (index, seed)."""
    rng = np.random.default_rng([seed, index])
    h, w = SIZE
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    mask = np.zeros((h, w), np.uint8)
    nuc = np.zeros((h, w), np.float32)
    cyto = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(4, 9))):  # cells: a lumpy cytoplasm with a nucleus inside
        cx, cy = rng.uniform(20, w - 20), rng.uniform(20, h - 20)
        r = rng.uniform(16, 30)
        ang = np.arctan2(yy - cy, xx - cx)
        wobble = 1 + 0.18 * np.sin(3 * ang + rng.uniform(0, 6.3)) + 0.1 * np.sin(5 * ang + rng.uniform(0, 6.3))
        body = np.hypot(xx - cx, yy - cy) < r * wobble
        mask[body & (mask == 0)] = 2
        cyto[body] = rng.uniform(0.5, 1.0)
        ax, ay = r * rng.uniform(0.3, 0.5), r * rng.uniform(0.3, 0.5)
        t = rng.uniform(0, np.pi)
        u, v = (xx - cx) * np.cos(t) + (yy - cy) * np.sin(t), -(xx - cx) * np.sin(t) + (yy - cy) * np.cos(t)
        inside = (u / ax) ** 2 + (v / ay) ** 2 < 1
        mask[inside] = 1
        nuc[inside] = rng.uniform(0.6, 1.0)
    chromatin = np.clip(1 + _smooth(rng, h, w, 3, 0.35), 0.3, 2.0)
    specks = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(35, 60))):  # small bright spots, most of them in cells
        cx, cy = rng.uniform(3, w - 3), rng.uniform(3, h - 3)
        r = rng.uniform(1.5, 3.2)
        spot = np.hypot(xx - cx, yy - cy) < r
        mask[spot] = 3
        specks[spot] = rng.uniform(0.8, 1.3)
    light = 1 + 0.35 * (np.cos(rng.uniform(0, 6.3)) * xx / w + np.sin(rng.uniform(0, 6.3)) * yy / h)
    haze0, haze1 = np.abs(_smooth(rng, h, w, 40, 250)), np.abs(_smooth(rng, h, w, 40, 300))
    c0 = 900 + haze0 + light * (9000 * cv2.GaussianBlur(nuc * chromatin, (0, 0), 1.0))
    c1 = 600 + haze1 + light * (3500 * cv2.GaussianBlur(cyto, (0, 0), 1.5) + 7000 * cv2.GaussianBlur(specks, (0, 0), 0.7))
    img = np.stack([c0, c1])
    img = rng.poisson(np.clip(img, 0, None) / 4.0) * 4.0 + rng.normal(0, 40, img.shape)  # shot + read noise
    return np.clip(img, 0, 65535).astype(np.uint16), mask


def write_project(dest: Path, indices: range) -> Project:
    project = Project.create(dest, CLASSES)
    for i in indices:
        img, mask = make_sample(i)
        name = f"field_{i:03d}.tif"
        tifffile.imwrite(project.images_dir / name, img, photometric="minisblack", metadata={"axes": "CYX"})
        project.write_mask(name, mask)
    set_project_channels(project, ChannelSpec.native(2, "uint16", ["dapi", "marker"]))
    return project


def run_second(threads: int = 2) -> dict:
    """Generate the data, train both, compare; returns the result dict."""
    with tempfile.TemporaryDirectory(prefix="segstudio-second-") as tmp:
        train = write_project(Path(tmp) / "train", range(TRAIN))
        test = write_project(Path(tmp) / "test", range(1000, 1000 + TEST))
        masks = np.stack([make_sample(i)[1] for i in range(TRAIN)])
        share = {n: round(float((masks == c).mean()), 4) for c, n in enumerate(CLASSES)}
        with scoped_env(SEGSTUDIO_LOG_DIR=str(Path(tmp) / "logs")):
            result = compare(train, test, threads)
    return {"benchmark": "quality_second", **result, "class_share": share}


if __name__ == "__main__":
    benchmark_main(run_second, __doc__)
