"""Detection datasets: PASCAL VOC, COCO and a built-in synthetic set.

All datasets return ``(image, target)`` as torchvision detection models take them:
``image`` a float32 CHW tensor in [0, 1]; ``target`` with ``boxes`` (float32 [N, 4], xyxy,
0-based continuous pixels), ``labels`` (int64, 0 is background), ``image_id`` (the
dataset index), ``area``, ``iscrowd``, ``difficult`` and, when built with
``masks=True``, ``masks`` (uint8 [N, H, W]). Every dataset reports image sizes without
decoding (``get_image_size``) for aspect-ratio grouping. A file that cannot be used
raises a :class:`~detaug.errors.DataFileError` (a ``UsageError``) naming the file,
the record and the field.

Modules: :mod:`~detaug.data.voc` (dataset) and :mod:`~detaug.data.voc_xml` (one XML
file), :mod:`~detaug.data.coco` (dataset) and :mod:`~detaug.data.coco_json` (checking the
JSON), :mod:`~detaug.data.images` (decoding rules), :mod:`~detaug.data.masks` (instance
masks), :mod:`~detaug.checks` (shared input checks), :mod:`~detaug.data.errors`,
:mod:`~detaug.data.synthetic`, :mod:`~detaug.data.transforms` (albumentations or
torchvision-v2 dispatch), :mod:`~detaug.data.sampler` (batching),
:mod:`~detaug.data.concat` (07+12 style concatenation).
"""

from .coco import COCODetection
from .coco_json import load_coco
from .concat import DetectionConcatDataset
from .errors import COCOFormatError, DataFileError, ImageFileError, ResultsFileError
from .images import read_rgb
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
    "COCOFormatError",
    "DataFileError",
    "DetectionConcatDataset",
    "GroupedBatchSampler",
    "ImageFileError",
    "ResultsFileError",
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
    "load_coco",
    "parse_voc_xml",
    "read_rgb",
    "to_float_image",
    "voc_year",
]
