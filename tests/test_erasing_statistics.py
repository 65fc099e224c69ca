"""Statistical checks over many draws: the sampler follows Algorithm 1 and the stated probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from detaug.erasing import ErasingParams, sample_plan

H, W = 200, 300
N_DRAWS = 3000


def _draw(params, boxes=None, n=N_DRAWS, seed=0):
    rng = np.random.default_rng(seed)
    return [sample_plan((H, W), boxes, params, rng) for _ in range(n)]


def _hw(plans, image_level):
    rects = np.concatenate([p.rects[(p.source == -1) == image_level] for p in plans])
    return rects[:, 3] - rects[:, 1], rects[:, 2] - rects[:, 0]


def test_ire_area_fraction_and_aspect_ratio_within_range():
    params = ErasingParams(mode="ire", image_p=1.0)
    h, w = _hw(_draw(params), image_level=True)
    frac = h * w / (H * W)
    # Rounding each side to whole pixels moves the area by a few percent at most here.
    assert frac.min() >= 0.02 * (1 - 0.12) and frac.max() <= 0.2 * (1 + 0.06)
    # The smallest side is that of the smallest area at the most extreme ratio.
    assert min(h.min(), w.min()) >= np.floor(np.sqrt(0.02 * H * W * 0.3))
    ratio = h / w
    assert ratio.min() >= 0.3 * 0.9 and ratio.max() <= (1 / 0.3) * 1.1
    # Area is uniform in [s_l, s_h]: mean near 0.11 (every size fits in this image).
    assert abs(frac.mean() - 0.11) < 0.005


@pytest.mark.parametrize("sampling,expected_tall", [("uniform", (1 / 0.3 - 1) / (1 / 0.3 - 0.3)), ("log", 0.5)])
def test_aspect_ratio_sampling_uniform_vs_log(sampling, expected_tall):
    # Uniform in [0.3, 3.33] puts 77% of regions taller than wide; log-uniform 50%.
    params = ErasingParams(mode="ire", image_p=1.0, scale=(0.02, 0.05), ratio_sampling=sampling)
    h, w = _hw(_draw(params), image_level=True)
    tall = np.mean(h > w) + 0.5 * np.mean(h == w)
    assert abs(tall - expected_tall) < 0.04


def test_positions_cover_every_place_the_region_fits():
    params = ErasingParams(mode="ire", image_p=1.0, scale=(0.25, 0.25), ratio=(1.0, 1.0))
    plans = _draw(params, n=2000)
    rects = np.concatenate([p.rects for p in plans])
    side = round(np.sqrt(0.25 * H * W))
    assert (rects[:, 2] - rects[:, 0] == side).all()
    x1 = rects[:, 0]
    assert x1.min() <= 3 and W - side - 3 <= x1.max() <= W - side
    # Uniform: the mean offset is half the free range.
    assert abs(x1.mean() - (W - side) / 2) < 0.05 * (W - side)


def test_ore_regions_inside_boxes_with_area_fraction_of_the_box():
    boxes = np.array([[10.0, 20.0, 110.0, 100.0], [150.5, 30.25, 290.0, 190.75], [5, 150, 45, 195]])
    params = ErasingParams(mode="ore", object_p=1.0)
    plans = _draw(params, boxes, n=1500)
    box_area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for plan in plans:
        for (x1, y1, x2, y2), src in zip(plan.rects, plan.source):
            bx1, by1, bx2, by2 = boxes[src]
            assert bx1 <= x1 < x2 <= bx2 and by1 <= y1 < y2 <= by2
            frac = (x2 - x1) * (y2 - y1) / box_area[src]
            assert 0.02 * 0.6 <= frac <= 0.2 * 1.35  # rounding matters more in a 40x45 box
    counts = np.bincount(np.concatenate([p.source for p in plans]), minlength=3)
    assert (counts >= 1500 * 0.97).all()  # large boxes almost always fit within 100 attempts


@pytest.mark.parametrize("image_p,object_p", [(0.5, 0.5), (0.2, 0.8)])
def test_erasing_frequency_matches_probabilities(image_p, object_p):
    boxes = np.array([[10.0, 10.0, 90.0, 90.0], [100.0, 50.0, 250.0, 180.0]])
    params = ErasingParams(mode="i+ore", image_p=image_p, object_p=object_p)
    plans = _draw(params, boxes, n=4000, seed=1)
    image_freq = np.mean([(p.source == -1).any() for p in plans])
    box_freq = np.mean([[(p.source == k).any() for k in range(2)] for p in plans], axis=0)
    # Binomial standard deviation is at most 0.008 for 4000 draws: allow 5 of them.
    assert abs(image_freq - image_p) < 0.04
    assert np.all(np.abs(box_freq - object_p) < 0.04)
    # Image-level and object-level decisions are independent.
    both = np.mean([(p.source == -1).any() and (p.source == 0).any() for p in plans])
    assert abs(both - image_p * object_p) < 0.04


def test_several_image_regions_split_the_area_by_count():
    params = ErasingParams(mode="ire", image_p=1.0, count=(1, 3), scale=(0.1, 0.1), ratio=(1, 1))
    plans = _draw(params, n=1500)
    counts = np.array([len(p) for p in plans])
    assert set(np.unique(counts)) == {1, 2, 3}
    assert all(abs(np.mean(counts == k) - 1 / 3) < 0.05 for k in (1, 2, 3))
    for plan in plans[:200]:
        expected = 0.1 * H * W / len(plan)
        assert np.allclose(plan.areas, expected, rtol=0.06)


def test_sampling_gives_up_after_max_attempts():
    # A 5x5 box with s_h = 0.008 wants regions of under 0.2 pixel: no size rounds to 1x1.
    params = ErasingParams(mode="ore", object_p=1.0, scale=(0.001, 0.008), max_attempts=3)
    plans = _draw(params, np.array([[0.0, 0.0, 5.0, 5.0]]), n=200)
    assert all(len(p) == 0 for p in plans)


def test_more_attempts_find_a_fit_more_often():
    # In a 100x4 box most tall candidates do not fit; retries rescue them.
    box = np.array([[0.0, 0.0, 100.0, 4.0]])
    found = {}
    for attempts in (1, 100):
        params = ErasingParams(mode="ore", object_p=1.0, max_attempts=attempts)
        found[attempts] = np.mean([len(p) for p in _draw(params, box, n=1000)])
    assert found[1] < 0.6
    assert found[100] > 0.99
