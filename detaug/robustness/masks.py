"""Each object's pixels in a test image: its instance mask where the dataset has one, its box otherwise.

Where masks come from, in order:

1. ``target["masks"]`` (``[N, H, W]``, aligned with the boxes) when the dataset provides
   it (``VOCDetection`` / ``COCODetection`` with ``masks=True``);
2. the VOC devkit layout next to the images: ``SegmentationObject/<id>.png``, read by
   :meth:`detaug.data.VOCDetection.load_masks` (pixel value ``k`` is the ``k``-th
   ``<object>`` of the XML file; the synthetic set writes it; VOC2007/2012 have it for
   their segmentation subset);
3. the box itself (every pixel of the box is the object's).

The masks are the *visible* pixels: a fraction covered is measured on what the image shows.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Tuple

import numpy as np

__all__ = ["DatasetObjects", "box_masks"]


def box_masks(boxes: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """Boolean ``[N, H, W]`` masks of the pixels whose centres lie inside each xyxy box.

    Examples:
        >>> box_masks(np.array([[1.0, 0.0, 3.0, 2.0]]), (3, 4)).astype(int)[0]
        array([[0, 1, 1, 0],
               [0, 1, 1, 0],
               [0, 0, 0, 0]])
    """
    h, w = shape
    ys, xs = np.arange(h) + 0.5, np.arange(w) + 0.5
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    inside_x = (xs[None, :] > boxes[:, 0:1]) & (xs[None, :] < boxes[:, 2:3])
    inside_y = (ys[None, :] > boxes[:, 1:2]) & (ys[None, :] < boxes[:, 3:4])
    return inside_y[:, :, None] & inside_x[:, None, :]


class DatasetObjects:
    """Read-only access to a detection dataset's objects, for occluders: masks, labels, pixels.

    Args:
        dataset: a test dataset with ``get_target``, ``get_image_size`` and ``load_image``
            (``VOCDetection``, ``COCODetection``); its test-time transforms are not applied.
        cache: how many images' masks to keep (donor images are read again and again).

    Attributes:
        sources: ``"mask"`` or ``"box"`` for every image read so far.
    """

    def __init__(self, dataset: Any, cache: int = 512):
        self.dataset = dataset
        self.sources: Dict[int, str] = {}
        self._objects = lru_cache(maxsize=cache)(self._read)

    def __len__(self) -> int:
        return len(self.dataset)

    def objects(self, idx: int) -> Dict[str, np.ndarray]:
        """``{"masks": bool [N, H, W], "boxes": [N, 4], "labels": [N], "difficult": bool [N]}``
        of image ``idx``, aligned with its target."""
        return self._objects(int(idx))

    def image(self, idx: int) -> np.ndarray:
        """Image ``idx`` as HWC uint8."""
        return self.dataset.load_image(int(idx))

    def _read(self, idx: int) -> Dict[str, np.ndarray]:
        target = self.dataset.get_target(idx)
        boxes = np.asarray(target["boxes"], np.float64).reshape(-1, 4)
        shape = tuple(int(v) for v in self.dataset.get_image_size(idx))
        masks, source = self._masks(idx, target, boxes, shape)
        self.sources[idx] = source
        difficult = target.get("difficult")
        return {"masks": masks, "boxes": boxes, "labels": np.asarray(target["labels"], np.int64).reshape(-1),
                "difficult": np.zeros(len(boxes), bool) if difficult is None else np.asarray(difficult, bool)}

    def _masks(self, idx: int, target: Dict[str, Any], boxes: np.ndarray, shape) -> Tuple[np.ndarray, str]:
        if target.get("masks") is not None:
            return np.asarray(target["masks"]).astype(bool).reshape(len(boxes), *shape), "mask"
        from detaug.data import VOCDetection

        # the VOC layout's own reader: SegmentationObject/<id>.png, matched to the boxes by
        # each object's place in the XML file (COCO test sets keep their boxes here)
        masks = self.dataset.load_masks(idx) if isinstance(self.dataset, VOCDetection) else None
        if masks is not None:
            return masks.astype(bool), "mask"
        return box_masks(boxes, shape), "box"
