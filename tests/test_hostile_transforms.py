"""Hostile and odd inputs to the transforms (issue 11): each is a clear error or a correct result."""

import warnings

import albumentations as A
import numpy as np
import pytest
import torch
from torchvision import tv_tensors

import detaug
from detaug import BatchedBoxAwareRandomErasing
from detaug.erasing import ErasePlan, ErasingParams, apply_plan, erase_batch, sample_plan
from detaug.tv import BoxAwareRandomErasing as TVErasing

ALWAYS = dict(image_p=1.0, object_p=1.0)
BOX = [[4.0, 4.0, 28.0, 20.0]]


def _plan(fill, size=(8, 8)):
    return ErasePlan(np.array([[0, 0, 4, 4]]), np.array([-1]), fill=fill, seed=1, image_size=size)


# --------------------------------------------------------------------------- fills and dtypes


@pytest.mark.parametrize("fill", ["random", "random_color"])
def test_int64_images_take_random_fills_everywhere(fill):
    image = torch.zeros(3, 24, 32, dtype=torch.int64)
    params = ErasingParams(mode="ire", fill=fill, **ALWAYS)
    out_np = apply_plan(image.permute(1, 2, 0).numpy(), sample_plan((24, 32), None, params, 0))
    out_t = TVErasing(mode="ire", fill=fill, **ALWAYS)(image)
    out_b, _ = erase_batch(image[None], None, params)
    for out in (torch.from_numpy(out_np), out_t, out_b):
        assert out.dtype == torch.int64 and out.min() >= 0 and (out != 0).any()


@pytest.mark.parametrize(
    "fill, make",
    [
        (1e5, lambda: np.zeros((8, 8, 3), np.float16)),  # float16 max is 65504: numpy wrote inf
        (1e5, lambda: torch.zeros(3, 8, 8, dtype=torch.float16)),  # torch crashed inside
        (1e300, lambda: torch.zeros(3, 8, 8, dtype=torch.float32)),
        (1e300, lambda: np.zeros((8, 8), np.float32)),
        (-1, lambda: np.zeros((8, 8, 3), np.uint8)),
        (256, lambda: torch.zeros(1, 8, 8, dtype=torch.uint8)),
    ],
)
def test_constant_out_of_the_dtype_range_names_fill_and_dtype(fill, make):
    with pytest.raises(ValueError, match=r"fill .* outside the range of (float16|float32|uint8)"):
        apply_plan(make(), _plan(fill))


def test_out_of_range_constant_in_the_batched_path_and_front_ends():
    with pytest.raises(ValueError, match="outside the range of float16"):
        erase_batch(torch.zeros(1, 3, 8, 8, dtype=torch.float16), None, ErasingParams(mode="ire", fill=1e5, **ALWAYS))
    with pytest.raises(ValueError, match="outside the range of uint8"):
        TVErasing(mode="ire", fill=300, **ALWAYS)(torch.zeros(3, 8, 8, dtype=torch.uint8))


# --------------------------------------------------------------------------- boxes of the wrong shape


@pytest.mark.parametrize(
    "boxes",
    [np.zeros((13, 3)), np.zeros((2, 3)), np.array([1.0, 2.0, 3.0, 4.0]), np.zeros((2, 2, 4))],
    ids=["13x3", "2x3", "flat", "3-D"],
)
def test_core_boxes_of_the_wrong_shape_name_the_expected_shape(boxes):
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        sample_plan((32, 32), boxes, ErasingParams(mode="ore", object_p=1.0), 0)


def test_nan_boxes_are_an_error_not_silently_skipped():
    with pytest.raises(ValueError, match="finite"):
        sample_plan((32, 32), np.array([[np.nan, 0, 4, 4]]), ErasingParams(mode="ore"), 0)


@pytest.mark.parametrize("shape, fmt", [((2, 5), "XYXY"), ((16, 3), "XYXY"), ((2, 4), "XYWHR")])
def test_torchvision_boxes_whose_shape_does_not_fit_their_format(shape, fmt):
    boxes = torch.zeros(shape).as_subclass(tv_tensors.BoundingBoxes)
    boxes.format, boxes.canvas_size = tv_tensors.BoundingBoxFormat[fmt], (32, 32)
    with pytest.raises(ValueError, match=rf"format {fmt} must have shape \(N, \d\)"):
        TVErasing(**ALWAYS)(tv_tensors.Image(torch.zeros(3, 32, 32)), {"boxes": boxes})


def test_torchvision_keypoints_pass_through_unchanged():
    keypoints = tv_tensors.KeyPoints([[1.0, 2.0], [10.0, 12.0]], canvas_size=(48, 64))
    boxes = tv_tensors.BoundingBoxes([[4, 4, 40, 30]], format="XYXY", canvas_size=(48, 64))
    image, target = TVErasing(**ALWAYS)(tv_tensors.Image(torch.zeros(3, 48, 64)), {"boxes": boxes, "kp": keypoints})
    assert target["kp"] is keypoints and image.shape == (3, 48, 64)


@pytest.mark.parametrize("key", ["boxes", "bboxes"])
def test_torchvision_plain_tensor_boxes_are_named_with_a_warning(key):
    # torchvision v2 sees boxes only in tv_tensors.BoundingBoxes: a plain tensor is no box,
    # so ORE has nothing to erase. Say so, once per transform, instead of erasing nothing silently.
    tf = TVErasing(mode="ore", object_p=1.0)
    image = tv_tensors.Image(torch.ones(3, 32, 32))
    with pytest.warns(UserWarning, match=r"plain tensors are not boxes to torchvision v2.*tv_tensors\.BoundingBoxes") as rec:
        out, _ = tf(image, {key: torch.tensor(BOX), "labels": torch.tensor([1])})
        tf(image, {key: torch.tensor(BOX), "labels": torch.tensor([1])})
    assert torch.equal(out, image) and len([w for w in rec if "plain tensors" in str(w.message)]) == 1


@pytest.mark.parametrize(
    "tf, target",
    [
        # real boxes: erased, nothing to say
        (TVErasing(mode="ore", object_p=1.0), {"boxes": tv_tensors.BoundingBoxes(BOX, format="XYXY", canvas_size=(32, 32))}),
        (TVErasing(mode="ire", image_p=1.0), {"boxes": torch.tensor(BOX)}),  # IRE does not read boxes
        (TVErasing(mode="ore", object_p=1.0), {"points": torch.tensor(BOX)}),  # not a key named like boxes
        (TVErasing(mode="ore", object_p=1.0), {"boxes": torch.zeros(2, 5)}),  # not [N, 4]
    ],
)
def test_torchvision_no_plain_boxes_warning_otherwise(tf, target):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tf(tv_tensors.Image(torch.ones(3, 32, 32)), target)


# --------------------------------------------------------------------------- arguments


def test_absurd_ratios_work_and_give_no_region():
    params = ErasingParams(mode="i+ore", ratio=(1e308, 1e308), **ALWAYS)
    assert len(sample_plan((32, 32), np.array(BOX), params, 0)) == 0
    params = ErasingParams(mode="i+ore", ratio=(1e-300, 1e-300), **ALWAYS)
    assert len(sample_plan((32, 32), np.array(BOX), params, 0)) == 0


@pytest.mark.parametrize("front_end", [ErasingParams, detaug.BoxAwareRandomErasing, TVErasing, BatchedBoxAwareRandomErasing])
def test_max_attempts_is_bounded_at_construction(front_end):
    with pytest.raises(ValueError, match=r"max_attempts must be an integer in \[1, 10000\]"):
        front_end(max_attempts=10**12)


def test_albumentations_per_class_keys_may_be_class_names():
    # keys mean classes: albumentations' internal re-encoding of string labels is undone
    # (the cases themselves are in tests/test_hostile_inputs_api.py)
    assert dict(detaug.BoxAwareRandomErasing(object_p={"cat": 1.0}).erasing.object_p)["cat"] == 1.0


# --------------------------------------------------------------------------- replaying hand-made plans


@pytest.mark.parametrize("rect", [[-2, 0, 3, 3], [0, 0, 9, 3], [5, 5, 3, 6]], ids=["negative", "past the edge", "inverted"])
def test_hand_made_regions_outside_the_image_are_rejected(rect):
    with pytest.raises(ValueError, match=r"not inside the image \(height, width\) \(8, 8\)"):
        ErasePlan(np.array([rect]), np.array([-1]), image_size=(8, 8))


def test_any_non_negative_seed_replays_on_numpy_and_torch():
    plan = ErasePlan(np.array([[0, 0, 4, 4]]), np.array([-1]), fill="random", seed=2**64 + 5, image_size=(8, 8))
    a = apply_plan(np.zeros((8, 8, 3), np.uint8), plan)
    b = apply_plan(torch.zeros(3, 8, 8, dtype=torch.uint8), plan)
    np.testing.assert_array_equal(a, b.permute(1, 2, 0).numpy())
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        ErasePlan.empty((8, 8), seed=-1)


# --------------------------------------------------------------------------- after a crop


def test_after_a_crop_the_source_indexes_the_boxes_the_step_received():
    tf = A.Compose(
        [A.Crop(x_min=20, y_min=0, x_max=64, y_max=48), detaug.BoxAwareRandomErasing(mode="ore", object_p=1.0)],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"], min_visibility=0.5),
        save_applied_params=True, seed=0,
    )
    boxes = [[0, 0, 10, 10], [30, 10, 60, 40], [22, 2, 44, 30]]  # the first one is cropped away
    out = tf(image=np.zeros((48, 64, 3), np.uint8), bboxes=boxes, labels=[1, 2, 3])
    params = dict(out["applied_transforms"])["BoxAwareRandomErasing"]
    received = params["boxes"]
    assert received.shape == (2, 4) and out["labels"] == [2, 3]
    np.testing.assert_allclose(received, [[10, 10, 40, 40], [2, 2, 24, 30]], atol=1e-4)
    for (x1, y1, x2, y2), source in zip(params["plan"].rects, params["plan"].source):
        bx1, by1, bx2, by2 = received[source]
        assert bx1 <= x1 and by1 <= y1 and x2 <= bx2 + 1e-6 and y2 <= by2 + 1e-6
