"""The erase plan: the random choices of one call, as a small plain record.

A transform first samples a plan (:func:`detaug.erasing.sample_plan`), then a pure
kernel applies it (:func:`detaug.erasing.apply_plan`). Visualising, replaying and
testing all read the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

#: A fill is one of the named random modes or a constant (a number, or one value per channel).
Fill = Union[str, float, Tuple[float, ...]]

#: Named random fills. ``"random"``: per pixel, uniform over the dtype's range (the
#: paper). ``"random_normal"``: per pixel N(0, 1) (torchvision ``value="random"``,
#: timm ``mode="pixel"``). ``"random_color"``: one colour per region, uniform over the
#: dtype's range. ``"random_color_normal"``: one colour per region, N(0, 1) (timm
#: ``mode="rand"``).
RANDOM_FILLS = ("random", "random_normal", "random_color", "random_color_normal")

#: Source index of image-level regions (ORE regions carry the index of their box).
IMAGE_LEVEL = -1


@dataclass(frozen=True)
class ErasePlan:
    """Regions to erase in one image, and how to fill them.

    Attributes:
        rects: int64 array ``[K, 4]`` of ``x1, y1, x2, y2`` in absolute pixels; the
            region covers rows ``y1:y2`` and columns ``x1:x2`` (``x2``/``y2`` exclusive),
            so it is also the region's box in continuous pixel coordinates.
        source: int64 array ``[K]``; the index of the input box each region was drawn
            inside, or ``-1`` (:data:`IMAGE_LEVEL`) for an image-level region.
        fill: a name from :data:`RANDOM_FILLS`, or a constant (float, or tuple of floats
            one per channel).
        seed: seed of the fill's random values (any non-negative integer), so that
            applying the plan twice gives the same pixels.
        image_size: ``(height, width)`` of the image the plan was drawn for.
        region_masks: None (every pixel of every region is erased), or one entry per
            region: None, or a bool array of the region's shape ``(y2 - y1, x2 - x1)``
            marking the pixels to erase (``erase_within="mask"``: the object's pixels).
        protected: None, or the boxes image-level regions had to spare (``protect``):
            ``(box index, largest fraction the image-level regions may cover)`` pairs.

    Examples:
        >>> plan = ErasePlan.empty((4, 6))
        >>> len(plan), plan.rects.shape
        (0, (0, 4))
        >>> ErasePlan.from_dict(plan.to_dict()).image_size
        (4, 6)
    """

    rects: np.ndarray
    source: np.ndarray
    fill: Fill = "random"
    seed: int = 0
    image_size: Tuple[int, int] = (0, 0)
    region_masks: Optional[Tuple[Optional[np.ndarray], ...]] = None
    protected: Optional[Tuple[Tuple[int, float], ...]] = None

    def __post_init__(self) -> None:
        rects = np.asarray(self.rects, dtype=np.int64)
        if rects.size and (rects.ndim != 2 or rects.shape[1] != 4):
            raise ValueError(f"rects must have shape (K, 4) (x1, y1, x2, y2), got {rects.shape}")
        rects = rects.reshape(-1, 4)
        source = np.asarray(self.source, dtype=np.int64).reshape(-1)
        if len(rects) != len(source):
            raise ValueError(f"rects has {len(rects)} rows but source has {len(source)} entries")
        height, width = int(self.image_size[0]), int(self.image_size[1])
        # One rule for hand-made plans: a region must lie inside the image (no silent clipping).
        bad = next((r for r in rects.tolist() if not (0 <= r[0] <= r[2] <= width and 0 <= r[1] <= r[3] <= height)), None)
        if bad is not None:
            raise ValueError(
                f"plan region {bad} is not inside the image (height, width) {(height, width)}: "
                "regions need 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        rects.setflags(write=False)
        source.setflags(write=False)
        object.__setattr__(self, "rects", rects)
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "image_size", (height, width))
        if self.region_masks is not None:
            object.__setattr__(self, "region_masks", _check_region_masks(self.region_masks, rects))
        if self.protected is not None:
            object.__setattr__(self, "protected", tuple((int(k), float(f)) for k, f in self.protected))
        object.__setattr__(self, "fill", _plan_fill(self.fill))

    @classmethod
    def drawn(cls, rects: np.ndarray, source: np.ndarray, fill: Fill, seed: int, image_size: Tuple[int, int], *,
              region_masks: Optional[Tuple[Optional[np.ndarray], ...]] = None,
              protected: Optional[Tuple[Tuple[int, float], ...]] = None) -> ErasePlan:
        """A plan from the sampler's own output, without the checks a hand-made plan gets:
        int64 ``rects [K, 4]`` inside ``image_size``, int64 ``source [K]``, a normalised fill
        (an :class:`~detaug.erasing.ErasingParams`' own), an int seed, region masks of their
        regions' shapes. The checks cost more than the rest of a small plan's sampling."""
        plan = object.__new__(cls)
        fill = _plan_fill(fill)
        rects.setflags(write=False)
        source.setflags(write=False)
        if region_masks is not None:
            for mask in region_masks:
                if mask is not None:
                    mask.setflags(write=False)
        vars(plan).update(rects=rects, source=source, fill=fill, seed=seed, image_size=image_size,
                          region_masks=region_masks, protected=protected)  # frozen: not through __setattr__
        return plan

    @classmethod
    def empty(cls, image_size: Sequence[int], fill: Fill = "random", seed: int = 0) -> ErasePlan:
        """A plan that erases nothing."""
        return cls(np.zeros((0, 4), np.int64), np.zeros(0, np.int64), fill, seed, tuple(image_size[:2]))

    def __len__(self) -> int:
        return len(self.rects)

    @property
    def image_level(self) -> np.ndarray:
        """Boolean mask ``[K]`` of the image-level regions."""
        return self.source == IMAGE_LEVEL

    @property
    def areas(self) -> np.ndarray:
        """Area in pixels of each region, ``[K]``."""
        return (self.rects[:, 2] - self.rects[:, 0]) * (self.rects[:, 3] - self.rects[:, 1])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lists and numbers only; region masks as lists of 0/1 rows)."""
        data = {
            "rects": self.rects.tolist(),
            "source": self.source.tolist(),
            "fill": self.fill if isinstance(self.fill, (str, float)) else list(self.fill),
            "seed": int(self.seed),
            "image_size": list(self.image_size),
        }
        if self.region_masks is not None:
            data["region_masks"] = [None if m is None else m.astype(int).tolist() for m in self.region_masks]
        if self.protected is not None:
            data["protected"] = [list(pair) for pair in self.protected]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErasePlan:
        """Inverse of :meth:`to_dict`."""
        fill = data.get("fill", "random")
        if isinstance(fill, list):
            fill = tuple(fill)
        return cls(
            np.asarray(data["rects"], np.int64).reshape(-1, 4),
            np.asarray(data["source"], np.int64),
            fill,
            int(data.get("seed", 0)),
            tuple(data["image_size"]),
            region_masks=data.get("region_masks"),
            protected=data.get("protected"),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ErasePlan):
            return NotImplemented
        return (
            np.array_equal(self.rects, other.rects)
            and np.array_equal(self.source, other.source)
            and self.fill == other.fill
            and self.seed == other.seed
            and self.image_size == other.image_size
            and _same_masks(self.region_masks, other.region_masks)
            and self.protected == other.protected
        )

    __hash__ = None  # type: ignore[assignment]  # holds arrays: not hashable


def _plan_fill(fill: Any) -> Fill:
    """A plan's fill: a name or a float as they are, a constant per channel as a tuple of
    floats, one value for every channel as that float.

    Examples:
        >>> _plan_fill((7,)), _plan_fill([1, 2]), _plan_fill("random")
        (7.0, (1.0, 2.0), 'random')
    """
    if isinstance(fill, (str, float)):
        return fill
    values = tuple(float(v) for v in np.atleast_1d(np.asarray(fill, dtype=np.float64)))
    return values[0] if len(values) == 1 else values


def _check_region_masks(masks: Sequence[Any], rects: np.ndarray) -> Tuple[Optional[np.ndarray], ...]:
    if len(masks) != len(rects):
        raise ValueError(f"region_masks has {len(masks)} entries for {len(rects)} regions")
    out = []
    for mask, (x1, y1, x2, y2) in zip(masks, rects.tolist()):
        if mask is None:
            out.append(None)
            continue
        mask = np.asarray(mask).astype(bool)
        if mask.shape != (y2 - y1, x2 - x1):
            raise ValueError(f"a region mask must have its region's shape {(y2 - y1, x2 - x1)}, got {mask.shape}")
        mask.setflags(write=False)
        out.append(mask)
    return tuple(out)


def _same_masks(a: Optional[Sequence[Any]], b: Optional[Sequence[Any]]) -> bool:
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all((x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y))
                                    for x, y in zip(a, b))
