"""Sampling: draw the regions to erase in one image (the paper's Algorithm 1, per area).

Every region is drawn inside an *area*: the whole image (IRE) or the whole pixels of a
ground-truth box (ORE). Per area, attempts are drawn a round at a time: each attempt is
an area fraction ``U(s_l, s_h)``, an aspect ratio and a position; the first attempt that
fits is kept. With ``placement="fit"`` (the authors' code, torchvision, timm) the
position is uniform among those where the size fits, so only the size can fail; with
``placement="paper"`` (Algorithm 1 as printed) the point is uniform over the whole area
and the attempt fails when the region sticks out.

Image-level and box regions come from two independent streams split off the caller's
generator, so for one seed the I+ORE plan is the IRE plan's image regions plus the ORE
plan's box regions.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from detaug.erasing.params import ErasingParams
from detaug.erasing.plan import IMAGE_LEVEL, ErasePlan

#: Attempts drawn together. Most areas fit on the first attempt, so a small round keeps
#: the draw cheap; areas without a fit draw the next round, up to ``max_attempts``.
ATTEMPTS_PER_ROUND = 10
#: A box edge this close to a whole pixel counts as on it (coordinates that went through
#: a format conversion come back as 9.999999 for 10). Boxes are float64 here.
EDGE_EPS = 1e-6

RandomLike = Union[np.random.Generator, int, None]


def as_generator(rng: RandomLike) -> np.random.Generator:
    """A numpy Generator from a Generator, a seed, or None (fresh OS entropy)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def check_boxes(boxes: Any, name: str = "boxes") -> np.ndarray:
    """Boxes as float64 ``[N, 4]`` absolute xyxy (extra columns such as labels dropped).

    Raises:
        ValueError: not a 2-D array with at least 4 columns, or non-finite values.

    Examples:
        >>> check_boxes([[1, 2, 3, 4, 7]]).tolist()
        [[1.0, 2.0, 3.0, 4.0]]
    """
    array = np.asarray(boxes, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 4))
    if array.ndim != 2 or array.shape[1] < 4:
        raise ValueError(f"{name} must have shape (N, 4) or (N, >4) of x1, y1, x2, y2 in pixels, got shape {array.shape}")
    if not np.isfinite(array[:, :4]).all():
        raise ValueError(f"{name} must be finite, got {array[~np.isfinite(array[:, :4]).all(axis=1)][0, :4].tolist()}")
    return array[:, :4]


def clip_boxes(boxes: np.ndarray, image_size: Sequence[int]) -> np.ndarray:
    """Boxes ``[N, 4]`` clipped to the image ``(height, width)``."""
    height, width = int(image_size[0]), int(image_size[1])
    return np.clip(boxes, 0.0, np.array([width, height, width, height], np.float64))


def box_interiors(boxes: np.ndarray, image_size: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The whole-pixel interior of each box clipped to the image, and the box's area.

    Args:
        boxes: float ``[N, 4]`` of ``x1, y1, x2, y2`` in continuous pixel coordinates.
        image_size: ``(height, width)``.

    Returns:
        ``(interior, area, valid)``: int64 ``[N, 4]`` pixel-edge xyxy of the largest
        whole-pixel rectangle inside each clipped box (edges within :data:`EDGE_EPS`
        of a whole pixel snap to it), float ``[N]`` area of the clipped box (the
        paper's S for ORE), and bool ``[N]``: the interior is at least one pixel wide
        and high (smaller boxes get no region).

    Examples:
        >>> interior, area, valid = box_interiors(np.array([[1.5, 2.0, 4.5, 9.0], [3, 3, 3.5, 8]]), (8, 10))
        >>> interior.tolist(), area.tolist(), valid.tolist()
        ([[2, 2, 4, 8], [3, 3, 3, 8]], [18.0, 2.5], [True, False])
    """
    clipped = clip_boxes(np.asarray(boxes, np.float64).reshape(-1, 4), image_size)
    low = np.ceil(clipped[:, :2] - EDGE_EPS)
    high = np.floor(clipped[:, 2:] + EDGE_EPS)
    interior = np.concatenate([low, high], axis=1).astype(np.int64)
    extent = np.maximum(clipped[:, 2:] - clipped[:, :2], 0.0)
    valid = ((high - low) >= 1).all(axis=1)
    return interior, extent[:, 0] * extent[:, 1], valid


def _first_fit(u: np.ndarray, limits: np.ndarray, target_area: np.ndarray, params: ErasingParams):
    """One round of attempts. ``u``: uniforms ``[A, n, 4]`` (area, ratio, x, y); ``limits``: ``[A, 2]`` (w, h).

    Returns ``(found [A], offsets [A, 4])``: the first fitting attempt's rectangle relative
    to the area's top-left corner (zeros where none fits).
    """
    s_lo, s_hi = params.scale
    r_lo, r_hi = params.ratio
    side = np.sqrt((u[..., 0] * (s_hi - s_lo) + s_lo) * target_area[:, None])  # sqrt(S_e)
    if params.ratio_sampling == "log":
        root_r = np.exp((u[..., 1] * (np.log(r_hi) - np.log(r_lo)) + np.log(r_lo)) / 2)
    else:
        root_r = np.sqrt(u[..., 1] * (r_hi - r_lo) + r_lo)
    # H_e = sqrt(S_e r_e), W_e = sqrt(S_e / r_e), rounded half to even as the authors' round();
    # taking the roots apart keeps absurd ratios finite (they never fit).
    h, w = np.rint(side * root_r), np.rint(side / root_r)
    width, height = limits[:, :1], limits[:, 1:]
    if params.placement == "fit":
        fits = (w >= 1) & (h >= 1) & (w <= width) & (h <= height)
        x, y = np.floor(u[..., 2] * (width - w + 1)), np.floor(u[..., 3] * (height - h + 1))
    else:  # the paper: a point anywhere in the area, kept only if the region fits there
        x, y = np.floor(u[..., 2] * width), np.floor(u[..., 3] * height)
        fits = (w >= 1) & (h >= 1) & (x + w <= width) & (y + h <= height)
    rows, first = np.arange(len(u)), fits.argmax(axis=1)
    found = fits[rows, first]
    x, y, w, h = (np.where(found, v[rows, first], 0).astype(np.int64) for v in (x, y, w, h))
    return found, np.stack([x, y, x + w, y + h], axis=1)


def draw_regions(
    rng: np.random.Generator,
    areas: np.ndarray,
    target_area: np.ndarray,
    params: ErasingParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one region inside each area: attempts a round at a time, the first that fits.

    Args:
        rng: the source of randomness.
        params: ``scale``, ``ratio``, ``ratio_sampling``, ``placement``, ``max_attempts``.
        areas: int64 ``[A, 4]`` pixel-edge xyxy of the rectangles to draw inside.
        target_area: float ``[A]``, the area ``S`` that ``scale`` is a fraction of.

    Returns:
        ``(rects, found)``: int64 ``[A, 4]`` regions (zeros where not found) and bool
        ``[A]``, whether an attempt fitted within ``max_attempts``.

    Examples:
        >>> params = ErasingParams(scale=(0.25, 0.25), ratio=(1.0, 1.0))
        >>> rects, found = draw_regions(np.random.default_rng(0), np.array([[0, 0, 8, 8]]), np.array([64.0]), params)
        >>> found.tolist(), (rects[:, 2:] - rects[:, :2]).tolist()
        ([True], [[4, 4]])
    """
    areas = np.asarray(areas, dtype=np.int64).reshape(-1, 4)
    target_area = np.asarray(target_area, dtype=np.float64).reshape(-1)
    rects = np.zeros((len(areas), 4), np.int64)
    found = np.zeros(len(areas), bool)
    todo = np.arange(len(areas))
    for start in range(0, params.max_attempts, ATTEMPTS_PER_ROUND):
        n = min(ATTEMPTS_PER_ROUND, params.max_attempts - start)
        ok, offsets = _first_fit(rng.random((len(todo), n, 4)), areas[todo, 2:] - areas[todo, :2], target_area[todo], params)
        hit = todo[ok]
        rects[hit] = offsets[ok] + areas[hit][:, [0, 1, 0, 1]]
        found[hit] = True
        todo = todo[~ok]
        if len(todo) == 0:
            break
    return rects, found


def _image_areas(rng: np.random.Generator, height: int, width: int, params: ErasingParams):
    """Image-level areas: with probability ``image_p``, ``count`` copies of the image, each with 1/count of its area."""
    if height <= 0 or width <= 0 or rng.random() >= params.image_p:
        return np.zeros((0, 4), np.int64), np.zeros(0), np.zeros(0, np.int64)
    count = params.count if isinstance(params.count, int) else int(rng.integers(params.count[0], params.count[1] + 1))
    areas = np.tile(np.array([[0, 0, width, height]], np.int64), (count, 1))
    return areas, np.full(count, height * width / count), np.full(count, IMAGE_LEVEL, np.int64)


def _object_areas(rng: np.random.Generator, boxes: np.ndarray, labels: Any, image_size: Sequence[int], params: ErasingParams):
    """Box areas: each box independently with its probability, if a whole pixel fits inside it."""
    chosen = np.flatnonzero(rng.random(len(boxes)) < params.object_probabilities(labels, len(boxes)))
    interior, area, valid = box_interiors(boxes[chosen], image_size)
    return interior[valid], area[valid], chosen[valid]


def sample_plan(
    image_size: Sequence[int],
    boxes: Optional[Any],
    params: ErasingParams,
    rng: RandomLike = None,
    labels: Optional[Sequence[Any]] = None,
) -> ErasePlan:
    """Draw the regions to erase in one image.

    Image-level regions (IRE, I+ORE) are erased with probability ``params.image_p``;
    ``params.count`` of them, each with ``1 / count`` of the area (as timm). Each box
    (ORE, I+ORE) independently gets one region inside it with probability
    ``params.object_p`` (per class when it is a mapping), its area a fraction
    ``scale`` of the box's area.

    Args:
        image_size: ``(height, width)`` (extra trailing entries such as channels are ignored).
        boxes: ``[N, >=4]`` array of ``x1, y1, x2, y2`` in absolute continuous pixels, or
            None. Boxes partly outside the image are clipped; boxes under one whole
            pixel after clipping get no region.
        params: validated arguments.
        rng: a numpy Generator, a seed, or None.
        labels: one label per box; needed only for a per-class ``object_p``.

    Returns:
        The plan; empty (no warning) when nothing is erased.

    Raises:
        ValueError: boxes that are not ``[N, >=4]`` finite numbers; a per-class
            ``object_p`` without one label per box.

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
    fill_seed, image_seed, object_seed = (int(s) for s in rng.integers(0, 2**63, size=3))
    boxes = None if boxes is None else check_boxes(boxes)
    parts = []
    if params.uses_image:
        stream = np.random.default_rng(image_seed)
        parts.append(_regions(stream, *_image_areas(stream, height, width, params), params))
    if params.uses_objects and boxes is not None and len(boxes):
        stream = np.random.default_rng(object_seed)
        parts.append(_regions(stream, *_object_areas(stream, boxes, labels, (height, width), params), params))
    if not any(len(source) for _, source in parts):
        return ErasePlan.empty((height, width), params.fill, fill_seed)
    rects, sources = zip(*parts)
    return ErasePlan(np.concatenate(rects), np.concatenate(sources), params.fill, fill_seed, (height, width))


def _regions(stream: np.random.Generator, areas: np.ndarray, target: np.ndarray, source: np.ndarray, params: ErasingParams):
    """The regions found in ``areas`` and their sources (areas without a fitting attempt are dropped)."""
    if len(areas) == 0:
        return np.zeros((0, 4), np.int64), source
    rects, found = draw_regions(stream, areas, target, params)
    return rects[found], source[found]
