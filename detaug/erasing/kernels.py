"""Kernels: apply an erase plan to a numpy (H, W[, C]) array or a torch (..., H, W) tensor.

Kernels are pure: they copy their input unless ``inplace=True``. Values come from
:mod:`detaug.erasing.fill`, drawn from :func:`~detaug.erasing.fill.fill_generator` seeded by
``plan.seed`` (regions in plan order), so applying a plan twice gives the same pixels, and
a numpy HWC image and a torch CHW image get the same pixels for the same plan.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Optional, Union

import numpy as np

from detaug.erasing.fill import ResolvedFill, fill_generator, region_values, resolve_fill, torch_region_values
from detaug.erasing.plan import ErasePlan, Fill

if TYPE_CHECKING:  # pragma: no cover
    import torch


def _check_size(plan: ErasePlan, height: int, width: int) -> None:
    if len(plan) and tuple(plan.image_size) != (height, width):
        raise ValueError(f"the plan was drawn for an image of (height, width) {plan.image_size}, got {(height, width)}")


def erase_array(image: np.ndarray, plan: ErasePlan, fill: Optional[Fill] = None, inplace: bool = False) -> np.ndarray:
    """Erase the plan's regions of a numpy image of shape ``(H, W)`` or ``(H, W, C)``.

    Args:
        image: the image, any numeric or bool dtype (random fills span ``[0, 255]`` for
            uint8, ``[0, max]`` for other integers, ``[0, 1)`` for floats).
        plan: the regions, drawn for an image of this height and width.
        fill: overrides ``plan.fill`` (masks use this with ``fill_mask``). Default None.
        inplace: write into ``image`` instead of a copy. Default False.

    Returns:
        The erased image (a copy unless ``inplace``), same shape and dtype.

    Raises:
        ValueError: the plan was drawn for another size; a per-channel fill that does not
            match the channels; a constant outside the dtype's range.
        TypeError: a normal-distribution fill on an integer image.

    Examples:
        >>> plan = ErasePlan(np.array([[1, 0, 3, 2]]), np.array([-1]), fill=7, image_size=(3, 4))
        >>> erase_array(np.zeros((3, 4), np.uint8), plan)
        array([[0, 7, 7, 0],
               [0, 7, 7, 0],
               [0, 0, 0, 0]], dtype=uint8)
    """
    out = image if inplace else image.copy()
    if len(plan) == 0:
        return out
    if image.ndim not in (2, 3):
        raise ValueError(f"expected an image of shape (H, W) or (H, W, C), got shape {image.shape}")
    _check_size(plan, image.shape[0], image.shape[1])
    resolved = resolve_fill(plan.fill if fill is None else fill, image.dtype, 1 if image.ndim == 2 else image.shape[2])
    rng = _fill_generator(plan, resolved)
    for (x1, y1, x2, y2), mask in zip(plan.rects.tolist(), _masks(plan)):
        values = region_values(resolved, rng, (), y2 - y1, x2 - x1)
        values = values if image.ndim == 3 or np.ndim(values) == 0 else values[..., 0]
        if mask is None:
            out[y1:y2, x1:x2] = values
        else:  # erase_within="mask": only the object's pixels of the region
            region = out[y1:y2, x1:x2]
            region[mask] = np.broadcast_to(values, region.shape)[mask]
    return out


def _fill_generator(plan: ErasePlan, resolved: ResolvedFill) -> Optional[np.random.Generator]:
    """The fill's random stream (None for a constant, which needs none)."""
    return None if resolved.kind == "constant" else fill_generator(plan.seed)


def _masks(plan: ErasePlan) -> list:
    """Per region, the pixels to erase (None: all of them)."""
    return list(plan.region_masks) if plan.region_masks is not None else [None] * len(plan)


@functools.cache
def _numpy_dtype(dtype: torch.dtype) -> np.dtype:
    """The numpy dtype whose values a torch dtype gets (bfloat16 and other torch-only floats: float32)."""
    import torch

    try:
        return np.dtype(torch.empty(0, dtype=dtype).numpy().dtype)
    except TypeError:
        return np.dtype(np.float32)


def erase_tensor(image: torch.Tensor, plan: ErasePlan, fill: Optional[Fill] = None, inplace: bool = False) -> torch.Tensor:
    """Erase the plan's regions of a tensor of shape ``(H, W)``, ``(C, H, W)`` or ``(..., C, H, W)``.

    The same regions are erased in every leading (batch) index; per-pixel random fills
    draw their own values for each. On the CPU the values are numpy's, the same as
    :func:`erase_array` gives a HWC array; on an accelerator they are drawn there from a
    torch Generator seeded by the plan (the same regions, other values).

    Args:
        image: the image tensor, any dtype, on any device.
        plan: the regions, drawn for an image of this height and width.
        fill: overrides ``plan.fill``. Default None.
        inplace: write into ``image`` instead of a clone. Default False.

    Returns:
        The erased tensor (a clone unless ``inplace``).

    Raises:
        ValueError: the plan was drawn for another size; a per-channel fill that does not
            match the channels; a constant outside the dtype's range.
        TypeError: a normal-distribution fill on an integer tensor.

    Examples:
        >>> import torch
        >>> plan = ErasePlan(np.array([[0, 0, 2, 1]]), np.array([-1]), fill=(1.0, 2.0), image_size=(2, 3))
        >>> erase_tensor(torch.zeros(2, 2, 3), plan)[:, 0]
        tensor([[1., 1., 0.],
                [2., 2., 0.]])
    """
    import torch

    out = image if inplace else image.clone()
    if len(plan) == 0:
        return out
    if image.ndim < 2:
        raise ValueError(f"expected a tensor of shape (..., H, W), got shape {tuple(image.shape)}")
    _check_size(plan, image.shape[-2], image.shape[-1])
    channels = image.shape[-3] if image.ndim >= 3 else 1
    resolved = resolve_fill(plan.fill if fill is None else fill, _numpy_dtype(image.dtype), channels)
    values_of = _tensor_values(plan, resolved, image)
    for (x1, y1, x2, y2), mask in zip(plan.rects.tolist(), _masks(plan)):
        values = values_of(y2 - y1, x2 - x1)
        region = out[..., y1:y2, x1:x2]
        if mask is None:
            region[...] = values
        else:  # erase_within="mask": only the object's pixels of the region
            region.copy_(torch.where(torch.tensor(mask, device=region.device), values, region))
    return out


def _tensor_values(plan: ErasePlan, resolved: ResolvedFill, image: torch.Tensor):
    """``values(h, w)`` for each region of ``image``, in plan order: a constant, numpy's values
    on the CPU (as :func:`erase_array`), or values drawn on the tensor's accelerator."""
    import torch

    if resolved.kind == "constant":
        constant = _to_layout(resolved.constant, image)
        return lambda h, w: constant
    if image.device.type == "cpu":
        rng, lead = fill_generator(plan.seed), tuple(image.shape[:-3])
        return lambda h, w: _to_layout(region_values(resolved, rng, lead, h, w), image)
    generator = torch.Generator(device=image.device).manual_seed(plan.seed % 2**64)
    lead = tuple(image.shape[:-2])
    return lambda h, w: torch_region_values(resolved, generator, image.dtype, (*lead, h, w))


def _to_layout(values: np.ndarray, image: torch.Tensor) -> Union[torch.Tensor, float, int, bool]:
    """Values drawn as ``(..., h, w, C)`` (or ``(C,)``, or a scalar) -> the image's ``(..., C, h, w)`` layout."""
    import torch

    if np.ndim(values) == 0:  # one value for every channel: a Python scalar fills fastest
        return values.item()
    values = np.ascontiguousarray(values) if values.flags.writeable else values.copy()  # a shared constant: copied
    tensor = torch.from_numpy(values).to(device=image.device, dtype=image.dtype)
    if image.ndim == 2:
        return tensor[..., 0]
    if tensor.ndim == 1:  # one value per channel: broadcast over the region
        return tensor[:, None, None]
    return tensor.movedim(-1, -3)


def apply_plan(
    image: Union[np.ndarray, torch.Tensor],
    plan: ErasePlan,
    fill: Optional[Fill] = None,
    inplace: bool = False,
) -> Union[np.ndarray, torch.Tensor]:
    """Apply a plan to a numpy HW(C) array or a torch (..., H, W) tensor.

    Args:
        image: numpy array (``(H, W)`` or ``(H, W, C)``) or torch tensor (``(..., H, W)``).
        plan: the regions to erase.
        fill: overrides ``plan.fill``. Default None.
        inplace: write into ``image``. Default False.

    Returns:
        The erased image, of the input's type.

    Raises:
        TypeError: an image that is neither a numpy array nor a torch tensor.

    Examples:
        >>> plan = ErasePlan.empty((2, 2))
        >>> img = np.ones((2, 2, 3), np.float32)
        >>> out = apply_plan(img, plan)
        >>> out is img, bool((out == img).all())
        (False, True)
    """
    if isinstance(image, np.ndarray):
        return erase_array(image, plan, fill=fill, inplace=inplace)
    if type(image).__module__.startswith("torch") or hasattr(image, "as_subclass"):
        return erase_tensor(image, plan, fill=fill, inplace=inplace)
    raise TypeError(f"expected a numpy array or a torch tensor, got {type(image).__name__}")
