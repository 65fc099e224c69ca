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

from detaug._lazy import lazy_exports
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


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)


if "albumentations" in sys.modules:  # cheap now: register the transform for A.from_dict
    importlib.import_module("detaug.adapters.albumentations")
