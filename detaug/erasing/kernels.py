"""Kernels: apply an erase plan to numpy (HW / HWC) or torch (..., H, W) images.

Kernels are pure: they copy their input unless ``inplace=True``, and the random fill
values come from the plan's seed, so applying a plan twice gives the same pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np

from detaug.erasing.params import normalize_fill
from detaug.erasing.plan import ErasePlan, Fill

if TYPE_CHECKING:  # pragma: no cover
    import torch

_COLOR_FILLS = ("random_color", "random_color_normal")
_NORMAL_FILLS = ("random_normal", "random_color_normal")


def _check_plan(plan: ErasePlan, height: int, width: int) -> None:
    if len(plan) and tuple(plan.image_size) != (height, width):
        raise ValueError(f"the plan was drawn for an image of (height, width) {plan.image_size}, got {(height, width)}")


def _constant_values(fill: Fill, channels: int) -> np.ndarray:
    values = np.atleast_1d(np.asarray(fill, dtype=np.float64))
    if len(values) not in (1, channels):
        raise ValueError(
            f"fill has {len(values)} values but the image has {channels} channel(s); "
            "give one value or one per channel"
        )
    return values


def _check_normal_fill(fill: Fill, is_float: bool, dtype: Any) -> None:
    if fill in _NORMAL_FILLS and not is_float:
        raise TypeError(f"fill={fill!r} draws N(0, 1) values and needs a floating-point image, got dtype {dtype}")


# --------------------------------------------------------------------------- numpy


def _np_uniform(rng: np.random.Generator, shape: tuple, dtype: np.dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, 0), info.max, size=shape, dtype=dtype, endpoint=True)
    if dtype == np.bool_:
        return rng.integers(0, 1, size=shape, endpoint=True).astype(bool)
    if dtype in (np.float32, np.float64):
        return rng.random(size=shape, dtype=dtype)
    return rng.random(size=shape, dtype=np.float32).astype(dtype)


def _np_cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype)


def erase_array(
    image: np.ndarray,
    plan: ErasePlan,
    fill: Optional[Fill] = None,
    inplace: bool = False,
) -> np.ndarray:
    """Erase the plan's regions of a numpy image of shape ``(H, W)`` or ``(H, W, C)``.

    Args:
        image: the image, any numeric dtype (random fills span ``[0, 255]`` for uint8,
            ``[0, max]`` for other integers, ``[0, 1)`` for floats).
        plan: the regions, drawn for an image of this height and width.
        fill: overrides ``plan.fill`` (masks use this with ``fill_mask``). Default None.
        inplace: write into ``image`` instead of a copy. Default False.

    Returns:
        The erased image (a copy unless ``inplace``), same shape and dtype.

    Raises:
        ValueError: the plan was drawn for another size, or a per-channel fill does not
            match the number of channels.
        TypeError: a normal-distribution fill on an integer image.

    Examples:
        >>> plan = ErasePlan(np.array([[1, 0, 3, 2]]), np.array([-1]), fill=7, image_size=(3, 4))
        >>> erase_array(np.zeros((3, 4), np.uint8), plan)
        array([[0, 7, 7, 0],
               [0, 7, 7, 0],
               [0, 0, 0, 0]], dtype=uint8)
    """
    fill = plan.fill if fill is None else normalize_fill(fill)
    out = image if inplace else image.copy()
    if len(plan) == 0:
        return out
    if image.ndim not in (2, 3):
        raise ValueError(f"expected an image of shape (H, W) or (H, W, C), got shape {image.shape}")
    _check_plan(plan, image.shape[0], image.shape[1])
    channels = 1 if image.ndim == 2 else image.shape[2]
    dtype = image.dtype
    if isinstance(fill, str):
        _check_normal_fill(fill, np.issubdtype(dtype, np.floating), dtype)
        rng = np.random.default_rng(plan.seed)
        colors = None
        if fill == "random_color":
            colors = _np_uniform(rng, (len(plan), channels), dtype)
        elif fill == "random_color_normal":
            colors = rng.standard_normal((len(plan), channels)).astype(dtype)
        for k, (x1, y1, x2, y2) in enumerate(plan.rects):
            if colors is not None:
                values = colors[k] if image.ndim == 3 else colors[k, 0]
            else:
                shape = (y2 - y1, x2 - x1) + image.shape[2:]
                if fill == "random":
                    values = _np_uniform(rng, shape, dtype)
                else:  # random_normal
                    values = rng.standard_normal(size=shape, dtype=np.float32).astype(dtype, copy=False)
            out[y1:y2, x1:x2] = values
    else:
        values = _np_cast(_constant_values(fill, channels), dtype)
        value = values[0] if len(values) == 1 or image.ndim == 2 else values
        for x1, y1, x2, y2 in plan.rects:
            out[y1:y2, x1:x2] = value
    return out


# --------------------------------------------------------------------------- torch


def _torch_uniform(shape: tuple, dtype: "torch.dtype", device: Any, generator: "torch.Generator") -> "torch.Tensor":
    import torch

    if dtype.is_floating_point:
        return torch.rand(shape, dtype=dtype, device=device, generator=generator)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, device=device, generator=generator).bool()
    high = torch.iinfo(dtype).max
    return torch.randint(0, high + 1, shape, dtype=dtype, device=device, generator=generator)


def erase_tensor(
    image: "torch.Tensor",
    plan: ErasePlan,
    fill: Optional[Fill] = None,
    inplace: bool = False,
) -> "torch.Tensor":
    """Erase the plan's regions of a tensor of shape ``(H, W)``, ``(C, H, W)`` or ``(..., C, H, W)``.

    The same regions are erased in every leading (batch) index. Random values come
    from a ``torch.Generator`` on the tensor's device seeded by the plan.

    Args:
        image: the image tensor, any dtype, on any device.
        plan: the regions, drawn for an image of this height and width.
        fill: overrides ``plan.fill``. Default None.
        inplace: write into ``image`` instead of a clone. Default False.

    Returns:
        The erased tensor (a clone unless ``inplace``).

    Raises:
        ValueError: the plan was drawn for another size, or a per-channel fill does not
            match the number of channels.
        TypeError: a normal-distribution fill on an integer tensor.

    Examples:
        >>> import torch
        >>> plan = ErasePlan(np.array([[0, 0, 2, 1]]), np.array([-1]), fill=(1.0, 2.0), image_size=(2, 3))
        >>> erase_tensor(torch.zeros(2, 2, 3), plan)[:, 0]
        tensor([[1., 1., 0.],
                [2., 2., 0.]])
    """
    import torch

    fill = plan.fill if fill is None else normalize_fill(fill)
    out = image if inplace else image.clone()
    if len(plan) == 0:
        return out
    if image.ndim < 2:
        raise ValueError(f"expected a tensor of shape (..., H, W), got shape {tuple(image.shape)}")
    _check_plan(plan, image.shape[-2], image.shape[-1])
    channels = image.shape[-3] if image.ndim >= 3 else 1
    lead = tuple(image.shape[:-2])
    dtype, device = image.dtype, image.device
    if isinstance(fill, str):
        _check_normal_fill(fill, dtype.is_floating_point, dtype)
        generator = torch.Generator(device=device)
        generator.manual_seed(plan.seed)
        colors = None
        if fill == "random_color":
            colors = _torch_uniform((len(plan), channels), dtype, device, generator)
        elif fill == "random_color_normal":
            colors = torch.randn((len(plan), channels), dtype=dtype, device=device, generator=generator)
        for k, (x1, y1, x2, y2) in enumerate(plan.rects.tolist()):
            if colors is not None:
                values = colors[k].reshape(-1, 1, 1) if image.ndim >= 3 else colors[k, 0]
            elif fill == "random":
                values = _torch_uniform(lead + (y2 - y1, x2 - x1), dtype, device, generator)
            else:
                values = torch.randn(lead + (y2 - y1, x2 - x1), dtype=dtype, device=device, generator=generator)
            out[..., y1:y2, x1:x2] = values
    else:
        values = _constant_values(fill, channels)
        if not dtype.is_floating_point and dtype != torch.bool:
            info = torch.iinfo(dtype)
            values = np.clip(np.rint(values), info.min, info.max)
        value = torch.as_tensor(values, dtype=dtype, device=device)
        value = value.reshape(-1, 1, 1) if image.ndim >= 3 and len(values) > 1 else value[0]
        for x1, y1, x2, y2 in plan.rects.tolist():
            out[..., y1:y2, x1:x2] = value
    return out


def apply_plan(
    image: Union[np.ndarray, "torch.Tensor"],
    plan: ErasePlan,
    fill: Optional[Fill] = None,
    inplace: bool = False,
) -> Union[np.ndarray, "torch.Tensor"]:
    """Apply a plan to a numpy HW(C) array or a torch (..., H, W) tensor.

    Args:
        image: numpy array (``(H, W)`` or ``(H, W, C)``) or torch tensor (``(..., H, W)``).
        plan: the regions to erase.
        fill: overrides ``plan.fill``. Default None.
        inplace: write into ``image``. Default False.

    Returns:
        The erased image, of the input's type.

    Examples:
        >>> plan = ErasePlan.empty((2, 2))
        >>> img = np.ones((2, 2, 3), np.float32)
        >>> out = apply_plan(img, plan)
        >>> out is img, bool((out == img).all())
        (False, True)
    """
    if isinstance(image, np.ndarray):
        return erase_array(image, plan, fill=fill, inplace=inplace)
    return erase_tensor(image, plan, fill=fill, inplace=inplace)
