"""Properties every (front-end, kwargs) pair of the registry must hold."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from _erasing_frontends import FRONTENDS, make_sample, replay

# The registry: kwargs that exercise every mode, fill kind and sampling option.
# Probabilities are 1 so that every call erases something and properties bite.
REGISTRY = [
    dict(mode="ire", image_p=1.0),
    dict(mode="ore", object_p=1.0),
    dict(mode="i+ore", image_p=1.0, object_p=1.0),
    dict(mode="i+ore", image_p=1.0, object_p=1.0, fill=0),
    dict(mode="i+ore", image_p=1.0, object_p=1.0, fill=(10, 20, 30)),
    dict(mode="i+ore", image_p=1.0, object_p=1.0, fill="random_color"),
    dict(mode="ire", image_p=1.0, count=(2, 4), ratio_sampling="log", max_attempts=10),
    dict(mode="ore", object_p=1.0, scale=(0.1, 0.5), ratio=(0.5, 2.0)),
]
IDS = [",".join(f"{k}={v}" for k, v in kw.items()) for kw in REGISTRY]
CASES = [(fe, kw) for fe in FRONTENDS for kw in REGISTRY]
CASE_IDS = [f"{fe}:{i}" for fe in FRONTENDS for i in IDS]


@pytest.fixture(params=[np.uint8, np.float32], ids=["uint8", "float32"])
def sample(request):
    return make_sample(np.random.default_rng(123), dtype=request.param)


@pytest.mark.parametrize("frontend,kwargs", CASES, ids=CASE_IDS)
def test_input_not_mutated_and_shape_dtype_kept(frontend, kwargs, sample):
    image, boxes, labels = sample
    before = image.copy(), boxes.copy(), labels.copy()
    res = FRONTENDS[frontend](image, boxes, labels, 0, **kwargs)
    np.testing.assert_array_equal(image, before[0])
    np.testing.assert_array_equal(boxes, before[1])
    np.testing.assert_array_equal(labels, before[2])
    assert res.image.shape == image.shape and res.image.dtype == image.dtype
    assert len(res.plan) > 0 and not np.array_equal(res.image, image)


@pytest.mark.parametrize("frontend,kwargs", CASES, ids=CASE_IDS)
def test_same_seed_same_output_other_seed_differs(frontend, kwargs, sample):
    image, boxes, labels = sample
    a = FRONTENDS[frontend](image, boxes, labels, 7, **kwargs)
    b = FRONTENDS[frontend](image, boxes, labels, 7, **kwargs)
    c = FRONTENDS[frontend](image, boxes, labels, 8, **kwargs)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.plan == b.plan
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize("frontend,kwargs", CASES, ids=CASE_IDS)
def test_replaying_the_plan_gives_the_same_output(frontend, kwargs, sample):
    image, boxes, labels = sample
    res = FRONTENDS[frontend](image, boxes, labels, 3, **kwargs)
    if frontend == "tv":  # the torch kernel draws its random fill with torch
        import torch

        chw = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
        again = replay(chw, res.plan).permute(1, 2, 0).numpy()
    else:
        again = replay(image, res.plan)
    np.testing.assert_array_equal(again, res.image)
    # Pixels outside every region are untouched; pixels inside differ from the plan's absence.
    outside = np.ones(image.shape[:2], bool)
    for x1, y1, x2, y2 in res.plan.rects:
        outside[y1:y2, x1:x2] = False
    np.testing.assert_array_equal(res.image[outside], image[outside])


@pytest.mark.parametrize("frontend,kwargs", CASES, ids=CASE_IDS)
def test_regions_inside_image_and_ore_regions_inside_their_box(frontend, kwargs, sample):
    image, boxes, labels = sample
    h, w = image.shape[:2]
    for seed in range(5):
        plan = FRONTENDS[frontend](image, boxes, labels, seed, **kwargs).plan
        r = plan.rects
        assert ((r[:, 0] >= 0) & (r[:, 1] >= 0) & (r[:, 2] <= w) & (r[:, 3] <= h)).all()
        assert ((r[:, 2] > r[:, 0]) & (r[:, 3] > r[:, 1])).all()
        for (x1, y1, x2, y2), src in zip(r, plan.source):
            if src >= 0:
                bx1, by1, bx2, by2 = boxes[src]
                assert bx1 <= x1 and by1 <= y1 and x2 <= bx2 and y2 <= by2
        if kwargs["mode"] == "ire":
            assert (plan.source == -1).all()
        if kwargs["mode"] == "ore":
            assert (plan.source >= 0).all()


@pytest.mark.parametrize("frontend,kwargs", CASES, ids=CASE_IDS)
def test_boxes_and_labels_unchanged(frontend, kwargs, sample):
    image, boxes, labels = sample
    res = FRONTENDS[frontend](image, boxes, labels, 11, **kwargs)
    if frontend == "albu":
        # albumentations itself stores boxes as float32 normalised coordinates; we
        # return what it gives us, so the output equals a NoOp pipeline's bit for bit.
        import albumentations as A
        from _erasing_frontends import BBOX_PARAMS

        noop = A.Compose([A.NoOp(p=1.0)], bbox_params=A.BboxParams(**BBOX_PARAMS))(image=image, bboxes=boxes, labels=labels)
        np.testing.assert_array_equal(res.boxes, noop["bboxes"])
        np.testing.assert_array_equal(res.labels, noop["labels"])
        np.testing.assert_allclose(res.boxes, boxes, rtol=1e-6, atol=1e-4)
    elif frontend == "tv":
        np.testing.assert_array_equal(res.boxes, boxes.astype(np.float32))
        np.testing.assert_array_equal(res.labels, labels)
    else:
        np.testing.assert_array_equal(res.boxes, boxes)
    np.testing.assert_array_equal(res.labels.astype(np.int64), labels)


# The core has no p (the front-ends' "run at all" probability), so p=0 applies to the front-ends only.
ZERO_CASES = [(fe, dict(image_p=0.0, object_p=0.0)) for fe in FRONTENDS] + [
    (fe, dict(p=0.0)) for fe in FRONTENDS if fe != "core"
]


@pytest.mark.parametrize("frontend,zero", ZERO_CASES, ids=[f"{fe}:{','.join(z)}=0" for fe, z in ZERO_CASES])
def test_probability_zero_is_identity(frontend, zero, sample):
    image, boxes, labels = sample
    res = FRONTENDS[frontend](image, boxes, labels, 0, mode="i+ore", **zero)
    np.testing.assert_array_equal(res.image, image)
    assert len(res.plan) == 0


@pytest.mark.parametrize("kwargs", REGISTRY, ids=IDS)
def test_transforms_pickle(kwargs, sample):
    import detaug
    from detaug.tv import BoxAwareRandomErasing as TVErasing

    for cls in (detaug.BoxAwareRandomErasing, TVErasing):
        tf = cls(**kwargs)
        back = pickle.loads(pickle.dumps(tf))
        assert repr(back) == repr(tf)
        assert back.erasing == tf.erasing
