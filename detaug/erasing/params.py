"""Arguments of box-aware Random Erasing, validated once and shared by every front-end."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from typing import Any, Optional, Sequence, Tuple, Union

from detaug.erasing.plan import RANDOM_FILLS, Fill

#: Erasing schemes of the paper: image-aware, object-aware, and both.
MODES = ("ire", "ore", "i+ore")
#: How the aspect ratio is drawn: uniform in ``ratio`` (the paper and the authors'
#: code) or log-uniform (torchvision and timm).
RATIO_SAMPLINGS = ("uniform", "log")

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


def _pair(name: str, value: Any) -> Tuple[float, float]:
    value = _plain(value)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}")
    low, high = value
    for v in (low, high):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise ValueError(f"{name} must hold two finite numbers, got {value!r}")
    return float(low), float(high)


def _probability(name: str, value: Any) -> float:
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def normalize_fill(value: Any, name: str = "fill") -> Fill:
    """Check a fill argument and return it in canonical form (str, float or tuple).

    Raises:
        ValueError: if ``value`` is an unknown name, not finite, or an empty sequence.

    Examples:
        >>> normalize_fill([124, 116, 104]), normalize_fill(0)
        ((124.0, 116.0, 104.0), 0.0)
    """
    value = _plain(value)
    if isinstance(value, str):
        if value not in RANDOM_FILLS:
            raise ValueError(f"{name} must be a number, a per-channel sequence or one of {RANDOM_FILLS}, got {value!r}")
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
        return float(value)
    if isinstance(value, Sequence) and len(value) > 0:
        if all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in value):
            return tuple(float(v) for v in value)
    raise ValueError(f"{name} must be a number, a per-channel sequence or one of {RANDOM_FILLS}, got {value!r}")


@dataclass(frozen=True)
class ErasingParams:
    """Validated arguments of box-aware Random Erasing, shared by every front-end.

    Args:
        mode: ``"ire"``, ``"ore"`` or ``"i+ore"``. Default ``"i+ore"``.
        image_p: probability of the image-level region(s) (paper: p). Default 0.5.
        object_p: probability of a region inside each box, per box (paper: p). Default 0.5.
        scale: ``(s_l, s_h)``, area as a fraction of the image or box. Default ``(0.02, 0.2)``.
        ratio: ``(r_1, r_2)``, aspect ratio height / width. Default ``(0.3, 1 / 0.3)``.
        ratio_sampling: ``"uniform"`` (paper) or ``"log"`` (torchvision, timm). Default ``"uniform"``.
        max_attempts: sizes tried per image or box. Default 100.
        fill: a name from :data:`~detaug.erasing.plan.RANDOM_FILLS` or a constant. Default ``"random"``.
        fill_mask: constant for masks, or None to leave masks alone. Default None.
        count: image-level regions, or ``(min, max)``. Default 1.
        min_visibility: drop boxes less visible than this (0: keep all). Default 0.0.

    numpy arrays and numpy scalars are accepted wherever sequences and numbers are.

    Raises:
        ValueError: naming the argument, the value received and what was expected.

    Examples:
        >>> ErasingParams(mode="ore").scale
        (0.02, 0.2)
        >>> ErasingParams(mode="ore", scale=(0.3, 0.1))
        Traceback (most recent call last):
        ...
        ValueError: scale must satisfy 0 <= low <= high <= 1, got (0.3, 0.1)
    """

    mode: str = "i+ore"
    image_p: float = 0.5
    object_p: float = 0.5
    scale: Tuple[float, float] = (0.02, 0.2)
    ratio: Tuple[float, float] = (0.3, 1 / 0.3)
    ratio_sampling: str = "uniform"
    max_attempts: int = 100
    fill: Fill = "random"
    fill_mask: Optional[Union[float, Tuple[float, ...]]] = None
    count: Union[int, Tuple[int, int]] = 1
    min_visibility: float = 0.0

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 - frozen dataclass
        mode = self.mode.lower() if isinstance(self.mode, str) else self.mode
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        set_("mode", mode)
        set_("image_p", _probability("image_p", self.image_p))
        set_("object_p", _probability("object_p", self.object_p))
        scale = _pair("scale", self.scale)
        if not 0.0 <= scale[0] <= scale[1] <= 1.0:
            raise ValueError(f"scale must satisfy 0 <= low <= high <= 1, got {self.scale!r}")
        set_("scale", scale)
        ratio = _pair("ratio", self.ratio)
        if not 0.0 < ratio[0] <= ratio[1]:
            raise ValueError(f"ratio must satisfy 0 < low <= high, got {self.ratio!r}")
        set_("ratio", ratio)
        if self.ratio_sampling not in RATIO_SAMPLINGS:
            raise ValueError(f"ratio_sampling must be one of {RATIO_SAMPLINGS}, got {self.ratio_sampling!r}")
        set_("max_attempts", _plain(self.max_attempts))
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, numbers.Integral) or self.max_attempts < 1:
            raise ValueError(f"max_attempts must be an integer >= 1, got {self.max_attempts!r}")
        set_("max_attempts", int(self.max_attempts))
        set_("fill", normalize_fill(self.fill, "fill"))
        if self.fill_mask is not None:
            fill_mask = normalize_fill(self.fill_mask, "fill_mask")
            if isinstance(fill_mask, str):
                raise ValueError(f"fill_mask must be None, a number or a per-channel sequence, got {self.fill_mask!r}")
            set_("fill_mask", fill_mask)
        set_("count", _count(self.count))
        set_("min_visibility", _plain(self.min_visibility))
        if isinstance(self.min_visibility, bool) or not isinstance(self.min_visibility, numbers.Real) or not 0.0 <= self.min_visibility <= 1.0:
            raise ValueError(f"min_visibility must be in [0, 1], got {self.min_visibility!r}")
        set_("min_visibility", float(self.min_visibility))

    @property
    def uses_image(self) -> bool:
        """Whether image-level regions are drawn (IRE or I+ORE)."""
        return self.mode in ("ire", "i+ore")

    @property
    def uses_objects(self) -> bool:
        """Whether object-level regions are drawn (ORE or I+ORE)."""
        return self.mode in ("ore", "i+ore")

    def as_kwargs(self) -> dict[str, Any]:
        """All arguments as a plain dict (tuples kept)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def non_default_kwargs(self) -> dict[str, Any]:
        """The arguments that differ from their defaults, for ``__repr__``."""
        default = ErasingParams()
        return {k: v for k, v in self.as_kwargs().items() if v != getattr(default, k)}


def _count(value: Any) -> Union[int, Tuple[int, int]]:
    value = _plain(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 1:
            raise ValueError(f"count must be >= 1 or a pair (min, max) with 1 <= min <= max, got {value!r}")
        return int(value)
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        low, high = value
        if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value) and 1 <= low <= high:
            return (int(low), int(high)) if low != high else int(low)
    raise ValueError(f"count must be >= 1 or a pair (min, max) with 1 <= min <= max, got {value!r}")


def format_kwargs(kwargs: dict[str, Any]) -> str:
    """``k=v`` pairs joined by commas, floats shortened, for readable ``__repr__``."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, tuple):
            return "(" + ", ".join(fmt(x) for x in v) + ("," if len(v) == 1 else "") + ")"
        return repr(v)

    return ", ".join(f"{k}={fmt(v)}" for k, v in kwargs.items())
