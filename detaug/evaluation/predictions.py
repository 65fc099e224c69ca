"""Predictions as the evaluators take them, and the store both evaluators share.

A prediction is ``{"boxes": [K, 4], "scores": [K], "labels": [K]}`` (tensors on any
device, arrays or lists), boxes xyxy in 0-based continuous pixels and labels in the
dataset's label space. Each is checked once, when it is added: shapes must be exactly
``[K, 4]``, ``[K]``, ``[K]`` (nothing is reshaped to fit), boxes and scores finite
numbers, labels integers. :class:`PredictionStore` keeps them keyed by dataset index in a
plain picklable dict, so a distributed engine can gather every rank's state, merge it on
rank 0 and compute there.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Sequence, Union

import numpy as np

__all__ = ["PredictionStore", "Predictions", "as_prediction", "as_prediction_map"]

Predictions = Union[Mapping[int, Mapping[str, Any]], Sequence[Mapping[str, Any]]]


def _array(pred: Mapping[str, Any], key: str, where: str) -> np.ndarray:
    x = pred[key]
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
        if arr.dtype.kind not in "biuf":  # strings, objects, None
            raise TypeError(arr.dtype)
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}{key!r} must be numbers, got {type(x).__name__} {str(x)[:60]}") from None


def as_prediction(pred: Mapping[str, Any], where: str = "") -> Dict[str, np.ndarray]:
    """Check one prediction and convert it to plain numpy arrays.

    Args:
        pred: A dict with ``boxes`` [K, 4] (xyxy, 0-based continuous pixels), ``scores``
            [K] and ``labels`` [K] (dataset label space, 1..num_classes). An empty
            ``boxes`` (``[]``) stands for ``[0, 4]``.
        where: Prefix for error messages, e.g. ``"prediction 3: "``. Default none.

    Returns:
        ``{"boxes": float64 [K, 4], "scores": float64 [K], "labels": int64 [K]}``.

    Raises:
        ValueError: If a key is missing, a shape is not as above, a box coordinate or a
            score is not a finite number, or a label is not an integer.

    Examples:
        >>> as_prediction({"boxes": [[0, 0, 1, 1]], "scores": [0.5], "labels": [2]})["labels"]
        array([2])
        >>> as_prediction({"boxes": np.zeros((2, 6)), "scores": [1, 1, 1], "labels": [1, 1, 1]})
        Traceback (most recent call last):
        ...
        ValueError: expected boxes [K, 4], scores [K] and labels [K]; got boxes (2, 6), scores (3,), labels (3,)
    """
    missing = [k for k in ("boxes", "scores", "labels") if k not in pred]
    if missing:
        raise ValueError(f"{where}a prediction needs boxes, scores and labels; missing {missing}")
    boxes, scores, labels = (_array(pred, k, where) for k in ("boxes", "scores", "labels"))
    if boxes.size == 0 and boxes.ndim == 1:
        boxes = boxes.reshape(0, 4)
    k = boxes.shape[0] if boxes.ndim == 2 else -1
    if boxes.ndim != 2 or boxes.shape[1] != 4 or scores.shape != (k,) or labels.shape != (k,):
        raise ValueError(
            f"{where}expected boxes [K, 4], scores [K] and labels [K]; got boxes "
            f"{tuple(boxes.shape)}, scores {tuple(scores.shape)}, labels {tuple(labels.shape)}"
        )
    for name, arr in (("boxes", boxes), ("scores", scores)):
        if not np.isfinite(arr).all():
            bad = arr[~np.isfinite(arr)][0]
            raise ValueError(f"{where}{name} must be finite numbers, found {bad}")
    if not (labels == np.round(labels)).all():
        raise ValueError(f"{where}labels must be integers, found {labels[labels != np.round(labels)][0]}")
    return {"boxes": boxes, "scores": scores, "labels": labels.astype(np.int64)}


def as_prediction_map(predictions: Predictions) -> Dict[int, Dict[str, np.ndarray]]:
    """Accept ``{index: prediction}`` or a list (index = position); return checked numpy dicts.

    Args:
        predictions: Mapping from dataset index to prediction, or a sequence of
            predictions in dataset order.

    Returns:
        ``{int index: numpy prediction}``.

    Raises:
        ValueError: See :func:`as_prediction` (the message names the index).
    """
    items = predictions.items() if isinstance(predictions, Mapping) else enumerate(predictions)
    return {int(k): as_prediction(v, f"prediction for index {k}: ") for k, v in items}


class PredictionStore:
    """Predictions keyed by dataset index: the state the VOC and COCO evaluators share.

    Subclasses set :attr:`num_images` and may check each prediction in
    :meth:`_check_prediction` (e.g. its labels).

    Args:
        num_images: Valid indices are ``0 .. num_images - 1``.

    Examples:
        >>> store = PredictionStore(2)
        >>> store.update([{"boxes": [[0, 0, 1, 1]], "scores": [1.0], "labels": [1]}])
        >>> other = PredictionStore(2)
        >>> other.merge(store.state_dict())
        >>> sorted(other.predictions)
        [0]
    """

    def __init__(self, num_images: int) -> None:
        self.num_images = int(num_images)
        self.state: Dict[str, Any] = {"predictions": {}}

    @property
    def predictions(self) -> Dict[int, Dict[str, np.ndarray]]:
        """The stored predictions, ``{index: {"boxes", "scores", "labels"}}``."""
        return self.state["predictions"]

    def reset(self) -> None:
        """Forget all predictions."""
        self.state = {"predictions": {}}

    def _check_prediction(self, index: int, pred: Dict[str, np.ndarray]) -> None:
        """Hook for subclasses: raise ValueError for a prediction they cannot score."""

    def update(self, predictions: Predictions) -> None:
        """Add predictions ``{dataset index: {"boxes", "scores", "labels"}}``.

        Args:
            predictions: Mapping from index to prediction, or a list in index order. An
                index given again replaces its predictions (``DistributedSampler``
                padding repeats indices).

        Raises:
            ValueError: If an index is outside ``[0, num_images)`` or a prediction is
                malformed (see :func:`as_prediction`); nothing is added then.
        """
        preds = as_prediction_map(predictions)
        bad = [k for k in preds if not 0 <= k < self.num_images]
        if bad:
            raise ValueError(f"prediction indices {bad[:5]} are outside the dataset [0, {self.num_images})")
        for k, p in preds.items():
            self._check_prediction(k, p)
        self.predictions.update(preds)

    def state_dict(self) -> Dict[str, Any]:
        """Return the state (a plain dict of numpy arrays, picklable)."""
        return {"predictions": dict(self.predictions)}

    def merge(self, states: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]) -> None:
        """Merge states gathered from other ranks into this one.

        Args:
            states: One state (from :meth:`state_dict`) or a list of them.

        Raises:
            ValueError: If a state has no ``predictions`` or holds a bad one.
        """
        if isinstance(states, Mapping):
            states = [states]
        for s in states:
            if not isinstance(s, Mapping) or "predictions" not in s:
                raise ValueError("a state to merge must be a dict from state_dict() with 'predictions'")
            self.update(s["predictions"])
