"""Live training data: masks saved while a training runs reach it between two steps.

:class:`LiveData` is the thread-safe mailbox between the app and a running
:class:`~segstudio.engine.trainer.Trainer` (no Qt, no torch): any thread calls
:meth:`LiveData.mark_changed` after it saved a mask (with the edited box) and
:meth:`LiveData.set_preview_image` when another image is shown. The trainer looks at it between
every two steps (a lock-free check when nothing changed), re-reads the changed masks, and hands
the edited boxes to :class:`CorrectiveEmphasis`, which for a while fills part of every batch
with crops covering those boxes (RootPainter's "corrective annotation"), while the rest of the
batch keeps the run's normal, seeded order, so nothing learnt before is forgotten.

Live data is for single-process runs (the GUI); under torchrun the trainer ignores it.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass

#: (x0, y0, x1, y1) in image pixels, x1/y1 exclusive
Box = tuple[int, int, int, int]

#: share of each batch given to recently edited regions
EMPHASIS_SHARE = 0.3
#: an edited region is emphasised for this many crops ...
EMPHASIS_SAMPLES = 200
#: ... or this many seconds, whichever ends first
EMPHASIS_SECONDS = 60.0
#: at most this many regions are emphasised at once (the oldest are dropped)
MAX_REGIONS = 64


@dataclass(frozen=True)
class LiveEdit:
    """One saved edit: which image, which box (None = the whole image), when (``time.monotonic``)."""

    image_id: str
    box: Box | None
    time: float


def _check_box(box: object) -> Box | None:
    if box is None:
        return None
    try:
        x0, y0, x1, y1 = (int(v) for v in box)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"a box is (x0, y0, x1, y1), got {box!r}") from None
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"empty box {box!r}: x1 must exceed x0 and y1 exceed y0")
    return (x0, y0, x1, y1)


class LiveData:
    """Thread-safe hand-over of saved masks and the preview image to a running trainer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._edits: list[LiveEdit] = []
        self._preview_id: str | None = None
        self._preview_changed = False

    def mark_changed(self, image_id: str, box: tuple[int, int, int, int] | None = None) -> None:
        """The mask of ``image_id`` was saved; ``box`` = the edited region in image pixels (None: whole image)."""
        edit = LiveEdit(str(image_id), _check_box(box), time.monotonic())
        with self._lock:
            self._edits.append(edit)

    def set_preview_image(self, image_id: str | None) -> None:
        """Which image the previews show (None = the first validation image); the next preview is of it."""
        with self._lock:
            if image_id != self._preview_id:
                self._preview_changed = True
            self._preview_id = image_id

    @property
    def preview_image(self) -> str | None:
        with self._lock:
            return self._preview_id

    def has_edits(self) -> bool:
        """True when edits wait (no lock: cheap enough to ask every step)."""
        return bool(self._edits)

    def take_edits(self) -> list[LiveEdit]:
        """The edits saved since the last call, oldest first."""
        with self._lock:
            out, self._edits = self._edits, []
        return out

    def take_preview_request(self) -> bool:
        """True once after the preview image changed (the next preview should come at once)."""
        with self._lock:
            changed, self._preview_changed = self._preview_changed, False
        return changed


@dataclass
class _Region:
    image_id: str
    box: Box | None
    draws_left: int
    until: float
    picked: bool = False  # drawn at least once


@dataclass(frozen=True)
class EmphasisRow:
    """One batch row that covers an edited region: the image, and its augmentation draws."""

    image_id: str
    draws: list[float]
    first: bool  # the region's first crop (the trainer reports it)
    box: Box | None


class CorrectiveEmphasis:
    """Recently edited regions and the crops that cover them.

    Every edited box is emphasised for ``samples`` crops or ``seconds`` seconds; while any is,
    about ``share`` of each batch are crops covering one of them (the newer, the likelier). The
    random numbers come from the emphasis' own generator: a run without edits draws nothing
    from it and stays exactly reproducible.
    """

    def __init__(self, seed: int, share: float = EMPHASIS_SHARE, samples: int = EMPHASIS_SAMPLES,
                 seconds: float = EMPHASIS_SECONDS) -> None:
        self.share = share
        self.samples = samples
        self.seconds = seconds
        self._rng = random.Random(seed * 7919 + 17)
        self._regions: list[_Region] = []
        self.rows_drawn = 0  # crops of edited regions drawn so far

    def add(self, image_id: str, box: Box | None, now: float | None = None) -> None:
        """Emphasise ``box`` of ``image_id`` (an edit of the same box restarts its budget)."""
        now = time.monotonic() if now is None else now
        self._regions = [r for r in self._regions if (r.image_id, r.box) != (image_id, box)]
        self._regions.append(_Region(image_id, box, self.samples, now + self.seconds))
        del self._regions[:-MAX_REGIONS]

    def forget(self, image_id: str) -> None:
        """Stop emphasising an image (its mask is gone)."""
        self._regions = [r for r in self._regions if r.image_id != image_id]

    def active(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self._regions = [r for r in self._regions if r.draws_left > 0 and r.until > now]
        return bool(self._regions)

    def rows_for(self, batch: int, step: int) -> int:
        """How many of ``batch`` rows go to edited regions at global step ``step`` (call after :meth:`active`)."""
        if not self._regions:
            return 0
        if batch <= 1:  # one row a batch: every third step is a corrective one
            return 1 if step % 3 == 0 else 0
        return min(batch - 1, max(1, int(round(self.share * batch))))

    def draw(self, n: int, sizes: dict[str, tuple[int, int]], crop: int, scale_range: tuple[float, float],
             draws_per_sample: int) -> list[EmphasisRow]:
        """``n`` rows, each a crop covering an active region; ``sizes`` = image id -> (height, width)."""
        regions = [r for r in self._regions if r.image_id in sizes]
        if not regions:
            return []
        weights = [1.0 / (len(regions) - i) for i in range(len(regions))]  # newest (last) likeliest
        out = []
        for _ in range(n):
            r = self._rng.choices(regions, weights)[0]
            h, w = sizes[r.image_id]
            draws = covering_draws(r.box, h, w, crop, scale_range, draws_per_sample, self._rng)
            out.append(EmphasisRow(r.image_id, draws, not r.picked, r.box))
            r.picked = True
            r.draws_left -= 1
            self.rows_drawn += 1
        return out


def covering_draws(box: Box | None, height: int, width: int, crop: int, scale_range: tuple[float, float],
                   count: int, rng: random.Random) -> list[float]:
    """Augmentation draws (see :func:`segstudio.engine.data.augment_draws`) whose crop covers ``box``.

    The window holds the whole box when it fits, else lies inside the box; scale, flips and
    jitter stay random. Mirrors how :class:`~segstudio.engine.data.Augmenter` turns draws into a window.
    """
    draws = [rng.random() for _ in range(count)]
    lo, hi = scale_range
    scale = math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * draws[0]) if hi > lo else lo
    win = max(1, int(round(crop / scale)))
    x0, y0, x1, y1 = box if box is not None else (0, 0, width, height)
    draws[1] = _covering_u(height, win, max(0, y0), min(height, y1), rng)
    draws[2] = _covering_u(width, win, max(0, x0), min(width, x1), rng)
    return draws


def _covering_u(size: int, win: int, a: int, b: int, rng: random.Random) -> float:
    """A uniform number that data._offset turns into a window start covering [a, b) (or lying inside it)."""
    if size <= win or b <= a:  # the window covers the whole side anyway (or the box is off the image)
        return rng.random()
    span = size - win
    first, last = (b - win, a) if b - a <= win else (a, b - win)
    first, last = max(0, min(span, first)), max(0, min(span, last))
    start = rng.randint(min(first, last), max(first, last))
    return (start + 0.5) / (span + 1)
