"""VOC devkit evaluation: hand-worked cases, a loop reference, files, datasets."""

import importlib
import pickle
import tracemalloc

import numpy as np
import pytest
import torch
from _data_helpers import make_voc, perfect_predictions, small_synthetic

from detaug.data import VOCDetection
from detaug.evaluation import (
    VOCEvaluator,
    evaluate_class,
    evaluate_predictions,
    evaluate_voc_results,
    read_voc_results,
    to_devkit_boxes,
    voc_ap,
    voc_iou,
    write_voc_results,
)

# 0-based continuous boxes
A = [0.0, 0.0, 10.0, 10.0]
B = [50.0, 50.0, 60.0, 60.0]  # far from A
HALF = [0.0, 0.0, 10.0, 20.0]  # IoU with A exactly 0.5: a match by the devkit rule (>=), not by py-faster-rcnn's (>)
JUST = [0.0, 0.0, 10.0, 19.9]  # IoU with A 100 / 199 > 0.5 -> match
C = [0.0, 0.0, 10.0, 11.0]  # a second ground truth overlapping A
NEAR = [0.0, 0.0, 10.0, 10.4]  # IoU .962 with A, .945 with C


def gt(*boxes, difficult=None):
    n = len(boxes)
    return {"boxes": np.array(boxes, float).reshape(n, 4), "labels": np.ones(n, int),
            "difficult": np.zeros(n, bool) if difficult is None else np.array(difficult)}


# Hand-worked single-class cases. dets: (image, score, box) in input order.
# Worked out: TP/FP sequence in score order -> recall / precision -> AP.
#   all-point: area under the precision envelope; 07: mean over t = 0, .1, ..., 1 of
#   max precision at recall >= t.
CASES = [
    # name, ground truth per image, detections, AP all-point, AP 07
    ("perfect",  # TP: rec [1], prec [1]
     [gt(A)], [(0, .9, A)], 1.0, 1.0),
    ("no detections",  # empty curve
     [gt(A)], [], 0.0, 0.0),
    ("duplicate is FP",  # TP FP TP: rec [.5 .5 1], prec [1 .5 2/3]: .5*1 + .5*2/3; (6*1 + 5*2/3)/11
     [gt(A), gt(A)], [(0, .9, A), (0, .8, A), (1, .7, A)], 5 / 6, (6 + 5 * 2 / 3) / 11),
    ("difficult match ignored",  # (ignored) TP, npos 1: rec [0 1], prec [0 1] -> 1
     [gt(A, B, difficult=[True, False])], [(0, .9, A), (0, .8, B)], 1.0, 1.0),
    ("difficult only: det neither TP nor FP",  # npos 1, the only det is ignored -> 0
     [gt(A, B, difficult=[True, False])], [(0, .9, A)], 0.0, 0.0),
    ("IoU exactly 0.5 is TP (devkit >=)",  # TP: 1
     [gt(A)], [(0, .9, HALF)], 1.0, 1.0),
    ("IoU just above 0.5 is TP",
     [gt(A)], [(0, .9, JUST)], 1.0, 1.0),
    ("FP ranked first",  # FP (image without gt) then TP, npos 1: rec [0 1], prec [0 .5] -> .5
     [gt(A), gt()], [(1, .9, A), (0, .8, A)], 0.5, 0.5),
    ("tie: input order, FP first",  # equal scores keep input order: FP TP -> .5
     [gt(A)], [(0, .5, B), (0, .5, A)], 0.5, 0.5),
    ("tie: input order, TP first",  # TP FP -> 1
     [gt(A)], [(0, .5, A), (0, .5, B)], 1.0, 1.0),
    ("best-IoU gt already taken -> FP",  # devkit: NEAR's best is A (taken), C left unmatched
     [gt(A, C)], [(0, .9, A), (0, .8, NEAR)], 0.5, 6 / 11),  # rec [.5 .5], prec [1 .5]
    ("half recall",  # TP, 2nd gt missed: rec [.5], prec [1]: .5; 07: t<=.5 -> 6/11
     [gt(A), gt(A)], [(0, .9, A)], 0.5, 6 / 11),
]


@pytest.mark.parametrize("name,gts,dets,ap_all,ap_07", CASES, ids=[c[0] for c in CASES])
def test_hand_worked_cases(name, gts, dets, ap_all, ap_07):
    for use_07, expected in ((False, ap_all), (True, ap_07)):
        ev = VOCEvaluator(gts, classes=["a"], use_07_metric=use_07)
        preds = {i: {"boxes": np.zeros((0, 4)), "scores": [], "labels": []} for i in range(len(gts))}
        for img, score, box in dets:
            p = preds[img]
            p["boxes"] = np.vstack([p["boxes"], [box]])
            p["scores"] = list(p["scores"]) + [score]
            p["labels"] = list(p["labels"]) + [1]
        ev.update(preds)
        r = ev.compute()
        assert r["AP"]["a"] == pytest.approx(expected, abs=1e-12), (name, use_07)
        assert r["mAP"] == pytest.approx(expected, abs=1e-12)


def test_match_rules_differ_only_at_the_threshold():
    # devkit coordinates: A is (1, 1, 10, 10), 100 px; HALF is (1, 1, 10, 20), 200 px;
    # intersection 100 px -> IoU exactly 100 / 200
    for rule, at_half in (("devkit", 1.0), ("py-faster-rcnn", 0.0)):
        for det, expected in ((HALF, at_half), (JUST, 1.0), (B, 0.0)):
            ev = VOCEvaluator([gt(A)], classes=["a"], match_rule=rule)
            ev.update({0: {"boxes": [det], "scores": [0.9], "labels": [1]}})
            r = ev.compute()
            assert r["mAP"] == expected and r["match_rule"] == rule, (rule, det)
    for bad in ({"match_rule": "strict"}, {"iou_threshold": float("nan")}, {"iou_threshold": 0.0}):
        with pytest.raises(ValueError, match="match_rule|iou_threshold"):
            VOCEvaluator([gt(A)], classes=["a"], **bad)


def test_class_without_ground_truth_is_nan_and_left_out_of_map():
    gts = [{"boxes": [A], "labels": [1]}]
    ev = VOCEvaluator(gts, classes=["a", "b"])
    ev.update({0: {"boxes": [A, B], "scores": [0.9, 0.8], "labels": [1, 2]}})
    r = ev.compute()
    assert r["AP"]["a"] == 1.0 and np.isnan(r["AP"]["b"])
    assert r["mAP"] == 1.0 and r["num_gt"] == {"a": 1, "b": 0} and r["num_det"] == {"a": 1, "b": 1}


def test_voc_ap_metrics():
    # devkit quirk kept on purpose: np.arange(0, 1.1, .1)[3] is 0.30000000000000004,
    # so a curve that stops exactly at recall 0.3 earns only the points t <= 0.2
    assert voc_ap([0.3], [1.0], use_07_metric=True) == pytest.approx(3 / 11)
    assert voc_ap([0.3], [1.0]) == pytest.approx(0.3)
    assert voc_ap([], []) == 0.0 and voc_ap([], [], True) == 0.0
    # the envelope: precision at recall r is the best precision at recall >= r
    assert voc_ap([0.5, 1.0], [0.5, 1.0]) == 1.0


def test_iou_uses_inclusive_pixels_and_perfect_detection_scores_one():
    # devkit boxes (1, 1, 10, 10) and (1, 1, 1, 1): 100 px and 1 px -> IoU 1/100
    assert voc_iou([[1, 1, 10, 10]], [[1, 1, 1, 1]])[0, 0] == pytest.approx(0.01)
    raw = np.array([[12.0, 7.0, 48.0, 33.0]])  # as in an XML file
    target = raw.copy()
    target[:, :2] -= 1  # what VOCDetection returns
    assert voc_iou(to_devkit_boxes(target), raw)[0, 0] == 1.0


def _devkit_loop(gt_boxes, gt_diff, det_img, scores, boxes, use_07, rule):
    """Straight port of py-faster-rcnn's voc_eval.py loop (with a stable sort); its
    ``ovmax > ovthresh`` becomes ``>=`` for the MATLAB devkit (VOCevaldet.m)."""
    npos = sum(int((~d).sum()) for d in gt_diff)
    order = np.argsort(-scores, kind="stable")
    det = [np.zeros(len(g), bool) for g in gt_boxes]
    tp, fp = np.zeros(len(order)), np.zeros(len(order))
    for d, i in enumerate(order):
        bb, bbgt = boxes[i], gt_boxes[det_img[i]]
        ovmax = -np.inf
        if bbgt.size > 0:
            ixmin, iymin = np.maximum(bbgt[:, 0], bb[0]), np.maximum(bbgt[:, 1], bb[1])
            ixmax, iymax = np.minimum(bbgt[:, 2], bb[2]), np.minimum(bbgt[:, 3], bb[3])
            iw, ih = np.maximum(ixmax - ixmin + 1.0, 0.0), np.maximum(iymax - iymin + 1.0, 0.0)
            inters = iw * ih
            uni = ((bb[2] - bb[0] + 1.0) * (bb[3] - bb[1] + 1.0)
                   + (bbgt[:, 2] - bbgt[:, 0] + 1.0) * (bbgt[:, 3] - bbgt[:, 1] + 1.0) - inters)
            overlaps = inters / uni
            ovmax, jmax = np.max(overlaps), np.argmax(overlaps)
        if (ovmax >= 0.5) if rule == "devkit" else (ovmax > 0.5):
            if not gt_diff[det_img[i]][jmax]:
                if not det[det_img[i]][jmax]:
                    tp[d] = 1.0
                    det[det_img[i]][jmax] = True
                else:
                    fp[d] = 1.0
        else:
            fp[d] = 1.0
    fp, tp = np.cumsum(fp), np.cumsum(tp)
    rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return tp, fp, voc_ap(rec, prec, use_07)


# pairs budget of the IoU blocks: the default (one block) and tiny (many blocks, some
# with a single detection wider than the budget)
@pytest.mark.parametrize("pairs", [None, 7], ids=["one-block", "tiny-blocks"])
@pytest.mark.parametrize("seed", range(6))
def test_vectorised_matches_devkit_loop(seed, pairs, monkeypatch):
    if pairs is not None:
        monkeypatch.setattr(importlib.import_module("detaug.evaluation.voc"), "_PAIRS", pairs)
    rng = np.random.default_rng(seed)
    n_img = 30
    gt_boxes, gt_diff = [], []
    for i in range(n_img):
        k = 40 if i == 3 else rng.integers(0, 5)  # one crowded image
        xy = rng.integers(1, 80, (k, 2)).astype(float)
        wh = rng.integers(5, 30, (k, 2)).astype(float)
        gt_boxes.append(np.hstack([xy, xy + wh]))  # devkit coordinates, may overlap
        gt_diff.append(rng.uniform(size=k) < 0.2)
    det_img, boxes = [], []
    for i, g in enumerate(gt_boxes):
        for b in g:
            for _ in range(rng.integers(0, 3)):  # 0, 1 or 2 (duplicate) detections
                det_img.append(i)
                # whole-pixel boxes (seeds 3-5) make IoU exactly 0.5 happen, where the rules differ
                noise = rng.normal(0, 2.5, 4)
                boxes.append(b + (np.round(noise) if seed >= 3 else noise))
        for _ in range(rng.integers(0, 3)):  # background detections
            det_img.append(i)
            xy = rng.uniform(1, 80, 2)
            boxes.append(np.concatenate([xy, xy + rng.uniform(5, 30, 2)]))
    det_img, boxes = np.array(det_img), np.array(boxes)
    scores = np.round(rng.uniform(size=len(det_img)), 2)  # rounding creates ties
    for use_07 in (False, True):
        for rule in ("devkit", "py-faster-rcnn"):
            r = evaluate_class(gt_boxes, gt_diff, det_img, scores, boxes, use_07, match_rule=rule)
            tp, fp, ap = _devkit_loop(gt_boxes, gt_diff, det_img, scores, boxes, use_07, rule)
            np.testing.assert_array_equal(np.cumsum(r["tp"]), tp)
            np.testing.assert_array_equal(np.cumsum(r["fp"]), fp)
            assert r["ap"] == ap


def _noisy_predictions(ds, seed=0):
    rng = np.random.default_rng(seed)
    preds = {}
    for i in range(len(ds)):
        t = ds.get_target(i)
        boxes = t["boxes"].numpy() + rng.normal(0, 3, t["boxes"].shape)
        extra = rng.uniform(0, 100, (2, 4))
        extra[:, 2:] = extra[:, :2] + 20
        preds[i] = {
            "boxes": torch.as_tensor(np.vstack([boxes, extra]), dtype=torch.float32),
            "scores": torch.as_tensor(rng.uniform(size=len(boxes) + 2), dtype=torch.float32),
            "labels": torch.cat([t["labels"], torch.as_tensor(rng.integers(1, 7, 2))]),
        }
    return preds


def test_dataset_perfect_and_file_round_trip(tmp_path):
    info = small_synthetic()
    ds = VOCDetection(info.voc_root, "test", classes=info.classes)
    perfect = evaluate_predictions(ds, perfect_predictions(ds))
    assert perfect["mAP"] == 1.0 and perfect["metric"] == "VOC2010+ all-point"
    preds = _noisy_predictions(ds)
    ev = VOCEvaluator(ds)
    ev.update(preds)
    direct = ev.compute()
    assert 0.05 < direct["mAP"] < 1.0
    paths = write_voc_results(tmp_path, "test", ds.classes, preds, ds.image_names)
    assert sorted(p.name for p in paths.values()) == sorted(f"comp4_det_test_{c}.txt" for c in ds.classes)
    first = paths[ds.classes[0]].read_text().splitlines()[0].split()
    assert first[0] in ds.image_names and len(first) == 6
    from_files = evaluate_voc_results(tmp_path, ds)
    for c in ds.classes:
        assert from_files["AP"][c] == pytest.approx(direct["AP"][c], abs=1e-6)
    dets = read_voc_results(tmp_path, "test", ds.classes, ds.image_names)
    assert sum(len(v[0]) for v in dets.values()) == sum(len(p["scores"]) for p in preds.values())


def test_difficult_objects_come_from_the_annotation(tmp_path):
    voc = make_voc(tmp_path, [("x", (40, 40), [("dog", 1, 1, 10, 10, 0), ("dog", 21, 21, 30, 30, 1)])])
    ds = VOCDetection(voc, "test")  # training targets drop the difficult dog
    assert len(ds.get_target(0)["boxes"]) == 1
    ev = VOCEvaluator(ds)
    assert ev.use_07_metric is True  # VOC2007 folder
    dog = ds.label_of("dog")
    ev.update({0: {"boxes": [[0, 0, 10, 10], [20, 20, 30, 30]], "scores": [0.9, 0.95], "labels": [dog, dog]}})
    r = ev.compute()
    # difficult hit ignored, not FP (11-point sum of 11 x 1/11 is 1 up to rounding)
    assert r["AP"]["dog"] == pytest.approx(1.0) and r["num_gt"]["dog"] == 1


def test_state_is_picklable_and_merges_across_ranks():
    info = small_synthetic()
    ds = VOCDetection(info.voc_root, "test", classes=info.classes)
    preds = _noisy_predictions(ds, seed=1)
    single = VOCEvaluator(ds)
    single.update(preds)
    ranks = []
    for r in range(2):  # DistributedSampler-like split, with a repeated (padding) index
        ev = VOCEvaluator(ds)
        ev.update({k: v for k, v in preds.items() if k % 2 == r or k == 0})
        ranks.append(pickle.loads(pickle.dumps(ev.state_dict())))
    main = VOCEvaluator(ds)
    main.merge(ranks)
    assert main.compute() == single.compute()
    with pytest.raises(ValueError, match="outside the dataset"):
        main.update({len(ds): preds[0]})
    with pytest.raises(ValueError, match="missing"):
        main.update({0: {"boxes": [[0, 0, 1, 1]]}})
    # labels outside 1..K are an error, as in write_voc_results, not silently dropped
    for label in (0, len(ds.classes) + 1):
        bad = {"boxes": [[0, 0, 5, 5], [0, 0, 5, 5]], "scores": [0.9, 0.8], "labels": [1, label]}
        with pytest.raises(ValueError, match=f"label {label} of index 3 is outside 1..{len(ds.classes)}"):
            main.update({3: bad})
        with pytest.raises(ValueError, match=f"label {label} of index 0"):
            evaluate_predictions(ds, [bad])
    main.reset()
    assert main.compute()["mAP"] == 0.0


def test_result_file_errors(tmp_path):
    names = ["a", "b"]
    with pytest.raises(FileNotFoundError, match="results folder"):
        read_voc_results(tmp_path / "none", "test", ["cat"], names)
    with pytest.raises(FileNotFoundError, match="comp4_det_test_cat.txt"):
        read_voc_results(tmp_path, "test", ["cat"], names)
    (tmp_path / "comp4_det_test_cat.txt").write_text("a 0.5 1 1 5 5\nc 0.4 1 1 5 5\n")
    with pytest.raises(ValueError, match=r"comp4_det_test_cat.txt:2: image 'c'"):
        read_voc_results(tmp_path, "test", ["cat"], names)
    (tmp_path / "comp4_det_test_cat.txt").write_text("a 0.5 1 1 5\n")
    with pytest.raises(ValueError, match=r":1: expected"):
        read_voc_results(tmp_path, "test", ["cat"], names)
    with pytest.raises(ValueError, match="outside 1..1"):
        write_voc_results(tmp_path, "test", ["cat"], {0: {"boxes": [A], "scores": [1], "labels": [2]}}, names)


def test_repr_shows_settings():
    ev = VOCEvaluator([{"boxes": [A], "labels": [1]}], ["a"], use_07_metric=True)
    ev.update({0: {"boxes": [A], "scores": [1.0], "labels": [1]}})
    assert repr(ev) == ("VOCEvaluator(1 images, 1 classes, use_07_metric=True, iou_threshold=0.5, "
                        "match_rule='devkit') [1 predicted]")


def test_results_on_images_dropped_for_bad_xml_are_skipped(tmp_path):
    voc = make_voc(tmp_path, [("a", (20, 20), [("dog", 1, 1, 10, 10, 0)]), ("b", (20, 20), [])])
    (voc / "Annotations" / "b.xml").write_text("<annotation><object>")  # malformed
    with pytest.warns(UserWarning, match="b.xml"):
        ds = VOCDetection(voc, "test", classes=["dog"], strict=False, check_images=False)
    assert ds.image_names == ["a"] and ds.dropped_images == ["b"]
    results = tmp_path / "res"
    results.mkdir()
    (results / "comp4_det_test_dog.txt").write_text("a 0.9 1 1 10 10\nb 0.8 1 1 5 5\nb 0.7 2 2 5 5\n")
    with pytest.warns(UserWarning, match=r"2 detections on 1 images .* skipped") as rec:
        r = evaluate_voc_results(results, ds)
    assert r["AP"]["dog"] == pytest.approx(1.0) and r["num_det"]["dog"] == 1
    assert sum("skipped" in str(w.message) for w in rec) == 1  # one warning, not one per line
    # an image that is neither in the split nor dropped is still an error
    (results / "comp4_det_test_dog.txt").write_text("c 0.9 1 1 10 10\n")
    with pytest.raises(ValueError, match="image 'c' is not in the split"):
        evaluate_voc_results(results, ds)


def test_crowded_image_memory_is_bounded():
    # one image with 500 ground truths and 20k detections, plus 200 sparse images: the
    # padded version held D x max(G_i) x 4 floats at once (~0.5 GB here, 3.6 GB at 200k)
    rng = np.random.default_rng(0)
    xy = rng.uniform(1, 400, (500, 2))
    gt = [np.hstack([xy, xy + 20])] + [np.array([[1.0, 1.0, 20.0, 20.0]])] * 200
    diff = [np.zeros(len(g), bool) for g in gt]
    n = 20000
    det_img = np.where(np.arange(n) < n - 200, 0, np.arange(n) - (n - 200) + 1)
    boxes = np.vstack([gt[0][rng.integers(0, 500, n - 200)] + rng.normal(0, 2, (n - 200, 4)),
                       np.tile([[1.0, 1.0, 20.0, 20.0]], (200, 1))])
    scores = rng.uniform(size=n)
    tracemalloc.start()
    try:
        r = evaluate_class(gt, diff, det_img, scores, boxes)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 150e6, f"peak {peak / 1e6:.0f} MB"
    assert r["num_gt"] == 700 and r["tp"].sum() == 700  # every ground truth found once
