"""COCO evaluation through COCOeval (bbox): faster-coco-eval's when it is installed,
pycocotools' otherwise (:func:`coco_backend`; the same numbers, ``docs/benchmarks.md``).

Predictions (0-based continuous xyxy, dataset labels) are converted to the COCO results
format: ``bbox = [x1, y1, x2 - x1, y2 - y1]`` (COCO boxes are continuous, no ``+ 1``),
``category_id = label_to_category_id[label]``, ``image_id`` the COCO image id of the index.
The headline metric is AP@[.5:.95]; note that AP50 here is NOT the VOC metric (101-point
interpolation, a detection matches the best *unmatched* ground truth, crowd regions, at
most 100 detections per image; both count IoU ``>=`` 0.5 as a match under the devkit
rule). The instances JSON and a results file are checked record by record before
pycocotools sees them (:mod:`detaug.data.coco_json`, :func:`check_results`).
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import json
import os
import warnings
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from detaug.checks import is_finite_number, shorten
from detaug.errors import COCOFormatError
from detaug.io import atomic_write_text
from detaug.protocols import COCOAnnotated

from .predictions import Predictions, PredictionStore, as_prediction_map

__all__ = ["BACKENDS", "COCOEvaluator", "check_results", "coco_backend", "evaluate_coco_results", "predictions_to_coco", "write_coco_results"]

BACKENDS = ("faster-coco-eval", "pycocotools")
STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def predictions_to_coco(
    predictions: Predictions,
    image_ids: Sequence[int],
    label_to_category_id: Mapping[int, int],
) -> List[Dict[str, Any]]:
    """Convert predictions keyed by dataset index to COCO result dicts.

    Args:
        predictions: ``{index: {"boxes", "scores", "labels"}}`` or a list in index order.
        image_ids: COCO image id of every dataset index.
        label_to_category_id: Label -> COCO category id.

    Returns:
        A list of ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}``.

    Raises:
        ValueError: If an index has no image id, a label has no category id or a
            prediction is malformed (see :func:`~detaug.evaluation.as_prediction`).

    Examples:
        >>> predictions_to_coco({0: {"boxes": [[1., 2., 4., 6.]], "scores": [0.5],
        ...                          "labels": [1]}}, [42], {1: 7})
        [{'image_id': 42, 'category_id': 7, 'bbox': [1.0, 2.0, 3.0, 4.0], 'score': 0.5}]
    """
    out = []
    for k, p in sorted(as_prediction_map(predictions).items()):
        if not 0 <= k < len(image_ids):
            raise ValueError(f"prediction index {k} has no COCO image id ({len(image_ids)} ids)")
        for b, s, lab in zip(p["boxes"], p["scores"], p["labels"]):
            if int(lab) not in label_to_category_id:
                raise ValueError(f"label {int(lab)} of index {k} has no category id")
            out.append(
                {
                    "image_id": int(image_ids[k]),
                    "category_id": int(label_to_category_id[int(lab)]),
                    "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                    "score": float(s),
                }
            )
    return out


def write_coco_results(
    path: Union[str, os.PathLike],
    predictions: Predictions,
    image_ids: Sequence[int],
    label_to_category_id: Mapping[int, int],
) -> Path:
    """Write predictions as a COCO results JSON (atomically).

    Args:
        path: Output file.
        predictions: See :func:`predictions_to_coco`.
        image_ids: COCO image id of every dataset index (``dataset.image_ids``).
        label_to_category_id: ``dataset.label_to_category_id``.

    Returns:
        The output path.

    Examples:
        >>> import tempfile, pathlib
        >>> p = write_coco_results(pathlib.Path(tempfile.mkdtemp()) / "r.json",
        ...     [{"boxes": [[0., 0., 2., 2.]], "scores": [1.0], "labels": [1]}], [5], {1: 3})
        >>> json.loads(p.read_text())[0]["category_id"]
        3
    """
    return atomic_write_text(path, json.dumps(predictions_to_coco(predictions, image_ids, label_to_category_id)))


def coco_backend(name: Optional[str] = None) -> str:
    """The COCOeval implementation to use.

    ``faster-coco-eval`` (``pip install "detaug[fast]"``; a C++ drop-in for pycocotools'
    COCOeval, Apache-2.0) gives the same 12 stats and per-class AP about 3x faster on 500
    images x 100 detections (``docs/benchmarks.md``); without it, pycocotools.

    Args:
        name: ``"faster-coco-eval"``, ``"pycocotools"`` or None (default): the first of
            the two that is installed.

    Returns:
        The backend's name.

    Raises:
        ValueError: If ``name`` is not one of :data:`BACKENDS`.
        ImportError: If ``name`` is given and that package is not installed.

    Examples:
        >>> coco_backend() in BACKENDS
        True
    """
    if name is None:
        return BACKENDS[0] if importlib.util.find_spec("faster_coco_eval") else BACKENDS[1]
    if name not in BACKENDS:
        raise ValueError(f"backend={name!r}: expected one of {BACKENDS} or None (the fastest installed)")
    module = name.replace("-", "_")
    if importlib.util.find_spec(module) is None:
        raise ImportError(f"backend={name!r} is not installed (pip install {name})")
    return name


def _empty_detections(coco_gt, COCO):
    """A results COCO object with no detections, built by hand (pycocotools' ``loadRes``
    fails on an empty list); COCOeval then gives 0 where there is ground truth, -1 where
    there is none."""
    warnings.warn("no detections to evaluate: every metric with ground truth is 0", UserWarning, stacklevel=4)
    coco_dt = COCO()
    coco_dt.dataset = {
        "images": list(coco_gt.dataset["images"]),
        "categories": copy.deepcopy(coco_gt.dataset["categories"]),
        "annotations": [],
    }
    coco_dt.createIndex()
    return coco_dt


def _cocoeval(coco_gt, results: List[Dict[str, Any]], backend: str):
    """A COCOeval object of ``backend`` over ``coco_gt`` (a pycocotools ``COCO``) and
    ``results``, and the list faster-coco-eval prints its summary into (pycocotools prints
    to stdout, which the caller captures)."""
    lines: List[str] = []
    if backend == "faster-coco-eval":
        from faster_coco_eval import COCO, COCOeval_faster

        gt = COCO(copy.deepcopy(coco_gt.dataset))  # it adds fields to the dict it indexes
        dt = gt.loadRes(copy.deepcopy(results)) if results else _empty_detections(coco_gt, COCO)
        return COCOeval_faster(gt, dt, "bbox", print_function=lines.append), lines
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    # loadRes edits the dicts in place
    dt = coco_gt.loadRes(copy.deepcopy(results)) if results else _empty_detections(coco_gt, COCO)
    return COCOeval(coco_gt, dt, "bbox"), lines


def _run_cocoeval(
    coco_gt, results: List[Dict[str, Any]], img_ids: Optional[Sequence[int]], backend: Optional[str] = None
) -> Dict[str, Any]:
    backend = coco_backend(backend)
    names = {c: coco_gt.cats[c]["name"] for c in sorted(coco_gt.getCatIds())}
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ev, lines = _cocoeval(coco_gt, results, backend)
        if img_ids is not None:
            ev.params.imgIds = sorted(int(i) for i in img_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    printed = "\n".join(lines + [buf.getvalue()])
    # faster-coco-eval's stats and summary go on past the 12 of pycocotools (AR50, AR75)
    out: Dict[str, Any] = {k: float(v) for k, v in zip(STAT_NAMES, ev.stats[: len(STAT_NAMES)])}
    # precision: [T iou thresholds, R recall points, K classes, A areas, M max dets]
    prec = ev.eval["precision"][:, :, :, 0, -1]
    per_class = {}
    for k, cat in enumerate(ev.params.catIds):
        p = prec[:, :, k]
        p = p[p > -1]
        per_class[names[int(cat)]] = float(p.mean()) if p.size else float("nan")
    out["AP_per_class"] = per_class
    summary = [ln for ln in printed.splitlines() if ln.lstrip().startswith("Average")]
    out["summary"] = "\n".join(summary[: len(STAT_NAMES)])
    out["backend"] = backend
    return out


class COCOEvaluator(PredictionStore):
    """Accumulate predictions and evaluate them with COCOeval (bbox).

    The prediction store (``update``, ``reset``, ``state_dict``, ``merge``) is
    :class:`~detaug.evaluation.predictions.PredictionStore`'s, shared with
    :class:`~detaug.evaluation.VOCEvaluator`: merge the ranks' states before
    :meth:`compute` on rank 0.

    Args:
        coco_gt: A ``pycocotools.coco.COCO`` object, or a ``COCODetection`` (then its
            ``coco``, ``label_to_category_id`` and ``image_ids`` are used).
        label_to_category_id: Label -> category id. Default: the dataset's, or labels
            ``1..K`` mapped to the sorted category ids.
        image_ids: COCO image id of every dataset index. Default: the dataset's
            ``image_ids``, or the sorted image ids of ``coco_gt``. A dataset built with
            ``train=True`` leaves out images without a usable box, so a warning says so.
        backend: The COCOeval implementation (:func:`coco_backend`). Default None: the
            fastest installed.

    Raises:
        ValueError: If ``backend`` is unknown. ImportError: if it is named and missing.

    Examples:
        >>> import tempfile
        >>> from detaug.data import generate_synthetic, COCODetection
        >>> info = generate_synthetic(tempfile.mkdtemp(), num_train=2, num_test=2)
        >>> ds = COCODetection(info.image_dir, info.coco_annotations["test"], train=False)
        >>> ev = COCOEvaluator(ds)
        >>> ev.update({i: {"boxes": ds.get_target(i)["boxes"], "labels": ds.get_target(i)["labels"],
        ...                "scores": [1.0] * len(ds.get_target(i)["labels"])} for i in range(len(ds))})
        >>> ev.compute()["AP50"]
        1.0
    """

    def __init__(
        self,
        coco_gt: Any,
        label_to_category_id: Optional[Mapping[int, int]] = None,
        image_ids: Optional[Sequence[int]] = None,
        *,
        backend: Optional[str] = None,
    ) -> None:
        self.backend = coco_backend(backend)
        if isinstance(coco_gt, COCOAnnotated):
            dataset = coco_gt
            if getattr(dataset, "train", False) and image_ids is None:
                n_all, n_kept = len(dataset.coco.getImgIds()), len(dataset.image_ids)
                warnings.warn(
                    f"COCOEvaluator built from a train=True dataset: only its {n_kept} of "
                    f"{n_all} images with a usable box are evaluated (false positives on the "
                    "others are not counted); build the dataset with train=False to evaluate",
                    UserWarning,
                    stacklevel=2,
                )
            coco_gt = dataset.coco
            label_to_category_id = label_to_category_id or dataset.label_to_category_id
            image_ids = dataset.image_ids if image_ids is None else image_ids
        self.coco_gt = coco_gt
        if label_to_category_id is None:
            label_to_category_id = {i + 1: c for i, c in enumerate(sorted(coco_gt.getCatIds()))}
        self.label_to_category_id = dict(label_to_category_id)
        self.image_ids = list(sorted(coco_gt.getImgIds()) if image_ids is None else image_ids)
        super().__init__(len(self.image_ids))

    def __repr__(self) -> str:
        return (
            f"COCOEvaluator({len(self.image_ids)} images, {len(self.label_to_category_id)} classes) "
            f"[{len(self.predictions)} predicted]"
        )

    def _check_prediction(self, index: int, pred: Dict[str, Any]) -> None:
        unknown = [int(x) for x in pred["labels"] if int(x) not in self.label_to_category_id]
        if unknown:
            raise ValueError(
                f"label {unknown[0]} of index {index} has no category id (labels: "
                f"{sorted(self.label_to_category_id)[:10]})"
            )

    def compute(self, seen_only: bool = False) -> Dict[str, Any]:
        """Run COCOeval.

        Args:
            seen_only: Evaluate only the images passed to :meth:`update` (as torchvision's
                references do) instead of all ``image_ids``. Default False.

        Returns:
            ``{"AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs",
            "ARm", "ARl", "AP_per_class", "summary", "backend"}`` (AP in [0, 1]; -1 where
            COCOeval has no ground truth for an area range, as COCOeval reports it, also
            without any detection; per-class AP nan for a class without ground truth;
            ``backend`` the COCOeval implementation that computed them).
        """
        preds = self.predictions
        results = predictions_to_coco(preds, self.image_ids, self.label_to_category_id)
        img_ids = [self.image_ids[k] for k in sorted(preds)] if seen_only else self.image_ids
        return _run_cocoeval(self.coco_gt, results, img_ids, self.backend)


def _check_result(k: int, r: Any, where: str) -> None:
    record = f"{where}: results[{k}]"
    if not isinstance(r, dict):
        raise COCOFormatError(f"{record} is {shorten(r, 60)}, expected an object {{image_id, category_id, bbox, score}}")
    for field in ("image_id", "category_id"):
        value = r.get(field)
        if isinstance(value, bool) or not isinstance(value, int):
            raise COCOFormatError(f"{record}: {field!r} is {shorten(value, 60)}, expected an integer id")
    box = r.get("bbox")
    if not (isinstance(box, list) and len(box) == 4 and all(is_finite_number(v) for v in box)) or min(box[2:]) < 0:
        raise COCOFormatError(
            f"{record}: 'bbox' is {shorten(box, 60)}, expected [x, y, width, height]: 4 finite "
            "numbers, width and height >= 0"
        )
    if not is_finite_number(r.get("score")):
        raise COCOFormatError(f"{record}: 'score' is {shorten(r.get('score'), 60)}, expected a finite number")


def check_results(results: Any, where: str, coco_gt: Any) -> List[Dict[str, Any]]:
    """Check a COCO results list against the ground truth before COCOeval sees it.

    Args:
        results: The parsed results.
        where: The file (or ``"results"``) named in messages.
        coco_gt: The ground-truth ``COCO`` object.

    Returns:
        ``results``, unchanged.

    Raises:
        COCOFormatError: (a ``ValueError``) If it is not a list of ``{image_id (int),
            category_id (int), bbox (4 finite numbers, width and height >= 0), score
            (finite)}`` or names an image or category id not in the annotations
            (COCOeval would ignore those silently).
    """
    if not isinstance(results, list):
        raise COCOFormatError(
            f"{where}: expected a list of {{image_id, category_id, bbox, score}} objects, got "
            f"{type(results).__name__}"
        )
    for k, r in enumerate(results):
        _check_result(k, r, where)
    unknown = {r["image_id"] for r in results} - set(coco_gt.getImgIds())
    if unknown:
        raise COCOFormatError(f"{where}: image ids not in the annotations: {sorted(unknown)[:5]}")
    unknown = {r["category_id"] for r in results} - set(coco_gt.getCatIds())
    if unknown:
        raise COCOFormatError(
            f"{where}: category ids not in the annotations: {sorted(unknown)[:5]} "
            f"(categories: {sorted(coco_gt.getCatIds())[:10]})"
        )
    return results


def evaluate_coco_results(
    annotations: Union[str, os.PathLike, Any],
    results: Union[str, os.PathLike, List[Dict[str, Any]]],
    *,
    backend: Optional[str] = None,
) -> Dict[str, Any]:
    """Evaluate a COCO results JSON (what ``eval_det.py coco`` does).

    Args:
        annotations: Instances JSON path or a ``COCO`` object.
        results: Results JSON path or the list of result dicts.
        backend: The COCOeval implementation (:func:`coco_backend`). Default None: the
            fastest installed.

    Returns:
        The :meth:`COCOEvaluator.compute` dict (over all images of the annotations).

    Raises:
        FileNotFoundError: If a file is missing.
        COCOFormatError: (a ``ValueError``) If a file is not UTF-8 JSON, the annotations
            break a rule of :mod:`detaug.data.coco_json`, or the results fail
            :func:`check_results`.
    """
    from detaug.data.coco_json import load_coco, read_json

    backend = coco_backend(backend)
    coco_gt = load_coco(annotations) if isinstance(annotations, (str, os.PathLike)) else annotations
    if isinstance(results, (str, os.PathLike)):
        where, results = str(results), read_json(results)
    else:
        where = "results"
    check_results(results, where, coco_gt)
    return _run_cocoeval(coco_gt, results, sorted(coco_gt.getImgIds()), backend)
