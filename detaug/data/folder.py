"""Datasets from loose folders: an image folder with a folder of VOC XML files or a COCO JSON file.

For looking at your own pictures (``detaug-vis --images ... --annotations ...``) without
a ``VOCdevkit`` layout: no ``ImageSets`` split file, images and annotations anywhere.
:class:`VOCFolder` is a :class:`~detaug.data.voc.VOCDetection`, so parsing (defusedxml),
the checks and the coordinate conversion are exactly those of the VOC dataset.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Union

from .voc import VOCAnnotationError, VOCDetection, parse_voc_xml

__all__ = ["VOCFolder", "folder_dataset"]

PathLike = Union[str, os.PathLike]


def _class_names(files: Sequence[Path], strict: bool) -> List[str]:
    """Sorted class names of the objects in ``files``; an unreadable file raises when
    ``strict``, else it is left to the dataset, which reports it as a problem."""
    names = set()
    for f in files:
        try:
            names.update(o["name"] for o in parse_voc_xml(f)["objects"])
        except VOCAnnotationError:
            if strict:
                raise
    if not names:
        raise ValueError(f"{files[0].parent}: no object in the .xml files; give the class names")
    return sorted(names)


class VOCFolder(VOCDetection):
    """VOC XML files in one folder, their images in another; every XML file is an image.

    Images are found as :class:`~detaug.data.voc.VOCDetection` finds them: ``<stem>.jpg``,
    then the XML's ``<filename>`` (refused if it leaves the image folder), then the
    stem with another usual image extension.

    Args:
        images: the image folder.
        annotations: the folder of ``.xml`` files.
        classes: class names without background (label = index + 1). Default: the
            names found in the files, sorted.
        transforms: as for :class:`~detaug.data.voc.VOCDetection`. Default None.
        keep_difficult: keep objects flagged difficult. Default True (a drawing shows
            every annotated object).
        strict: as for :class:`~detaug.data.voc.VOCDetection`. Default True.
        masks: also return instance masks from ``SegmentationObject/<id>.png`` in the
            annotation folder's parent, where one exists. Default False.

    Raises:
        FileNotFoundError: if a folder is missing or holds no ``.xml`` file.
        VOCAnnotationError: on a data problem when ``strict`` (the message names the file).
        ValueError: if no class is given or found, or ``classes`` has duplicates.

    Examples:
        >>> import tempfile
        >>> from detaug.data import generate_synthetic
        >>> info = generate_synthetic(tempfile.mkdtemp(), num_train=3, num_test=1)
        >>> ds = VOCFolder(info.image_dir, info.voc_root / "Annotations")
        >>> len(ds), ds.classes == sorted(ds.classes)  # 3 train, 1 test, 3 occluded copies of it
        (7, True)
    """

    def __init__(
        self,
        images: PathLike,
        annotations: PathLike,
        classes: Optional[Sequence[str]] = None,
        transforms: Optional[Callable] = None,
        *,
        keep_difficult: bool = True,
        strict: bool = True,
        masks: bool = False,
    ) -> None:
        images, annotations = Path(images), Path(annotations)
        for what, folder in (("image", images), ("annotation", annotations)):
            if not folder.is_dir():
                raise FileNotFoundError(f"{folder}: {what} folder not found")
        files = sorted(annotations.glob("*.xml"))
        if not files:
            raise FileNotFoundError(f"{annotations}: no .xml annotation files in this folder")
        super().__init__(annotations.parent, None, _class_names(files, strict) if classes is None else classes,
                         transforms, keep_difficult=keep_difficult, strict=strict, masks=masks,
                         annotations_dir=annotations, images_dir=images)

    def __repr__(self) -> str:
        return f"VOCFolder(images='{self.images_dir}', annotations='{self.annotations_dir}') [{len(self)} images]"


def folder_dataset(images: PathLike, annotations: PathLike, classes: Optional[Sequence[str]] = None,
                   transforms: Optional[Callable] = None, masks: bool = False):
    """A dataset of ``images`` annotated by a folder of VOC XML files or a COCO instances JSON.

    Args:
        images: the image folder.
        annotations: a folder of ``.xml`` files (:class:`VOCFolder`) or a ``.json`` file
            (:class:`~detaug.data.coco.COCODetection`, classes from its categories).
        classes: class names for VOC XML (default: the names found). Default None.
        transforms: applied by the dataset. Default None.
        masks: also return instance masks, ``target["masks"]``: VOC XML from
            ``SegmentationObject/<id>.png`` next to the annotation folder (images without
            one have none), COCO from every annotation's ``segmentation``. Default False.

    Returns:
        The dataset; its ``classes`` name labels 1, 2, ...

    Raises:
        FileNotFoundError: if ``images`` is not a folder, or ``annotations`` is neither a
            folder nor a ``.json`` file.
        VOCAnnotationError, ValueError: invalid annotations (the message names the file),
            or ``classes`` given with a COCO file.
    """
    from .coco import COCODetection

    annotations = Path(annotations)
    if annotations.is_dir():
        return VOCFolder(images, annotations, classes, transforms, masks=masks)
    if annotations.suffix.lower() == ".json" and annotations.is_file():
        if classes:
            raise ValueError(f"{annotations}: a COCO file names its classes (categories); give classes only with VOC XML")
        return COCODetection(images, annotations, transforms=transforms, train=True, masks=masks)
    raise FileNotFoundError(f"{annotations}: neither a folder of VOC XML files nor a COCO JSON file")
