"""Detection datasets: PASCAL VOC, COCO and a built-in synthetic set.

All datasets return ``(image, target)`` as torchvision detection models take them:
``image`` a float32 CHW tensor in [0, 1]; ``target`` with ``boxes`` (float32 [N, 4], xyxy,
0-based continuous pixels), ``labels`` (int64, 0 is background), ``image_id`` (the
dataset index), ``area``, ``iscrowd`` and ``difficult``. Every dataset reports image
sizes without decoding (``get_image_size``) for aspect-ratio grouping.

Modules: :mod:`~detaug.data.voc`, :mod:`~detaug.data.coco`,
:mod:`~detaug.data.synthetic`, :mod:`~detaug.data.transforms` (albumentations or
torchvision-v2 dispatch), :mod:`~detaug.data.sampler` (batching),
:mod:`~detaug.data.concat` (07+12 style concatenation).
"""

from .coco import COCODetection
from .concat import DetectionConcatDataset
from .sampler import (
    GroupedBatchSampler,
    collate_fn,
    compute_aspect_ratios,
    create_aspect_ratio_groups,
)
from .synthetic import SYNTHETIC_CLASSES, SyntheticDatasetInfo, generate_synthetic
from .transforms import apply_transforms, to_float_image
from .voc import (
    VOC_CLASSES,
    VOCAnnotationError,
    VOCAnnotationWarning,
    VOCDetection,
    build_voc,
    parse_voc_xml,
    voc_year,
)

__all__ = [
    "SYNTHETIC_CLASSES",
    "VOC_CLASSES",
    "COCODetection",
    "DetectionConcatDataset",
    "GroupedBatchSampler",
    "SyntheticDatasetInfo",
    "VOCAnnotationError",
    "VOCAnnotationWarning",
    "VOCDetection",
    "apply_transforms",
    "build_voc",
    "collate_fn",
    "compute_aspect_ratios",
    "create_aspect_ratio_groups",
    "generate_synthetic",
    "parse_voc_xml",
    "to_float_image",
    "voc_year",
]
