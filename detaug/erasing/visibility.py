"""What an erase plan leaves visible: of each box or instance mask (the drop policy), and of keypoints."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from detaug.erasing.plan import ErasePlan
from detaug.erasing.sampling import check_masks, clip_boxes


def erased_pixels(plan: ErasePlan) -> np.ndarray:
    """The pixels the plan erases, bool ``(H, W)`` (regions, or their masks' pixels).

    Examples:
        >>> plan = ErasePlan(np.array([[1, 0, 3, 2]]), np.array([-1]), image_size=(3, 4))
        >>> erased_pixels(plan).astype(int).tolist()
        [[0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    """
    erased = np.zeros(plan.image_size, bool)
    masks = plan.region_masks if plan.region_masks is not None else [None] * len(plan)
    for (x1, y1, x2, y2), mask in zip(plan.rects.tolist(), masks):
        erased[y1:y2, x1:x2] |= True if mask is None else mask
    return erased


def box_visibility(
    boxes: np.ndarray,
    plan: ErasePlan,
    image_size: Optional[Sequence[int]] = None,
    masks: Optional[Any] = None,
) -> np.ndarray:
    """Fraction of each object the plan leaves visible: of its instance mask's pixels where
    a mask is given, else of its box's area (clipped to the image).

    Box areas are measured exactly in continuous coordinates (overlapping regions counted
    once, by coordinate compression; where regions erase only an object's pixels,
    ``erase_within="mask"``, by the erased pixels inside the box); masks by pixel count. Objects with no area inside
    the image, or an empty mask, get visibility 1: erasing did not hide them.

    Args:
        boxes: ``[N, >=4]`` ``x1, y1, x2, y2`` in absolute continuous pixels.
        plan: the erased regions.
        image_size: ``(height, width)``; default ``plan.image_size``.
        masks: instance masks, one per box (``[N, H, W]`` or a list with None entries).

    Returns:
        float64 ``[N]`` in ``[0, 1]``.

    Examples:
        >>> plan = ErasePlan(np.array([[0, 0, 5, 10], [3, 0, 8, 10]]), np.array([-1, -1]), image_size=(10, 10))
        >>> box_visibility(np.array([[0.0, 0.0, 10.0, 10.0], [8, 0, 10, 10]]), plan).round(6).tolist()
        [0.2, 1.0]
    """
    size = plan.image_size if image_size is None else (int(image_size[0]), int(image_size[1]))
    boxes = np.asarray(boxes, dtype=np.float64).reshape(len(boxes), -1)[:, :4] if len(boxes) else np.zeros((0, 4))
    visibility = np.ones(len(boxes))
    if len(plan) == 0 or len(boxes) == 0:
        return visibility
    rects = plan.rects.astype(np.float64)
    # regions that erase only an object's pixels (erase_within="mask") hide only those pixels
    erased = erased_pixels(plan) if plan.region_masks is not None or masks is not None else None
    for i, box in enumerate(clip_boxes(boxes, size)):
        visibility[i] = _box_visibility(box, rects) if plan.region_masks is None else _pixel_visibility(box, erased)
    if masks is not None:
        for i, mask in enumerate(check_masks(masks, len(boxes), size)):
            pixels = 0 if mask is None else int(mask.sum())
            if pixels:
                visibility[i] = 1.0 - int((mask & erased).sum()) / pixels
    return visibility


def _box_visibility(box: np.ndarray, rects: np.ndarray) -> float:
    x1, y1, x2, y2 = box
    area = (x2 - x1) * (y2 - y1)
    if area <= 0:
        return 1.0
    inter = np.concatenate([np.maximum(rects[:, :2], [x1, y1]), np.minimum(rects[:, 2:], [x2, y2])], axis=1)
    inter = inter[(inter[:, 2] > inter[:, 0]) & (inter[:, 3] > inter[:, 1])]
    if len(inter) == 0:
        return 1.0
    xs, ys = np.unique(inter[:, [0, 2]]), np.unique(inter[:, [1, 3]])
    cx, cy = (xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2
    inside_x = (inter[:, None, 0] <= cx) & (cx < inter[:, None, 2])  # [R, X]
    inside_y = (inter[:, None, 1] <= cy) & (cy < inter[:, None, 3])  # [R, Y]
    covered = (inside_y[:, :, None] & inside_x[:, None, :]).any(axis=0)  # [Y, X]
    covered_area = (np.diff(ys)[:, None] * np.diff(xs)[None, :] * covered).sum()
    return max(0.0, 1.0 - covered_area / area)


def _pixel_visibility(box: np.ndarray, erased: np.ndarray) -> float:
    """The unerased fraction of a (clipped) box's area, for erased whole pixels: each pixel
    counts with the part of it inside the box, so the area is exact."""
    x1, y1, x2, y2 = box
    area = (x2 - x1) * (y2 - y1)
    if area <= 0:
        return 1.0
    c0, c1, r0, r1 = int(np.floor(x1)), int(np.ceil(x2)), int(np.floor(y1)), int(np.ceil(y2))
    cols, rows = np.arange(c0, c1), np.arange(r0, r1)
    wx = np.minimum(cols + 1, x2) - np.maximum(cols, x1)
    wy = np.minimum(rows + 1, y2) - np.maximum(rows, y1)
    covered = float(wy @ erased[r0:r1, c0:c1].astype(np.float64) @ wx)
    return max(0.0, 1.0 - covered / area)


def keypoints_erased(keypoints: np.ndarray, plan: ErasePlan) -> np.ndarray:
    """Whether each keypoint ``(x, y)`` (continuous pixels) lies on an erased pixel, bool ``[...]``.

    A keypoint at ``(x, y)`` is in pixel ``(floor(x), floor(y))``; keypoints outside the
    image are never erased.

    Examples:
        >>> plan = ErasePlan(np.array([[0, 0, 2, 2]]), np.array([-1]), image_size=(4, 4))
        >>> keypoints_erased(np.array([[1.5, 1.9], [2.0, 0.0], [-1.0, 0.0]]), plan).tolist()
        [True, False, False]
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    flags = np.zeros(keypoints.shape[:-1], bool)
    if len(plan) == 0 or keypoints.size == 0:
        return flags
    height, width = plan.image_size
    col, row = np.floor(keypoints[..., 0]), np.floor(keypoints[..., 1])
    inside = np.isfinite(col) & np.isfinite(row) & (col >= 0) & (row >= 0) & (col < width) & (row < height)
    erased = erased_pixels(plan)
    flags[inside] = erased[row[inside].astype(np.int64), col[inside].astype(np.int64)]
    return flags
