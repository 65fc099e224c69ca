"""Devkit result files: ``<prefix><split>_<class>.txt``, one line per detection.

Each line is ``<image id> <score> <xmin> <ymin> <xmax> <ymax>`` in devkit 1-based
coordinates, as the devkit writes them; they are evaluated without conversion. Reading
follows the rules of every detaug input file: the text must be UTF-8 (else the file and
line are named), every value a finite number, a malformed line is quoted only in part,
and when files are missing the message says which split's files the folder does hold.
"""

from __future__ import annotations

import glob
import math
import os
import warnings
from pathlib import Path
from typing import Any, Collection, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from detaug.checks import inside_folder, read_utf8, shorten
from detaug.errors import ResultsFileError
from detaug.io import atomic_write_text
from detaug.protocols import VOCAnnotated

from .predictions import Predictions, as_prediction_map
from .voc import Detections, check_match_rule, ground_truth, score_detections, to_devkit_boxes

__all__ = ["evaluate_voc_results", "read_voc_results", "result_files_in", "write_voc_results"]


def _file_name(prefix: str, split: str, name: str) -> str:
    file_name = f"{prefix}{split}_{name}.txt"
    if any(c.isspace() for c in file_name) or "/" in file_name or "\\" in file_name:
        raise ValueError(f"result file name {file_name!r} would hold a space or a path separator")
    return file_name


def write_voc_results(
    out_dir: Union[str, os.PathLike],
    split: str,
    classes: Sequence[str],
    predictions: Predictions,
    image_names: Sequence[str],
    prefix: str = "comp4_det_",
) -> Dict[str, Path]:
    """Write devkit result files ``<prefix><split>_<class>.txt``, one per class.

    Each line is ``<image name> <score> <xmin> <ymin> <xmax> <ymax>`` in devkit 1-based
    coordinates (``xmin = x1 + 1``, ``ymin = y1 + 1``, ``xmax = x2``, ``ymax = y2``). Every
    class gets a file, empty if it has no detection. Files are written atomically.

    Args:
        out_dir: Output folder (created if needed).
        split: Split name used in the file names (e.g. ``"test"``).
        classes: Class names; label ``i`` goes to ``classes[i - 1]``'s file.
        predictions: ``{index: prediction}`` or a list in index order (0-based xyxy).
        image_names: Image name of every index (``dataset.image_names``).
        prefix: File name prefix. Default ``"comp4_det_"``.

    Returns:
        ``{class name: path}``.

    Raises:
        ValueError: If an index has no image name, a label is outside
            ``1..len(classes)``, a prediction is malformed, or a file or image name has
            a space or path separator (the format could not be read back).

    Examples:
        >>> import tempfile
        >>> paths = write_voc_results(tempfile.mkdtemp(), "test", ["cat"],
        ...     {0: {"boxes": [[0., 0., 10., 5.]], "scores": [0.5], "labels": [1]}}, ["000001"])
        >>> paths["cat"].read_text()
        '000001 0.5 1.000 1.000 10.000 5.000\\n'
    """
    files = {i + 1: _file_name(prefix, split, name) for i, name in enumerate(classes)}
    preds = as_prediction_map(predictions)
    lines: Dict[int, List[str]] = {label: [] for label in files}
    for k in sorted(preds):
        if not 0 <= k < len(image_names):
            raise ValueError(f"prediction index {k} has no image name ({len(image_names)} names)")
        if not image_names[k] or any(c.isspace() for c in image_names[k]):
            raise ValueError(f"image name {image_names[k]!r} of index {k} is empty or holds a space")
        p = preds[k]
        boxes = to_devkit_boxes(p["boxes"])
        for b, s, lab in zip(boxes, p["scores"], p["labels"]):
            if int(lab) not in lines:
                raise ValueError(f"label {int(lab)} of index {k} is outside 1..{len(classes)}")
            lines[int(lab)].append(
                f"{image_names[k]} {s:.8g} {b[0]:.3f} {b[1]:.3f} {b[2]:.3f} {b[3]:.3f}"
            )
    out: Dict[str, Path] = {}
    for i, name in enumerate(classes):
        text = "\n".join(lines[i + 1]) + ("\n" if lines[i + 1] else "")
        out[name] = atomic_write_text(Path(out_dir) / files[i + 1], text)
    return out


def result_files_in(
    results_dir: Union[str, os.PathLike], prefix: str = "comp4_det_", classes: Sequence[str] = ()
) -> Dict[str, List[str]]:
    """Which splits and classes the result files in a folder are for.

    Args:
        results_dir: A folder.
        prefix: File name prefix. Default ``"comp4_det_"``.
        classes: Known class names, to split names like ``test_occ40_circle`` right;
            other names are split at their last ``_``.

    Returns:
        ``{split: sorted class names}`` (empty if the folder holds no such file).

    Examples:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> for n in ("comp4_det_test_occ40_circle.txt", "comp4_det_test_occ40_star.txt"):
        ...     _ = (d / n).write_text("")
        >>> result_files_in(d, classes=["circle"])
        {'test_occ40': ['circle', 'star']}
    """
    found: Dict[str, List[str]] = {}
    for path in Path(results_dir).glob(f"{glob.escape(prefix)}*.txt"):
        stem = path.name[len(prefix) : -len(".txt")]
        cls = next((c for c in classes if stem.endswith(f"_{c}") and len(stem) > len(c) + 1), None)
        split = stem[: -len(cls) - 1] if cls else stem.rpartition("_")[0]
        cls = cls or stem.rpartition("_")[2]
        if split and cls:
            found.setdefault(split, []).append(cls)
    return {s: sorted(c) for s, c in sorted(found.items())}


def _missing_message(results_dir: Path, split: str, classes: Sequence[str], prefix: str, missing: List[str]) -> str:
    found = result_files_in(results_dir, prefix, classes)
    holds = "; ".join(
        f"split {s!r} ({len(c)} classes: {', '.join(c[:8])}{', ...' if len(c) > 8 else ''})"
        for s, c in list(found.items())[:5]
    ) or f"no {prefix}*.txt file"
    if split not in found:
        return (
            f"{results_dir}: no result files for split {split!r} (expected "
            f"{prefix}{split}_<class>.txt, e.g. {prefix}{split}_{missing[0]}.txt); the folder holds {holds}"
        )
    names = ", ".join(missing[:8]) + (", ..." if len(missing) > 8 else "")
    return (
        f"{results_dir}: missing the result files of {len(missing)} of {len(classes)} classes "
        f"({names}; e.g. {prefix}{split}_{missing[0]}.txt); the folder holds {holds}"
    )


def _parse_line(line: str, where: str) -> Tuple[str, List[float]]:
    parts = line.split()
    if len(parts) != 6:
        raise ResultsFileError(f"{where}: expected 'image_id score xmin ymin xmax ymax', got {shorten(line)}")
    try:
        values = [float(v) for v in parts[1:]]
    except ValueError:
        raise ResultsFileError(f"{where}: non-numeric value in {shorten(line)}") from None
    if not all(map(math.isfinite, values)):
        raise ResultsFileError(f"{where}: score and coordinates must be finite numbers, got {shorten(line)}")
    return parts[0], values


def _read_one(path: Path, index: Dict[str, int], skip: Collection[str], skipped: Dict[str, int]):
    img, scores, boxes = [], [], []
    for ln, line in enumerate(read_utf8(path, ResultsFileError).splitlines(), 1):
        if not line.strip():
            continue
        name, values = _parse_line(line, f"{path}:{ln}")
        if name in skip:
            skipped[name] = skipped.get(name, 0) + 1
            continue
        if name not in index:
            raise ResultsFileError(f"{path}:{ln}: image {shorten(name)} is not in the split")
        img.append(index[name])
        scores.append(values[0])
        boxes.append(values[1:])
    return (
        np.array(img, dtype=np.int64),
        np.array(scores, dtype=np.float64),
        np.array(boxes, dtype=np.float64).reshape(-1, 4),
    )


def read_voc_results(
    results_dir: Union[str, os.PathLike],
    split: str,
    classes: Sequence[str],
    image_names: Sequence[str],
    prefix: str = "comp4_det_",
    skip_images: Collection[str] = (),
) -> Detections:
    """Read devkit result files into per-label detections (devkit coordinates).

    Args:
        results_dir: Folder with ``<prefix><split>_<class>.txt`` files.
        split: Split name in the file names.
        classes: Class names (label ``i`` is ``classes[i - 1]``).
        image_names: Image names of the dataset, to map names to indices.
        prefix: File name prefix. Default ``"comp4_det_"``.
        skip_images: Image names whose lines are left out (images the dataset dropped
            for an annotation problem), with one warning that counts them. Default none.

    Returns:
        ``{label: (image index [D], scores [D], boxes [D, 4])}``.

    Raises:
        FileNotFoundError: If the folder or a class file is missing (the message says
            which splits and classes the folder holds files for).
        ResultsFileError: (a ``ValueError``) On bytes that are not UTF-8, a malformed
            line, a value that is not a finite number or an unknown image name (file
            and line named).
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"{results_dir}: results folder not found")
    paths = {i + 1: inside_folder(results_dir, _file_name(prefix, split, c)) for i, c in enumerate(classes)}
    missing = [c for i, c in enumerate(classes) if not paths[i + 1].is_file()]
    if missing:
        raise FileNotFoundError(_missing_message(results_dir, split, classes, prefix, missing))
    index = {n: i for i, n in enumerate(image_names)}
    skip = set(skip_images) - set(index)
    skipped: Dict[str, int] = {}
    out = {label: _read_one(path, index, skip, skipped) for label, path in paths.items()}
    if skipped:
        warnings.warn(
            f"{results_dir}: {sum(skipped.values())} detections on {len(skipped)} images left "
            f"out of the dataset for annotation problems were skipped (e.g. {min(skipped)!r})",
            UserWarning,
            stacklevel=2,
        )
    return out


def evaluate_voc_results(
    results_dir: Union[str, os.PathLike],
    dataset: Any,
    split: Optional[str] = None,
    *,
    classes: Optional[Sequence[str]] = None,
    use_07_metric: Optional[bool] = None,
    prefix: str = "comp4_det_",
    iou_threshold: float = 0.5,
    match_rule: str = "devkit",
) -> Dict[str, Any]:
    """Evaluate devkit result files against a VOC dataset (what ``eval_det.py voc`` does).

    Detections on images the dataset left out for an annotation problem (non-strict
    mode, ``dataset.dropped_images``) are skipped with one warning; any other image name
    not in the split is an error.

    Args:
        results_dir: Folder with ``comp4_det_<split>_<class>.txt`` files.
        dataset: A ``VOCDetection`` (``get_annotation``, ``image_names``).
        split: Split name in the file names. Default: ``dataset.split``.
        classes: Default: ``dataset.classes``.
        use_07_metric: Default: the dataset's year.
        prefix: File name prefix. Default ``"comp4_det_"``.
        iou_threshold: Default 0.5.
        match_rule: ``"devkit"`` (IoU ``>=`` threshold, default) or ``"py-faster-rcnn"``
            (``>``); see :data:`detaug.evaluation.voc.MATCH_RULES`.

    Returns:
        The same dict as :meth:`VOCEvaluator.compute`.

    Raises:
        FileNotFoundError: If the folder or a class file is missing.
        ResultsFileError: On a malformed result file.
    """
    check_match_rule(match_rule, iou_threshold)
    classes = list(dataset.classes if classes is None else classes)
    split = dataset.split if split is None else split
    if use_07_metric is None:
        use_07_metric = bool(dataset.use_07_metric) if isinstance(dataset, VOCAnnotated) else False
    dets = read_voc_results(
        results_dir, split, classes, dataset.image_names, prefix,
        skip_images=getattr(dataset, "dropped_images", ()),
    )
    gts = ground_truth(dataset, classes)
    return score_detections(gts, classes, dets, use_07_metric, iou_threshold, match_rule)
