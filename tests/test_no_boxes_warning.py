"""Erasing asked to use boxes, called without any: one warning per transform, naming the
likely cause (ultralytics up to 8.4.116 calls custom augmentations without bboxes unless a
transform on its list is in the pipeline); none for a normal pipeline."""

import warnings

import albumentations as A
import numpy as np
import pytest

import detaug

IMAGE = np.full((64, 80, 3), 128, np.uint8)


def _ultralytics_8_4_116(transforms):
    """What ultralytics 8.3.226-8.4.116 builds for augmentations=[...] when no transform's
    class name is on its spatial list (ultralytics/data/augment.py, Albumentations):
    A.Compose(T) without bbox_params, called with the image only."""
    spatial = {"Affine", "HorizontalFlip", "NoOp", "RandomCrop", "VerticalFlip"}  # part of the list
    if any(type(t).__name__ in spatial for t in transforms):
        return lambda image, bboxes, labels: A.Compose(
            transforms, bbox_params=A.BboxParams(format="yolo", label_fields=["class_labels"]))(
            image=image, bboxes=bboxes, class_labels=labels)
    compose = A.Compose(transforms)
    return lambda image, bboxes, labels: compose(image=image)


@pytest.mark.parametrize("kwargs", [{"mode": "ore"}, {"mode": "i+ore"},
                                    {"mode": "ore", "object_p": {1: 1.0, "default": 0.0}},
                                    {"mode": "ire", "protect": [1]}])
def test_warns_once_per_transform_without_bboxes(kwargs):
    tf = detaug.BoxAwareRandomErasing(**kwargs)
    call = _ultralytics_8_4_116([tf])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            call(IMAGE, [[0.5, 0.5, 0.5, 0.5]], [1])
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert "without bboxes" in messages[0] and "A.NoOp()" in messages[0] and "8.4.116" in messages[0]


def test_noop_first_restores_boxes_and_silences_it():
    tf = detaug.BoxAwareRandomErasing(mode="ore", object_p=1.0, fill=0)
    call = _ultralytics_8_4_116([A.NoOp(), tf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = call(IMAGE, [[0.5, 0.5, 0.5, 0.5]], [1])
    assert (out["image"] == 0).any()  # the ORE region was drawn inside the box


@pytest.mark.parametrize("boxes", [[[10, 10, 50, 40]], []])  # with objects, and an image without any
def test_no_warning_in_a_normal_pipeline(boxes):
    tf = A.Compose([detaug.BoxAwareRandomErasing(mode="i+ore", protect=[2])],
                   bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tf(image=IMAGE, bboxes=boxes, labels=[2] * len(boxes))


def test_no_warning_for_ire_without_boxes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A.Compose([detaug.BoxAwareRandomErasing(mode="ire", image_p=1.0)])(image=IMAGE)
