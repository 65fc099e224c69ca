"""``augmentation.extra``: albumentations transforms named in albumentations' own serialisation.

A training config can add any pixel-level albumentations transform to the training
pipeline without code, in the format ``A.to_dict`` writes and ``A.from_dict`` reads::

    augmentation:
      extra:
        - __class_fullname__: CoarseDropout        # Cutout: one fixed 48 px grey square
          num_holes_range: [1, 1]
          hole_height_range: [48, 48]
          hole_width_range: [48, 48]
          fill: 128
          p: 1.0

(the whole output of ``A.to_dict(t)``, with its ``__version__`` and ``transform`` keys, is
accepted as well). The entries run in the order given, after the horizontal flip and
before box-aware Random Erasing.

**Boxes stay as they are.** Every entry sees the image only (:class:`ImageOnly`), as
detaug's erasing does: boxes, labels and every other target are passed through
untouched. This is what makes a comparison fair: albumentations 2.0.8's dropout
transforms (``CoarseDropout``, ``GridDropout``, ``Erasing``, ...) would otherwise
int-cast every box, shrink it to the largest visible rectangle and drop the boxes that
are hidden entirely (``filter_bboxes_by_holes`` / ``resize_boxes_to_visible_area`` in
``albumentations/augmentations/dropout/functional.py``), so a Cutout run would train on
other boxes than a Random Erasing run. For the same reason only transforms that do not
move pixels are accepted: image-only transforms (colour, blur, noise, ...) and
albumentations' dropout family; a geometric transform (``Affine``, a crop, ...) is a
:class:`~detaug.config.ConfigError`, and so is one that needs a target besides the image
(``MaskDropout``, ``FDA``, ``HistogramMatching``, ``ConstrainedCoarseDropout``, ...).

Only the ``albumentations`` backend supports ``augmentation.extra``.
"""

from __future__ import annotations

from typing import Any, List, Mapping

import albumentations as A
from omegaconf import DictConfig, OmegaConf

from detaug.errors import ConfigError

__all__ = ["ImageOnly", "build_extra", "extra_transform"]

_DROPOUT_MODULE = "albumentations.augmentations.dropout"


class ImageOnly(A.DualTransform):
    """Apply an albumentations transform to the image alone; every other target passes through.

    The wrapped transform draws from the pipeline's random generators (set by
    ``Compose.set_random_seed``), so a seeded pipeline reproduces it.

    Args:
        transform: the albumentations transform (it keeps its own ``p``).
        p: probability of calling it. Default 1.0 (``transform.p`` decides).

    Targets:
        image (boxes, masks, keypoints and labels are returned unchanged)

    Examples:
        >>> import numpy as np
        >>> cutout = A.CoarseDropout(num_holes_range=(1, 1), hole_height_range=(4, 4),
        ...                          hole_width_range=(4, 4), fill=0, p=1.0)
        >>> t = A.Compose([ImageOnly(cutout)],
        ...               bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]))
        >>> out = t(image=np.full((8, 8, 3), 9, np.uint8), bboxes=np.array([[0.5, 0.5, 7.5, 7.5]]),
        ...         labels=np.array([1]))
        >>> int((out["image"] == 0).sum()) // 3, out["bboxes"].tolist()  # CoarseDropout alone: int-cast, shrunk
        (16, [[0.5, 0.5, 7.5, 7.5]])
    """

    def __init__(self, transform: A.BasicTransform, p: float = 1.0):
        self.transform = transform  # before super().__init__, which seeds (and so reaches) it
        super().__init__(p=p)

    def set_random_seed(self, seed: Any) -> None:
        super().set_random_seed(seed)
        self.transform.set_random_seed(seed)

    def set_random_state(self, random_generator: Any, py_random: Any) -> None:
        super().set_random_state(random_generator, py_random)
        self.transform.set_random_state(random_generator, py_random)

    def apply(self, img: Any, **params: Any) -> Any:
        return self.transform(image=img)["image"]

    # A DualTransform that passes the other targets through, rather than an
    # ImageOnlyTransform: a Compose with bbox_params and only image-only transforms warns
    # "Got processor for bboxes, but no transform to process it".
    def apply_to_mask(self, mask: Any, **params: Any) -> Any:
        return mask

    def apply_to_bboxes(self, bboxes: Any, **params: Any) -> Any:
        return bboxes

    def apply_to_keypoints(self, keypoints: Any, **params: Any) -> Any:
        return keypoints

    def get_transform_init_args_names(self) -> tuple:
        return ("transform",)


#: Dropout transforms that place their holes from the boxes or masks they are given: an
#: entry sees the image alone, so these would never erase anything.
_NEEDS_TARGETS = {"ConstrainedCoarseDropout": "bboxes or mask"}


def _needed_targets(transform: Any) -> str:
    """What ``transform`` needs besides the image ('' if nothing): an entry sees the image only."""
    needs = [str(t) for t in getattr(transform, "targets_as_params", ()) or ()]
    return ", ".join(needs) or _NEEDS_TARGETS.get(type(transform).__name__, "")


def _moves_pixels(transform: Any) -> bool:
    if isinstance(transform, A.ImageOnlyTransform):
        return False
    return not type(transform).__module__.startswith(_DROPOUT_MODULE)


def extra_transform(entry: Mapping[str, Any], where: str = "augmentation.extra[0]") -> ImageOnly:
    """Build one ``augmentation.extra`` entry with ``A.from_dict``, wrapped in :class:`ImageOnly`.

    Args:
        entry: ``{"__class_fullname__": name, **init arguments}`` or the whole ``A.to_dict``
            output (``{"__version__": ..., "transform": {...}}``).
        where: the entry's name in error messages.

    Returns:
        The wrapped transform.

    Raises:
        ConfigError: the entry is not a mapping, names no or an unknown transform, has
            invalid arguments, is a pipeline, moves pixels (geometric), or needs a target
            besides the image (``MaskDropout``: a mask; ``FDA``, ``HistogramMatching``,
            ``PixelDistributionAdaptation``: reference images; ``ConstrainedCoarseDropout``:
            boxes or masks); the message names ``where``.

    Examples:
        >>> extra_transform({"__class_fullname__": "GridDropout", "ratio": 0.4, "p": 0.5})
        ImageOnly(p=1.0, transform=GridDropout(p=0.5, fill=0.0, ...))
        >>> extra_transform({"__class_fullname__": "Affine", "p": 1.0})
        Traceback (most recent call last):
        ...
        detaug.errors.ConfigError: augmentation.extra[0] (Affine): moves pixels ...
    """
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected a mapping in albumentations' serialisation format "
                          f"({{__class_fullname__: CoarseDropout, ...}}), got {entry!r}")
    data = dict(entry) if "transform" in entry else {"transform": dict(entry)}
    name = data["transform"].get("__class_fullname__") if isinstance(data["transform"], Mapping) else None
    if not name:
        raise ConfigError(f"{where}: no __class_fullname__ (the transform's class name, e.g. CoarseDropout)")
    if "p" not in data["transform"]:
        raise ConfigError(f"{where} ({name}): give its probability p (albumentations would assume 0.5)")
    try:
        transform = A.from_dict(data)
    except KeyError:
        raise ConfigError(f"{where}: unknown albumentations transform {name!r} "
                          f"(albumentations {A.__version__}; names as in A.to_dict)") from None
    except Exception as exc:  # pydantic's ValidationError, TypeError: name the entry, keep the reason
        raise ConfigError(f"{where} ({name}): invalid arguments: {exc}") from None
    if not isinstance(transform, A.BasicTransform):
        raise ConfigError(f"{where} ({name}): a pipeline; list its transforms as separate entries")
    if _moves_pixels(transform):
        raise ConfigError(f"{where} ({name}): moves pixels (a geometric transform); extra transforms act on "
                          "the image only and keep the boxes, so only image-only transforms and the "
                          "dropout family are accepted")
    needs = _needed_targets(transform)
    if needs:
        raise ConfigError(f"{where} ({name}): needs {needs} besides the image (a mask, reference images as "
                          "metadata, or boxes), which extra transforms never receive: they see the image only; "
                          "use a transform that needs nothing else")
    if type(transform) in (A.BasicTransform, A.ImageOnlyTransform, A.DualTransform):
        raise ConfigError(f"{where}: {name} is albumentations' base class, not a transform")
    return ImageOnly(transform)


def build_extra(cfg: DictConfig) -> List[ImageOnly]:
    """The transforms of ``cfg.augmentation.extra``, in order (empty when there are none).

    Raises:
        ConfigError: a bad entry, named by its index (see :func:`extra_transform`).
    """
    # select: a config saved before this key existed (an older checkpoint's) has none
    extra = OmegaConf.select(cfg, "augmentation.extra", default=None)
    entries = OmegaConf.to_container(extra, resolve=True) if extra else []
    return [extra_transform(e, f"augmentation.extra[{i}]") for i, e in enumerate(entries)]
