"""The compare view: one seed per image, and what "same seed" means for I+ORE."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from detaug.config import load_config
from detaug.erasing import MODES, ErasePlan
from detaug.pipeline import build_transforms
from detaug.vis import SEED_ONLY_CAPTION, UNION_CAPTION, DrawnSample, compare_caption, draw_items, is_union, item_seed


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from detaug.data import generate_synthetic
    from detaug.data.folder import VOCFolder

    info = generate_synthetic(tmp_path_factory.mktemp("cmp"), num_train=6, num_test=2)
    return VOCFolder(info.image_dir, info.voc_root / "Annotations")


def _transforms(mode, hflip_p=0.5, **erasing):
    overrides = [f"augmentation.hflip_p={hflip_p}"] + [f"augmentation.erasing.{k}={v}" for k, v in erasing.items()]
    cfg = load_config(overrides=overrides)
    cfg = OmegaConf.merge(cfg, {"augmentation": {"erasing": {"mode": mode}}})
    return build_transforms(cfg, train=True, save_applied_params=True)


def _plan(rects, source):
    return ErasePlan(np.array(rects).reshape(-1, 4), np.array(source), image_size=(50, 50))


IRE = _plan([[0, 0, 5, 5]], [-1])
ORE = _plan([[10, 10, 12, 12], [20, 20, 22, 23]], [0, 1])


@pytest.mark.parametrize(
    "iore,expected",
    [
        (_plan([[0, 0, 5, 5], [10, 10, 12, 12], [20, 20, 22, 23]], [-1, 0, 1]), True),
        (_plan([[20, 20, 22, 23], [0, 0, 5, 5], [10, 10, 12, 12]], [1, -1, 0]), True),  # order does not matter
        (_plan([[0, 0, 5, 5], [10, 10, 12, 12]], [-1, 0]), False),  # a box region missing
        (_plan([[0, 0, 5, 5], [10, 10, 12, 12], [20, 20, 22, 23]], [-1, 1, 0]), False),  # regions swapped boxes
        (_plan([[0, 0, 5, 6], [10, 10, 12, 12], [20, 20, 22, 23]], [-1, 0, 1]), False),  # another image-level region
    ],
)
def test_union_compares_regions_and_their_sources(iore, expected):
    assert is_union(iore, IRE, ORE) is expected


def test_caption_says_union_only_when_every_row_is_one():
    def drawn(plans):
        return [DrawnSample(np.zeros((1, 1, 3), np.uint8), "", p, 2, False) for p in plans]

    union = _plan([[0, 0, 5, 5], [10, 10, 12, 12], [20, 20, 22, 23]], [-1, 0, 1])
    empty = ErasePlan.empty((50, 50))
    rows = {"ire": drawn([IRE, empty]), "ore": drawn([ORE, empty])}
    assert compare_caption({**rows, "i+ore": drawn([union, None])}) == UNION_CAPTION
    assert compare_caption({**rows, "i+ore": drawn([union, IRE])}) == SEED_ONLY_CAPTION


def test_each_image_gets_its_own_seed_whatever_was_drawn_before(dataset):
    dataset.transforms = _transforms("i+ore")
    alone = draw_items(dataset, [3], seed=5, class_names=dataset.classes)[0]
    after_others = draw_items(dataset, [0, 1, 2, 3], seed=5, class_names=dataset.classes)[3]
    assert alone.plan == after_others.plan and (alone.image == after_others.image).all()
    assert item_seed(5, 3) != item_seed(6, 3)


def test_every_mode_sees_the_same_flip_of_each_image(dataset):
    boxes = {}
    for mode in ("none", *MODES):
        dataset.transforms = _transforms(mode)
        flips = []
        for i in range(len(dataset)):
            dataset.transforms.set_random_seed(item_seed(0, i))
            flips.append(dataset[i][1]["boxes"].tolist())
        boxes[mode] = flips
    assert all(boxes[m] == boxes["none"] for m in MODES)


def _regions(plan, image_level):
    keep = (plan.source == -1) == image_level
    return {(tuple(r), int(s)) for r, s in zip(plan.rects[keep].tolist(), plan.source[keep])}


def test_iore_plans_are_the_ire_regions_plus_the_ore_regions(dataset):
    indices = list(range(len(dataset)))
    drawn = {}
    for mode in MODES:
        dataset.transforms = _transforms(mode, image_p=1, object_p=1)
        drawn[mode] = draw_items(dataset, indices, seed=0, class_names=dataset.classes)
    assert sum(len(d.plan) for d in drawn["i+ore"]) > len(indices)  # regions of both kinds to compare
    for ire, ore, iore in zip(drawn["ire"], drawn["ore"], drawn["i+ore"]):
        assert _regions(iore.plan, True) == _regions(ire.plan, True)
        assert _regions(iore.plan, False) == _regions(ore.plan, False)
    assert compare_caption(drawn) == UNION_CAPTION
