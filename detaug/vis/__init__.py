"""Visualisation of erased regions, boxes and masks.

Modules: :mod:`~detaug.vis.draw` (one image: boxes, labels, masks, regions),
:mod:`~detaug.vis.grid` (laying drawings out with titles and a legend),
:mod:`~detaug.vis.plans` (finding and reading the plan a transform recorded),
:mod:`~detaug.vis.render` (drawing dataset items through their transforms, seeded).
"""

from detaug.vis.draw import (
    DROPPED_COLOR,
    EDGE_COLOR,
    IMAGE_LEVEL_COLOR,
    PALETTE,
    box_color,
    contrast_ratio,
    draw_sample,
    label_size,
    label_text,
    line_width_for,
    text_color,
    to_uint8_hwc,
)
from detaug.vis.grid import default_legend, make_grid
from detaug.vis.plans import DROPPED, find_plan, is_union, remap_dropped
from detaug.vis.render import (
    SEED_ONLY_CAPTION,
    UNION_CAPTION,
    DrawnSample,
    compare_caption,
    draw_item,
    draw_items,
    item_seed,
)

__all__ = [
    "DROPPED",
    "DROPPED_COLOR",
    "EDGE_COLOR",
    "IMAGE_LEVEL_COLOR",
    "PALETTE",
    "SEED_ONLY_CAPTION",
    "UNION_CAPTION",
    "DrawnSample",
    "box_color",
    "compare_caption",
    "contrast_ratio",
    "default_legend",
    "draw_item",
    "draw_items",
    "draw_sample",
    "find_plan",
    "is_union",
    "item_seed",
    "label_size",
    "label_text",
    "line_width_for",
    "make_grid",
    "remap_dropped",
    "text_color",
    "to_uint8_hwc",
]
