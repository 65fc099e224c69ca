"""detaug.vis.render: dataset items drawn with their masks, plan and title."""

from __future__ import annotations

import numpy as np
import torch

from detaug.erasing import ErasePlan
from detaug.vis import box_color, draw_item


class _Items:
    """A dataset of prepared (image, target) pairs, without transforms."""

    transforms = None

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        return self.items[idx]


def _target(masks=None, plan=None):
    target = {"boxes": torch.tensor([[20.0, 20, 60, 56]]), "labels": torch.tensor([1]), "image_id": 7}
    if masks is not None:
        target["masks"] = masks
    if plan is not None:
        target["erasing_plan"] = plan
    return target


def test_masks_in_the_target_are_drawn():
    image = torch.full((3, 60, 80), 0.5)
    masks = torch.zeros(1, 60, 80, dtype=torch.uint8)
    masks[0, 30:46, 30:46] = 1
    plan = ErasePlan(np.array([[30, 30, 36, 36]]), np.array([0]), image_size=(60, 80))
    with_masks = draw_item(_Items([(image, _target(masks, plan))]), 0, seed=0, class_names=["cat"])
    without = draw_item(_Items([(image, _target(None, plan))]), 0, seed=0, class_names=["cat"])
    assert with_masks.has_masks and not without.has_masks
    assert tuple(with_masks.image[45, 40]) == box_color(0) != tuple(without.image[45, 40])  # mask border
    assert with_masks.plan == plan and with_masks.num_boxes == 1
    assert with_masks.title == "7 (1 erased)"  # no image name: the image id


def test_titles_use_the_image_name_when_known():
    item = (torch.zeros(3, 60, 80), {**_target(), "image_name": "kitchen"})
    assert draw_item(_Items([item]), 0, seed=0, class_names=["cat"], title_prefix="ORE: ").title == "ORE: kitchen (0 erased)"
