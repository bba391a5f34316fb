"""Demo-project quality: segstudio's DEFAULT settings vs a plain hand-written U-Net loop, same wall time.

Generates the demo project (4 classes, 256x256, 20 labeled of 40) and, as held-out test images, the
other 20 demo images (their masks are known from the generator; neither method trains on them). Runs
``segstudio train PROJECT`` with no options, then the loop of ``quality_loop.plain_loop`` for the same
wall time in the same process, and scores both on the test images (segstudio through ``segstudio
evaluate``). The last line is one JSON object: segstudio_miou, loop_miou, ratio, wall_s of each, ...
Goal: ratio > 1 (and segstudio mIoU >= 0.8) in about 2 minutes on 2 CPU cores.

    python benchmarks/demo_miou.py [--threads 2]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from quality_loop import benchmark_main, compare, scoped_env  # noqa: E402

from segstudio.core.demo import DEMO_CLASSES, generate_demo_project, make_demo_sample  # noqa: E402
from segstudio.core.project import Project  # noqa: E402

TEST_INDICES = range(20, 40)  # the demo's unlabeled half


def test_project(dest: Path, demo: Project) -> Project:
    """The demo's unlabeled images (the very JPEGs on disk) with their generator masks, as a project."""
    test = Project.create(dest, DEMO_CLASSES)
    for i in TEST_INDICES:
        name = f"sample_{i + 1:02d}.jpg"
        (test.images_dir / name).write_bytes((demo.images_dir / name).read_bytes())
        test.write_mask(name, make_demo_sample(i)[1])
    return test


def run_demo(threads: int = 2, with_loop: bool = True) -> dict:
    """Train and compare on the demo project; returns the result dict (``with_loop`` False: segstudio only)."""
    with tempfile.TemporaryDirectory(prefix="segstudio-demo-") as tmp:
        demo = generate_demo_project(Path(tmp) / "demo")
        test = test_project(Path(tmp) / "test", demo)
        with scoped_env(SEGSTUDIO_LOG_DIR=str(Path(tmp) / "logs")):
            result = compare(demo, test, threads, with_loop)
    return {"benchmark": "demo_miou", **result}


if __name__ == "__main__":
    benchmark_main(run_demo, __doc__)
