"""Applying a user transform to an ``(image, target)`` pair, whatever its framework.

Datasets in :mod:`detaug.data` accept either

* an albumentations pipeline (``A.Compose`` or a single transform) built with
  ``bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"])``; it is called
  as ``transform(image=<HWC uint8 numpy>, bboxes=<[N, 5] xyxy + row index>, labels=...)``, or
* a torchvision-v2 style callable ``(image, target) -> (image, target)``, called with a
  ``tv_tensors.Image`` (uint8, CHW) and a target whose ``boxes`` are
  ``tv_tensors.BoundingBoxes`` in XYXY format.

Which path is taken is decided by ``isinstance`` on albumentations' ``BaseCompose`` /
``BasicTransform``. Either way the result is a float32 CHW tensor in [0, 1] and a target
of plain tensors: ``boxes`` float32 [N, 4], ``labels`` int64 [N], ``image_id``, ``area``
(recomputed from the final boxes), ``iscrowd`` int64 [N], ``difficult`` bool [N].

Keeping per-box fields aligned when boxes are dropped: on the albumentations path the
row index of every box travels as a fifth bbox column, so ``labels``, ``iscrowd`` and
``difficult`` are gathered from the surviving rows exactly. On the torchvision path the
transform itself must keep them aligned (``SanitizeBoundingBoxes`` filters ``labels``;
pass a ``labels_getter`` returning ``(labels, difficult, iscrowd)`` to filter all three).
If it did not and a field has the wrong length, a field that was constant (all ``False``
``difficult``, all-zero ``iscrowd``: the usual training case) is refilled with that
constant; otherwise a ``ValueError`` explains the fix. Nothing is silently misaligned.

Instance masks (``target["masks"]``, uint8 ``[N, H, W]``, one per box, when the dataset
was built with ``masks=True``) go through the same transform as the image: on the
albumentations path as its ``masks`` target (a list of HxW arrays), gathered with the
surviving rows like ``labels``; on the torchvision path as a ``tv_tensors.Mask``, which
``SanitizeBoundingBoxes`` filters with the boxes. Either way they come back as a plain
uint8 tensor of the output image's size, aligned with the boxes, or a ``ValueError``
says why they cannot be.

Extra outputs are kept: ``applied_transforms`` of an albumentations ``Compose(...,
save_applied_params=True)`` goes to ``target["applied_transforms"]``, and any extra key a
torchvision-v2 transform adds to the target (e.g. ``erasing_plan``) is kept as is.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import torch

__all__ = ["apply_transforms", "is_albumentations", "to_float_image"]

_PER_BOX = ("labels", "iscrowd", "difficult")


def is_albumentations(transform: Any) -> bool:
    """Return True if ``transform`` is an albumentations transform or pipeline.

    Args:
        transform: Any object.

    Returns:
        Whether it is an instance of albumentations' ``BaseCompose`` or ``BasicTransform``.

    Examples:
        >>> import albumentations as A
        >>> is_albumentations(A.HorizontalFlip()), is_albumentations(lambda i, t: (i, t))
        (True, False)
    """
    try:
        from albumentations.core.composition import BaseCompose
        from albumentations.core.transforms_interface import BasicTransform
    except ImportError:  # pragma: no cover - albumentations is a dependency
        return False
    return isinstance(transform, (BaseCompose, BasicTransform))


def to_float_image(image: Any) -> torch.Tensor:
    """Convert an image (PIL, HWC numpy, CHW tensor) to a float32 CHW tensor in [0, 1].

    Args:
        image: A PIL image, an HWC numpy array (uint8 or float in [0, 1]), or a CHW
            tensor (uint8 or floating point, possibly a ``tv_tensors.Image``).

    Returns:
        A plain float32 tensor of shape [C, H, W].

    Raises:
        TypeError: For any other input type.

    Examples:
        >>> to_float_image(np.full((2, 3, 3), 255, np.uint8)).shape
        torch.Size([3, 2, 3])
        >>> float(to_float_image(np.full((2, 3, 3), 255, np.uint8)).max())
        1.0
    """
    from PIL import Image

    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    if isinstance(image, np.ndarray):
        if image.ndim == 2:
            image = image[:, :, None]
        t = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
    elif isinstance(image, torch.Tensor):
        t = image.as_subclass(torch.Tensor)
    else:
        raise TypeError(f"unsupported image type {type(image).__name__}")
    if t.dtype == torch.uint8:
        return t.to(torch.float32).div_(255.0)
    return t.to(torch.float32)


def _box_area(boxes: torch.Tensor) -> torch.Tensor:
    if boxes.numel() == 0:
        return torch.zeros((0,), dtype=torch.float32)
    return ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).to(torch.float32)


def _mask_array(masks: Any, n: int, size_hw: Tuple[int, int]) -> np.ndarray:
    """``target["masks"]`` as uint8 ``[n, H, W]`` for the image's size, or a ValueError."""
    arr = np.asarray(masks.numpy() if isinstance(masks, torch.Tensor) else masks)
    if arr.shape != (n, *size_hw):
        raise ValueError(
            f"target['masks'] has shape {tuple(arr.shape)}, expected [{n}, {size_hw[0]}, "
            f"{size_hw[1]}]: one mask of the image's size per box"
        )
    return arr.astype(np.uint8, copy=False)


def _albumentations_fields(transform: Any) -> Tuple[str, ...]:
    processors = getattr(transform, "processors", None) or {}
    proc = processors.get("bboxes")
    if proc is None:
        raise ValueError(
            "the albumentations pipeline has no bbox_params; detection datasets need "
            "A.Compose([...], bbox_params=A.BboxParams(format='pascal_voc', "
            "label_fields=['labels'])) so that boxes follow the image"
        )
    fmt = proc.params.format
    if fmt != "pascal_voc":
        raise ValueError(
            f"bbox_params.format must be 'pascal_voc' (absolute xyxy pixels), got {fmt!r}"
        )
    fields = tuple(proc.params.label_fields or ())
    unknown = [f for f in fields if f not in _PER_BOX]
    if unknown:
        raise ValueError(
            f"bbox_params.label_fields {list(fields)} contains {unknown}; detaug datasets "
            f"provide only {list(_PER_BOX)}"
        )
    return fields


def _apply_albumentations(transform, image_np, target):
    fields = _albumentations_fields(transform) if hasattr(transform, "processors") else None
    if fields is None:
        raise ValueError(
            "a bare albumentations transform cannot move boxes; wrap it in "
            "A.Compose([...], bbox_params=A.BboxParams(format='pascal_voc', "
            "label_fields=['labels']))"
        )
    boxes = target["boxes"].numpy().astype(np.float32)
    n = boxes.shape[0]
    bboxes = np.concatenate([boxes, np.arange(n, dtype=np.float32)[:, None]], axis=1)
    kwargs = {f: target[f].numpy() for f in fields}
    if "masks" in target:
        kwargs["masks"] = list(_mask_array(target["masks"], n, image_np.shape[:2]))
    out = transform(image=image_np, bboxes=bboxes, **kwargs)
    new = np.asarray(out["bboxes"], dtype=np.float32).reshape(-1, bboxes.shape[1])
    keep = torch.as_tensor(np.rint(new[:, 4]).astype(np.int64))
    result = dict(target)
    result["boxes"] = torch.as_tensor(new[:, :4].copy(), dtype=torch.float32)
    for key in _PER_BOX:
        result[key] = target[key][keep]
    if "masks" in target:
        h, w = np.asarray(out["image"]).shape[:2]
        masks = np.zeros((n, h, w), np.uint8) if n == 0 else np.stack(out["masks"]).astype(np.uint8)
        result["masks"] = torch.from_numpy(masks)[keep]
    result["area"] = _box_area(result["boxes"])
    if "applied_transforms" in out:
        result["applied_transforms"] = out["applied_transforms"]
    return to_float_image(out["image"]), result


def _apply_torchvision(transform, image_np, target):
    from torchvision import tv_tensors

    h, w = image_np.shape[:2]
    image = tv_tensors.Image(torch.from_numpy(np.ascontiguousarray(image_np.transpose(2, 0, 1))))
    tv_target = dict(target)
    tv_target["boxes"] = tv_tensors.BoundingBoxes(
        target["boxes"], format="XYXY", canvas_size=(h, w)
    )
    if "masks" in target:
        tv_target["masks"] = tv_tensors.Mask(torch.from_numpy(_mask_array(target["masks"], len(target["boxes"]), (h, w))))
    out_image, out = transform(image, tv_target)
    result = dict(out)
    boxes = torch.as_tensor(out["boxes"]).as_subclass(torch.Tensor).to(torch.float32)
    result["boxes"] = boxes.reshape(-1, 4)
    n = result["boxes"].shape[0]
    if "masks" in target:
        result["masks"] = torch.as_tensor(out["masks"]).as_subclass(torch.Tensor).to(torch.uint8)
        if result["masks"].shape[0] != n:
            raise ValueError(
                f"the torchvision transform left {n} boxes but {result['masks'].shape[0]} masks; "
                "filter masks with the boxes (v2.SanitizeBoundingBoxes does it for a tv_tensors.Mask)"
            )
    for key in _PER_BOX:
        value = torch.as_tensor(out[key]).as_subclass(torch.Tensor)
        if value.shape[0] != n:
            original = target[key]
            if original.numel() > 0 and bool((original == original[0]).all()):
                value = original[:1].expand(n).clone()
            elif original.numel() == 0:
                value = original.new_zeros((n,))
            else:
                raise ValueError(
                    f"the torchvision transform left {n} boxes but {value.shape[0]} "
                    f"{key!r} entries; filter it with the boxes, e.g. "
                    "v2.SanitizeBoundingBoxes(labels_getter=lambda s: (s[1]['labels'], "
                    "s[1]['difficult'], s[1]['iscrowd']))"
                )
        result[key] = value
    result["area"] = _box_area(result["boxes"])
    return to_float_image(out_image), result


def apply_transforms(
    transforms: Optional[Callable], image_np: np.ndarray, target: Dict[str, Any]
) -> Tuple[torch.Tensor, Dict[str, Any]]:
    """Apply an albumentations or torchvision-v2 transform to an image and its target.

    Args:
        transforms: ``None``, an albumentations pipeline with pascal_voc ``bbox_params``,
            or a torchvision-v2 style callable ``(image, target) -> (image, target)``.
        image_np: The image, HWC uint8 RGB numpy array.
        target: Target dict with tensors ``boxes`` (float32 [N, 4] xyxy, 0-based
            continuous pixels), ``labels``, ``iscrowd``, ``difficult`` and any other keys.

    Returns:
        ``(image, target)``: a float32 CHW tensor in [0, 1] and a target of plain tensors,
        per-box fields aligned with the surviving boxes (see the module docstring).

    Raises:
        ValueError: If an albumentations pipeline lacks pascal_voc ``bbox_params``, or a
            torchvision transform misaligns a non-constant per-box field.

    Examples:
        >>> import albumentations as A
        >>> t = {"boxes": torch.tensor([[0., 0., 2., 1.]]), "labels": torch.tensor([1]),
        ...      "iscrowd": torch.tensor([0]), "difficult": torch.tensor([False]),
        ...      "image_id": 0, "area": torch.tensor([2.])}
        >>> flip = A.Compose([A.HorizontalFlip(p=1)],
        ...     bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]))
        >>> img, out = apply_transforms(flip, np.zeros((4, 4, 3), np.uint8), t)
        >>> out["boxes"].tolist(), img.dtype
        ([[2.0, 0.0, 4.0, 1.0]], torch.float32)
    """
    if transforms is None:
        return to_float_image(image_np), target
    if is_albumentations(transforms):
        return _apply_albumentations(transforms, image_np, target)
    return _apply_torchvision(transforms, image_np, target)
