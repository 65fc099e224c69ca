"""How much of each box an erase plan leaves visible (for the opt-in drop policy)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from detaug.erasing.plan import ErasePlan


def box_visibility(boxes: np.ndarray, plan: ErasePlan, image_size: Sequence[int] | None = None) -> np.ndarray:
    """Fraction of each box's area (clipped to the image) not covered by the plan's regions.

    Overlapping regions are counted once (exact union area, by coordinate compression).
    Boxes with no area inside the image get visibility 1: erasing did not hide them.

    Args:
        boxes: ``[N, >=4]`` ``x1, y1, x2, y2`` in absolute continuous pixels.
        plan: the erased regions.
        image_size: ``(height, width)``; default ``plan.image_size``.

    Returns:
        float64 ``[N]`` in ``[0, 1]``.

    Examples:
        >>> plan = ErasePlan(np.array([[0, 0, 5, 10], [3, 0, 8, 10]]), np.array([-1, -1]), image_size=(10, 10))
        >>> box_visibility(np.array([[0.0, 0.0, 10.0, 10.0], [8, 0, 10, 10]]), plan).round(6).tolist()
        [0.2, 1.0]
    """
    height, width = plan.image_size if image_size is None else (int(image_size[0]), int(image_size[1]))
    boxes = np.asarray(boxes, dtype=np.float64).reshape(len(boxes), -1)[:, :4] if len(boxes) else np.zeros((0, 4))
    visibility = np.ones(len(boxes))
    if len(plan) == 0 or len(boxes) == 0:
        return visibility
    clipped = np.clip(np.nan_to_num(boxes), 0.0, [width, height, width, height])
    rects = plan.rects.astype(np.float64)
    for i, (x1, y1, x2, y2) in enumerate(clipped):
        area = (x2 - x1) * (y2 - y1)
        if area <= 0:
            continue
        inter = np.concatenate(
            [np.maximum(rects[:, :2], [x1, y1]), np.minimum(rects[:, 2:], [x2, y2])], axis=1
        )
        inter = inter[(inter[:, 2] > inter[:, 0]) & (inter[:, 3] > inter[:, 1])]
        if len(inter) == 0:
            continue
        xs = np.unique(inter[:, [0, 2]])
        ys = np.unique(inter[:, [1, 3]])
        cx = (xs[:-1] + xs[1:]) / 2
        cy = (ys[:-1] + ys[1:]) / 2
        inside_x = (inter[:, None, 0] <= cx) & (cx < inter[:, None, 2])  # [R, X]
        inside_y = (inter[:, None, 1] <= cy) & (cy < inter[:, None, 3])  # [R, Y]
        covered = (inside_y[:, :, None] & inside_x[:, None, :]).any(axis=0)  # [Y, X]
        covered_area = (np.diff(ys)[:, None] * np.diff(xs)[None, :] * covered).sum()
        visibility[i] = max(0.0, 1.0 - covered_area / area)
    return visibility
