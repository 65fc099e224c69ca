"""Parsing one PASCAL VOC annotation file (``Annotations/<image id>.xml``).

The parser is defusedxml's (entity expansion and external references are refused), and
every value is checked where it is read: numbers must be finite (``inf``, ``nan``,
``1e400`` are errors, not overflows later), flags must be numbers, required tags must be
present. Coordinates are returned exactly as written (1-based, inclusive); class and box
checks are the dataset's job (:class:`detaug.data.VOCDetection`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Dict, Optional, Union
from xml.etree.ElementTree import ParseError

from detaug.checks import shorten

from .errors import VOCAnnotationError

__all__ = ["parse_voc_xml"]


def _text(node, tag: str, path: Path, required: bool = True) -> Optional[str]:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        if required:
            raise VOCAnnotationError(f"{path}: missing <{tag}>")
        return None
    return child.text.strip()


def _finite(text: str, tag: str, path: Path, what: str, expected: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        cut = text if len(text) <= 40 else shorten(text, 40)
        raise VOCAnnotationError(f"{path}: {what}<{tag}>{cut}</{tag}>, expected {expected}")
    return value


def _number(node, tag: str, path: Path, what: str = "") -> float:
    return _finite(_text(node, tag, path), tag, path, what, "a finite number")


def _flag(node, tag: str, path: Path, what: str) -> bool:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        return False
    # "yes", "inf" or "1e400" must not be guessed into a difficult or a normal object
    return _finite(child.text.strip(), tag, path, f"{what}has ", "a number (0 or 1)") != 0


def _object(obj, k: int, path: Path) -> Dict[str, Any]:
    name = _text(obj, "name", path)
    what = f"object {k} ({name}) "
    box = obj.find("bndbox")
    if box is None:
        raise VOCAnnotationError(f"{path}: {what}has no <bndbox>")
    bbox = tuple(_number(box, t, path, f"{what}has ") for t in ("xmin", "ymin", "xmax", "ymax"))
    extra = {
        c.tag: c.text.strip()
        for c in obj
        if len(c) == 0 and c.text and c.tag not in ("name", "difficult", "truncated")
    }
    return {
        "name": name,
        "bbox": bbox,
        "difficult": _flag(obj, "difficult", path, what),
        "truncated": _flag(obj, "truncated", path, what),
        "extra": extra,
        "index": k,
    }


def parse_voc_xml(path: Union[str, os.PathLike]) -> Dict[str, Any]:
    """Parse one VOC annotation file with a hardened XML parser (defusedxml).

    Args:
        path: The ``.xml`` file.

    Returns:
        A dict with ``filename`` (str or None), ``width`` and ``height`` (int or None when
        ``<size>`` is absent), ``xml_path`` and ``objects``: a list of dicts with
        ``name``, ``bbox`` (``(xmin, ymin, xmax, ymax)`` floats as in the file),
        ``difficult``, ``truncated`` (bools), ``index`` (position in the file, which is
        the object's value in a ``SegmentationObject`` PNG minus one) and any other
        simple child values (e.g. ``pose``, ``occlusion_level``) as strings under
        ``extra``.

    Raises:
        VOCAnnotationError: If the file is malformed, forbidden by defusedxml (entities,
            external references), misses ``<name>``/``<bndbox>`` values, has a
            coordinate or size that is not a finite number, or a ``<difficult>`` /
            ``<truncated>`` that is not a finite number (e.g. ``yes``, ``inf``).
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
        width = int(_number(size, "width", path, "<size> "))
        height = int(_number(size, "height", path, "<size> "))
    return {
        "filename": _text(root, "filename", path, required=False),
        "width": width,
        "height": height,
        "objects": [_object(obj, k, path) for k, obj in enumerate(root.findall("object"))],
        "xml_path": str(path),
    }
