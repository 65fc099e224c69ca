"""detaug: box-aware Random Erasing (IRE, ORE, I+ORE) for object detection.

``detaug.BoxAwareRandomErasing`` is the albumentations transform;
``detaug.tv.BoxAwareRandomErasing`` the torchvision-v2 one; both share the core in
:mod:`detaug.erasing` (sampling a plan, then applying it).
"""

from detaug.adapters.albumentations import BoxAwareRandomErasing
from detaug.erasing import (
    BatchedBoxAwareRandomErasing,
    IMAGE_LEVEL,
    MODES,
    ErasePlan,
    ErasingParams,
    apply_plan,
    box_visibility,
    erase_batch,
    sample_plan,
)

__version__ = "0.1.0"

__all__ = [
    "IMAGE_LEVEL",
    "MODES",
    "BatchedBoxAwareRandomErasing",
    "BoxAwareRandomErasing",
    "ErasePlan",
    "ErasingParams",
    "apply_plan",
    "box_visibility",
    "erase_batch",
    "sample_plan",
]

