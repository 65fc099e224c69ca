"""PASCAL VOC detection dataset read from a real ``VOCdevkit/VOC20xx`` folder.

Layout (the devkit's)::

    VOC2007/
        Annotations/<image_id>.xml
        JPEGImages/<image_id>.jpg
        ImageSets/Main/<split>.txt      # one image id per line
        SegmentationObject/<image_id>.png   # optional instance masks (masks=True)

Coordinate convention. The XML stores 1-based, inclusive pixel indices: a box covering the
whole image is ``xmin=1, xmax=W``. Targets use 0-based continuous coordinates, so pixel
``i`` (1-based) spans ``[i - 1, i)``::

    x1 = xmin - 1,  y1 = ymin - 1,  x2 = xmax,  y2 = ymax

which keeps the devkit's inclusive width ``xmax - xmin + 1 == x2 - x1`` (the convention
detectron2 uses). :mod:`detaug.evaluation` inverts it exactly (``xmin = x1 + 1``,
``xmax = x2``), so a prediction equal to a target box has IoU 1 under the devkit rules.
The untouched XML values stay available through :meth:`VOCDetection.get_annotation`.

Problems in the data (malformed or hostile XML, a value that is not a finite number, a
split-list id that repeats or leaves its folder, a ``<filename>`` that leaves its folder, a missing or unreadable image, an
image larger than Pillow's ``MAX_IMAGE_PIXELS``, an XML ``<size>`` that is not the
image's, an object whose class is not in the class list, an empty box ``xmax < xmin``
or ``ymax < ymin``, a box with no area left once clipped to the image) raise
:class:`VOCAnnotationError` naming the file when ``strict=True`` (the default); with
``strict=False`` they emit a :class:`VOCAnnotationWarning` naming the file, the object or
image is left out, and the message is kept in :attr:`VOCDetection.problems`. Problems
only decoding can find (a truncated image, a bad mask PNG) raise
:class:`~detaug.data.errors.ImageFileError` naming the file when the item is read; image
decoding follows :mod:`detaug.data.images` (16-bit grayscale is scaled, not clipped).
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from detaug.checks import inside_folder, read_utf8

from .errors import ImageFileError, VOCAnnotationError, VOCAnnotationWarning
from .images import image_size, read_rgb
from .masks import read_voc_instance_masks
from .transforms import apply_transforms
from .voc_xml import parse_voc_xml

__all__ = [
    "VOC_CLASSES",
    "VOCAnnotationError",
    "VOCAnnotationWarning",
    "VOCDetection",
    "build_voc",
    "parse_voc_xml",
    "voc_year",
]

VOC_CLASSES: Tuple[str, ...] = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip

_IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG")


def voc_year(root: Union[str, os.PathLike]) -> Optional[int]:
    """Return the year of a ``VOC20xx`` folder name, or None.

    Args:
        root: A path whose last component is e.g. ``VOC2007``.

    Returns:
        The year as an int, or None if the name has no ``VOC<4 digits>``.

    Examples:
        >>> voc_year("data/VOCdevkit/VOC2012"), voc_year("data/mine")
        (2012, None)
    """
    m = re.search(r"VOC(\d{4})", Path(root).name)
    return int(m.group(1)) if m else None


def _caller_stacklevel() -> int:
    """``stacklevel`` for a warning raised in this module: the first frame outside it.

    Points at the code that built the dataset (directly or through :func:`build_voc`).
    """
    frame, level = sys._getframe(1), 1  # the frame calling warnings.warn is level 1
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return level


def _box_problem(obj: Dict[str, Any], k: int, w: float, h: float) -> Optional[str]:
    """Why object ``k`` cannot be a training box (None if it can)."""
    xmin, ymin, xmax, ymax = obj["bbox"]
    coords = f"xmin={xmin:g} ymin={ymin:g} xmax={xmax:g} ymax={ymax:g}"
    if xmax < xmin or ymax < ymin:
        return f"object {k} ({obj['name']}) has an empty box {coords}"
    # the training box is clipped to the image (get_target): it must keep an area
    x1, x2 = min(max(xmin - 1.0, 0.0), w), min(max(xmax, 0.0), w)
    y1, y2 = min(max(ymin - 1.0, 0.0), h), min(max(ymax, 0.0), h)
    if x2 <= x1 or y2 <= y1:
        return (
            f"object {k} ({obj['name']}) lies outside the {w:g}x{h:g} image ({coords}): no "
            "area left after clipping"
        )
    return None


class VOCDetection(torch.utils.data.Dataset):
    """PASCAL VOC (or any VOC-format export) for detection.

    All annotations are parsed and checked once, in the constructor, so problems surface
    before training starts and image sizes are known without decoding any image.

    Args:
        root: A ``VOCdevkit/VOC20xx`` folder (``Annotations``, ``JPEGImages``,
            ``ImageSets/Main``).
        split: Name of the image set, e.g. ``"trainval"`` (reads
            ``ImageSets/Main/<split>.txt``); None: every ``.xml`` file of the
            annotation folder, sorted (a loose folder, see :mod:`detaug.data.folder`).
        classes: Class names without background; label = index + 1. Defaults to the 20
            :data:`VOC_CLASSES`.
        transforms: Optional albumentations pipeline or torchvision-v2 callable applied
            to image, boxes and masks together (see :mod:`detaug.data.transforms`).
        keep_difficult: Keep objects flagged ``difficult`` in the targets (flagged in
            ``target["difficult"]``). Default False, as the reference Faster R-CNN code
            trains; the evaluator always sees them through :meth:`get_annotation`.
        strict: Raise :class:`VOCAnnotationError` on a data problem (default True), or
            warn (:class:`VOCAnnotationWarning`) and leave the object/image out.
        check_images: Check at construction that every image file exists and that its
            size (read from the file header, no decoding) matches the XML ``<size>``
            (default True). Evaluation from result files only needs annotations and sets
            it False.
        ignore_other_classes: Leave out objects whose class is not in ``classes``
            without a problem (counted in :attr:`ignored_objects`), to train or evaluate
            on a subset of the classes; every other check still follows ``strict``.
            Default False: such an object is a problem.
        masks: Also return instance masks, ``target["masks"]`` (uint8 ``[N, H, W]`` of
            0/1, aligned with ``target["boxes"]``), read from
            ``SegmentationObject/<image id>.png`` (see :mod:`detaug.data.masks`; void
            pixels belong to no mask). An image without that PNG gets no ``"masks"``
            key. Default False (nothing is read).
        annotations_dir: The folder of the XML files. Default ``root / "Annotations"``.
        images_dir: The folder of the images. Default ``root / "JPEGImages"``.

    Attributes:
        classes: The class names (without background).
        image_names: Image ids in split order (the names used by devkit result files).
        year: The year from the folder name (``VOC2007`` -> 2007) or None.
        use_07_metric: The year's metric: True (11-point) before 2010, else False.
        problems: Messages of the problems found (non-strict mode).
        ignored_objects: ``{class name: count}`` of the objects left out by
            ``ignore_other_classes``.
        dropped_images: Names of the split's images left out for a problem (non-strict
            mode); result files may still name them (see
            :func:`detaug.evaluation.evaluate_voc_results`).

    Raises:
        FileNotFoundError: If ``root``, its ``Annotations`` folder or the split file is
            missing.
        VOCAnnotationError: On a data problem when ``strict``.
        ValueError: If ``classes`` is empty or has duplicates.

    Examples:
        >>> import tempfile
        >>> from detaug.data import generate_synthetic
        >>> info = generate_synthetic(tempfile.mkdtemp(), num_train=4, num_test=2)
        >>> ds = VOCDetection(info.voc_root, "train", classes=info.classes)
        >>> image, target = ds[0]
        >>> image.dtype, image.shape[0], target["boxes"].dtype, target["labels"].dtype
        (torch.float32, 3, torch.float32, torch.int64)
        >>> ds.get_image_size(0) == tuple(image.shape[1:])
        True
    """

    def __init__(
        self,
        root: Union[str, os.PathLike],
        split: str,
        classes: Optional[Sequence[str]] = None,
        transforms: Optional[Callable] = None,
        *,
        keep_difficult: bool = False,
        strict: bool = True,
        check_images: bool = True,
        ignore_other_classes: bool = False,
        masks: bool = False,
        annotations_dir: Optional[Union[str, os.PathLike]] = None,
        images_dir: Optional[Union[str, os.PathLike]] = None,
    ) -> None:
        self.root = Path(root)
        self.split = split
        self.annotations_dir = Path(annotations_dir) if annotations_dir is not None else self.root / "Annotations"
        self.images_dir = Path(images_dir) if images_dir is not None else self.root / "JPEGImages"
        self.classes: List[str] = list(VOC_CLASSES if classes is None else classes)
        if not self.classes:
            raise ValueError("classes must not be empty")
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes has duplicates: {self.classes}")
        self._label = {c: i + 1 for i, c in enumerate(self.classes)}
        self.transforms = transforms
        self.keep_difficult = bool(keep_difficult)
        self.strict = bool(strict)
        self.ignore_other_classes = bool(ignore_other_classes)
        self.masks = bool(masks)
        self.ignored_objects: Dict[str, int] = {}
        self.year = voc_year(self.root)
        self.use_07_metric = self.year is not None and self.year < 2010
        self.problems: List[str] = []
        self.image_names: List[str] = []
        self.dropped_images: List[str] = []
        self._annotations: List[Dict[str, Any]] = []
        for name in self._split_names(split):
            ann = self._load_one(name, check_images)
            if ann is None:
                self.dropped_images.append(name)
            else:
                self.image_names.append(name)
                self._annotations.append(ann)

    # -- construction helpers -------------------------------------------------
    def _problem(self, message: str) -> None:
        if self.strict:
            raise VOCAnnotationError(message)
        self.problems.append(message)
        warnings.warn(message, VOCAnnotationWarning, stacklevel=_caller_stacklevel())

    def _split_names(self, split: Optional[str]) -> List[str]:
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: VOC root folder not found")
        if not self.annotations_dir.is_dir():
            raise FileNotFoundError(f"{self.annotations_dir}: Annotations folder not found")
        if split is None:
            return sorted(p.stem for p in self.annotations_dir.glob("*.xml"))
        split_file = self.root / "ImageSets" / "Main" / f"{split}.txt"
        if not split_file.is_file():
            available = sorted(p.stem for p in split_file.parent.glob("*.txt"))[:20]
            raise FileNotFoundError(f"{split_file}: split file not found (available: {available})")
        first_line: Dict[str, int] = {}
        for ln, line in enumerate(read_utf8(split_file, VOCAnnotationError).splitlines(), 1):
            if not line.strip():
                continue
            name = line.split()[0]
            try:  # the id becomes Annotations/<id>.xml: it must not leave the folder
                inside_folder(self.annotations_dir, f"{name}.xml")
            except ValueError as e:
                self._problem(f"{split_file}:{ln}: image id {e}")
                continue
            if name in first_line:  # result files name images: a repeated id would split its detections
                self._problem(f"{split_file}:{ln}: image id {name!r} repeats line {first_line[name]}")
                continue
            first_line[name] = ln
        return list(first_line)

    def _find_image(self, name: str, filename: Optional[str], xml_path: Path) -> Optional[Path]:
        img_dir = self.images_dir
        if (img_dir / f"{name}.jpg").is_file():
            return img_dir / f"{name}.jpg"
        if filename:
            try:
                candidate = inside_folder(img_dir, filename)
            except ValueError as e:
                raise VOCAnnotationError(f"{xml_path}: <filename> {e}") from None
            if candidate.is_file():
                return candidate
        return next((img_dir / f"{name}{ext}" for ext in _IMAGE_EXTS if (img_dir / f"{name}{ext}").is_file()), None)

    def _image_and_size(self, name: str, ann: Dict[str, Any], check_images: bool) -> Optional[Path]:
        """Find the image and settle ``ann``'s width/height; raise on a problem."""
        xml_path = Path(ann["xml_path"])
        image_path = self._find_image(name, ann["filename"], xml_path)
        if image_path is None and check_images:
            raise VOCAnnotationError(
                f"{xml_path}: image not found in {self.images_dir} "
                f"(tried {name}.jpg and <filename>)"
            )
        size = (ann["width"], ann["height"])
        valid_size = None not in size and min(size) > 0
        if image_path is None or (valid_size and not check_images):
            if not valid_size:
                raise VOCAnnotationError(
                    f"{xml_path}: no valid <size> (width={size[0]}, height={size[1]}) and no "
                    "image to read it from"
                )
            return image_path
        try:
            actual = image_size(image_path)  # reads the header, decodes no pixel
        except ImageFileError as e:
            raise VOCAnnotationError(f"{xml_path}: cannot read the image {image_path} ({e})") from None
        if not valid_size:
            ann["width"], ann["height"] = actual
        elif tuple(actual) != size:
            raise VOCAnnotationError(
                f"{xml_path}: <size> says {size[0]}x{size[1]} but the image {image_path} is "
                f"{actual[0]}x{actual[1]} (width x height)"
            )
        return image_path

    def _load_one(self, name: str, check_images: bool) -> Optional[Dict[str, Any]]:
        xml_path = self.annotations_dir / f"{name}.xml"
        try:
            ann = parse_voc_xml(xml_path)
            image_path = self._image_and_size(name, ann, check_images)
        except (VOCAnnotationError, FileNotFoundError) as e:
            self._problem(str(e))
            return None
        w, h = float(ann["width"]), float(ann["height"])
        kept = []
        for k, obj in enumerate(ann["objects"]):
            if obj["name"] not in self._label:
                if self.ignore_other_classes:
                    self.ignored_objects[obj["name"]] = self.ignored_objects.get(obj["name"], 0) + 1
                    continue
                self._problem(
                    f"{xml_path}: object {k} has class {obj['name']!r}, not in the class "
                    f"list ({len(self.classes)} classes: {self.classes[:5]}...)"
                )
                continue
            problem = _box_problem(obj, k, w, h)
            if problem:
                self._problem(f"{xml_path}: {problem}")
                continue
            kept.append(obj)
        ann["num_objects_in_file"] = len(ann["objects"])
        ann["objects"] = kept
        ann["image_name"] = name
        ann["image_path"] = str(image_path) if image_path is not None else None
        return ann

    # -- public API -----------------------------------------------------------
    def __len__(self) -> int:
        return len(self._annotations)

    def get_image_size(self, idx: int) -> Tuple[int, int]:
        """Return ``(height, width)`` of image ``idx`` from its XML, without decoding it.

        Args:
            idx: Dataset index.

        Returns:
            ``(height, width)`` in pixels.
        """
        ann = self._annotations[idx]
        return int(ann["height"]), int(ann["width"])

    def get_annotation(self, idx: int) -> Dict[str, Any]:
        """Return the raw annotation of image ``idx`` (a copy), difficult objects included.

        Args:
            idx: Dataset index.

        Returns:
            A dict: ``image_name``, ``filename``, ``image_path``, ``xml_path``, ``width``,
            ``height``, ``num_objects_in_file`` (objects in the XML, rejected ones
            included) and ``objects`` (``name``, ``bbox`` as 1-based inclusive
            ``(xmin, ymin, xmax, ymax)`` exactly as in the XML, ``difficult``,
            ``truncated``, ``extra``, ``index``: the position in the XML). Objects
            rejected in non-strict mode or left out by ``ignore_other_classes`` are
            absent.
        """
        ann = self._annotations[idx]
        out = dict(ann)
        out["objects"] = [dict(o, extra=dict(o["extra"])) for o in ann["objects"]]
        return out

    def label_of(self, name: str) -> int:
        """Return the label (1-based) of a class name.

        Args:
            name: A class name from :attr:`classes`.

        Returns:
            ``classes.index(name) + 1``.

        Raises:
            KeyError: If the name is not a class of this dataset.
        """
        return self._label[name]

    def _target_objects(self, idx: int) -> List[Dict[str, Any]]:
        return [o for o in self._annotations[idx]["objects"] if self.keep_difficult or not o["difficult"]]

    def get_target(self, idx: int) -> Dict[str, Any]:
        """Return the target of image ``idx`` without loading the image (nor masks).

        Args:
            idx: Dataset index.

        Returns:
            The untransformed target dict (see :meth:`__getitem__`), without ``masks``.
        """
        ann = self._annotations[idx]
        objs = self._target_objects(idx)
        w, h = float(ann["width"]), float(ann["height"])
        if objs:
            b = np.array([o["bbox"] for o in objs], dtype=np.float64)
            b[:, 0:2] -= 1.0  # 1-based inclusive -> 0-based continuous
            b[:, [0, 2]] = b[:, [0, 2]].clip(0.0, w)
            b[:, [1, 3]] = b[:, [1, 3]].clip(0.0, h)
            boxes = torch.as_tensor(b, dtype=torch.float32)
        else:
            boxes = torch.zeros((0, 4), dtype=torch.float32)
        return {
            "boxes": boxes,
            "labels": torch.as_tensor([self._label[o["name"]] for o in objs], dtype=torch.int64),
            "image_id": idx,
            "area": (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]),
            "iscrowd": torch.zeros((len(objs),), dtype=torch.int64),
            "difficult": torch.as_tensor([o["difficult"] for o in objs], dtype=torch.bool),
        }

    def load_image(self, idx: int) -> np.ndarray:
        """Decode image ``idx`` as an HWC uint8 RGB array (rules: :mod:`detaug.data.images`).

        Args:
            idx: Dataset index.

        Returns:
            The image array.

        Raises:
            FileNotFoundError: If the image file is missing.
            ImageFileError: If it cannot be decoded (truncated, too large, ...).
            VOCAnnotationError: If its size is not the XML's ``<size>``.
        """
        ann = self._annotations[idx]
        path = ann["image_path"] or self._find_image(ann["image_name"], ann["filename"], Path(ann["xml_path"]))
        if path is None or not Path(path).is_file():
            raise FileNotFoundError(f"{ann['xml_path']}: image file not found")
        image = read_rgb(path)
        if image.shape[:2] != self.get_image_size(idx):
            raise VOCAnnotationError(
                f"{ann['xml_path']}: <size> says {ann['width']}x{ann['height']} but the image "
                f"{path} is {image.shape[1]}x{image.shape[0]} (width x height)"
            )
        return image

    def load_masks(self, idx: int) -> Optional[np.ndarray]:
        """Instance masks of image ``idx``, aligned with :meth:`get_target`'s boxes.

        Args:
            idx: Dataset index.

        Returns:
            uint8 ``[N, H, W]`` of 0/1, or None when ``SegmentationObject/<id>.png`` does
            not exist.

        Raises:
            ImageFileError: If the PNG is not a valid instance mask of this image (see
                :func:`detaug.data.masks.read_voc_instance_masks`).
        """
        ann = self._annotations[idx]
        png = self.root / "SegmentationObject" / f"{ann['image_name']}.png"
        if not png.is_file():
            return None
        indices = [o["index"] for o in self._target_objects(idx)]
        return read_voc_instance_masks(png, indices, ann["num_objects_in_file"], self.get_image_size(idx))

    def __getitem__(self, idx: int) -> Tuple[torch.Tensor, Dict[str, Any]]:
        """Return ``(image, target)`` for index ``idx``.

        Args:
            idx: Dataset index.

        Returns:
            ``image``: float32 CHW tensor in [0, 1]. ``target``: ``boxes`` float32 [N, 4]
            (xyxy, 0-based continuous pixels), ``labels`` int64 [N] (1..num_classes),
            ``image_id`` (``idx``), ``area`` float32 [N], ``iscrowd`` int64 [N] (zeros),
            ``difficult`` bool [N] (all False unless ``keep_difficult``), ``masks`` uint8
            [N, H, W] (with ``masks=True``, when the image has a mask PNG), plus whatever
            the transform adds (``applied_transforms``, ``erasing_plan``, ...).
        """
        if idx < 0:
            idx += len(self)
        target = self.get_target(idx)
        if self.masks:
            masks = self.load_masks(idx)
            if masks is not None:
                target["masks"] = torch.from_numpy(masks)
        return apply_transforms(self.transforms, self.load_image(idx), target)

    def __repr__(self) -> str:
        extra = []
        if self.classes != list(VOC_CLASSES):
            extra.append(f"classes={self.classes}")
        for flag in ("keep_difficult", "ignore_other_classes", "masks"):
            if getattr(self, flag):
                extra.append(f"{flag}=True")
        if not self.strict:
            extra.append("strict=False")
        if self.transforms is not None:
            extra.append(f"transforms={self.transforms!r}")
        args = ", ".join([f"root='{self.root}'", f"split='{self.split}'"] + extra)
        return f"VOCDetection({args}) [{len(self)} images]"


def build_voc(
    pairs: Sequence[Tuple[Union[str, os.PathLike], str]],
    classes: Optional[Sequence[str]] = None,
    transforms: Optional[Callable] = None,
    **options: Any,
):
    """Build a VOC dataset from one or several ``(root, split)`` pairs (e.g. 07+12).

    Args:
        pairs: ``[(root, split), ...]``, e.g.
            ``[("VOCdevkit/VOC2007", "trainval"), ("VOCdevkit/VOC2012", "trainval")]``.
        classes: Class list shared by all parts (default: :data:`VOC_CLASSES`).
        transforms: Transform applied by every part.
        **options: the other keyword arguments of :class:`VOCDetection`
            (``keep_difficult``, ``strict``, ``check_images``, ``ignore_other_classes``,
            ``masks``), for every part.

    Returns:
        The :class:`VOCDetection` itself for one pair, else a
        :class:`~detaug.data.concat.DetectionConcatDataset` that keeps
        ``get_image_size``, ``get_annotation``, ``image_names`` and ``classes`` working
        and renumbers ``target["image_id"]`` to the concatenated index.

    Raises:
        ValueError: If ``pairs`` is empty or not made of ``(root, split)`` pairs.

    Examples:
        >>> import tempfile
        >>> from detaug.data import generate_synthetic
        >>> info = generate_synthetic(tempfile.mkdtemp(), num_train=3, num_test=2)
        >>> ds = build_voc([(info.voc_root, "train"), (info.voc_root, "test")],
        ...                classes=info.classes)
        >>> len(ds), ds[4][1]["image_id"]
        (5, 4)
    """
    from .concat import DetectionConcatDataset

    pairs = list(pairs)
    if not pairs:
        raise ValueError("pairs must contain at least one (root, split) pair")
    for p in pairs:
        if isinstance(p, (str, bytes, os.PathLike)) or len(p) != 2:
            raise ValueError(f"pairs must be (root, split) pairs, got {p!r}")
    parts = [VOCDetection(root, split, classes=classes, transforms=transforms, **options) for root, split in pairs]
    return parts[0] if len(parts) == 1 else DetectionConcatDataset(parts)
