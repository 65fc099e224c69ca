"""Erasing a whole batch on its device in one pass.

The plans of the whole batch are drawn in one call on the CPU
(:func:`~detaug.erasing.sampling.sample_plans`: the same sampler as one image's, its draws
grouped), from one seed taken from a torch Generator (or torch's global one), so a
training run reproduces under ``torch.manual_seed`` and resumes exactly: checkpoints hold
torch's random state. Then every region of the batch is written in a fixed number of
device operations, whatever the number of regions: the pixel coordinates of all regions
are expanded on the device from one small table, the random values of all of them are
drawn there in one call, and one indexed write puts them in place
(:func:`write_regions`). No launch is made per region or per image (a list of images of
different sizes is the exception: one pass per image).

On a CPU the per-image path is as fast (``docs/benchmarks.md``); erase in the DataLoader
workers there, and use this when the workers are the bottleneck.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from detaug.erasing.fill import resolve_fill, torch_random
from detaug.erasing.kernels import _numpy_dtype
from detaug.erasing.params import ErasingParams, check_probability
from detaug.erasing.plan import ErasePlan
from detaug.erasing.sampling import check_boxes, sample_plans

Images = Union[torch.Tensor, Sequence[torch.Tensor]]


def _host_boxes(boxes: Any, count: int) -> List[Optional[np.ndarray]]:
    """Every image's boxes on the host as checked float64 ``[N, 4]`` (errors name the image:
    ``boxes[i]``). The box tensors of each device and dtype are concatenated, then converted
    to float64 and copied in one transfer, not one per image (int64 and bfloat16 boxes are
    never concatenated together: that would round the integers to bfloat16)."""
    if boxes is None:
        return [None] * count
    if isinstance(boxes, torch.Tensor) and boxes.ndim == 3:  # padded [B, N, >=4]
        boxes = list(boxes)
    out: List[Any] = [None] * count
    by_device: dict = {}  # tensors of one device and dtype are concatenated before their conversion
    for i, one in enumerate(boxes):
        if isinstance(one, torch.Tensor) and one.ndim == 2 and one.shape[-1] >= 4:
            by_device.setdefault((one.device, one.dtype), []).append(i)
        elif one is not None:
            host = one.detach().as_subclass(torch.Tensor).to("cpu", torch.float64).numpy() if isinstance(
                one, torch.Tensor) else one
            out[i] = check_boxes(host, f"boxes[{i}]")
    for indices in by_device.values():  # plain float64 tensors, also of tv_tensors.BoundingBoxes
        parts = [boxes[i] if boxes[i].shape[-1] == 4 else boxes[i][:, :4] for i in indices]
        host, start = torch.cat(parts).detach().as_subclass(torch.Tensor).to("cpu", torch.float64).numpy(), 0
        for i, part in zip(indices, parts):
            out[i], start = host[start:start + len(part)], start + len(part)
        if not np.isfinite(host).all():  # one check for the device's boxes; the error names the image
            for i in indices:
                check_boxes(out[i], f"boxes[{i}]")
    return out


def _image_masks(masks: Any, index: int) -> Optional[np.ndarray]:
    if masks is None or masks[index] is None:
        return None
    one = masks[index]
    return one.detach().cpu().numpy() if isinstance(one, torch.Tensor) else np.asarray(one)


def _labels(labels: Any) -> Optional[list]:
    if labels is None:
        return None
    return labels.tolist() if hasattr(labels, "tolist") else list(labels)


def _sizes(images: Images, image_sizes: Any) -> List[Tuple[int, int]]:
    """The true ``(h, w)`` of each image: the given sizes of a padded batch, else each image's own."""
    if isinstance(images, torch.Tensor):  # one size for the batch (iterating would make a view per image)
        own = [(int(images.shape[-2]), int(images.shape[-1]))] * len(images)
    else:
        own = [(int(image.shape[-2]), int(image.shape[-1])) for image in images]
    if image_sizes is None:
        return own
    sizes = [tuple(int(v) for v in size) for size in (image_sizes.tolist() if hasattr(image_sizes, "tolist") else image_sizes)]
    if len(sizes) != len(own) or any(len(s) != 2 for s in sizes):
        raise ValueError(f"image_sizes must hold one (h, w) per image ({len(own)}), got {sizes}")
    for (h, w), (height, width) in zip(sizes, own):
        if not (0 <= h <= height and 0 <= w <= width):
            raise ValueError(f"image_sizes {(h, w)} must lie within the padded image size {(height, width)}")
    return sizes


def erase_batch(
    images: Images,
    boxes: Any,
    params: ErasingParams,
    *,
    generator: Optional[torch.Generator] = None,
    image_sizes: Optional[Any] = None,
    p: float = 1.0,
    inplace: bool = False,
    labels: Optional[Sequence[Any]] = None,
    masks: Optional[Sequence[Any]] = None,
) -> Tuple[Images, List[ErasePlan]]:
    """Box-aware Random Erasing of every image of a batch, on the batch's device.

    Args:
        images: a ``[B, C, H, W]`` tensor (possibly padded) or a list of ``[C, H_i, W_i]``
            tensors (each keeps its own size, channels and dtype).
        boxes: per image ``[N_i, >=4]`` absolute xyxy boxes (tensors or arrays, a padded
            ``[B, N, 4]`` tensor counts as B such), or None.
        params: validated arguments (``fill_mask`` and ``min_visibility`` are not used here).
        generator: a ``torch.Generator`` the per-image seeds are drawn from; None uses
            torch's global generator (reproducible under ``torch.manual_seed``). Default None.
        image_sizes: true ``(h, w)`` of each image of a padded batch; regions stay inside
            them. Default None (each image's full size).
        p: probability that erasing runs at all on each image. Default 1.0.
        inplace: write into ``images``. Default False.
        labels: per image, the labels of its boxes; needed only for a per-class
            ``object_p``. Default None.
        masks: per image, its instance masks (``[N_i, h, w]``, one per box) or None; used
            by ``object_area`` / ``erase_within="mask"``. Default None.

    Returns:
        ``(images, plans)``: the erased batch (a tensor or a list, as given) and one
        :class:`~detaug.erasing.ErasePlan` per image: ``erase_tensor(image, plan)`` replays its
        regions exactly, and its pixels too for a constant fill; random values are the batch's
        (drawn on its device in one call), so a replay draws others.

    Raises:
        ValueError: a tensor batch that is not 4-D, or boxes / sizes that do not match it.
        TypeError: images that are not tensors (numpy arrays, say); a normal-distribution
            fill on an integer batch.

    Examples:
        >>> params = ErasingParams(mode="i+ore", image_p=1.0, object_p=1.0, fill=0.0)
        >>> images = torch.ones(2, 3, 32, 48)
        >>> out, plans = erase_batch(images, [torch.tensor([[4.0, 4.0, 20.0, 30.0]]), torch.zeros(0, 4)], params,
        ...                          generator=torch.Generator().manual_seed(0))
        >>> [plan.source.tolist() for plan in plans]
        [[-1, 0], [-1]]
        >>> bool((out == 0).any()), bool((images == 1).all())
        (True, True)
    """
    if isinstance(images, torch.Tensor) and images.ndim != 4:
        raise ValueError(f"expected a batch of shape (B, C, H, W) or a list of (C, H, W) images, got shape {tuple(images.shape)}")
    if not isinstance(images, torch.Tensor):
        bad = [type(x) for x in (images if isinstance(images, (list, tuple)) else [images]) if not isinstance(x, torch.Tensor)]
        if bad:
            raise TypeError(
                f"batched erasing takes a [B, C, H, W] tensor or a list of [C, H, W] tensors, not "
                f"{bad[0].__module__}.{bad[0].__name__}: convert a numpy HWC image with "
                "torch.from_numpy(image).permute(2, 0, 1), or use detaug.BoxAwareRandomErasing (albumentations), "
                "which takes numpy arrays"
            )
    p = check_probability("p", p)
    for name, value in (("boxes", boxes), ("labels", labels), ("masks", masks)):
        if value is not None and len(value) != len(images):
            raise ValueError(f"expected {name} for {len(images)} images, got {len(value)}")
    sizes = _sizes(images, image_sizes)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator,
                             device=generator.device if generator is not None else "cpu"))
    rng = np.random.default_rng(seed)
    run = list(range(len(sizes))) if p >= 1.0 else np.flatnonzero(rng.random(len(sizes)) < p).tolist()
    host_boxes = _host_boxes(boxes, len(sizes))
    drawn = sample_plans([sizes[i] for i in run], [host_boxes[i] for i in run], params, rng,
                         labels=None if labels is None else [_labels(labels[i]) for i in run],
                         masks=None if masks is None else [_image_masks(masks, i) for i in run])
    by_image = dict(zip(run, drawn))
    plans = [by_image[i] if i in by_image else ErasePlan.empty(size, params.fill) for i, size in enumerate(sizes)]
    out = images if inplace else (images.clone() if isinstance(images, torch.Tensor) else [x.clone() for x in images])
    fill_seed = int(rng.bit_generator.random_raw()) >> 1
    if isinstance(out, torch.Tensor):
        write_regions(out, plans, fill_seed)
    else:  # images of their own sizes: one pass each
        for i, (image, plan) in enumerate(zip(out, plans)):
            write_regions(image[None], [plan], fill_seed + i)
    return out, plans


def write_regions(images: torch.Tensor, plans: Sequence[ErasePlan], seed: int) -> None:
    """Write the regions of ``plans`` (one per image) into a ``[B, C, H, W]`` batch, in place,
    in a fixed number of device operations.

    The fill is the plans' (the first plan with regions gives it). Random values are drawn
    on the batch's device from a torch Generator seeded with ``seed``: the regions of the
    plans, other values than :func:`~detaug.erasing.erase_tensor` gives a plan alone. Where
    regions of one image overlap, the later region's fill wins, as when a plan is applied
    alone: each pixel is given on the host to the one region that erases it last (regions
    cut into disjoint rectangles, or owner crops with region masks), so every pixel is
    written once and the result does not depend on the order of the device's writes.

    Examples:
        >>> plan = ErasePlan(np.array([[1, 0, 3, 2]]), np.array([-1]), fill=5.0, image_size=(3, 4))
        >>> batch = torch.zeros(2, 1, 3, 4)
        >>> write_regions(batch, [ErasePlan.empty((3, 4)), plan], seed=0)
        >>> batch[1, 0].tolist()
        [[0.0, 5.0, 5.0, 0.0], [0.0, 5.0, 5.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    """
    table, crops, regions = _pieces(plans)
    if not len(table):
        return
    # the batch's memory as one flat run of elements, whatever its layout (contiguous, channels_last, a slice of a
    # larger tensor); a batch whose elements share memory (expanded) is written through a contiguous copy
    target = images if _no_overlap(images) else images.contiguous()
    channels = target.shape[1]
    batch_stride, channel_stride, row_stride, column_stride = target.stride()
    memory = target.as_strided((1 + sum((n - 1) * k for n, k in zip(target.shape, target.stride())),), (1,))
    device = target.device
    widths = table[:, 4] - table[:, 2]
    areas = widths * (table[:, 5] - table[:, 3])
    pixels = int(areas.sum())
    # pixel n of the batch's pieces (numbered piece after piece, row by row) lies in channel 0 at
    # base + n * column stride + row * step, row = (n - start) // the piece's width, where base = the place of the
    # piece's first pixel - start * column stride and step = row stride - the piece's width * column stride;
    # one host -> device copy of the pieces' table, then each pixel takes its piece's row
    starts = np.cumsum(areas) - areas
    base = table[:, 0] * batch_stride + table[:, 3] * row_stride + (table[:, 2] - starts) * column_stride
    step = row_stride - widths * column_stride
    geometry = torch.from_numpy(np.stack([base, starts, widths, step, table[:, 1], areas], axis=1)).to(device)
    base, start, piece_width, step, region, _ = torch.repeat_interleave(geometry, geometry[:, 5], dim=0,
                                                                         output_size=pixels).unbind(1)
    number = torch.arange(pixels, device=device)
    flat = base + number * column_stride + torch.div(number - start, piece_width, rounding_mode="floor") * step
    if any(crop is not None for crop in crops):  # erase_within="mask": only the pixels each region owns
        keep = np.concatenate([np.ones(a, bool) if c is None else c.ravel() for a, c in zip(areas.tolist(), crops)])
        pixels = int(keep.sum())
        kept = torch.from_numpy(np.flatnonzero(keep)).to(device)  # indices found on the host: no device sync
        flat, region = flat.index_select(0, kept), region.index_select(0, kept)
    flat = flat + torch.arange(channels, device=device)[:, None] * channel_stride  # [C, pixels]
    fill = resolve_fill(next(plan.fill for plan in plans if len(plan)), _numpy_dtype(images.dtype), channels)
    if fill.kind == "constant":
        values = torch.tensor(np.atleast_1d(fill.constant), device=device).to(images.dtype)[:, None].expand(channels, pixels)
    else:
        generator = torch.Generator(device=device).manual_seed(seed)
        if fill.kind in ("random_color", "random_color_normal"):  # one colour per region
            values = torch_random(fill.kind, generator, images.dtype, (channels, regions)).index_select(1, region)
        else:
            values = torch_random(fill.kind, generator, images.dtype, (channels, pixels))
    memory.scatter_(0, flat.reshape(-1), values.reshape(-1))  # every index once: the order does not matter
    if target is not images:
        images.copy_(target)


def _no_overlap(tensor: torch.Tensor) -> bool:
    """Whether no two elements of ``tensor`` share memory (sorted by stride, each dimension's
    stride is at least the span of the smaller ones).

    Examples:
        >>> _no_overlap(torch.zeros(2, 3, 4, 5).to(memory_format=torch.channels_last)), _no_overlap(torch.zeros(1, 3).expand(2, 3))
        (True, False)
    """
    span = 1
    for stride, size in sorted(zip(tensor.stride(), tensor.shape)):
        if size > 1:
            if stride < span:
                return False
            span = stride * size
    return True


def _pieces(plans: Sequence[ErasePlan]) -> Tuple[np.ndarray, list, int]:
    """The batch's regions as rectangles in which every pixel has one owner, the last region
    of its image that erases it: rows ``(image, region, x1, y1, x2, y2)`` (``region`` numbers
    the batch's regions in plan order), per row None (all its pixels are its own) or a bool
    crop of the pixels it owns, and the number of regions.

    Without region masks the regions are cut into disjoint pieces (:func:`_subtract`); a plan
    with region masks (``erase_within="mask"``: a region erases only its object's pixels,
    so an earlier region keeps the rest of the overlap) keeps its rectangles, each with the
    pixels it owns after painting the regions in order.
    """
    rows, crops, first = [], [], 0
    for b, plan in enumerate(plans):
        rects = plan.rects.tolist()
        if plan.region_masks is not None:
            owner = np.full(plan.image_size, -1, np.int32)
            for k, ((x1, y1, x2, y2), mask) in enumerate(zip(rects, plan.region_masks)):
                owner[y1:y2, x1:x2][slice(None) if mask is None else mask] = k
            for k, (x1, y1, x2, y2) in enumerate(rects):
                rows.append((b, first + k, x1, y1, x2, y2))
                crops.append(owner[y1:y2, x1:x2] == k)
            first += len(rects)
            continue
        for k, (x1, y1, x2, y2) in enumerate(rects):
            pieces = [(x1, y1, x2, y2)]
            # the later regions that overlap this one take their part of it (most pairs are apart)
            for other in [r for r in rects[k + 1:] if r[0] < x2 and x1 < r[2] and r[1] < y2 and y1 < r[3]]:
                pieces = [part for piece in pieces for part in _subtract(piece, other)]
            rows += [(b, first + k, *piece) for piece in pieces if piece[2] > piece[0] and piece[3] > piece[1]]
        crops += [None] * (len(rows) - len(crops))
        first += len(rects)
    return np.array(rows, np.int64).reshape(-1, 6), crops, first


def _subtract(a: tuple, b: tuple) -> list:
    """Rectangle ``a`` minus rectangle ``b`` (xyxy, pixel edges), as at most 4 disjoint rectangles.

    Examples:
        >>> _subtract((0, 0, 4, 4), (1, 1, 3, 3))
        [(0, 0, 4, 1), (0, 3, 4, 4), (0, 1, 1, 3), (3, 1, 4, 3)]
        >>> _subtract((0, 0, 2, 2), (5, 5, 6, 6))
        [(0, 0, 2, 2)]
    """
    ax1, ay1, ax2, ay2 = a
    bx1, by1, bx2, by2 = b
    if bx1 >= ax2 or bx2 <= ax1 or by1 >= ay2 or by2 <= ay1:
        return [a]
    out = []
    if by1 > ay1:
        out.append((ax1, ay1, ax2, by1))
    if by2 < ay2:
        out.append((ax1, by2, ax2, ay2))
    top, bottom = max(ay1, by1), min(ay2, by2)
    if bx1 > ax1:
        out.append((ax1, top, bx1, bottom))
    if bx2 < ax2:
        out.append((bx2, top, ax2, bottom))
    return out


def plans_to_regions(plans: Sequence[ErasePlan]) -> torch.Tensor:
    """All regions of a batch as one int64 tensor ``[R, 6]``: batch index, source, x1, y1, x2, y2.

    Examples:
        >>> plan = ErasePlan(np.array([[0, 0, 2, 2]]), np.array([-1]), image_size=(4, 4))
        >>> plans_to_regions([ErasePlan.empty((4, 4)), plan]).tolist()
        [[1, -1, 0, 0, 2, 2]]
    """
    rows = [np.column_stack([np.full(len(plan), b), plan.source, plan.rects]) for b, plan in enumerate(plans)]
    return torch.from_numpy(np.concatenate(rows).astype(np.int64) if rows else np.zeros((0, 6), np.int64))


def regions_to_plans(regions: torch.Tensor, image_sizes: Sequence[Sequence[int]], fill: Any = "random") -> List[ErasePlan]:
    """Per-image plans from a regions tensor ``[R, 6]`` (the inverse of :func:`plans_to_regions`
    for the rectangles; the fill's seed is not in the tensor, so it is 0).

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
