"""The trainer's side of live data: saved masks join the caches between steps; edited boxes get crops.

:class:`LiveSampler` takes the edits of a :class:`~segstudio.engine.live_data.LiveData` between two
steps, re-reads those masks from disk (the same :func:`~segstudio.engine.data.read_labeled` as at
the start), adds a newly labeled image to the training images (never to validation), refreshes a
changed one (a validation image stays in validation, with its new mask), and gives each batch
its corrective rows (:class:`~segstudio.engine.live_data.CorrectiveEmphasis`).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import numpy as np
import torch

from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import SegstudioError
from segstudio.core.project import Project
from segstudio.engine.data import SampleCache, file_mtime, read_labeled
from segstudio.engine.live_data import Box, CorrectiveEmphasis, EmphasisRow, LiveData


class LiveSampler:
    """Applies live edits to the training and validation caches and draws the corrective rows."""

    def __init__(self, live: LiveData, project: Project, train: SampleCache, val: SampleCache,
                 value_map: dict[int, int] | None, warn: Callable[[str], None], seed: int, enabled: bool) -> None:
        self.live = live
        self.project = project
        self.train = train
        self.val = val
        self.value_map = value_map
        self.warn = warn
        self.enabled = enabled  # watch_project in one process; otherwise edits are dropped
        self.emphasis = CorrectiveEmphasis(seed)
        self.added: set[str] = set()  # newly labeled images taken into training while it ran
        self.masks_updated = 0  # masks re-read after an edit

    def update(self) -> None:
        """Take the waiting edits (between two steps; nothing to do costs one attribute read)."""
        if not self.live.has_edits():
            return
        edits = self.live.take_edits()
        if not self.enabled:
            return
        boxes: OrderedDict[str, list[Box | None]] = OrderedDict()
        for e in edits:
            boxes.setdefault(e.image_id, []).append(e.box)
        for image_id, image_boxes in boxes.items():
            if self._refresh(image_id):
                for box in dict.fromkeys(image_boxes):  # each distinct box once, in order
                    self.emphasis.add(image_id, box)

    def _refresh(self, image_id: str) -> bool:
        """Re-read one image's mask into its cache; True when it is a training image now."""
        path = self.project.image_path(image_id)
        try:
            inside = path.resolve().is_relative_to(self.project.images_dir.resolve()) and path.is_file()
        except OSError:
            inside = False
        if not inside:
            self.warn(f"live training: no image {image_id!r} in {self.project.images_dir}; edit ignored")
            return False
        in_val = any(s.image_id == image_id for s in self.val.samples)
        cache = self.val if in_val else self.train
        mask_path = self.project.mask_path(path)
        mtime = file_mtime(mask_path)
        if not mask_path.is_file():  # mask removed: nothing of it is trained on any more
            self._blank(cache, image_id)
            self.emphasis.forget(image_id)
            return False
        try:
            got = read_labeled(self.project, path, self.value_map, self.warn, cache.channels)
        except SegstudioError as exc:  # a mask that needs a value map, channels that do not fit
            self.warn(f"live training: {exc}")
            return False
        if got is None:
            return False
        known = any(s.image_id == image_id for s in cache.samples)
        cache.add_or_replace(image_id, got[0], got[1], mtime)
        self.masks_updated += 1
        if not known and not in_val:
            self.added.add(image_id)
        return not in_val

    @staticmethod
    def _blank(cache: SampleCache, image_id: str) -> None:
        for s in cache.samples:  # kept in place (indices of this epoch's order stay valid), all unlabeled
            if s.image_id == image_id:
                s.mask = torch.full_like(s.mask, IGNORE_INDEX)

    def rows_for(self, batch: int, step: int) -> int:
        """How many rows of this step's batch are corrective (0 when no edited region is active)."""
        if not self.emphasis.active():
            return 0
        return self.emphasis.rows_for(batch, step)

    def draw(self, n: int, crop: int, scale_range: tuple[float, float],
             draws_per_sample: int) -> tuple[list[int], torch.Tensor, list[EmphasisRow]]:
        """(cache indices, (n, draws) tensor, rows) of ``n`` crops covering edited regions."""
        index = {s.image_id: i for i, s in enumerate(self.train.samples)}
        sizes = {s.image_id: (int(s.image.shape[1]), int(s.image.shape[2])) for s in self.train.samples}
        rows = self.emphasis.draw(n, sizes, crop, scale_range, draws_per_sample)
        draws = torch.from_numpy(np.array([r.draws for r in rows], dtype=np.float64).reshape(len(rows), draws_per_sample))
        return [index[r.image_id] for r in rows], draws, rows
