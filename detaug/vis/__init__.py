"""Visualisation of erased regions and boxes (drawing and grids)."""

from detaug.vis.draw import (
    DROPPED_COLOR,
    IMAGE_LEVEL_COLOR,
    PALETTE,
    box_color,
    default_legend,
    draw_sample,
    make_grid,
    remap_dropped,
    to_uint8_hwc,
)

__all__ = [
    "DROPPED_COLOR",
    "IMAGE_LEVEL_COLOR",
    "PALETTE",
    "box_color",
    "default_legend",
    "draw_sample",
    "make_grid",
    "remap_dropped",
    "to_uint8_hwc",
]
