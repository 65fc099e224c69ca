"""The transform pipelines of a config: flip, extra albumentations transforms, box-aware erasing."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

from omegaconf import DictConfig, OmegaConf

from detaug.config.loading import ConfigError, erasing_params
from detaug.erasing.params import ErasingParams

#: ``erasing=`` default: the erasing parameters are read from the config.
FROM_CONFIG: Any = object()


def _params(cfg: DictConfig, erasing: Any, classes: Optional[Sequence[str]] = None) -> Optional[ErasingParams]:
    params = erasing_params(cfg) if erasing is FROM_CONFIG else erasing
    return for_classes(params, config_classes(cfg) if classes is None else classes)


def config_classes(cfg: DictConfig) -> Optional[Tuple[str, ...]]:
    """The class names of a config's dataset, label ``i + 1`` being ``classes[i]``, when the
    config alone says them: ``data.classes``, else the synthetic shapes or the 20 VOC
    classes; None for COCO without ``data.classes`` (its annotation file says them).

    Examples:
        >>> from detaug.config import load_config
        >>> config_classes(load_config(overrides=["data.synthetic_classes=[ring, star]"]))
        ('ring', 'star')
    """
    d = cfg.data
    if d.classes:
        return tuple(d.classes)
    if d.kind == "synthetic":
        from detaug.data.synthetic import SYNTHETIC_CLASSES

        return tuple(d.synthetic_classes) or SYNTHETIC_CLASSES
    if d.kind == "voc":
        from detaug.data.voc import VOC_CLASSES

        return tuple(VOC_CLASSES)
    return None


def for_classes(params: Optional[ErasingParams], classes: Optional[Sequence[str]]) -> Optional[ErasingParams]:
    """``params`` with the keys of a per-class ``object_p`` and of ``protect`` as the dataset's
    labels: a class name becomes its label (``classes.index(name) + 1``, as the datasets
    number them), a number stays; unchanged without per-class arguments or ``classes``.

    Raises:
        ConfigError: a name or a label the dataset does not have, or a class given twice
            (by name and by label) with two values, naming it and the valid classes.

    Examples:
        >>> params = ErasingParams(mode="ore", object_p={"star": 1.0, "default": 0.0})
        >>> dict(for_classes(params, ("circle", "star")).object_p)
        {2: 1.0, 'default': 0.0}
        >>> for_classes(ErasingParams(object_p={9: 0.9}), ("circle", "star"))
        Traceback (most recent call last):
        ...
        detaug.errors.ConfigError: augmentation.erasing.object_p: label 9 is not a class of this dataset; its labels are 1 circle, 2 star (key by name or label; 0 is the background)
    """
    if params is None or classes is None or not params.needs_labels:
        return params
    label_of = {name: i + 1 for i, name in enumerate(classes)}
    listed = ", ".join(f"{i + 1} {name}" for i, name in enumerate(classes))

    def resolve(name: str, table: Any) -> dict:
        out: dict = {}
        for key, value in table:
            if key == "default":
                out[key] = value
                continue
            if isinstance(key, str) and key not in label_of:
                raise ConfigError(f"augmentation.erasing.{name}: {key!r} is not a class of this dataset; its labels "
                                  f"are {listed} (key by name or label)")
            label = label_of[key] if isinstance(key, str) else key
            if not 1 <= label <= len(classes):
                raise ConfigError(f"augmentation.erasing.{name}: label {key} is not a class of this dataset; its "
                                  f"labels are {listed} (key by name or label; 0 is the background)")
            if label in out and out[label] != value:
                raise ConfigError(f"augmentation.erasing.{name}: class {classes[label - 1]!r} is given twice, by name "
                                  f"and by label {label}, with {out[label]} and {value}: keep one")
            out[label] = value
        return out

    kwargs = params.as_kwargs()
    if params.per_class:
        kwargs["object_p"] = resolve("object_p", params.object_p)
    if params.protect is not None:
        kwargs["protect"] = resolve("protect", params.protect)
    if kwargs["object_p"] == params.as_kwargs()["object_p"] and kwargs["protect"] == params.as_kwargs()["protect"]:
        return params  # keyed by labels already: the same object travels on
    return ErasingParams(**kwargs)


def build_erasing(cfg: DictConfig, backend: Optional[str] = None, plan_key: Optional[str] = None, *,
                  erasing: Any = FROM_CONFIG, classes: Optional[Sequence[str]] = None) -> Optional[Any]:
    """The box-aware erasing transform of ``cfg.augmentation.erasing`` for the DataLoader
    workers (None for ``mode: none``, and when erasing runs on the device instead).

    Args:
        cfg: a training config.
        backend: ``"albumentations"`` or ``"torchvision"`` (default: ``augmentation.backend``).
        plan_key: torchvision only: store each sample's erasing plan under this target key
            (default None: not stored).
        erasing: the config's :func:`~detaug.config.loading.erasing_params`, when the
            caller has it (default: read from ``cfg``).
        classes: the dataset's class names, which per-class keys name (:func:`for_classes`;
            default :func:`config_classes`).

    Raises:
        ConfigError: invalid erasing arguments, or per-class keys the dataset does not have, named.
    """
    params = _params(cfg, erasing, classes)
    if params is None or cfg.augmentation.erasing.device:
        return None
    if (backend or cfg.augmentation.backend) == "albumentations":
        from detaug import BoxAwareRandomErasing

        return BoxAwareRandomErasing(params)
    from detaug.tv import BoxAwareRandomErasing

    return BoxAwareRandomErasing(params, plan_key=plan_key)


def build_device_erasing(cfg: DictConfig, *, erasing: Any = FROM_CONFIG,
                         classes: Optional[Sequence[str]] = None) -> Optional[Any]:
    """Batched erasing on the training device, when ``augmentation.erasing.device`` is true.

    Returns a :class:`detaug.BatchedBoxAwareRandomErasing` to call as
    ``images, targets = module(images, targets)`` after the batch is on the device (the
    training engine's ``batch_transform``), or None. It draws from torch's global
    generator, so runs reproduce under the run's seed and resume exactly (checkpoints
    hold that generator's state). Its constant fill is in the float batch's units
    (:func:`~detaug.config.loading.erasing_params` scales the config's uint8 units).

    Examples:
        >>> from detaug.config import load_config
        >>> cfg = load_config(overrides=["augmentation.erasing.mode=i+ore", "augmentation.erasing.device=true"])
        >>> type(build_device_erasing(cfg)).__name__, build_erasing(cfg) is None
        ('BatchedBoxAwareRandomErasing', True)

    ``classes``: as in :func:`build_erasing`.
    """
    params = _params(cfg, erasing, classes)
    if params is None or not cfg.augmentation.erasing.device:
        return None
    from detaug.adapters.batched import BatchedBoxAwareRandomErasing

    return BatchedBoxAwareRandomErasing(params)


def build_transforms(cfg: DictConfig, train: bool, save_applied_params: bool = False, *,
                     erasing: Any = FROM_CONFIG, classes: Optional[Sequence[str]] = None) -> Any:
    """The transform pipeline of a config, as the training tool uses it.

    Args:
        cfg: a training config (:func:`detaug.config.load_config`).
        train: True for the training pipeline (flip, extra transforms, erasing), False
            for testing (no augmentation).
        save_applied_params: albumentations: record each transform's parameters (the
            erased rectangles among them) in ``target["applied_transforms"]`` (default
            False). torchvision: the erasing plan is stored under ``target["erasing_plan"]``.
        erasing: the config's :func:`~detaug.config.loading.erasing_params`, when the
            caller has it (default: read from ``cfg``).
        classes: the dataset's class names: keys of a per-class ``object_p`` / ``protect``
            may name them, and must be among them (default :func:`config_classes`).

    Returns:
        An albumentations ``A.Compose`` (``bbox_params`` pascal_voc, label field
        ``"labels"``) or a torchvision-v2 ``Compose``, per ``augmentation.backend``; None
        when there is nothing to apply (the test pipeline).

    Raises:
        ConfigError: invalid erasing arguments or ``augmentation.extra`` entries, named;
            per-class keys the dataset does not have; ``augmentation.extra`` with the
            torchvision backend.

    Examples:
        >>> from detaug.config import load_config
        >>> cfg = load_config(overrides=["augmentation.erasing.mode=ore"])
        >>> [type(t).__name__ for t in build_transforms(cfg, train=True).transforms]
        ['HorizontalFlip', 'BoxAwareRandomErasing']
        >>> build_transforms(cfg, train=False) is None  # nothing to do at test time
        True
    """
    if train:
        erasing = _params(cfg, erasing, classes)
    if cfg.augmentation.backend == "albumentations":
        return _albumentations_pipeline(cfg, train, save_applied_params, erasing)
    return _torchvision_pipeline(cfg, train, save_applied_params, erasing)


def _albumentations_pipeline(cfg: DictConfig, train: bool, save_applied_params: bool, erasing: Any) -> Any:
    import albumentations as A

    from detaug.config.extra import build_extra

    extra = build_extra(cfg)  # checked at test time too: a bad entry fails early
    steps: List[Any] = []
    if train:
        if cfg.augmentation.hflip_p > 0:
            steps.append(A.HorizontalFlip(p=cfg.augmentation.hflip_p))
        steps += extra
        transform = build_erasing(cfg, "albumentations", erasing=erasing)
        if transform is not None:
            steps.append(transform)
    if not steps:
        return None  # nothing to do (test time): the dataset converts the image only
    return A.Compose(
        steps,
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
        save_applied_params=save_applied_params,
    )


def _torchvision_pipeline(cfg: DictConfig, train: bool, save_applied_params: bool, erasing: Any) -> Any:
    from torchvision.transforms import v2

    if OmegaConf.select(cfg, "augmentation.extra", default=None):
        raise ConfigError("augmentation.extra: the entries are albumentations transforms; they need "
                          "augmentation.backend: albumentations (the torchvision backend has no equivalent)")
    steps: List[Any] = []
    if train:
        if cfg.augmentation.hflip_p > 0:
            steps.append(v2.RandomHorizontalFlip(p=cfg.augmentation.hflip_p))
        transform = build_erasing(cfg, "torchvision", plan_key="erasing_plan" if save_applied_params else None,
                                  erasing=erasing)
        if transform is not None:
            steps.append(transform)
    return v2.Compose(steps) if steps else None
