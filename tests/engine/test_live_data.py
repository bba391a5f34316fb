"""Live training: a mask saved mid-epoch joins the training draw at once; previews come on a time basis."""

from __future__ import annotations

import random
import threading
import time

import numpy as np
import pytest
import torch

from segstudio.engine.config import LIVE_EPOCHS
from segstudio.engine.data import AugmentParams, Augmenter, SampleCache, read_labeled
from segstudio.engine.live_data import CorrectiveEmphasis, LiveData, covering_draws
from segstudio.engine.trainer import Trainer


def _wait(predicate, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_a_mask_saved_mid_epoch_is_drawn_before_the_epoch_ends_and_previews_follow_the_clock(
        tiny_project, tiny_config, recorder):
    every = 0.4
    unlabeled = tiny_project.list_images()[-1]
    new_id = tiny_project.image_id(unlabeled)
    assert not tiny_project.has_mask(unlabeled)
    other = tiny_project.image_id(tiny_project.labeled_images()[0])
    asked = {}

    class SlowSteps:  # each step takes at least 20 ms; at step 30 the user shows another image
        def on_step(self, ev):
            time.sleep(0.02)
            if ev.global_step == 30:
                asked["step"] = ev.global_step
                trainer.set_preview_image(other)

    live = LiveData()
    cfg = tiny_config(epochs=LIVE_EPOCHS, steps_per_epoch=100_000, watch_project=True, preview_every_s=every,
                      scheduler="none")
    trainer = Trainer(tiny_project, cfg, [recorder, SlowSteps()], live_data=live)
    assert trainer.live_data is live
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("end", trainer.run()))
    thread.start()
    try:
        assert _wait(lambda: len(recorder.of("on_step")) >= 3)
        assert new_id not in trainer.train_ids
        # the GUI saves a stroke (class 1 in a 12 x 10 box, the rest unlabeled) and tells the trainer
        mask = np.full((64, 64), 255, np.uint8)
        mask[40:50, 20:32] = 1
        tiny_project.write_mask(unlabeled, mask)
        marked_at = recorder.of("on_step")[-1].global_step
        live.mark_changed(new_id, (20, 40, 32, 50))
        assert _wait(lambda: recorder.of("on_live_data"))
        assert _wait(lambda: any(p.image_id == other for p in recorder.of("on_preview")))
        assert _wait(lambda: len(recorder.of("on_preview")) >= 6)
    finally:
        trainer.cancel()
        thread.join(60)
    assert not thread.is_alive() and result["end"].status == "cancelled"
    picked = recorder.of("on_live_data")[0]
    assert picked.image_id == new_id and picked.new_image and picked.box == (20, 40, 32, 50)
    assert marked_at < picked.global_step <= marked_at + 5  # between steps, not at the next epoch
    assert not recorder.of("on_epoch_end")  # all within the first epoch
    assert new_id in trainer.train_ids and new_id not in trainer.val_ids
    assert trainer.live.emphasis.rows_drawn >= 1

    previews = recorder.of("on_preview")
    asked_preview = next(p for p in previews if p.image_id == other)
    assert asked_preview.global_step == asked["step"] + 1  # at the next step boundary, not after the interval
    timed = [p for p in previews if p is not asked_preview]
    gaps = np.diff([p.wall_time for p in timed])
    assert len(timed) >= 5 and (gaps >= every * 0.95).all(), gaps  # at most one every `every` s of training
    steps = [p.global_step for p in previews]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    assert all(p.mask.shape == (64, 64) and p.epoch == 0 for p in previews)
    assert len(previews) < len(recorder.of("on_step")) / 4  # not one per step


def test_corrective_crops_cover_the_edited_box(tiny_project):
    path = tiny_project.list_images()[-1]
    mask = np.full((64, 64), 255, np.uint8)
    mask[5:9, 50:60] = 2  # a small stroke near a corner
    tiny_project.write_mask(path, mask)
    got = read_labeled(tiny_project, path, None, lambda m: None)
    assert got is not None
    cache = SampleCache(torch.device("cpu"))
    cache.set_samples([("x", got[0], got[1], 0.0)])
    params = AugmentParams(crop=24, scale_range=(0.75, 1.33))
    aug = Augmenter(params, torch.device("cpu"), [0.5] * 3, [0.25] * 3)
    rng = random.Random(3)
    draws = torch.tensor([covering_draws((50, 5, 60, 9), 64, 64, 24, params.scale_range, aug.draws_per_sample, rng)
                          for _ in range(32)], dtype=torch.float64)
    _, y = aug.batch(cache, [0] * 32, draws)
    stroke_pixels = (y == 2).sum(dim=(1, 2))
    assert (stroke_pixels >= 20).all(), stroke_pixels  # every crop holds the whole 40-pixel stroke (scaled by 0.75-1.33)
    plain = torch.rand((32, aug.draws_per_sample), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    _, y_plain = aug.batch(cache, [0] * 32, plain)
    assert int(((y_plain == 2).sum(dim=(1, 2)) >= 20).sum()) < 16, (y_plain == 2).sum(dim=(1, 2))  # random crops mostly miss it


def test_emphasis_takes_a_share_of_the_batch_and_ends():
    em = CorrectiveEmphasis(seed=0, share=0.3, samples=5, seconds=60.0)
    assert not em.active() and em.rows_for(8, 0) == 0
    em.add("a.png", (0, 0, 10, 10))
    assert em.active() and em.rows_for(8, 0) == 2 and em.rows_for(2, 0) == 1
    rows = em.draw(5, {"a.png": (64, 64)}, 16, (1.0, 1.0), 8)
    assert [r.first for r in rows] == [True, False, False, False, False]
    assert not em.active()  # its 5 crops are spent: the batch is all normal order again
    em.add("b.png", None, now=0.0)
    assert not em.active(now=61.0)  # and an edit is emphasised for at most `seconds`


def test_live_data_refuses_a_bad_box_and_hands_edits_over_once():
    live = LiveData()
    with pytest.raises(ValueError, match="empty box"):
        live.mark_changed("a.png", (5, 5, 5, 9))
    live.mark_changed("a.png", (1, 2, 3, 4))
    live.mark_changed("b.png")
    assert live.has_edits()
    assert [(e.image_id, e.box) for e in live.take_edits()] == [("a.png", (1, 2, 3, 4)), ("b.png", None)]
    assert not live.has_edits() and live.take_edits() == []
    live.set_preview_image("a.png")
    assert live.take_preview_request() and not live.take_preview_request()
    live.set_preview_image("a.png")
    assert not live.take_preview_request() and live.preview_image == "a.png"
