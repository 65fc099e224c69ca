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

With instance masks (one per box), ``object_area="mask"`` makes S the mask's area and
accepts an attempt only when at least ``mask_cover`` of the region lies on the mask (a
region inside the box that is mostly background teaches nothing about occluded
objects; redrawing inside the box keeps ORE's guarantee that the region stays in its
box, which "centred on a mask pixel" would not). ``erase_within="mask"`` records, per
ORE region, which of its pixels are the object's.
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


def check_masks(masks: Any, n_boxes: int, image_size: Sequence[int]) -> list:
    """Instance masks as a list of ``n_boxes`` bool ``(H, W)`` arrays or None (a box without a mask).

    Args:
        masks: an array ``[N, H, W]`` (any dtype; non-zero is the object) or a sequence of
            ``N`` such arrays or None, aligned with the boxes.
        n_boxes: the number of boxes.
        image_size: ``(height, width)``.

    Raises:
        ValueError: a count or a shape that does not match.

    Examples:
        >>> [m.sum() if m is not None else None for m in check_masks([np.ones((2, 3)), None], 2, (2, 3))]
        [np.int64(6), None]
    """
    if len(masks) != n_boxes:
        raise ValueError(f"instance masks must be one per box, in the boxes' order: {len(masks)} masks for {n_boxes} boxes")
    out = []
    for i, mask in enumerate(masks):
        if mask is None:
            out.append(None)
            continue
        mask = np.asarray(mask)
        if mask.shape != tuple(image_size[:2]):
            raise ValueError(f"instance mask {i} has shape {mask.shape}, expected the image's (height, width) {tuple(image_size[:2])}")
        out.append(mask.astype(bool, copy=False))
    return out


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


def _attempts(u: np.ndarray, limits: np.ndarray, target_area: np.ndarray, params: ErasingParams):
    """One round of attempts. ``u``: uniforms ``[A, n, 4]`` (area, ratio, x, y); ``limits``: ``[A, 2]`` (w, h).

    Returns ``(x, y, w, h, fits)``, each ``[A, n]``: each attempt's rectangle relative to
    the area's top-left corner, and whether it fits.
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
    return x, y, w, h, fits


def _on_mask(tables: list, x, y, w, h, fits: np.ndarray, cover: float) -> np.ndarray:
    """``fits`` where at least ``cover`` of the attempt's area lies on its area's mask.

    ``tables[i]``: the summed-area table of area i's mask crop, or None (no mask: unchanged).
    """
    fits = fits.copy()
    for i, table in enumerate(tables):
        if table is None:
            continue
        x1, y1, w1, h1 = (np.where(fits[i], v[i], 0).astype(np.int64) for v in (x, y, w, h))
        on_mask = table[y1 + h1, x1 + w1] - table[y1, x1 + w1] - table[y1 + h1, x1] + table[y1, x1]
        fits[i] &= on_mask >= cover * w1 * h1
    return fits


def _summed_area(mask: Optional[np.ndarray]) -> Optional[np.ndarray]:
    if mask is None:
        return None
    table = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), np.int64)
    table[1:, 1:] = mask.cumsum(axis=0).cumsum(axis=1)
    return table


def draw_regions(
    rng: np.random.Generator,
    areas: np.ndarray,
    target_area: np.ndarray,
    params: ErasingParams,
    area_masks: Optional[Sequence[Optional[np.ndarray]]] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one region inside each area: attempts a round at a time, the first that fits.

    Args:
        rng: the source of randomness.
        areas: int64 ``[A, 4]`` pixel-edge xyxy of the rectangles to draw inside.
        target_area: float ``[A]``, the area ``S`` that ``scale`` is a fraction of.
        params: ``scale``, ``ratio``, ``ratio_sampling``, ``placement``, ``max_attempts``,
            ``mask_cover``.
        area_masks: per area, None or a bool mask of the area's shape: an attempt then
            fits only if at least ``params.mask_cover`` of it lies on the mask.

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
    tables = [_summed_area(m) for m in area_masks] if area_masks is not None else None
    rects = np.zeros((len(areas), 4), np.int64)
    found = np.zeros(len(areas), bool)
    todo = np.arange(len(areas))
    for start in range(0, params.max_attempts, ATTEMPTS_PER_ROUND):
        n = min(ATTEMPTS_PER_ROUND, params.max_attempts - start)
        x, y, w, h, fits = _attempts(rng.random((len(todo), n, 4)), areas[todo, 2:] - areas[todo, :2], target_area[todo], params)
        if tables is not None:
            fits = _on_mask([tables[i] for i in todo], x, y, w, h, fits, params.mask_cover)
        rows, first = np.arange(len(todo)), fits.argmax(axis=1)
        ok = fits[rows, first]
        hit = todo[ok]
        x, y, w, h = (v[rows[ok], first[ok]].astype(np.int64) for v in (x, y, w, h))
        rects[hit] = np.stack([x, y, x + w, y + h], axis=1) + areas[hit][:, [0, 1, 0, 1]]
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


def _object_areas(rng: np.random.Generator, boxes: np.ndarray, labels: Any, masks: Optional[list],
                  image_size: Sequence[int], params: ErasingParams):
    """Box areas: each box independently with its probability, if a whole pixel fits inside it.

    Returns ``(interior, S, source, area_masks)``; ``area_masks`` is None unless S comes from masks.
    """
    chosen = np.flatnonzero(rng.random(len(boxes)) < params.object_probabilities(labels, len(boxes)))
    interior, area, valid = box_interiors(boxes[chosen], image_size)
    interior, area, chosen = interior[valid], area[valid], chosen[valid]
    if masks is None or params.object_area != "mask":
        return interior, area, chosen, None
    crops = []
    for k, (index, (x1, y1, x2, y2)) in enumerate(zip(chosen.tolist(), interior.tolist())):
        mask = masks[index]
        pixels = 0 if mask is None else int(mask.sum())
        crops.append(mask[y1:y2, x1:x2] if pixels else None)  # no mask, or an empty one: the box
        area[k] = pixels or area[k]
    return interior, area, chosen, crops


def sample_plan(
    image_size: Sequence[int],
    boxes: Optional[Any],
    params: ErasingParams,
    rng: RandomLike = None,
    labels: Optional[Sequence[Any]] = None,
    masks: Optional[Any] = None,
) -> ErasePlan:
    """Draw the regions to erase in one image.

    Image-level regions (IRE, I+ORE) are erased with probability ``params.image_p``;
    ``params.count`` of them, each with ``1 / count`` of the area (as timm). Each box
    (ORE, I+ORE) independently gets one region inside it with probability
    ``params.object_p`` (per class when it is a mapping), its area a fraction
    ``scale`` of the box's area (of its mask's with ``object_area="mask"``).

    Args:
        image_size: ``(height, width)`` (extra trailing entries such as channels are ignored).
        boxes: ``[N, >=4]`` array of ``x1, y1, x2, y2`` in absolute continuous pixels, or
            None. Boxes partly outside the image are clipped; boxes under one whole
            pixel after clipping get no region.
        params: validated arguments.
        rng: a numpy Generator, a seed, or None.
        labels: one label per box; needed only for a per-class ``object_p``.
        masks: instance masks, one per box (``[N, H, W]``, or a list with None for a box
            without one); used by ``object_area="mask"`` and ``erase_within="mask"``.

    Returns:
        The plan; empty (no warning) when nothing is erased.

    Raises:
        ValueError: boxes that are not ``[N, >=4]`` finite numbers; a per-class
            ``object_p`` without one label per box; masks that are not one per box of
            the image's size.

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
    if masks is not None:
        masks = check_masks(masks, 0 if boxes is None else len(boxes), (height, width))
    parts = []
    if params.uses_image:
        stream = np.random.default_rng(image_seed)
        parts.append(_regions(stream, *_image_areas(stream, height, width, params), None, params))
    if params.uses_objects and boxes is not None and len(boxes):
        stream = np.random.default_rng(object_seed)
        parts.append(_regions(stream, *_object_areas(stream, boxes, labels, masks, (height, width), params), params))
    if not any(len(source) for _, source in parts):
        return ErasePlan.empty((height, width), params.fill, fill_seed)
    rects, sources = (np.concatenate(column) for column in zip(*parts))
    region_masks = _region_masks(rects, sources, masks) if params.erase_within == "mask" and masks is not None else None
    return ErasePlan(rects, sources, params.fill, fill_seed, (height, width), region_masks)


def _regions(stream: np.random.Generator, areas: np.ndarray, target: np.ndarray, source: np.ndarray,
             area_masks: Optional[list], params: ErasingParams):
    """The regions found in ``areas`` and their sources (areas without a fitting attempt are dropped)."""
    if len(areas) == 0:
        return np.zeros((0, 4), np.int64), source
    rects, found = draw_regions(stream, areas, target, params, area_masks)
    return rects[found], source[found]


def _region_masks(rects: np.ndarray, sources: np.ndarray, masks: list) -> tuple:
    """Per region, the object's pixels inside it (None for image-level regions and boxes without a mask)."""
    out = []
    for (x1, y1, x2, y2), source in zip(rects.tolist(), sources.tolist()):
        mask = masks[source] if source >= 0 else None
        out.append(None if mask is None else mask[y1:y2, x1:x2])
    return tuple(out)
