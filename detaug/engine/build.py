"""A run's parts from its config: the checks before any work, the log, the data, the model.

Datasets and transforms come from :mod:`detaug.pipeline` (the same ones the visualiser
shows); this module wraps them for training and evaluation.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, Tuple

import torch
from omegaconf import DictConfig

from detaug.checkpoint import LAST
from detaug.config import ConfigError, check_data_paths, save_config
from detaug.engine.data import SeededDataset, make_test_loader, make_train_sampler
from detaug.engine.distributed import DistInfo, barrier, check_device
from detaug.engine.logging import RunLogger
from detaug.engine.state import seed_everything


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


def check_run_config(cfg: DictConfig, eval_only: bool = False) -> None:
    """The checks that need torch or the file system, before any work starts.

    Raises:
        ConfigError: unknown model weights, a device this machine lacks, missing data
            folders, or an output folder that cannot be created.
    """
    from detaug.models import resolve_weights

    try:
        resolve_weights(cfg.model.name, cfg.model.weights, cfg.model.weights_backbone)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    check_device(cfg.runtime.device)
    check_data_paths(cfg, ("test",) if eval_only else ("train", "val", "test"))
    out = Path(cfg.output_dir)
    blocker = next((p for p in (out, *out.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise ConfigError(f"output_dir: cannot create {out}: {blocker} is a file, not a folder")
    if blocker is not None and not os.access(blocker, os.W_OK | os.X_OK):
        raise ConfigError(f"output_dir: cannot create or write {out}: {blocker} is not writable")


def start_log(cfg: DictConfig, dist: DistInfo, log_dir: Path, fresh: bool, tensorboard: bool) -> RunLogger:
    """The run's logger, with the resolved config saved beside it and the first lines written."""
    log_dir = Path(log_dir)
    earlier = fresh and (log_dir / LAST).exists()
    logger = RunLogger(log_dir, enabled=dist.is_main, print_freq=cfg.runtime.print_freq,
                       tensorboard=tensorboard and cfg.runtime.tensorboard, fresh=fresh)
    if earlier:
        logger.info(f"note: {log_dir} held an earlier run; it is overwritten (use --resume to continue it)")
    if dist.is_main:
        save_config(cfg, log_dir / "config.yaml")
    processes = f" x {dist.world_size} processes" if dist.distributed else ""
    logger.info(f"detaug-train: {cfg.name} on {dist.device}{processes}")
    if cfg.runtime.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return logger


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
    sets (False for evaluation only).

    Raises:
        ConfigError: missing folders or splits, or more processes x images per step than
            training images.
    """
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


def build_run_model(cfg: DictConfig, num_classes: int, dist: DistInfo, logger: RunLogger) -> torch.nn.Module:
    """The config's model on this process's device, initialised from ``cfg.seed`` (the same
    weights on every process); ConfigError for weights that do not fit it."""
    from detaug.models import build_model_from_config

    seed_everything(cfg.seed)
    try:
        model = build_model_from_config(cfg, num_classes, log=logger.info)
    except ValueError as exc:
        raise ConfigError(f"model: {exc}") from exc
    return model.to(dist.device)

