"""Batched box-aware Random Erasing on the device: a whole ``B x C x H x W`` batch at once.

The per-image transforms run in the DataLoader workers, on the CPU. When the workers
are the bottleneck, the same erasing can run on the batch the detector receives, on
its device (:class:`BatchedBoxAwareRandomErasing`). Everything is vectorised: boxes are
padded to ``[B, N_max, 4]`` with a validity mask, every attempt of every area is drawn
as one tensor (all ``max_attempts`` at once), and pixels are written either through the
flat indices of the regions' pixels (constant and per-pixel fills: cost in proportion
to the erased area) or through a mask built by broadcasting coordinate comparisons
(per-region colours, where the later region must show on top). Sampling
(:func:`sample_batch_regions`) and erasing (:func:`paint_regions`) have no Python loop
over images, boxes or regions: their number of torch calls does not depend on the batch
size or the number of boxes. (Per-region colours build their ``[B, S, rows, W]``
temporary in chunks of image rows, a loop over row chunks whose count grows with
``B * S * W / 2**24``, not over images.)

What remains per image is Python collation at the edges, O(B) small operations and no
erasing logic:

* :func:`pad_boxes` given a list: per image, ``torch.as_tensor`` / reshape / slice of its
  boxes and ``.to(device, float32)`` (a host-to-device copy each when the boxes are on the
  CPU and the batch on a GPU), and ``len`` for the counts; then one ``pad_sequence``
  (which copies each image's rows in C++). Given a padded ``[B, N, 4]`` tensor: none.
* :meth:`BatchedBoxAwareRandomErasing.forward` given ``targets``: per image, ``t["boxes"]``
  read and, for ``tv_tensors.BoundingBoxes`` not in XYXY, a format conversion.
* :meth:`BatchedBoxAwareRandomErasing.forward` given a list of ``[C, H_i, W_i]`` images:
  per image, its size read and one slice copy into the zero-padded batch (images of
  different sizes cannot be stacked without padding; for one size this is still B copies
  rather than one ``torch.stack``), then one slice view per image for the returned list;
  ``image_sizes`` becomes one tensor. Given a ``[B, C, H, W]`` tensor: none.

On a CPU this is slower than erasing each image in the DataLoader workers (see
``docs/benchmarks.md``); it is meant for batches already on a GPU.

The regions follow the same distribution as :func:`detaug.erasing.sample_plan` (same
areas, same attempts and first-fit rule, same rounding, same uniform position; the
tests compare the two), but not the same random numbers: a batch and a sequence of
per-image calls do not give the same pixels for the same seed. Sizes are computed in
float32 on the device (float64 in :func:`~detaug.erasing.sample_plan`), which can move
a rounding tie by one pixel.

Regions come back as an int64 tensor ``[R, 6]``: ``batch index, source, x1, y1, x2, y2``
(``source`` is the box index or -1 for image level; xyxy pixel edges, ``x2``/``y2``
exclusive, as :class:`~detaug.erasing.ErasePlan`), in the order they are painted
(image by image, image-level regions first, then boxes in order); where regions
overlap, the later one's colour shows.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from detaug.erasing.kernels import _COLOR_FILLS, _NORMAL_FILLS, _constant_values, _torch_uniform
from detaug.erasing.params import ErasingParams, format_kwargs
from detaug.erasing.plan import IMAGE_LEVEL, ErasePlan

_EPS = 1e-4  # float32 on the device: a looser snap to whole pixels than the numpy 1e-6
#: Elements of the ``[B, S, rows, W]`` temporary built per chunk for per-region colours.
_CHUNK_ELEMENTS = 1 << 24

BoxesLike = Union[torch.Tensor, Sequence[torch.Tensor], None]


def pad_boxes(boxes: BoxesLike, batch_size: int, device: Any) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-image boxes as one padded float tensor ``[B, N_max, 4]`` and a mask ``[B, N_max]``.

    Args:
        boxes: a list of ``B`` tensors ``[N_i, >=4]`` (absolute xyxy), an already padded
            tensor ``[B, N, 4]`` (all rows valid), or None (no boxes).
        batch_size: ``B``.
        device: the device of the result.

    Returns:
        ``(padded, exists)``.

    Examples:
        >>> padded, exists = pad_boxes([torch.ones(2, 4), torch.zeros(0, 4)], 2, "cpu")
        >>> tuple(padded.shape), exists.tolist()
        ((2, 2, 4), [[True, True], [False, False]])
    """
    if boxes is None:
        return torch.zeros(batch_size, 0, 4, device=device), torch.zeros(batch_size, 0, dtype=torch.bool, device=device)
    if isinstance(boxes, torch.Tensor):
        if boxes.ndim != 3 or boxes.shape[0] != batch_size or boxes.shape[2] < 4:
            raise ValueError(f"padded boxes must have shape (B={batch_size}, N, >=4), got {tuple(boxes.shape)}")
        padded = boxes[..., :4].to(device=device, dtype=torch.float32)
        return padded, torch.ones(padded.shape[:2], dtype=torch.bool, device=device)
    if len(boxes) != batch_size:
        raise ValueError(f"expected boxes for {batch_size} images, got {len(boxes)}")
    # Collating a list needs one pass over it (as pad_sequence does); no erasing logic here.
    rows = [_as_rows(b).to(device=device, dtype=torch.float32) for b in boxes]
    if batch_size == 0 or max(len(r) for r in rows) == 0:
        return pad_boxes(None, batch_size, device)
    counts = torch.tensor([len(r) for r in rows], device=device)
    padded = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)
    exists = torch.arange(padded.shape[1], device=device)[None, :] < counts[:, None]
    return padded, exists


def _as_rows(boxes: Any) -> torch.Tensor:
    boxes = torch.as_tensor(boxes)
    boxes = boxes.as_subclass(torch.Tensor) if isinstance(boxes, torch.Tensor) else boxes
    return boxes.reshape(0, 4) if boxes.numel() == 0 else boxes.reshape(len(boxes), -1)[:, :4]


def _image_sizes(image_sizes: Any, batch_size: int, height: int, width: int, device: Any) -> torch.Tensor:
    """True ``(h, w)`` of each image as an int64 tensor ``[B, 2]``, checked against the padded size."""
    if image_sizes is None:
        return torch.tensor([[height, width]], device=device).expand(batch_size, 2)
    sizes = torch.as_tensor(image_sizes, dtype=torch.int64).reshape(-1, 2)
    if len(sizes) != batch_size:
        raise ValueError(f"expected image_sizes for {batch_size} images, got {len(sizes)}")
    if bool((sizes < 0).any()) or bool((sizes[:, 0] > height).any()) or bool((sizes[:, 1] > width).any()):
        raise ValueError(f"image_sizes must lie within the padded size (H, W) = {(height, width)}, got {sizes.tolist()}")
    return sizes.to(device)


def sample_batch_regions(
    image_sizes: torch.Tensor,
    boxes: torch.Tensor,
    exists: torch.Tensor,
    params: ErasingParams,
    generator: Optional[torch.Generator] = None,
    p: float = 1.0,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw the regions of a whole batch at once (Algorithm 1, every image and box in parallel).

    Each image has ``S = count_max + N_max`` slots: image-level slots first, then one
    slot per (padded) box. Every slot draws ``max_attempts`` candidate sizes at once
    and keeps the first that fits, exactly as :func:`~detaug.erasing.sample_regions`.

    Args:
        image_sizes: int64 ``[B, 2]``, true ``(h, w)`` of each image.
        boxes: float ``[B, N_max, 4]`` absolute xyxy (padding rows are ignored).
        exists: bool ``[B, N_max]``, which rows are real boxes.
        params: validated arguments.
        generator: a ``torch.Generator`` on the boxes' device, or None for the global one.
        p: probability that erasing runs at all on an image. Default 1.0.

    Returns:
        ``(rects [B, S, 4] int64, source [B, S] int64, active [B, S] bool)``: slot ``s``
        of image ``b`` erases ``rects[b, s]`` when ``active[b, s]``.

    Examples:
        >>> params = ErasingParams(mode="ore", object_p=1.0)
        >>> boxes = torch.tensor([[[10.0, 10.0, 60.0, 50.0]]])
        >>> rects, source, active = sample_batch_regions(torch.tensor([[100, 120]]), boxes, torch.tensor([[True]]), params)
        >>> active.tolist(), source.tolist()
        ([[True]], [[0]])
        >>> x1, y1, x2, y2 = rects[0, 0].tolist()
        >>> 10 <= x1 < x2 <= 60 and 10 <= y1 < y2 <= 50
        True
    """
    device = boxes.device
    batch = boxes.shape[0]
    f32 = dict(dtype=torch.float32, device=device)
    sizes_f = image_sizes.to(**f32)
    height, width = sizes_f[:, 0], sizes_f[:, 1]
    runs = torch.rand(batch, generator=generator, **f32) < p if p < 1.0 else torch.ones(batch, dtype=torch.bool, device=device)

    # ---- image-level slots
    count_lo, count_hi = (params.count, params.count) if isinstance(params.count, int) else params.count
    n_img = count_hi if params.uses_image else 0
    if n_img:
        erase_image = (torch.rand(batch, generator=generator, **f32) < params.image_p) & runs
        erase_image &= (height > 0) & (width > 0)
        if count_hi > count_lo:
            count = count_lo + torch.floor(torch.rand(batch, generator=generator, **f32) * (count_hi - count_lo + 1))
            count = count.clamp(max=count_hi)
        else:
            count = torch.full((batch,), float(count_lo), **f32)
        slot = torch.arange(n_img, device=device)
        img_active = erase_image[:, None] & (slot[None, :] < count[:, None])
        zeros = torch.zeros(batch, **f32)
        img_areas = torch.stack([zeros, zeros, width, height], dim=1)[:, None, :].expand(batch, n_img, 4)
        img_target = (height * width / count)[:, None].expand(batch, n_img)
        img_source = torch.full((batch, n_img), IMAGE_LEVEL, dtype=torch.int64, device=device)

    # ---- box slots (box_areas in torch: clip to the true size, whole-pixel interior)
    n_box = boxes.shape[1] if params.uses_objects else 0
    if n_box:
        limits = torch.stack([width, height, width, height], dim=1)[:, None, :]
        finite = torch.isfinite(boxes).all(dim=2)
        safe = torch.where(finite[..., None], boxes.to(torch.float32), 0.0)
        clipped = torch.minimum(safe.clamp(min=0.0), limits)
        interior = torch.cat([torch.ceil(clipped[..., :2] - _EPS), torch.floor(clipped[..., 2:] + _EPS)], dim=2)
        extent = interior[..., 2:] - interior[..., :2]
        valid = exists & finite & (extent >= 1).all(dim=2)
        chosen = torch.rand(boxes.shape[:2], generator=generator, **f32) < params.object_p
        box_active = valid & chosen & runs[:, None]
        box_target = (clipped[..., 2:] - clipped[..., :2]).clamp(min=0.0).prod(dim=2)
        box_source = torch.arange(n_box, device=device)[None, :].expand(batch, n_box)

    parts = [x for x in ((img_areas, img_target, img_source, img_active) if n_img else None,
                         (interior, box_target, box_source, box_active) if n_box else None) if x is not None]
    if not parts:
        empty = torch.zeros(batch, 0, dtype=torch.int64, device=device)
        return empty[..., None].expand(batch, 0, 4), empty, empty.bool()
    areas = torch.cat([x[0] for x in parts], dim=1)  # [B, S, 4] float, whole pixels
    target = torch.cat([x[1] for x in parts], dim=1)  # [B, S]
    source = torch.cat([x[2] for x in parts], dim=1)
    active = torch.cat([x[3] for x in parts], dim=1)

    # ---- every attempt of every slot at once
    slots, attempts = areas.shape[1], params.max_attempts
    s_lo, s_hi = params.scale
    r_lo, r_hi = params.ratio
    u = torch.rand(batch, slots, 2 * attempts + 2, generator=generator, **f32)
    erase_area = (u[..., :attempts] * (s_hi - s_lo) + s_lo) * target[..., None]
    if params.ratio_sampling == "log":
        r = torch.exp(u[..., attempts : 2 * attempts] * (np.log(r_hi) - np.log(r_lo)) + np.log(r_lo))
    else:
        r = u[..., attempts : 2 * attempts] * (r_hi - r_lo) + r_lo
    h = torch.round(torch.sqrt(erase_area * r))  # round half to even, as np.rint
    w = torch.round(torch.sqrt(erase_area / r))
    limit = areas[..., 2:] - areas[..., :2]  # (width, height)
    fits = (h >= 1) & (w >= 1) & (w <= limit[..., :1]) & (h <= limit[..., 1:])
    index = torch.arange(attempts, device=device).expand_as(fits)
    first = torch.where(fits, index, attempts).amin(dim=2, keepdim=True)
    found = first[..., 0] < attempts
    first = first.clamp(max=attempts - 1)
    size = torch.cat([w.gather(2, first), h.gather(2, first)], dim=2)  # [B, S, 2]
    top_left = areas[..., :2] + torch.floor(u[..., -2:] * (limit - size + 1))
    rects = torch.cat([top_left, top_left + size], dim=2).to(torch.int64)
    return rects, source, active & found


def _coverage(rects: torch.Tensor, active: torch.Tensor, height: int, width: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Row and column membership of each slot: bool ``[B, S, H]`` and ``[B, S, W]``."""
    ys = torch.arange(height, device=rects.device)
    xs = torch.arange(width, device=rects.device)
    rows = active[..., None] & (rects[..., 1:2] <= ys) & (ys < rects[..., 3:4])
    cols = (rects[..., 0:1] <= xs) & (xs < rects[..., 2:3])
    return rows, cols


def _union_mask(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Pixels covered by any slot, bool ``[B, H, W]``: a batched (rows^T @ cols) > 0."""
    if rows.shape[1] == 0:
        return torch.zeros(rows.shape[0], rows.shape[2], cols.shape[2], dtype=torch.bool, device=rows.device)
    return torch.bmm(rows.transpose(1, 2).to(torch.float32), cols.to(torch.float32)) > 0


def _last_slot(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Index of the last slot covering each pixel (-1 for none), int64 ``[B, H, W]``.

    A max-min product over slots; built in chunks of rows to bound the ``[B, S, rows, W]``
    temporary (a loop over row chunks, not over images or boxes).
    """
    batch, slots, height = rows.shape
    width = cols.shape[2]
    order = torch.arange(1, slots + 1, device=rows.device, dtype=torch.int32)[None, :, None]
    row_rank = rows.to(torch.int32) * order  # [B, S, H]
    col_rank = cols.to(torch.int32) * order  # [B, S, W]
    out = torch.empty(batch, height, width, dtype=torch.int64, device=rows.device)
    step = max(1, _CHUNK_ELEMENTS // max(1, batch * slots * width))
    for y0 in range(0, height, step):
        block = torch.minimum(row_rank[:, :, y0 : y0 + step, None], col_rank[:, :, None, :])
        out[:, y0 : y0 + step] = block.amax(dim=1).to(torch.int64) - 1
    return out


def paint_regions(
    images: torch.Tensor,
    rects: torch.Tensor,
    active: torch.Tensor,
    fill: Any,
    generator: Optional[torch.Generator] = None,
    inplace: bool = False,
) -> torch.Tensor:
    """Erase slot rectangles of a ``B x C x H x W`` batch with a fill (see :class:`ErasingParams`).

    Args:
        images: ``[B, C, H, W]`` tensor, any dtype, on any device.
        rects: int64 ``[B, S, 4]`` xyxy pixel edges.
        active: bool ``[B, S]``.
        fill: a name from :data:`~detaug.erasing.RANDOM_FILLS` or a constant.
        generator: for random fills; None uses the global generator.
        inplace: write into ``images``. Default False.

    Returns:
        The erased batch.

    Examples:
        >>> out = paint_regions(torch.zeros(1, 1, 2, 3), torch.tensor([[[1, 0, 3, 1]]]), torch.tensor([[True]]), 5.0)
        >>> out[0, 0].tolist()
        [[0.0, 5.0, 5.0], [0.0, 0.0, 0.0]]
    """
    batch, channels, height, width = images.shape
    dtype, device = images.dtype, images.device
    if isinstance(fill, str) and fill in _NORMAL_FILLS and not dtype.is_floating_point:
        raise TypeError(f"fill={fill!r} draws N(0, 1) values and needs a floating-point image, got dtype {dtype}")
    if isinstance(fill, str) and fill in _COLOR_FILLS:
        # One colour per region, the later region on top: a per-pixel "last slot" map.
        rows, cols = _coverage(rects, active, height, width)
        mask = _union_mask(rows, cols)[:, None]  # [B, 1, H, W]
        shape = (batch, rects.shape[1] + 1, channels)  # one extra "no slot" row, never shown
        if fill == "random_color":
            colors = _torch_uniform(shape, dtype, device, generator)
        else:
            colors = torch.randn(shape, dtype=dtype, device=device, generator=generator)
        slot = _last_slot(rows, cols).clamp(min=-1) + 1  # 0 = none
        gathered = colors.transpose(1, 2).gather(2, slot.reshape(batch, 1, -1).expand(batch, channels, -1))
        values = gathered.reshape(batch, channels, height, width)
        if inplace:
            return images.copy_(torch.where(mask, values, images))
        return torch.where(mask, values, images)
    # Constant and per-pixel fills: the value of a pixel does not depend on which region
    # covers it, so write only the regions' pixels, through their flat indices (cost in
    # proportion to the erased area, not to the batch).
    out = images if inplace else images.clone(memory_format=torch.contiguous_format)
    if not out.is_contiguous():  # an in-place, non-contiguous batch: go through a contiguous copy
        return images.copy_(paint_regions(images.contiguous(), rects, active, fill, generator, inplace=True))
    batch_index, pixel = _region_pixels(rects, active, height, width)
    plane = height * width
    # Flat indices into out.view(-1), one row per channel: [C, N].
    first = batch_index * (channels * plane) + pixel
    index = (first[None, :] + (torch.arange(channels, device=device) * plane)[:, None]).reshape(-1)
    flat = out.view(-1)
    if isinstance(fill, str):
        if fill == "random":
            values = _torch_uniform((len(index),), dtype, device, generator)
        else:
            values = torch.randn(len(index), dtype=dtype, device=device, generator=generator)
        flat.index_put_((index,), values)
        return out
    values = _constant_values(fill, channels)
    if not dtype.is_floating_point and dtype != torch.bool:
        info = torch.iinfo(dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    if len(values) == 1 or (values == values[0]).all():
        flat.index_fill_(0, index, values[0].item() if dtype.is_floating_point else int(values[0]))
    else:
        per_channel = torch.as_tensor(values, dtype=dtype, device=device)[:, None].expand(channels, len(pixel))
        flat.index_put_((index,), per_channel.reshape(-1))
    return out


def _region_pixels(rects: torch.Tensor, active: torch.Tensor, height: int, width: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Batch index and flat pixel index ``y * W + x`` of every pixel of every active slot.

    A ragged ``arange`` in two levels without any division: the rows of all regions,
    then the pixels of each row (``row start + 0 .. w - 1``). Pixels covered by several
    regions appear once per region.

    Examples:
        >>> b, p = _region_pixels(torch.tensor([[[1, 0, 3, 2]]]), torch.tensor([[True]]), 3, 4)
        >>> b.tolist(), p.tolist()
        ([0, 0, 0, 0], [1, 2, 5, 6])
    """
    device = rects.device
    batch_index, slot = torch.nonzero(active, as_tuple=True)
    r = rects[batch_index, slot]  # [R, 4]
    heights = r[:, 3] - r[:, 1]
    n_rows = int(heights.sum())
    region = torch.repeat_interleave(torch.arange(len(r), device=device), heights, output_size=n_rows)
    row_in_region = torch.arange(n_rows, device=device) - (torch.cumsum(heights, 0) - heights)[region]
    r_rows = r[region]  # [rows, 4]
    row_width = r_rows[:, 2] - r_rows[:, 0]
    row_start = (r_rows[:, 1] + row_in_region) * width + r_rows[:, 0]
    n_pixels = int(row_width.sum())
    # pixel k of row j sits at row_start[j] + (k - first pixel of row j)
    delta = row_start - (torch.cumsum(row_width, 0) - row_width)
    pixel = torch.arange(n_pixels, device=device) + torch.repeat_interleave(delta, row_width, output_size=n_pixels)
    return torch.repeat_interleave(batch_index[region], row_width, output_size=n_pixels), pixel


def _regions_tensor(rects: torch.Tensor, source: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    batch_index, slot = torch.nonzero(active, as_tuple=True)
    return torch.cat([batch_index[:, None], source[batch_index, slot][:, None], rects[batch_index, slot]], dim=1)


def erase_batch(
    images: torch.Tensor,
    boxes: BoxesLike,
    params: ErasingParams,
    generator: Optional[torch.Generator] = None,
    image_sizes: Optional[Any] = None,
    p: float = 1.0,
    inplace: bool = False,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Box-aware Random Erasing of a whole batch, vectorised on the batch's device.

    Args:
        images: ``[B, C, H, W]`` tensor (any dtype, any device); may be padded.
        boxes: a list of ``B`` tensors ``[N_i, >=4]`` of absolute xyxy boxes in the
            padded tensor's coordinates, a padded tensor ``[B, N, 4]``, or None.
        params: validated arguments (``fill_mask`` and ``min_visibility`` are not used here).
        generator: a ``torch.Generator`` on the images' device; None uses torch's global
            generator (reproducible under ``torch.manual_seed``). Default None.
        image_sizes: true ``(h, w)`` of each image (``[B, 2]``, or a list of pairs) when
            the batch is padded; regions stay inside them. Default None (the full size).
        p: probability that erasing runs at all on each image. Default 1.0.
        inplace: write into ``images``. Default False.

    Returns:
        ``(images, regions)``: the erased batch and an int64 ``[R, 6]`` tensor of
        ``batch index, source, x1, y1, x2, y2``.

    Raises:
        ValueError: for a batch that is not 4-D, or boxes / sizes that do not match it.
        TypeError: a normal-distribution fill on an integer batch.

    Examples:
        >>> params = ErasingParams(mode="i+ore", image_p=1.0, object_p=1.0, fill=0.0)
        >>> g = torch.Generator().manual_seed(0)
        >>> images = torch.ones(2, 3, 32, 48)
        >>> out, regions = erase_batch(images, [torch.tensor([[4.0, 4.0, 20.0, 30.0]]), torch.zeros(0, 4)], params, g)
        >>> regions[:, :2].tolist()
        [[0, -1], [0, 0], [1, -1]]
        >>> bool((out == 0).any()), bool((images == 1).all())
        (True, True)
    """
    if images.ndim != 4:
        raise ValueError(f"expected a batch of shape (B, C, H, W), got shape {tuple(images.shape)}")
    batch, _, height, width = images.shape
    device = images.device
    padded, exists = pad_boxes(boxes, batch, device)
    sizes = _image_sizes(image_sizes, batch, height, width, device)
    rects, source, active = sample_batch_regions(sizes, padded, exists, params, generator, p)
    out = paint_regions(images, rects, active, params.fill, generator, inplace)
    return out, _regions_tensor(rects, source, active)


def regions_to_plans(regions: torch.Tensor, image_sizes: Sequence[Sequence[int]], fill: Any = "random") -> List[ErasePlan]:
    """Per-image :class:`~detaug.erasing.ErasePlan` from a regions tensor (for drawing and tests).

    The plans' ``seed`` is 0: the batched random fills are not re-drawn from a plan, so
    replaying a plan with a random fill gives other values (same regions).

    Examples:
        >>> plans = regions_to_plans(torch.tensor([[1, -1, 0, 0, 2, 2]]), [(4, 4), (5, 6)], fill=0.0)
        >>> [len(p) for p in plans], plans[1].image_size
        ([0, 1], (5, 6))
    """
    regions = regions.detach().cpu().numpy().reshape(-1, 6)
    return [
        ErasePlan(regions[regions[:, 0] == b, 2:], regions[regions[:, 0] == b, 1], fill, 0, tuple(size))
        for b, size in enumerate(image_sizes)
    ]


class BatchedBoxAwareRandomErasing(nn.Module):
    """Box-aware Random Erasing (IRE, ORE, I+ORE) of a whole batch on its device.

    Same arguments and meaning as :class:`detaug.BoxAwareRandomErasing` (the paper's
    detection setting by default), applied to the batch the detector receives instead of
    in the DataLoader workers. Fully vectorised (no Python loop over images or boxes);
    randomness from a ``torch.Generator`` on the batch's device. Targets are never
    changed: only pixels are.

    Args:
        mode, image_p, object_p, scale, ratio, ratio_sampling, max_attempts, fill, count:
            as in :class:`detaug.BoxAwareRandomErasing`.
        p: probability that erasing runs at all on an image. Default 1.0.
        seed: seed of the module's own generator (one per device, created on first use);
            None draws from torch's global generator, reproducible under
            ``torch.manual_seed``. Default None.
        inplace: erase the batch in place. Default False.
        fill_scale: constant fills are multiplied by this. The per-image transforms run
            on uint8 images, so configs give constants in [0, 255]; on a float batch in
            [0, 1] pass ``1 / 255``. Random fills already follow the batch's dtype
            (uniform in [0, 1) for float). Default 1.0.

    Targets:
        images only (boxes are read); targets come back unchanged.

    Image types:
        ``[B, C, H, W]`` tensors (uint8 or float, padded or not) or a list of ``[C, H, W]``
        tensors of any sizes, on any device.

    Raises:
        ValueError: in the constructor, for an invalid argument, or ``fill_mask`` /
            ``min_visibility`` (they change targets; use the per-image transforms).

    Examples:
        >>> module = BatchedBoxAwareRandomErasing(mode="ore", object_p=1.0, fill=0.0, seed=0)
        >>> images = [torch.ones(3, 40, 50), torch.ones(3, 30, 20)]
        >>> targets = [{"boxes": torch.tensor([[5.0, 5.0, 35.0, 30.0]]), "labels": torch.tensor([1])},
        ...            {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}]
        >>> out, out_targets = module(images, targets)
        >>> [tuple(x.shape) for x in out], out_targets is targets
        ([(3, 40, 50), (3, 30, 20)], True)
        >>> module.last_regions[:, :2].tolist()
        [[0, 0]]

    References:
        Zhong, Zheng, Kang, Li, Yang. Random Erasing Data Augmentation. AAAI 2020.
    """

    def __init__(
        self,
        mode: str = "i+ore",
        image_p: float = 0.5,
        object_p: float = 0.5,
        scale: Tuple[float, float] = (0.02, 0.2),
        ratio: Tuple[float, float] = (0.3, 1 / 0.3),
        ratio_sampling: str = "uniform",
        max_attempts: int = 100,
        fill: Any = "random",
        count: Union[int, Tuple[int, int]] = 1,
        p: float = 1.0,
        seed: Optional[int] = None,
        inplace: bool = False,
        fill_scale: float = 1.0,
    ):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be None or an integer, got {seed!r}")
        if isinstance(fill_scale, bool) or not isinstance(fill_scale, (int, float)) or not np.isfinite(fill_scale):
            raise ValueError(f"fill_scale must be a finite number, got {fill_scale!r}")
        self.erasing = ErasingParams(
            mode=mode, image_p=image_p, object_p=object_p, scale=scale, ratio=ratio,
            ratio_sampling=ratio_sampling, max_attempts=max_attempts, fill=fill, count=count,
        )
        self.fill_scale = float(fill_scale)
        fill = self.erasing.fill
        if not isinstance(fill, str) and self.fill_scale != 1.0:
            scaled = tuple(v * self.fill_scale for v in fill) if isinstance(fill, tuple) else fill * self.fill_scale
            self._fill_params = ErasingParams(**{**self.erasing.as_kwargs(), "fill": scaled})
        else:
            self._fill_params = self.erasing
        self.p = float(p)
        self.seed = seed
        self.inplace = bool(inplace)
        self.last_regions: Optional[torch.Tensor] = None
        self._generators: dict = {}

    @classmethod
    def from_params(
        cls, params: ErasingParams, p: float = 1.0, seed: Optional[int] = None, inplace: bool = False, fill_scale: float = 1.0
    ) -> BatchedBoxAwareRandomErasing:
        """Build from validated :class:`ErasingParams` (e.g. those of a config or a per-image transform).

        Raises:
            ValueError: if ``params`` sets ``fill_mask`` or ``min_visibility``, which the
                batched module does not apply.

        Examples:
            >>> BatchedBoxAwareRandomErasing.from_params(ErasingParams(mode="ore"))
            BatchedBoxAwareRandomErasing(mode='ore')
            >>> BatchedBoxAwareRandomErasing.from_params(ErasingParams(fill=(124, 116, 104)), fill_scale=1 / 255)._fill_params.fill
            (0.48627450980392156, 0.4549019607843137, 0.40784313725490196)
        """
        if params.fill_mask is not None or params.min_visibility > 0:
            raise ValueError(
                "the batched module erases images only: fill_mask must be None and min_visibility 0, "
                f"got fill_mask={params.fill_mask!r}, min_visibility={params.min_visibility!r}"
            )
        kwargs = {k: v for k, v in params.as_kwargs().items() if k not in ("fill_mask", "min_visibility")}
        return cls(**kwargs, p=p, seed=seed, inplace=inplace, fill_scale=fill_scale)

    def _generator(self, device: torch.device) -> Optional[torch.Generator]:
        if self.seed is None:
            return None
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[key]

    def forward(self, images: Union[torch.Tensor, Sequence[torch.Tensor]], targets: Any = None, image_sizes: Optional[Any] = None) -> Any:
        """Erase a batch.

        Args:
            images: ``[B, C, H, W]`` tensor, or a list of ``[C, H_i, W_i]`` tensors (padded
                into one batch internally; returned as a list of the same sizes).
            targets: a list of dicts with ``"boxes"`` (absolute xyxy, torchvision
                detection convention), a list of box tensors, or None.
            image_sizes: true sizes of a padded batch tensor. Default None.

        Returns:
            ``(images, targets)`` when ``targets`` is given (``targets`` is the very same
            object, unchanged), else the images. The regions of the call are in
            ``self.last_regions`` (``[R, 6]``: batch index, source, x1, y1, x2, y2).
        """
        as_list = not isinstance(images, torch.Tensor)
        if as_list:
            if len(images) == 0:
                self.last_regions = torch.zeros(0, 6, dtype=torch.int64)
                return (images, targets) if targets is not None else images
            sizes = [tuple(x.shape[-2:]) for x in images]
            first = images[0]
            batch = first.new_zeros((len(images), first.shape[0], max(s[0] for s in sizes), max(s[1] for s in sizes)))
            for i, x in enumerate(images):  # copy into the padded batch (not a loop of erasing)
                batch[i, :, : x.shape[-2], : x.shape[-1]] = x
            image_sizes, inplace = sizes, True
        else:
            batch, inplace = images, self.inplace
        boxes = None
        if targets is not None:
            boxes = [_xyxy(t["boxes"]) if isinstance(t, dict) else t for t in targets]
        out, self.last_regions = erase_batch(
            batch, boxes, self._fill_params, self._generator(batch.device), image_sizes, self.p, inplace
        )
        if as_list:
            out = [out[i, :, :h, :w] for i, (h, w) in enumerate(image_sizes)]
        return (out, targets) if targets is not None else out

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_generators"] = {}
        return state

    def extra_repr(self) -> str:
        kwargs = self.erasing.non_default_kwargs()
        for name, default in (("p", 1.0), ("seed", None), ("inplace", False), ("fill_scale", 1.0)):
            if getattr(self, name) != default:
                kwargs[name] = getattr(self, name)
        return format_kwargs(kwargs)


def _xyxy(boxes: Any) -> torch.Tensor:
    """Absolute xyxy boxes from a tensor or ``tv_tensors.BoundingBoxes`` of any axis-aligned format."""
    fmt = getattr(boxes, "format", None)
    name = getattr(fmt, "name", fmt)
    if name is not None and name != "XYXY":
        from torchvision import tv_tensors
        from torchvision.transforms.v2 import functional as F

        boxes = F.convert_bounding_box_format(boxes.as_subclass(torch.Tensor), old_format=fmt, new_format=tv_tensors.BoundingBoxFormat.XYXY)
    return torch.as_tensor(boxes).as_subclass(torch.Tensor) if isinstance(boxes, torch.Tensor) else torch.as_tensor(boxes)
