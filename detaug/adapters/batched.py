"""Box-aware Random Erasing of the batch a detector receives, as a ``torch.nn.Module``."""

from __future__ import annotations

import operator
from typing import Any, List, Optional, Sequence, Union

import torch
from torch import nn
from torchvision import tv_tensors

from detaug.adapters._arguments import erasing_arguments, erasing_params
from detaug.adapters.torchvision import boxes_to_xyxy, check_canvas, check_channels_first
from detaug.erasing.batched import erase_batch, plans_to_regions
from detaug.erasing.params import ErasingParams, check_probability, format_kwargs
from detaug.erasing.plan import ErasePlan


@erasing_arguments(skip=("fill_mask", "min_visibility", "occlude_keypoints"))
class BatchedBoxAwareRandomErasing(nn.Module):
    """Box-aware Random Erasing (IRE, ORE, I+ORE) of a whole batch, on its device.

    Same arguments and meaning as :class:`detaug.BoxAwareRandomErasing` (the paper's
    detection setting by default), applied after collation to the images and targets the
    detector receives, instead of in the DataLoader workers. Each image gets its own plan
    (drawn on the CPU by the shared core) and its regions are written on the batch's
    device. Targets are never changed: only pixels are.

    Args:
        params: the erasing arguments as one validated :class:`~detaug.erasing.ErasingParams`
            (e.g. a config's), instead of the keywords. Default None.
        **erasing: ``mode``, ``image_p``, ``object_p``, ``scale``, ``ratio``, ``ratio_sampling``,
            ``placement``, ``max_attempts``, ``object_area``, ``mask_cover``, ``erase_within``,
            ``fill``, ``count``: as in :class:`detaug.BoxAwareRandomErasing` (defaults from
            :class:`~detaug.erasing.ErasingParams`). Constant fills are in the batch's
            units (a fraction for a float batch in [0, 1]). Instance masks are read from the
            targets' ``"masks"`` (``[N, H, W]``, one per box).
        p: probability that erasing runs at all on an image. Default 1.0.
        seed: seed of the module's own generator (CPU); None draws from torch's global
            generator, reproducible under ``torch.manual_seed``. Default None.
        inplace: erase the given batch in place. Default False.

    Targets:
        images only (boxes are read); targets come back unchanged.

    Image types:
        a ``[B, C, H, W]`` tensor (uint8 or float, padded or not) or a list of
        ``[C, H_i, W_i]`` tensors of any sizes, channels and dtypes, on any device.

    Raises:
        ValueError: in the constructor, for an invalid argument, or ``fill_mask`` /
            ``min_visibility`` (they change targets; use the per-image transforms).
        TypeError: when called, for images that are not tensors (numpy arrays: convert
            them, or use the albumentations front-end, which takes numpy).

    Examples:
        >>> module = BatchedBoxAwareRandomErasing(mode="ore", object_p=1.0, fill=0.0, seed=0)
        >>> images = [torch.ones(3, 40, 50), torch.ones(1, 30, 20)]
        >>> targets = [{"boxes": torch.tensor([[5.0, 5.0, 35.0, 30.0]]), "labels": torch.tensor([1])},
        ...            {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}]
        >>> out, out_targets = module(images, targets)
        >>> [tuple(x.shape) for x in out], out_targets is targets
        ([(3, 40, 50), (1, 30, 20)], True)
        >>> module.last_regions[:, :2].tolist()
        [[0, 0]]

    References:
        Zhong, Zheng, Kang, Li, Yang. Random Erasing Data Augmentation. AAAI 2020.
    """

    def __init__(
        self,
        params: Optional[ErasingParams] = None,
        *,
        p: float = 1.0,
        seed: Optional[int] = None,
        inplace: bool = False,
        **erasing: Any,
    ):
        super().__init__()
        self.p = check_probability("p", p)
        try:
            self.seed = None if seed is None else operator.index(seed)
        except TypeError:
            raise ValueError(f"seed must be None or an integer, got {seed!r}") from None
        self.erasing = erasing_params(self, params, erasing)
        self.erasing.check_images_only()
        self.inplace = bool(inplace)
        self.last_plans: List[ErasePlan] = []
        self._generator: Optional[torch.Generator] = None

    @property
    def last_regions(self) -> torch.Tensor:
        """The regions of the last call: int64 ``[R, 6]`` of batch index, source, x1, y1, x2, y2."""
        return plans_to_regions(self.last_plans)

    def forward(self, images: Union[torch.Tensor, Sequence[torch.Tensor]], targets: Any = None, image_sizes: Any = None) -> Any:
        """Erase a batch.

        Args:
            images: ``[B, C, H, W]`` tensor, or a list of ``[C, H_i, W_i]`` tensors.
            targets: a list of dicts with ``"boxes"`` (absolute boxes; ``tv_tensors.BoundingBoxes``
                in any format) and ``"labels"`` (read for a per-class ``object_p``), a list
                of box tensors, or None.
            image_sizes: true sizes of a padded batch tensor. Default None.

        Returns:
            ``(images, targets)`` when ``targets`` is given (``targets`` is the very same
            object, unchanged), else the images. The plans of the call are in
            ``self.last_plans``, the regions in ``self.last_regions``.
        """
        boxes = labels = masks = None
        if isinstance(images, torch.Tensor) and images.ndim == 3:
            images_list = [images]
        else:
            images_list = list(images) if isinstance(images, (list, tuple, torch.Tensor)) else []
        check_channels_first(images_list, type(self).__name__)
        if targets is not None:
            if isinstance(targets, dict) or not isinstance(targets, (list, tuple, torch.Tensor)):
                raise ValueError(f"targets must be a list with one target per image (a dict with 'boxes', or a box "
                                 f"tensor), got {type(targets).__name__}: for one image, pass [target]")
            boxes = [boxes_to_xyxy(_target_boxes(t, i)) for i, t in enumerate(targets)]
            # a list holds each image at its own size; a batch tensor may be padded beyond the canvas
            own_size = not isinstance(images, torch.Tensor) and image_sizes is None
            for i, t in enumerate(targets):
                box = t.get("boxes") if isinstance(t, dict) else t
                if isinstance(box, tv_tensors.BoundingBoxes) and own_size and i < len(images_list):
                    check_canvas(box, tuple(images_list[i].shape[-2:]), f"{type(self).__name__} (targets[{i}])")
            labels = [t.get("labels") if isinstance(t, dict) else None for t in targets]
            masks = [t.get("masks") if isinstance(t, dict) else None for t in targets]
        if self.seed is not None and self._generator is None:
            self._generator = torch.Generator().manual_seed(self.seed)
        out, self.last_plans = erase_batch(images, boxes, self.erasing, generator=self._generator,
                                           image_sizes=image_sizes, p=self.p, inplace=self.inplace,
                                           labels=labels if self.erasing.needs_labels else None,
                                           masks=masks if self.erasing.uses_masks else None)
        return (out, targets) if targets is not None else out

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_generator"] = None
        return state

    def extra_repr(self) -> str:
        kwargs = self.erasing.non_default_kwargs()
        for name, default in (("p", 1.0), ("seed", None), ("inplace", False)):
            if getattr(self, name) != default:
                kwargs[name] = getattr(self, name)
        return format_kwargs(kwargs)


def _target_boxes(target: Any, index: int) -> Any:
    """The boxes of one target: its ``"boxes"`` (a dict), or the target itself (a box tensor).

    Raises:
        ValueError: a dict without ``"boxes"``, naming its keys.
    """
    if not isinstance(target, dict):
        return target
    if "boxes" not in target:
        raise ValueError(f"targets[{index}] has no 'boxes' (its keys: {sorted(map(str, target))}): each target is a dict "
                         "with 'boxes' [N, 4] in absolute pixels (and 'labels'), or a box tensor; give [] boxes for "
                         "an image without objects")
    return target["boxes"]
