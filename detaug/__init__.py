"""detaug: box-aware Random Erasing (IRE, ORE, I+ORE) for object detection.

``detaug.BoxAwareRandomErasing`` is the albumentations transform;
``detaug.tv.BoxAwareRandomErasing`` the torchvision-v2 one; both share the core in
:mod:`detaug.erasing` (sampling a plan, then applying it).

Names are imported on first use, so ``import detaug`` (and every command's ``--help``)
does not pay for albumentations or torch until they are needed. ``A.from_dict`` finds
detaug's transform once it is registered: by any use of ``detaug.BoxAwareRandomErasing``,
by ``import detaug.adapters.albumentations``, or by ``import detaug`` after albumentations.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from detaug._version import __version__

_EXPORTS = {
    "BoxAwareRandomErasing": "detaug.adapters.albumentations",
    "BatchedBoxAwareRandomErasing": "detaug.adapters.batched",
    "IMAGE_LEVEL": "detaug.erasing",
    "MODES": "detaug.erasing",
    "ErasePlan": "detaug.erasing",
    "ErasingParams": "detaug.erasing",
    "apply_plan": "detaug.erasing",
    "box_visibility": "detaug.erasing",
    "erase_batch": "detaug.erasing",
    "sample_plan": "detaug.erasing",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'detaug' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if "albumentations" in sys.modules:  # cheap now: register the transform for A.from_dict
    importlib.import_module("detaug.adapters.albumentations")


def __dir__() -> list:
    return sorted(set(globals()) | set(_EXPORTS))
