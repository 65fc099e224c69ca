"""COCO-format detection dataset read through pycocotools.

Conventions:

* Category ids (arbitrary, e.g. COCO's 1..90 with gaps) map to contiguous labels
  ``1..num_classes`` in increasing category-id order (0 is background):
  :attr:`COCODetection.category_id_to_label` and its inverse
  :attr:`COCODetection.label_to_category_id` (used when writing results).
* COCO ``bbox`` is ``[x, y, w, h]`` in continuous pixels; targets use
  ``[x, y, x + w, y + h]``, clipped to the image. Boxes with no area after clipping are
  left out of targets (counted, and reported in one warning at construction).
* Crowd annotations (``iscrowd=1``) are excluded from training targets; with
  ``train=False`` they are kept, flagged in ``target["iscrowd"]`` (COCOeval reads crowd
  regions from the JSON itself).
* With ``train=True`` images without any usable non-crowd box are left out (as the
  torchvision references do); with ``train=False`` every image is kept, since evaluation
  must see them all.
* ``target["image_id"]`` is the dataset index, like every detaug dataset; the COCO image
  id is ``dataset.image_ids[idx]``.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from PIL import Image

from .transforms import apply_transforms

__all__ = ["COCODetection", "load_coco"]


def load_coco(ann_file: Union[str, os.PathLike]):
    """Load a COCO instances JSON with pycocotools, quietly.

    Args:
        ann_file: Path to the JSON file.

    Returns:
        A ``pycocotools.coco.COCO`` object.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not valid JSON or lacks ``images``/``annotations``/
            ``categories``.
    """
    from pycocotools.coco import COCO

    ann_file = Path(ann_file)
    if not ann_file.is_file():
        raise FileNotFoundError(f"{ann_file}: COCO annotation file not found")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO(str(ann_file))
    except ValueError as e:  # json.JSONDecodeError is a ValueError
        raise ValueError(f"{ann_file}: not a valid COCO JSON ({e})") from None
    missing = [k for k in ("images", "annotations", "categories") if k not in coco.dataset]
    if missing:
        raise ValueError(f"{ann_file}: COCO JSON lacks {missing}")
    return coco


class COCODetection(torch.utils.data.Dataset):
    """COCO-format detection dataset (image folder + instances JSON).

    Args:
        image_dir: Folder with the images (``file_name`` is relative to it).
        ann_file: Instances JSON.
        transforms: Optional albumentations pipeline or torchvision-v2 callable (see
            :mod:`detaug.data.transforms`).
        train: Training mode: leave out crowd boxes and images without usable boxes.
            Default True.

    Attributes:
        coco: The pycocotools ``COCO`` object.
        image_ids: COCO image id of every dataset index.
        classes: Category names in label order (label ``i`` is ``classes[i - 1]``).
        category_id_to_label: ``{category_id: label}``.
        label_to_category_id: ``{label: category_id}``.
        num_degenerate: Non-crowd boxes left out because they have no area after
            clipping.

    Raises:
        FileNotFoundError: If ``image_dir`` or ``ann_file`` does not exist.
        ValueError: If the JSON is invalid, an image has no positive ``width`` and
            ``height`` or an annotation's ``category_id`` is not in ``categories`` (the
            file is named).

    Examples:
        >>> import tempfile
        >>> from detaug.data import generate_synthetic
        >>> info = generate_synthetic(tempfile.mkdtemp(), num_train=3, num_test=2)
        >>> ds = COCODetection(info.image_dir, info.coco_annotations["train"])
        >>> ds.classes == list(info.classes), ds.label_to_category_id[1]
        (True, 1)
        >>> image, target = ds[0]
        >>> image.dtype, target["boxes"].shape[1]
        (torch.float32, 4)
    """

    def __init__(
        self,
        image_dir: Union[str, os.PathLike],
        ann_file: Union[str, os.PathLike],
        transforms: Optional[Callable] = None,
        train: bool = True,
    ) -> None:
        self.image_dir = Path(image_dir)
        if not self.image_dir.is_dir():
            raise FileNotFoundError(f"{self.image_dir}: COCO image folder not found")
        self.ann_file = Path(ann_file)
        self.coco = load_coco(ann_file)
        self.transforms = transforms
        self.train = bool(train)
        cat_ids = sorted(self.coco.getCatIds())
        self.category_id_to_label: Dict[int, int] = {c: i + 1 for i, c in enumerate(cat_ids)}
        self.label_to_category_id: Dict[int, int] = {i + 1: c for i, c in enumerate(cat_ids)}
        self.classes: List[str] = [self.coco.cats[c]["name"] for c in cat_ids]
        self._check()

        self.num_degenerate = 0
        example = None
        ids = []
        for image_id in sorted(self.coco.imgs):
            usable = 0
            for ann in self.coco.imgToAnns.get(image_id, []):
                if ann.get("iscrowd", 0):
                    continue
                if self._xyxy(ann, image_id) is None:
                    self.num_degenerate += 1
                    example = example or (ann.get("id"), image_id)
                else:
                    usable += 1
            if usable or not self.train:
                ids.append(image_id)
        self.image_ids: List[int] = ids
        if self.num_degenerate:
            warnings.warn(
                f"{self.ann_file}: {self.num_degenerate} non-crowd boxes have no area after "
                f"clipping to the image and are left out of targets (e.g. annotation id "
                f"{example[0]} in image {example[1]})",
                UserWarning,
                stacklevel=2,
            )

    def _check(self) -> None:
        """Reject what would otherwise fail later as a bare KeyError in ``__getitem__``."""
        for image_id, info in self.coco.imgs.items():
            for key in ("width", "height"):
                value = info.get(key)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                    raise ValueError(
                        f"{self.ann_file}: image id {image_id} has {key}={value!r}, expected a "
                        "positive number"
                    )
        unknown = {}
        for ann in self.coco.anns.values():
            if ann.get("category_id") not in self.category_id_to_label:
                unknown.setdefault(ann.get("category_id"), ann.get("id"))
        if unknown:
            cat, ann_id = next(iter(unknown.items()))
            raise ValueError(
                f"{self.ann_file}: annotations use category ids not in 'categories': "
                f"{sorted(unknown, key=repr)[:5]} (e.g. annotation id {ann_id} has "
                f"category_id={cat!r}; categories: {sorted(self.category_id_to_label)[:10]})"
            )

    def _xyxy(self, ann: Dict[str, Any], image_id: int) -> Optional[List[float]]:
        info = self.coco.imgs[image_id]
        x, y, w, h = (float(v) for v in ann["bbox"])
        x1, y1 = min(max(x, 0.0), info["width"]), min(max(y, 0.0), info["height"])
        x2, y2 = min(max(x + w, 0.0), info["width"]), min(max(y + h, 0.0), info["height"])
        if not (x2 > x1 and y2 > y1):
            return None
        return [x1, y1, x2, y2]

    def __len__(self) -> int:
        return len(self.image_ids)

    def get_image_size(self, idx: int) -> Tuple[int, int]:
        """Return ``(height, width)`` of item ``idx`` from the JSON, without decoding.

        Args:
            idx: Dataset index.

        Returns:
            ``(height, width)``.
        """
        info = self.coco.imgs[self.image_ids[idx]]
        return int(info["height"]), int(info["width"])

    def get_target(self, idx: int) -> Dict[str, Any]:
        """Return the untransformed target of item ``idx`` without loading the image.

        Args:
            idx: Dataset index.

        Returns:
            The target dict (see :meth:`__getitem__`).
        """
        image_id = self.image_ids[idx]
        boxes, labels, areas, crowd = [], [], [], []
        for ann in self.coco.imgToAnns.get(image_id, []):
            is_crowd = int(bool(ann.get("iscrowd", 0)))
            if is_crowd and self.train:
                continue
            box = self._xyxy(ann, image_id)
            if box is None:
                continue
            boxes.append(box)
            labels.append(self.category_id_to_label[ann["category_id"]])
            areas.append(float(ann.get("area", (box[2] - box[0]) * (box[3] - box[1]))))
            crowd.append(is_crowd)
        n = len(boxes)
        return {
            "boxes": torch.as_tensor(np.array(boxes, np.float32).reshape(n, 4)),
            "labels": torch.as_tensor(labels, dtype=torch.int64),
            "image_id": idx,
            "area": torch.as_tensor(areas, dtype=torch.float32),
            "iscrowd": torch.as_tensor(crowd, dtype=torch.int64),
            "difficult": torch.zeros((n,), dtype=torch.bool),
        }

    def load_image(self, idx: int) -> np.ndarray:
        """Decode item ``idx`` as an HWC uint8 RGB array.

        Raises:
            FileNotFoundError: If the image file is missing (the path is named).
        """
        info = self.coco.imgs[self.image_ids[idx]]
        path = self.image_dir / info["file_name"]
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: image of COCO image id {info['id']} not found ({self.ann_file})"
            )
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))

    def __getitem__(self, idx: int) -> Tuple[torch.Tensor, Dict[str, Any]]:
        """Return ``(image, target)`` for index ``idx``.

        Args:
            idx: Dataset index.

        Returns:
            ``image`` float32 CHW in [0, 1]; ``target`` with ``boxes`` (float32 [N, 4]
            xyxy), ``labels`` (int64, contiguous), ``image_id`` (``idx``), ``area`` (the
            annotation's area; box area after a transform), ``iscrowd``, ``difficult``
            (all False), plus whatever the transform adds.
        """
        if idx < 0:
            idx += len(self)
        return apply_transforms(self.transforms, self.load_image(idx), self.get_target(idx))

    def __repr__(self) -> str:
        extra = "" if self.train else ", train=False"
        if self.transforms is not None:
            extra += f", transforms={self.transforms!r}"
        return (
            f"COCODetection(image_dir='{self.image_dir}', ann_file='{self.ann_file}'{extra})"
            f" [{len(self)} images]"
        )
