"""The transform pipelines of a config: flip, extra albumentations transforms, box-aware erasing."""

from __future__ import annotations

from typing import Any, List, Optional

from omegaconf import DictConfig, OmegaConf

from detaug.config.loading import ConfigError, erasing_kwargs


def build_erasing(cfg: DictConfig, backend: Optional[str] = None, plan_key: Optional[str] = None) -> Optional[Any]:
    """The box-aware erasing transform of ``cfg.augmentation.erasing`` for the DataLoader
    workers (None for ``mode: none``, and when erasing runs on the device instead).

    Args:
        cfg: a training config.
        backend: ``"albumentations"`` or ``"torchvision"`` (default: ``augmentation.backend``).
        plan_key: torchvision only: store each sample's erasing plan under this target key
            (default None: not stored).

    Raises:
        ConfigError: invalid erasing arguments, named.
    """
    er = cfg.augmentation.erasing
    if er.mode == "none" or er.device:
        return None
    backend = backend or cfg.augmentation.backend
    try:
        if backend == "albumentations":
            from detaug import BoxAwareRandomErasing

            return BoxAwareRandomErasing(**erasing_kwargs(cfg))
        from detaug.tv import BoxAwareRandomErasing

        return BoxAwareRandomErasing(**erasing_kwargs(cfg), plan_key=plan_key)
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
        train: True for the training pipeline (flip, extra transforms, erasing), False
            for testing (no augmentation).
        save_applied_params: albumentations: record each transform's parameters (the
            erased rectangles among them) in ``target["applied_transforms"]`` (default
            False). torchvision: the erasing plan is stored under ``target["erasing_plan"]``.

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
        return _albumentations_pipeline(cfg, train, save_applied_params)
    return _torchvision_pipeline(cfg, train, save_applied_params)


def _albumentations_pipeline(cfg: DictConfig, train: bool, save_applied_params: bool) -> Any:
    import albumentations as A

    from detaug.pipeline.extra import build_extra

    extra = build_extra(cfg)  # checked at test time too: a bad entry fails early
    steps: List[Any] = []
    if train:
        if cfg.augmentation.hflip_p > 0:
            steps.append(A.HorizontalFlip(p=cfg.augmentation.hflip_p))
        steps += extra
        erasing = build_erasing(cfg, "albumentations")
        if erasing is not None:
            steps.append(erasing)
    if not steps:
        return None  # nothing to do (test time): the dataset converts the image only
    return A.Compose(
        steps,
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
        save_applied_params=save_applied_params,
    )


def _torchvision_pipeline(cfg: DictConfig, train: bool, save_applied_params: bool) -> Any:
    from torchvision.transforms import v2

    if OmegaConf.select(cfg, "augmentation.extra", default=None):
        raise ConfigError("augmentation.extra: the entries are albumentations transforms; they need "
                          "augmentation.backend: albumentations (the torchvision backend has no equivalent)")
    steps: List[Any] = []
    if train:
        if cfg.augmentation.hflip_p > 0:
            steps.append(v2.RandomHorizontalFlip(p=cfg.augmentation.hflip_p))
        erasing = build_erasing(cfg, "torchvision", plan_key="erasing_plan" if save_applied_params else None)
        if erasing is not None:
            steps.append(erasing)
    return v2.Compose(steps) if steps else None
