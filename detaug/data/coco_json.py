"""Reading and checking a COCO instances JSON before pycocotools indexes it.

pycocotools trusts its input: a wrong structure ends in an AssertionError, TypeError or
KeyError from deep inside, and some mistakes change results silently (duplicate
annotation ids make COCOeval score perfect detections 0.505; annotations on an unknown
image are dropped). So every record is checked here first, and the first problem is one
:class:`~detaug.errors.COCOFormatError` naming the file, the record
(``annotations[17] (id 42)``) and the field, and saying what was expected.

Rules (the COCO format's, https://cocodataset.org/#format-data):

* the top level is an object with lists ``images``, ``annotations``, ``categories``;
* ids (image, annotation, category) are integers, unique within their list; category
  names are unique strings;
* an image has positive finite ``width`` and ``height``;
* an annotation names an existing ``image_id`` and ``category_id`` and has ``bbox``
  ``[x, y, width, height]`` of 4 finite numbers with ``width, height >= 0``; ``iscrowd``
  is 0 or 1 (0 when absent) and ``area`` a finite number >= 0 (the box area when absent,
  as pycocotools' ``loadRes`` does for results).

``segmentation`` is only checked when masks are asked for
(:func:`check_segmentation`).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Union

from detaug.checks import is_finite_number, read_utf8, shorten

from .errors import COCOFormatError

__all__ = ["check_instances", "check_segmentation", "coco_from_dict", "load_coco", "read_json"]


def read_json(path: Union[str, os.PathLike]) -> Any:
    """Parse a JSON file; bad bytes or syntax are a :class:`COCOFormatError` naming it.

    Args:
        path: The file.

    Returns:
        The parsed value.

    Raises:
        FileNotFoundError: If the file does not exist.
        COCOFormatError: If it is not UTF-8 or not JSON.
    """
    path = Path(path)
    if not path.is_file():
        kind = "a folder, expected a JSON file" if path.is_dir() else "file not found"
        raise FileNotFoundError(f"{path}: {kind}")
    text = read_utf8(path, COCOFormatError)
    try:
        return json.loads(text)
    except ValueError as e:  # json.JSONDecodeError
        raise COCOFormatError(f"{path}: not valid JSON ({e})") from None
    except RecursionError:
        raise COCOFormatError(f"{path}: JSON nested too deeply to be a COCO file") from None


class _Kind(str):
    """A type name shown as "a list" in messages."""

    def __repr__(self) -> str:
        return f"a {self}" if self[0] not in "aeiou" else f"an {self}"


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Checker:
    """Raise for the first problem, naming ``where``, the record and the field."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, record: str, field: str, value: Any, expected: str) -> None:
        got = "missing" if value is _MISSING else f"is {shorten(value)}"
        raise COCOFormatError(f"{self.where}: {record}: {field!r} {got}, expected {expected}")

    def records(self, data: Mapping[str, Any], key: str) -> List[Any]:
        value = data.get(key, _MISSING)
        if not isinstance(value, list):
            self.fail("top level", key, value if value is _MISSING else _Kind(type(value).__name__), "a list")
        return value

    def ids(self, records: List[Any], name: str) -> Dict[int, int]:
        """``{id: position}``; every record a dict with a unique integer id."""
        seen: Dict[int, int] = {}
        for k, r in enumerate(records):
            if not isinstance(r, dict):
                self.fail(f"{name}[{k}]", "entry", _Kind(type(r).__name__), "an object")
            rid = r.get("id", _MISSING)
            if not _is_id(rid):
                self.fail(f"{name}[{k}]", "id", rid, "an integer")
            if rid in seen:
                raise COCOFormatError(
                    f"{self.where}: {name}[{k}] and {name}[{seen[rid]}] share the id {rid}; "
                    f"{name} ids must be unique"
                )
            seen[rid] = k
        return seen


_MISSING = object()


def _number(v: Any) -> bool:
    """:func:`is_finite_number`, with a fast path for what ``json`` yields (a COCO train
    file has about a million annotations; this check runs five times for each)."""
    t = type(v)
    if t is float:
        return math.isfinite(v)
    return t is int or is_finite_number(v)


def _check_annotation(c: _Checker, k: int, a: Dict[str, Any], images: Mapping, categories: Mapping) -> None:
    def fail(field: str, value: Any, expected: str) -> None:
        c.fail(f"annotations[{k}] (id {a['id']})", field, value, expected)

    for field, known in (("image_id", images), ("category_id", categories)):
        value = a.get(field, _MISSING)
        if type(value) is not int:
            fail(field, value, "an integer id")
        if value not in known:
            fail(field, value, f"the id of an entry of '{'images' if field == 'image_id' else 'categories'}'")
    box = a.get("bbox", _MISSING)
    if not (type(box) is list and len(box) == 4 and _number(box[0]) and _number(box[1])
            and _number(box[2]) and _number(box[3])):
        fail("bbox", box, "[x, y, width, height]: 4 finite numbers")
    if box[2] < 0 or box[3] < 0:
        fail("bbox", box, "a width and height >= 0")
    crowd = a.setdefault("iscrowd", 0)
    if crowd not in (0, 1) or not isinstance(crowd, int):
        fail("iscrowd", crowd, "0 or 1")
    area = a.setdefault("area", float(box[2] * box[3]))
    if not _number(area) or area < 0:
        fail("area", area, "a finite number >= 0")


def check_instances(data: Any, where: Union[str, os.PathLike]) -> Dict[str, Any]:
    """Check an instances dict by the rules of this module; fill ``iscrowd``/``area``.

    Args:
        data: The parsed JSON.
        where: The file (or a description) named in error messages.

    Returns:
        ``data`` itself, with missing ``iscrowd`` and ``area`` filled in.

    Raises:
        COCOFormatError: For the first record that breaks a rule.

    Examples:
        >>> d = {"images": [{"id": 1, "width": 9, "height": 9}], "categories": [{"id": 1, "name": "a"}],
        ...      "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 3]}]}
        >>> check_instances(d, "x.json")["annotations"][0]["area"]
        6.0
        >>> d["annotations"][0]["bbox"] = [0, 0, 2]
        >>> check_instances(d, "x.json")
        Traceback (most recent call last):
        ...
        detaug.errors.COCOFormatError: x.json: annotations[0] (id 1): 'bbox' is [0, 0, 2], expected [x, y, width, height]: 4 finite numbers
    """
    c = _Checker(str(where))
    if not isinstance(data, dict):
        c.fail("top level", "document", _Kind(type(data).__name__), "an object with images, annotations and categories")
    images, anns, cats = (c.records(data, key) for key in ("images", "annotations", "categories"))
    categories = c.ids(cats, "categories")
    names: Dict[str, int] = {}
    for k, cat in enumerate(cats):
        if not isinstance(cat.get("name"), str):
            c.fail(f"categories[{k}] (id {cat['id']})", "name", cat.get("name", _MISSING), "a string")
        if cat["name"] in names:  # per-class results are keyed by name
            raise COCOFormatError(
                f"{where}: categories[{k}] and categories[{names[cat['name']]}] share the name "
                f"{cat['name']!r}; category names must be unique"
            )
        names[cat["name"]] = k
    image_ids = c.ids(images, "images")
    for k, im in enumerate(images):
        for field in ("width", "height"):
            value = im.get(field, _MISSING)
            if not is_finite_number(value) or value <= 0:
                c.fail(f"images[{k}] (id {im['id']})", field, value, "a positive number")
    c.ids(anns, "annotations")
    for k, a in enumerate(anns):
        _check_annotation(c, k, a, image_ids, categories)
    return data


def check_segmentation(ann: Mapping[str, Any], image: Mapping[str, Any], where: str, k: int) -> None:
    """Check one annotation's ``segmentation`` (polygons or RLE) before rasterising it.

    Args:
        ann: The annotation.
        image: Its image record (``width``, ``height``).
        where: The file named in the message.
        k: The annotation's position, named in the message.

    Raises:
        COCOFormatError: If it is neither a list of polygons (lists of at least 6 finite
            numbers, an even count) nor an RLE ``{"counts", "size": [height, width]}`` of
            the image's size.
    """
    seg = ann.get("segmentation", _MISSING)
    c = _Checker(where)
    record = f"annotations[{k}] (id {ann['id']})"
    if isinstance(seg, dict):
        size = [int(image["height"]), int(image["width"])]
        if seg.get("size") != size or not isinstance(seg.get("counts"), (str, list)):
            c.fail(record, "segmentation", seg, f"an RLE with 'counts' and 'size' {size} (the image's)")
        return
    polygon_ok = isinstance(seg, list) and bool(seg) and all(
        isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 and all(is_finite_number(v) for v in p)
        for p in seg
    )
    if not polygon_ok:
        c.fail(record, "segmentation", seg, "polygons [[x1, y1, x2, y2, x3, y3, ...], ...] or an RLE")


def coco_from_dict(data: Dict[str, Any]):
    """Index a checked instances dict with pycocotools (quietly).

    Args:
        data: A dict that passed :func:`check_instances`.

    Returns:
        A ``pycocotools.coco.COCO`` object.
    """
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = data
        coco.createIndex()
    return coco


def load_coco(ann_file: Union[str, os.PathLike]):
    """Read, check (rules of this module) and index a COCO instances JSON.

    Args:
        ann_file: Path to the JSON file.

    Returns:
        A ``pycocotools.coco.COCO`` object.

    Raises:
        FileNotFoundError: If the file does not exist.
        COCOFormatError: (a ``ValueError``) If it is not UTF-8 JSON or breaks a rule.
    """
    return coco_from_dict(check_instances(read_json(ann_file), ann_file))
