"""The training and test datasets of a config, with the transforms the training tool uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from omegaconf import DictConfig

from detaug.config import check_data_paths, split_name
from detaug.config.loading import erasing_params
from detaug.pipeline.synthetic import prepare_synthetic, synthetic_splits
from detaug.pipeline.transforms import FROM_CONFIG, build_transforms, config_classes


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


def erasing_needs_masks(cfg: DictConfig, erasing: Any = FROM_CONFIG) -> bool:
    """Whether the training erasing reads instance masks (``object_area`` / ``erase_within``: mask)."""
    params = erasing_params(cfg) if erasing is FROM_CONFIG else erasing
    return params is not None and params.uses_masks  # the core's own rule


def _make(cfg: DictConfig, splits: List[Any], transforms: Any, classes, is_train: bool, masks: bool = False):
    from detaug.data import COCODetection, DetectionConcatDataset, build_voc

    d = cfg.data
    masks = is_train and masks  # VOC SegmentationObject PNGs, COCO polygons
    if d.kind in ("voc", "synthetic"):
        return build_voc([(s.root, s.split) for s in splits], classes=classes, transforms=transforms,
                         keep_difficult=d.keep_difficult if is_train else True, masks=masks)
    parts = [COCODetection(s.image_dir, s.ann_file, transforms=transforms, train=is_train, masks=masks) for s in splits]
    return parts[0] if len(parts) == 1 else DetectionConcatDataset(parts)


def build_datasets(cfg: DictConfig, train: bool = True, test: bool = True, synthetic_info: Any = None,
                   save_applied_params: bool = False) -> DatasetBundle:
    """Build the training and test datasets of a config, with their transforms.

    Args:
        cfg: a training config.
        train: build the training set (default True).
        test: build the test sets (default True).
        synthetic_info: a :class:`~detaug.data.SyntheticDatasetInfo` already generated
            (default None: generate or reuse it under ``data.root``).
        save_applied_params: see :func:`~detaug.pipeline.build_transforms` (for visualisation).

    Returns:
        A :class:`DatasetBundle`.

    Raises:
        ConfigError: missing folders or splits, or invalid augmentation arguments, named.
    """
    d = cfg.data
    erasing = erasing_params(cfg) if train else None  # built once, passed on as itself
    # checked before the data: per-class keys against the classes the config names (all but COCO's)
    train_tf = build_transforms(cfg, train=True, save_applied_params=save_applied_params, erasing=erasing) if train else None
    test_tf = build_transforms(cfg, train=False) if test else None
    classes = tuple(d.classes) if d.classes else None
    if d.kind == "synthetic":
        info = synthetic_info if synthetic_info is not None else prepare_synthetic(cfg)
        classes = classes or tuple(info.classes)
        train_splits, test_splits = synthetic_splits(cfg, "train", info), synthetic_splits(cfg, "test", info)
    else:
        train_splits, test_splits = list(d.train), list(d.test)
    check_data_paths(cfg, [group for group, wanted in (("train", train), ("test", test)) if wanted])
    train_ds = _make(cfg, train_splits, train_tf, classes, True, masks=erasing_needs_masks(cfg, erasing)) if train else None
    if train_ds is not None and erasing is not None and erasing.needs_labels and config_classes(cfg) is None:
        # COCO: per-class keys name the annotation file's categories, known only now
        train_tf = build_transforms(cfg, train=True, save_applied_params=save_applied_params, erasing=erasing,
                                    classes=classes or tuple(train_ds.classes))
        train_ds.transforms = train_tf
    test_ds: Dict[str, Any] = {}
    metrics: Dict[str, str] = {}
    for s in test_splits if test else []:
        test_ds[split_name(s)] = _make(cfg, [s], test_tf, classes, False)
        metrics[split_name(s)] = default_metric(cfg, s)
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
