"""Drawing dataset items as their transforms make them, one seed per item, and captioning a comparison."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from detaug.erasing.plan import ErasePlan
from detaug.vis.draw import draw_sample
from detaug.vis.plans import find_plan, is_union

#: Caption of a comparison whose I+ORE plans are the IRE plans' image-level regions plus
#: the ORE plans' box regions (checked on every drawn image by :func:`compare_caption`).
UNION_CAPTION = "same seed: I+ORE = the IRE region(s) + the ORE regions"
#: Caption when they are not.
SEED_ONLY_CAPTION = "same seed per image (flip and erasing draws); I+ORE draws its own regions"


@dataclass
class DrawnSample:
    """One dataset item as drawn.

    Attributes:
        image: the drawing (HWC uint8).
        title: ``<prefix><image id> (<K> erased)``.
        plan: the erasing plan applied to the item, or None.
        num_boxes: boxes in the item's target.
        has_masks: whether the target carried instance masks (and they were drawn).
    """

    image: np.ndarray
    title: str
    plan: Optional[ErasePlan]
    num_boxes: int
    has_masks: bool


def item_seed(seed: int, index: int) -> int:
    """The seed of dataset item ``index`` in a drawing seeded with ``seed``.

    One seed per item, so an item's flip and erasing draws do not depend on which items
    were drawn before it: the same image gets the same draws under every erasing mode.

    Examples:
        >>> item_seed(0, 3) == item_seed(0, 3) != item_seed(0, 4)
        True
    """
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def _image_name(dataset: Any, index: int, target: dict) -> str:
    if target.get("image_name"):
        return str(target["image_name"])
    for attr in ("image_names", "ids"):
        names = getattr(dataset, attr, None)
        if names is not None:
            try:
                return str(names[index])
            except (IndexError, KeyError, TypeError):
                break
    return str(target.get("image_id", index))


def draw_item(dataset: Any, index: int, seed: int, class_names: Sequence[str], *, zoom: float = 1.0,
              device_erasing: Any = None, title_prefix: str = "") -> DrawnSample:
    """Draw ``dataset[index]`` through the dataset's transforms, seeded with ``item_seed(seed, index)``.

    Args:
        dataset: a detection dataset whose ``transforms`` record their plan
            (albumentations ``save_applied_params=True``, or the torchvision transform's
            ``plan_key``); ``target["masks"]`` is drawn when present.
        index: the item.
        seed: the drawing's seed.
        class_names: names of labels 1, 2, ...
        zoom: drawing scale. Default 1.0.
        device_erasing: a :class:`~detaug.erasing.BatchedBoxAwareRandomErasing` applied to
            the image as the training engine applies it to a batch (configs that erase
            on the device). Default None.
        title_prefix: text before the image id in the title. Default "".

    Returns:
        The :class:`DrawnSample`.
    """
    import torch

    transforms = getattr(dataset, "transforms", None)
    if hasattr(transforms, "set_random_seed"):  # albumentations: one generator per transform
        transforms.set_random_seed(item_seed(seed, index))
    torch.manual_seed(item_seed(seed, index))  # the torchvision transforms and the device path
    image, target = dataset[index]
    plan = find_plan(target)
    if device_erasing is not None:
        from detaug.erasing import regions_to_plans

        (image,), _ = device_erasing([image], [target])
        plan = regions_to_plans(device_erasing.last_regions, [tuple(image.shape[-2:])], device_erasing.erasing.fill)[0]
    masks = target.get("masks")
    drawing = draw_sample(image, np.asarray(target["boxes"]), target["labels"], plan, class_names, zoom=zoom,
                          masks=masks)
    title = f"{title_prefix}{_image_name(dataset, index, target)} ({0 if plan is None else len(plan)} erased)"
    return DrawnSample(drawing, title, plan, len(target["boxes"]), masks is not None)


def draw_items(dataset: Any, indices: Sequence[int], seed: int, class_names: Sequence[str], *, zoom: float = 1.0,
               device_erasing: Any = None, title_prefix: str = "") -> List[DrawnSample]:
    """:func:`draw_item` for each index (arguments as there)."""
    return [draw_item(dataset, i, seed, class_names, zoom=zoom, device_erasing=device_erasing, title_prefix=title_prefix)
            for i in indices]


def compare_caption(drawn: Dict[str, List[DrawnSample]]) -> str:
    """What "same seed" means in a comparison of modes, as the drawn plans show it.

    Args:
        drawn: mode name -> the items drawn under it (the same items in the same order),
            with at least ``"ire"``, ``"ore"`` and ``"i+ore"``.

    Returns:
        :data:`UNION_CAPTION` when every I+ORE plan is its IRE plan's image-level regions
        plus its ORE plan's box regions (:func:`detaug.vis.is_union`), else
        :data:`SEED_ONLY_CAPTION`.
    """
    rows = zip(drawn["i+ore"], drawn["ire"], drawn["ore"])
    union = all(is_union(iore.plan, ire.plan, ore.plan) for iore, ire, ore in rows)
    return UNION_CAPTION if union else SEED_ONLY_CAPTION
