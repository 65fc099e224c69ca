"""What the samplers and evaluators need of a dataset, as ``typing.Protocol``\\ s (ground floor).

:class:`~detaug.data.VOCDetection`, :class:`~detaug.data.COCODetection` and
:class:`~detaug.data.DetectionConcatDataset` provide them; any dataset of the user's that
has these members works too. The checks are structural (``isinstance`` looks for the
members), so nothing here imports a dataset class.

Examples:
    >>> class Sizes:
    ...     def __len__(self): return 1
    ...     def get_image_size(self, idx): return (10, 20)
    >>> isinstance(Sizes(), ImageSizes), isinstance(Sizes(), DetectionDataset)
    (True, False)
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Protocol, Sequence, Tuple, runtime_checkable


@runtime_checkable
class ImageSizes(Protocol):
    """Image sizes without decoding the images (aspect-ratio grouping needs no more)."""

    def __len__(self) -> int: ...

    def get_image_size(self, idx: int) -> Tuple[int, int]:
        """``(height, width)`` of image ``idx``."""
        ...


@runtime_checkable
class DetectionDataset(ImageSizes, Protocol):
    """A detection dataset: ``(image, target)`` items, their targets without the image, class names.

    Attributes:
        classes: class names without the background (label i + 1 is ``classes[i]``).
    """

    classes: Sequence[str]

    def __getitem__(self, idx: int) -> Tuple[Any, Dict[str, Any]]: ...

    def get_target(self, idx: int) -> Dict[str, Any]:
        """The target of item ``idx`` (``boxes``, ``labels``, ...) without reading the image."""
        ...


@runtime_checkable
class VOCAnnotated(DetectionDataset, Protocol):
    """A detection dataset with devkit annotations (what the VOC evaluator reads).

    Attributes:
        use_07_metric: the year's metric: True (VOC2007's 11-point AP) or False (all-point).
    """

    use_07_metric: bool

    def get_annotation(self, idx: int) -> Dict[str, Any]:
        """The devkit annotation of item ``idx``: ``filename``, ``size``, ``objects`` (with ``difficult``)."""
        ...


@runtime_checkable
class COCOAnnotated(DetectionDataset, Protocol):
    """A detection dataset over a COCO instances file (what the COCO evaluator reads).

    Attributes:
        coco: the ground truth as a ``pycocotools.coco.COCO``.
        image_ids: the COCO image id of each item, in order.
        label_to_category_id: the dataset's contiguous labels -> COCO category ids.
    """

    coco: Any
    image_ids: Sequence[int]
    label_to_category_id: Mapping[int, int]


__all__ = ["COCOAnnotated", "DetectionDataset", "ImageSizes", "VOCAnnotated"]
