"""The training and test datasets of a config, with the transforms the training tool uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from omegaconf import DictConfig

from detaug.config import ConfigError, check_data_paths, split_name
from detaug.config.loading import erasing_params
from detaug.pipeline.synthetic import prepare_synthetic, synthetic_splits
from detaug.pipeline.transforms import FROM_CONFIG, build_device_erasing, build_transforms, config_classes


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
        test: split name -> test dataset (when asked for).
        test_transforms: the pipeline object the test and validation datasets apply.
        metrics: split name -> metric name (voc07, voc2010, coco), of the test and the
            validation splits.
        splits: split name -> its SplitConfig (resolved paths for the synthetic set): every
            test split, and the validation splits when asked for.
        val: split name -> validation dataset (when asked for; empty without ``data.val``).
        batch_transform: the batched erasing the training loop applies to each batch on the
            device (``augmentation.erasing.device``), built from the same parameters as the
            workers' pipeline; None otherwise.
    """

    classes: Tuple[str, ...]
    train: Optional[Any]
    train_transforms: Any
    test: Dict[str, Any]
    test_transforms: Any
    metrics: Dict[str, str]
    splits: Dict[str, Any]
    val: Dict[str, Any] = field(default_factory=dict)
    batch_transform: Optional[Any] = None

    @property
    def num_classes(self) -> int:
        return len(self.classes) + 1


def erasing_needs_masks(cfg: DictConfig, erasing: Any = FROM_CONFIG) -> bool:
    """Whether the training erasing reads instance masks (``object_area`` / ``erase_within``: mask)."""
    params = erasing_params(cfg) if erasing is FROM_CONFIG else erasing
    return params is not None and params.uses_masks  # the core's own rule


def make_dataset(cfg: DictConfig, splits: List[Any], transforms: Any = None, classes: Any = None, *,
                 train: bool = False, masks: bool = False) -> Any:
    """One dataset over ``splits`` (resolved split configs, as :attr:`DatasetBundle.splits`
    holds them), concatenated if several.

    Args:
        cfg: the config (``data.kind``, ``data.keep_difficult``).
        splits: the splits.
        transforms: the pipeline the dataset applies (default None: none).
        classes: class names (default None: the dataset's own).
        train: built as a training set: VOC drops "difficult" objects unless
            ``data.keep_difficult``; COCO leaves out crowd boxes and images without usable
            boxes. Default False (every object and image kept, as evaluation needs).
        masks: with ``train``, load instance masks (VOC SegmentationObject PNGs, COCO
            polygons). Default False.
    """
    from detaug.data import COCODetection, DetectionConcatDataset, build_voc

    d = cfg.data
    masks = train and masks
    if d.kind in ("voc", "synthetic"):
        return build_voc([(s.root, s.split) for s in splits], classes=classes, transforms=transforms,
                         keep_difficult=d.keep_difficult if train else True, masks=masks)
    parts = [COCODetection(s.image_dir, s.ann_file, transforms=transforms, train=train, masks=masks) for s in splits]
    return parts[0] if len(parts) == 1 else DetectionConcatDataset(parts)


#: The groups of splits a config holds: ``data.train``, ``data.val``, ``data.test``.
GROUPS = ("train", "val", "test")


def build_datasets(cfg: DictConfig, groups: Sequence[str] = ("train", "test"), *, synthetic_info: Any = None,
                   save_applied_params: bool = False) -> DatasetBundle:
    """Build the datasets of a config that a caller asks for, with their transforms.

    Args:
        cfg: a training config.
        groups: which of :data:`GROUPS` to build: ``"train"`` (the training set, with the
            training pipeline), ``"val"`` (each ``data.val`` split, unaugmented; none when
            the config has none), ``"test"`` (each test split, unaugmented). Default
            ``("train", "test")``.
        synthetic_info: a :class:`~detaug.data.SyntheticDatasetInfo` already generated
            (default None: generate or reuse it under ``data.root``).
        save_applied_params: see :func:`~detaug.pipeline.build_transforms` (for visualisation).

    Returns:
        A :class:`DatasetBundle`.

    Raises:
        ConfigError: missing folders or splits, a validation split named like a test
            split, or invalid augmentation arguments, named.
    """
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        raise ValueError(f"groups: unknown {unknown}; valid: {GROUPS}")
    d = cfg.data
    train = "train" in groups
    erasing = erasing_params(cfg) if train else None  # built once, passed on as itself
    # checked before the data: per-class keys against the classes the config names (all but COCO's)
    train_tf = build_transforms(cfg, train=True, save_applied_params=save_applied_params, erasing=erasing) if train else None
    eval_tf = build_transforms(cfg, train=False) if {"val", "test"} & set(groups) else None
    classes = tuple(d.classes) if d.classes else None
    if d.kind == "synthetic":
        info = synthetic_info if synthetic_info is not None else prepare_synthetic(cfg)
        classes = classes or tuple(info.classes)
        resolved = {group: synthetic_splits(cfg, group, info) for group in GROUPS}
    else:
        resolved = {group: list(d[group]) for group in GROUPS}
    check_data_paths(cfg, [group for group in GROUPS if group in groups])
    train_ds = make_dataset(cfg, resolved["train"], train_tf, classes, train=True,
                            masks=erasing_needs_masks(cfg, erasing)) if train else None
    if train_ds is not None and erasing is not None and erasing.needs_labels and config_classes(cfg) is None:
        # COCO: per-class keys name the annotation file's categories, known only now
        train_tf = build_transforms(cfg, train=True, save_applied_params=save_applied_params, erasing=erasing,
                                    classes=classes or tuple(train_ds.classes))
        train_ds.transforms = train_tf
    built: Dict[str, Dict[str, Any]] = {"val": {}, "test": {}}
    splits = {split_name(s): s for s in resolved["test"]}
    for group in ("test", "val"):
        for i, s in enumerate(resolved[group] if group in groups else []):
            name = split_name(s)
            if group == "val" and name in splits:
                raise ConfigError(f"data.val[{i}]: the name {name!r} is also a test split's; give it another name")
            built[group][name] = make_dataset(cfg, [s], eval_tf, classes)
    splits.update({split_name(s): s for s in resolved["val"] if "val" in groups})
    any_ds = train_ds if train_ds is not None else next(iter({**built["test"], **built["val"]}.values()), None)
    if classes is None and any_ds is not None:
        classes = tuple(any_ds.classes)
    return DatasetBundle(
        classes=tuple(classes or ()),
        train=train_ds,
        train_transforms=train_tf,
        test=built["test"],
        val=built["val"],
        test_transforms=eval_tf,
        metrics={name: default_metric(cfg, s) for name, s in splits.items()},
        splits=splits,
        batch_transform=build_device_erasing(cfg, erasing=erasing, classes=classes) if train else None,
    )
