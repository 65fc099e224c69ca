"""Where the class list of a dataset or of a run's predictions is written down.

Tools that read saved predictions (``eval_det voc``) need the class names, and a new user
should not have to type them when a file nearby already says them. The rule, first match
wins:

1. classes given explicitly (``--classes``);
2. the training run that wrote the predictions: the nearest ``config.yaml`` in the
   results folder or up to four folders above it (a run folder holds
   ``predictions/<tag>/<split>/``), with its ``data.classes``, else its ``data.kind``'s
   default (``synthetic``: :data:`~detaug.data.SYNTHETIC_CLASSES`, ``voc``: the 20 VOC
   classes);
3. the dataset itself: a synthetic set's ``manifest.json`` (``settings.classes``), found
   two folders above its ``VOCdevkit/SYNTH`` root;
4. the 20 PASCAL VOC classes.

Only an explicit list (1, or 2 with ``data.classes`` set) is a chosen subset whose other
objects may be ignored; a list found by default must cover the annotations.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Sequence, Union

from .errors import DataFileError

__all__ = ["ClassList", "find_class_list"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class ClassList:
    """A class list and where it came from.

    Attributes:
        names: The class names (label ``i`` is ``names[i - 1]``).
        source: Where they were read, for messages (``"--classes"``, a file path, ...).
        subset: True when the list was chosen explicitly, so objects of other classes may
            be left out; False for a default that must cover the annotations.
    """

    names: List[str]
    source: str
    subset: bool


def _names(value: Any) -> Optional[List[str]]:
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return list(value)
    return None


def _from_run_config(path: Path) -> Optional[ClassList]:
    import yaml

    from .synthetic import SYNTHETIC_CLASSES
    from .voc import VOC_CLASSES

    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise DataFileError(f"{path}: cannot read the run's class list ({e}); pass --classes") from None
    data = cfg.get("data") if isinstance(cfg, dict) else None
    if not isinstance(data, dict):
        return None
    names = _names(data.get("classes"))
    if names:
        return ClassList(names, f"{path} (data.classes)", subset=True)
    defaults = {"synthetic": SYNTHETIC_CLASSES, "voc": VOC_CLASSES}.get(data.get("kind"))
    return ClassList(list(defaults), f"{path} (data.kind {data['kind']})", subset=False) if defaults else None


def _from_manifest(voc_root: Path) -> Optional[ClassList]:
    voc_root = voc_root.resolve()
    path = voc_root.parent.parent / "manifest.json"
    if voc_root.parent.name != "VOCdevkit" or not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DataFileError(f"{path}: cannot read the dataset's class list ({e}); pass --classes") from None
    settings = manifest.get("settings") if isinstance(manifest, dict) else None
    names = _names(settings.get("classes")) if isinstance(settings, dict) else None
    return ClassList(names, str(path), subset=False) if names else None


def find_class_list(
    voc_root: PathLike, results_dir: Optional[PathLike] = None, explicit: Optional[Sequence[str]] = None
) -> ClassList:
    """The class list for evaluating ``results_dir`` against ``voc_root``, by the rule above.

    Args:
        voc_root: The ``VOCdevkit/<name>`` folder.
        results_dir: The folder of result files, if any.
        explicit: Names given by the user; they win.

    Returns:
        A :class:`ClassList`.

    Raises:
        DataFileError: If a ``config.yaml`` or ``manifest.json`` on the way cannot be read.

    Examples:
        >>> find_class_list("nowhere/VOC2007").source
        'the 20 VOC classes (default)'
        >>> find_class_list("x", explicit=["cat", "dog"]).names
        ['cat', 'dog']
    """
    from .voc import VOC_CLASSES

    if explicit:
        return ClassList(list(explicit), "--classes", subset=True)
    if results_dir is not None:
        folder = Path(results_dir).resolve()
        for candidate in [folder, *folder.parents][:5]:
            if (candidate / "config.yaml").is_file():
                found = _from_run_config(candidate / "config.yaml")
                if found:
                    return found
                break
    return _from_manifest(Path(voc_root)) or ClassList(list(VOC_CLASSES), "the 20 VOC classes (default)", False)
