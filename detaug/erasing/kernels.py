"""Kernels: apply an erase plan to numpy (HW / HWC) or torch (..., H, W) images.

Kernels are pure: they copy their input unless ``inplace=True``, and the random fill
values come from the plan's seed, so applying a plan twice gives the same pixels.
"""

from __future__ import annotations

import functools
import math
import threading
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

_MASK64 = (1 << 64) - 1
_LOCAL = threading.local()


def _splitmix64(x: int) -> int:
    """One step of SplitMix64 (Steele et al. 2014): a well-mixed 64-bit value from any integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def seeded_generator(seed: int, slot: str = "fill") -> np.random.Generator:
    """A numpy Generator determined by ``seed``, cheap to derive (about 1 us).

    ``np.random.default_rng(seed)`` costs about 8 us (SeedSequence hashing), more than
    the fill of a small region. Instead one PCG64 per thread and per ``slot`` is
    re-seeded by setting its 128-bit state to a SplitMix64 hash of the seed. Same seed,
    same stream. The generator is reused by the next call with the same slot in this
    thread: draw from it before calling again (the kernels use ``"fill"``, the
    torchvision front-end ``"sampling"``).

    Examples:
        >>> a = seeded_generator(7).integers(0, 100, 3).tolist()
        >>> b = seeded_generator(7).integers(0, 100, 3).tolist()
        >>> a == b, a == seeded_generator(8).integers(0, 100, 3).tolist()
        (True, False)
    """
    cache = getattr(_LOCAL, "generators", None)
    if cache is None:
        cache = _LOCAL.generators = {}
    cached = cache.get(slot)
    if cached is None:
        bit_generator = np.random.PCG64(0)
        cached = cache[slot] = (bit_generator, np.random.Generator(bit_generator), bit_generator.state)
    bit_generator, generator, state = cached
    seed = int(seed) & _MASK64
    inner = state["state"]
    inner["state"] = (_splitmix64(seed) << 64) | _splitmix64(seed ^ 0x5DEECE66D)
    inner["inc"] = 0xDA3E39CB94B95BDB  # any odd constant: the stream of every seed
    state["has_uint32"], state["uinteger"] = 0, 0
    bit_generator.state = state
    return generator


def _np_uniform(rng: np.random.Generator, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """Uniform values over the dtype's range ([0, max] for integers, [0, 1) for floats)."""
    if dtype.kind == "u":
        # Every bit pattern of an unsigned integer is one value of [0, max]: raw random
        # bits are exactly uniform, and much cheaper than integers() (bounded draws).
        count = math.prod(shape)
        words = -(-count * dtype.itemsize // 8)
        raw = rng.integers(0, 1 << 64, size=words, dtype=np.uint64)
        return raw.view(dtype)[:count].reshape(shape)
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


@functools.cache
def _int_range(dtype: np.dtype) -> tuple:
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _scalar_cast(value: float, dtype: np.dtype) -> Any:
    """``_np_cast`` for one value, in plain Python (no numpy calls on a 1-element array)."""
    if dtype.kind in "iu":
        low, high = _int_range(dtype)
        return min(max(round(value), low), high)  # round() is half-to-even, as np.rint
    if dtype.kind == "b":
        return bool(value)
    return value


def _fill_rows(out: np.ndarray, rects: list, values: np.ndarray) -> None:
    """Write one value per channel into each rect of an HWC image.

    Assigning a ``[C]`` vector broadcasts with an inner loop of C elements (slow); a
    ``[width, C]`` row template lets numpy copy ``width * C`` contiguous values per row.
    """
    max_width = max(x2 - x1 for x1, _, x2, _ in rects)
    row = np.empty((max_width, values.shape[-1]), out.dtype)
    row[:] = values
    for x1, y1, x2, y2 in rects:
        out[y1:y2, x1:x2] = row[: x2 - x1]


def erase_array(
    image: np.ndarray,
    plan: ErasePlan,
    fill: Optional[Fill] = None,
    inplace: bool = False,
) -> np.ndarray:
    """Erase the plan's regions of a numpy image of shape ``(H, W)`` or ``(H, W, C)``.

    Random fills of all regions are drawn in one call from a generator determined by
    ``plan.seed`` (regions in plan order, row-major inside each region).

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
    rects = plan.rects.tolist()
    if isinstance(fill, str):
        _check_normal_fill(fill, dtype.kind == "f", dtype)
        rng = seeded_generator(plan.seed)
        if fill in _COLOR_FILLS:
            if fill == "random_color":
                colors = _np_uniform(rng, (len(rects), channels), dtype)
            else:
                colors = rng.standard_normal((len(rects), channels)).astype(dtype)
            if image.ndim == 2 or channels == 1:
                for (x1, y1, x2, y2), color in zip(rects, colors[:, 0].tolist()):
                    out[y1:y2, x1:x2] = color
            else:
                for rect, color in zip(rects, colors):
                    _fill_rows(out, [rect], color)
            return out
        sizes = [(y2 - y1) * (x2 - x1) * channels for x1, y1, x2, y2 in rects]
        if fill == "random":
            values = _np_uniform(rng, (sum(sizes),), dtype)
        else:  # random_normal
            values = rng.standard_normal(size=sum(sizes), dtype=np.float32).astype(dtype, copy=False)
        start = 0
        for (x1, y1, x2, y2), size in zip(rects, sizes):
            out[y1:y2, x1:x2] = values[start : start + size].reshape((y2 - y1, x2 - x1) + image.shape[2:])
            start += size
        return out
    if isinstance(fill, float) or image.ndim == 2 or channels == 1:
        value = _scalar_cast(float(_constant_values(fill, channels)[0]), dtype)
        for x1, y1, x2, y2 in rects:
            out[y1:y2, x1:x2].fill(value)
        return out
    values = _np_cast(_constant_values(fill, channels), dtype)
    if (values == values[0]).all():
        value = values[0].item()
        for x1, y1, x2, y2 in rects:
            out[y1:y2, x1:x2].fill(value)
    else:
        _fill_rows(out, rects, values)
    return out


# --------------------------------------------------------------------------- torch


def _torch_uniform(shape: tuple, dtype: torch.dtype, device: Any, generator: torch.Generator) -> torch.Tensor:
    import torch

    if dtype.is_floating_point:
        return torch.rand(shape, dtype=dtype, device=device, generator=generator)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, device=device, generator=generator).bool()
    high = torch.iinfo(dtype).max
    return torch.randint(0, high + 1, shape, dtype=dtype, device=device, generator=generator)


def erase_tensor(
    image: torch.Tensor,
    plan: ErasePlan,
    fill: Optional[Fill] = None,
    inplace: bool = False,
) -> torch.Tensor:
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
        if len(values) == 1 or image.ndim < 3 or (values == values[0]).all():
            scalar = values[0].item()
            scalar = bool(scalar) if dtype == torch.bool else (scalar if dtype.is_floating_point else int(scalar))
            for x1, y1, x2, y2 in plan.rects.tolist():
                out[..., y1:y2, x1:x2].fill_(scalar)
            return out
        value = torch.as_tensor(values, dtype=dtype, device=device).reshape(-1, 1, 1)
        for x1, y1, x2, y2 in plan.rects.tolist():
            out[..., y1:y2, x1:x2] = value
    return out


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
