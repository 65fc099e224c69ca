"""Test-time occluders independent of the training augmentation: kinds, levels and sampling.

Each *kind* of occluder hides every (non-difficult) object of a test image by a stated
fraction of its pixels, measured on its instance mask where the dataset has one (its box
otherwise, see :mod:`detaug.robustness.masks`). A *level* is a band of fractions, as
OccludedPASCAL3D+ (Wang et al., CVPR 2020) builds its levels: 20-40 %, 40-60 %, 60-80 %
of the object hidden.

========  ==========================================================  ==========================
kind      occluder                                                    in-distribution for
========  ==========================================================  ==========================
pasted    an object cut out of *another* test image along its mask    (none)
          (its box where there is no mask), scaled and pasted
texture   a rectangle of another test image's content, taken where   (none)
          that image has no object if it can be
grey      a constant grey (128) rectangle                             Cutout (grey 128 square)
black     a constant black rectangle                                  GridDropout (black grid)
noise     per-pixel noise rectangles inside each box, drawn by the    Random Erasing (IRE, ORE,
          erasing core (ORE, ``object_p=1``, ``scale`` = the band)     I+ORE)
========  ==========================================================  ==========================

Sampling (pasted, texture, grey, black), per image: each counted object ``k`` (not
difficult, at least :data:`MIN_PIXELS` visible pixels), in random order, draws a target
fraction ``f_k`` uniform in the band. If the occluders placed so far already cover at
least the band's low end of it, it gets none. Otherwise an occluder shape is drawn
(size 0.5-1.3 x the object's extent, growing with each attempt) and, with one FFT
correlation per object, the covered fraction of every object is computed for every
position of the shape at once; the position is drawn uniformly among those where
``|covered_k - f_k| <= TOLERANCE``, ``covered_k`` is in the band and no other object
is pushed above the band. After :data:`ATTEMPTS` shapes without such a position the
best one is kept (the object then shows up as outside its level in the report).
Occluders only add cover, so once an object is in its band it stays at or above the
band's low end, and the no-overshoot rule keeps it at or below the high end: every
counted object ends within its band unless it is reported otherwise.

The noise kind keeps the erasing core's occluders (the kind the study used before): its
band is a fraction of each *box's area* (Random Erasing's definition), and the fraction
of the mask it covers is measured and reported like the others'.

Everything drawn for image ``idx`` comes from a generator seeded by ``(seed, kind,
level, idx)``: an image's occluders do not depend on which images were drawn before or
on the loader's order. Donor images (pasted, texture) are never the occluded image itself.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = [
    "ATTEMPTS",
    "KINDS",
    "LEVELS",
    "MIN_PIXELS",
    "TOLERANCE",
    "Level",
    "Occluder",
    "OccluderKind",
    "OcclusionPlan",
    "OcclusionSampler",
    "parse_levels",
]

#: Largest gap between the fraction drawn for an object and the fraction its occluder
#: covers when placed. Placement searches every position of the shape, so the covered
#: fraction moves in steps of about one boundary row of the object: for the smallest
#: synthetic objects (28 px across, >= ~600 px) one row is ~28 / 600 = 4.7 %, and the
#: nearest position is within half of it. 2 % is a tenth of a level's width.
TOLERANCE = 0.02
#: Objects with fewer visible pixels get no occluder of their own and are not counted.
MIN_PIXELS = 16
#: Occluder shapes tried per object before the best position found is kept.
ATTEMPTS = 24
#: The grey of the ``grey`` kind (and of the Cutout preset's square).
GREY = 128


@dataclass(frozen=True)
class OccluderKind:
    """A named kind of occluder.

    Attributes:
        name: the name used on the command line and in tables.
        description: what it paints.
        in_distribution_for: the training schemes that paint this kind of occluder
            themselves (tables and plots say so); empty when none does.
    """

    name: str
    description: str
    in_distribution_for: str = ""

    @property
    def title(self) -> str:
        """``name (in-distribution for X)`` or the plain name."""
        return f"{self.name} (in-distribution for {self.in_distribution_for})" if self.in_distribution_for else self.name


KINDS: Dict[str, OccluderKind] = {k.name: k for k in (
    OccluderKind("pasted", "object cut-outs from other test images, pasted over each object"),
    OccluderKind("texture", "rectangles of other test images' content"),
    OccluderKind("grey", f"constant grey ({GREY}) rectangles", "Cutout"),
    OccluderKind("black", "constant black rectangles", "GridDropout"),
    OccluderKind("noise", "per-pixel noise rectangles inside each box (the erasing core)",
                 "Random Erasing (IRE, ORE, I+ORE)"),
)}


@dataclass(frozen=True, order=True)
class Level:
    """A band ``[lo, hi]`` of the fraction of each object to hide.

    Examples:
        >>> Level(0.2, 0.4).label, Level.parse("40-60"), Level.parse("0.6-0.8").label
        ('20-40 %', Level(lo=0.4, hi=0.6), '60-80 %')
    """

    lo: float
    hi: float

    def __post_init__(self) -> None:
        if not 0.0 < self.lo <= self.hi <= 1.0:
            raise ValueError(f"a level needs 0 < lo <= hi <= 1, got {self.lo}-{self.hi}")

    @property
    def label(self) -> str:
        return f"{100 * self.lo:.0f}-{100 * self.hi:.0f} %"

    @classmethod
    def parse(cls, text: str) -> Level:
        """``"0.2-0.4"`` or ``"20-40"`` (percent)."""
        try:
            lo, hi = (float(v) for v in str(text).replace("%", "").split("-"))
        except ValueError:
            raise ValueError(f"a level is a band 'lo-hi' such as 0.2-0.4 or 20-40, got {text!r}") from None
        if hi > 1.0:
            lo, hi = lo / 100, hi / 100
        return cls(lo, hi)


#: OccludedPASCAL3D+'s three levels.
LEVELS: Tuple[Level, ...] = (Level(0.2, 0.4), Level(0.4, 0.6), Level(0.6, 0.8))


def parse_levels(text: Union[str, Sequence[str]]) -> List[Level]:
    """Levels from ``"20-40,40-60"`` or a sequence of such bands.

    Raises:
        ValueError: an entry that is not a band inside (0, 1].

    Examples:
        >>> [lv.label for lv in parse_levels("20-40, 0.4-0.6")]
        ['20-40 %', '40-60 %']
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    levels = [Level.parse(t.strip()) for t in items if str(t).strip()]
    if not levels:
        raise ValueError(f"no level in {text!r}")
    return levels


@dataclass
class Occluder:
    """One occluder: a shape placed in the image and what fills it.

    Attributes:
        y: top row of the shape in the occluded image (may be negative: clipped).
        x: left column.
        shape: bool ``(h, w)``: the pixels it paints.
        fill: ``"donor"`` (pixels of ``donor``), ``"grey"`` or ``"black"``.
        donor: dataset index of the image the pixels come from, or -1.
        donor_box: ``(y0, x0, y1, x1)`` region of the donor image resized onto ``shape``.
        label: class label of a pasted cut-out (0: not an object).
        target: index of the object it was placed for.
    """

    y: int
    x: int
    shape: np.ndarray
    fill: str
    donor: int = -1
    donor_box: Tuple[int, int, int, int] = (0, 0, 0, 0)
    label: int = 0
    target: int = -1

    def region(self, image_shape: Tuple[int, int]) -> Tuple[slice, slice, np.ndarray]:
        """``(rows, cols, shape part)``: where it lands once clipped to the image."""
        h, w = self.shape.shape
        y0, x0 = max(self.y, 0), max(self.x, 0)
        y1, x1 = min(self.y + h, image_shape[0]), min(self.x + w, image_shape[1])
        part = self.shape[y0 - self.y: max(y1, y0) - self.y, x0 - self.x: max(x1, x0) - self.x]
        return slice(y0, max(y1, y0)), slice(x0, max(x1, x0)), part


@dataclass
class OcclusionPlan:
    """The occluders of one image and the fractions they cover.

    Attributes:
        kind: the kind's name.
        level: the band.
        image_shape: ``(H, W)``.
        occluders: painted in order (empty for ``noise``: see ``erase_plan``).
        targets: per object, the drawn fraction (NaN for objects not counted).
        covered: per object, the fraction of its pixels the occluders cover (NaN for
            objects not counted).
        mask_source: ``"mask"`` or ``"box"``: what ``covered`` is measured on.
        erase_plan: ``noise``: the erasing core's :class:`~detaug.erasing.ErasePlan`.
    """

    kind: str
    level: Level
    image_shape: Tuple[int, int]
    occluders: List[Occluder] = field(default_factory=list)
    targets: np.ndarray = field(default_factory=lambda: np.zeros(0))
    covered: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mask_source: str = "box"
    erase_plan: Any = None

    def in_level(self) -> np.ndarray:
        """Per counted object: is its covered fraction inside the band?"""
        c = self.covered[~np.isnan(self.covered)]
        return (c >= self.level.lo - 1e-9) & (c <= self.level.hi + 1e-9)


def _coverage_maps(shape: np.ndarray, masks: np.ndarray, union: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Covered fraction of each object in ``which`` for every position of ``shape``.

    Returns ``[len(which), H + h - 1, W + w - 1]``; index ``(i, j)`` is the shape with its
    top-left at ``(i - h + 1, j - w + 1)``. One FFT correlation per object.
    """
    from scipy.signal import fftconvolve

    kernel = shape[::-1, ::-1].astype(np.float64)
    maps = []
    for j in which:
        area = masks[j].sum()
        free = (masks[j] & ~union).astype(np.float64)
        overlap = np.rint(fftconvolve(free, kernel, mode="full")) if free.any() else np.zeros(
            (masks.shape[1] + shape.shape[0] - 1, masks.shape[2] + shape.shape[1] - 1))
        maps.append(((masks[j] & union).sum() + overlap) / area)
    return np.stack(maps)


class OcclusionSampler:
    """Draw the occluders of a test set's images: one :class:`OcclusionPlan` per image.

    Args:
        objects: the test set's objects (:class:`~detaug.robustness.masks.DatasetObjects`).
        kind: a name from :data:`KINDS`.
        level: the band.
        seed: the occlusion seed.

    Raises:
        ValueError: an unknown kind, or a donor kind on a test set of one image.
    """

    def __init__(self, objects: Any, kind: str, level: Level, seed: int = 0):
        if kind not in KINDS:
            raise ValueError(f"unknown occluder kind {kind!r}; valid: {', '.join(KINDS)}")
        if kind in ("pasted", "texture") and len(objects) < 2:
            raise ValueError(f"{kind} occluders come from other images: the test set needs at least 2")
        self.objects, self.kind, self.level, self.seed = objects, kind, level, int(seed)
        # noise: ORE regions of the erasing core over every counted box, sized to the band
        self.erasing = None
        if kind == "noise":
            from detaug.erasing import ErasingParams

            self.erasing = ErasingParams(mode="ore", image_p=1.0, object_p=1.0, scale=(level.lo, level.hi),
                                         fill="random")

    def rng(self, idx: int) -> np.random.Generator:
        """The generator of image ``idx``: depends on (seed, kind, level, idx) only."""
        level = [round(1000 * self.level.lo), round(1000 * self.level.hi)]
        return np.random.default_rng([self.seed, zlib.crc32(self.kind.encode()), *level, int(idx)])

    def plan(self, idx: int) -> OcclusionPlan:
        """Draw the occluders of image ``idx``."""
        obj = self.objects.objects(idx)
        masks = obj["masks"]
        areas = masks.reshape(len(masks), -1).sum(1)
        counted = ~obj["difficult"] & (areas >= MIN_PIXELS)
        rng = self.rng(idx)
        targets = np.full(len(masks), np.nan)
        targets[counted] = rng.uniform(self.level.lo, self.level.hi, int(counted.sum()))
        plan = OcclusionPlan(self.kind, self.level, tuple(masks.shape[1:]), targets=targets,
                             mask_source=getattr(self.objects, "sources", {}).get(idx, "mask"))
        if self.kind == "noise":
            return self._noise(plan, obj["boxes"], masks, counted, rng)
        union = np.zeros(plan.image_shape, bool)
        for k in rng.permutation(np.flatnonzero(counted)):
            if (masks[k] & union).sum() / areas[k] >= self.level.lo:
                continue  # the neighbours' occluders already hide enough of it
            occ = self._place(idx, int(k), masks, counted, union, target=targets[k], rng=rng)
            plan.occluders.append(occ)
            rows, cols, part = occ.region(plan.image_shape)
            union[rows, cols] |= part
        plan.covered = np.where(counted, (masks & union).reshape(len(masks), -1).sum(1) / np.maximum(areas, 1), np.nan)
        return plan

    def _noise(self, plan: OcclusionPlan, boxes, masks, counted, rng) -> OcclusionPlan:
        from detaug.erasing import sample_plan

        plan.erase_plan = sample_plan(plan.image_shape, boxes[counted], self.erasing, rng)
        painted = np.zeros(plan.image_shape, bool)
        for x1, y1, x2, y2 in plan.erase_plan.rects:
            painted[y1:y2, x1:x2] = True
        areas = np.maximum(masks.reshape(len(masks), -1).sum(1), 1)
        plan.covered = np.where(counted, (masks & painted).reshape(len(masks), -1).sum(1) / areas, np.nan)
        return plan

    def _place(self, idx: int, k: int, masks, counted, union, *, target: float, rng) -> Occluder:
        """An occluder for object ``k`` covering ``target`` of it (see the module docstring)."""
        others = np.flatnonzero(counted)
        lo, hi = self.level.lo, self.level.hi
        # no other object may end above the band (or above its cover so far, if already there)
        ceiling = np.maximum(hi, (masks[others] & union).reshape(len(others), -1).sum(1)
                             / masks[others].reshape(len(others), -1).sum(1))[:, None, None]
        best, best_score = None, np.inf
        for attempt in range(ATTEMPTS):
            occ = self._shape(idx, masks[k], 1.0 + 0.1 * attempt, rng)
            maps = _coverage_maps(occ.shape, masks, union, others)
            mine = maps[list(others).index(k)]
            excess = np.clip(maps - ceiling, 0, None).sum(0)
            ok = (np.abs(mine - target) <= TOLERANCE) & (mine >= lo) & (mine <= hi) & (excess <= 1e-12)
            candidates = np.flatnonzero(ok)
            if candidates.size:
                flat = candidates[rng.integers(candidates.size)]
            else:
                score = np.abs(mine - target) + excess
                flat = int(np.argmin(score))
                if score.flat[flat] >= best_score:
                    continue
                best_score = score.flat[flat]
            i, j = np.unravel_index(flat, mine.shape)
            occ.y, occ.x, occ.target = int(i) - occ.shape.shape[0] + 1, int(j) - occ.shape.shape[1] + 1, k
            if candidates.size:
                return occ
            best = occ
        return best

    def _shape(self, idx: int, mask: np.ndarray, grow: float, rng) -> Occluder:
        """A new occluder shape (not yet placed) sized on ``mask``'s extent."""
        ys, xs = np.nonzero(mask)
        bh, bw = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
        if self.kind == "pasted":
            return self._cutout(idx, bh, bw, grow, rng)
        h, w = (max(2, round(v * rng.uniform(0.5, 1.3) * grow)) for v in (bh, bw))
        if self.kind == "texture":
            return self._texture(idx, h, w, rng)
        return Occluder(0, 0, np.ones((h, w), bool), self.kind)

    def _donor(self, idx: int, rng) -> int:
        d = int(rng.integers(len(self.objects) - 1))
        return d + 1 if d >= idx else d  # never the occluded image itself

    def _cutout(self, idx: int, bh: int, bw: int, grow: float, rng) -> Occluder:
        """An object of another image, cut along its mask, scaled to about the target's extent."""
        from PIL import Image

        for _ in range(20):
            donor = self._donor(idx, rng)
            obj = self.objects.objects(donor)
            areas = obj["masks"].reshape(len(obj["masks"]), -1).sum(1)
            usable = np.flatnonzero(~obj["difficult"] & (areas >= 4 * MIN_PIXELS))
            if usable.size:
                break
        else:  # no donor object anywhere near: a donor rectangle instead
            return self._texture(idx, bh, bw, rng)
        m = int(usable[rng.integers(usable.size)])
        ys, xs = np.nonzero(obj["masks"][m])
        y0, x0, y1, x1 = ys.min(), xs.min(), ys.max() + 1, xs.max() + 1
        s = np.sqrt(bh * bw / ((y1 - y0) * (x1 - x0))) * rng.uniform(0.6, 1.3) * grow
        size = (max(2, round((x1 - x0) * s)), max(2, round((y1 - y0) * s)))
        crop = Image.fromarray(obj["masks"][m][y0:y1, x0:x1].astype(np.uint8) * 255)
        shape = np.asarray(crop.resize(size, Image.NEAREST)) > 127
        return Occluder(0, 0, shape, "donor", donor, (int(y0), int(x0), int(y1), int(x1)), int(obj["labels"][m]))

    def _texture(self, idx: int, h: int, w: int, rng) -> Occluder:
        """A rectangle of another image, where it shows no object if such a place is found."""
        donor = self._donor(idx, rng)
        obj = self.objects.objects(donor)
        dh, dw = obj["masks"].shape[1:]  # [0, H, W] for an image without objects
        ch, cw = min(h, dh), min(w, dw)
        objects = obj["masks"].any(0)
        best = None
        for _ in range(10):
            y0, x0 = int(rng.integers(dh - ch + 1)), int(rng.integers(dw - cw + 1))
            hidden = objects[y0:y0 + ch, x0:x0 + cw].sum()
            if best is None or hidden < best[0]:
                best = (hidden, y0, x0)
            if hidden == 0:
                break
        _, y0, x0 = best
        return Occluder(0, 0, np.ones((h, w), bool), "donor", donor, (y0, x0, y0 + ch, x0 + cw))


def plan_summary(plans: Sequence[OcclusionPlan]) -> Dict[str, Optional[float]]:
    """Mean covered fraction, the share of counted objects inside the band, and their number."""
    covered = np.concatenate([p.covered[~np.isnan(p.covered)] for p in plans]) if plans else np.zeros(0)
    inside = np.concatenate([p.in_level() for p in plans]) if plans else np.zeros(0, bool)
    return {"covered": float(covered.mean()) if covered.size else None,
            "in_level": float(inside.mean()) if inside.size else None, "objects": int(covered.size)}
