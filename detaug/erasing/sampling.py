"""Sampling: draw the erased regions of one image (Algorithm 1 of the paper, vectorised).

Every region is drawn inside an *area*: the whole image (IRE) or the part of a
ground-truth box that covers whole pixels (ORE). For each area, all ``max_attempts``
candidate sizes are drawn at once; the first candidate that fits is kept and its
position is drawn uniformly among the positions where it fits.

Two code paths compute the same function of the same random numbers. With many areas
everything is numpy arrays (no Python loop over attempts or boxes). With at most
``_SCALAR_MAX`` areas (a few boxes: the common case), numpy's fixed cost per call on
tiny arrays dominates, so the first round of attempts is evaluated in plain Python
floats on the same uniforms (IEEE sqrt, division and half-to-even rounding give the
same sizes; with log-uniform ratios ``math.exp`` and numpy's ``exp`` can differ in the
last bit, which could change a size only at an exact rounding tie); areas that find no fit there go to the vectorised second round, so a
failure still costs microseconds.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import numpy as np

from detaug.erasing.params import ErasingParams
from detaug.erasing.plan import IMAGE_LEVEL, ErasePlan

#: Attempts drawn in the first round; areas with no fitting size draw the rest of
#: their ``max_attempts`` in a second round. The result has the same distribution as
#: drawing all attempts at once (attempts are independent); it only saves work.
_FIRST_ROUND = 8
_EPS = 1e-6
#: Up to this many areas (image-level regions + chosen boxes), the first round runs on Python floats.
_SCALAR_MAX = 12
_SIGNS = np.array([-1.0, -1.0, 1.0, 1.0])

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
    # Few numpy calls on tiny arrays: ufuncs on columns rather than axis reductions.
    finite = np.isfinite(boxes)
    finite = finite[:, 0] & finite[:, 1] & finite[:, 2] & finite[:, 3]
    if not finite.all():
        boxes = np.where(finite[:, None], boxes, 0.0)
    clipped = np.minimum(np.maximum(boxes, 0.0), np.array([width, height, width, height], np.float64))
    # One pass for both edges: ceil(x1 - eps) == -floor(-x1 + eps) (exact in floating point),
    # floor(x2 + eps) as is.
    interior = (np.floor(clipped * _SIGNS + _EPS) * _SIGNS).astype(np.int64)
    size = interior[:, 2:] - interior[:, :2]
    valid = finite & (np.minimum(size[:, 0], size[:, 1]) >= 1)
    extent = np.maximum(clipped[:, 2:] - clipped[:, :2], 0.0)
    return interior, extent[:, 0] * extent[:, 1], valid


def _draw_sizes(
    u: np.ndarray,
    params: ErasingParams,
    target_area: np.ndarray,
    limits: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate sizes from uniforms ``u`` ``[A, 2 * attempts]``; return the first that fits.

    Returns ``(found [A], size [A, 2] int64 as (width, height))``.
    """
    n, attempts = len(u), u.shape[1] // 2
    s_lo, s_hi = params.scale
    r_lo, r_hi = params.ratio
    erase_area = (u[:, :attempts] * (s_hi - s_lo) + s_lo) * target_area[:, None]
    if params.ratio_sampling == "log":
        log_lo = math.log(r_lo)
        r = np.exp(u[:, attempts:] * (math.log(r_hi) - log_lo) + log_lo)
    else:
        r = u[:, attempts:] * (r_hi - r_lo) + r_lo
    # sizes[:, 0] = width = sqrt(S_e / r), sizes[:, 1] = height = sqrt(S_e * r), rounded.
    sizes = np.empty((n, 2, attempts))
    np.sqrt(erase_area * r, out=sizes[:, 1])
    np.divide(sizes[:, 1], r, out=sizes[:, 0])
    np.rint(sizes, out=sizes)
    ok = (sizes >= 1) & (sizes <= limits[:, :, None])
    fits = ok[:, 0] & ok[:, 1]
    first = fits.argmax(axis=1)
    rows = np.arange(n)
    return fits[rows, first], sizes[rows, :, first].astype(np.int64)


def sample_regions(
    rng: np.random.Generator,
    params: ErasingParams,
    areas: np.ndarray,
    target_area: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one region inside each area.

    All areas and the first round of attempts are drawn with one call to the
    generator; areas with no fitting size draw the rest of their ``max_attempts`` in
    a second round (same distribution as drawing every attempt at once).

    Args:
        rng: the source of randomness.
        params: sampling arguments (``scale``, ``ratio``, ``ratio_sampling``, ``max_attempts``).
        areas: int64 ``[A, 4]`` pixel-edge xyxy of the rectangles to draw inside.
        target_area: float ``[A]``, the area ``S`` that ``scale`` is a fraction of.

    Returns:
        ``(rects, found)``: int64 ``[A, 4]`` regions (meaningful where ``found``) and
        bool ``[A]``, whether a fitting size was found within ``max_attempts``.

    Examples:
        >>> params = ErasingParams(scale=(0.25, 0.25), ratio=(1.0, 1.0))
        >>> rects, found = sample_regions(np.random.default_rng(0), params, np.array([[0, 0, 8, 8]]), np.array([64.0]))
        >>> found.tolist(), (rects[:, 2:] - rects[:, :2]).tolist()
        ([True], [[4, 4]])
    """
    areas = np.asarray(areas, dtype=np.int64).reshape(-1, 4)
    target_area = np.asarray(target_area, dtype=np.float64).reshape(-1)
    limits = areas[:, 2:] - areas[:, :2]  # (width, height) of each area
    first_round = min(params.max_attempts, _FIRST_ROUND)
    # Columns: scale draws, ratio draws, then the position (x, y).
    u = rng.random((len(areas), 2 * first_round + 2))
    found, size = _draw_sizes(u[:, :-2], params, target_area, limits)
    rest = params.max_attempts - first_round
    if rest > 0 and not found.all():
        retry = np.flatnonzero(~found)
        found_r, size_r = _draw_sizes(rng.random((len(retry), 2 * rest)), params, target_area[retry], limits[retry])
        found[retry], size[retry] = found_r, size_r
    top_left = areas[:, :2] + np.floor(u[:, -2:] * (limits - size + 1)).astype(np.int64)
    return np.concatenate([top_left, top_left + size], axis=1), found


def _box_area_scalar(box: list, width: int, height: int) -> tuple:
    """:func:`box_areas` for one box in plain Python floats (same operations, same results)."""
    x1, y1, x2, y2 = box
    if not (math.isfinite(x1) and math.isfinite(y1) and math.isfinite(x2) and math.isfinite(y2)):
        x1 = y1 = x2 = y2 = 0.0
        finite = False
    else:
        finite = True
    x1, x2 = min(max(x1, 0.0), width), min(max(x2, 0.0), width)
    y1, y2 = min(max(y1, 0.0), height), min(max(y2, 0.0), height)
    interior = [-math.floor(-x1 + _EPS), -math.floor(-y1 + _EPS), math.floor(x2 + _EPS), math.floor(y2 + _EPS)]
    valid = finite and min(interior[2] - interior[0], interior[3] - interior[1]) >= 1
    return interior, max(x2 - x1, 0.0) * max(y2 - y1, 0.0), valid


def _sample_regions_few(
    rng: np.random.Generator,
    params: ErasingParams,
    areas: list,
    target_area: list,
) -> tuple[list, list]:
    """:func:`sample_regions` for a few areas: first round in Python floats, same random stream."""
    n = len(areas)
    first_round = min(params.max_attempts, _FIRST_ROUND)
    stride = 2 * first_round + 2
    u = rng.random(n * stride).tolist()  # the same numbers as rng.random((n, stride))
    s_lo, s_hi = params.scale
    r_lo, r_hi = params.ratio
    log_ratio = params.ratio_sampling == "log"
    log_lo, log_span = (math.log(r_lo), math.log(r_hi) - math.log(r_lo)) if log_ratio else (0.0, 0.0)
    sizes, found = [], []
    for a in range(n):
        row = u[a * stride : (a + 1) * stride]
        x1, y1, x2, y2 = areas[a]
        limit_w, limit_h = x2 - x1, y2 - y1
        target = target_area[a]
        size = None
        for t in range(first_round):
            erase_area = (row[t] * (s_hi - s_lo) + s_lo) * target
            ur = row[first_round + t]
            r = math.exp(ur * log_span + log_lo) if log_ratio else ur * (r_hi - r_lo) + r_lo
            h_raw = math.sqrt(erase_area * r)
            h, w = round(h_raw), round(h_raw / r)
            if h >= 1 and w >= 1 and w <= limit_w and h <= limit_h:
                size = (w, h)
                break
        sizes.append(size)
        found.append(size is not None)
    rest = params.max_attempts - first_round
    if rest > 0 and not all(found):
        retry = [a for a in range(n) if not found[a]]
        limits = np.array([[areas[a][2] - areas[a][0], areas[a][3] - areas[a][1]] for a in retry], np.int64)
        targets = np.array([target_area[a] for a in retry], np.float64)
        found_r, size_r = _draw_sizes(rng.random((len(retry), 2 * rest)), params, targets, limits)
        for a, ok, wh in zip(retry, found_r.tolist(), size_r.tolist()):
            found[a], sizes[a] = ok, (wh if ok else None)
    rects = []
    for a in range(n):
        if sizes[a] is None:
            continue
        w, h = sizes[a]
        x1, y1, x2, y2 = areas[a]
        row = u[a * stride : (a + 1) * stride]
        left = x1 + math.floor(row[-2] * (x2 - x1 - w + 1))
        top = y1 + math.floor(row[-1] * (y2 - y1 - h + 1))
        rects.append([left, top, left + w, top + h])
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
    # The fill's seed: 63 random bits straight from the bit generator (cheaper than integers()).
    seed = int(rng.bit_generator.random_raw()) >> 1

    n_image = 0
    if params.uses_image and height > 0 and width > 0:
        erase_image = rng.random() < params.image_p
        count = params.count if isinstance(params.count, int) else int(rng.integers(params.count[0], params.count[1] + 1))
        n_image = count if erase_image else 0

    keep = interior = area = None
    if params.uses_objects and boxes is not None:
        boxes = np.asarray(boxes, dtype=np.float64)
        if boxes.size:
            boxes = boxes.reshape(len(boxes), -1)[:, :4]
            chosen = np.flatnonzero(rng.random(len(boxes)) < params.object_p)
            if n_image + len(chosen) <= _SCALAR_MAX:
                return _sample_plan_few(rng, params, height, width, seed, n_image, boxes[chosen].tolist(), chosen.tolist())
            if len(chosen):
                interior, area, valid = box_areas(boxes[chosen], (height, width))
                keep = chosen[valid]
                interior, area = interior[valid], area[valid]

    n_object = 0 if keep is None else len(keep)
    if n_image + n_object == 0:
        return ErasePlan.empty((height, width), params.fill, seed)
    if n_object == 0 and n_image <= _SCALAR_MAX:
        return _sample_plan_few(rng, params, height, width, seed, n_image, [], [])
    if n_object == 0:
        areas = np.array([[0, 0, width, height]] * n_image, np.int64)
        target = np.full(n_image, height * width / n_image)
        source = np.full(n_image, IMAGE_LEVEL, np.int64)
    elif n_image == 0:
        areas, target, source = interior, area, keep
    else:
        areas = np.concatenate([np.array([[0, 0, width, height]] * n_image, np.int64), interior])
        target = np.concatenate([np.full(n_image, height * width / n_image), area])
        source = np.concatenate([np.full(n_image, IMAGE_LEVEL, np.int64), keep])
    rects, found = sample_regions(rng, params, areas, target)
    if not found.all():
        rects, source = rects[found], source[found]
    return ErasePlan(rects, source, params.fill, seed, (height, width))


def _sample_plan_few(
    rng: np.random.Generator,
    params: ErasingParams,
    height: int,
    width: int,
    seed: int,
    n_image: int,
    chosen_boxes: list,
    chosen_index: list,
) -> ErasePlan:
    """The rest of :func:`sample_plan` for a few areas, on Python lists (same stream, same result)."""
    areas = [[0, 0, width, height]] * n_image
    target = [height * width / n_image] * n_image if n_image else []
    source = [IMAGE_LEVEL] * n_image
    for box, index in zip(chosen_boxes, chosen_index):
        interior, box_area, valid = _box_area_scalar(box, width, height)
        if valid:
            areas.append(interior)
            target.append(box_area)
            source.append(index)
    if not areas:
        return ErasePlan.empty((height, width), params.fill, seed)
    rects, found = _sample_regions_few(rng, params, areas, target)
    source = [src for src, ok in zip(source, found) if ok]
    return ErasePlan(np.array(rects, np.int64).reshape(-1, 4), np.array(source, np.int64), params.fill, seed, (height, width))
