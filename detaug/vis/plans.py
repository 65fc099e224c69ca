"""Reading erasing plans for drawing: where a transform recorded its plan, and what a plan is made of.

Nothing here draws; :mod:`detaug.vis.draw` draws what these functions find.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from detaug.erasing.plan import IMAGE_LEVEL, ErasePlan

#: Source index of regions erased inside a box that a ``min_visibility`` policy then
#: dropped (set by :func:`remap_dropped`).
DROPPED = -2


def remap_dropped(plan: ErasePlan, keep: Optional[np.ndarray]) -> ErasePlan:
    """Re-index a plan's sources to the boxes that survived a drop policy.

    Regions inside a kept box point at its new index; regions inside a dropped box get
    source :data:`DROPPED` (``-2``); image-level regions stay ``-1``.

    Args:
        plan: the plan as sampled, sources indexing the input boxes.
        keep: boolean ``[N]``, which input boxes the transform kept; None keeps all.

    Returns:
        The plan with re-indexed sources (the same plan when ``keep`` is None).

    Examples:
        >>> plan = ErasePlan(np.zeros((3, 4)), np.array([-1, 0, 2]), image_size=(5, 5))
        >>> remap_dropped(plan, np.array([False, True, True])).source.tolist()
        [-1, -2, 1]
    """
    if keep is None:
        return plan
    keep = np.asarray(keep, bool)
    new_index = np.where(keep, np.cumsum(keep) - 1, DROPPED)
    source = np.where(plan.source >= 0, new_index[np.clip(plan.source, 0, None)], plan.source)
    return ErasePlan(plan.rects, source, plan.fill, plan.seed, plan.image_size)


def find_plan(target: dict) -> Optional[ErasePlan]:
    """The erasing plan recorded in a target, or None.

    The torchvision-v2 transform stores it under ``target["erasing_plan"]``; an
    albumentations ``Compose(save_applied_params=True)`` under
    ``target["applied_transforms"]``. With albumentations, regions inside boxes that
    ``min_visibility`` dropped are re-indexed (:func:`remap_dropped`), so that colours
    still match the surviving boxes.

    Args:
        target: a dataset target after the transforms.

    Returns:
        The plan, or None when no erasing transform recorded one.

    Examples:
        >>> plan = ErasePlan.empty((2, 2))
        >>> find_plan({"erasing_plan": plan}) is plan, find_plan({}) is None
        (True, True)
        >>> find_plan({"applied_transforms": [("HorizontalFlip", {}), ("E", {"plan": plan})]}) is plan
        True
    """
    plan = target.get("erasing_plan")
    if isinstance(plan, ErasePlan):
        return plan
    for _name, params in target.get("applied_transforms", []) or []:
        if isinstance(params, dict) and isinstance(params.get("plan"), ErasePlan):
            return remap_dropped(params["plan"], params.get("keep"))
    return None


def _regions(plan: Optional[ErasePlan], image_level: bool) -> set:
    """The plan's ``(x1, y1, x2, y2, source)`` tuples, image-level ones or box ones."""
    if plan is None:
        return set()
    chosen = (plan.source == IMAGE_LEVEL) if image_level else (plan.source != IMAGE_LEVEL)
    return {(*map(int, rect), int(src)) for rect, src in zip(plan.rects[chosen], plan.source[chosen])}


def is_union(iore: Optional[ErasePlan], ire: Optional[ErasePlan], ore: Optional[ErasePlan]) -> bool:
    """Whether the I+ORE plan is exactly the IRE plan's image-level regions plus the ORE plan's box regions.

    This is what "same seed" means in the compare view, when the core draws the
    image-level and the box regions from independent streams. Compared as sets of
    ``(rect, source)``; a None plan counts as empty.

    Args:
        iore: the I+ORE plan of one image.
        ire: the IRE plan of the same image and seed.
        ore: the ORE plan of the same image and seed.

    Returns:
        True when the regions agree exactly.

    Examples:
        >>> ire = ErasePlan(np.array([[0, 0, 2, 2]]), np.array([-1]), image_size=(9, 9))
        >>> ore = ErasePlan(np.array([[4, 4, 6, 6]]), np.array([0]), image_size=(9, 9))
        >>> iore = ErasePlan(np.array([[0, 0, 2, 2], [4, 4, 6, 6]]), np.array([-1, 0]), image_size=(9, 9))
        >>> is_union(iore, ire, ore), is_union(ire, ire, ore)
        (True, False)
    """
    expected = _regions(ire, image_level=True) | _regions(ore, image_level=False)
    return (_regions(iore, True) | _regions(iore, False)) == expected
