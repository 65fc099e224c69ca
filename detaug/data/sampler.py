"""Batching for detection: ``collate_fn`` and aspect-ratio grouped batches.

Port of torchvision's detection references (``group_by_aspect_ratio.py``), except that
aspect ratios come from ``dataset.get_image_size(idx)``, so no image is decoded.
"""

from __future__ import annotations

import bisect
import copy
from collections import defaultdict
from itertools import chain, repeat
from typing import Any, Iterator, List, Sequence, Tuple

import numpy as np
from torch.utils.data import BatchSampler, Sampler, Subset

from detaug.protocols import ImageSizes

__all__ = [
    "GroupedBatchSampler",
    "collate_fn",
    "compute_aspect_ratios",
    "create_aspect_ratio_groups",
]


def collate_fn(batch: Sequence[Tuple[Any, Any]]) -> Tuple[tuple, ...]:
    """Collate detection samples into ``(images, targets)`` tuples (no stacking).

    Args:
        batch: A list of ``(image, target)`` pairs.

    Returns:
        ``tuple(zip(*batch))``: a tuple of images and a tuple of targets.

    Examples:
        >>> collate_fn([("a", {"x": 1}), ("b", {"x": 2})])
        (('a', 'b'), ({'x': 1}, {'x': 2}))
    """
    return tuple(zip(*batch))


def compute_aspect_ratios(dataset: Any) -> List[float]:
    """Return width / height of every item, using ``get_image_size`` (no decoding).

    ``torch.utils.data.Subset`` wrappers (nested too) are followed to the dataset that
    has ``get_image_size``.

    Args:
        dataset: A dataset with ``get_image_size(idx) -> (height, width)``, or a Subset
            of one.

    Returns:
        One aspect ratio per item, in dataset order.

    Raises:
        TypeError: If no ``get_image_size`` can be found.
    """
    indices = list(range(len(dataset)))
    while isinstance(dataset, Subset) and not isinstance(dataset, ImageSizes):
        indices = [dataset.indices[i] for i in indices]
        dataset = dataset.dataset
    if not isinstance(dataset, ImageSizes):
        raise TypeError(
            f"{type(dataset).__name__} has no get_image_size(idx) -> (height, width); "
            "detaug datasets provide it"
        )
    ratios = []
    for i in indices:
        h, w = dataset.get_image_size(i)
        ratios.append(float(w) / float(h))
    return ratios


def _quantize(x: Sequence[float], bins: Sequence[float]) -> List[int]:
    bins = sorted(copy.deepcopy(list(bins)))
    return [bisect.bisect_right(bins, y) for y in x]


def create_aspect_ratio_groups(dataset: Any, k: int = 0) -> List[int]:
    """Assign every item to an aspect-ratio group (torchvision references' binning).

    Bins are ``2 ** linspace(-1, 1, 2k + 1)`` (ratios from 1/2 to 2); ``k=0`` gives two
    groups: portrait (ratio below 1) and square-or-landscape (``[1.0]`` is the only edge).

    Args:
        dataset: See :func:`compute_aspect_ratios`.
        k: Number of bins per side of 1. Default 0.

    Returns:
        A group id per item.

    Raises:
        ValueError: If ``k < 0``.

    Examples:
        >>> class Sizes:
        ...     sizes = [(100, 200), (200, 100), (100, 100)]
        ...     def __len__(self): return 3
        ...     def get_image_size(self, i): return self.sizes[i]
        >>> create_aspect_ratio_groups(Sizes(), k=0)
        [1, 0, 1]
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    bins = (2 ** np.linspace(-1, 1, 2 * k + 1)).tolist() if k > 0 else [1.0]
    return _quantize(compute_aspect_ratios(dataset), bins)


def _repeat_to_at_least(iterable: List[int], n: int) -> List[int]:
    repeat_times = -(-n // len(iterable))
    return list(chain.from_iterable(repeat(iterable, repeat_times)))


class GroupedBatchSampler(BatchSampler):
    """Batches whose items all come from the same group (e.g. aspect-ratio group).

    Same behaviour as torchvision's detection references: batches are yielded as soon as a
    group has ``batch_size`` items; at the end, incomplete groups are topped up with
    items already seen in that group so that exactly ``len(sampler) // batch_size``
    batches are produced.

    Args:
        sampler: Base sampler yielding dataset indices.
        group_ids: Group id of every dataset index.
        batch_size: Items per batch (>= 1).

    Raises:
        ValueError: If ``sampler`` is not a Sampler or ``batch_size < 1``.

    Examples:
        >>> from torch.utils.data import SequentialSampler
        >>> s = GroupedBatchSampler(SequentialSampler(range(6)), [0, 1, 0, 1, 0, 1], 2)
        >>> list(s)
        [[0, 2], [1, 3], [4, 0]]
    """

    def __init__(self, sampler: Sampler, group_ids: Sequence[int], batch_size: int) -> None:
        if not isinstance(sampler, Sampler):
            raise ValueError(
                f"sampler should be an instance of torch.utils.data.Sampler, got {sampler!r}"
            )
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.sampler = sampler
        self.group_ids = list(group_ids)
        self.batch_size = int(batch_size)

    def __iter__(self) -> Iterator[List[int]]:
        buffer_per_group = defaultdict(list)
        samples_per_group = defaultdict(list)
        num_batches = 0
        for idx in self.sampler:
            group_id = self.group_ids[idx]
            buffer_per_group[group_id].append(idx)
            samples_per_group[group_id].append(idx)
            if len(buffer_per_group[group_id]) == self.batch_size:
                yield buffer_per_group[group_id]
                num_batches += 1
                del buffer_per_group[group_id]
        num_remaining = len(self) - num_batches
        if num_remaining > 0:
            for group_id, _ in sorted(
                buffer_per_group.items(), key=lambda x: len(x[1]), reverse=True
            ):
                remaining = self.batch_size - len(buffer_per_group[group_id])
                extra = _repeat_to_at_least(samples_per_group[group_id], remaining)
                buffer_per_group[group_id].extend(extra[:remaining])
                yield buffer_per_group[group_id]
                num_remaining -= 1
                if num_remaining == 0:
                    break

    def __len__(self) -> int:
        return len(self.sampler) // self.batch_size
