"""Robustness to occlusion: test-time occluders and the occlusion study."""

from detaug.robustness.occlusion import OCCLUSION_KINDS, covered_fraction, occlude, occlusion_params, parse_levels

__all__ = ["OCCLUSION_KINDS", "covered_fraction", "occlude", "occlusion_params", "parse_levels"]
