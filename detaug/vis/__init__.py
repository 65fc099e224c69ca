"""Visualisation of erased regions and boxes (drawing and grids)."""

from detaug.vis.draw import IMAGE_LEVEL_COLOR, PALETTE, box_color, default_legend, draw_sample, make_grid, to_uint8_hwc

__all__ = ["IMAGE_LEVEL_COLOR", "PALETTE", "box_color", "default_legend", "draw_sample", "make_grid", "to_uint8_hwc"]
