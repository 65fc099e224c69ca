"""Test-time occlusion: cover a stated fraction of every object (or of the image).

Occluders are drawn with the erasing core itself, so the study measures exactly the
kind of occlusion Random Erasing trains for: for ``kind="object"`` every box gets one
rectangle covering ``level`` of its area (ORE with ``object_p=1`` and
``scale=(level, level)``); for ``kind="image"`` the image gets one rectangle covering
``level`` of the image (IRE with ``image_p=1``).
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from detaug.erasing import ErasePlan, ErasingParams, apply_plan, box_visibility, sample_plan
from detaug.erasing.plan import Fill

OCCLUSION_KINDS = ("object", "image")


def occlusion_params(level: float, kind: str = "object", fill: Fill = "random") -> Optional[ErasingParams]:
    """The erasing arguments that make occluders of ``level`` (None for level 0).

    Raises:
        ValueError: for a level outside [0, 1] or an unknown kind.

    Examples:
        >>> occlusion_params(0.3).scale, occlusion_params(0.3).mode
        ((0.3, 0.3), 'ore')
        >>> occlusion_params(0.0) is None
        True
    """
    if kind not in OCCLUSION_KINDS:
        raise ValueError(f"kind must be one of {OCCLUSION_KINDS}, got {kind!r}")
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"level must be in [0, 1], got {level!r}")
    if level == 0:
        return None
    mode = "ore" if kind == "object" else "ire"
    return ErasingParams(mode=mode, image_p=1.0, object_p=1.0, scale=(level, level), fill=fill)


def occlude(
    image,
    boxes: Optional[np.ndarray],
    level: float,
    kind: str = "object",
    rng: Union[np.random.Generator, int, None] = None,
    fill: Fill = "random",
) -> tuple[object, ErasePlan]:
    """Occlude ``image`` (numpy HWC or torch CHW) at ``level``; returns ``(image, plan)``.

    Args:
        image: the image; not modified.
        boxes: ``[N, 4]`` xyxy absolute pixels (needed for ``kind="object"``).
        level: fraction of each box (or of the image) to cover, in [0, 1].
        kind: ``"object"`` or ``"image"``. Default ``"object"``.
        rng: seed or Generator. Default None.
        fill: occluder fill. Default ``"random"`` (noise, as Random Erasing).

    Examples:
        >>> img = np.zeros((50, 50, 3), np.uint8)
        >>> out, plan = occlude(img, np.array([[0.0, 0.0, 20.0, 20.0]]), 0.25, rng=0, fill=255)
        >>> area = int(plan.areas[0])  # 25% of 400 pixels, up to rounding each side
        >>> abs(area - 100) <= 10, int((out[..., 0] == 255).sum()) == area
        (True, True)
    """
    shape = tuple(image.shape[-2:]) if hasattr(image, "detach") else tuple(image.shape[:2])
    params = occlusion_params(level, kind, fill)
    if params is None:
        return image, ErasePlan.empty(shape, fill)
    plan = sample_plan(shape, boxes if kind == "object" else None, params, rng)
    return apply_plan(image, plan), plan


def covered_fraction(boxes: np.ndarray, plan: ErasePlan) -> float:
    """Mean fraction of the boxes' area the plan covers (what the occluders really hid)."""
    if boxes is None or len(boxes) == 0:
        return 0.0
    return float(np.mean(1.0 - box_visibility(np.asarray(boxes), plan)))


def parse_levels(text: Union[str, Sequence[float]]) -> list[float]:
    """Levels from ``"0,0.1,0.2"`` or a sequence; each in [0, 1].

    Examples:
        >>> parse_levels("0, 0.1,0.5")
        [0.0, 0.1, 0.5]
    """
    values = [float(v) for v in (text.split(",") if isinstance(text, str) else text) if str(v).strip() != ""]
    bad = [v for v in values if not 0.0 <= v <= 1.0]
    if not values or bad:
        raise ValueError(f"levels must be numbers in [0, 1], got {text!r}")
    return values
