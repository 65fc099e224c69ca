"""Instance masks: VOC ``SegmentationObject`` PNGs and COCO ``segmentation`` fields.

Both give a uint8 array ``[N, H, W]`` of 0/1, one mask per object, in the order of the
objects the caller asks for (the dataset passes the objects of its target, so masks and
boxes stay aligned).

VOC format (the devkit's): ``SegmentationObject/<image id>.png`` is a palette (``P``) or
grayscale (``L``) PNG of the image's size whose pixel value ``k > 0`` marks the ``k``-th
``<object>`` of the annotation XML in document order, 0 the background and 255 the
void/boundary band, which belongs to no instance.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence, Tuple, Union

import numpy as np

from .errors import ImageFileError
from .images import open_image

__all__ = ["VOID", "coco_instance_masks", "read_voc_instance_masks"]

#: The VOC void/boundary value in segmentation PNGs.
VOID = 255


def read_voc_instance_masks(
    path: Union[str, os.PathLike],
    object_indices: Sequence[int],
    num_objects: int,
    size_hw: Tuple[int, int],
) -> np.ndarray:
    """Read a VOC ``SegmentationObject`` PNG into one 0/1 mask per requested object.

    Args:
        path: The PNG.
        object_indices: 0-based positions of the wanted objects in the annotation XML
            (object ``i`` is pixel value ``i + 1``).
        num_objects: How many objects the XML holds (a larger pixel value is an error).
        size_hw: ``(height, width)`` the mask must have (the image's).

    Returns:
        uint8 ``[len(object_indices), H, W]``; void (255) pixels are 0 in every mask.

    Raises:
        ImageFileError: If the PNG is not a palette or grayscale image, is corrupt, has
            another size than the image or a value naming an object the XML lacks.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.png"
        >>> Image.fromarray(np.array([[0, 1, 2, 255]], np.uint8), mode="L").save(p)
        >>> read_voc_instance_masks(p, [1], num_objects=2, size_hw=(1, 4)).tolist()
        [[[0, 0, 1, 0]]]
    """
    path = Path(path)
    with open_image(path) as im:
        if im.mode not in ("P", "L"):
            raise ImageFileError(
                f"{path}: instance mask has Pillow mode {im.mode}, expected a palette (P) or "
                "grayscale (L) PNG whose pixel value k is the k-th object of the XML"
            )
        try:
            values = np.asarray(im)  # palette indices, not colours
        except OSError as e:
            raise ImageFileError(f"{path}: cannot decode the mask ({e})") from None
    if values.shape != tuple(size_hw):
        raise ImageFileError(
            f"{path}: mask is {values.shape[1]}x{values.shape[0]} but the image is "
            f"{size_hw[1]}x{size_hw[0]} (width x height)"
        )
    present = np.unique(values)
    unknown = present[(present != VOID) & (present > num_objects)]
    if unknown.size:
        raise ImageFileError(
            f"{path}: pixel value {int(unknown[0])} names object {int(unknown[0])}, but the "
            f"annotation has {num_objects} objects (values: 0 background, 1..{num_objects} "
            f"objects in XML order, {VOID} void)"
        )
    out = np.zeros((len(object_indices), *values.shape), np.uint8)
    for row, k in enumerate(object_indices):
        out[row] = values == k + 1
    return out


def coco_instance_masks(coco: Any, annotations: Sequence[Mapping[str, Any]], size_hw: Tuple[int, int]) -> np.ndarray:
    """Rasterise COCO ``segmentation`` fields (polygons or RLE) with pycocotools.

    Args:
        coco: The ``pycocotools.coco.COCO`` holding the annotations' images.
        annotations: The annotations, in the order wanted.
        size_hw: ``(height, width)`` of their image (the shape of an empty result).

    Returns:
        uint8 ``[len(annotations), H, W]`` of 0/1.
    """
    if not annotations:
        return np.zeros((0, *size_hw), np.uint8)
    with warnings.catch_warnings():
        # pycocotools 2.0.x under numpy 2 warns on every decode that its array wrapper
        # lacks a copy keyword; the decoded mask is right, the warning is noise
        warnings.filterwarnings("ignore", message="__array__ implementation", category=DeprecationWarning)
        return np.stack([coco.annToMask(dict(a)) for a in annotations]).astype(np.uint8)
