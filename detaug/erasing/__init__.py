"""The erasing core: sampling (plans), kernels (numpy and torch), and visibility.

Everything the front-ends (:mod:`detaug.adapters`) do is built from these functions.
"""

from detaug.erasing.batched import BatchedBoxAwareRandomErasing, erase_batch, regions_to_plans, sample_batch_regions
from detaug.erasing.kernels import apply_plan, erase_array, erase_tensor
from detaug.erasing.params import MODES, PAPER_DETECTION_DEFAULTS, RATIO_SAMPLINGS, ErasingParams
from detaug.erasing.plan import IMAGE_LEVEL, RANDOM_FILLS, ErasePlan
from detaug.erasing.sampling import box_areas, sample_plan, sample_regions
from detaug.erasing.visibility import box_visibility

__all__ = [
    "IMAGE_LEVEL",
    "MODES",
    "PAPER_DETECTION_DEFAULTS",
    "RANDOM_FILLS",
    "RATIO_SAMPLINGS",
    "BatchedBoxAwareRandomErasing",
    "ErasePlan",
    "ErasingParams",
    "apply_plan",
    "box_areas",
    "box_visibility",
    "erase_array",
    "erase_batch",
    "erase_tensor",
    "regions_to_plans",
    "sample_batch_regions",
    "sample_plan",
    "sample_regions",
]
