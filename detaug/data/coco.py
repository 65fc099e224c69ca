"""COCO-format detection dataset read through pycocotools.

Conventions:

* The instances JSON is checked record by record before pycocotools indexes it
  (:mod:`detaug.data.coco_json`: integer unique ids, existing image and category ids,
  ``bbox`` of 4 finite numbers, ...); an ``images[k].file_name`` must stay inside
  ``image_dir`` (no absolute path, no ``..``). Each problem is one
  :class:`~detaug.errors.COCOFormatError` naming the file, the record and the field.
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
* With ``masks=True``, ``target["masks"]`` holds one 0/1 mask per box from the
  annotation's ``segmentation`` (polygons or RLE, rasterised by pycocotools'
  ``annToMask``); every used annotation must then have a valid ``segmentation``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import torch

from detaug.checks import inside_folder

from .coco_json import check_segmentation, load_coco
from .errors import COCOFormatError
from .images import read_rgb
from .masks import coco_instance_masks
from .transforms import apply_transforms

__all__ = ["COCODetection", "load_coco"]


class COCODetection(torch.utils.data.Dataset):
    """COCO-format detection dataset (image folder + instances JSON).

    Args:
        image_dir: Folder with the images (``file_name`` is relative to it).
        ann_file: Instances JSON.
        transforms: Optional albumentations pipeline or torchvision-v2 callable (see
            :mod:`detaug.data.transforms`).
        train: Training mode: leave out crowd boxes and images without usable boxes.
            Default True.
        masks: Also return ``target["masks"]`` (uint8 ``[N, H, W]``, aligned with the
            boxes) from each annotation's ``segmentation``. Default False.

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
        COCOFormatError: (a ``ValueError``) If the JSON breaks a rule of
            :mod:`detaug.data.coco_json`, a ``file_name`` leaves ``image_dir``, or (with
            ``masks=True``) a used annotation has no valid ``segmentation``.

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
        *,
        masks: bool = False,
    ) -> None:
        self.image_dir = Path(image_dir)
        if not self.image_dir.is_dir():
            raise FileNotFoundError(f"{self.image_dir}: COCO image folder not found")
        self.ann_file = Path(ann_file)
        self.coco = load_coco(ann_file)
        self.transforms = transforms
        self.train = bool(train)
        self.masks = bool(masks)
        cat_ids = sorted(self.coco.getCatIds())
        self.category_id_to_label: Dict[int, int] = {c: i + 1 for i, c in enumerate(cat_ids)}
        self.label_to_category_id: Dict[int, int] = {i + 1: c for i, c in enumerate(cat_ids)}
        self.classes: List[str] = [self.coco.cats[c]["name"] for c in cat_ids]
        self._check_file_names()
        self.num_degenerate = 0
        example = None
        ids = []
        for image_id in sorted(self.coco.imgs):
            usable = 0
            for ann in self.coco.imgToAnns.get(image_id, []):
                if ann["iscrowd"]:
                    continue
                if self._xyxy(ann, image_id) is None:
                    self.num_degenerate += 1
                    example = example or (ann["id"], image_id)
                else:
                    usable += 1
            if usable or not self.train:
                ids.append(image_id)
        self.image_ids: List[int] = ids
        if self.masks:
            self._check_segmentations()
        if self.num_degenerate:
            warnings.warn(
                f"{self.ann_file}: {self.num_degenerate} non-crowd boxes have no area after "
                f"clipping to the image and are left out of targets (e.g. annotation id "
                f"{example[0]} in image {example[1]})",
                UserWarning,
                stacklevel=2,
            )

    def _check_file_names(self) -> None:
        for k, info in enumerate(self.coco.dataset["images"]):
            try:
                inside_folder(self.image_dir, info.get("file_name"))
            except ValueError as e:
                raise COCOFormatError(f"{self.ann_file}: images[{k}] (id {info['id']}): 'file_name' {e}") from None

    def _check_segmentations(self) -> None:
        position = {id(a): k for k, a in enumerate(self.coco.dataset["annotations"])}
        for idx in range(len(self.image_ids)):
            image = self.coco.imgs[self.image_ids[idx]]
            for ann, _ in self._target_annotations(idx):
                check_segmentation(ann, image, str(self.ann_file), position[id(ann)])

    def _xyxy(self, ann: Dict[str, Any], image_id: int) -> Optional[List[float]]:
        info = self.coco.imgs[image_id]
        x, y, w, h = (float(v) for v in ann["bbox"])
        x1, y1 = min(max(x, 0.0), info["width"]), min(max(y, 0.0), info["height"])
        x2, y2 = min(max(x + w, 0.0), info["width"]), min(max(y + h, 0.0), info["height"])
        if not (x2 > x1 and y2 > y1):
            return None
        return [x1, y1, x2, y2]

    def _target_annotations(self, idx: int) -> List[Tuple[Dict[str, Any], List[float]]]:
        """The annotations of item ``idx`` that become target boxes, with their boxes."""
        image_id = self.image_ids[idx]
        used = []
        for ann in self.coco.imgToAnns.get(image_id, []):
            if ann["iscrowd"] and self.train:
                continue
            box = self._xyxy(ann, image_id)
            if box is not None:
                used.append((ann, box))
        return used

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
            The target dict (see :meth:`__getitem__`), without ``masks``.
        """
        used = self._target_annotations(idx)
        n = len(used)
        return {
            "boxes": torch.as_tensor(np.array([b for _, b in used], np.float32).reshape(n, 4)),
            "labels": torch.as_tensor([self.category_id_to_label[a["category_id"]] for a, _ in used], dtype=torch.int64),
            "image_id": idx,
            "area": torch.as_tensor([float(a["area"]) for a, _ in used], dtype=torch.float32),
            "iscrowd": torch.as_tensor([int(a["iscrowd"]) for a, _ in used], dtype=torch.int64),
            "difficult": torch.zeros((n,), dtype=torch.bool),
        }

    def load_masks(self, idx: int) -> np.ndarray:
        """Instance masks of item ``idx`` from ``segmentation``, aligned with :meth:`get_target`.

        Args:
            idx: Dataset index.

        Returns:
            uint8 ``[N, H, W]`` of 0/1 (H, W from the JSON).
        """
        anns = [a for a, _ in self._target_annotations(idx)]
        return coco_instance_masks(self.coco, anns, self.get_image_size(idx))

    def load_image(self, idx: int) -> np.ndarray:
        """Decode item ``idx`` as an HWC uint8 RGB array (rules: :mod:`detaug.data.images`).

        Raises:
            FileNotFoundError: If the image file is missing (the path is named).
            ImageFileError: If it cannot be decoded.
            COCOFormatError: If its size is not the JSON's ``width`` x ``height``.
        """
        info = self.coco.imgs[self.image_ids[idx]]
        path = inside_folder(self.image_dir, info["file_name"])
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: image of COCO image id {info['id']} not found ({self.ann_file})"
            )
        image = read_rgb(path)
        if image.shape[:2] != self.get_image_size(idx):
            raise COCOFormatError(
                f"{self.ann_file}: image id {info['id']} has width {info['width']} and height "
                f"{info['height']}, but {path} is {image.shape[1]}x{image.shape[0]}"
            )
        return image

    def __getitem__(self, idx: int) -> Tuple[torch.Tensor, Dict[str, Any]]:
        """Return ``(image, target)`` for index ``idx``.

        Args:
            idx: Dataset index.

        Returns:
            ``image`` float32 CHW in [0, 1]; ``target`` with ``boxes`` (float32 [N, 4]
            xyxy), ``labels`` (int64, contiguous), ``image_id`` (``idx``), ``area`` (the
            annotation's area; box area after a transform), ``iscrowd``, ``difficult``
            (all False), ``masks`` (uint8 [N, H, W], with ``masks=True``), plus whatever
            the transform adds.
        """
        if idx < 0:
            idx += len(self)
        target = self.get_target(idx)
        if self.masks:
            target["masks"] = torch.from_numpy(self.load_masks(idx))
        return apply_transforms(self.transforms, self.load_image(idx), target)

    def __repr__(self) -> str:
        extra = "" if self.train else ", train=False"
        extra += ", masks=True" if self.masks else ""
        if self.transforms is not None:
            extra += f", transforms={self.transforms!r}"
        return (
            f"COCODetection(image_dir='{self.image_dir}', ann_file='{self.ann_file}'{extra})"
            f" [{len(self)} images]"
        )
