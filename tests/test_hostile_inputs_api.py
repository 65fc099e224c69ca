"""Hostile inputs to the Python API (issue 19, items 1-7, 9, 14, 15, 18): each case is the
right result or one clear message naming the argument and what to do."""

import json
import math
import warnings

import albumentations as A
import numpy as np
import pytest
import torch
from torchvision import tv_tensors

import detaug
from detaug import BatchedBoxAwareRandomErasing
from detaug.config import ConfigError, load_config
from detaug.erasing import ErasePlan, ErasingParams, box_visibility, sample_plan
from detaug.study.stats import paired_difference, t_quantile
from detaug.tv import BoxAwareRandomErasing as TVErasing
from detaug.vis import draw_sample, label_text

BBOX_PARAMS = dict(format="pascal_voc", label_fields=["labels"])


def _alb(**kwargs):
    return A.Compose([detaug.BoxAwareRandomErasing(mode="ore", **kwargs)], bbox_params=A.BboxParams(**BBOX_PARAMS),
                     save_applied_params=True, seed=0)


def _alb_plan(out):
    return dict(out["applied_transforms"])["BoxAwareRandomErasing"]["plan"]


def _recorded(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [str(w.message) for w in caught]


def _tv_sample(image, boxes, canvas, labels=(1,)):
    return image, {"boxes": tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=canvas),
                   "labels": torch.tensor(labels)}


# --------------------------------------------------------------------------- 1. image layout and canvas


def test_torchvision_refuses_a_channels_last_tensor():
    tf = TVErasing(mode="ore", object_p=1.0)
    with pytest.raises(ValueError, match=r"shape \(480, 640, 3\), which looks channels-last.*permute\(2, 0, 1\)"):
        tf(*_tv_sample(torch.ones(480, 640, 3), [[10, 10, 100, 100]], (480, 640)))
    with pytest.raises(ValueError, match="channels-last"):  # as a tv_tensors.Image too, and without boxes
        TVErasing(mode="ire")(tv_tensors.Image(torch.ones(480, 640, 3)))


@pytest.mark.parametrize("canvas, swapped", [((100, 100), False), ((640, 480), True)], ids=["other size", "swapped"])
def test_torchvision_refuses_a_canvas_size_that_is_not_the_image(canvas, swapped):
    tf = TVErasing(mode="ore", object_p=1.0)
    pattern = r"canvas_size \(\d+, \d+\) is not the image's \(height, width\) \(480, 640\)" + (".*swapped" if swapped else "")
    with pytest.raises(ValueError, match=pattern):
        tf(*_tv_sample(tv_tensors.Image(torch.ones(3, 480, 640)), [[10, 10, 100, 100]], canvas))


def test_torchvision_right_layout_still_erases_inside_the_box():
    tf = TVErasing(mode="ore", object_p=1.0, fill=0.0, plan_key="plan")
    out, target = tf(*_tv_sample(tv_tensors.Image(torch.ones(3, 48, 64)), [[10, 10, 40, 30]], (48, 64)))
    assert target["plan"].image_size == (48, 64) and target["plan"].source.tolist() == [0]
    assert (out == 0).any()


def test_batched_module_refuses_channels_last_images_and_a_wrong_canvas():
    module = BatchedBoxAwareRandomErasing(mode="ore", object_p=1.0, seed=0)
    with pytest.raises(ValueError, match="channels-last"):
        module([torch.ones(48, 64, 3)], [{"boxes": torch.tensor([[1.0, 1.0, 9.0, 9.0]])}])
    boxes = tv_tensors.BoundingBoxes([[1, 1, 9, 9]], format="XYXY", canvas_size=(100, 100))
    with pytest.raises(ValueError, match=r"targets\[0\]\).*canvas_size \(100, 100\)"):
        module([torch.ones(3, 48, 64)], [{"boxes": boxes}])


# --------------------------------------------------------------------------- 2. normalised boxes as pixels


def test_albumentations_warns_once_for_normalised_boxes_declared_as_pixels():
    tf = _alb(object_p=1.0)
    image = np.zeros((64, 64, 3), np.uint8)

    def twice():
        return [tf(image=image, bboxes=[[0.1, 0.1, 0.5, 0.5]], labels=[1]) for _ in range(2)]

    outs, messages = _recorded(twice)
    assert len(messages) == 1 and "within [0, 1]" in messages[0] and "format='albumentations'" in messages[0]
    assert len(_alb_plan(outs[0])) == 0  # the warning's reason: no region fits in a sub-pixel box


def test_sample_plan_and_torchvision_warn_for_normalised_boxes():
    params = ErasingParams(mode="ore", object_p=1.0)
    _, messages = _recorded(lambda: sample_plan((64, 64), [[0.1, 0.1, 0.5, 0.5]], params, rng=0))
    assert len(messages) == 1 and "normalised" in messages[0]
    tf = TVErasing(mode="ore", object_p=1.0)
    image = tv_tensors.Image(torch.ones(3, 64, 64))
    _, messages = _recorded(lambda: [tf(*_tv_sample(image, [[0.1, 0.1, 0.5, 0.5]], (64, 64))) for _ in range(3)])
    assert len(messages) == 1 and "multiply" in messages[0]


@pytest.mark.parametrize("box", [[0, 0, 1, 1], [2.5, 3.0, 40.0, 50.0]], ids=["one whole pixel", "pixels"])
def test_pixel_boxes_do_not_warn(box):
    params = ErasingParams(mode="ore", object_p=1.0)
    _, messages = _recorded(lambda: sample_plan((64, 64), [box], params, rng=0))
    assert messages == []


# --------------------------------------------------------------------------- 3. per-class keys mean classes


@pytest.mark.parametrize("labels", [["dog"], ["dog", "cat"], ["cat", "dog"], ["cat", "dog", "dog"]])
def test_albumentations_class_name_keys_follow_the_class(labels):
    tf = _alb(object_p={"dog": 1.0, "default": 0.0})
    boxes = [[1 + 20 * i, 1, 19 + 20 * i, 19] for i in range(len(labels))]
    out = tf(image=np.zeros((32, 80, 3), np.uint8), bboxes=boxes, labels=labels)
    assert sorted(_alb_plan(out).source.tolist()) == [i for i, label in enumerate(labels) if label == "dog"]
    assert out["labels"] == labels


def test_albumentations_protect_by_class_name():
    tf = A.Compose([detaug.BoxAwareRandomErasing(mode="ire", image_p=1.0, scale=(0.3, 0.3), protect=["dog"])],
                   bbox_params=A.BboxParams(**BBOX_PARAMS), save_applied_params=True, seed=0)
    out = tf(image=np.zeros((64, 64, 3), np.uint8), bboxes=[[0, 0, 20, 20], [30, 30, 60, 60]], labels=["cat", "dog"])
    plan = _alb_plan(out)
    assert plan.protected == ((1, 0.0),)
    assert box_visibility(np.array([[30.0, 30, 60, 60]]), plan).tolist() == [1.0]


@pytest.mark.parametrize("table, labels, pattern", [
    ({0: 1.0, "default": 0.0}, ["dog", "cat"], r"keyed by numbers \(0\) but the boxes' labels are class names.*'dog'"),
    ({"dog": 1.0}, [1, 2], r"keyed by class names \('dog'\) but the boxes' labels are numbers.*object_p=\{1: 1.0"),
], ids=["numbers for names", "names for numbers"])
def test_keys_of_the_wrong_kind_are_refused_saying_what_to_write(table, labels, pattern):
    tf = _alb(object_p=table)
    with pytest.raises(ValueError, match=pattern):
        tf(image=np.zeros((32, 64, 3), np.uint8), bboxes=[[1, 1, 20, 20], [30, 1, 60, 20]], labels=labels)
    with pytest.raises(ValueError, match=pattern.split(".*")[0]):
        sample_plan((32, 64), [[1, 1, 20, 20], [30, 1, 60, 20]], ErasingParams(mode="ore", object_p=table), labels=labels)


# --------------------------------------------------------------------------- 4. JSON round trips, training configs


def test_per_class_object_p_survives_a_json_round_trip(tmp_path):
    tf = A.Compose([detaug.BoxAwareRandomErasing(mode="ore", object_p={2: 1.0, "default": 0.0}, protect={3: 0.25})],
                   bbox_params=A.BboxParams(**BBOX_PARAMS))
    path = tmp_path / "pipeline.json"
    A.save(tf, str(path), data_format="json")
    assert '"2"' in path.read_text()  # JSON made the key a string
    loaded = A.load(str(path), data_format="json")
    erasing = loaded.transforms[0].erasing
    assert dict(erasing.object_p) == {2: 1.0, "default": 0.0} and dict(erasing.protect) == {3: 0.25}
    assert erasing == tf.transforms[0].erasing
    out = A.Compose(loaded.transforms, bbox_params=A.BboxParams(**BBOX_PARAMS), save_applied_params=True, seed=0)(
        image=np.zeros((32, 64, 3), np.uint8), bboxes=[[1, 1, 20, 20], [30, 1, 60, 20]], labels=[1, 2])
    assert _alb_plan(out).source.tolist() == [1]


def test_digit_string_keys_are_numbers_everywhere():
    assert dict(ErasingParams(object_p={"1": 0.9}).object_p) == {1: 0.9, "default": 0.5}
    assert dict(ErasingParams(protect=["4"]).protect) == {4: 0.0}
    json_text = json.dumps({"object_p": {"7": 1.0, "default": 0.0}})
    assert ErasingParams(mode="ore", **json.loads(json_text)).object_probabilities([7, 8], 2).tolist() == [1.0, 0.0]


def _synthetic_cfg(tmp_path, object_p, **extra):
    overrides = [f"data.root={tmp_path / 'synthetic'}", "data.synthetic_num_train=16", "data.synthetic_num_test=2",
                 "augmentation.hflip_p=0", f"augmentation.erasing.object_p={object_p}"]
    overrides += [f"{k}={v}" for k, v in extra.items()]
    return load_config("synthetic_frcnn_small_ore", overrides=overrides)


@pytest.mark.parametrize("object_p", ["{1: 1.0, default: 0.0}", "{circle: 1.0, default: 0.0}", "{'1': 1.0, default: 0.0}"],
                         ids=["by label", "by name", "by digit string"])
def test_training_pipeline_per_class_object_p_follows_the_class(tmp_path, object_p):
    # end to end: the dataset passes each box's row index as an extra bbox column; the
    # transform must read the label column, and class names map through the dataset
    from detaug.pipeline import build_datasets

    bundle = build_datasets(_synthetic_cfg(tmp_path, object_p), ["train"], save_applied_params=True)
    assert bundle.classes[0] == "circle"
    erased = {"circle": 0, "other": 0, "circle missed": 0}
    for i in range(len(bundle.train)):
        _, target = bundle.train[i]
        sources = set(_alb_plan(target).source.tolist())
        for k, label in enumerate(target["labels"].tolist()):
            if label == 1:
                erased["circle" if k in sources else "circle missed"] += 1
            elif k in sources:
                erased["other"] += 1
    assert erased["circle"] >= 1 and erased["other"] == 0 and erased["circle missed"] == 0, erased


@pytest.mark.parametrize("object_p, pattern", [
    ("{9: 0.9}", r"object_p: label 9 is not a class of this dataset; its labels are 1 circle, 2 square.*6 ring"),
    ("{0: 0.9}", r"label 0 is not a class.*0 is the background"),
    ("{zebra: 0.9}", r"object_p: 'zebra' is not a class of this dataset; its labels are 1 circle"),
    ("{circle: 0.9, 1: 0.1}", r"class 'circle' is given twice, by name and by label 1"),
], ids=["label past the end", "background", "unknown name", "twice"])
def test_training_config_keys_the_dataset_does_not_have_are_refused(tmp_path, object_p, pattern):
    from detaug.pipeline import build_datasets, build_transforms

    cfg = _synthetic_cfg(tmp_path, object_p)
    with pytest.raises(ConfigError, match=pattern):
        build_transforms(cfg, train=True)  # before any data is generated
    with pytest.raises(ConfigError, match=pattern):
        build_datasets(cfg, ["train"])


def test_training_config_protect_and_device_erasing_by_class_name(tmp_path):
    from detaug.pipeline import build_device_erasing, build_transforms

    cfg = _synthetic_cfg(tmp_path, "{star: 1.0, default: 0.0}", **{"augmentation.erasing.protect": "[ring]",
                                                                     "data.synthetic_classes": "[ring, star]"})
    erasing = build_transforms(cfg, train=True).transforms[-1].erasing
    assert dict(erasing.object_p) == {2: 1.0, "default": 0.0} and dict(erasing.protect) == {1: 0.0}
    device = build_device_erasing(load_config(cfg, overrides=["augmentation.erasing.device=true"]),
                                  classes=("ring", "star"))
    assert dict(device.erasing.object_p) == {2: 1.0, "default": 0.0}


# --------------------------------------------------------------------------- 5. visibility of erase_within="mask"


def test_box_visibility_counts_only_the_erased_pixels_of_a_mask_region():
    # a hand-worked case: the region erases object 0's 4 mask pixels only; box 1 (9 x 12 =
    # 108 pixels, no mask) loses those 4 pixels, not the region's rectangle
    mask0 = np.zeros((40, 40), bool)
    mask0[10:12, 10:12] = True
    plan = ErasePlan(np.array([[8, 8, 20, 20]]), np.array([0]), image_size=(40, 40), region_masks=(mask0[8:20, 8:20],))
    masks = np.stack([mask0, np.zeros((40, 40), bool)])
    visibility = box_visibility(np.array([[8, 8, 20, 20], [8, 8, 17, 20]], float), plan, masks=masks)
    assert visibility.tolist() == pytest.approx([0.0, 1 - 4 / 108])
    # half-pixel box edges: an erased pixel counts with its part inside the box
    # (erased: pixels 10..11 x 10..11; the first box holds pixel (10, 10) whole and half-pixels of
    # non-erased ones; the second a quarter of pixel (10, 10))
    half = box_visibility(np.array([[9.5, 9.5, 11.0, 11.0], [9.5, 9.5, 10.5, 10.5]]), plan)
    assert half.tolist() == pytest.approx([1 - 1 / 2.25, 1 - 0.25 / 1.0])


def test_min_visibility_keeps_a_box_without_mask_that_lost_few_pixels():
    mask_a = np.zeros((40, 40), np.uint8)
    mask_a[10:12, 10:12] = 1
    tf = A.Compose([detaug.BoxAwareRandomErasing(mode="ore", object_p={1: 1.0, "default": 0.0}, erase_within="mask",
                                                 scale=(0.8, 0.8), ratio=(1.0, 1.0), min_visibility=0.5, fill=0)],
                   bbox_params=A.BboxParams(**BBOX_PARAMS), seed=0)
    out = tf(image=np.full((40, 40, 3), 255, np.uint8), bboxes=[[8, 8, 20, 20], [8, 8, 17, 20]], labels=[1, 2],
             masks=[mask_a, np.zeros_like(mask_a)])
    assert int((out["image"] == 0).all(axis=2).sum()) == 4  # only the object's pixels went
    assert out["labels"] == [2]  # object 1 wholly erased and dropped; box 2 kept (4 of 108 pixels)


# --------------------------------------------------------------------------- 6. torchvision targets


def test_torchvision_warns_for_masks_given_as_a_plain_tensor():
    tf = TVErasing(mode="ore", object_p=1.0, erase_within="mask")
    image, target = _tv_sample(tv_tensors.Image(torch.ones(3, 64, 64)), [[10, 10, 50, 50]], (64, 64))
    target["masks"] = torch.zeros(1, 64, 64, dtype=torch.uint8)
    _, messages = _recorded(lambda: [tf(image, target) for _ in range(2)])
    assert len(messages) == 1 and "not a tv_tensors.Mask" in messages[0] and "tv_tensors.Mask(masks)" in messages[0]


def test_torchvision_marks_keypoints_given_as_nested_lists():
    tf = TVErasing(mode="ire", image_p=1.0, scale=(1.0, 1.0), ratio=(1.0, 1.0), occlude_keypoints=True)
    _, target = tf(tv_tensors.Image(torch.ones(3, 16, 16)), {"keypoints": [[[8, 8, 2], [3, 3, 0]]]})
    assert target["keypoints"] == [[[8, 8, 1], [3, 3, 0]]]
    with pytest.raises(ValueError, match=r'target\["keypoints"\] of shape \[N, K, 3\]'):
        tf(tv_tensors.Image(torch.ones(3, 16, 16)), {"keypoints": [[8, 8]]})


def test_torchvision_labels_as_a_list_are_read_and_dropped_with_their_boxes():
    tf = TVErasing(mode="ore", object_p={1: 1.0, "default": 0.0}, scale=(1.0, 1.0), ratio=(1.0, 1.0),
                   min_visibility=0.5, plan_key="plan")
    boxes = tv_tensors.BoundingBoxes([[0, 0, 10, 10], [20, 20, 30, 30]], format="XYXY", canvas_size=(32, 32))
    _, target = tf(tv_tensors.Image(torch.ones(3, 32, 32)), {"boxes": boxes, "labels": [1, 2]})
    assert target["plan"].source.tolist() == [0]
    assert target["labels"] == [2] and target["boxes"].tolist() == [[20, 20, 30, 30]]


# --------------------------------------------------------------------------- 7. draw_sample's label convention


def test_draw_sample_names_labels_by_first_label():
    names = ["cat", "dog"]
    assert [label_text(k, names) for k in (1, 2)] == ["cat", "dog"]
    assert [label_text(k, names, first_label=0) for k in (0, 1)] == ["cat", "dog"]
    assert label_text(np.int64(2), names) == "dog" and label_text(0) == "0"


@pytest.mark.parametrize("labels, kwargs, pattern", [
    ([0], {}, r"label 0 has no name.*labels 1..2 \(first_label=1\).*0 is the background.*first_label=0"),
    ([3], {}, r"label 3 has no name: class_names has 2 names, for labels 1..2"),
    ([2], {"first_label": 0}, r"label 2 has no name.*labels 0..1"),
    ([1.5], {}, r"whole numbers or class names, got 1.5"),
    ([1], {"first_label": -1}, r"first_label must be an integer >= 0"),
], ids=["background", "past the end", "0-based past the end", "fraction", "negative first_label"])
def test_draw_sample_refuses_labels_it_cannot_name(labels, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        draw_sample(np.zeros((16, 16, 3), np.uint8), np.array([[1, 1, 8, 8]]), labels, class_names=["cat", "dog"], **kwargs)


def test_draw_sample_with_zero_based_labels_draws_the_right_name():
    image, boxes = np.zeros((40, 60, 3), np.uint8), np.array([[5, 5, 50, 35]])
    zero_based = draw_sample(image, boxes, [0], class_names=["cat", "dog"], first_label=0)
    one_based = draw_sample(image, boxes, [1], class_names=["cat", "dog"])
    by_name = draw_sample(image, boxes, ["cat"])
    np.testing.assert_array_equal(zero_based, one_based)
    np.testing.assert_array_equal(zero_based, by_name)


# --------------------------------------------------------------------------- 9. confidence levels


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 1.5, 95, math.nan, math.inf, True, "0.95"])
def test_paired_difference_refuses_levels_outside_zero_one(confidence):
    with pytest.raises(ValueError, match="confidence must be a level strictly between 0 and 1"):
        paired_difference({0: 1.0, 1: 2.0, 2: 4.0}, {0: 0.0, 1: 0.0, 2: 0.0}, confidence=confidence)


def test_paired_difference_levels_inside_zero_one_and_t_quantile_edges():
    d = paired_difference({0: 0.52, 1: 0.50, 2: 0.55}, {0: 0.50, 1: 0.49, 2: 0.52}, confidence=np.float64(0.9))
    assert d.lo < d.mean < d.hi and d.confidence == 0.9
    for q in (0.0, 1.0, math.nan):
        with pytest.raises(ValueError, match="q must be a probability strictly between 0 and 1"):
            t_quantile(q, 3)
    with pytest.raises(ValueError, match="df must be an integer >= 1"):
        t_quantile(0.9, 2.5)


# --------------------------------------------------------------------------- 14. small API edges


def test_labels_of_shape_n_by_1_work_with_a_per_class_object_p():
    params = ErasingParams(mode="ore", object_p={1: 1.0, "default": 0.0})
    boxes = [[1, 1, 20, 20], [30, 1, 60, 20]]
    for labels in (np.array([[1], [2]]), torch.tensor([[1], [2]]), [[1], [2]]):
        assert sample_plan((32, 64), boxes, params, rng=0, labels=labels).source.tolist() == [0]
    tf = TVErasing(params, plan_key="plan")
    image, target = _tv_sample(tv_tensors.Image(torch.ones(3, 32, 64)), boxes, (32, 64), labels=[[1], [2]])
    assert tf(image, target)[1]["plan"].source.tolist() == [0]
    with pytest.raises(ValueError, match=r"one number or class name per box \(shape \(N,\) or \(N, 1\)\), got \[1, 2\]"):
        sample_plan((32, 64), boxes, params, labels=np.array([[1, 2], [2, 1]]))


@pytest.mark.parametrize("masks", [5, "masks", 2.5])
def test_masks_that_are_not_masks_are_refused(masks):
    params = ErasingParams(mode="ore", object_p=1.0, erase_within="mask")
    with pytest.raises(ValueError, match="masks must be instance masks, one"):
        sample_plan((32, 32), [[1, 1, 20, 20]], params, masks=masks)


@pytest.mark.parametrize("params", ["i+ore", {"mode": "ore"}, None])
def test_sample_plan_says_to_pass_erasing_params(params):
    with pytest.raises(TypeError, match="params must be an ErasingParams.*pass ErasingParams"):
        sample_plan((32, 32), [[1, 1, 20, 20]], params)


def test_batched_module_names_a_target_without_boxes():
    module = BatchedBoxAwareRandomErasing(mode="ore", seed=0)
    with pytest.raises(ValueError, match=r"targets\[1\] has no 'boxes' \(its keys: \['labels'\]\)"):
        module([torch.ones(3, 8, 8)] * 2, [{"boxes": torch.zeros(0, 4)}, {"labels": torch.tensor([1])}])


# --------------------------------------------------------------------------- 18. boxes partly outside the image


def test_albumentations_boxes_partly_outside_need_clip_as_the_readme_says():
    image, boxes = np.zeros((64, 64, 3), np.uint8), [[-5, 10, 70, 30]]
    with pytest.raises(ValueError, match="to be in the range"):  # albumentations' own check, before detaug runs
        _alb(object_p=1.0)(image=image, bboxes=boxes, labels=[1])
    tf = A.Compose([detaug.BoxAwareRandomErasing(mode="ore", object_p=1.0)],
                   bbox_params=A.BboxParams(**BBOX_PARAMS, clip=True), save_applied_params=True, seed=0)
    plan = _alb_plan(tf(image=image, bboxes=boxes, labels=[1]))
    x1, y1, x2, y2 = plan.rects[0].tolist()
    assert plan.source.tolist() == [0] and 0 <= x1 < x2 <= 64 and 10 <= y1 < y2 <= 30


def test_torchvision_and_core_clip_boxes_partly_outside():
    params = ErasingParams(mode="ore", object_p=1.0)
    plan = sample_plan((64, 64), [[-5, 10, 70, 30]], params, rng=0)
    x1, y1, x2, y2 = plan.rects[0].tolist()
    assert 0 <= x1 < x2 <= 64 and 10 <= y1 < y2 <= 30
    image, target = _tv_sample(tv_tensors.Image(torch.ones(3, 64, 64)), [[-5, 10, 70, 30]], (64, 64))
    _, out = TVErasing(params, plan_key="plan")(image, target)
    assert out["plan"].source.tolist() == [0] and torch.equal(out["boxes"], target["boxes"])


# --------------------------------------------------------------------------- 15. the README's torchvision example


def test_readme_torchvision_labels_must_be_a_tensor_for_sanitize():
    # the README shows a tensor and says why: v2.SanitizeBoundingBoxes filters tensors only
    from torchvision.transforms import v2

    tf = v2.Compose([TVErasing(mode="ore"), v2.SanitizeBoundingBoxes()])
    image, target = _tv_sample(tv_tensors.Image(torch.ones(3, 32, 32)), [[2, 2, 20, 20]], (32, 32))
    assert tf(image, target)[1]["labels"].tolist() == [1]


# --------------------------------------------------------------------------- siblings found on the way


def test_albumentations_refuses_a_channels_first_image():
    tf = A.Compose([detaug.BoxAwareRandomErasing(mode="ire", image_p=1.0)])
    with pytest.raises(ValueError, match=r"shape \(3, 480, 640\), which looks channels-first.*transpose\(1, 2, 0\)"):
        tf(image=np.zeros((3, 480, 640), np.uint8))


@pytest.mark.parametrize("image_size", [64, (-4, 64), (64.5, 64), ("64", "64"), (64,)])
def test_sample_plan_refuses_an_image_size_that_is_not_whole_pixels(image_size):
    with pytest.raises(ValueError, match=r"image_size must be \(height, width\) in whole pixels"):
        sample_plan(image_size, None, ErasingParams(mode="ire", image_p=1.0), rng=0)
    assert sample_plan((48, 64, 3), None, ErasingParams(mode="ire", image_p=1.0), rng=0).image_size == (48, 64)


def test_batched_module_refuses_one_target_dict_for_a_list():
    module = BatchedBoxAwareRandomErasing(mode="ore", seed=0)
    with pytest.raises(ValueError, match=r"targets must be a list with one target per image.*pass \[target\]"):
        module([torch.ones(3, 8, 8)], {"boxes": torch.tensor([[1.0, 1.0, 6.0, 6.0]])})


def test_whole_float_keys_are_labels():
    assert dict(ErasingParams(object_p={1.0: 0.25}).object_p) == {1: 0.25, "default": 0.5}
    with pytest.raises(ValueError, match=r"object_p: labels must be int or str, got 1.5"):
        ErasingParams(object_p={1.5: 0.25})
