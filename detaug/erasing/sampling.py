"""Sampling: draw the regions to erase in one image (the paper's Algorithm 1, per area).

Every region is drawn inside an *area*: the whole image (IRE) or the whole pixels of a
ground-truth box (ORE). Per area, attempts are drawn a round at a time: each attempt is
an area fraction ``U(s_l, s_h)``, an aspect ratio and a position; the first attempt that
fits is kept. With ``placement="fit"`` (the authors' code, torchvision, timm) the
position is uniform among those where the size fits, so only the size can fail; with
``placement="paper"`` (Algorithm 1 as printed) the point is uniform over the whole area
and the attempt fails when the region sticks out.

The draws are laid out in the caller's stream the same way whatever the mode: the fill's
seed, two seeds for further rounds, then one block of uniforms per image (whether it is
erased, the count, a first round of attempts per region) and one per box (whether it is
erased, a first round of attempts). An area without a fit in its first round draws
further rounds from a stream of its own (one for image regions, one for box regions),
made only then. So for one seed the I+ORE plan is the IRE plan's image regions plus the
ORE plan's box regions, and drawing a plan costs two calls into the caller's generator.

With instance masks (one per box), ``object_area="mask"`` makes S the mask's area and
accepts an attempt only when at least ``mask_cover`` of the region lies on the mask (a
region inside the box that is mostly background teaches nothing about occluded
objects; redrawing inside the box keeps ORE's guarantee that the region stays in its
box, which "centred on a mask pixel" would not). ``erase_within="mask"`` records, per
ORE region, which of its pixels are the object's.

With ``protect``, an image-level attempt is also rejected when it would cover more of a
protected box than allowed (:class:`Protection`), and the next attempt is tried: a
region that breaks the rule is never placed, and an image without an allowed attempt
within ``max_attempts`` gets no image-level region.
"""

from __future__ import annotations

import itertools
import math
import numbers
import warnings
from typing import Any, List, Optional, Protocol, Sequence, Union

import numpy as np

from detaug.erasing.params import ErasingParams
from detaug.erasing.plan import IMAGE_LEVEL, ErasePlan

#: Attempts drawn together. Most areas fit on the first attempt, so a small round keeps
#: the draw cheap; areas without a fit draw the next round, up to ``max_attempts``.
ATTEMPTS_PER_ROUND = 4
#: A box edge this close to a whole pixel counts as on it (coordinates that went through
#: a format conversion come back as 9.999999 for 10). Boxes are float64 here.
EDGE_EPS = 1e-6

RandomLike = Union[np.random.Generator, int, None]


def _first_round(params: ErasingParams) -> int:
    """Attempts drawn together first for every area (fewer when ``max_attempts`` is smaller)."""
    return min(ATTEMPTS_PER_ROUND, params.max_attempts)


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
    return _check_finite(_box_array(boxes, name), name)


def _box_array(boxes: Any, name: str) -> np.ndarray:
    array = np.asarray(boxes, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 4))
    if array.ndim != 2 or array.shape[1] < 4:
        raise ValueError(f"{name} must have shape (N, 4) or (N, >4) of x1, y1, x2, y2 in pixels, got shape {array.shape}")
    return array[:, :4]


def _check_finite(boxes: np.ndarray, name: str) -> np.ndarray:
    if not np.isfinite(boxes).all():
        raise ValueError(f"{name} must be finite, got {boxes[~np.isfinite(boxes).all(axis=1)][0].tolist()}")
    return boxes


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
    try:
        count = len(masks) if not isinstance(masks, (str, bytes)) else None
    except TypeError:  # a number, a 0-d array
        count = None
    if count is None:
        raise ValueError(f"masks must be instance masks, one (height, width) array per box ([N, H, W] or a list), "
                         f"got {masks!r:.80}")
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


def check_image_size(image_size: Any) -> tuple[int, int]:
    """``(height, width)`` as two non-negative ints from ``image_size`` (extra trailing
    entries such as channels ignored).

    Raises:
        ValueError: not a sequence of at least two non-negative whole numbers.

    Examples:
        >>> check_image_size((480, 640, 3)), check_image_size(np.array([4, 6]))
        ((480, 640), (4, 6))
    """
    if (type(image_size) is tuple and len(image_size) == 2 and type(image_size[0]) is int is type(image_size[1])
            and image_size[0] >= 0 and image_size[1] >= 0):  # the common case, checked fast
        return image_size
    size = image_size.tolist() if hasattr(image_size, "tolist") else image_size
    if isinstance(size, Sequence) and not isinstance(size, (str, bytes)) and len(size) >= 2:
        height, width = size[0], size[1]
        if all(isinstance(v, numbers.Real) and not isinstance(v, bool) and float(v).is_integer() and v >= 0
               for v in (height, width)):
            return int(height), int(width)
    raise ValueError(f"image_size must be (height, width) in whole pixels (e.g. image.shape[:2]), got {image_size!r:.80}")


def check_labels(labels: Any, n_boxes: int) -> Optional[list]:
    """Labels as a list of one hashable label per box (``[N]`` or ``[N, 1]``; numpy and
    torch accepted), None when None.

    Raises:
        ValueError: not a sequence of labels, or an entry that is not one number or name.

    Examples:
        >>> check_labels(np.array([[3], [1]]), 2)
        [3, 1]
    """
    if labels is None:
        return None
    if hasattr(labels, "detach"):  # a torch tensor, on any device
        labels = labels.detach().cpu()
    labels = labels.tolist() if hasattr(labels, "tolist") else labels
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Sequence):
        raise ValueError(f"labels must be one label per box (a list or an array of shape (N,) or (N, 1)), got {labels!r:.80}")
    out = []
    for i, label in enumerate(labels):
        if isinstance(label, (list, tuple)) and len(label) == 1:  # shape (N, 1)
            label = label[0]
        if isinstance(label, bool) or not isinstance(label, (str, numbers.Real)):
            raise ValueError(f"labels must be one number or class name per box (shape (N,) or (N, 1)), "
                             f"got {label!r:.80} for box {i}")
        out.append(label)
    return out


def looks_normalised(boxes: np.ndarray, image_size: Sequence[int]) -> bool:
    """Whether pixel boxes look like normalised ones: every coordinate in [0, 1], some not a
    whole number, on an image of at least 2 x 2 pixels (as pixels they would all lie in
    the first pixel, so no ORE region fits in any).

    Examples:
        >>> looks_normalised(np.array([[0.1, 0.2, 0.5, 0.6]]), (64, 64)), looks_normalised(np.array([[0, 0, 1, 1.0]]), (64, 64))
        (True, False)
    """
    # the first box's right edge rules out most pixel boxes before any reduction over all of them
    return (len(boxes) > 0 and boxes[0, 2] <= 1 and boxes.max() <= 1 and boxes.min() >= 0
            and min(int(image_size[0]), int(image_size[1])) >= 2 and bool((boxes != np.round(boxes)).any()))


def normalised_boxes_message(image_size: Sequence[int], fix: str) -> str:
    """The warning for :func:`looks_normalised` boxes; ``fix`` says what to do in the caller's terms."""
    height, width = int(image_size[0]), int(image_size[1])
    return (f"every box lies within [0, 1] on a {width}x{height} image: are they normalised coordinates? Boxes are "
            f"read as absolute pixels, so these are under one pixel and get no region inside them; {fix}")


def clip_boxes(boxes: np.ndarray, image_size: Sequence[int]) -> np.ndarray:
    """Boxes ``[N, 4]`` clipped to the image ``(height, width)``."""
    height, width = int(image_size[0]), int(image_size[1])
    return np.clip(boxes, 0.0, np.array([width, height, width, height], np.float64))


def box_interior(box: Sequence[float], height: int, width: int) -> tuple[Optional[tuple], float]:
    """The whole-pixel interior of one box clipped to the image, and the clipped box's area.

    Args:
        box: ``x1, y1, x2, y2`` in continuous pixel coordinates.
        height, width: the image's size.

    Returns:
        ``(interior, area)``: ``(x1, y1, x2, y2)`` pixel edges of the largest whole-pixel
        rectangle inside the clipped box (edges within :data:`EDGE_EPS` of a whole pixel
        snap to it), or None when it is under one pixel wide or high (no region then);
        and the clipped box's area (the paper's S for ORE).

    Examples:
        >>> box_interior([1.5, 2.0, 4.5, 9.0], 8, 10), box_interior([3, 3, 3.5, 8], 8, 10)
        (((2, 2, 4, 8), 18.0), (None, 2.5))
    """
    x1, y1, x2, y2 = box[0], box[1], box[2], box[3]  # clipped by comparisons: a third of min(max()) calls' time
    x1 = 0.0 if x1 < 0 else width if x1 > width else x1
    x2 = 0.0 if x2 < 0 else width if x2 > width else x2
    y1 = 0.0 if y1 < 0 else height if y1 > height else y1
    y2 = 0.0 if y2 < 0 else height if y2 > height else y2
    left, top = math.ceil(x1 - EDGE_EPS), math.ceil(y1 - EDGE_EPS)
    right, bottom = math.floor(x2 + EDGE_EPS), math.floor(y2 + EDGE_EPS)
    area = float((x2 - x1) * (y2 - y1)) if x2 > x1 and y2 > y1 else 0.0
    return ((left, top, right, bottom) if right - left >= 1 and bottom - top >= 1 else None), area


class Protection:
    """The protected boxes of one image, and how much of each the image-level regions
    placed so far cover (their overlaps with the box, summed: at least their union).

    Args:
        boxes: ``[P, 4]`` protected boxes, xyxy, clipped to the image.
        limits: ``[P]`` the largest fraction of each box the regions may cover.

    Examples:
        >>> guard = Protection(np.array([[0.0, 0.0, 10.0, 10.0]]), np.array([0.25]))
        >>> guard.allows(5, 5, 10, 10), guard.allows(6, 6, 10, 10)   # 25 of 100 pixels, 16 of 100
        (True, True)
        >>> guard.add(6, 6, 10, 10); guard.allows(0, 0, 3, 3)       # 16 + 9 = 25: still allowed
        True
    """

    def __init__(self, boxes: np.ndarray, limits: np.ndarray) -> None:
        self.boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        areas = (self.boxes[:, 2] - self.boxes[:, 0]) * (self.boxes[:, 3] - self.boxes[:, 1])
        self.allowed = np.asarray(limits, np.float64) * areas
        self.covered = np.zeros(len(self.boxes))

    def _overlap(self, x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
        b = self.boxes
        w = np.clip(np.minimum(b[:, 2], x2) - np.maximum(b[:, 0], x1), 0.0, None)
        h = np.clip(np.minimum(b[:, 3], y2) - np.maximum(b[:, 1], y1), 0.0, None)
        return w * h

    def allows(self, x1: float, y1: float, x2: float, y2: float) -> bool:
        """Whether the region ``x1, y1, x2, y2`` keeps every protected box within its limit."""
        overlap = self._overlap(x1, y1, x2, y2)
        # a box that may not be touched at all (limit 0) allows no overlap, however small
        return bool(np.all((overlap == 0) | (self.covered + overlap <= self.allowed * (1 + 1e-12))))

    def add(self, x1: float, y1: float, x2: float, y2: float) -> None:
        """Count a placed region."""
        self.covered += self._overlap(x1, y1, x2, y2)


class _Shape:
    """The constants of Algorithm 1 for one set of arguments, read once per draw (not per attempt)."""

    __slots__ = ("cover", "fit", "log", "r_lo", "r_step", "s_lo", "s_span")

    def __init__(self, params: ErasingParams) -> None:
        (self.s_lo, s_hi), (r_lo, r_hi) = params.scale, params.ratio
        self.s_span = s_hi - self.s_lo
        self.log = params.ratio_sampling == "log"
        # log: r = exp(log r_1 + u log(r_2 / r_1)); uniform: r = r_1 + u (r_2 - r_1)
        self.r_lo, self.r_step = (math.log(r_lo), math.log(r_hi / r_lo)) if self.log else (r_lo, r_hi - r_lo)
        self.fit = params.placement == "fit"
        self.cover = params.mask_cover

    def first_fit(self, uniforms: list, start: int, attempts: int, area: Sequence[int], target: float, *,
                  accept=None):
        """The first of ``attempts`` attempts that fits the area ``x1, y1, x2, y2``, as the region
        ``(x1, y1, x2, y2)`` in the image; None if none does.

        Each attempt is four uniforms from ``uniforms[start:]``: the area fraction, the aspect
        ratio, and the position. ``accept``: None, or a test ``(x, y, w, h) -> bool`` (relative to
        the area's corner) an attempt must also pass (the object's mask under it, ``protect``).
        """
        s_lo, s_span, r_lo, r_step, log, fit = self.s_lo, self.s_span, self.r_lo, self.r_step, self.log, self.fit
        sqrt, floor = math.sqrt, math.floor
        left, top, right, bottom = area
        width, height = right - left, bottom - top
        for i in range(start, start + 4 * attempts, 4):
            u_area, u_ratio, u_x, u_y = uniforms[i:i + 4]
            erase_area = (s_lo + u_area * s_span) * target  # S_e
            r = math.exp(r_lo + u_ratio * r_step) if log else r_lo + u_ratio * r_step
            h_raw, w_raw = sqrt(erase_area * r), sqrt(erase_area / r)  # H_e, W_e
            if h_raw >= height + 1 or w_raw >= width + 1:  # cannot fit (also keeps absurd ratios away from round)
                continue
            h, w = round(h_raw), round(w_raw)  # half to even, as the authors' round()
            if w < 1 or h < 1:
                continue
            if fit:  # a position among those where the size fits
                if w > width or h > height:
                    continue
                x, y = floor(u_x * (width - w + 1)), floor(u_y * (height - h + 1))
            else:  # the paper: a point anywhere in the area, kept only if the region fits there
                x, y = floor(u_x * width), floor(u_y * height)
                if x + w > width or y + h > height:
                    continue
            if accept is None or accept(x, y, w, h):
                return left + x, top + y, left + x + w, top + y + h
        return None


def _on_mask(table: np.ndarray, x: int, y: int, w: int, h: int) -> int:
    """Mask pixels in the rectangle, from the mask's summed-area table."""
    return int(table[y + h, x + w] - table[y, x + w] - table[y + h, x] + table[y, x])


def _summed_area(mask: np.ndarray) -> np.ndarray:
    table = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), np.int64)
    table[1:, 1:] = mask.cumsum(axis=0).cumsum(axis=1)
    return table


def _acceptance(table: Optional[np.ndarray], guard: Optional[Protection], x0: int, y0: int, cover: float):
    """The test an attempt inside the area at ``(x0, y0)`` must pass besides fitting: enough of
    it on the object's mask (its summed-area ``table``), and the protected boxes within their limits."""
    if table is None and guard is None:
        return None

    def accept(x: int, y: int, w: int, h: int) -> bool:
        if table is not None and _on_mask(table, x, y, w, h) < cover * w * h:
            return False
        return guard is None or guard.allows(x0 + x, y0 + y, x0 + x + w, y0 + y + h)

    return accept


def draw_regions(
    rng: np.random.Generator,
    areas: Sequence[Sequence[int]],
    target_area: Sequence[float],
    params: ErasingParams,
    area_masks: Optional[Sequence[Optional[np.ndarray]]] = None,
    protection: Union[Protection, Sequence[Optional[Protection]], None] = None,
) -> list:
    """Draw one region inside each area: per area, the attempts, and the first that fits.

    The first round of attempts of every area is drawn at once; an area without a fit
    draws further rounds, up to ``max_attempts``. Areas of several images can be drawn in
    one call (the batched path does).

    Args:
        rng: the source of randomness.
        areas: ``[A, 4]`` pixel-edge xyxy of the rectangles to draw inside (integers).
        target_area: ``[A]``, the area ``S`` that ``scale`` is a fraction of.
        params: ``scale``, ``ratio``, ``ratio_sampling``, ``placement``, ``max_attempts``,
            ``mask_cover``.
        area_masks: per area, None or a bool mask of the area's shape: an attempt then
            fits only if at least ``params.mask_cover`` of it lies on the mask.
        protection: None, the protected boxes of the areas' image, or one such (or None)
            per area: an attempt fits only if it keeps them within their limits, and each
            region placed counts against them.

    Returns:
        Per area, the region ``(x1, y1, x2, y2)`` in pixel edges, or None when no attempt
        fitted within ``max_attempts``.

    Examples:
        >>> params = ErasingParams(scale=(0.25, 0.25), ratio=(1.0, 1.0))
        >>> [x2 - x1 for x1, _, x2, _ in draw_regions(np.random.default_rng(0), [(0, 0, 8, 8)], [64.0], params)]
        [4]
    """
    rounds = _first_round(params)
    uniforms = rng.random(len(areas) * 4 * rounds).tolist()
    return _place(uniforms, range(0, len(uniforms), 4 * rounds), areas, target_area, params, rng,
                  area_masks=area_masks, protection=protection)


class _Rounds(Protocol):
    """Where further rounds of attempts come from: a numpy Generator, or :class:`_Later`."""

    def random(self, n: int) -> np.ndarray: ...


class _Later:
    """A stream for further rounds of attempts, made from its seed only when an area first needs one."""

    __slots__ = ("rng", "seed")

    def __init__(self, seed: int) -> None:
        self.seed, self.rng = seed, None

    def random(self, n: int) -> np.ndarray:
        if self.rng is None:
            self.rng = np.random.default_rng(self.seed)
        return self.rng.random(n)


def _place(uniforms: list, starts: Sequence[int], areas: Sequence[Sequence[int]], target_area: Sequence[float],
           params: ErasingParams, later: _Rounds, *, area_masks: Optional[Sequence[Optional[np.ndarray]]] = None,
           protection: Union[Protection, Sequence[Optional[Protection]], None] = None) -> list:
    """:func:`draw_regions` with the first round of area ``a`` at ``uniforms[starts[a]:]``, and
    further rounds from ``later.random``, in the order the areas need them."""
    rounds, most = _first_round(params), params.max_attempts
    shape, checked = _Shape(params), area_masks is not None or protection is not None
    guards = [protection] * len(areas) if protection is None or isinstance(protection, Protection) else protection
    regions, accept, guard = [], None, None
    for a, area in enumerate(areas):
        if checked:  # the object's mask, protected boxes
            guard, mask = guards[a], None if area_masks is None else area_masks[a]
            accept = _acceptance(None if mask is None else _summed_area(mask), guard, area[0], area[1], shape.cover)
        region = shape.first_fit(uniforms, starts[a], rounds, area, target_area[a], accept=accept)
        tried = rounds
        while region is None and tried < most:
            n = min(ATTEMPTS_PER_ROUND, most - tried)
            region = shape.first_fit(later.random(4 * n).tolist(), 0, n, area, target_area[a], accept=accept)
            tried += n
        regions.append(region)
        if guard is not None and region is not None:
            guard.add(*region)
    return regions


def sample_plan(
    image_size: Sequence[int],
    boxes: Optional[Any],
    params: ErasingParams,
    rng: RandomLike = None,
    labels: Optional[Sequence[Any]] = None,
    masks: Optional[Any] = None,
    *,
    warn_normalised: bool = True,
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
        labels: one label per box; needed only for a per-class ``object_p`` and ``protect``.
        masks: instance masks, one per box (``[N, H, W]``, or a list with None for a box
            without one); used by ``object_area="mask"`` and ``erase_within="mask"``.
        warn_normalised: warn (UserWarning) when every box lies within [0, 1] on a larger
            image, i.e. normalised coordinates given as pixels. The front-ends pass False
            and warn once per transform themselves. Default True.

    Returns:
        The plan; empty (no warning) when nothing is erased.

    Raises:
        TypeError: ``params`` not an :class:`ErasingParams`.
        ValueError: boxes that are not ``[N, >=4]`` finite numbers; a per-class
            ``object_p`` or ``protect`` without one label per box (``[N]`` or ``[N, 1]``), or
            keyed by numbers for labels that are names (or the other way round); masks that
            are not one per box of the image's size.

    Examples:
        >>> params = ErasingParams(mode="ore", object_p=1.0)
        >>> plan = sample_plan((100, 120), np.array([[10, 10, 60, 50]]), params, rng=0)
        >>> plan.source.tolist()
        [0]
        >>> x1, y1, x2, y2 = plan.rects[0]
        >>> bool(10 <= x1 < x2 <= 60 and 10 <= y1 < y2 <= 50)
        True
    """
    return sample_plans([image_size], [boxes], params, rng, [labels], [masks], warn_normalised=warn_normalised,
                        stacklevel=3)[0]


def sample_plans(
    image_sizes: Sequence[Sequence[int]],
    boxes: Optional[Sequence[Optional[Any]]],
    params: ErasingParams,
    rng: RandomLike = None,
    labels: Optional[Sequence[Optional[Sequence[Any]]]] = None,
    masks: Optional[Sequence[Optional[Any]]] = None,
    *,
    warn_normalised: bool = True,
    stacklevel: int = 2,
) -> List[ErasePlan]:
    """Draw the plans of several images at once (the batched path), one per image.

    The same draws as :func:`sample_plan`, grouped: the fill seeds of every image and the
    two seeds of further rounds, then the blocks of uniforms of every image and of every
    box of the batch (the module's docstring has the layout). For one image this is exactly
    :func:`sample_plan` (which calls it); for several, other draws than one
    :func:`sample_plan` per image, equally reproducible from ``rng``.

    Args:
        image_sizes: per image ``(height, width)``.
        boxes, labels, masks: per image, as :func:`sample_plan` takes them (None: none for any).
        params, rng, warn_normalised: as :func:`sample_plan`.
        stacklevel: of the normalised-boxes warning. Default 2 (the caller).

    Examples:
        >>> plans = sample_plans([(40, 60), (30, 30)], [np.array([[0, 0, 20, 20.0]]), None],
        ...                      ErasingParams(mode="i+ore", image_p=1.0, object_p=1.0), rng=0)
        >>> [plan.source.tolist() for plan in plans], plans[1].image_size
        ([[-1, 0], [-1]], (30, 30))
        >>> sample_plans([(40, 60), (30, 30)], [None], ErasingParams())
        Traceback (most recent call last):
        ...
        ValueError: sample_plans: boxes must hold one entry per image (2), got 1
    """
    if not isinstance(params, ErasingParams):
        raise TypeError(f"sample_plan: params must be an ErasingParams, got {type(params).__name__} {params!r:.40}: "
                        f"pass ErasingParams(mode=...) with the erasing arguments")
    count = len(image_sizes)
    sizes = [check_image_size(size) for size in image_sizes]
    per_image = {"boxes": boxes, "labels": labels, "masks": masks}
    for name, value in per_image.items():
        if value is not None and len(value) != count:
            raise ValueError(f"sample_plans: {name} must hold one entry per image ({count}), got {len(value)}")
    batch = _Batch(sizes, boxes, labels, masks, params, warn=warn_normalised, stacklevel=stacklevel + 1)
    rng = as_generator(rng)
    words = rng.bit_generator.random_raw(count + 2).tolist()  # 63-bit seeds: the fills', then further rounds'
    attempts = 4 * _first_round(params)  # uniforms of a first round
    image_block = 2 + attempts * (params.count if isinstance(params.count, int) else params.count[1])
    box_block = 1 + attempts
    uniforms = rng.random(count * image_block + len(batch.boxes) * box_block).tolist()  # whatever the mode
    if params.uses_image:
        batch.image_regions(uniforms, image_block, attempts, _Later(words[count] >> 1))
    if params.uses_objects and len(batch.boxes):
        batch.object_regions(uniforms, count * image_block, box_block, _Later(words[count + 1] >> 1))
    return batch.plans([seed >> 1 for seed in words[:count]])


class _Batch:
    """The checked inputs of the images of one draw, their boxes side by side, and the
    regions drawn for each image so far (image-level ones first, then its boxes', in order,
    as a flat list of coordinates)."""

    def __init__(self, sizes: list, boxes: Any, labels: Any, masks: Any, params: ErasingParams, *, warn: bool,
                 stacklevel: int) -> None:
        self.sizes, self.params = sizes, params
        count = len(sizes)
        self.image_boxes = [_NO_BOXES if boxes is None or boxes[i] is None else _box_array(boxes[i], "boxes")
                            for i in range(count)]
        self.boxes = self.image_boxes[0] if count == 1 else np.concatenate(self.image_boxes) if count else _NO_BOXES
        if not np.isfinite(self.boxes).all():  # one check for the batch; the error names the first bad box
            for i, one in enumerate(self.image_boxes):
                _check_finite(one, "boxes" if count == 1 else f"boxes[{i}]")
        for i, one in enumerate(self.image_boxes):  # a loop, not a comprehension: on Python 3.11 a comprehension
            if warn and looks_normalised(one, sizes[i]):  # is a frame of its own, and the warning points at the caller
                warnings.warn(normalised_boxes_message(sizes[i], "multiply them by (width, height, width, height)"),
                              UserWarning, stacklevel=stacklevel)
        self.labels = self.masks = self.guards = self.protected = None
        if params.needs_labels:
            self.labels = [check_labels(None if labels is None else labels[i], len(one)) for i, one in enumerate(self.image_boxes)]
        if masks is not None:
            self.masks = [None if masks[i] is None else check_masks(masks[i], len(one), sizes[i])
                          for i, one in enumerate(self.image_boxes)]
        if params.protect is not None:
            guards = [_protection(one, self.labels[i], sizes[i], params) for i, one in enumerate(self.image_boxes)]
            self.guards, self.protected = [g for g, _ in guards], [p for _, p in guards]
        self.rects: List[list] = [[] for _ in sizes]  # x1, y1, x2, y2 of each region, one after the other
        self.sources: List[list] = [[] for _ in sizes]

    def add(self, regions: list, owners: list, sources: Any) -> None:
        for region, i, source in zip(regions, owners, sources):
            if region is not None:
                self.rects[i] += region
                self.sources[i].append(source)

    def image_regions(self, uniforms: list, block: int, attempts: int, later: _Later) -> None:
        """Image-level regions: per image with probability ``image_p``, ``count`` regions, each
        drawn in the whole image with 1/count of its area. Image ``i``'s block of ``uniforms``
        starts at ``i * block``: whether, how many (a range of counts), then ``attempts``
        uniforms per region."""
        params, count = self.params, self.params.count
        areas, targets, owners, starts = [], [], [], []
        for i, (height, width) in enumerate(self.sizes):
            at = i * block
            if height == 0 or width == 0 or uniforms[at] >= params.image_p:
                continue
            n = count if isinstance(count, int) else count[0] + math.floor(uniforms[at + 1] * (count[1] - count[0] + 1))
            areas += [(0, 0, width, height)] * n
            targets += [height * width / n] * n
            owners += [i] * n
            starts += range(at + 2, at + 2 + n * attempts, attempts)
        if areas:  # (no area draws nothing)
            guards = None if self.guards is None else [self.guards[i] for i in owners]
            regions = _place(uniforms, starts, areas, targets, params, later, protection=guards)
            self.add(regions, owners, itertools.repeat(IMAGE_LEVEL))

    def object_regions(self, uniforms: list, start: int, block: int, later: _Later) -> None:
        """Box regions: each box independently with its probability, if a whole pixel fits inside
        it; S is the clipped box's area (its mask's with ``object_area="mask"``). The batch's box
        ``k`` has the block of ``uniforms`` at ``start + k * block``: whether, then a first round."""
        params = self.params
        per_box = None if not params.per_class else np.concatenate(
            [np.broadcast_to(params.object_probabilities(labels, len(one)), len(one))
             for labels, one in zip(self.labels, self.image_boxes) if len(one)]).tolist()
        by_mask = params.object_area == "mask" and self.masks is not None
        areas, targets, crops, owners, index, starts, j = [], [], [], [], [], [], -1
        for i, image_boxes in enumerate(self.image_boxes):
            height, width = self.sizes[i]
            for k, box in enumerate(image_boxes.tolist()):
                j += 1  # the box's place in the batch
                at = start + j * block
                if uniforms[at] >= (params.object_p if per_box is None else per_box[j]):
                    continue
                inside, area = box_interior(box, height, width)
                if inside is None:
                    continue
                crop = None
                if by_mask and self.masks[i] is not None and self.masks[i][k] is not None:
                    x1, y1, x2, y2 = inside
                    mask = self.masks[i][k]
                    pixels = int(mask.sum())
                    crop = mask[y1:y2, x1:x2] if pixels else None  # an empty mask: the box
                    area = pixels or area
                areas.append(inside)
                targets.append(area)
                crops.append(crop)
                owners.append(i)
                index.append(k)
                starts.append(at + 1)
        crops = crops if by_mask and any(c is not None for c in crops) else None
        if areas:
            self.add(_place(uniforms, starts, areas, targets, params, later, area_masks=crops), owners, index)

    def plans(self, seeds: list) -> List[ErasePlan]:
        out = []
        for i, (rects, sources) in enumerate(zip(self.rects, self.sources)):
            region_masks = None
            if rects and self.params.erase_within == "mask" and self.masks is not None and self.masks[i] is not None:
                region_masks = _region_masks(rects, sources, self.masks[i])
            out.append(ErasePlan.drawn(np.array(rects, np.int64).reshape(-1, 4), np.array(sources, np.int64),
                                       self.params.fill, seeds[i], self.sizes[i], region_masks=region_masks,
                                       protected=None if self.protected is None else self.protected[i]))
        return out


_NO_BOXES = np.zeros((0, 4))
_NO_BOXES.setflags(write=False)


def _protection(boxes: np.ndarray, labels: Any, image_size: Sequence[int], params: ErasingParams):
    """``(Protection or None, the plan's protected pairs or None)`` for ``params.protect``."""
    if params.protect is None:
        return None, None
    limits = params.protection_limits(labels, len(boxes))
    index = np.flatnonzero(~np.isnan(limits))
    protected = tuple((int(k), float(limits[k])) for k in index)
    if not len(index):
        return None, protected
    return Protection(clip_boxes(boxes[index], image_size), limits[index]), protected


def _region_masks(rects: list, sources: list, masks: list) -> tuple:
    """Per region, the object's pixels inside it (None for image-level regions and boxes without a mask);
    ``rects`` holds the regions' ``x1, y1, x2, y2`` one after the other."""
    out = []
    for j, source in enumerate(sources):
        x1, y1, x2, y2 = rects[4 * j:4 * j + 4]
        mask = masks[source] if source >= 0 else None
        out.append(None if mask is None else mask[y1:y2, x1:x2].copy())
    return tuple(out)
