"""augmentation.extra: albumentations transforms from their own serialisation, on the image only."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest
import torch

from detaug.config import ConfigError, load_config
from detaug.config.extra import ImageOnly, extra_transform
from detaug.data import apply_transforms
from detaug.pipeline import build_transforms

CUTOUT = {"__class_fullname__": "CoarseDropout", "num_holes_range": [1, 1], "hole_height_range": [6, 6],
          "hole_width_range": [6, 6], "fill": 128, "p": 1.0}


def _target(boxes):
    n = len(boxes)
    return {"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": torch.arange(1, n + 1),
            "iscrowd": torch.zeros(n, dtype=torch.int64), "difficult": torch.zeros(n, dtype=torch.bool),
            "image_id": 0, "area": torch.zeros(n)}


def test_presets_place_extra_after_the_flip_and_before_erasing():
    cfg = load_config("synthetic_frcnn_small_cutout", ["augmentation.erasing.mode=ore"])
    names = [type(t).__name__ for t in build_transforms(cfg, train=True).transforms]
    assert names == ["HorizontalFlip", "ImageOnly", "BoxAwareRandomErasing"]
    grid = build_transforms(load_config("synthetic_frcnn_small_grid"), train=True).transforms[1]
    assert isinstance(grid.transform, A.GridDropout) and grid.transform.fill == 0
    assert build_transforms(cfg, train=False) is None  # nothing at test time


def test_boxes_stay_as_they_are_where_albumentations_would_shrink_or_drop_them():
    # Box 0 is hidden entirely by the 6x6 square, box 1 partly, box 2 not at all.
    image = np.full((12, 20, 3), 7, np.uint8)
    boxes = [[2.5, 2.5, 5.5, 5.5], [4.0, 1.0, 10.0, 9.0], [14.0, 1.0, 19.0, 11.0]]
    cutout = dict(CUTOUT, hole_height_range=[12, 12], hole_width_range=[12, 12])
    bbox_params = A.BboxParams(format="pascal_voc", label_fields=["labels"])
    ours = A.Compose([extra_transform(cutout)], bbox_params=bbox_params)
    theirs = A.Compose([A.from_dict({"transform": cutout})], bbox_params=bbox_params)
    for seed in range(5):
        ours.set_random_seed(seed)
        theirs.set_random_seed(seed)
        img_o, out_o = apply_transforms(ours, image, _target(boxes))
        img_t, out_t = apply_transforms(theirs, image, _target(boxes))
        assert torch.equal(img_o, img_t)  # same hole: the wrapper draws from the same generator
        assert torch.allclose(out_o["boxes"], torch.tensor(boxes), atol=1e-4)
        assert out_o["labels"].tolist() == [1, 2, 3]
    # albumentations' own handling changes the boxes (this is why extra entries are wrapped)
    assert out_t["boxes"].shape[0] < 3 or not torch.allclose(out_t["boxes"], torch.tensor(boxes), atol=1e-4)


def test_seeded_pipeline_reproduces_and_the_square_is_the_configured_one():
    cfg = load_config("synthetic_frcnn_small_cutout", ["augmentation.hflip_p=0"])
    tf = build_transforms(cfg, train=True)
    image = np.zeros((160, 128, 3), np.uint8)
    outs = []
    for _ in range(2):
        tf.set_random_seed(11)
        outs.append(tf(image=image, bboxes=np.zeros((0, 4)), labels=np.zeros(0))["image"])
    assert np.array_equal(outs[0], outs[1])
    painted = (outs[0] == 128).all(-1)
    ys, xs = np.nonzero(painted)
    assert painted.sum() == 48 * 48 and np.ptp(ys) == 47 and np.ptp(xs) == 47  # one 48 px square


def test_whole_to_dict_output_is_accepted():
    t = A.GridDropout(ratio=0.3, p=0.5)
    built = extra_transform(A.to_dict(t))
    assert isinstance(built, ImageOnly) and built.transform.ratio == 0.3


@pytest.mark.parametrize(
    "entry,message",
    [
        ({"__class_fullname__": "NoSuchDropout", "p": 1.0}, r"augmentation.extra\[0\]: unknown albumentations transform 'NoSuchDropout'"),
        ({"__class_fullname__": "CoarseDropout", "num_holes_range": [3, 1], "p": 1.0}, r"augmentation.extra\[0\] \(CoarseDropout\): invalid arguments"),
        ({"__class_fullname__": "Affine", "scale": 1.2, "p": 1.0}, r"\(Affine\): moves pixels"),
        ({"__class_fullname__": "CoarseDropout"}, r"\(CoarseDropout\): give its probability p"),
        ({"num_holes_range": [1, 1], "p": 1.0}, r"no __class_fullname__"),
        ("CoarseDropout", r"expected a mapping"),
    ],
)
def test_bad_entries_are_config_errors_naming_the_entry(entry, message):
    cfg = load_config("synthetic_frcnn_small_baseline")
    cfg.augmentation.extra = [entry]
    with pytest.raises(ConfigError, match=message):
        build_transforms(cfg, train=True)


def test_torchvision_backend_says_extra_needs_albumentations():
    cfg = load_config("synthetic_frcnn_small_cutout", ["augmentation.backend=torchvision"])
    with pytest.raises(ConfigError, match="augmentation.extra: .*augmentation.backend: albumentations"):
        build_transforms(cfg, train=True)


def test_a_config_saved_before_extra_existed_still_builds():
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(load_config("synthetic_frcnn_small_ore"), resolve=True)
    del cfg["augmentation"]["extra"]  # as in a checkpoint of an earlier version
    old = OmegaConf.create(cfg)
    assert [type(t).__name__ for t in build_transforms(old, train=True).transforms] == [
        "HorizontalFlip", "BoxAwareRandomErasing"]
    old.augmentation.backend = "torchvision"
    assert build_transforms(old, train=True) is not None
