"""Drawing erased regions and boxes onto images (numpy in, numpy out; no display needed).

Colours say where a region came from: the ground-truth box ``k`` and every region
erased inside it share palette colour ``k`` (box solid, region dashed); image-level
regions are dashed in :data:`IMAGE_LEVEL_COLOR`.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from detaug.erasing.plan import ErasePlan

#: Colour of image-level (IRE) regions.
IMAGE_LEVEL_COLOR = (255, 0, 255)
#: Colour of regions erased inside a box that a ``min_visibility`` policy then dropped
#: (plan source ``-2`` after :func:`remap_dropped`).
DROPPED_COLOR = (160, 160, 160)
#: Colours of boxes (and of the ORE regions inside them), cycled by box index.
PALETTE = (
    (0, 200, 0),
    (0, 160, 255),
    (255, 160, 0),
    (255, 255, 0),
    (0, 255, 200),
    (160, 90, 255),
    (255, 90, 90),
    (120, 255, 60),
)


def box_color(index: int) -> tuple[int, int, int]:
    """Palette colour of box ``index`` (and of the ORE regions drawn inside it)."""
    return PALETTE[index % len(PALETTE)]


def remap_dropped(plan: ErasePlan, keep: Optional[np.ndarray]) -> ErasePlan:
    """Re-index a plan's sources to the boxes that survived a drop policy.

    Regions inside a kept box point at its new index; regions inside a dropped box get
    source ``-2`` (drawn in :data:`DROPPED_COLOR`); image-level regions stay ``-1``.

    Examples:
        >>> plan = ErasePlan(np.zeros((3, 4)), np.array([-1, 0, 2]), image_size=(5, 5))
        >>> remap_dropped(plan, np.array([False, True, True])).source.tolist()
        [-1, -2, 1]
    """
    if keep is None:
        return plan
    keep = np.asarray(keep, bool)
    new_index = np.where(keep, np.cumsum(keep) - 1, -2)
    source = np.where(plan.source >= 0, new_index[np.clip(plan.source, 0, None)], plan.source)
    return ErasePlan(plan.rects, source, plan.fill, plan.seed, plan.image_size)


def to_uint8_hwc(image) -> np.ndarray:
    """An HWC uint8 RGB array from a numpy HW/HWC or torch CHW image (uint8 or float in [0, 1]).

    Examples:
        >>> to_uint8_hwc(np.ones((2, 3), np.float32)).shape
        (2, 3, 3)
    """
    if hasattr(image, "detach"):  # torch tensor, CHW
        image = image.detach().cpu()
        image = image.permute(1, 2, 0).numpy() if image.ndim == 3 else image.numpy()
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (np.clip(image.astype(np.float32), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def _dashed_rectangle(draw: ImageDraw.ImageDraw, rect, color, width: int, dash: int = 4) -> None:
    x1, y1, x2, y2 = (float(v) for v in rect)
    x2, y2 = x2 - 1, y2 - 1  # regions are pixel-edge exclusive; outline the last pixel row/column
    for (ax, ay, bx, by) in ((x1, y1, x2, y1), (x2, y1, x2, y2), (x2, y2, x1, y2), (x1, y2, x1, y1)):
        length = max(abs(bx - ax), abs(by - ay))
        steps = max(int(length // dash), 1)
        for i in range(0, steps, 2):
            t0, t1 = i / steps, min((i + 1) / steps, 1.0)
            draw.line(
                [(ax + (bx - ax) * t0, ay + (by - ay) * t0), (ax + (bx - ax) * t1, ay + (by - ay) * t1)],
                fill=color,
                width=width,
            )


def draw_sample(
    image,
    boxes: Optional[np.ndarray] = None,
    labels: Optional[Sequence[int]] = None,
    plan: Optional[ErasePlan] = None,
    class_names: Optional[Sequence[str]] = None,
    line_width: int = 1,
    show_labels: bool = True,
    zoom: float = 1.0,
) -> np.ndarray:
    """Draw ground-truth boxes, their class names and the erased regions onto a copy of ``image``.

    Args:
        image: numpy HW/HWC or torch CHW image, uint8 or float in [0, 1].
        boxes: ``[N, 4]`` xyxy absolute pixels. Default None.
        labels: ``[N]`` class labels; names come from ``class_names[label - 1]`` (label 0
            is background) when given. Default None.
        plan: the erased regions (from a transform's recorded plan). Default None.
        class_names: class names without background. Default None.
        line_width: outline width in pixels. Default 1.
        show_labels: write the class name above each box. Default True.
        zoom: magnify the image (nearest neighbour) before drawing, so that outlines
            and names stay sharp on small images. Default 1.0.

    Returns:
        uint8 HWC RGB array of the image's size times ``zoom``.

    Examples:
        >>> plan = ErasePlan(np.array([[2, 2, 6, 6]]), np.array([-1]), image_size=(10, 10))
        >>> out = draw_sample(np.zeros((10, 10, 3), np.uint8), plan=plan)
        >>> tuple(out[2, 2]) == IMAGE_LEVEL_COLOR, out.shape
        (True, (10, 10, 3))
    """
    canvas = Image.fromarray(to_uint8_hwc(image))
    if zoom <= 0:
        raise ValueError(f"zoom must be positive, got {zoom!r}")
    if zoom != 1.0:
        canvas = canvas.resize((max(1, round(canvas.width * zoom)), max(1, round(canvas.height * zoom))), Image.NEAREST)
    draw = ImageDraw.Draw(canvas)
    if plan is not None:
        for rect, src in zip(plan.rects, plan.source):
            color = box_color(int(src)) if src >= 0 else IMAGE_LEVEL_COLOR if src == -1 else DROPPED_COLOR
            _dashed_rectangle(draw, np.asarray(rect, np.float64) * zoom, color, line_width, dash=max(4, int(3 * zoom)))
    if boxes is not None:
        font = ImageFont.load_default()
        for k, box in enumerate(np.asarray(boxes, dtype=np.float64).reshape(-1, 4)):
            color = box_color(k)
            x1, y1, x2, y2 = box * zoom
            draw.rectangle([x1, y1, max(x2 - 1, x1), max(y2 - 1, y1)], outline=color, width=line_width)
            if show_labels and labels is not None and k < len(labels):
                label = int(labels[k])
                name = class_names[label - 1] if class_names is not None and 0 < label <= len(class_names) else str(label)
                draw.text((x1 + 1, max(y1 - 10, 0)), name, fill=color, font=font)
    return np.asarray(canvas)


def make_grid(
    cells: Sequence[np.ndarray],
    titles: Optional[Sequence[str]] = None,
    ncols: int = 4,
    cell_size: Optional[tuple[int, int]] = None,
    legend: Optional[Sequence[tuple[str, tuple[int, int, int]]]] = None,
    pad: int = 4,
    title_height: int = 14,
) -> np.ndarray:
    """Lay out HWC uint8 images in a grid with titles above each cell and an optional legend row.

    Cells are resized (nearest) to ``cell_size`` ``(height, width)``, by default the
    largest cell's size.

    Returns:
        uint8 HWC RGB array.

    Examples:
        >>> grid = make_grid([np.zeros((8, 8, 3), np.uint8)] * 3, ncols=2, pad=0, title_height=0)
        >>> grid.shape
        (16, 16, 3)
    """
    if not cells:
        raise ValueError("make_grid needs at least one cell")
    if cell_size is None:
        cell_size = (max(c.shape[0] for c in cells), max(c.shape[1] for c in cells))
    ch, cw = cell_size
    ncols = max(1, min(ncols, len(cells)))
    nrows = (len(cells) + ncols - 1) // ncols
    width = ncols * (cw + pad) + pad
    legend_cols = max(1, min(3, width // 340))
    legend_height = 16 * ((len(legend) + legend_cols - 1) // legend_cols) + pad if legend else 0
    height = nrows * (ch + title_height + pad) + pad + legend_height
    grid = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    font = ImageFont.load_default()
    for i, cell in enumerate(cells):
        r, c = divmod(i, ncols)
        x = pad + c * (cw + pad)
        y = pad + r * (ch + title_height + pad)
        if titles is not None and title_height:
            draw.text((x, y), str(titles[i]), fill=(0, 0, 0), font=font)
        img = Image.fromarray(to_uint8_hwc(cell))
        if img.size != (cw, ch):
            img = img.resize((cw, ch), Image.NEAREST)
        grid.paste(img, (x, y + title_height))
    if legend:
        y0 = height - legend_height
        col_width = max(width // legend_cols, 1)
        for i, (text, color) in enumerate(legend):
            r, c = divmod(i, legend_cols)
            x, y = pad + c * col_width, y0 + r * 16
            draw.rectangle([x, y + 3, x + 10, y + 13], outline=color, fill=color)
            draw.text((x + 14, y + 2), text, fill=(0, 0, 0), font=font)
    return np.asarray(grid)


def default_legend(num_boxes: int = 3, dropped: bool = False) -> list[tuple[str, tuple[int, int, int]]]:
    """Legend entries: the image-level colour, one per box colour (the palette repeats
    after ``len(PALETTE)`` boxes) and, with ``dropped``, the colour of regions in dropped boxes.

    Examples:
        >>> [text for text, _ in default_legend(2)][1]
        'box 0 (solid), regions erased in it (dashed)'
    """
    entries = [("image-level erased region (dashed)", IMAGE_LEVEL_COLOR)]
    wraps = num_boxes > len(PALETTE)
    for k in range(min(max(num_boxes, 1), len(PALETTE))):
        boxes = f"box {k}, {k + len(PALETTE)}, ..." if wraps else f"box {k}"
        entries.append((f"{boxes} (solid), regions erased in it (dashed)", box_color(k)))
    if dropped:
        entries.append(("region in a box dropped by min_visibility", DROPPED_COLOR))
    return entries
