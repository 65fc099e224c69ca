"""Arguments of box-aware Random Erasing: validated once, the one source of every default.

The albumentations and torchvision front-ends, the batched module and the training
config all take these fields with these defaults (a test checks every signature against
:class:`ErasingParams`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Optional, Tuple, Union

from detaug.erasing.plan import RANDOM_FILLS, Fill

#: Erasing schemes of the paper: image-aware, object-aware, and both. Names are
#: case-insensitive everywhere (the Python API, the command line and configs).
MODES = ("ire", "ore", "i+ore")
#: How the aspect ratio is drawn: uniform in ``ratio`` (the paper and the authors'
#: code) or log-uniform (torchvision and timm).
RATIO_SAMPLINGS = ("uniform", "log")
#: Where a region goes. ``"fit"``: draw the size, then a position uniformly among those
#: where it fits (the authors' code, torchvision, timm). ``"paper"``: Algorithm 1 as
#: printed: draw the size and a point uniform over the area together, and redraw both
#: while the region does not fit (smaller regions are then more likely).
PLACEMENTS = ("fit", "paper")
#: What the area of an ORE region is a fraction of: the box (the paper) or the object's
#: instance mask (when the sample has one per box; boxes without one use the box).
OBJECT_AREAS = ("box", "mask")
#: Which pixels of a region are erased: all of them (the paper), or only those on the
#: object's instance mask (ORE regions of boxes that have a mask).
ERASE_WITHIN = ("region", "mask")
#: Upper bound of ``max_attempts``: attempts are drawn in rounds, so the bound keeps the
#: worst case (no size ever fits) at milliseconds.
MAX_ATTEMPTS_LIMIT = 10_000

#: The paper's detection setting: p = 0.5, s_l = 0.02, s_h = 0.2, r_1 = 1 / r_2 = 0.3.
PAPER_DETECTION_DEFAULTS = {
    "image_p": 0.5,
    "object_p": 0.5,
    "scale": (0.02, 0.2),
    "ratio": (0.3, 1 / 0.3),
}


def _plain(value: Any) -> Any:
    """numpy arrays and scalars -> lists and Python numbers (so that e.g. ``fill=np.array(mean)`` works)."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_probability(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1], or a ValueError naming ``name`` (every front-end's ``p``).

    Examples:
        >>> check_probability("p", 0.25)
        0.25
    """
    value = _plain(value)
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def check_mode(value: Any, extra: Sequence[str] = ()) -> str:
    """A mode name, lower-cased; ``extra`` adds names such as the config's ``"none"``.

    Examples:
        >>> check_mode("I+ORE")
        'i+ore'
    """
    valid = (*extra, *MODES)
    mode = value.lower() if isinstance(value, str) else value
    if mode not in valid:
        raise ValueError(f"mode must be one of {valid} (any case), got {value!r}")
    return mode


def _pair(name: str, value: Any) -> Tuple[float, float]:
    value = _plain(value)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}")
    if not all(_is_number(v) and math.isfinite(v) for v in value):
        raise ValueError(f"{name} must hold two finite numbers, got {value!r}")
    return float(value[0]), float(value[1])


def normalize_fill(value: Any, name: str = "fill") -> Fill:
    """Check a fill argument and return it in canonical form (str, float or tuple).

    Raises:
        ValueError: if ``value`` is an unknown name, not finite, or an empty sequence.

    Examples:
        >>> normalize_fill([124, 116, 104]), normalize_fill(0)
        ((124.0, 116.0, 104.0), 0.0)
    """
    value = _plain(value)
    if isinstance(value, str) and value in RANDOM_FILLS:
        return value
    if _is_number(value) and math.isfinite(value):
        return float(value)
    is_sequence = isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0
    if is_sequence and all(_is_number(v) and math.isfinite(v) for v in value):
        return tuple(float(v) for v in value)
    raise ValueError(f"{name} must be a finite number, a per-channel sequence or one of {RANDOM_FILLS}, got {value!r}")


def label_key(label: Any) -> Any:
    """A label as a key of a per-class table: numpy scalars as Python numbers, and a string of
    digits as its int (JSON, e.g. ``A.save``/``A.load``, turns int keys into strings).

    Examples:
        >>> label_key("3"), label_key("dog"), label_key(2.0)
        (3, 'dog', 2.0)
    """
    label = _plain(label)
    if isinstance(label, str) and label.isascii() and label.isdigit():
        return int(label)
    return label


def _table_key(name: str, label: Any) -> Any:
    """A key of a per-class table: a class name, or an int (a digit string or a whole float is one)."""
    label = label_key(label)
    if isinstance(label, float) and label.is_integer():
        label = int(label)
    if not isinstance(label, (str, int)) or isinstance(label, bool):
        raise ValueError(f"{name}: labels must be int or str, got {label!r}")
    return label


def _check_key_kinds(name: str, table: Mapping, labels: Sequence[Any]) -> None:
    """Refuse a table keyed by numbers for labels that are class names, or the other way
    round: such keys can never match, so the table would silently be its default."""
    if not labels:
        return
    names = all(isinstance(label, str) for label in labels)
    numbers_ = all(_is_number(label) for label in labels)
    shown = ", ".join(repr(label) for label in list(dict.fromkeys(labels))[:4])
    if names:
        keys = [k for k in table if k != "default" and not isinstance(k, str)]
        if keys:
            raise ValueError(f"{name} is keyed by numbers ({', '.join(map(repr, keys))}) but the boxes' labels are class "
                             f"names ({shown}): key it by class name, e.g. {name}={{{labels[0]!r}: 1.0, ...}}")
    elif numbers_:
        keys = [k for k in table if k != "default" and isinstance(k, str)]
        if keys:
            example = int(labels[0]) if float(labels[0]).is_integer() else labels[0]
            raise ValueError(f"{name} is keyed by class names ({', '.join(map(repr, keys))}) but the boxes' labels are "
                             f"numbers ({shown}): key it by the numeric label, e.g. {name}={{{example!r}: 1.0, "
                             "...}, or pass the class names as labels (in a training config, class names are mapped "
                             "to labels through the dataset's classes)")


def _object_p(value: Any) -> Union[float, Tuple[Tuple[Any, float], ...]]:
    """A probability, or a label -> probability mapping stored as sorted pairs (hashable, comparable)."""
    if not isinstance(value, Mapping):
        return check_probability("object_p", value)
    pairs = []
    for label, p in value.items():
        label = _table_key("object_p", label)
        pairs.append((label, check_probability(f"object_p[{label!r}]", p)))
    if "default" not in {k for k, _ in pairs}:
        pairs.append(("default", PAPER_DETECTION_DEFAULTS["object_p"]))
    return tuple(sorted(pairs, key=lambda kv: (isinstance(kv[0], str), str(kv[0]))))


def _protect(value: Any) -> Optional[Tuple[Tuple[Any, float], ...]]:
    """None, or the protected labels with the largest fraction of their boxes that
    image-level regions may cover, as sorted ``(label, fraction)`` pairs."""
    value = _plain(value)
    if value is None:
        return None
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = [(label, 0.0) for label in value]
    else:
        raise ValueError(f"protect must be None, a list of labels or a mapping label -> the largest fraction of "
                         f"each of their boxes that image-level regions may cover, got {value!r}")
    pairs = {}
    for label, fraction in items:
        label = _table_key("protect", label)
        if label == "default":
            raise ValueError(f"protect: labels must be int or str (and there is no 'default'), got {label!r}")
        pairs[label] = check_probability(f"protect[{label!r}]", fraction)
    return tuple(sorted(pairs.items(), key=lambda kv: (isinstance(kv[0], str), str(kv[0])))) or None


def _count(value: Any) -> Union[int, Tuple[int, int]]:
    value = _plain(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1:
        return int(value)
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        low, high = value
        if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value) and 1 <= low <= high:
            return (int(low), int(high)) if low != high else int(low)
    raise ValueError(f"count must be >= 1 or a pair (min, max) with 1 <= min <= max, got {value!r}")


def _choice(name: str, value: Any, valid: Sequence[str]) -> str:
    if value not in valid:
        raise ValueError(f"{name} must be one of {tuple(valid)}, got {value!r}")
    return value


@dataclass(frozen=True)
class ErasingParams:
    """Validated arguments of box-aware Random Erasing, shared by every front-end.

    Args:
        mode: ``"ire"``, ``"ore"`` or ``"i+ore"`` (any case). Default ``"i+ore"``.
        image_p: probability of the image-level region(s) (paper: p). Default 0.5.
        object_p: probability of a region inside each box, drawn per box (paper: p); or a
            mapping from label to probability, with the key ``"default"`` for labels not
            in it (default 0.5), to erase inside some classes more or less often. A
            mapping needs the boxes' labels. Default 0.5.
        scale: ``(s_l, s_h)``, area as a fraction of the image or box. Default ``(0.02, 0.2)``.
        ratio: ``(r_1, r_2)``, aspect ratio height / width. Default ``(0.3, 1 / 0.3)``.
        ratio_sampling: ``"uniform"`` (paper) or ``"log"`` (torchvision, timm). Default ``"uniform"``.
        placement: ``"fit"`` (size, then a position where it fits: the authors' code,
            torchvision, timm) or ``"paper"`` (Algorithm 1 as printed: size and point
            drawn together, redrawn until the region fits). Default ``"fit"``.
        max_attempts: sizes (or size-and-point pairs) tried per image or box, at most
            :data:`MAX_ATTEMPTS_LIMIT`. Default 100 (the authors' code).
        object_area: ``"box"`` (the paper: ORE's area S is the box's) or ``"mask"``: S is
            the object's instance-mask area, and a region inside the box is redrawn until
            at least ``mask_cover`` of it lies on the mask. Boxes without a mask use the
            box. Default ``"box"``.
        mask_cover: with ``object_area="mask"``, the least fraction of a region's area
            that must lie on the object's mask. Default 0.5.
        erase_within: ``"region"`` (every pixel of the region) or ``"mask"`` (only the
            object's pixels inside an ORE region; the background in it is kept). Default
            ``"region"``.
        occlude_keypoints: mark keypoints under erased pixels as occluded (COCO
            visibility 2 -> 1) instead of passing them through. Default False.
        fill: ``"random"`` (per pixel, uniform over the dtype's range: [0, 255] for
            uint8, [0, 1) for float; the paper), ``"random_normal"`` (per pixel N(0, 1),
            float images), ``"random_color"`` (one random colour per region),
            ``"random_color_normal"`` (one N(0, 1) colour per region): the names of
            :data:`~detaug.erasing.plan.RANDOM_FILLS`; or a constant, a number or one value
            per channel (e.g. the dataset mean, as the authors' code) in the image's units.
            Default ``"random"``.
        fill_mask: value written into masks under erased regions, or None to leave masks
            alone. Default None.
        count: image-level regions, or ``(min, max)`` to draw it uniformly; the area is
            split by the count (timm's ``min_count`` / ``max_count``). Default 1.
        min_visibility: drop boxes (with their labels) whose unerased fraction falls
            below this (of the instance mask's pixels where there is one); 0 keeps all.
            Default 0.0.
        protect: classes whose boxes image-level regions (IRE, I+ORE's image part) must
            spare: a list of labels (regions never overlap their boxes) or a mapping from
            label to the largest fraction of each such box that the image-level regions
            together may cover (their overlaps with it are summed, so the rule holds for
            their union). An attempt that would break the rule is redrawn, within
            ``max_attempts``; none is ever placed. Regions inside the boxes (ORE) are
            ruled by ``object_p``, per class. Needs the boxes' labels. Default None.

    numpy arrays and numpy scalars are accepted wherever sequences and numbers are.

    Raises:
        ValueError: naming the argument, the value received and what was expected.

    Examples:
        >>> ErasingParams(mode="ORE").scale
        (0.02, 0.2)
        >>> ErasingParams(mode="ore", scale=(0.3, 0.1))
        Traceback (most recent call last):
        ...
        ValueError: scale must satisfy 0 <= low <= high <= 1, got (0.3, 0.1)
    """

    mode: str = "i+ore"
    image_p: float = 0.5
    object_p: Union[float, Mapping] = 0.5
    scale: Tuple[float, float] = (0.02, 0.2)
    ratio: Tuple[float, float] = (0.3, 1 / 0.3)
    ratio_sampling: str = "uniform"
    placement: str = "fit"
    max_attempts: int = 100
    object_area: str = "box"
    mask_cover: float = 0.5
    erase_within: str = "region"
    occlude_keypoints: bool = False
    fill: Fill = "random"
    fill_mask: Optional[Union[float, Tuple[float, ...]]] = None
    count: Union[int, Tuple[int, int]] = 1
    min_visibility: float = 0.0
    protect: Optional[Union[Sequence, Mapping]] = None

    def __post_init__(self) -> None:
        def set_(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)  # frozen dataclass: normalise once, here

        set_("mode", check_mode(self.mode))
        set_("image_p", check_probability("image_p", self.image_p))
        set_("object_p", _object_p(self.object_p))
        scale = _pair("scale", self.scale)
        if not 0.0 <= scale[0] <= scale[1] <= 1.0:
            raise ValueError(f"scale must satisfy 0 <= low <= high <= 1, got {self.scale!r}")
        set_("scale", scale)
        ratio = _pair("ratio", self.ratio)
        if not 0.0 < ratio[0] <= ratio[1]:
            raise ValueError(f"ratio must satisfy 0 < low <= high, got {self.ratio!r}")
        set_("ratio", ratio)
        _choice("ratio_sampling", self.ratio_sampling, RATIO_SAMPLINGS)
        _choice("placement", self.placement, PLACEMENTS)
        attempts = _plain(self.max_attempts)
        if not isinstance(attempts, numbers.Integral) or isinstance(attempts, bool) or not 1 <= attempts <= MAX_ATTEMPTS_LIMIT:
            raise ValueError(f"max_attempts must be an integer in [1, {MAX_ATTEMPTS_LIMIT}], got {self.max_attempts!r}")
        set_("max_attempts", int(attempts))
        _choice("object_area", self.object_area, OBJECT_AREAS)
        set_("mask_cover", check_probability("mask_cover", self.mask_cover))
        _choice("erase_within", self.erase_within, ERASE_WITHIN)
        if not isinstance(_plain(self.occlude_keypoints), bool):
            raise ValueError(f"occlude_keypoints must be True or False, got {self.occlude_keypoints!r}")
        set_("occlude_keypoints", bool(_plain(self.occlude_keypoints)))
        set_("fill", normalize_fill(self.fill, "fill"))
        if self.fill_mask is not None:
            fill_mask = normalize_fill(self.fill_mask, "fill_mask")
            if isinstance(fill_mask, str):
                raise ValueError(f"fill_mask must be None, a number or a per-channel sequence, got {self.fill_mask!r}")
            set_("fill_mask", fill_mask)
        set_("count", _count(self.count))
        set_("min_visibility", check_probability("min_visibility", self.min_visibility))
        set_("protect", _protect(self.protect))

    @property
    def uses_image(self) -> bool:
        """Whether image-level regions are drawn (IRE or I+ORE)."""
        return self.mode in ("ire", "i+ore")

    @property
    def uses_objects(self) -> bool:
        """Whether object-level regions are drawn (ORE or I+ORE)."""
        return self.mode in ("ore", "i+ore")

    @property
    def uses_masks(self) -> bool:
        """Whether regions depend on instance masks (``object_area`` or ``erase_within`` is ``"mask"``)."""
        return self.uses_objects and (self.object_area == "mask" or self.erase_within == "mask")

    @property
    def per_class(self) -> bool:
        """Whether ``object_p`` depends on the box's label."""
        return isinstance(self.object_p, tuple)

    @property
    def needs_labels(self) -> bool:
        """Whether sampling reads the boxes' labels (a per-class ``object_p``, or ``protect``)."""
        return self.per_class or self.protect is not None

    def protection_limits(self, labels: Optional[Sequence[Any]], n_boxes: int) -> Any:
        """Per box, the largest fraction of it that image-level regions may cover (nan:
        not protected); None when ``protect`` is not set.

        Raises:
            ValueError: ``protect`` set and boxes without one label each.

        Examples:
            >>> ErasingParams(protect={3: 0.25, 5: 0.0}).protection_limits([3, 1, 5], 3).tolist()
            [0.25, nan, 0.0]
        """
        if self.protect is None:
            return None
        import numpy as np

        if n_boxes and (labels is None or len(labels) != n_boxes):
            got = "no labels" if labels is None else f"{len(labels)} labels"
            raise ValueError(f"protect needs one label per box: {n_boxes} boxes, {got}")
        table = dict(self.protect)
        labels = [label_key(label) for label in (labels if n_boxes else [])]
        _check_key_kinds("protect", table, labels)
        return np.array([table.get(label, np.nan) for label in labels], dtype=np.float64)

    def object_probabilities(self, labels: Optional[Sequence[Any]], n_boxes: int) -> Any:
        """The probability of erasing inside each of ``n_boxes`` boxes (an array or a float).

        Raises:
            ValueError: a per-class ``object_p`` without labels, or labels of another length.

        Examples:
            >>> ErasingParams(object_p={1: 0.0, "default": 1.0}).object_probabilities([1, 2], 2).tolist()
            [0.0, 1.0]
        """
        if not self.per_class:
            return self.object_p
        import numpy as np

        if labels is None or len(labels) != n_boxes:
            got = "no labels" if labels is None else f"{len(labels)} labels"
            raise ValueError(f"object_p per class needs one label per box: {n_boxes} boxes, {got}")
        table = dict(self.object_p)
        default = table["default"]
        labels = [label_key(label) for label in labels]
        _check_key_kinds("object_p", table, labels)
        return np.array([table.get(label, default) for label in labels], dtype=np.float64)

    def check_images_only(self) -> None:
        """Raise unless these arguments leave targets alone, as batched erasing on the
        device needs (it returns the targets unchanged): the one place of that rule.

        Raises:
            ValueError: ``fill_mask``, ``min_visibility`` or ``occlude_keypoints`` set, naming it.

        Examples:
            >>> ErasingParams(min_visibility=0.2).check_images_only()
            Traceback (most recent call last):
            ...
            ValueError: batched erasing on the device never changes targets, so it cannot drop boxes, erase masks or mark keypoints (min_visibility=0.2)
        """
        if self.target_arguments:
            key = self.target_arguments[0]
            raise ValueError("batched erasing on the device never changes targets, so it cannot drop boxes, erase "
                             f"masks or mark keypoints ({key}={getattr(self, key)!r})")

    @property
    def target_arguments(self) -> Tuple[str, ...]:
        """The arguments set here that change targets, not only pixels (masks, boxes, keypoints)."""
        asked = {"fill_mask": self.fill_mask is not None, "min_visibility": self.min_visibility > 0,
                 "occlude_keypoints": self.occlude_keypoints}
        return tuple(k for k, on in asked.items() if on)

    def as_kwargs(self) -> dict[str, Any]:
        """All arguments as a plain dict (tuples kept; a per-class ``object_p`` as a dict)."""
        kwargs = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.per_class:
            kwargs["object_p"] = dict(self.object_p)
        if self.protect is not None:
            kwargs["protect"] = dict(self.protect)
        return kwargs

    def non_default_kwargs(self) -> dict[str, Any]:
        """The arguments that differ from their defaults, for ``__repr__``."""
        default = ErasingParams().as_kwargs()
        return {k: v for k, v in self.as_kwargs().items() if v != default[k]}


def format_kwargs(kwargs: dict[str, Any]) -> str:
    """``k=v`` pairs joined by commas, floats shortened, for readable ``__repr__``."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, tuple):
            return "(" + ", ".join(fmt(x) for x in v) + ("," if len(v) == 1 else "") + ")"
        return repr(v)

    return ", ".join(f"{k}={fmt(v)}" for k, v in kwargs.items())
