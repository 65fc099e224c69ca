"""Protected classes: image-level regions spare the boxes of chosen classes (never
overlap them, or cover at most a given fraction), in every front-end and the config."""

import albumentations as A
import numpy as np
import pytest
import torch
from _erasing_frontends import FRONTENDS

import detaug
from detaug.erasing import ErasePlan, ErasingParams, sample_plan

BOXES = np.array([[10, 12, 60, 70], [40, 30, 110, 90], [5, 60, 30, 95], [70, 5, 125, 40]], np.float64)
LABELS = np.array([1, 2, 3, 2])


def _covered(plan, box):
    """Pixels of ``box`` (whole-pixel edges here) under the union of the image-level regions,
    counted on a pixel grid (an independent count: the sampler sums overlaps)."""
    h, w = plan.image_size
    under = np.zeros((h, w), bool)
    for (x1, y1, x2, y2), src in zip(plan.rects.tolist(), plan.source.tolist()):
        if src == -1:
            under[y1:y2, x1:x2] = True
    x1, y1, x2, y2 = (int(v) for v in box)
    return int(under[y1:y2, x1:x2].sum()), (x2 - x1) * (y2 - y1)


def _run_batched(image, boxes, labels, seed, **kwargs):
    module = detaug.BatchedBoxAwareRandomErasing(seed=seed, **kwargs)
    images = [torch.from_numpy(image).permute(2, 0, 1)]
    module(images, [{"boxes": torch.as_tensor(boxes), "labels": torch.as_tensor(labels)}])
    return module.last_plans[0]


def _plan_of(frontend):
    return lambda *args, **kwargs: FRONTENDS[frontend](*args, **kwargs).plan


RUNNERS = {name: _plan_of(name) for name in FRONTENDS}
RUNNERS["batched"] = _run_batched


@pytest.mark.parametrize("frontend", sorted(RUNNERS))
@pytest.mark.parametrize("protect,count", [({2: 0.0}, 1), ({2: 0.1, 3: 0.3}, 1), ([1, 3], (1, 3)),
                                           ({1: 0.05, 2: 0.2}, 3)])
def test_protected_boxes_never_covered_beyond_their_fraction(frontend, protect, count):
    image = np.random.default_rng(0).integers(0, 256, (100, 128, 3), dtype=np.uint8)
    limits = protect if isinstance(protect, dict) else dict.fromkeys(protect, 0.0)
    drawn = 0
    for seed in range(40):
        plan = RUNNERS[frontend](image, BOXES, LABELS, seed, mode="i+ore", image_p=1.0, scale=(0.1, 0.4),
                                 count=count, protect=protect)
        expected = tuple((k, float(limits[int(lab)])) for k, lab in enumerate(LABELS) if int(lab) in limits)
        assert plan.protected == expected
        drawn += int((plan.source == -1).sum())
        for k, lab in enumerate(LABELS):
            if int(lab) in limits:
                covered, area = _covered(plan, BOXES[k])
                assert covered <= limits[int(lab)] * area, (seed, k, covered, area)
    assert drawn >= 20  # image-level regions were placed, around the protected boxes


def test_ore_inside_protected_boxes_is_still_object_p():
    plan = sample_plan((100, 128), BOXES, ErasingParams(mode="ore", object_p=1.0, protect=[1, 2, 3]), 0,
                       labels=LABELS)
    assert sorted(plan.source.tolist()) == [0, 1, 2, 3]


def test_no_allowed_attempt_means_no_image_region():
    # one protected box over the whole image: every attempt overlaps it
    params = ErasingParams(mode="i+ore", image_p=1.0, object_p=1.0, protect=[7], max_attempts=50)
    plan = sample_plan((40, 40), [[0, 0, 40, 40]], params, 3, labels=[7])
    assert (plan.source == -1).sum() == 0 and (plan.source == 0).sum() == 1
    assert plan.protected == ((0, 0.0),)


@pytest.mark.parametrize("seed", range(10))
def test_protecting_an_absent_class_changes_nothing(seed):
    base = sample_plan((100, 128), BOXES, ErasingParams(image_p=1.0, count=(1, 3)), seed, labels=LABELS)
    guarded = sample_plan((100, 128), BOXES, ErasingParams(image_p=1.0, count=(1, 3), protect={9: 0.0}), seed,
                          labels=LABELS)
    assert np.array_equal(base.rects, guarded.rects) and np.array_equal(base.source, guarded.source)
    assert base.protected is None and guarded.protected == ()


# argument -> error (every front-end builds ErasingParams, so one table serves all)
@pytest.mark.parametrize("value,match", [
    ({1: 1.5}, r"protect\[1\] must be a probability"),
    ("person", "protect must be None, a list of labels or a mapping"),
    ({"default": 0.0}, "no 'default'"),
    ([True], "labels must be int or str"),
])
def test_bad_protect_is_refused(value, match):
    with pytest.raises(ValueError, match=match):
        ErasingParams(protect=value)


def test_protect_needs_labels_of_its_keys_kind():
    with pytest.raises(ValueError, match="protect needs one label per box"):
        sample_plan((50, 50), [[0, 0, 10, 10]], ErasingParams(protect=[1]), 0)
    # class names are keys now (albumentations' re-encoding of string labels is undone),
    # and names for numeric labels are refused saying what to write
    assert dict(detaug.BoxAwareRandomErasing(protect=["person"]).erasing.protect) == {"person": 0.0}
    with pytest.raises(ValueError, match=r"protect is keyed by class names \('person'\) but the boxes' labels are numbers"):
        sample_plan((50, 50), [[0, 0, 10, 10]], ErasingParams(protect=["person"]), 0, labels=[1])
    assert ErasingParams(protect=[]).protect is None


def test_plan_round_trip_and_serialisation_keep_protection():
    plan = sample_plan((100, 128), BOXES, ErasingParams(image_p=1.0, protect={2: 0.25}), 1, labels=LABELS)
    assert ErasePlan.from_dict(plan.to_dict()) == plan and plan.protected == ((1, 0.25), (3, 0.25))
    tf = detaug.BoxAwareRandomErasing(protect={2: 0.25, 5: 0.0})
    back = A.from_dict(A.to_dict(tf))
    assert back.erasing == tf.erasing and "protect={2: 0.25, 5: 0.0}" in repr(tf)


def test_config_key_reaches_the_training_pipeline():
    from detaug.config import load_config
    from detaug.config.loading import erasing_params

    cfg = load_config(overrides=["augmentation.erasing.mode=i+ore", "augmentation.erasing.protect={2: 0.1, 4: 0.0}"])
    assert erasing_params(cfg).protect == ((2, 0.1), (4, 0.0))
    cfg = load_config(overrides=["augmentation.erasing.mode=ire", "augmentation.erasing.protect=[3]"])
    assert erasing_params(cfg).protect == ((3, 0.0),)


def test_labels_are_the_label_field_when_boxes_carry_extra_columns():
    # detaug's datasets pass bboxes as [x1, y1, x2, y2, row index] with label_fields=["labels"];
    # the label is the last column, not the row index (per-class object_p and protect read it)
    tf = A.Compose([detaug.BoxAwareRandomErasing(mode="ore", object_p={8: 1.0, "default": 0.0})],
                   bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]), save_applied_params=True,
                   seed=0)
    out = tf(image=np.zeros((100, 128, 3), np.uint8), bboxes=[[10, 10, 60, 70, 0], [60, 20, 120, 90, 1]], labels=[3, 8])
    assert dict(out["applied_transforms"])["BoxAwareRandomErasing"]["plan"].source.tolist() == [1]


def test_visualiser_marks_protected_boxes():
    from detaug.vis import draw_sample

    image = np.full((100, 128, 3), 90, np.uint8)
    plan = sample_plan((100, 128), BOXES, ErasingParams(image_p=0.0, object_p=0.0, protect=[2]), 0, labels=LABELS)
    unmarked = ErasePlan(plan.rects, plan.source, image_size=(100, 128))
    with_mark = draw_sample(image, BOXES, LABELS, plan, ["a", "b", "c"])
    without = draw_sample(image, BOXES, LABELS, unmarked, ["a", "b", "c"])
    differs = np.argwhere((with_mark != without).any(-1))
    assert len(differs)
    # only around the protected boxes (1 and 3: their labels and outlines), never elsewhere
    near = np.zeros((100, 128), bool)
    for k in (1, 3):
        x1, y1, x2, y2 = BOXES[k].astype(int)
        near[max(y1 - 20, 0):y2 + 3, max(x1 - 3, 0):x2 + 60] = True
    assert near[differs[:, 0], differs[:, 1]].all()
