"""Erasing a whole batch on its device, built on the per-image core.

For each image: one plan drawn on the CPU with :func:`~detaug.erasing.sample_plan` (tens
of microseconds), then its regions written on the batch's device with
:func:`~detaug.erasing.erase_tensor` (a few slice writes). The per-image seeds come from
a torch Generator (or torch's global one), so a training run reproduces under
``torch.manual_seed`` and resumes exactly: checkpoints hold torch's random state.

This is what "erasing on the GPU" needs, and no more: there is no second implementation
of Algorithm 1 or of the fills. On a CPU it is no faster than erasing in the DataLoader
workers (see ``docs/benchmarks.md``); use it when the workers are the bottleneck.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from detaug.erasing.kernels import erase_tensor
from detaug.erasing.params import ErasingParams, check_probability
from detaug.erasing.plan import ErasePlan
from detaug.erasing.sampling import check_boxes, sample_plan

Images = Union[torch.Tensor, Sequence[torch.Tensor]]


def _image_boxes(boxes: Any, index: int) -> Optional[np.ndarray]:
    if boxes is None:
        return None
    one = boxes[index]
    if isinstance(one, torch.Tensor):
        one = one.detach().as_subclass(torch.Tensor).to("cpu", torch.float64).numpy()
    return check_boxes(one, f"boxes[{index}]")


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
    own = [tuple(int(v) for v in image.shape[-2:]) for image in images]
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
        :class:`~detaug.erasing.ErasePlan` per image (replayable with ``erase_tensor``).

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
    if boxes is not None and len(boxes) != len(images):
        raise ValueError(f"expected boxes for {len(images)} images, got {len(boxes)}")
    sizes = _sizes(images, image_sizes)
    seeds = torch.randint(0, 2**62, (len(images),), generator=generator,
                          device=generator.device if generator is not None else "cpu").tolist()
    out = images if inplace else (images.clone() if isinstance(images, torch.Tensor) else [x.clone() for x in images])
    plans = []
    for index, ((height, width), seed) in enumerate(zip(sizes, seeds)):
        rng = np.random.default_rng(seed)
        if p < 1.0 and rng.random() >= p:
            plans.append(ErasePlan.empty((height, width), params.fill))
            continue
        image_labels = None if labels is None else _labels(labels[index])
        plan = sample_plan((height, width), _image_boxes(boxes, index), params, rng, labels=image_labels,
                           masks=_image_masks(masks, index))
        erase_tensor(out[index][..., :height, :width], plan, inplace=True)
        plans.append(plan)
    return out, plans


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
