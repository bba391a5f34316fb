"""Data pipeline (split, cached crops, padding, flips), losses and confusion-matrix metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segstudio.engine.data import (AugmentParams, Augmenter, SampleCache, augment_draws, default_steps_per_epoch,
                                   rank_batch_rows, split_by_image)
from segstudio.engine.losses import build_loss, dice_loss
from segstudio.engine.metrics import confusion_matrix, metrics_from_confusion

MEAN, STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]


def test_split_is_seeded_disjoint_and_keeps_training_images():
    ids = [f"img{i}.png" for i in range(10)]
    a = split_by_image(ids, 0.2, seed=3)
    assert a == split_by_image(list(reversed(ids)), 0.2, seed=3)
    assert len(a[1]) == 2 and set(a[0]).isdisjoint(a[1]) and sorted(a[0] + a[1]) == sorted(ids)
    assert split_by_image(ids, 0.2, seed=4) != a
    assert split_by_image(["one.png"], 0.5, 0) == (["one.png"], [])
    assert len(split_by_image(["a", "b", "c"], 0.2, 0)[1]) == 1


def _cache(samples):
    cache = SampleCache(torch.device("cpu"))
    cache.set_samples([(f"s{i}", rgb, mask, 0.0) for i, (rgb, mask) in enumerate(samples)])
    return cache


def test_small_images_are_padded_with_unlabeled_masks():
    rgb = np.full((10, 12, 3), 200, np.uint8)
    mask = np.ones((10, 12), np.uint8)
    aug = Augmenter(AugmentParams(crop=32, scale_range=(1.0, 1.0), flips=False, color_jitter=0.0),
                    torch.device("cpu"), MEAN, STD)
    x, y = aug.batch(_cache([(rgb, mask)]), [0, 0, 0], torch.Generator().manual_seed(0))
    assert x.shape == (3, 3, 32, 32) and y.shape == (3, 32, 32) and y.dtype == torch.long
    assert int((y == 1).sum(dim=(1, 2))[0]) == 120  # the whole image is inside the crop
    assert set(torch.unique(y).tolist()) == {1, 255}
    image_px = x[:, 0][y == 1]
    assert torch.allclose(image_px, torch.full_like(image_px, (200 / 255 - 0.5) / 0.25), atol=1e-4)


def test_crops_keep_image_and_mask_aligned_under_scale_and_flip():
    # left half class 0 / dark, right half class 1 / bright: after any crop, scale and flip, labels follow pixels
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[:, 32:] = 255
    mask = np.zeros((64, 64), np.uint8)
    mask[:, 32:] = 1
    aug = Augmenter(AugmentParams(crop=24, scale_range=(0.5, 2.0), flips=True, color_jitter=0.0),
                    torch.device("cpu"), [0, 0, 0], [1, 1, 1])
    x, y = aug.batch(_cache([(rgb, mask)]), list(range(1)) * 16, torch.Generator().manual_seed(1))
    bright = x[:, 0] > 0.75
    dark = x[:, 0] < 0.25
    assert (y[bright] == 1).float().mean() > 0.97 and (y[dark & (y != 255)] == 0).float().mean() > 0.97


def test_same_generator_state_gives_same_batch():
    rng = np.random.default_rng(0)
    samples = [(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8), rng.integers(0, 3, (40, 50), dtype=np.uint8))
               for _ in range(3)]
    aug = Augmenter(AugmentParams(crop=16), torch.device("cpu"), MEAN, STD)
    cache = _cache(samples)
    a = aug.batch(cache, [0, 1, 2], torch.Generator().manual_seed(5))
    b = aug.batch(cache, [0, 1, 2], torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_rank_shares_of_a_global_batch_are_the_single_process_batch():
    # full augmentation (scaled crops that leave the image, flips, jitter): 2 processes with 3 rows
    # each see exactly the crops of 1 process with 6 rows, step after step
    rng = np.random.default_rng(2)
    samples = [(rng.integers(0, 255, (40 + 7 * i, 50, 3), dtype=np.uint8), rng.integers(0, 3, (40 + 7 * i, 50), dtype=np.uint8))
               for i in range(5)]
    aug = Augmenter(AugmentParams(crop=32, scale_range=(0.5, 1.5), flips=True, color_jitter=0.3),
                    torch.device("cpu"), MEAN, STD)
    cache = _cache(samples)
    order = [3, 1, 4, 0, 2, 2, 0, 1, 3, 4]
    for start in (0, 6, 12):  # the third global batch wraps around the order
        one_idx, one_draws = rank_batch_rows(order, 7, 2, start, 6, 0)
        x1, y1 = aug.batch(cache, one_idx, one_draws)
        shares = [rank_batch_rows(order, 7, 2, start, 3, r) for r in range(2)]
        assert [i for idx, _ in shares for i in idx] == one_idx
        parts = [aug.batch(cache, idx, draws) for idx, draws in shares]
        assert torch.equal(torch.cat([x for x, _ in parts]), x1) and torch.equal(torch.cat([y for _, y in parts]), y1)


def test_augment_draws_depend_only_on_seed_epoch_and_position():
    row = augment_draws(3, 1, [5])
    assert torch.equal(augment_draws(3, 1, range(2, 9))[3], row[0])  # not on the batch it is drawn in
    assert not torch.equal(augment_draws(3, 2, [5]), row)
    assert not torch.equal(augment_draws(4, 1, [5]), row)
    draws = augment_draws(0, 0, range(512))
    assert draws.shape == (512, 8) and 0.0 <= float(draws.min()) and float(draws.max()) < 1.0
    assert abs(float(draws.mean()) - 0.5) < 0.02  # neighbouring positions are not correlated streams
    assert abs(float(torch.corrcoef(torch.stack([draws[:-1, 1], draws[1:, 1]]))[0, 1])) < 0.15


def test_epoch_is_meaningful_for_three_images():
    cache = _cache([(np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64), np.uint8))] * 3)
    steps = default_steps_per_epoch(cache.samples, crop=64, global_batch=8)
    assert steps * 8 >= 64


def test_confusion_matrix_metrics_ignore_unlabeled():
    target = torch.tensor([[0, 0, 1, 1], [2, 2, 255, 255]])
    pred = torch.tensor([[0, 1, 1, 1], [2, 0, 2, 1]])
    cm = confusion_matrix(pred, target, 3)
    assert cm.sum() == 6
    m = metrics_from_confusion(cm)
    assert m.per_class_iou == pytest.approx([1 / 3, 2 / 3, 1 / 2])
    assert m.miou == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert m.pixel_acc == pytest.approx(4 / 6)
    assert m.per_class_dice[1] == pytest.approx(2 * 2 / (2 + 3))
    absent = metrics_from_confusion(confusion_matrix(torch.tensor([0, 0]), torch.tensor([0, 0]), 3))
    assert absent.per_class_iou == [1.0, None, None] and absent.miou == 1.0


def test_losses_ignore_unlabeled_pixels():
    target = torch.tensor([[[0, 1], [255, 255]]])
    good = torch.tensor([[[[9.0, -9.0], [0, 0]], [[-9.0, 9.0], [0, 0]]]])
    noisy = good.clone()
    noisy[:, :, 1, :] = torch.randn(2, 2) * 50  # unlabeled row: anything goes
    ce = build_loss("ce", 2, None, torch.device("cpu"))
    assert float(ce(noisy, target)) == pytest.approx(float(ce(good, target))) and float(ce(good, target)) < 1e-3
    assert float(dice_loss(noisy, target)) < 0.01
    assert float(build_loss("ce+dice", 2, [1.0, 2.0], torch.device("cpu"))(good, target)) < 0.01
    all_unlabeled = torch.full((1, 2, 2), 255)
    assert float(ce(noisy, all_unlabeled)) == 0.0


@pytest.mark.cuda
def test_gpu_augmentation_never_synchronises():
    device = torch.device("cuda", torch.cuda.current_device())
    rng = np.random.default_rng(0)
    cache = SampleCache(device)
    cache.set_samples([(f"s{i}", rng.integers(0, 255, (300, 400, 3), dtype=np.uint8),
                        rng.integers(0, 3, (300, 400), dtype=np.uint8), 0.0) for i in range(3)])
    assert cache.storage_device.type == "cuda"
    aug = Augmenter(AugmentParams(crop=256), device, MEAN, STD, channels_last=True)
    gen = torch.Generator().manual_seed(0)
    aug.batch(cache, [0, 1, 2], gen)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        x, y = aug.batch(cache, [0, 1, 2, 0], gen)  # raises if any step waits for the GPU
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert x.shape == (4, 3, 256, 256) and x.is_cuda and y.dtype == torch.long
