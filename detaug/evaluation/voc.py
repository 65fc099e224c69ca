"""PASCAL VOC detection evaluation by the devkit's rules (vectorised numpy).

Per class:

1. Detections of the class from all images are sorted by decreasing score (a stable
   sort: ties keep input order, image by image, as MATLAB's ``sort`` in the devkit and
   pycocotools' ``mergesort`` do).
2. Each detection takes the ground-truth box of its image and class with the highest
   IoU, difficult boxes included, IoU computed on devkit coordinates with inclusive
   pixel widths (``xmax - xmin + 1``).
3. If that IoU is a match (below): a difficult box makes the detection neither true
   nor false positive; an unmatched box makes it a true positive and is marked matched;
   an already matched box makes it a false positive (duplicate). No match or no ground
   truth of the class in the image: false positive.
4. ``recall = cumTP / n_pos`` with ``n_pos`` the number of non-difficult boxes;
   ``precision = cumTP / (cumTP + cumFP)``; AP by :func:`voc_ap`.

What counts as a match (``match_rule``):

* ``"devkit"`` (default): ``IoU >= iou_threshold``, as the official MATLAB devkit
  (``VOCevaldet.m``: ``if ovmax >= VOCopts.minoverlap``) and mmdetection's ``eval_map``.
* ``"py-faster-rcnn"``: ``IoU > iou_threshold``, as the Python port in py-faster-rcnn's
  ``voc_eval.py`` (``if ovmax > ovthresh``), copied by detectron2. The two differ only
  for an IoU exactly at the threshold, e.g. a 10x20 box and a 10x10 detection inside it.

A class with no non-difficult ground truth has AP ``nan`` (the devkit divides by zero
there); it is reported but left out of the mAP, which is the mean over the other classes.

Coordinates: predictions and dataset targets are 0-based continuous xyxy; they are turned
into devkit coordinates with ``xmin = x1 + 1, ymin = y1 + 1, xmax = x2, ymax = y2`` (the
exact inverse of the loader's conversion), so a prediction equal to a target box has IoU
1. Devkit result files are read and written by :mod:`detaug.evaluation.voc_files`.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from detaug.protocols import VOCAnnotated

from .predictions import PredictionStore, as_prediction

__all__ = [
    "MATCH_RULES",
    "VOCEvaluator",
    "evaluate_class",
    "evaluate_predictions",
    "ground_truth",
    "score_detections",
    "to_devkit_boxes",
    "voc_ap",
    "voc_iou",
]

#: What counts as a match, per rule, and where the rule comes from.
MATCH_RULES = {
    "devkit": "IoU >= threshold (MATLAB devkit VOCevaldet.m, mmdetection)",
    "py-faster-rcnn": "IoU > threshold (py-faster-rcnn voc_eval.py, detectron2)",
}

_PAIRS = 1 << 19  # (detection, ground truth) pairs per IoU block: about 50 MB of temporaries

Detections = Mapping[int, Tuple[np.ndarray, np.ndarray, np.ndarray]]


def check_match_rule(match_rule: str, iou_threshold: float) -> None:
    """Raise ValueError for an unknown ``match_rule`` or a threshold outside (0, 1].

    Examples:
        >>> check_match_rule("strict", 0.5)
        Traceback (most recent call last):
        ...
        ValueError: match_rule must be one of ['devkit', 'py-faster-rcnn'], got 'strict'
    """
    if match_rule not in MATCH_RULES:
        raise ValueError(f"match_rule must be one of {list(MATCH_RULES)}, got {match_rule!r}")
    if isinstance(iou_threshold, bool) or not isinstance(iou_threshold, (int, float)) or not (
        math.isfinite(iou_threshold) and 0.0 < iou_threshold <= 1.0
    ):
        raise ValueError(f"iou_threshold must be a number in (0, 1], got {iou_threshold!r}")


def voc_ap(rec: Sequence[float], prec: Sequence[float], use_07_metric: bool = False) -> float:
    """Average precision from a recall/precision curve, as the VOC devkit computes it.

    Args:
        rec: Cumulative recall after each detection (non-decreasing).
        prec: Cumulative precision after each detection.
        use_07_metric: True for the VOC2007 11-point metric (mean over ``t`` in
            ``np.arange(0, 1.1, 0.1)`` of the best precision at recall ``>= t``, 0 if
            none), False for the VOC2010+ area under the monotone precision envelope.
            Default False.

    Returns:
        The AP in [0, 1] (0 for an empty curve).

    Examples:
        >>> voc_ap([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3])
        0.8333333333333333
        >>> round(voc_ap([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3], use_07_metric=True), 6)
        0.848485
    """
    rec = np.asarray(rec, dtype=np.float64)
    prec = np.asarray(prec, dtype=np.float64)
    if use_07_metric:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            sel = rec >= t
            p = float(np.max(prec[sel])) if sel.any() else 0.0
            ap += p / 11.0
        return ap
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def voc_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes in devkit coordinates (inclusive pixels, ``+ 1`` widths).

    Args:
        a: [N, 4] ``(xmin, ymin, xmax, ymax)``, 1-based inclusive.
        b: [M, 4] same.

    Returns:
        [N, M] IoU matrix.

    Examples:
        >>> voc_iou(np.array([[1, 1, 10, 10]]), np.array([[1, 1, 10, 10], [6, 1, 15, 10]]))
        array([[1.        , 0.33333333]])
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)[:, None, :]
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)[None, :, :]
    return _iou_broadcast(a, b)


def _iou_broadcast(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    iw = np.maximum(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + 1.0, 0.0)
    ih = np.maximum(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + 1.0, 0.0)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0] + 1.0) * (a[..., 3] - a[..., 1] + 1.0)
    area_b = (b[..., 2] - b[..., 0] + 1.0) * (b[..., 3] - b[..., 1] + 1.0)
    return inter / (area_a + area_b - inter)


def to_devkit_boxes(boxes: np.ndarray) -> np.ndarray:
    """0-based continuous xyxy -> devkit 1-based inclusive ``(x1+1, y1+1, x2, y2)``.

    Args:
        boxes: [N, 4] array.

    Returns:
        A new float64 [N, 4] array.

    Examples:
        >>> to_devkit_boxes(np.array([[0., 0., 40., 30.]])).tolist()
        [[1.0, 1.0, 40.0, 30.0]]
    """
    out = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    out[:, :2] += 1.0
    return out


def _detection_arrays(det_image, det_scores, det_boxes, n_img: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check the detections of :func:`evaluate_class` and return them as numpy arrays."""
    det_image = np.asarray(det_image, dtype=np.int64).reshape(-1)
    det_scores = np.asarray(det_scores, dtype=np.float64).reshape(-1)
    det_boxes = np.asarray(det_boxes, dtype=np.float64)
    if det_boxes.size == 0:
        det_boxes = det_boxes.reshape(0, 4)
    if det_boxes.ndim != 2 or det_boxes.shape[1] != 4:
        raise ValueError(f"det_boxes must have shape [D, 4], got {tuple(det_boxes.shape)}")
    if not det_image.shape[0] == det_scores.shape[0] == det_boxes.shape[0]:
        raise ValueError(
            f"det_image, det_scores and det_boxes disagree in length: {det_image.shape[0]}, "
            f"{det_scores.shape[0]}, {det_boxes.shape[0]}"
        )
    if not (np.isfinite(det_scores).all() and np.isfinite(det_boxes).all()):
        raise ValueError("det_scores and det_boxes must be finite numbers")
    if det_image.size and (det_image.min() < 0 or det_image.max() >= n_img):
        raise ValueError(f"detection image index out of range [0, {n_img})")
    return det_image, det_scores, det_boxes


def _best_overlaps(gt_boxes: Sequence[np.ndarray], det_image: np.ndarray, det_boxes: np.ndarray):
    """Per detection, the best IoU with a ground truth of its image and that box's index.

    Returns ``(ovmax, jmax)``: ``ovmax`` is ``-inf`` where the image has no ground truth;
    ``jmax`` indexes the concatenation of ``gt_boxes``.
    """
    counts = np.array([len(g) for g in gt_boxes], dtype=np.int64)
    num_all, num_det = int(counts.sum()), det_image.shape[0]
    ovmax = np.full(num_det, -np.inf)
    jmax = np.zeros(num_det, dtype=np.int64)
    if num_all == 0 or num_det == 0:
        return ovmax, jmax
    gt_all = np.concatenate([np.asarray(g, np.float64).reshape(-1, 4) for g in gt_boxes])
    # coordinates as contiguous columns and areas computed once: the gathers below stay
    # contiguous (the same float operations as _iou_broadcast, so equal results)
    gx1, gy1, gx2, gy2 = (np.ascontiguousarray(c) for c in gt_all.T)
    dx1, dy1, dx2, dy2 = (np.ascontiguousarray(c) for c in det_boxes.T)
    g_area = (gx2 - gx1 + 1.0) * (gy2 - gy1 + 1.0)
    d_area = (dx2 - dx1 + 1.0) * (dy2 - dy1 + 1.0)
    start = np.cumsum(counts) - counts
    n_gt = counts[det_image]
    # Each detection is compared with the ground truths of its own image only. The pairs
    # are visited in chunks of about _PAIRS (detection, ground truth) pairs, detections
    # ordered by the ground-truth count of their image, so one crowded image neither pads
    # the others nor makes the memory grow with D x max(G_i).
    visit = np.argsort(n_gt, kind="stable")
    visit = visit[n_gt[visit] > 0]  # no ground truth in the image: a plain FP
    cnt = n_gt[visit]
    s, n_visit = 0, visit.shape[0]
    while s < n_visit:
        # largest chunk [s, e) whose padded size (e - s) * cnt[e - 1] fits the budget
        window = cnt[s : s + _PAIRS]
        fits = (np.arange(1, window.shape[0] + 1) * window) <= _PAIRS
        e = s + max(1, int(np.argmin(fits)) if not fits.all() else window.shape[0])
        d = visit[s:e]
        slot = np.arange(int(cnt[e - 1]))
        idx = start[det_image[d], None] + slot[None, :]
        gi = np.minimum(idx, num_all - 1)  # padding slots read any box, masked below
        iw = np.minimum(dx2[d, None], gx2[gi]) - np.maximum(dx1[d, None], gx1[gi]) + 1.0
        ih = np.minimum(dy2[d, None], gy2[gi]) - np.maximum(dy1[d, None], gy1[gi]) + 1.0
        inter = np.maximum(iw, 0.0, out=iw)
        inter *= np.maximum(ih, 0.0, out=ih)
        ov = inter / (d_area[d, None] + g_area[gi] - inter)
        ov[slot[None, :] >= n_gt[d, None]] = -np.inf
        best = np.argmax(ov, axis=1)
        ovmax[d] = ov[np.arange(d.shape[0]), best]
        jmax[d] = idx[np.arange(d.shape[0]), best]
        s = e
    return ovmax, jmax


def _true_false_positives(ovmax, jmax, difficult, iou_threshold: float, match_rule: str):
    """TP and FP flags in score order from each detection's best overlap (rules above)."""
    hit = ovmax >= iou_threshold if match_rule == "devkit" else ovmax > iou_threshold
    is_diff = hit & difficult[jmax] if difficult.size else np.zeros_like(hit)
    cand = np.flatnonzero(hit & ~is_diff)
    # the first candidate (in score order) of each ground truth is the true positive
    _, first = np.unique(jmax[cand], return_index=True)
    tp = np.zeros(ovmax.shape[0])
    tp[cand[first]] = 1.0
    fp = ((tp == 0) & ~is_diff).astype(np.float64)
    return tp, fp


def evaluate_class(
    gt_boxes: Sequence[np.ndarray],
    gt_difficult: Sequence[np.ndarray],
    det_image: np.ndarray,
    det_scores: np.ndarray,
    det_boxes: np.ndarray,
    use_07_metric: bool = False,
    *,
    iou_threshold: float = 0.5,
    match_rule: str = "devkit",
) -> Dict[str, Any]:
    """Devkit evaluation of one class (see the module docstring for the rules).

    Args:
        gt_boxes: Per image, [G_i, 4] ground-truth boxes of the class (devkit coords).
        gt_difficult: Per image, [G_i] difficult flags.
        det_image: [D] image index (into ``gt_boxes``) of every detection.
        det_scores: [D] scores.
        det_boxes: [D, 4] detection boxes (devkit coords).
        use_07_metric: 11-point metric if True, all-point area otherwise. Default False.
        iou_threshold: The IoU a match needs. Default 0.5.
        match_rule: ``"devkit"`` (IoU ``>=`` threshold, default) or ``"py-faster-rcnn"``
            (IoU ``>`` threshold); see :data:`MATCH_RULES`.

    Returns:
        ``{"ap", "recall", "precision", "tp", "fp", "num_gt", "num_det"}``; ``recall``,
        ``precision``, ``tp``, ``fp`` follow the score order; ``ap`` is ``nan`` when
        ``num_gt == 0``.

    Raises:
        ValueError: If shapes or lengths disagree, a score or box is not finite, an
            image index is out of range, or the rule or threshold is invalid.

    Examples:
        >>> r = evaluate_class([np.array([[1., 1., 10., 20.]])], [np.array([False])],
        ...                    np.array([0, 0]), np.array([0.9, 0.8]),
        ...                    np.array([[1., 1., 10., 10.], [1., 1., 10., 20.]]))
        >>> r["tp"].tolist(), r["fp"].tolist(), r["ap"]  # IoU exactly 0.5 is a match
        ([1.0, 0.0], [0.0, 1.0], 1.0)
    """
    check_match_rule(match_rule, iou_threshold)
    det_image, det_scores, det_boxes = _detection_arrays(det_image, det_scores, det_boxes, len(gt_boxes))
    difficult = (
        np.concatenate([np.asarray(d, bool).reshape(-1) for d in gt_difficult])
        if len(gt_difficult) else np.zeros(0, bool)
    )
    num_gt = int((~difficult).sum())
    order = np.argsort(-det_scores, kind="stable")
    det_image, det_boxes = det_image[order], det_boxes[order]
    ovmax, jmax = _best_overlaps(gt_boxes, det_image, det_boxes)
    tp, fp = _true_false_positives(ovmax, jmax, difficult, iou_threshold, match_rule)
    ctp, cfp = np.cumsum(tp), np.cumsum(fp)
    prec = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
    if num_gt > 0:
        rec = ctp / float(num_gt)
        ap = voc_ap(rec, prec, use_07_metric)
    else:
        rec = np.full(det_image.shape[0], np.nan)
        ap = float("nan")
    return {
        "ap": ap,
        "recall": rec,
        "precision": prec,
        "tp": tp,
        "fp": fp,
        "num_gt": num_gt,
        "num_det": int(det_image.shape[0]),
    }


# -- ground truth ---------------------------------------------------------------------
def _gt_from_annotation(ann: Mapping[str, Any], label_of: Mapping[str, int]) -> Dict[str, np.ndarray]:
    objs = [o for o in ann["objects"] if o["name"] in label_of]
    return {
        "boxes": np.array([o["bbox"] for o in objs], dtype=np.float64).reshape(-1, 4),
        "labels": np.array([label_of[o["name"]] for o in objs], dtype=np.int64),
        "difficult": np.array([bool(o["difficult"]) for o in objs], dtype=bool),
    }


def _gt_from_target(t: Mapping[str, Any], i: int) -> Dict[str, np.ndarray]:
    # the same checks as a prediction's, with every score 1
    labels = t["labels"].detach().cpu().numpy() if hasattr(t["labels"], "detach") else np.asarray(t["labels"])
    checked = as_prediction(
        {"boxes": t["boxes"], "labels": t["labels"], "scores": np.ones(labels.shape)}, f"ground truth {i}: "
    )
    diff = t.get("difficult")
    diff = np.zeros(len(labels), bool) if diff is None else np.asarray(
        diff.detach().cpu().numpy() if hasattr(diff, "detach") else diff, dtype=bool
    )
    if diff.shape != checked["labels"].shape:
        raise ValueError(f"ground truth {i}: 'difficult' has shape {diff.shape}, expected {checked['labels'].shape}")
    return {"boxes": to_devkit_boxes(checked["boxes"]), "labels": checked["labels"], "difficult": diff}


def ground_truth(source: Any, classes: Sequence[str]) -> List[Dict[str, np.ndarray]]:
    """Per image, the ground truth in devkit coordinates: ``boxes``, ``labels``, ``difficult``.

    Args:
        source: A dataset with ``get_annotation(idx)`` or a sequence of VOC annotations
            / targets (see :class:`VOCEvaluator`).
        classes: Class names; objects of other classes are left out.

    Returns:
        One dict of numpy arrays per image.

    Raises:
        ValueError: If an item is neither an annotation nor a target, or a target's
            ``boxes`` / ``labels`` / ``difficult`` are not finite ``[G, 4]`` / ``[G]`` /
            ``[G]`` (nothing is reshaped to fit).
    """
    label_of = {c: i + 1 for i, c in enumerate(classes)}
    if isinstance(source, VOCAnnotated):
        return [_gt_from_annotation(source.get_annotation(i), label_of) for i in range(len(source))]
    out = []
    for i, item in enumerate(source):
        if "objects" in item:
            out.append(_gt_from_annotation(item, label_of))
        elif "boxes" in item and "labels" in item:
            out.append(_gt_from_target(item, i))
        else:
            raise ValueError(
                f"ground truth {i}: expected a VOC annotation (with 'objects') or a target "
                "(with 'boxes', 'labels' and optionally 'difficult')"
            )
    return out


def score_detections(
    gts: List[Dict[str, np.ndarray]],
    classes: Sequence[str],
    dets: Detections,
    use_07_metric: bool,
    iou_threshold: float = 0.5,
    match_rule: str = "devkit",
) -> Dict[str, Any]:
    """Per-class AP and mAP of per-label detections (devkit coordinates) against ``gts``.

    Args:
        gts: From :func:`ground_truth`.
        classes: Class names (label ``i`` is ``classes[i - 1]``).
        dets: ``{label: (image index [D], scores [D], boxes [D, 4])}``.
        use_07_metric: 11-point (True) or all-point (False).
        iou_threshold: Default 0.5.
        match_rule: Default ``"devkit"``; see :data:`MATCH_RULES`.

    Returns:
        The dict described in :meth:`VOCEvaluator.compute`.
    """
    aps, num_gt, num_det, recall = {}, {}, {}, {}
    for c, name in enumerate(classes):
        label = c + 1
        gb = [g["boxes"][g["labels"] == label] for g in gts]
        gd = [g["difficult"][g["labels"] == label] for g in gts]
        img, scores, boxes = dets.get(label, (np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 4))))
        r = evaluate_class(gb, gd, img, scores, boxes, use_07_metric, iou_threshold=iou_threshold, match_rule=match_rule)
        aps[name] = r["ap"]
        num_gt[name] = r["num_gt"]
        num_det[name] = r["num_det"]
        recall[name] = float(r["recall"][-1]) if r["num_det"] and r["num_gt"] else 0.0
    valid = [v for v in aps.values() if not np.isnan(v)]
    return {
        "mAP": float(np.mean(valid)) if valid else float("nan"),
        "AP": aps,
        "num_gt": num_gt,
        "num_det": num_det,
        "recall": recall,
        "metric": "VOC07 11-point" if use_07_metric else "VOC2010+ all-point",
        "use_07_metric": bool(use_07_metric),
        "iou_threshold": float(iou_threshold),
        "match_rule": match_rule,
        "num_images": len(gts),
    }


class VOCEvaluator(PredictionStore):
    """Accumulate predictions and compute per-class AP and mAP by the devkit rules.

    The prediction store (``update``, ``reset``, ``state_dict``, ``merge``) is
    :class:`~detaug.evaluation.predictions.PredictionStore`'s, shared with
    :class:`~detaug.evaluation.COCOEvaluator`: gather the states of all ranks, ``merge``
    them on rank 0 and call :meth:`compute` there. Ground truth covers every image of the
    dataset, difficult objects included, as the devkit does.

    Args:
        dataset_or_gt: A dataset with ``get_annotation(idx)`` (``VOCDetection``, a
            concatenation, ...) or a sequence of ground truths, one per index: either VOC
            annotations (``{"objects": [{"name", "bbox" (devkit coords), "difficult"}]}``)
            or targets (``{"boxes" (0-based xyxy), "labels", "difficult" (optional)}``).
        classes: Class names, label ``i`` is ``classes[i - 1]``. Default: the dataset's.
        use_07_metric: 11-point (True) or all-point (False). Default: the dataset's year
            (``use_07_metric`` attribute: VOC2007 -> True), all-point if unknown.
        iou_threshold: The IoU a match needs. Default 0.5.
        match_rule: ``"devkit"`` (IoU ``>=`` threshold, as the MATLAB devkit; default)
            or ``"py-faster-rcnn"`` (IoU ``>`` threshold); see :data:`MATCH_RULES`.

    Raises:
        ValueError: If no class list can be found, or the rule or threshold is invalid.

    Examples:
        >>> gt = [{"boxes": [[0., 0., 10., 10.]], "labels": [1]}, {"boxes": [], "labels": []}]
        >>> ev = VOCEvaluator(gt, classes=["cat"])
        >>> ev.update({0: {"boxes": [[0., 0., 10., 10.]], "scores": [0.9], "labels": [1]},
        ...            1: {"boxes": [[0., 0., 5., 5.]], "scores": [0.95], "labels": [1]}})
        >>> ev.compute()["mAP"]
        0.5
    """

    def __init__(
        self,
        dataset_or_gt: Any,
        classes: Optional[Sequence[str]] = None,
        use_07_metric: Optional[bool] = None,
        iou_threshold: float = 0.5,
        match_rule: str = "devkit",
    ) -> None:
        if classes is None:
            classes = getattr(dataset_or_gt, "classes", None)
            if classes is None:
                raise ValueError("classes is required when the ground truth has no .classes")
        check_match_rule(match_rule, iou_threshold)
        self.classes = list(classes)
        if use_07_metric is None:
            use_07_metric = bool(getattr(dataset_or_gt, "use_07_metric", False))
        self.use_07_metric = bool(use_07_metric)
        self.iou_threshold = float(iou_threshold)
        self.match_rule = match_rule
        self.ground_truth = ground_truth(dataset_or_gt, self.classes)
        super().__init__(len(self.ground_truth))

    def __repr__(self) -> str:
        return (
            f"VOCEvaluator({len(self.ground_truth)} images, {len(self.classes)} classes, "
            f"use_07_metric={self.use_07_metric}, iou_threshold={self.iou_threshold}, "
            f"match_rule={self.match_rule!r}) [{len(self.predictions)} predicted]"
        )

    def _check_prediction(self, index: int, pred: Dict[str, np.ndarray]) -> None:
        num_classes = len(self.classes)
        wrong = pred["labels"][(pred["labels"] < 1) | (pred["labels"] > num_classes)]
        if wrong.size:
            raise ValueError(
                f"label {int(wrong[0])} of index {index} is outside 1..{num_classes} "
                f"(0 is background; classes: {self.classes[:5]}...)"
            )

    def _detections(self) -> Dict[int, Tuple[np.ndarray, np.ndarray, np.ndarray]]:
        preds = self.predictions
        keys = sorted(preds)
        if not keys:
            return {}
        img = np.concatenate([np.full(len(preds[k]["scores"]), k, np.int64) for k in keys])
        scores = np.concatenate([preds[k]["scores"] for k in keys])
        labels = np.concatenate([preds[k]["labels"] for k in keys])
        boxes = to_devkit_boxes(np.concatenate([preds[k]["boxes"] for k in keys]))
        return {
            int(lab): (img[labels == lab], scores[labels == lab], boxes[labels == lab])
            for lab in np.unique(labels)
        }

    def compute(self) -> Dict[str, Any]:
        """Compute the metrics over every image of the ground truth.

        Returns:
            ``{"mAP", "AP" (class -> AP, nan without ground truth), "num_gt", "num_det",
            "recall" (final recall per class), "metric", "use_07_metric",
            "iou_threshold", "match_rule", "num_images"}``.
        """
        return score_detections(
            self.ground_truth, self.classes, self._detections(), self.use_07_metric,
            self.iou_threshold, self.match_rule,
        )


def evaluate_predictions(
    dataset: Any,
    predictions: Any,
    use_07_metric: Optional[bool] = None,
    classes: Optional[Sequence[str]] = None,
    match_rule: str = "devkit",
) -> Dict[str, Any]:
    """Evaluate predictions against a dataset with the year's metric (occlusion studies).

    Args:
        dataset: A dataset with ``get_annotation`` (or ground truths, see
            :class:`VOCEvaluator`).
        predictions: A list in dataset order or ``{index: prediction}``.
        use_07_metric: Override the dataset's metric. Default None (the year's).
        classes: Override the class list. Default None (the dataset's).
        match_rule: Default ``"devkit"``; see :data:`MATCH_RULES`.

    Returns:
        The :meth:`VOCEvaluator.compute` dict.
    """
    ev = VOCEvaluator(dataset, classes=classes, use_07_metric=use_07_metric, match_rule=match_rule)
    ev.update(predictions)
    return ev.compute()
