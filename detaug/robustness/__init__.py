"""Robustness to occlusion: test-time occluders and the occlusion study.

Occluders (numpy only): :mod:`~detaug.robustness.occluders` (kinds, levels, sampling the
plans), :mod:`~detaug.robustness.paint` (painting a plan), :mod:`~detaug.robustness.masks`
(each object's pixels). Scoring: :mod:`~detaug.robustness.evaluation`. Statistics and
outputs: :mod:`~detaug.robustness.stats`, :mod:`~detaug.robustness.results` (CSV),
:mod:`~detaug.robustness.tables` (markdown), :mod:`~detaug.robustness.plot`,
:mod:`~detaug.robustness.report` (``STUDY.md``), :mod:`~detaug.robustness.runs` (finished
runs, ``detaug-compare``). The study: :mod:`~detaug.robustness.schemes` (the matrix, as
data), :mod:`~detaug.robustness.study_plan`, :mod:`~detaug.robustness.training`,
:mod:`~detaug.robustness.cost`, :mod:`~detaug.robustness.study` (evaluation phase and
outputs).
"""

from detaug.robustness.occluders import KINDS, LEVELS, Level, OcclusionPlan, OcclusionSampler, parse_levels
from detaug.robustness.paint import paint

__all__ = ["KINDS", "LEVELS", "Level", "OcclusionPlan", "OcclusionSampler", "paint", "parse_levels"]
