"""Laying drawn samples out in a grid with titles, a caption and a colour legend."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageDraw

from detaug.vis.draw import DROPPED_COLOR, IMAGE_LEVEL_COLOR, PALETTE, Color, font, to_uint8_hwc

#: Text size of titles, caption and legend, in pixels.
TEXT_SIZE = 13


def make_grid(
    cells: Sequence[np.ndarray],
    titles: Optional[Sequence[str]] = None,
    *,
    ncols: int = 4,
    cell_size: Optional[Tuple[int, int]] = None,
    legend: Optional[Sequence[Tuple[str, Any]]] = None,
    pad: int = 4,
    title_height: int = TEXT_SIZE + 5,
    caption: Optional[str] = None,
) -> np.ndarray:
    """Lay out HWC uint8 images in a grid: a title above each cell, then a caption line and legend rows.

    Drawings are not scaled (scaling would blur or stretch their text): each column is as
    wide as its widest drawing and each row as tall as its tallest, and a smaller drawing
    is centred in its cell. With ``cell_size`` every cell takes that size, and larger
    drawings are reduced to fit, keeping their aspect ratio. Legend entries take one row
    of ``TEXT_SIZE + 5`` pixels each, in as many columns as fit (at most three, 340 px each).

    Args:
        cells: the drawings.
        titles: one per cell. Default None.
        ncols: columns. Default 4.
        cell_size: ``(height, width)`` of every cell. Default None (sizes from the drawings).
        legend: ``(text, colour)`` entries drawn below the cells; a sequence of colours
            draws one stripe each. Default None.
        pad: white space around cells, in pixels. Default 4.
        title_height: height of the title line above each cell (0: no titles). Default 18.
        caption: one line of text below the cells. Default None.

    Returns:
        uint8 HWC RGB array.

    Raises:
        ValueError: if ``cells`` is empty.

    Examples:
        >>> grid = make_grid([np.zeros((8, 8, 3), np.uint8)] * 3, ncols=2, pad=0, title_height=0)
        >>> grid.shape
        (16, 16, 3)
    """
    if not cells:
        raise ValueError("make_grid needs at least one cell")
    images = [Image.fromarray(to_uint8_hwc(cell)) for cell in cells]
    for img in images if cell_size else ():
        img.thumbnail((cell_size[1], cell_size[0]), Image.LANCZOS)  # only ever reduces
    ncols = max(1, min(ncols, len(cells)))
    rows = [images[i : i + ncols] for i in range(0, len(images), ncols)]
    widths = [cell_size[1] if cell_size else max(img.width for img in images[c::ncols]) for c in range(ncols)]
    heights = [cell_size[0] if cell_size else max(img.height for img in row) for row in rows]
    xs = np.cumsum([pad] + [w + pad for w in widths])
    ys = np.cumsum([pad] + [h + title_height + pad for h in heights])
    width, cells_height = int(xs[-1]), int(ys[-1])
    line = TEXT_SIZE + 5
    legend_cols = max(1, min(3, width // 340))
    legend_height = line * ((len(legend) + legend_cols - 1) // legend_cols) + pad if legend else 0
    caption_height = line + pad if caption else 0
    grid = Image.new("RGB", (width, cells_height + caption_height + legend_height), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    face = font(TEXT_SIZE)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        x, y = int(xs[c]), int(ys[r])
        if titles is not None and title_height:
            draw.text((x, y), str(titles[i]), fill=(0, 0, 0), font=face)
        grid.paste(img, (x + (widths[c] - img.width) // 2, y + title_height + (heights[r] - img.height) // 2))
    if caption:
        draw.text((pad, cells_height), caption, fill=(0, 0, 0), font=face)
    _draw_legend(draw, legend or (), pad, cells_height + caption_height, max(width // legend_cols, 1), legend_cols)
    return np.asarray(grid)


def _draw_legend(draw: ImageDraw.ImageDraw, legend: Sequence[Tuple[str, Any]], x0: int, y0: int,
                 col_width: int, ncols: int) -> None:
    face = font(TEXT_SIZE)
    for i, (text, color) in enumerate(legend):
        r, c = divmod(i, ncols)
        x, y = x0 + c * col_width, y0 + r * (TEXT_SIZE + 5)
        x_text = _swatch(draw, x, y + 2, TEXT_SIZE - 2, color)
        draw.text((x_text + 4, y + 1), text, fill=(0, 0, 0), font=face)


def _swatch(draw: ImageDraw.ImageDraw, x: int, y: int, size: int, color: Union[Color, Sequence[Color]]) -> int:
    """A square of ``color``, or side by side stripes of several colours; returns its right end."""
    colors = [tuple(color)] if isinstance(color[0], int) else [tuple(c) for c in color]
    stripe = size if len(colors) == 1 else max(3, size // 3)
    for k, c in enumerate(colors):
        draw.rectangle([x + k * stripe, y, x + (k + 1) * stripe, y + size], fill=c)
    right = x + len(colors) * stripe
    draw.rectangle([x, y, right, y + size], outline=(0, 0, 0))
    return right


def default_legend(num_boxes: int = 3, dropped: bool = False, masks: bool = False) -> list[Tuple[str, Any]]:
    """Legend entries: the image-level colour, the box colours (one entry, a stripe per
    colour used) and, with ``dropped``, the colour of regions in dropped boxes.

    Args:
        num_boxes: the most boxes in one drawn image (how many palette colours are in
            use). Default 3.
        dropped: add the entry of regions inside boxes a drop policy removed. Default False.
        masks: say that a box's colour also marks its mask outline and the mask's
            tinted erased part. Default False.

    Returns:
        ``[(text, colour or colours), ...]`` for :func:`make_grid`.

    Examples:
        >>> [text for text, _ in default_legend(2)][1]
        'each box (solid), its class name and the regions erased in it (dashed) share a colour'
        >>> len(default_legend(2)[1][1])  # two stripes
        2
    """
    mask = ", its mask (outline; tinted where erased)" if masks else ""
    colors = PALETTE[: min(max(num_boxes, 1), len(PALETTE))]
    entries: list[Tuple[str, Any]] = [
        ("image-level erased region (dashed)", IMAGE_LEVEL_COLOR),
        (f"each box (solid), its class name{mask} and the regions erased in it (dashed) share a colour", colors),
    ]
    if dropped:
        entries.append(("region in a box dropped by min_visibility", DROPPED_COLOR))
    return entries
