"""Helpers shared by the VOC and COCO evaluators."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Sequence, Union

import numpy as np

__all__ = ["as_prediction", "as_prediction_map", "format_ap_table"]


def _np(x: Any, dtype) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def as_prediction(pred: Mapping[str, Any]) -> Dict[str, np.ndarray]:
    """Convert one prediction (tensors or arrays) to plain numpy arrays.

    Args:
        pred: A dict with ``boxes`` [K, 4] (xyxy, 0-based continuous pixels), ``scores``
            [K] and ``labels`` [K] (dataset label space, 1..num_classes).

    Returns:
        ``{"boxes": float64 [K, 4], "scores": float64 [K], "labels": int64 [K]}``.

    Raises:
        ValueError: If keys are missing or lengths disagree.

    Examples:
        >>> as_prediction({"boxes": [[0, 0, 1, 1]], "scores": [0.5], "labels": [2]})["labels"]
        array([2])
    """
    missing = [k for k in ("boxes", "scores", "labels") if k not in pred]
    if missing:
        raise ValueError(f"a prediction needs boxes, scores and labels; missing {missing}")
    boxes = _np(pred["boxes"], np.float64).reshape(-1, 4)
    scores = _np(pred["scores"], np.float64).reshape(-1)
    labels = _np(pred["labels"], np.int64).reshape(-1)
    if not boxes.shape[0] == scores.shape[0] == labels.shape[0]:
        raise ValueError(
            f"boxes, scores and labels disagree in length: {boxes.shape[0]}, "
            f"{scores.shape[0]}, {labels.shape[0]}"
        )
    return {"boxes": boxes, "scores": scores, "labels": labels}


def as_prediction_map(
    predictions: Union[Mapping[int, Mapping[str, Any]], Sequence[Mapping[str, Any]]]
) -> Dict[int, Dict[str, np.ndarray]]:
    """Accept ``{index: prediction}`` or a list (index = position); return numpy dicts.

    Args:
        predictions: Mapping from dataset index to prediction, or a sequence of
            predictions in dataset order.

    Returns:
        ``{int index: numpy prediction}``.
    """
    items = predictions.items() if isinstance(predictions, Mapping) else enumerate(predictions)
    return {int(k): as_prediction(v) for k, v in items}


def format_ap_table(result: Mapping[str, Any], title: str = "AP") -> str:
    """Format a per-class AP table followed by the mean.

    Args:
        result: A VOC evaluator result (``AP`` mapping class -> AP, ``num_gt``, ``mAP``).
        title: Column title. Default ``"AP"``.

    Returns:
        The table as a string (AP in percent; ``n/a`` for classes without ground truth).

    Examples:
        >>> print(format_ap_table({"AP": {"cat": 0.5}, "num_gt": {"cat": 2}, "mAP": 0.5}))
        class    n_gt      AP
        cat         2   50.00
        mAP             50.00
    """
    names = list(result["AP"])
    width = max([len(n) for n in names] + [5])
    lines = [f"{'class':<{width}}  {'n_gt':>6}  {title:>6}"]
    for n in names:
        ap = result["AP"][n]
        ap_s = "n/a" if ap is None or np.isnan(ap) else f"{100 * ap:.2f}"
        lines.append(f"{n:<{width}}  {result.get('num_gt', {}).get(n, ''):>6}  {ap_s:>6}")
    lines.append(f"{'mAP':<{width}}  {'':>6}  {100 * result['mAP']:>6.2f}")
    return "\n".join(lines)
