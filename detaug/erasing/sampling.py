"""Sampling: draw the erased regions of one image (Algorithm 1 of the paper, vectorised).

Every region is drawn inside an *area*: the whole image (IRE) or the part of a
ground-truth box that covers whole pixels (ORE). For each area, all ``max_attempts``
candidate sizes are drawn at once; the first candidate that fits is kept and its
position is drawn uniformly among the positions where it fits. There is no Python
loop over attempts or boxes.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from detaug.erasing.params import ErasingParams
from detaug.erasing.plan import IMAGE_LEVEL, ErasePlan

#: Attempts drawn in the first round; areas with no fitting size draw the rest of
#: their ``max_attempts`` in a second round. The result has the same distribution as
#: drawing all attempts at once (attempts are independent); it only saves work.
_FIRST_ROUND = 8
_EPS = 1e-6

RandomLike = Union[np.random.Generator, int, None]


def as_generator(rng: RandomLike) -> np.random.Generator:
    """A numpy Generator from a Generator, a seed, or None (fresh OS entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def box_areas(boxes: np.ndarray, image_size: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole-pixel interiors of boxes clipped to the image, and their continuous areas.

    Args:
        boxes: float array ``[N, 4]`` of ``x1, y1, x2, y2`` in continuous pixel coordinates.
        image_size: ``(height, width)``.

    Returns:
        ``(interior, area, valid)``: int64 ``[N, 4]`` pixel-edge xyxy of the largest
        whole-pixel rectangle inside each clipped box, float ``[N]`` area of the clipped
        box (the paper's S for ORE), and bool ``[N]``: the interior is at least one
        pixel wide and high (degenerate boxes get no region).

    Examples:
        >>> interior, area, valid = box_areas(np.array([[1.5, 2.0, 4.5, 9.0], [3, 3, 3.5, 8]]), (8, 10))
        >>> interior.tolist(), area.tolist(), valid.tolist()
        ([[2, 2, 4, 8], [3, 3, 3, 8]], [18.0, 2.5], [True, False])
    """
    height, width = int(image_size[0]), int(image_size[1])
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    finite = np.isfinite(boxes).all(axis=1)
    safe = np.where(finite[:, None], boxes, 0.0)
    clipped = np.clip(safe, 0.0, [width, height, width, height])
    lo = np.ceil(clipped[:, :2] - _EPS)
    hi = np.floor(clipped[:, 2:] + _EPS)
    interior = np.concatenate([lo, hi], axis=1).astype(np.int64)
    size = hi - lo
    valid = finite & (size[:, 0] >= 1) & (size[:, 1] >= 1)
    area = np.maximum(clipped[:, 2] - clipped[:, 0], 0.0) * np.maximum(clipped[:, 3] - clipped[:, 1], 0.0)
    return interior, area, valid


def _draw_sizes(
    rng: np.random.Generator,
    params: ErasingParams,
    target_area: np.ndarray,
    limit_w: np.ndarray,
    limit_h: np.ndarray,
    attempts: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``attempts`` candidate sizes per area; return the first that fits."""
    n = len(target_area)
    s = rng.uniform(params.scale[0], params.scale[1], size=(n, attempts))
    if params.ratio_sampling == "log":
        r = np.exp(rng.uniform(np.log(params.ratio[0]), np.log(params.ratio[1]), size=(n, attempts)))
    else:
        r = rng.uniform(params.ratio[0], params.ratio[1], size=(n, attempts))
    erase_area = s * target_area[:, None]
    h = np.rint(np.sqrt(erase_area * r))
    w = np.rint(np.sqrt(erase_area / r))
    fits = (h >= 1) & (w >= 1) & (h <= limit_h[:, None]) & (w <= limit_w[:, None])
    first = fits.argmax(axis=1)
    rows = np.arange(n)
    return fits[rows, first], h[rows, first].astype(np.int64), w[rows, first].astype(np.int64)


def sample_regions(
    rng: np.random.Generator,
    params: ErasingParams,
    areas: np.ndarray,
    target_area: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one region inside each area.

    Args:
        rng: the source of randomness.
        params: sampling arguments (``scale``, ``ratio``, ``ratio_sampling``, ``max_attempts``).
        areas: int64 ``[A, 4]`` pixel-edge xyxy of the rectangles to draw inside.
        target_area: float ``[A]``, the area ``S`` that ``scale`` is a fraction of.

    Returns:
        ``(rects, found)``: int64 ``[A, 4]`` regions (meaningful where ``found``) and
        bool ``[A]``, whether a fitting size was found within ``max_attempts``.
    """
    n = len(areas)
    limit_w = areas[:, 2] - areas[:, 0]
    limit_h = areas[:, 3] - areas[:, 1]
    first_round = min(params.max_attempts, _FIRST_ROUND)
    found, h, w = _draw_sizes(rng, params, target_area, limit_w, limit_h, first_round)
    rest = params.max_attempts - first_round
    if rest > 0 and not found.all():
        retry = np.flatnonzero(~found)
        found_r, h_r, w_r = _draw_sizes(rng, params, target_area[retry], limit_w[retry], limit_h[retry], rest)
        found[retry], h[retry], w[retry] = found_r, h_r, w_r
    u = rng.random(size=(n, 2))
    x1 = areas[:, 0] + np.floor(u[:, 0] * (limit_w - w + 1)).astype(np.int64)
    y1 = areas[:, 1] + np.floor(u[:, 1] * (limit_h - h + 1)).astype(np.int64)
    rects = np.stack([x1, y1, x1 + w, y1 + h], axis=1)
    return rects, found


def sample_plan(
    image_size: Sequence[int],
    boxes: Optional[np.ndarray],
    params: ErasingParams,
    rng: RandomLike = None,
) -> ErasePlan:
    """Draw the regions to erase in one image.

    Image-level regions (IRE, I+ORE) are erased with probability ``params.image_p``;
    ``params.count`` of them, each with ``1 / count`` of the area (as timm). Then each
    box (ORE, I+ORE) independently with probability ``params.object_p`` gets one
    region inside it, its area a fraction ``scale`` of the box's area.

    Args:
        image_size: ``(height, width)`` (extra trailing entries such as channels are ignored).
        boxes: ``[N, >=4]`` array of ``x1, y1, x2, y2`` in absolute continuous pixels, or
            None. Boxes partly outside the image are clipped; boxes under one whole
            pixel after clipping get no region.
        params: validated arguments.
        rng: a numpy Generator, a seed, or None.

    Returns:
        The plan; empty (no warning) when nothing is erased.

    Examples:
        >>> params = ErasingParams(mode="ore", object_p=1.0)
        >>> plan = sample_plan((100, 120), np.array([[10, 10, 60, 50]]), params, rng=0)
        >>> plan.source.tolist()
        [0]
        >>> x1, y1, x2, y2 = plan.rects[0]
        >>> bool(10 <= x1 < x2 <= 60 and 10 <= y1 < y2 <= 50)
        True
    """
    rng = as_generator(rng)
    height, width = int(image_size[0]), int(image_size[1])
    seed = int(rng.integers(0, 2**63 - 1))
    parts_areas, parts_target, parts_source = [], [], []

    if params.uses_image and height > 0 and width > 0:
        erase_image = rng.random() < params.image_p
        count = params.count if isinstance(params.count, int) else int(rng.integers(params.count[0], params.count[1] + 1))
        if erase_image:
            parts_areas.append(np.tile(np.array([[0, 0, width, height]], np.int64), (count, 1)))
            parts_target.append(np.full(count, height * width / count, np.float64))
            parts_source.append(np.full(count, IMAGE_LEVEL, np.int64))

    if params.uses_objects and boxes is not None:
        boxes = np.asarray(boxes, dtype=np.float64)
        boxes = boxes.reshape(len(boxes), -1)[:, :4] if boxes.size else np.zeros((0, 4))
        if len(boxes):
            chosen = rng.random(len(boxes)) < params.object_p
            interior, area, valid = box_areas(boxes, (height, width))
            keep = np.flatnonzero(chosen & valid)
            parts_areas.append(interior[keep])
            parts_target.append(area[keep])
            parts_source.append(keep.astype(np.int64))

    if not parts_areas or sum(len(a) for a in parts_areas) == 0:
        return ErasePlan.empty((height, width), params.fill, seed)
    areas = np.concatenate(parts_areas)
    rects, found = sample_regions(rng, params, areas, np.concatenate(parts_target))
    source = np.concatenate(parts_source)
    return ErasePlan(rects[found], source[found], params.fill, seed, (height, width))
