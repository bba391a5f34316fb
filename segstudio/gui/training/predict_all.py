""""Predict all": run a checkpoint over every image of the project, as one job on the runner's "batch" lane.

Each prediction is stored with ``Project.write_prediction`` (PROJECT/predictions, apart from the
masks) and handed to the GUI thread with its uncertainty (mean per-pixel entropy), so the browser
can rank the images by it. Every image's result arrives (they are queued, not coalesced).
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from segstudio.gui.jobs import Cancelled, Job, JobRunner
from segstudio.gui.training.prediction import PredictorCache, predict_file

PREDICT_ALL_KEY = "predict:all"


@dataclass
class PredictAllProgress:
    """What the job reports after each image."""

    index: int
    total: int
    image_id: str
    mask: Any = None
    entropy: float = 0.0
    error: str = ""


@dataclass
class PredictAllResult:
    done: int
    total: int
    cancelled: bool
    failures: list[str] = field(default_factory=list)


def predict_images(job: Job, project_root: Path, image_ids: list[str], checkpoint: Path,
                   results: collections.deque, stop: threading.Event, device: str = "auto") -> PredictAllResult:
    """The job: predict every image, store it, queue each result; one bad image does not stop the others.
    ``stop`` ends it early (what was predicted is kept and reported)."""
    from segstudio.core.project import Project
    from segstudio.gui.training.worker import prepare_compute_thread

    prepare_compute_thread()
    project = Project.open(project_root)
    cache = PredictorCache(device)
    cache.should_stop = lambda: job.cancelled or stop.is_set()  # also stops mid-image
    cache.get(checkpoint)  # an unreadable checkpoint stops here, with one message
    total, done, failures = len(image_ids), 0, []
    for i, image_id in enumerate(image_ids):
        if cache.should_stop():
            break
        try:
            pred = predict_file(cache, checkpoint, project.image_path(image_id))
            project.write_prediction(image_id, pred.mask)
        except Cancelled:
            break
        except Exception as exc:  # noqa: BLE001 - reported per image, the others go on
            failures.append(f"{image_id}: {type(exc).__name__}: {exc}")
            results.append(PredictAllProgress(i + 1, total, image_id, error=failures[-1]))
            job.report()
            continue
        done += 1
        results.append(PredictAllProgress(i + 1, total, image_id, pred.mask, float(pred.entropy)))
        job.report()
    return PredictAllResult(done, total, cache.should_stop(), failures)


class PredictAllJob:
    """Starts "Predict all" on the runner and hands each image's result to ``on_image`` (GUI thread)."""

    def __init__(self, runner: JobRunner, on_image: Callable[[PredictAllProgress], None],
                 on_finished: Callable[[PredictAllResult], None], on_error: Callable[[str, str], None]) -> None:
        self.runner = runner
        self.on_image, self.on_finished, self.on_error = on_image, on_finished, on_error
        self._results: collections.deque = collections.deque()
        self._stop = threading.Event()
        self.project_root: Path | None = None

    @property
    def running(self) -> bool:
        return self.runner.pending(PREDICT_ALL_KEY)

    def start(self, project_root: Path, image_ids: list[str], checkpoint: Path) -> None:
        self._results = results = collections.deque()
        self._stop = stop = threading.Event()
        self.project_root = root = Path(project_root)
        self.runner.submit(PREDICT_ALL_KEY,
                           lambda job: predict_images(job, root, image_ids, checkpoint, results, stop),
                           lane="batch", on_progress=lambda _p: self._drain(), on_done=self._done,
                           on_error=lambda exc, tb: self.on_error(f"{type(exc).__name__}: {exc}", tb))

    def cancel(self) -> None:
        """Stop after the image being predicted (between two tile batches); what was done so far is kept."""
        self._stop.set()

    def forget(self) -> None:
        """Another project: stop and drop the results."""
        self._stop.set()
        self.runner.cancel(PREDICT_ALL_KEY)
        self._results.clear()

    def _drain(self) -> None:
        while self._results:
            self.on_image(self._results.popleft())

    def _done(self, result: PredictAllResult) -> None:
        self._drain()
        self.on_finished(result)
