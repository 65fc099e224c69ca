"""Build a config's augmentation pipeline and datasets (shared by training and visualisation).

:func:`build_transforms` returns exactly the transforms the training tool gives its
datasets, so ``tools/visualize.py`` shows what the model is trained on. The order is
horizontal flip, then box-aware Random Erasing (on the flipped image, as the paper erases
the network's input). Resizing is left to the model (``model.min_size`` / ``max_size``,
with a list of ``min_size`` for multi-scale training), so erased regions keep their
fraction of the image or box whatever the final scale. The model takes float images in
[0, 1] and normalises them itself; datasets produce them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from omegaconf import DictConfig

from detaug.config.loading import ConfigError, erasing_kwargs

__all__ = [
    "DatasetBundle",
    "build_datasets",
    "build_device_erasing",
    "build_erasing",
    "build_transforms",
    "default_metric",
]


def build_erasing(cfg: DictConfig, backend: Optional[str] = None) -> Optional[Any]:
    """The box-aware erasing transform of ``cfg.augmentation.erasing`` for the DataLoader
    workers (None for ``mode: none``, and when erasing runs on the device instead)."""
    er = cfg.augmentation.erasing
    if er.mode == "none" or er.device:
        return None
    backend = backend or cfg.augmentation.backend
    if backend == "albumentations":
        from detaug import BoxAwareRandomErasing
    else:
        from detaug.tv import BoxAwareRandomErasing
    try:
        return BoxAwareRandomErasing(**erasing_kwargs(cfg))
    except ValueError as exc:
        raise ConfigError(f"augmentation.erasing: {exc}") from exc


def build_device_erasing(cfg: DictConfig) -> Optional[Any]:
    """Batched erasing on the training device, when ``augmentation.erasing.device`` is true.

    Returns a :class:`detaug.erasing.BatchedBoxAwareRandomErasing` to call as
    ``images, targets = module(images, targets)`` after the batch is on the device (the
    training engine's ``batch_transform``), or None. It draws from torch's global
    generator, so runs reproduce under the run's seed and resume exactly (checkpoints
    hold that generator's state). Constant fills are given in uint8 units, as for the
    per-image transforms, and scaled to the float [0, 1] batch.

    Examples:
        >>> from detaug.config import load_config
        >>> cfg = load_config(overrides=["augmentation.erasing.mode=i+ore", "augmentation.erasing.device=true"])
        >>> type(build_device_erasing(cfg)).__name__, build_erasing(cfg) is None
        ('BatchedBoxAwareRandomErasing', True)
    """
    er = cfg.augmentation.erasing
    if not er.device or er.mode == "none":
        return None
    from detaug.erasing import BatchedBoxAwareRandomErasing, ErasingParams

    try:
        params = ErasingParams(**erasing_kwargs(cfg))
        return BatchedBoxAwareRandomErasing.from_params(params, fill_scale=1 / 255)
    except ValueError as exc:
        raise ConfigError(f"augmentation.erasing: {exc}") from exc


def build_transforms(cfg: DictConfig, train: bool, save_applied_params: bool = False) -> Any:
    """The transform pipeline of a config, as the training tool uses it.

    Args:
        cfg: a training config (:func:`detaug.config.load_config`).
        train: True for the training pipeline (flip + erasing), False for testing
            (no augmentation).
        save_applied_params: albumentations: record each transform's parameters (the
            erased rectangles among them) in ``target["applied_transforms"]`` (default
            False). torchvision: the erasing plan is stored under ``target["erasing_plan"]``.

    Returns:
        An albumentations ``A.Compose`` (``bbox_params`` pascal_voc, label field
        ``"labels"``) or a torchvision-v2 ``Compose``, per ``augmentation.backend``; None
        when there is nothing to apply (the test pipeline).

    Raises:
        ConfigError: invalid erasing arguments, named.

    Examples:
        >>> from detaug.config import load_config
        >>> cfg = load_config(overrides=["augmentation.erasing.mode=ore"])
        >>> [type(t).__name__ for t in build_transforms(cfg, train=True).transforms]
        ['HorizontalFlip', 'BoxAwareRandomErasing']
        >>> build_transforms(cfg, train=False) is None  # nothing to do at test time
        True
    """
    aug = cfg.augmentation
    erasing = build_erasing(cfg) if train else None
    if aug.backend == "albumentations":
        import albumentations as A

        steps: List[Any] = []
        if train and aug.hflip_p > 0:
            steps.append(A.HorizontalFlip(p=aug.hflip_p))
        if erasing is not None:
            steps.append(erasing)
        if not steps:
            return None  # nothing to do (test time): the dataset converts the image only
        return A.Compose(
            steps,
            bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
            save_applied_params=save_applied_params,
        )
    from torchvision.transforms import v2

    steps = []
    if train and aug.hflip_p > 0:
        steps.append(v2.RandomHorizontalFlip(p=aug.hflip_p))
    if erasing is not None:
        if save_applied_params:
            from detaug.tv import BoxAwareRandomErasing

            erasing = BoxAwareRandomErasing(**erasing_kwargs(cfg), plan_key="erasing_plan")
        steps.append(erasing)
    return v2.Compose(steps) if steps else None


def default_metric(cfg: DictConfig, split: Any = None) -> str:
    """``evaluation.metric``, or the dataset's own: COCO -> coco; VOC2007 -> voc07;
    other VOC years and the synthetic set -> voc2010 (all-point)."""
    if cfg.evaluation.metric:
        return cfg.evaluation.metric
    if cfg.data.kind == "coco":
        return "coco"
    if cfg.data.kind == "voc" and split is not None:
        from detaug.data import voc_year

        return "voc07" if voc_year(split.root) == 2007 else "voc2010"
    return "voc2010"


@dataclass
class DatasetBundle:
    """The datasets of a config.

    Attributes:
        classes: class names (label i + 1 is ``classes[i]``; 0 is the background).
        train: the training dataset (None if not built).
        train_transforms: the pipeline object ``train`` applies (for per-sample seeding).
        test: split name -> test dataset.
        test_transforms: the pipeline object the test datasets apply.
        metrics: split name -> metric name (voc07, voc2010, coco).
        splits: split name -> its SplitConfig (resolved paths for the synthetic set).
    """

    classes: Tuple[str, ...]
    train: Optional[Any]
    train_transforms: Any
    test: Dict[str, Any]
    test_transforms: Any
    metrics: Dict[str, str]
    splits: Dict[str, Any]

    @property
    def num_classes(self) -> int:
        return len(self.classes) + 1


def split_name(split: Any) -> str:
    return split.name or split.split or Path(split.ann_file).stem


def prepare_synthetic(cfg: DictConfig):
    """Generate the synthetic set into ``data.root`` if needed; return its info."""
    from detaug.data import generate_synthetic

    d = cfg.data
    return generate_synthetic(d.root, seed=d.synthetic_seed, num_train=d.synthetic_num_train,
                              num_test=d.synthetic_num_test)


def _synthetic_splits(cfg: DictConfig, group: str, info) -> List[Any]:
    from omegaconf import OmegaConf

    from detaug.config.schema import SplitConfig

    given = list(cfg.data[group])
    if not given:
        given = ([OmegaConf.structured(SplitConfig(name="train", split="train"))] if group == "train" else
                 [OmegaConf.structured(SplitConfig(name="test", split="test")),
                  OmegaConf.structured(SplitConfig(name="occluded", split="test_occluded"))])
    out = []
    for s in given:
        if s.split not in info.splits:
            raise ConfigError(f"data.{group}: synthetic split {s.split!r} does not exist; valid: {list(info.splits)}")
        out.append(SplitConfig(name=s.name or s.split, root=str(info.voc_root), split=s.split))
    return out


def build_datasets(cfg: DictConfig, train: bool = True, test: bool = True, synthetic_info: Any = None,
                   save_applied_params: bool = False) -> DatasetBundle:
    """Build the training and test datasets of a config, with their transforms.

    Args:
        cfg: a training config.
        train: build the training set (default True).
        test: build the test sets (default True).
        synthetic_info: a :class:`~detaug.data.SyntheticDatasetInfo` already generated
            (default None: generate or reuse it under ``data.root``).
        save_applied_params: see :func:`build_transforms` (for visualisation).

    Raises:
        ConfigError: missing folders or splits, named.
    """
    from detaug.data import COCODetection, build_voc

    d = cfg.data
    train_tf = build_transforms(cfg, train=True, save_applied_params=save_applied_params) if train else None
    test_tf = build_transforms(cfg, train=False) if test else None
    classes = tuple(d.classes) if d.classes else None
    if d.kind == "synthetic":
        info = synthetic_info if synthetic_info is not None else prepare_synthetic(cfg)
        classes = classes or tuple(info.classes)
        train_splits = _synthetic_splits(cfg, "train", info)
        test_splits = _synthetic_splits(cfg, "test", info)
    else:
        train_splits, test_splits = list(d.train), list(d.test)
    for s in (train_splits if train else []) + (test_splits if test else []):
        for attr in ("root", "image_dir", "ann_file"):
            path = getattr(s, attr)
            if path and not Path(path).exists():
                raise ConfigError(f"data: {attr} of split {split_name(s)!r} does not exist: {path} "
                                  "(see docs/training.md for the dataset layout)")

    def make(splits, tf, is_train):
        if d.kind in ("voc", "synthetic"):
            return build_voc([(s.root, s.split) for s in splits], classes=classes, transforms=tf,
                             keep_difficult=d.keep_difficult if is_train else True)
        if len(splits) != 1:
            from detaug.data import DetectionConcatDataset

            return DetectionConcatDataset([COCODetection(s.image_dir, s.ann_file, transforms=tf, train=is_train)
                                           for s in splits])
        s = splits[0]
        return COCODetection(s.image_dir, s.ann_file, transforms=tf, train=is_train)

    train_ds = make(train_splits, train_tf, True) if train else None
    test_ds: Dict[str, Any] = {}
    metrics: Dict[str, str] = {}
    if test:
        for s in test_splits:
            name = split_name(s)
            test_ds[name] = make([s], test_tf, False)
            metrics[name] = default_metric(cfg, s)
    any_ds = train_ds if train_ds is not None else next(iter(test_ds.values()), None)
    if classes is None and any_ds is not None:
        classes = tuple(any_ds.classes)
    return DatasetBundle(
        classes=tuple(classes or ()),
        train=train_ds,
        train_transforms=train_tf,
        test=test_ds,
        test_transforms=test_tf,
        metrics=metrics,
        splits={split_name(s): s for s in test_splits},
    )
