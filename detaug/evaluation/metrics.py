"""The metrics a run is scored with: their names, an evaluator and a result file per metric, the table of results."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Sequence

from detaug.protocols import COCOAnnotated

#: Evaluation metrics (``evaluation.metric``) and what each reports.
METRIC_DESCRIPTIONS = {
    "voc07": "VOC07 11-point mAP@0.5",
    "voc2010": "VOC all-point mAP@0.5",
    "coco": "COCO AP@[.5:.95]",
}
#: Evaluation metric names: the one list every part of detaug uses.
METRICS = tuple(METRIC_DESCRIPTIONS)

__all__ = ["METRICS", "METRIC_DESCRIPTIONS", "build_evaluator", "format_table", "headline", "save_predictions"]


def _coco_dataset(dataset: Any) -> Any:
    """The COCODetection inside ``dataset`` (possibly wrapped)."""
    inner = dataset
    while not isinstance(inner, COCOAnnotated) and hasattr(inner, "dataset"):  # a Subset, say
        inner = inner.dataset
    if not isinstance(inner, COCOAnnotated):
        raise ValueError("the coco metric needs a COCODetection test set")
    return inner


def build_evaluator(dataset: Any, classes: Sequence[str], metric: str) -> Any:
    """An evaluator with ``update(predictions)`` / ``compute()`` for ``metric``.

    Args:
        dataset: the test dataset (ground truth is read from it).
        classes: class names (label i + 1 is ``classes[i]``).
        metric: ``"voc07"``, ``"voc2010"`` or ``"coco"``.
    """
    from detaug.evaluation import COCOEvaluator, VOCEvaluator

    if metric in ("voc07", "voc2010"):
        return VOCEvaluator(dataset, list(classes), use_07_metric=metric == "voc07")
    if metric == "coco":
        return COCOEvaluator(_coco_dataset(dataset))
    raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")


def save_predictions(predictions: Dict[int, Dict[str, Any]], dataset: Any, classes: Sequence[str], metric: str,
                     folder: Path, split: str = "test") -> Path:
    """Write predictions in the devkit (``comp4_det_<split>_<class>.txt``, 1-based) or the COCO
    results format (``results.json``) into ``folder``; return what was written."""
    from detaug.evaluation import write_coco_results, write_voc_results

    folder = Path(folder)
    if metric == "coco":
        ds = _coco_dataset(dataset)
        return Path(write_coco_results(folder / "results.json", predictions, ds.image_ids,
                                                  ds.label_to_category_id))
    write_voc_results(folder, split, list(classes), predictions, list(dataset.image_names))
    return folder


def headline(metrics: Dict[str, Any]) -> float:
    """The one number of an evaluator's result: ``mAP`` (VOC) or ``AP`` (COCO).

    Examples:
        >>> headline({"AP": 0.5, "AP50": 0.7})
        0.5
    """
    for key in ("mAP", "AP"):
        if key in metrics:
            return float(metrics[key])
    raise KeyError(f"no mAP or AP in {sorted(metrics)}")


def format_table(results: Dict[str, Dict[str, Any]], metrics: Dict[str, str]) -> str:
    """A text table of results: split, metric, score (in %).

    Args:
        results: split name -> an evaluator's result.
        metrics: split name -> metric name (:data:`METRICS`).

    Examples:
        >>> print(format_table({"test": {"mAP": 0.413}}, {"test": "voc2010"}))
        split  metric                 score
        -----  ---------------------  -----
        test   VOC all-point mAP@0.5  41.3
    """
    rows = [("split", "metric", "score")]
    for name, m in results.items():
        if not m:
            continue
        kind = metrics.get(name, "")
        score = f"{100 * headline(m):.1f}"
        if kind == "coco" and "AP50" in m:
            score += f"  (AP50 {100 * m['AP50']:.1f})"
        rows.append((name, METRIC_DESCRIPTIONS.get(kind, kind), score))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
