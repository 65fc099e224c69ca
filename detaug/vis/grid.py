"""Laying drawn samples out in a grid with titles, a caption and a colour legend."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from detaug.vis.draw import DROPPED_COLOR, IMAGE_LEVEL_COLOR, PALETTE, Color, box_color, font, to_uint8_hwc

#: Text size of titles, caption and legend, in pixels.
TEXT_SIZE = 13


def make_grid(
    cells: Sequence[np.ndarray],
    titles: Optional[Sequence[str]] = None,
    ncols: int = 4,
    cell_size: Optional[Tuple[int, int]] = None,
    legend: Optional[Sequence[Tuple[str, Color]]] = None,
    pad: int = 4,
    title_height: int = TEXT_SIZE + 5,
    caption: Optional[str] = None,
) -> np.ndarray:
    """Lay out HWC uint8 images in a grid: a title above each cell, then a caption line and legend rows.

    Cells are resized (nearest) to ``cell_size`` ``(height, width)``, by default the
    largest cell's size. Legend entries take one row of ``TEXT_SIZE + 5`` pixels each, in
    as many columns as fit (at most three, 340 px each).

    Args:
        cells: the drawings.
        titles: one per cell. Default None.
        ncols: columns. Default 4.
        cell_size: ``(height, width)`` of every cell. Default the largest cell's.
        legend: ``(text, colour)`` entries drawn below the cells. Default None.
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
    ch, cw = cell_size or (max(c.shape[0] for c in cells), max(c.shape[1] for c in cells))
    ncols = max(1, min(ncols, len(cells)))
    nrows = (len(cells) + ncols - 1) // ncols
    width = ncols * (cw + pad) + pad
    row = TEXT_SIZE + 5
    legend_cols = max(1, min(3, width // 340))
    legend_height = row * ((len(legend) + legend_cols - 1) // legend_cols) + pad if legend else 0
    caption_height = row + pad if caption else 0
    cells_height = nrows * (ch + title_height + pad) + pad
    grid = Image.new("RGB", (width, cells_height + caption_height + legend_height), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    face = font(TEXT_SIZE)
    for i, cell in enumerate(cells):
        r, c = divmod(i, ncols)
        x, y = pad + c * (cw + pad), pad + r * (ch + title_height + pad)
        if titles is not None and title_height:
            draw.text((x, y), str(titles[i]), fill=(0, 0, 0), font=face)
        img = Image.fromarray(to_uint8_hwc(cell))
        if img.size != (cw, ch):
            img = img.resize((cw, ch), Image.NEAREST)
        grid.paste(img, (x, y + title_height))
    if caption:
        draw.text((pad, cells_height), caption, fill=(0, 0, 0), font=face)
    col_width = max(width // legend_cols, 1)
    for i, (text, color) in enumerate(legend or ()):
        r, c = divmod(i, legend_cols)
        x, y = pad + c * col_width, cells_height + caption_height + r * row
        draw.rectangle([x, y + 2, x + TEXT_SIZE - 2, y + TEXT_SIZE], outline=(0, 0, 0), fill=color)
        draw.text((x + TEXT_SIZE + 4, y + 1), text, fill=(0, 0, 0), font=face)
    return np.asarray(grid)


def default_legend(num_boxes: int = 3, dropped: bool = False, masks: bool = False) -> list[Tuple[str, Color]]:
    """Legend entries: the image-level colour, one per box colour (the palette repeats
    after ``len(PALETTE)`` boxes) and, with ``dropped``, the colour of regions in dropped boxes.

    Args:
        num_boxes: the most boxes in one drawn image. Default 3.
        dropped: add the entry of regions inside boxes a drop policy removed. Default False.
        masks: say that box entries also mean a mask outline and its tinted erased part.
            Default False.

    Returns:
        ``[(text, colour), ...]`` for :func:`make_grid`.

    Examples:
        >>> [text for text, _ in default_legend(2)][1]
        'box 0 (solid), regions erased in it (dashed)'
    """
    entries = [("image-level erased region (dashed)", IMAGE_LEVEL_COLOR)]
    wraps = num_boxes > len(PALETTE)
    what = "(solid), its mask (outline; tinted where erased), regions erased in it (dashed)" if masks else \
        "(solid), regions erased in it (dashed)"
    for k in range(min(max(num_boxes, 1), len(PALETTE))):
        boxes = f"box {k}, {k + len(PALETTE)}, ..." if wraps else f"box {k}"
        entries.append((f"{boxes} {what}", box_color(k)))
    if dropped:
        entries.append(("region in a box dropped by min_visibility", DROPPED_COLOR))
    return entries
