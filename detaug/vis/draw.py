"""Drawing erased regions, boxes, labels and instance masks onto an image (numpy in, numpy out).

Colours say where a region came from: the ground-truth box ``k``, its mask and every
region erased inside it share palette colour ``k`` (box solid, region dashed, mask a thin
outline, the mask's erased pixels tinted); image-level regions are dashed in
:data:`IMAGE_LEVEL_COLOR`. Every outline has a dark edge, so it stays visible on noise
and on objects of its own colour, and class names are written in black or white,
whichever contrasts more, on a patch of the box colour.
"""

from __future__ import annotations

import numbers
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from detaug.erasing.plan import IMAGE_LEVEL, ErasePlan
from detaug.erasing.visibility import erased_pixels

Color = Tuple[int, int, int]

#: Colour of image-level (IRE) regions.
IMAGE_LEVEL_COLOR: Color = (255, 0, 255)
#: Colour of regions erased inside a box that a ``min_visibility`` policy then dropped
#: (plan source ``-2`` after :func:`detaug.vis.remap_dropped`).
DROPPED_COLOR: Color = (160, 160, 160)
#: Colour of the edge drawn around every outline.
EDGE_COLOR: Color = (0, 0, 0)
#: Colours of boxes (and of the regions and masks drawn for them), cycled by box index.
PALETTE: Tuple[Color, ...] = (
    (0, 200, 0),
    (0, 160, 255),
    (255, 160, 0),
    (255, 255, 0),
    (0, 255, 200),
    (160, 90, 255),
    (255, 90, 90),
    (120, 255, 60),
)
#: How much of a mask's erased pixels the box colour covers.
MASK_TINT = 0.55


def box_color(index: int) -> Color:
    """Palette colour of box ``index`` (and of the regions and mask drawn for it)."""
    return PALETTE[index % len(PALETTE)]


def region_color(source: int) -> Color:
    """Colour of a plan region with this source index (box, image level, or dropped box)."""
    if source >= 0:
        return box_color(source)
    return IMAGE_LEVEL_COLOR if source == IMAGE_LEVEL else DROPPED_COLOR


def relative_luminance(color: Sequence[int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0 black .. 1 white).

    Examples:
        >>> relative_luminance((0, 0, 0)), relative_luminance((255, 255, 255))
        (0.0, 1.0)
    """
    c = np.asarray(color, np.float64)[:3] / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(np.dot(linear, (0.2126, 0.7152, 0.0722)))


def contrast_ratio(a: Sequence[int], b: Sequence[int]) -> float:
    """WCAG 2 contrast ratio of two colours, 1 (none) .. 21 (black on white).

    Examples:
        >>> round(contrast_ratio((0, 0, 0), (255, 255, 255)), 1)
        21.0
    """
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_color(background: Sequence[int]) -> Color:
    """Black or white, whichever contrasts more with ``background``.

    Examples:
        >>> text_color((255, 255, 0)), text_color((0, 0, 160))
        ((0, 0, 0), (255, 255, 255))
    """
    black, white = (0, 0, 0), (255, 255, 255)
    return black if contrast_ratio(background, black) >= contrast_ratio(background, white) else white


def font(size: int) -> ImageFont.ImageFont:
    """Pillow's built-in scalable font at ``size`` pixels (its fixed bitmap font without FreeType)."""
    return ImageFont.load_default(size=size)


def label_size(width: int, height: int) -> int:
    """Default font size of class names on a ``width`` x ``height`` drawing: 1/24 of the
    shorter side, at least 13 px, the size of a grid's titles (smaller text is hard to
    read on a screen).

    Examples:
        >>> label_size(256, 384), label_size(640, 480)
        (13, 20)
    """
    return max(13, min(width, height) // 24)


def line_width_for(width: int, height: int) -> int:
    """Default outline width on a ``width`` x ``height`` drawing: 1 px up to about 240 px on
    the shorter side, then 1 px more per 160 px, so that outlines stay visible in a grid.

    Examples:
        >>> line_width_for(192, 128), line_width_for(320, 240), line_width_for(640, 480)
        (1, 2, 3)
    """
    return max(1, round(min(width, height) / 160))


def to_uint8_hwc(image: Any) -> np.ndarray:
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


def label_text(label: Any, class_names: Optional[Sequence[str]] = None, first_label: int = 1) -> str:
    """The text drawn for one label: a name as given, or an int label's class name.

    Int labels name ``class_names[label - first_label]``. ``first_label=1`` (the default):
    labels count from 1 and 0 is the background, as torchvision detection models and
    detaug's datasets number them. ``first_label=0``: 0-based labels (YOLO, a list of
    class indices). Without ``class_names``, the number itself.

    Raises:
        ValueError: with ``class_names``, an int label that names none of them (naming the
            label, the labels that have names and ``first_label``); a label that is not a
            whole number or a name.

    Examples:
        >>> label_text("circle"), label_text(2, ["circle", "star"]), label_text(7)
        ('circle', 'star', '7')
        >>> label_text(0, ["circle", "star"], first_label=0)
        'circle'
    """
    if isinstance(label, bytes):
        return label.decode()
    if isinstance(label, str):
        return label
    value = label.item() if hasattr(label, "item") else label
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value).is_integer():
        raise ValueError(f"labels must be whole numbers or class names, got {label!r}")
    index = int(value)
    if class_names is None:
        return str(index)
    if not first_label <= index < first_label + len(class_names):
        last = first_label + len(class_names) - 1
        hint = (" (label 0 is the background when labels count from 1; for 0-based labels pass first_label=0)"
                if first_label == 1 and index == 0 else "")
        raise ValueError(f"label {index} has no name: class_names has {len(class_names)} names, for labels "
                         f"{first_label}..{last} (first_label={first_label}){hint}")
    return str(class_names[index - first_label])


# ----------------------------------------------------------------------------- outlines


def _outline(draw: ImageDraw.ImageDraw, box, color: Color, width: int, dash: int = 0) -> None:
    """Outline pixels ``x1..x2``, ``y1..y2`` (inclusive) inwards, ``width`` thick, dashed
    when ``dash`` > 0, on a dark edge one pixel wider on each side."""
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    draw.rectangle([x1 - 1, y1 - 1, x2 + 1, y2 + 1], outline=EDGE_COLOR, width=width + 2)
    if dash <= 0:
        draw.rectangle([x1, y1, x2, y2], outline=color, width=width)
        return
    for x in range(x1, x2 + 1, 2 * dash):  # top and bottom edges
        x_end = min(x + dash - 1, x2)
        draw.rectangle([x, y1, x_end, y1 + width - 1], fill=color)
        draw.rectangle([x, y2 - width + 1, x_end, y2], fill=color)
    for y in range(y1, y2 + 1, 2 * dash):  # left and right edges
        y_end = min(y + dash - 1, y2)
        draw.rectangle([x1, y, x1 + width - 1, y_end], fill=color)
        draw.rectangle([x2 - width + 1, y, x2, y_end], fill=color)


def _last_pixel(box: np.ndarray) -> np.ndarray:
    """Continuous ``x1, y1, x2, y2`` -> the first and last covered pixel (inclusive)."""
    x1, y1, x2, y2 = box
    return np.array([x1, y1, max(x2 - 1, x1), max(y2 - 1, y1)])


# ----------------------------------------------------------------------------- masks


def _zoom_masks(masks: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of ``[N, H, W]`` masks to ``size`` ``(height, width)``,
    sampling at pixel centres as PIL's nearest resize does."""
    _, h, w = masks.shape
    rows = np.minimum(((np.arange(size[0]) + 0.5) * h / size[0]).astype(int), h - 1)
    cols = np.minimum(((np.arange(size[1]) + 0.5) * w / size[1]).astype(int), w - 1)
    return masks[:, rows][:, :, cols]


def _inner_edge(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels of ``mask`` within ``width`` pixels (4-neighbourhood) of its border."""
    inner = mask.copy()
    for _ in range(width):
        padded = np.pad(inner, 1)
        inner = inner & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~inner


def _draw_masks(canvas: np.ndarray, masks: Any, plan: Optional[ErasePlan], width: int) -> np.ndarray:
    """Tint each mask's erased pixels and outline each mask, in its box colour."""
    if hasattr(masks, "detach"):
        masks = masks.detach().cpu().numpy()
    masks = np.asarray(masks).astype(bool)
    if masks.ndim != 3:
        raise ValueError(f"masks must be [N, H, W], got shape {masks.shape}")
    erased = masks & erased_pixels(plan) if plan is not None else np.zeros_like(masks)  # region_masks honoured
    size = canvas.shape[:2]
    masks, erased = _zoom_masks(masks, size), _zoom_masks(erased, size)
    out = canvas.astype(np.float32)
    for k in range(len(masks)):
        color = np.array(box_color(k), np.float32)
        out[erased[k]] = (1 - MASK_TINT) * out[erased[k]] + MASK_TINT * color
        out[_inner_edge(masks[k], width)] = color
    return (out + 0.5).astype(np.uint8)


# ----------------------------------------------------------------------------- labels


def _overlap(a: Sequence[float], b: Sequence[float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def _place_label(box, size: Tuple[int, int], canvas_size: Tuple[int, int], taken: List[Sequence[float]]):
    """Top-left corner of a ``size`` label for ``box``: above it or inside its top, then
    below it or inside its bottom, each at its left and its right end; the first that
    overlaps no label placed before (else the one that overlaps least)."""
    (w, h), (cw, ch) = size, canvas_size
    x1, y1, x2, y2 = box
    candidates = [(x, y) for ys in ((y1 - h, y1 + 1), (y2 + 1, y2 - h)) for y in ys for x in (x1, x2 - w)]
    candidates = [(min(max(x, 0), max(cw - w, 0)), min(max(y, 0), max(ch - h, 0))) for x, y in candidates]
    return min(candidates, key=lambda c: sum(_overlap((c[0], c[1], c[0] + w, c[1] + h), t) for t in taken))


def _draw_labels(draw: ImageDraw.ImageDraw, boxes: np.ndarray, texts: Sequence[str], size: int,
                 canvas_size: Tuple[int, int]) -> None:
    face = font(size)
    pad = max(1, size // 6)
    _, top, _, bottom = face.getbbox("Hg")  # cap height + descender: every label patch is as tall
    h = bottom - top + 2 * pad
    taken: List[Sequence[float]] = []
    for k, text in enumerate(texts):
        w = round(draw.textlength(text, font=face)) + 2 * pad
        x, y = _place_label(boxes[k], (w, h), canvas_size, taken)
        taken.append((x, y, x + w, y + h))
        color = box_color(k)
        draw.rectangle([x, y, x + w - 1, y + h - 1], fill=color)
        draw.text((x + pad, y + pad - top), text, fill=text_color(color), font=face)


# ----------------------------------------------------------------------------- the sample


def _zoomed(image: Any, zoom: float) -> Image.Image:
    canvas = Image.fromarray(to_uint8_hwc(image))
    if zoom <= 0:
        raise ValueError(f"zoom must be positive, got {zoom!r}")
    if zoom == 1.0:
        return canvas
    size = (max(1, round(canvas.width * zoom)), max(1, round(canvas.height * zoom)))
    # Enlarged pixels stay sharp squares; reduced photos are filtered rather than aliased.
    return canvas.resize(size, Image.NEAREST if zoom > 1 else Image.LANCZOS)


def draw_sample(
    image: Any,
    boxes: Optional[np.ndarray] = None,
    labels: Optional[Sequence[Any]] = None,
    plan: Optional[ErasePlan] = None,
    class_names: Optional[Sequence[str]] = None,
    *,
    line_width: Optional[int] = None,
    show_labels: bool = True,
    zoom: float = 1.0,
    masks: Any = None,
    font_size: Optional[int] = None,
    first_label: int = 1,
) -> np.ndarray:
    """Draw boxes, class names, instance masks and the erased regions onto a copy of ``image``.

    Args:
        image: numpy HW/HWC or torch CHW image, uint8 or float in [0, 1].
        boxes: ``[N, 4]`` xyxy absolute pixels. Default None.
        labels: ``[N]`` labels: class names (str, as an albumentations pipeline with
            string labels returns them) or ints, named ``class_names[label - first_label]``
            (the number itself without ``class_names``). Default None.
        plan: the erased regions (from a transform's recorded plan); boxes it protected
            (``protect``) get "(protected)" or "(protected, 10%)" after their name.
            Default None.
        class_names: class names without background. Default None.
        line_width: outline width in pixels at the drawn size, on a one-pixel dark edge
            each side. Default :func:`line_width_for` the drawing's size.
        show_labels: write each box's class name on a patch of its colour. Default True.
        zoom: scale the image before drawing (nearest neighbour when enlarging, Lanczos
            when reducing), so that outlines and text are drawn at the final resolution.
            Default 1.0.
        masks: ``[N, H, W]`` instance masks (bool or uint8, numpy or torch) aligned with
            ``boxes``: each is outlined in its box colour, and its pixels under the
            plan's regions (the erased part of the object) are tinted in that colour.
            Default None.
        font_size: text height in pixels; default :func:`label_size` of the drawing.
        first_label: the int label of ``class_names[0]``: 1 when labels count from 1 and
            0 is the background (torchvision detection models, detaug's datasets and
            training pipeline), 0 for 0-based labels (YOLO, class indices). Default 1.

    Returns:
        uint8 HWC RGB array of the image's size times ``zoom``.

    Raises:
        ValueError: if ``zoom`` is not positive, ``masks`` is not ``[N, H, W]``,
            ``first_label`` is not an integer >= 0, or, with ``class_names``, an int label
            names no class (see :func:`label_text`).

    Examples:
        >>> plan = ErasePlan(np.array([[2, 2, 6, 6]]), np.array([-1]), image_size=(10, 10))
        >>> out = draw_sample(np.zeros((10, 10, 3), np.uint8), plan=plan)
        >>> tuple(out[2, 2]) == IMAGE_LEVEL_COLOR, out.shape
        (True, (10, 10, 3))
    """
    if isinstance(first_label, bool) or not isinstance(first_label, numbers.Integral) or first_label < 0:
        raise ValueError(f"first_label must be an integer >= 0 (1: labels count from 1, 0 the background; 0: 0-based "
                         f"labels), got {first_label!r}")
    canvas = _zoomed(image, zoom)
    line_width = line_width or line_width_for(*canvas.size)
    if masks is not None:
        canvas = Image.fromarray(_draw_masks(np.asarray(canvas), masks, plan, line_width))
    draw = ImageDraw.Draw(canvas)
    if plan is not None:
        for rect, src in zip(plan.rects, plan.source):
            dash = max(4, round(3 * zoom))
            _outline(draw, _last_pixel(np.asarray(rect, np.float64) * zoom), region_color(int(src)), line_width, dash)
    if boxes is None:
        return np.asarray(canvas)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) * zoom
    for k, box in enumerate(boxes):
        _outline(draw, _last_pixel(box), box_color(k), line_width)
    if show_labels and labels is not None:
        labels = labels.tolist() if hasattr(labels, "tolist") else list(labels)
        texts = [label_text(label, class_names, first_label) for label in labels[: len(boxes)]]
        for k, limit in (plan.protected or ()) if plan is not None else ():
            if k < len(texts):  # boxes image-level regions had to spare (protect)
                texts[k] += " (protected)" if limit == 0 else f" (protected, {limit:.0%})"
        _draw_labels(draw, boxes, texts, font_size or label_size(*canvas.size), canvas.size)
    return np.asarray(canvas)
