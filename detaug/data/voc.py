"""PASCAL VOC detection dataset read from a real ``VOCdevkit/VOC20xx`` folder.

Layout (the devkit's)::

    VOC2007/
        Annotations/<image_id>.xml
        JPEGImages/<image_id>.jpg
        ImageSets/Main/<split>.txt      # one image id per line

Coordinate convention. The XML stores 1-based, inclusive pixel indices: a box covering the
whole image is ``xmin=1, xmax=W``. Targets use 0-based continuous coordinates, so pixel
``i`` (1-based) spans ``[i - 1, i)``::

    x1 = xmin - 1,  y1 = ymin - 1,  x2 = xmax,  y2 = ymax

which keeps the devkit's inclusive width ``xmax - xmin + 1 == x2 - x1`` (the convention
detectron2 uses). :mod:`detaug.evaluation` inverts it exactly (``xmin = x1 + 1``,
``xmax = x2``), so a prediction equal to a target box has IoU 1 under the devkit rules.
The untouched XML values stay available through :meth:`VOCDetection.get_annotation`.

Problems in the data (malformed or hostile XML, a missing or unreadable image, an XML
``<size>`` that is not the image's, an object whose class is not in the class list, an
empty box ``xmax < xmin`` or ``ymax < ymin``, a box with no area left once clipped to the
image) raise :class:`VOCAnnotationError` naming the file when ``strict=True`` (the
default); with
``strict=False`` they emit a :class:`VOCAnnotationWarning` naming the file, the object or
image is left out, and the message is kept in :attr:`VOCDetection.problems`.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union
from xml.etree.ElementTree import ParseError

import numpy as np
import torch
from PIL import Image

from .transforms import apply_transforms

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


class VOCAnnotationError(ValueError):
    """A VOC annotation problem (the message starts with the offending file)."""


class VOCAnnotationWarning(UserWarning):
    """Warning for a VOC annotation problem when the dataset is not strict."""


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


def _text(node, tag: str, path: Path, required: bool = True) -> Optional[str]:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        if required:
            raise VOCAnnotationError(f"{path}: missing <{tag}>")
        return None
    return child.text.strip()


def _number(node, tag: str, path: Path) -> float:
    text = _text(node, tag, path)
    try:
        value = float(text)
    except ValueError:
        raise VOCAnnotationError(f"{path}: <{tag}> is not a number: {text!r}") from None
    if not np.isfinite(value):
        raise VOCAnnotationError(f"{path}: <{tag}> is not finite: {text!r}")
    return value


def _flag(node, tag: str, path: Path, what: str) -> bool:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        return False
    text = child.text.strip()
    try:
        return bool(int(float(text)))
    except ValueError:  # e.g. "yes": guessing could turn a difficult object into a normal one
        raise VOCAnnotationError(
            f"{path}: {what} has <{tag}>{text}</{tag}>, expected a number (0 or 1)"
        ) from None


def parse_voc_xml(path: Union[str, os.PathLike]) -> Dict[str, Any]:
    """Parse one VOC annotation file with a hardened XML parser (defusedxml).

    Coordinates are returned exactly as written (1-based, inclusive); nothing is
    filtered here: class and box checks are the dataset's job.

    Args:
        path: The ``.xml`` file.

    Returns:
        A dict with ``filename`` (str or None), ``width`` and ``height`` (int or None when
        ``<size>`` is absent), ``xml_path`` and ``objects``: a list of dicts with
        ``name``, ``bbox`` (``(xmin, ymin, xmax, ymax)`` floats as in the file),
        ``difficult``, ``truncated`` (bools) and any other simple child values
        (e.g. ``pose``, ``occlusion_level``) as strings under ``extra``.

    Raises:
        VOCAnnotationError: If the file is malformed, forbidden by defusedxml (entities,
            external references), misses ``<name>``/``<bndbox>`` values or has a
            non-numeric ``<difficult>``/``<truncated>`` (e.g. ``yes``).
        FileNotFoundError: If the file does not exist.

    Examples:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.xml"
        >>> _ = p.write_text("<annotation><size><width>5</width><height>4</height></size>"
        ...     "<object><name>dog</name><difficult>1</difficult><bndbox><xmin>1</xmin>"
        ...     "<ymin>2</ymin><xmax>5</xmax><ymax>4</ymax></bndbox></object></annotation>")
        >>> ann = parse_voc_xml(p)
        >>> ann["width"], ann["objects"][0]["bbox"], ann["objects"][0]["difficult"]
        (5, (1.0, 2.0, 5.0, 4.0), True)
    """
    import defusedxml.ElementTree as ET
    from defusedxml import DefusedXmlException

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: annotation file not found")
    try:
        root = ET.parse(str(path)).getroot()
    except ParseError as e:
        raise VOCAnnotationError(f"{path}: malformed XML ({e})") from None
    except DefusedXmlException as e:
        raise VOCAnnotationError(f"{path}: XML rejected by the hardened parser ({e!r})") from None
    size = root.find("size")
    width = height = None
    if size is not None and size.find("width") is not None:
        width = int(_number(size, "width", path))
        height = int(_number(size, "height", path))
    objects = []
    for k, obj in enumerate(root.findall("object")):
        name = _text(obj, "name", path)
        box = obj.find("bndbox")
        if box is None:
            raise VOCAnnotationError(f"{path}: object {k} ({name}) has no <bndbox>")
        bbox = tuple(_number(box, t, path) for t in ("xmin", "ymin", "xmax", "ymax"))
        extra = {
            c.tag: c.text.strip()
            for c in obj
            if len(c) == 0 and c.text and c.tag not in ("name", "difficult", "truncated")
        }
        objects.append(
            {
                "name": name,
                "bbox": bbox,
                "difficult": _flag(obj, "difficult", path, f"object {k} ({name})"),
                "truncated": _flag(obj, "truncated", path, f"object {k} ({name})"),
                "extra": extra,
            }
        )
    return {
        "filename": _text(root, "filename", path, required=False),
        "width": width,
        "height": height,
        "objects": objects,
        "xml_path": str(path),
    }


class VOCDetection(torch.utils.data.Dataset):
    """PASCAL VOC (or any VOC-format export) for detection.

    All annotations are parsed and checked once, in the constructor, so problems surface
    before training starts and image sizes are known without decoding any image.

    Args:
        root: A ``VOCdevkit/VOC20xx`` folder (``Annotations``, ``JPEGImages``,
            ``ImageSets/Main``).
        split: Name of the image set, e.g. ``"trainval"`` (reads
            ``ImageSets/Main/<split>.txt``).
        classes: Class names without background; label = index + 1. Defaults to the 20
            :data:`VOC_CLASSES`.
        transforms: Optional albumentations pipeline or torchvision-v2 callable applied
            to image and boxes together (see :mod:`detaug.data.transforms`).
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
        keep_difficult: bool = False,
        strict: bool = True,
        check_images: bool = True,
        *,
        ignore_other_classes: bool = False,
    ) -> None:
        self.root = Path(root)
        self.split = split
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
        self.ignored_objects: Dict[str, int] = {}
        self.year = voc_year(self.root)
        self.use_07_metric = self.year is not None and self.year < 2010
        self.problems: List[str] = []

        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: VOC root folder not found")
        ann_dir = self.root / "Annotations"
        if not ann_dir.is_dir():
            raise FileNotFoundError(f"{ann_dir}: Annotations folder not found")
        split_file = self.root / "ImageSets" / "Main" / f"{split}.txt"
        if not split_file.is_file():
            available = sorted(p.stem for p in split_file.parent.glob("*.txt"))[:20]
            raise FileNotFoundError(
                f"{split_file}: split file not found (available: {available})"
            )
        names = [ln.split()[0] for ln in split_file.read_text().splitlines() if ln.strip()]

        self.image_names: List[str] = []
        self.dropped_images: List[str] = []
        self._annotations: List[Dict[str, Any]] = []
        self._image_paths: List[Optional[Path]] = []
        for name in names:
            ann = self._load_one(name, ann_dir, check_images)
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

    def _find_image(self, name: str, filename: Optional[str]) -> Optional[Path]:
        img_dir = self.root / "JPEGImages"
        candidates = [img_dir / f"{name}.jpg"]
        if filename:
            candidates.append(img_dir / filename)
        candidates += [img_dir / f"{name}{ext}" for ext in _IMAGE_EXTS]
        for c in candidates:
            if c.is_file():
                return c
        return None

    def _load_one(self, name: str, ann_dir: Path, check_images: bool):
        xml_path = ann_dir / f"{name}.xml"
        try:
            ann = parse_voc_xml(xml_path)
        except (VOCAnnotationError, FileNotFoundError) as e:
            self._problem(str(e))
            return None
        image_path = self._find_image(name, ann["filename"])
        if image_path is None and check_images:
            self._problem(
                f"{xml_path}: image not found in {self.root / 'JPEGImages'} "
                f"(tried {name}.jpg and <filename>)"
            )
            return None
        image_size = None
        if image_path is not None and check_images:
            try:
                with Image.open(image_path) as im:  # reads the header, decodes no pixel
                    image_size = im.size
            except OSError as e:  # PIL.UnidentifiedImageError is an OSError
                self._problem(f"{xml_path}: cannot read the image {image_path} ({e})")
                return None
        size = (ann["width"], ann["height"])
        if None in size or min(size) <= 0:
            if image_path is None:
                self._problem(
                    f"{xml_path}: no valid <size> (width={size[0]}, height={size[1]}) and no "
                    "image to read it from"
                )
                return None
            if image_size is None:
                with Image.open(image_path) as im:
                    image_size = im.size
            ann["width"], ann["height"] = image_size
        elif image_size is not None and tuple(image_size) != size:
            self._problem(
                f"{xml_path}: <size> says {size[0]}x{size[1]} but the image {image_path} is "
                f"{image_size[0]}x{image_size[1]} (width x height)"
            )
            return None
        w, h = float(ann["width"]), float(ann["height"])
        kept = []
        for k, obj in enumerate(ann["objects"]):
            xmin, ymin, xmax, ymax = obj["bbox"]
            if obj["name"] not in self._label:
                if self.ignore_other_classes:
                    self.ignored_objects[obj["name"]] = self.ignored_objects.get(obj["name"], 0) + 1
                    continue
                self._problem(
                    f"{xml_path}: object {k} has class {obj['name']!r}, not in the class "
                    f"list ({len(self.classes)} classes: {self.classes[:5]}...)"
                )
                continue
            if xmax < xmin or ymax < ymin:
                self._problem(
                    f"{xml_path}: object {k} ({obj['name']}) has an empty box "
                    f"xmin={xmin:g} ymin={ymin:g} xmax={xmax:g} ymax={ymax:g}"
                )
                continue
            # the training box is clipped to the image (get_target): it must keep an area
            x1, x2 = min(max(xmin - 1.0, 0.0), w), min(max(xmax, 0.0), w)
            y1, y2 = min(max(ymin - 1.0, 0.0), h), min(max(ymax, 0.0), h)
            if x2 <= x1 or y2 <= y1:
                self._problem(
                    f"{xml_path}: object {k} ({obj['name']}) lies outside the "
                    f"{ann['width']}x{ann['height']} image "
                    f"(xmin={xmin:g} ymin={ymin:g} xmax={xmax:g} ymax={ymax:g}): no area "
                    "left after clipping"
                )
                continue
            kept.append(obj)
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
            ``height`` and ``objects`` (``name``, ``bbox`` as 1-based inclusive
            ``(xmin, ymin, xmax, ymax)`` exactly as in the XML, ``difficult``,
            ``truncated``, ``extra``). Objects rejected in non-strict mode are absent.
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

    def get_target(self, idx: int) -> Dict[str, Any]:
        """Return the target of image ``idx`` without loading the image.

        Args:
            idx: Dataset index.

        Returns:
            The untransformed target dict (see :meth:`__getitem__`).
        """
        ann = self._annotations[idx]
        objs = [o for o in ann["objects"] if self.keep_difficult or not o["difficult"]]
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
        """Decode image ``idx`` as an HWC uint8 RGB array.

        Args:
            idx: Dataset index.

        Returns:
            The image array.

        Raises:
            FileNotFoundError: If the image file is missing.
        """
        ann = self._annotations[idx]
        path = ann["image_path"] or self._find_image(ann["image_name"], ann["filename"])
        if path is None or not Path(path).is_file():
            raise FileNotFoundError(f"{ann['xml_path']}: image file not found")
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))

    def __getitem__(self, idx: int) -> Tuple[torch.Tensor, Dict[str, Any]]:
        """Return ``(image, target)`` for index ``idx``.

        Args:
            idx: Dataset index.

        Returns:
            ``image``: float32 CHW tensor in [0, 1]. ``target``: ``boxes`` float32 [N, 4]
            (xyxy, 0-based continuous pixels), ``labels`` int64 [N] (1..num_classes),
            ``image_id`` (``idx``), ``area`` float32 [N], ``iscrowd`` int64 [N] (zeros),
            ``difficult`` bool [N] (all False unless ``keep_difficult``), plus whatever
            the transform adds (``applied_transforms``, ``erasing_plan``, ...).
        """
        if idx < 0:
            idx += len(self)
        return apply_transforms(self.transforms, self.load_image(idx), self.get_target(idx))

    def __repr__(self) -> str:
        extra = []
        if self.classes != list(VOC_CLASSES):
            extra.append(f"classes={self.classes}")
        if self.keep_difficult:
            extra.append("keep_difficult=True")
        if not self.strict:
            extra.append("strict=False")
        if self.ignore_other_classes:
            extra.append("ignore_other_classes=True")
        if self.transforms is not None:
            extra.append(f"transforms={self.transforms!r}")
        args = ", ".join([f"root='{self.root}'", f"split='{self.split}'"] + extra)
        return f"VOCDetection({args}) [{len(self)} images]"


def build_voc(
    pairs: Sequence[Tuple[Union[str, os.PathLike], str]],
    classes: Optional[Sequence[str]] = None,
    transforms: Optional[Callable] = None,
    keep_difficult: bool = False,
    strict: bool = True,
    check_images: bool = True,
    *,
    ignore_other_classes: bool = False,
):
    """Build a VOC dataset from one or several ``(root, split)`` pairs (e.g. 07+12).

    Args:
        pairs: ``[(root, split), ...]``, e.g.
            ``[("VOCdevkit/VOC2007", "trainval"), ("VOCdevkit/VOC2012", "trainval")]``.
        classes: Class list shared by all parts (default: :data:`VOC_CLASSES`).
        transforms: Transform applied by every part.
        keep_difficult: See :class:`VOCDetection`.
        strict: See :class:`VOCDetection`.
        check_images: See :class:`VOCDetection`.
        ignore_other_classes: See :class:`VOCDetection`.

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
    parts = [
        VOCDetection(
            root,
            split,
            classes=classes,
            transforms=transforms,
            keep_difficult=keep_difficult,
            strict=strict,
            check_images=check_images,
            ignore_other_classes=ignore_other_classes,
        )
        for root, split in pairs
    ]
    return parts[0] if len(parts) == 1 else DetectionConcatDataset(parts)
