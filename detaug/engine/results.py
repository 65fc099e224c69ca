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


def _coco_dataset(dataset: Any) -> Any:
    """The COCODetection inside ``dataset`` (possibly wrapped)."""
    inner = dataset
    while not hasattr(inner, "coco") and hasattr(inner, "dataset"):
        inner = inner.dataset
    if not (hasattr(inner, "coco") and hasattr(inner, "image_ids")):
        raise ValueError("the coco metric needs a COCODetection test set")
    return inner


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
        return evaluation.COCOEvaluator(_coco_dataset(dataset))
    raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRIC_DESCRIPTIONS)}")


def save_predictions(predictions: Dict[int, Dict[str, Any]], dataset: Any, classes: Sequence[str], metric: str,
                     folder: Path, split: str = "test") -> Path:
    """Write predictions in the devkit (``comp4_det_<split>_<class>.txt``, 1-based) or the COCO
    results format (``results.json``) into ``folder``; return what was written."""
    from detaug import evaluation

    folder = Path(folder)
    if metric == "coco":
        ds = _coco_dataset(dataset)
        return Path(evaluation.write_coco_results(folder / "results.json", predictions, ds.image_ids,
                                                  ds.label_to_category_id))
    evaluation.write_voc_results(folder, split, list(classes), predictions, list(dataset.image_names))
    return folder
