"""Robustness to occlusion, for any trained detector: test-time occluders and scoring.

Occluders (numpy only): :mod:`~detaug.robustness.occluders` (kinds, levels, sampling the
plans: an :class:`OcclusionPlan` is to an occluded test image what an
:class:`~detaug.erasing.ErasePlan` is to an erased training image, drawn once and painted
by a pure function), :mod:`~detaug.robustness.paint` (painting a plan),
:mod:`~detaug.robustness.masks` (each object's pixels). Scoring checkpoints on occluded
test sets (``detaug-occlusion``): :mod:`~detaug.robustness.evaluation`. The research
harness that trains and compares many runs is :mod:`detaug.study`, one floor up.
"""

from detaug.robustness.occluders import KINDS, LEVELS, Level, OcclusionPlan, OcclusionSampler, parse_levels
from detaug.robustness.paint import paint

__all__ = ["KINDS", "LEVELS", "Level", "OcclusionPlan", "OcclusionSampler", "paint", "parse_levels"]
