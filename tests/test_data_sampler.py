"""Aspect-ratio grouping without decoding, the grouped batch sampler and collate_fn."""

import collections

import pytest
import torch
from _data_helpers import small_synthetic
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler, Subset

from detaug.data import (
    GroupedBatchSampler,
    collate_fn,
    compute_aspect_ratios,
    create_aspect_ratio_groups,
)


class Sizes:
    """A dataset that only knows image sizes (decoding would fail)."""

    def __init__(self, sizes):
        self.sizes = sizes

    def __len__(self):
        return len(self.sizes)

    def get_image_size(self, i):
        return self.sizes[i]

    def __getitem__(self, i):
        raise AssertionError("images must not be decoded")


def test_groups_from_sizes_without_decoding():
    # (height, width): ratios 2, 0.5, 1, 1.5, 0.75
    ds = Sizes([(10, 20), (20, 10), (10, 10), (20, 30), (40, 30)])
    assert compute_aspect_ratios(ds) == [2.0, 0.5, 1.0, 1.5, 0.75]
    assert create_aspect_ratio_groups(ds, k=0) == [1, 0, 1, 1, 0]
    # k=1: bins 0.5, 1, 2 -> groups 0..3
    assert create_aspect_ratio_groups(ds, k=1) == [3, 1, 2, 2, 1]
    assert create_aspect_ratio_groups(Subset(ds, [1, 3]), k=0) == [0, 1]
    with pytest.raises(ValueError, match="k must be"):
        create_aspect_ratio_groups(ds, k=-1)
    with pytest.raises(TypeError, match="get_image_size"):
        compute_aspect_ratios([1, 2])


def test_synthetic_groups_match_decoded_images(monkeypatch):
    ds = small_synthetic().voc("train")
    expected = [ds[i][0].shape[2] / ds[i][0].shape[1] for i in range(len(ds))]
    monkeypatch.setattr(type(ds), "load_image", lambda *a: pytest.fail("decoded"))
    assert compute_aspect_ratios(ds) == pytest.approx(expected)


def test_grouped_batches_are_homogeneous_and_complete():
    group_ids = [i % 3 for i in range(23)]
    gen = torch.Generator().manual_seed(0)
    sampler = GroupedBatchSampler(RandomSampler(range(23), generator=gen), group_ids, 4)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 23 // 4
    assert all(len(b) == 4 and len({group_ids[i] for i in b}) == 1 for b in batches)
    seen = collections.Counter(i for b in batches for i in b)
    assert sum(seen.values()) == 20 and all(0 <= i < 23 for i in seen)
    with pytest.raises(ValueError, match="batch_size"):
        GroupedBatchSampler(SequentialSampler(range(3)), [0, 0, 0], 0)
    with pytest.raises(ValueError, match="Sampler"):
        GroupedBatchSampler(range(3), [0, 0, 0], 2)


def test_dataloader_with_collate():
    ds = small_synthetic().voc("train")
    sampler = GroupedBatchSampler(SequentialSampler(ds), create_aspect_ratio_groups(ds), 2)
    images, targets = next(iter(DataLoader(ds, batch_sampler=sampler, collate_fn=collate_fn)))
    assert len(images) == 2 and len(targets) == 2
    assert all(img.dtype == torch.float32 and img.dim() == 3 for img in images)
    ratios = {img.shape[2] >= img.shape[1] for img in images}
    assert len(ratios) == 1  # same aspect-ratio group
