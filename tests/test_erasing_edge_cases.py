"""Edge cases of the core: tables of small inputs with the answer worked out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from detaug.erasing import ErasePlan, ErasingParams, apply_plan, box_interior, box_visibility, sample_plan

ALWAYS = dict(image_p=1.0, object_p=1.0)


# (case, image (h, w), boxes, mode, expected sources of the regions)
BOX_CASES = [
    ("no boxes, ORE is a no-op", (50, 60), np.zeros((0, 4)), "ore", []),
    ("boxes=None, ORE is a no-op", (50, 60), None, "ore", []),
    ("box fully outside the image", (50, 60), np.array([[70.0, 10, 90, 40]]), "ore", []),
    ("degenerate box: 0.5 px wide", (50, 60), np.array([[10.2, 10, 10.7, 40]]), "ore", []),
    ("degenerate box: zero height", (50, 60), np.array([[10.0, 20, 40, 20]]), "ore", []),
    ("box partly outside, clipped", (50, 60), np.array([[-20.0, -10, 30, 25]]), "ore", [0]),
    ("inverted box gets nothing", (50, 60), np.array([[40.0, 40, 10, 10]]), "ore", []),
    ("extra columns (labels) ignored", (50, 60), np.array([[5.0, 5, 45, 45, 3, 1]]), "ore", [0]),
    ("image region plus one per box", (50, 60), np.array([[5.0, 5, 45, 45], [0, 0, 60, 50]]), "i+ore", [-1, 0, 1]),
]


@pytest.mark.parametrize("case,size,boxes,mode,sources", BOX_CASES, ids=[c[0] for c in BOX_CASES])
def test_box_cases(case, size, boxes, mode, sources):
    plan = sample_plan(size, boxes, ErasingParams(mode=mode, **ALWAYS), rng=0)
    assert plan.source.tolist() == sources
    h, w = size
    assert ((plan.rects >= 0).all() and (plan.rects[:, [2]] <= w).all() and (plan.rects[:, [3]] <= h).all())


def test_clipped_box_region_stays_in_the_visible_part():
    for seed in range(50):
        plan = sample_plan((50, 60), np.array([[-20.0, -10, 30, 25]]), ErasingParams(mode="ore", **ALWAYS), rng=seed)
        x1, y1, x2, y2 = plan.rects[0]
        assert x1 >= 0 and y1 >= 0 and x2 <= 30 and y2 <= 25


# (case, image size, params, expect a region)
IMAGE_CASES = [
    ("1x1 image: no size rounds to a pixel at s_h=0.2", (1, 1), dict(mode="ire"), False),
    ("scale (1, 1), ratio (1, 1) erases the whole square image", (8, 8), dict(mode="ire", scale=(1, 1), ratio=(1, 1)), True),
    ("zero-sized image", (0, 10), dict(mode="ire"), False),
]


@pytest.mark.parametrize("case,size,kwargs,expect", IMAGE_CASES, ids=[c[0] for c in IMAGE_CASES])
def test_image_cases(case, size, kwargs, expect):
    plan = sample_plan(size, None, ErasingParams(**kwargs, **ALWAYS), rng=0)
    assert (len(plan) > 0) == expect


def test_whole_image_erased_with_full_scale():
    plan = sample_plan((8, 8), None, ErasingParams(mode="ire", scale=(1, 1), ratio=(1, 1), fill=0, **ALWAYS), rng=0)
    assert plan.rects.tolist() == [[0, 0, 8, 8]]
    assert (apply_plan(np.full((8, 8, 3), 9, np.uint8), plan) == 0).all()


# ----------------------------------------------------------------------------- kernels

PLAN = ErasePlan(np.array([[1, 1, 3, 4]]), np.array([-1]), fill="random", seed=5, image_size=(6, 5))


@pytest.mark.parametrize(
    "shape", [(6, 5), (6, 5, 1), (6, 5, 3), (6, 5, 4)], ids=["2-D gray", "1 channel", "3 channels", "4 channels"]
)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_kernel_channels_and_dtypes(shape, dtype):
    image = np.zeros(shape, dtype)
    out = apply_plan(image, PLAN)
    assert out.shape == shape and out.dtype == dtype
    region = out[1:4, 1:3]
    assert region.any() and not out[0].any() and not out[:, 0].any()
    if dtype == np.float32:
        assert region.min() >= 0 and region.max() < 1
    chw = (shape[2],) + shape[:2] if len(shape) == 3 else shape
    tensor = torch.zeros(chw, dtype=torch.uint8 if dtype == np.uint8 else torch.float32)
    out_t = apply_plan(tensor, PLAN)
    assert out_t.shape == tensor.shape and out_t.dtype == tensor.dtype
    assert out_t[..., 1:4, 1:3].any() and not out_t[..., 0, :].any()


def test_uint8_random_fill_spans_the_whole_range():
    plan = ErasePlan(np.array([[0, 0, 100, 100]]), np.array([-1]), fill="random", seed=1, image_size=(100, 100))
    out = apply_plan(np.zeros((100, 100, 3), np.uint8), plan)
    assert out.min() == 0 and out.max() == 255
    out_t = apply_plan(torch.zeros(3, 100, 100, dtype=torch.uint8), plan)
    assert out_t.min() == 0 and out_t.max() == 255


# (case, fill, image, expected value at an erased pixel or exception)
FILL_CASES = [
    ("constant number", 7, np.zeros((4, 4, 3), np.uint8), [7, 7, 7]),
    ("per-channel", (1, 2, 3), np.zeros((4, 4, 3), np.uint8), [1, 2, 3]),
    ("uint8 constant out of range", 300, np.zeros((4, 4, 3), np.uint8), ValueError),
    ("uint8 negative constant", -1, np.zeros((4, 4, 3), np.uint8), ValueError),
    ("float16 constant beyond its max", 1e5, np.zeros((4, 4, 3), np.float16), ValueError),
    ("uint8 constant rounded half to even", 124.5, np.zeros((4, 4, 3), np.uint8), [124, 124, 124]),
    ("float mean", (0.5, 0.25), np.zeros((4, 4, 2), np.float32), [0.5, 0.25]),
    ("per-channel length mismatch", (1, 2), np.zeros((4, 4, 3), np.uint8), ValueError),
    ("normal fill on uint8", "random_normal", np.zeros((4, 4, 3), np.uint8), TypeError),
]


@pytest.mark.parametrize("case,fill,image,expected", FILL_CASES, ids=[c[0] for c in FILL_CASES])
def test_fill_cases(case, fill, image, expected):
    plan = ErasePlan(np.array([[0, 0, 2, 2]]), np.array([-1]), fill=fill, seed=0, image_size=(4, 4))
    tensor = torch.from_numpy(image).permute(2, 0, 1).contiguous()
    if isinstance(expected, type):
        with pytest.raises(expected, match="fill|channel"):
            apply_plan(image, plan)
        with pytest.raises(expected, match="fill|channel"):
            apply_plan(tensor, plan)
        return
    np.testing.assert_allclose(apply_plan(image, plan)[1, 1], expected)
    np.testing.assert_allclose(apply_plan(tensor, plan)[:, 1, 1].numpy(), expected)
    assert not apply_plan(image, plan)[3, 3].any()


@pytest.mark.parametrize("fill", ["random_color", "random_color_normal"])
def test_random_color_is_one_colour_per_region(fill):
    plan = ErasePlan(np.array([[0, 0, 3, 3], [5, 5, 8, 8]]), np.array([-1, 0]), fill=fill, seed=3, image_size=(8, 8))
    for out in (apply_plan(np.zeros((8, 8, 3), np.float32), plan), apply_plan(torch.zeros(3, 8, 8), plan).permute(1, 2, 0).numpy()):
        first, second = out[0:3, 0:3].reshape(-1, 3), out[5:8, 5:8].reshape(-1, 3)
        assert (first == first[0]).all() and (second == second[0]).all()
        assert not np.array_equal(first[0], second[0])


def test_random_normal_fill_statistics():
    plan = ErasePlan(np.array([[0, 0, 200, 200]]), np.array([-1]), fill="random_normal", seed=0, image_size=(200, 200))
    out = apply_plan(np.zeros((200, 200, 3), np.float32), plan)
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02


def test_plan_for_another_size_is_rejected():
    with pytest.raises(ValueError, match="plan was drawn"):
        apply_plan(np.zeros((5, 5), np.uint8), PLAN)


def test_inplace_kernels_write_into_the_input():
    image = np.zeros((6, 5, 3), np.uint8)
    assert apply_plan(image, PLAN, inplace=True) is image and image.any()
    tensor = torch.zeros(3, 6, 5)
    assert apply_plan(tensor, PLAN, inplace=True) is tensor and tensor.any()


def test_batched_tensor_gets_the_same_regions_in_every_image():
    out = apply_plan(torch.zeros(2, 3, 6, 5), ErasePlan(PLAN.rects, PLAN.source, 1.0, 0, (6, 5)))
    assert (out[:, :, 1:4, 1:3] == 1).all() and out.sum() == 2 * 3 * 6


def test_plan_round_trips_through_a_dict():
    plan = sample_plan((40, 50), np.array([[1.0, 2, 30, 35]]), ErasingParams(fill=(1, 2, 3), **ALWAYS), rng=4)
    assert ErasePlan.from_dict(plan.to_dict()) == plan
    import json

    assert ErasePlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


# ----------------------------------------------------------------------------- visibility

# (case, boxes, rects, expected visibility)
VISIBILITY_CASES = [
    ("untouched", [[0, 0, 10, 10]], [[12, 12, 20, 20]], [1.0]),
    ("half covered", [[0, 0, 10, 10]], [[0, 0, 5, 10]], [0.5]),
    ("overlapping regions counted once", [[0, 0, 10, 10]], [[0, 0, 6, 10], [4, 0, 8, 10]], [0.2]),
    ("fully covered", [[2, 2, 4, 4]], [[0, 0, 10, 10]], [0.0]),
    ("box outside the image", [[50, 50, 60, 60]], [[0, 0, 10, 10]], [1.0]),
    ("fractional box", [[0.5, 0, 2.5, 1]], [[0, 0, 1, 1]], [0.75]),
]


@pytest.mark.parametrize("case,boxes,rects,expected", VISIBILITY_CASES, ids=[c[0] for c in VISIBILITY_CASES])
def test_visibility_cases(case, boxes, rects, expected):
    plan = ErasePlan(np.array(rects), np.full(len(rects), -1), image_size=(20, 20))
    np.testing.assert_allclose(box_visibility(np.array(boxes, float), plan), expected)


# box -> (whole-pixel interior, clipped area), worked by hand on a 10 x 10 image
INTERIORS = [
    ([0.2, 0.0, 9.9, 5.0], (1, 0, 9, 5), 9.7 * 5.0),
    ([-3.0, 2.0, 4.0, 12.0], (0, 2, 4, 10), 4.0 * 8.0),  # clipped to the image first
    ([1.0000001, 2.0, 3.9999999, 4.0], (1, 2, 4, 4), 2.9999998 * 2.0),  # edges within EDGE_EPS snap
    ([2.5, 2.5, 3.4, 8.0], None, 0.9 * 5.5),  # under one whole pixel wide
]


@pytest.mark.parametrize("box, interior, area", INTERIORS)
def test_box_interior_is_the_whole_pixels_inside_the_clipped_box(box, interior, area):
    got_interior, got_area = box_interior(box, 10, 10)
    assert got_interior == interior and got_area == pytest.approx(area)


# ----------------------------------------------------------------------------- validation

# (argument, bad value) -> ValueError naming the argument
INVALID = [
    ("mode", "iore"),
    ("mode", None),
    ("image_p", 1.5),
    ("object_p", -0.1),
    ("image_p", True),
    ("scale", (0.3, 0.1)),
    ("scale", (0.1, 1.5)),
    ("scale", (-0.1, 0.2)),
    ("scale", 0.2),
    ("ratio", (0.0, 1.0)),
    ("ratio", (3.0, 0.3)),
    ("ratio", (float("nan"), 1.0)),
    ("ratio_sampling", "gaussian"),
    ("max_attempts", 0),
    ("max_attempts", 2.5),
    ("fill", "noise"),
    ("fill", []),
    ("fill", float("inf")),
    ("fill_mask", "random"),
    ("count", 0),
    ("count", (3, 1)),
    ("min_visibility", 2.0),
]


@pytest.mark.parametrize("name,value", INVALID, ids=[f"{n}={v!r}" for n, v in INVALID])
def test_invalid_arguments_name_the_argument_in_every_front_end(name, value):
    import detaug
    from detaug.tv import BoxAwareRandomErasing as TVErasing

    for build in (ErasingParams, detaug.BoxAwareRandomErasing, TVErasing):
        with pytest.raises(ValueError, match=name) as info:
            build(**{name: value})
        assert repr(value)[:10] in str(info.value) or str(value) in str(info.value)


def test_unknown_mode_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"\('ire', 'ore', 'i\+ore'\)"):
        ErasingParams(mode="both")


@pytest.mark.parametrize("p", [-0.1, 1.1, "0.5"])
def test_invalid_p_in_front_ends(p):
    import detaug
    from detaug.tv import BoxAwareRandomErasing as TVErasing

    for cls in (detaug.BoxAwareRandomErasing, TVErasing):
        with pytest.raises(ValueError, match="p must be"):
            cls(p=p)


# ----------------------------------------------------------------------------- values drawn on an accelerator
# (run here with a CPU torch.Generator: the function only uses the generator's device)


@pytest.mark.parametrize(
    "fill, dtype, low, high",
    [("random", torch.float32, 0.0, 1.0), ("random", torch.uint8, 0, 255), ("random", torch.int64, 0, 2**63 - 2),
     ("random", torch.bool, 0, 1), ("random_color", torch.uint8, 0, 255), ("random_normal", torch.float16, -10, 10)],
)
def test_torch_region_values_span_the_dtypes_range(fill, dtype, low, high):
    from detaug.erasing.fill import resolve_fill, torch_region_values
    from detaug.erasing.kernels import _numpy_dtype

    resolved = resolve_fill(fill, _numpy_dtype(dtype), 3)
    values = torch_region_values(resolved, torch.Generator().manual_seed(0), dtype, (3, 40, 50))
    assert values.dtype == dtype
    assert values.shape == ((3, 1, 1) if fill == "random_color" else (3, 40, 50))
    as_float = values.double()
    assert low <= float(as_float.min()) and float(as_float.max()) <= high
    if dtype == torch.uint8 and fill == "random":
        assert int(values.max()) == 255 and int(values.min()) == 0  # the whole range is reached
