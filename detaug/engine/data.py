"""A run's data: the datasets and transforms of :mod:`detaug.pipeline` (the same ones the
visualiser shows), seeded per sample, with their samplers and loaders.

**Reproducible augmentation.** :class:`SeededDataset` reseeds the transform pipeline before
every sample from ``(seed, epoch, index)``. A sample's augmentation therefore depends on
neither the number of DataLoader workers nor the number of processes, and a run resumed in
the middle of an epoch sees exactly the samples it would have seen.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, List, Optional, Tuple

import numpy as np
import torch
from omegaconf import DictConfig
from torch.utils.data import BatchSampler, DataLoader, Dataset, DistributedSampler, Sampler

from detaug.config import ConfigError
from detaug.data import collate_fn
from detaug.engine.distributed import DistInfo, barrier
from detaug.engine.logging import RunLogger
from detaug.engine.signals import ignore_stop_signals, stop_signals_blocked


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 32-bit seed for sample ``index`` in ``epoch`` of a run seeded with ``seed``."""
    return int(np.random.SeedSequence([seed & 0xFFFFFFFF, epoch, index]).generate_state(1)[0])


class SeededDataset(Dataset):
    """Wrap a dataset so that sample ``i`` of epoch ``e`` is augmented with a fixed seed.

    ``transforms`` is the very pipeline object ``dataset`` applies, so that it can be
    reseeded; ``return_index``: return ``(image, target, index)``.
    """

    def __init__(self, dataset: Dataset, transforms: Any = None, seed: int = 0, return_index: bool = False):
        self.dataset, self.transforms, self.seed = dataset, transforms, int(seed)
        self.return_index = return_index
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Call before creating the epoch's iterator (workers are not persistent)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        s = sample_seed(self.seed, self.epoch, index)
        if self.transforms is not None and hasattr(self.transforms, "set_random_seed"):
            self.transforms.set_random_seed(s)  # albumentations: its own generators
        with torch.random.fork_rng(devices=[]):  # torchvision-v2 transforms: the torch generator
            torch.manual_seed(s)
            image, target = self.dataset[index]
        return (image, target, index) if self.return_index else (image, target)


class SkipBatches(Sampler):
    """Drop the first ``skip`` batches of a batch sampler (resuming in the middle of an epoch)."""

    def __init__(self, batch_sampler: Any, skip: int = 0):
        self.batch_sampler, self.skip = batch_sampler, int(skip)

    def __iter__(self) -> Iterator[List[int]]:
        return itertools.islice(iter(self.batch_sampler), self.skip, None)

    def __len__(self) -> int:
        return max(len(self.batch_sampler) - self.skip, 0)


class StopSafeLoader(DataLoader):
    """A DataLoader whose workers leave SIGINT / SIGTERM to the main process: a signal to the
    whole process group stops the run cleanly instead of killing the workers under it."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("collate_fn", collate_fn)
        if kwargs.get("num_workers", 0) > 0:
            kwargs.setdefault("worker_init_fn", ignore_stop_signals)
        super().__init__(*args, **kwargs)

    def __iter__(self):
        with stop_signals_blocked():  # the workers start here
            return super().__iter__()


def make_train_sampler(dataset: Dataset, batch_size: int, seed: int, rank: int, world_size: int,
                       group_factor: int = 0) -> tuple:
    """``(sampler, batch_sampler)``: a shuffling DistributedSampler (also with one process,
    so the order depends only on seed and epoch) and, with ``group_factor > 0``, batches of
    images of similar aspect ratio."""
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=False)
    if group_factor > 0:
        from detaug.data import GroupedBatchSampler, create_aspect_ratio_groups

        group_ids = create_aspect_ratio_groups(dataset, k=group_factor)
        batch_sampler = GroupedBatchSampler(sampler, group_ids, batch_size)
    else:
        batch_sampler = BatchSampler(sampler, batch_size, drop_last=True)
    return sampler, batch_sampler


def make_train_loader(dataset: SeededDataset, batch_sampler: Any, workers: int, epoch: int,
                      skip_batches: int = 0) -> DataLoader:
    """The loader for one epoch (``set_epoch`` is applied to the sampler and the dataset)."""
    sampler = getattr(batch_sampler, "sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    dataset.set_epoch(epoch)
    return StopSafeLoader(dataset, batch_sampler=SkipBatches(batch_sampler, skip_batches), num_workers=workers,
                          persistent_workers=False,
                          generator=torch.Generator().manual_seed(epoch))  # leave the global RNG alone (exact resume)


def make_test_loader(dataset: Dataset, transforms: Any, batch_size: int, workers: int, *, seed: int, rank: int,
                     world_size: int) -> DataLoader:
    """An ordered loader over this rank's share of a test set, returning dataset indices."""
    wrapped = SeededDataset(dataset, transforms, seed, return_index=True)
    sampler = DistributedSampler(wrapped, num_replicas=world_size, rank=rank, shuffle=False, drop_last=False)
    return StopSafeLoader(wrapped, batch_size=batch_size, sampler=sampler, num_workers=workers,
                          generator=torch.Generator().manual_seed(seed))


@dataclass
class EvalSet:
    """One split to evaluate."""

    name: str  # in tables, logs and prediction folders
    dataset: Any  # ground truth is read from it
    loader: Any  # ordered, over this process's share (make_test_loader)
    metric: str  # voc07, voc2010 or coco
    split: str  # the split's own name, for devkit result file names


@dataclass
class RunData:
    """The data of a run; ``train`` and ``batch_sampler`` are None for evaluation only."""

    classes: Tuple[str, ...]  # label i + 1 is classes[i]; 0 is the background
    train: Optional[SeededDataset] = None  # seeded per sample
    batch_sampler: Any = None
    test: List[EvalSet] = field(default_factory=list)  # the reported splits
    val: List[EvalSet] = field(default_factory=list)  # the best checkpoint is chosen on these (may be empty)
    batch_transform: Any = None  # batched erasing on the device (augmentation.erasing.device), or None

    @property
    def num_classes(self) -> int:
        return len(self.classes) + 1


def _prepare_synthetic(cfg: DictConfig, dist: DistInfo, logger: RunLogger) -> Any:
    """Generate the synthetic set once, on the main process; the others then find it."""
    if cfg.data.kind != "synthetic":
        return None
    from detaug.pipeline import prepare_synthetic

    info = None
    if dist.is_main:
        t = time.time()
        info = prepare_synthetic(cfg)
        logger.info(f"synthetic data: {info.root} ({time.time() - t:.1f} s)")
    barrier()
    return info if info is not None else prepare_synthetic(cfg)


def _eval_sets(cfg: DictConfig, dist: DistInfo, bundle: Any, datasets: dict) -> List[EvalSet]:
    return [
        EvalSet(name, ds, make_test_loader(ds, bundle.test_transforms, cfg.data.test_batch_size, cfg.data.workers,
                                           seed=cfg.seed, rank=dist.rank, world_size=dist.world_size),
                bundle.metrics[name], bundle.splits[name].split or name)
        for name, ds in datasets.items()
    ]


def build_run_data(cfg: DictConfig, dist: DistInfo, logger: RunLogger, train: bool = True) -> RunData:
    """The datasets of ``cfg`` with their loaders; ``train``: also the training and validation
    sets. ConfigError for missing folders or splits, or fewer training images than one step takes."""
    from detaug.pipeline import build_datasets

    info = _prepare_synthetic(cfg, dist, logger)
    bundle = build_datasets(cfg, ("train", "val", "test") if train else ("test",), synthetic_info=info)
    data = RunData(classes=bundle.classes, test=_eval_sets(cfg, dist, bundle, bundle.test),
                   val=_eval_sets(cfg, dist, bundle, bundle.val))
    if not train:
        return data
    data.train = SeededDataset(bundle.train, bundle.train_transforms, cfg.seed)
    data.batch_transform = bundle.batch_transform
    _, data.batch_sampler = make_train_sampler(bundle.train, cfg.data.batch_size, cfg.seed, dist.rank,
                                               dist.world_size, cfg.data.aspect_ratio_group_factor)
    if len(data.batch_sampler) == 0:
        raise ConfigError(f"data.batch_size: {cfg.data.batch_size} x {dist.world_size} processes is more than the "
                          f"{len(bundle.train)} training images")
    sizes = ", ".join(f"{s.name} {len(s.dataset)}" for s in data.test)
    val = "; val: " + ", ".join(f"{s.name} {len(s.dataset)}" for s in data.val) if data.val else ""
    logger.info(f"train: {len(bundle.train)} images; test: {sizes}{val}; {len(data.classes)} classes")
    return data
