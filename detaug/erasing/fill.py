"""Fills: the values written into erased regions, one small function per kind.

Every kernel (numpy arrays, torch tensors, the batched path) takes its values from here:
:func:`resolve_fill` checks a fill against the image's dtype and channels once, and
:func:`region_values` draws one region's values from the plan's generator
(:func:`fill_generator`). Values are drawn in ``(..., h, w, C)`` order whatever the image
layout, so a numpy HWC image and a torch CHW image on the CPU erased with the same plan get
the same pixels. Tensors on an accelerator draw their random values there
(:func:`torch_region_values`): the same regions, other values.

Constants are given in the image's units (0-255 for uint8, a fraction for float images);
one that the dtype cannot hold (-1 or 300 for uint8, 1e300 for float32) is a ValueError,
never a silent clip or an ``inf``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Optional, Tuple, Union

import numpy as np

from detaug.erasing.params import normalize_fill
from detaug.erasing.plan import Fill

#: Fills drawn once per region (one colour) rather than per pixel.
COLOR_FILLS = ("random_color", "random_color_normal")
#: Fills drawn from N(0, 1): they need a floating-point image.
NORMAL_FILLS = ("random_normal", "random_color_normal")


@dataclass(frozen=True)
class ResolvedFill:
    """A fill checked against one image: a random kind, or a constant per channel in the image's dtype."""

    kind: str  # "constant" or a name from RANDOM_FILLS
    dtype: np.dtype
    channels: int
    #: a scalar of ``dtype`` when every channel gets the same value (numpy fills a region
    #: with a scalar several times faster than with a per-channel vector), else ``[C]``
    constant: Optional[np.ndarray] = None


def value_range(dtype: np.dtype) -> Tuple[float, float]:
    """The values ``dtype`` holds: ``(min, max)``; ``(0, 1)`` for bool.

    Examples:
        >>> value_range(np.dtype(np.uint8)), value_range(np.dtype(np.bool_))
        ((0, 255), (0, 1))
    """
    if dtype.kind == "b":
        return 0, 1
    if dtype.kind in "iu":
        return int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)
    return float(np.finfo(dtype).min), float(np.finfo(dtype).max)


def resolve_fill(fill: Fill, dtype: Union[np.dtype, type], channels: int) -> ResolvedFill:
    """Check ``fill`` for an image of ``dtype`` with ``channels`` channels (remembered: the
    same fill on the same kind of image is checked once; a constant takes 18 us to check).

    Raises:
        ValueError: a per-channel constant of the wrong length, or a constant outside
            the dtype's range (naming both).
        TypeError: a normal-distribution fill on a non-float image.

    Examples:
        >>> resolve_fill((124, 116.4, 104), np.uint8, 3).constant.tolist(), resolve_fill(0, np.uint8, 3).constant
        ([124, 116, 104], np.uint8(0))
        >>> resolve_fill(300, np.uint8, 3)
        Traceback (most recent call last):
        ...
        ValueError: fill 300.0 is outside the range of uint8 [0, 255]; give constants in the image's units
    """
    dtype = np.dtype(dtype)
    plain = type(fill) in (str, float, int) or (type(fill) is tuple and all(type(v) in (float, int) for v in fill))
    if plain:  # remembered by its repr too: True is not 1 and -0.0 is not 0.0 here, though they hash alike
        return _resolve_remembered(repr(fill), fill, dtype, int(channels))
    return _resolve(fill, dtype, int(channels))


@functools.lru_cache(maxsize=64)
def _resolve_remembered(key: str, fill: Fill, dtype: np.dtype, channels: int) -> ResolvedFill:
    return _resolve(fill, dtype, channels)


def _resolve(fill: Fill, dtype: np.dtype, channels: int) -> ResolvedFill:
    fill = normalize_fill(fill)
    if isinstance(fill, str):
        if fill in NORMAL_FILLS and dtype.kind != "f":
            raise TypeError(f"fill={fill!r} draws N(0, 1) values and needs a floating-point image, got dtype {dtype}")
        return ResolvedFill(fill, dtype, channels)
    values = (fill,) if isinstance(fill, float) else fill  # plain Python: a handful of numbers
    if len(values) not in (1, channels):
        raise ValueError(f"fill has {len(values)} values but the image has {channels} channel(s); give one value or one per channel")
    if dtype.kind in "iub":
        values = tuple(float(round(v)) for v in values)  # half to even, as the authors' round()
    low, high = value_range(dtype)
    if not all(low <= v <= high for v in values):
        raise ValueError(f"fill {fill} is outside the range of {dtype} [{low:g}, {high:g}]; give constants in the image's units")
    constant = np.array(values, dtype)
    constant.setflags(write=False)  # shared by every image that gets this fill
    return ResolvedFill("constant", dtype, channels, constant[0] if len(set(values)) == 1 else constant)


def fill_generator(seed: int) -> np.random.Generator:
    """The stream of a plan's random fill values, from its seed: numpy's SFC64, whose raw words
    come about 1.35x as fast as the default PCG64's in a loop of their own (a random fill is
    mostly raw words; inside a training pipeline the difference was within the noise:
    docs/benchmarks.md).

    Examples:
        >>> bool(fill_generator(7).random() == fill_generator(7).random())
        True
    """
    return np.random.Generator(np.random.SFC64(seed))


def uniform_values(rng: np.random.Generator, shape: Tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Uniform over the dtype's non-negative range: [0, max] for integers, {0, 1} for bool, [0, 1) for floats."""
    if dtype.kind == "u":  # every bit pattern is a value of [0, max]: random 64-bit words are exactly uniform
        count = math.prod(shape)
        words = rng.bit_generator.random_raw(-(-count * dtype.itemsize // 8))  # uint64, as integers(0, 2**64)
        return words.view(dtype)[:count].reshape(shape)
    if dtype.kind == "i":
        return rng.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype, endpoint=True)
    if dtype.kind == "b":
        return rng.integers(0, 1, size=shape, endpoint=True).astype(bool)
    return rng.random(size=shape, dtype=np.float64 if dtype == np.float64 else np.float32).astype(dtype, copy=False)


def normal_values(rng: np.random.Generator, shape: Tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Standard normal values (float images only: :func:`resolve_fill` checks that)."""
    return rng.standard_normal(size=shape, dtype=np.float64 if dtype == np.float64 else np.float32).astype(dtype, copy=False)


def region_values(fill: ResolvedFill, rng: np.random.Generator, lead: Tuple[int, ...], height: int, width: int) -> np.ndarray:
    """The values of one region, broadcastable to ``(*lead, height, width, C)``.

    ``lead`` holds leading dimensions that get their own random values (a video's
    frames); a constant or one colour per region is shared by all of them.
    """
    channels = (fill.channels,)
    if fill.kind == "constant":
        return fill.constant
    if fill.kind == "random":
        return uniform_values(rng, (*lead, height, width, *channels), fill.dtype)
    if fill.kind == "random_normal":
        return normal_values(rng, (*lead, height, width, *channels), fill.dtype)
    if fill.kind == "random_color":
        return uniform_values(rng, channels, fill.dtype)
    return normal_values(rng, channels, fill.dtype)  # random_color_normal


# --------------------------------------------------------------------------- torch, on an accelerator
#
# Drawing on the CPU and copying cost a batch of 8 800x1216 images 64.7 ms per batch on an
# H200 for per-pixel normal noise (timm, drawing on the GPU: 0.44 ms; benchmarks/gpu/), so
# values for tensors on an accelerator are drawn there, from a torch Generator seeded by the
# plan: the same regions, other random values than on the CPU.


def torch_region_values(fill: ResolvedFill, generator: Any, dtype: Any, shape: Tuple[int, ...]) -> Any:
    """The values of one region as a tensor on the generator's device, broadcastable to
    ``shape = (*lead, C, h, w)`` (constants are handled by the caller)."""
    if fill.kind in COLOR_FILLS:
        shape = (shape[-3], 1, 1) if len(shape) >= 3 else (1, 1)
    return torch_random(fill.kind, generator, dtype, shape)


def torch_random(kind: str, generator: Any, dtype: Any, shape: Tuple[int, ...]) -> Any:
    """Random values of a fill ``kind`` (from :data:`~detaug.erasing.plan.RANDOM_FILLS`) as a
    tensor of ``shape`` and ``dtype`` on the generator's device, drawn in one call."""
    import torch

    device = generator.device
    if kind in NORMAL_FILLS:
        return torch.randn(shape, generator=generator, device=device, dtype=dtype)
    if dtype.is_floating_point:
        return torch.rand(shape, generator=generator, device=device, dtype=dtype)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=generator, device=device).bool()
    high = min(torch.iinfo(dtype).max + 1, 2**63 - 1)  # [0, max] (int64: [0, max - 1])
    return torch.randint(0, high, shape, generator=generator, device=device, dtype=dtype)
