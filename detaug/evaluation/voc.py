"""PASCAL VOC detection evaluation, exactly as the devkit computes it (vectorised numpy).

Per class:

1. Detections of the class from all images are sorted by decreasing score (a stable
   sort: ties keep input order, image by image, as MATLAB's ``sort`` in the devkit and
   pycocotools' ``mergesort`` do).
2. Each detection takes the ground-truth box of its image and class with the highest
   IoU, difficult boxes included, IoU computed on devkit coordinates with inclusive
   pixel widths (``xmax - xmin + 1``).
3. If that IoU is ``> 0.5`` (strictly): a difficult box makes the detection neither true
   nor false positive; an unmatched box makes it a true positive and is marked matched;
   an already matched box makes it a false positive (duplicate). IoU ``<= 0.5`` or no
   ground truth of the class in the image: false positive.
4. ``recall = cumTP / n_pos`` with ``n_pos`` the number of non-difficult boxes;
   ``precision = cumTP / (cumTP + cumFP)``; AP by :func:`voc_ap`.

A class with no non-difficult ground truth has AP ``nan`` (the devkit divides by zero
there); it is reported but left out of the mAP, which is the mean over the other classes.

Coordinates: predictions and dataset targets are 0-based continuous xyxy; they are turned
into devkit coordinates with ``xmin = x1 + 1, ymin = y1 + 1, xmax = x2, ymax = y2`` (the
exact inverse of the loader's conversion), so a prediction equal to a target box has IoU
1. Result files (``comp4_det_<split>_<class>.txt``) hold devkit coordinates, as the devkit
writes them, and are evaluated without any conversion.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Collection, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from detaug.io import atomic_write_text

from ._common import as_prediction_map

__all__ = [
    "VOCEvaluator",
    "evaluate_class",
    "evaluate_predictions",
    "evaluate_voc_results",
    "read_voc_results",
    "to_devkit_boxes",
    "voc_ap",
    "voc_iou",
    "write_voc_results",
]

_PAIRS = 1 << 19  # (detection, ground truth) pairs per IoU block: about 50 MB of temporaries


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


def evaluate_class(
    gt_boxes: Sequence[np.ndarray],
    gt_difficult: Sequence[np.ndarray],
    det_image: np.ndarray,
    det_scores: np.ndarray,
    det_boxes: np.ndarray,
    use_07_metric: bool = False,
    iou_threshold: float = 0.5,
) -> Dict[str, Any]:
    """Devkit evaluation of one class (see the module docstring for the rules).

    Args:
        gt_boxes: Per image, [G_i, 4] ground-truth boxes of the class (devkit coords).
        gt_difficult: Per image, [G_i] difficult flags.
        det_image: [D] image index (into ``gt_boxes``) of every detection.
        det_scores: [D] scores.
        det_boxes: [D, 4] detection boxes (devkit coords).
        use_07_metric: 11-point metric if True, all-point area otherwise. Default False.
        iou_threshold: A match needs IoU strictly above this. Default 0.5.

    Returns:
        ``{"ap", "recall", "precision", "tp", "fp", "num_gt", "num_det"}``; ``recall``,
        ``precision``, ``tp``, ``fp`` follow the score order; ``ap`` is ``nan`` when
        ``num_gt == 0``.

    Raises:
        ValueError: If lengths disagree or an image index is out of range.

    Examples:
        >>> r = evaluate_class([np.array([[1., 1., 10., 10.]])], [np.array([False])],
        ...                    np.array([0, 0]), np.array([0.9, 0.8]),
        ...                    np.array([[1., 1., 10., 10.], [1., 1., 10., 10.]]))
        >>> r["tp"].tolist(), r["fp"].tolist(), r["ap"]
        ([1.0, 0.0], [0.0, 1.0], 1.0)
    """
    n_img = len(gt_boxes)
    det_image = np.asarray(det_image, dtype=np.int64).reshape(-1)
    det_scores = np.asarray(det_scores, dtype=np.float64).reshape(-1)
    det_boxes = np.asarray(det_boxes, dtype=np.float64).reshape(-1, 4)
    if not det_image.shape[0] == det_scores.shape[0] == det_boxes.shape[0]:
        raise ValueError("det_image, det_scores and det_boxes disagree in length")
    if det_image.size and (det_image.min() < 0 or det_image.max() >= n_img):
        raise ValueError(f"detection image index out of range [0, {n_img})")
    counts = np.array([len(g) for g in gt_boxes], dtype=np.int64)
    diff_all = (
        np.concatenate([np.asarray(d, bool).reshape(-1) for d in gt_difficult])
        if n_img else np.zeros(0, bool)
    )
    num_gt = int((~diff_all).sum())
    order = np.argsort(-det_scores, kind="stable")
    det_image, det_scores, det_boxes = det_image[order], det_scores[order], det_boxes[order]
    num_det = det_image.shape[0]

    num_all = int(counts.sum())
    ovmax = np.full(num_det, -np.inf)
    jmax = np.zeros(num_det, dtype=np.int64)  # global index of the best ground truth
    if num_all > 0 and num_det > 0:
        gt_all = np.concatenate([np.asarray(g, np.float64).reshape(-1, 4) for g in gt_boxes])
        # coordinates as contiguous columns and areas computed once: the gathers below
        # stay contiguous (the same float operations as _iou_broadcast, so equal results)
        gx1, gy1, gx2, gy2 = (np.ascontiguousarray(c) for c in gt_all.T)
        dx1, dy1, dx2, dy2 = (np.ascontiguousarray(c) for c in det_boxes.T)
        g_area = (gx2 - gx1 + 1.0) * (gy2 - gy1 + 1.0)
        d_area = (dx2 - dx1 + 1.0) * (dy2 - dy1 + 1.0)
        start = np.cumsum(counts) - counts
        n_gt = counts[det_image]
        # Each detection is compared with the ground truths of its own image only. The
        # pairs are visited in chunks of about _PAIRS (detection, ground truth) pairs,
        # detections ordered by the ground-truth count of their image, so one crowded
        # image neither pads the others nor makes the memory grow with D x max(G_i).
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
            g = int(cnt[e - 1])
            slot = np.arange(g)
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
        hit = ovmax > iou_threshold
        is_diff = hit & diff_all[jmax]
        cand = np.flatnonzero(hit & ~is_diff)
        # the first candidate (in score order) of each ground truth is the true positive
        _, first = np.unique(jmax[cand], return_index=True)
        tp = np.zeros(num_det)
        tp[cand[first]] = 1.0
        fp = ((tp == 0) & ~is_diff).astype(np.float64)
    else:
        tp = np.zeros(num_det)
        fp = np.ones(num_det)
    ctp, cfp = np.cumsum(tp), np.cumsum(fp)
    prec = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
    if num_gt > 0:
        rec = ctp / float(num_gt)
        ap = voc_ap(rec, prec, use_07_metric)
    else:
        rec = np.full(num_det, np.nan)
        ap = float("nan")
    return {
        "ap": ap,
        "recall": rec,
        "precision": prec,
        "tp": tp,
        "fp": fp,
        "num_gt": num_gt,
        "num_det": num_det,
    }


# -- ground truth ---------------------------------------------------------------------
def _gt_from_annotation(ann: Mapping[str, Any], label_of: Mapping[str, int]) -> Dict[str, np.ndarray]:
    objs = [o for o in ann["objects"] if o["name"] in label_of]
    return {
        "boxes": np.array([o["bbox"] for o in objs], dtype=np.float64).reshape(-1, 4),
        "labels": np.array([label_of[o["name"]] for o in objs], dtype=np.int64),
        "difficult": np.array([bool(o["difficult"]) for o in objs], dtype=bool),
    }


def _gt_from_target(t: Mapping[str, Any]) -> Dict[str, np.ndarray]:
    def arr(x, dtype):
        return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=dtype)

    boxes = arr(t["boxes"], np.float64).reshape(-1, 4)
    labels = arr(t["labels"], np.int64).reshape(-1)
    diff = t.get("difficult")
    diff = np.zeros(len(labels), bool) if diff is None else arr(diff, bool).reshape(-1)
    return {"boxes": to_devkit_boxes(boxes), "labels": labels, "difficult": diff}


def _ground_truth(source: Any, classes: Sequence[str]) -> List[Dict[str, np.ndarray]]:
    label_of = {c: i + 1 for i, c in enumerate(classes)}
    if hasattr(source, "get_annotation"):
        return [_gt_from_annotation(source.get_annotation(i), label_of) for i in range(len(source))]
    out = []
    for i, item in enumerate(source):
        if "objects" in item:
            out.append(_gt_from_annotation(item, label_of))
        elif "boxes" in item and "labels" in item:
            out.append(_gt_from_target(item))
        else:
            raise ValueError(
                f"ground truth {i}: expected a VOC annotation (with 'objects') or a target "
                "(with 'boxes', 'labels' and optionally 'difficult')"
            )
    return out


def _evaluate(
    gts: List[Dict[str, np.ndarray]],
    classes: Sequence[str],
    dets: Mapping[int, Tuple[np.ndarray, np.ndarray, np.ndarray]],
    use_07_metric: bool,
    iou_threshold: float,
) -> Dict[str, Any]:
    aps, num_gt, num_det, recall = {}, {}, {}, {}
    for c, name in enumerate(classes):
        label = c + 1
        gb = [g["boxes"][g["labels"] == label] for g in gts]
        gd = [g["difficult"][g["labels"] == label] for g in gts]
        img, scores, boxes = dets.get(label, (np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 4))))
        r = evaluate_class(gb, gd, img, scores, boxes, use_07_metric, iou_threshold)
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
        "num_images": len(gts),
    }


class VOCEvaluator:
    """Accumulate predictions and compute per-class AP and mAP by the devkit rules.

    The state is a plain picklable dict (``state_dict()``) of numpy predictions keyed by
    dataset index, so a distributed engine can gather the states of all ranks, ``merge``
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
        iou_threshold: Match when IoU is strictly above. Default 0.5.

    Raises:
        ValueError: If no class list can be found.

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
    ) -> None:
        if classes is None:
            classes = getattr(dataset_or_gt, "classes", None)
            if classes is None:
                raise ValueError("classes is required when the ground truth has no .classes")
        self.classes = list(classes)
        if use_07_metric is None:
            use_07_metric = bool(getattr(dataset_or_gt, "use_07_metric", False))
        self.use_07_metric = bool(use_07_metric)
        self.iou_threshold = float(iou_threshold)
        self.ground_truth = _ground_truth(dataset_or_gt, self.classes)
        self.state: Dict[str, Any] = {"predictions": {}}

    def __repr__(self) -> str:
        return (
            f"VOCEvaluator({len(self.ground_truth)} images, {len(self.classes)} classes, "
            f"use_07_metric={self.use_07_metric}, iou_threshold={self.iou_threshold}) "
            f"[{len(self.state['predictions'])} predicted]"
        )

    def reset(self) -> None:
        """Forget all predictions."""
        self.state = {"predictions": {}}

    def update(self, predictions: Union[Mapping[int, Mapping[str, Any]], Sequence[Mapping[str, Any]]]) -> None:
        """Add predictions: ``{dataset index: {"boxes", "scores", "labels"}}``.

        Boxes are xyxy 0-based continuous pixels, labels in the dataset's label space.
        Tensors (any device) or arrays. An index given again replaces its predictions
        (``DistributedSampler`` padding repeats indices).

        Args:
            predictions: Mapping from index to prediction, or a list in index order.

        Raises:
            ValueError: If an index is outside the dataset, a label is outside
                ``1..len(classes)`` or a prediction is malformed.
        """
        preds = as_prediction_map(predictions)
        n = len(self.ground_truth)
        bad = [k for k in preds if not 0 <= k < n]
        if bad:
            raise ValueError(f"prediction indices {bad[:5]} are outside the dataset [0, {n})")
        num_classes = len(self.classes)
        for k, p in preds.items():
            wrong = p["labels"][(p["labels"] < 1) | (p["labels"] > num_classes)]
            if wrong.size:
                raise ValueError(
                    f"label {int(wrong[0])} of index {k} is outside 1..{num_classes} "
                    f"(0 is background; classes: {self.classes[:5]}...)"
                )
        self.state["predictions"].update(preds)

    def state_dict(self) -> Dict[str, Any]:
        """Return the state (a plain dict of numpy arrays, picklable)."""
        return {"predictions": dict(self.state["predictions"])}

    def merge(self, states: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]) -> None:
        """Merge states gathered from other ranks into this one.

        Args:
            states: One state (from :meth:`state_dict`) or a list of them.
        """
        if isinstance(states, Mapping):
            states = [states]
        for s in states:
            self.update(s["predictions"])

    def _detections(self) -> Dict[int, Tuple[np.ndarray, np.ndarray, np.ndarray]]:
        preds = self.state["predictions"]
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
            "iou_threshold", "num_images"}``.
        """
        return _evaluate(self.ground_truth, self.classes, self._detections(), self.use_07_metric, self.iou_threshold)


def evaluate_predictions(
    dataset: Any,
    predictions: Union[Mapping[int, Mapping[str, Any]], Sequence[Mapping[str, Any]]],
    use_07_metric: Optional[bool] = None,
    classes: Optional[Sequence[str]] = None,
) -> Dict[str, Any]:
    """Evaluate predictions against a dataset with the year's metric (occlusion studies).

    Args:
        dataset: A dataset with ``get_annotation`` (or ground truths, see
            :class:`VOCEvaluator`).
        predictions: A list in dataset order or ``{index: prediction}``.
        use_07_metric: Override the dataset's metric. Default None (the year's).
        classes: Override the class list. Default None (the dataset's).

    Returns:
        The :meth:`VOCEvaluator.compute` dict.
    """
    ev = VOCEvaluator(dataset, classes=classes, use_07_metric=use_07_metric)
    ev.update(predictions)
    return ev.compute()


# -- devkit result files -------------------------------------------------------------
def write_voc_results(
    out_dir: Union[str, os.PathLike],
    split: str,
    classes: Sequence[str],
    predictions: Union[Mapping[int, Mapping[str, Any]], Sequence[Mapping[str, Any]]],
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
        ValueError: If an index has no image name or a label is outside ``1..len(classes)``.

    Examples:
        >>> import tempfile
        >>> paths = write_voc_results(tempfile.mkdtemp(), "test", ["cat"],
        ...     {0: {"boxes": [[0., 0., 10., 5.]], "scores": [0.5], "labels": [1]}}, ["000001"])
        >>> paths["cat"].read_text()
        '000001 0.5 1.000 1.000 10.000 5.000\\n'
    """
    preds = as_prediction_map(predictions)
    lines: Dict[int, List[str]] = {i + 1: [] for i in range(len(classes))}
    for k in sorted(preds):
        if not 0 <= k < len(image_names):
            raise ValueError(f"prediction index {k} has no image name ({len(image_names)} names)")
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
        path = Path(out_dir) / f"{prefix}{split}_{name}.txt"
        text = "\n".join(lines[i + 1]) + ("\n" if lines[i + 1] else "")
        out[name] = atomic_write_text(path, text)
    return out


def read_voc_results(
    results_dir: Union[str, os.PathLike],
    split: str,
    classes: Sequence[str],
    image_names: Sequence[str],
    prefix: str = "comp4_det_",
    skip_images: Collection[str] = (),
) -> Dict[int, Tuple[np.ndarray, np.ndarray, np.ndarray]]:
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
        FileNotFoundError: If the folder or a class file is missing (all are listed).
        ValueError: On a malformed line or an unknown image name (file and line named).
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"{results_dir}: results folder not found")
    paths = {i + 1: results_dir / f"{prefix}{split}_{c}.txt" for i, c in enumerate(classes)}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"missing result files: {missing}")
    index = {n: i for i, n in enumerate(image_names)}
    skip = set(skip_images) - set(index)
    skipped: Dict[str, int] = {}
    out = {}
    for label, path in paths.items():
        img, scores, boxes = [], [], []
        for ln, line in enumerate(path.read_text().splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 6:
                raise ValueError(f"{path}:{ln}: expected 'image_id score x1 y1 x2 y2', got {line!r}")
            if parts[0] in skip:
                skipped[parts[0]] = skipped.get(parts[0], 0) + 1
                continue
            if parts[0] not in index:
                raise ValueError(f"{path}:{ln}: image {parts[0]!r} is not in the split")
            try:
                values = [float(v) for v in parts[1:]]
            except ValueError:
                raise ValueError(f"{path}:{ln}: non-numeric value in {line!r}") from None
            img.append(index[parts[0]])
            scores.append(values[0])
            boxes.append(values[1:])
        out[label] = (
            np.array(img, dtype=np.int64),
            np.array(scores, dtype=np.float64),
            np.array(boxes, dtype=np.float64).reshape(-1, 4),
        )
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
    classes: Optional[Sequence[str]] = None,
    use_07_metric: Optional[bool] = None,
    prefix: str = "comp4_det_",
    iou_threshold: float = 0.5,
) -> Dict[str, Any]:
    """Evaluate devkit result files against a VOC dataset (what ``eval_det.py voc`` does).

    Args:
        results_dir: Folder with ``comp4_det_<split>_<class>.txt`` files.
        dataset: A ``VOCDetection`` (``get_annotation``, ``image_names``).
        split: Split name in the file names. Default: ``dataset.split``.
        classes: Default: ``dataset.classes``.
        use_07_metric: Default: the dataset's year.
        prefix: File name prefix. Default ``"comp4_det_"``.
        iou_threshold: Default 0.5.

    Detections on images the dataset left out for an annotation problem (non-strict
    mode, ``dataset.dropped_images``) are skipped with one warning; any other image name
    not in the split is an error.

    Returns:
        The same dict as :meth:`VOCEvaluator.compute`.

    Raises:
        FileNotFoundError: If the folder or a class file is missing.
        ValueError: On a malformed result file.
    """
    classes = list(dataset.classes if classes is None else classes)
    split = dataset.split if split is None else split
    if use_07_metric is None:
        use_07_metric = bool(getattr(dataset, "use_07_metric", False))
    dets = read_voc_results(
        results_dir, split, classes, dataset.image_names, prefix,
        skip_images=getattr(dataset, "dropped_images", ()),
    )
    gts = _ground_truth(dataset, classes)
    return _evaluate(gts, classes, dets, use_07_metric, iou_threshold)
