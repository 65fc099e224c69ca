"""Robustness to occlusion: test-time occluders and the occlusion study.

Modules: :mod:`~detaug.robustness.occlusion` (the erasing-core noise occluders),
:mod:`~detaug.robustness.schemes` (the study's training schemes, as data),
:mod:`~detaug.robustness.training` (training the runs as subprocesses),
:mod:`~detaug.robustness.study_plan` (what an invocation will do),
:mod:`~detaug.robustness.cost` (its estimated cost),
:mod:`~detaug.robustness.runs` (reading finished runs).
"""

from detaug.robustness.occlusion import OCCLUSION_KINDS, covered_fraction, occlude, occlusion_params, parse_levels

__all__ = ["OCCLUSION_KINDS", "covered_fraction", "occlude", "occlusion_params", "parse_levels"]
