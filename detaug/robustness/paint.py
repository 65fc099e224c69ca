"""Paint an :class:`~detaug.robustness.occluders.OcclusionPlan` onto an image (the plan's pure apply)."""

from __future__ import annotations

from typing import Any

import numpy as np

from detaug.robustness.occluders import GREY, Occluder, OcclusionPlan

__all__ = ["paint"]

_CONSTANT = {"grey": GREY, "black": 0}


def _pixels(occ: Occluder, objects: Any) -> np.ndarray:
    """The ``(h, w, 3)`` uint8 content of an occluder."""
    h, w = occ.shape.shape
    if occ.fill in _CONSTANT:
        return np.full((h, w, 3), _CONSTANT[occ.fill], np.uint8)
    from PIL import Image

    y0, x0, y1, x1 = occ.donor_box
    crop = Image.fromarray(objects.image(occ.donor)[y0:y1, x0:x1])
    return np.asarray(crop.resize((w, h), Image.BILINEAR))


def paint(image: np.ndarray, plan: OcclusionPlan, objects: Any) -> np.ndarray:
    """Return a copy of ``image`` (HWC uint8) with the plan's occluders painted in order.

    Args:
        image: the clean image the plan was drawn for.
        plan: its occlusion plan.
        objects: the :class:`~detaug.robustness.masks.DatasetObjects` the plan's donors
            come from (their pixels are read from it).

    Raises:
        ValueError: the image is not the plan's size.

    Examples:
        >>> from detaug.robustness.occluders import Level
        >>> occ = Occluder(-1, 1, np.ones((2, 2), bool), "black")
        >>> plan = OcclusionPlan("black", Level(0.2, 0.4), (3, 4), [occ])
        >>> paint(np.full((3, 4, 3), 9, np.uint8), plan, None)[..., 0]
        array([[9, 0, 0, 9],
               [9, 9, 9, 9],
               [9, 9, 9, 9]], dtype=uint8)
    """
    if tuple(image.shape[:2]) != tuple(plan.image_shape):
        raise ValueError(f"the plan is for a {plan.image_shape} image, got {image.shape[:2]}")
    if plan.erase_plan is not None:
        from detaug.erasing import apply_plan

        return apply_plan(image, plan.erase_plan)
    out = image.copy()
    for occ in plan.occluders:
        rows, cols, part = occ.region(plan.image_shape)
        if part.any():
            pixels = _pixels(occ, objects)
            r0, c0 = rows.start - occ.y, cols.start - occ.x
            window = pixels[r0:r0 + part.shape[0], c0:c0 + part.shape[1]]
            out[rows, cols][part] = window[part]
    return out
