"""Test-time occluders cover the stated fraction of each object or of the image."""

from __future__ import annotations

import numpy as np
import pytest

from detaug.robustness import covered_fraction, occlude, occlusion_params, parse_levels

BOXES = np.array([[10.0, 10, 70, 60], [80, 20, 150, 110]])


@pytest.mark.parametrize("level", [0.1, 0.3, 0.5])
def test_object_occluders_cover_the_level_of_every_box(level):
    image = np.zeros((120, 160, 3), np.uint8)
    fracs = []
    for seed in range(30):
        _out, plan = occlude(image, BOXES, level, "object", rng=seed)
        assert sorted(plan.source.tolist()) == [0, 1]
        fracs.append(covered_fraction(BOXES, plan))
        assert not image.any()
    # Each box loses `level` of its area up to whole-pixel rounding.
    assert abs(np.mean(fracs) - level) < 0.02
    assert np.min(fracs) > level * 0.85 and np.max(fracs) < level * 1.15 + 0.01


def test_image_occluder_covers_the_level_of_the_image():
    image = np.zeros((100, 100, 3), np.float32)
    out, plan = occlude(image, None, 0.2, "image", rng=0, fill=1.0)
    assert (plan.source == -1).all() and abs(plan.areas.sum() / 1e4 - 0.2) < 0.02
    assert abs(out[..., 0].mean() - plan.areas.sum() / 1e4) < 1e-6


def test_level_zero_is_identity_and_bad_arguments_fail():
    image = np.ones((10, 10, 3), np.uint8)
    out, plan = occlude(image, BOXES, 0.0)
    assert out is image and len(plan) == 0
    with pytest.raises(ValueError, match="level"):
        occlusion_params(1.5)
    with pytest.raises(ValueError, match="kind"):
        occlusion_params(0.1, "pixels")
    with pytest.raises(ValueError, match="levels"):
        parse_levels("0.1,2")


def test_same_seed_same_occluders():
    a = occlude(np.zeros((120, 160, 3), np.uint8), BOXES, 0.3, rng=5)[0]
    b = occlude(np.zeros((120, 160, 3), np.uint8), BOXES, 0.3, rng=5)[0]
    assert np.array_equal(a, b)
