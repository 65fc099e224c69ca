"""The transform pipelines of a config: flip, extra albumentations transforms, box-aware erasing."""

from __future__ import annotations

from typing import Any, List, Optional

from omegaconf import DictConfig, OmegaConf

from detaug.config.loading import ConfigError, erasing_params
from detaug.erasing.params import ErasingParams

#: ``erasing=`` default: the erasing parameters are read from the config.
FROM_CONFIG: Any = object()


def _params(cfg: DictConfig, erasing: Any) -> Optional[ErasingParams]:
    return erasing_params(cfg) if erasing is FROM_CONFIG else erasing


def build_erasing(cfg: DictConfig, backend: Optional[str] = None, plan_key: Optional[str] = None, *,
                  erasing: Any = FROM_CONFIG) -> Optional[Any]:
    """The box-aware erasing transform of ``cfg.augmentation.erasing`` for the DataLoader
    workers (None for ``mode: none``, and when erasing runs on the device instead).

    Args:
        cfg: a training config.
        backend: ``"albumentations"`` or ``"torchvision"`` (default: ``augmentation.backend``).
        plan_key: torchvision only: store each sample's erasing plan under this target key
            (default None: not stored).
        erasing: the config's :func:`~detaug.config.loading.erasing_params`, when the
            caller has it (default: read from ``cfg``).

    Raises:
        ConfigError: invalid erasing arguments, named.
    """
    params = _params(cfg, erasing)
    if params is None or cfg.augmentation.erasing.device:
        return None
    if (backend or cfg.augmentation.backend) == "albumentations":
        from detaug import BoxAwareRandomErasing

        return BoxAwareRandomErasing(params)
    from detaug.tv import BoxAwareRandomErasing

    return BoxAwareRandomErasing(params, plan_key=plan_key)


def build_device_erasing(cfg: DictConfig, *, erasing: Any = FROM_CONFIG) -> Optional[Any]:
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
    """
    params = _params(cfg, erasing)
    if params is None or not cfg.augmentation.erasing.device:
        return None
    from detaug.adapters.batched import BatchedBoxAwareRandomErasing

    return BatchedBoxAwareRandomErasing(params)


def build_transforms(cfg: DictConfig, train: bool, save_applied_params: bool = False, *,
                     erasing: Any = FROM_CONFIG) -> Any:
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

    Returns:
        An albumentations ``A.Compose`` (``bbox_params`` pascal_voc, label field
        ``"labels"``) or a torchvision-v2 ``Compose``, per ``augmentation.backend``; None
        when there is nothing to apply (the test pipeline).

    Raises:
        ConfigError: invalid erasing arguments or ``augmentation.extra`` entries, named;
            ``augmentation.extra`` with the torchvision backend.

    Examples:
        >>> from detaug.config import load_config
        >>> cfg = load_config(overrides=["augmentation.erasing.mode=ore"])
        >>> [type(t).__name__ for t in build_transforms(cfg, train=True).transforms]
        ['HorizontalFlip', 'BoxAwareRandomErasing']
        >>> build_transforms(cfg, train=False) is None  # nothing to do at test time
        True
    """
    if cfg.augmentation.backend == "albumentations":
        return _albumentations_pipeline(cfg, train, save_applied_params, erasing)
    return _torchvision_pipeline(cfg, train, save_applied_params, erasing)


def _albumentations_pipeline(cfg: DictConfig, train: bool, save_applied_params: bool, erasing: Any) -> Any:
    import albumentations as A

    from detaug.pipeline.extra import build_extra

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
