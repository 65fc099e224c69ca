"""The erasing core: parameters, sampling (plans), fills, kernels (numpy and torch), visibility.

Everything the front-ends (:mod:`detaug.adapters`) do is built from these functions.
:func:`erase_batch` (torch) is imported on first use, so the numpy core loads without torch.
"""

from __future__ import annotations

from detaug._lazy import lazy_exports
from detaug.erasing.kernels import apply_plan, erase_array, erase_tensor
from detaug.erasing.params import MODES, PAPER_DETECTION_DEFAULTS, PLACEMENTS, RATIO_SAMPLINGS, ErasingParams
from detaug.erasing.plan import IMAGE_LEVEL, RANDOM_FILLS, ErasePlan
from detaug.erasing.sampling import box_interior, draw_regions, sample_plan, sample_plans
from detaug.erasing.visibility import box_visibility

_LAZY = {
    "erase_batch": "detaug.erasing.batched",
    "plans_to_regions": "detaug.erasing.batched",
    "write_regions": "detaug.erasing.batched",
    "regions_to_plans": "detaug.erasing.batched",
}

__all__ = [
    "IMAGE_LEVEL",
    "MODES",
    "PAPER_DETECTION_DEFAULTS",
    "PLACEMENTS",
    "RANDOM_FILLS",
    "RATIO_SAMPLINGS",
    "ErasePlan",
    "ErasingParams",
    "apply_plan",
    "box_interior",
    "box_visibility",
    "draw_regions",
    "erase_array",
    "erase_batch",
    "erase_tensor",
    "plans_to_regions",
    "regions_to_plans",
    "sample_plan",
    "sample_plans",
    "write_regions",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
