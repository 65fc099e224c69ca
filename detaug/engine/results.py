"""Glue between the engine and :mod:`detaug.evaluation`: evaluators and result files per metric."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Sequence

#: Metric name -> what it is.
METRIC_DESCRIPTIONS = {
    "voc07": "VOC2007 11-point mAP@0.5 (devkit rules)",
    "voc2010": "VOC2010+ all-point mAP@0.5 (devkit rules)",
    "coco": "COCO AP@[.5:.95] (pycocotools)",
}


def _coco_parts(dataset: Any):
    """The COCO dataset (and its label mapping) inside ``dataset`` (possibly wrapped)."""
    inner = dataset
    while not hasattr(inner, "coco") and hasattr(inner, "dataset"):
        inner = inner.dataset
    if not hasattr(inner, "coco"):
        raise ValueError("the coco metric needs a COCODetection test set")
    return inner.coco, inner.label_to_category_id


def build_evaluator(dataset: Any, classes: Sequence[str], metric: str) -> Any:
    """An evaluator with ``update(predictions)`` / ``compute()`` for ``metric``.

    Args:
        dataset: the test dataset (ground truth is read from it).
        classes: class names (label i + 1 is ``classes[i]``).
        metric: ``"voc07"``, ``"voc2010"`` or ``"coco"``.
    """
    from detaug import evaluation

    if metric in ("voc07", "voc2010"):
        return evaluation.VOCEvaluator(dataset, list(classes), use_07_metric=metric == "voc07")
    if metric == "coco":
        coco_gt, label_to_cat = _coco_parts(dataset)
        return evaluation.COCOEvaluator(coco_gt, label_to_cat)
    raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRIC_DESCRIPTIONS)}")


def save_predictions(predictions: Dict[int, Dict[str, Any]], dataset: Any, classes: Sequence[str], metric: str,
                     folder: Path, split: str = "test") -> Path:
    """Write predictions in the devkit (``comp4_det_<split>_<class>.txt``) or COCO results format."""
    from detaug import evaluation

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if metric == "coco":
        coco_gt, label_to_cat = _coco_parts(dataset)
        return Path(evaluation.write_coco_results(predictions, dataset, folder / "results.json"))
    evaluation.write_voc_results(predictions, dataset, list(classes), folder, split=split)
    return folder
