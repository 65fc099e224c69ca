"""COCO evaluation, and agreement with the VOC evaluator where the definitions agree."""

import contextlib
import io
import json
import pickle
import warnings

import numpy as np
import pytest
from _data_helpers import make_coco, perfect_predictions, small_synthetic
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from detaug.data import COCODetection
from detaug.evaluation import (
    COCOEvaluator,
    VOCEvaluator,
    evaluate_class,
    evaluate_coco_results,
    predictions_to_coco,
    to_devkit_boxes,
    write_coco_results,
)


def _coco(images, anns, cats):
    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO()
        c.dataset = {"images": images, "annotations": anns, "categories": cats}
        c.createIndex()
    return c


def _ap50_per_class(coco_gt, results):
    """COCOeval precision at IoU .5 (area all, 100 dets), per category, 101 points."""
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco_gt, coco_gt.loadRes(results), "bbox")
        ev.evaluate()
        ev.accumulate()
    return {c: ev.eval["precision"][0, :, k, 0, 2] for k, c in enumerate(ev.params.catIds)}


def _ap_101(rec, prec):
    """101-point interpolation of a VOC recall/precision curve, COCO's way."""
    env = np.maximum.accumulate(np.asarray(prec)[::-1])[::-1]
    idx = np.searchsorted(rec, np.linspace(0, 1, 101), side="left")
    return np.array([env[i] if i < len(env) else 0.0 for i in idx])


def test_designed_case_all_three_metrics_agree():
    # Two images, one gt each; per image an FP (far box) scored above the TP.
    # Score order FP TP FP TP: recall 0 .5 .5 1, precision 0 .5 1/3 .5 -> the precision
    # envelope is .5 at every recall, so VOC all-point = VOC07 11-point = COCO AP50 = .5.
    images = [{"id": 1, "width": 100, "height": 100}, {"id": 2, "width": 100, "height": 100}]
    gt_box = [10.0, 10.0, 30.0, 30.0]  # 0-based xyxy
    anns = [{"id": i, "image_id": i, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0}
            for i in (1, 2)]
    coco_gt = _coco(images, anns, [{"id": 1, "name": "a"}])
    preds = {i: {"boxes": [[60.0, 60.0, 80.0, 80.0], gt_box], "scores": [0.9 - 0.2 * i, 0.8 - 0.2 * i],
                 "labels": [1, 1]} for i in (0, 1)}
    coco_ev = COCOEvaluator(coco_gt, {1: 1}, image_ids=[1, 2])
    coco_ev.update(preds)
    coco_ap50 = coco_ev.compute()["AP50"]
    voc_targets = [{"boxes": [gt_box], "labels": [1]}] * 2
    for use_07 in (False, True):
        ev = VOCEvaluator(voc_targets, ["a"], use_07_metric=use_07)
        ev.update(preds)
        assert ev.compute()["mAP"] == pytest.approx(0.5)
    assert coco_ap50 == pytest.approx(0.5)


@pytest.mark.parametrize("seed", range(3))
def test_random_cases_match_pycocotools_at_iou_05(seed):
    # Where the definitions agree: ground truths far apart (each detection overlaps at
    # most one, so "best IoU" and "best unmatched IoU" coincide), IoUs kept away from
    # 0.5 (VOC needs > .5, COCO >= .5), no crowd/difficult, < 100 detections per image,
    # area range "all". The devkit's +1 IoU on 1-based boxes equals the plain IoU on
    # 0-based continuous boxes, so only the interpolation differs: compare COCO's
    # 101-point precisions with the same interpolation of our recall/precision curve.
    rng = np.random.default_rng(seed)
    n_img, cats = 12, [{"id": 3, "name": "a"}, {"id": 7, "name": "b"}]
    images, anns, targets, preds = [], [], [], {}
    for i in range(n_img):
        images.append({"id": 100 + i, "width": 400, "height": 400})
        boxes, labels = [], []
        for cell in rng.permutation(16)[: rng.integers(1, 5)]:  # a 4x4 grid, 100 px cells
            x, y = (cell % 4) * 100 + 20, (cell // 4) * 100 + 20
            w, h = rng.integers(30, 60, 2)
            boxes.append([x, y, x + w, y + h])
            labels.append(int(rng.integers(1, 3)))
            anns.append({"id": len(anns) + 1, "image_id": 100 + i, "category_id": cats[labels[-1] - 1]["id"],
                         "bbox": [x, y, w, h], "area": float(w * h), "iscrowd": 0})
        targets.append({"boxes": boxes, "labels": labels})
        pb, ps, pl = [], [], []
        for b, lab in zip(boxes, labels):
            for _ in range(rng.integers(0, 3)):
                good = rng.uniform() < 0.7
                shift = rng.uniform(0, 2) if good else rng.uniform(25, 40)  # IoU > .8 or < .4
                pb.append(np.array(b, float) + shift)
                ps.append(rng.uniform())
                pl.append(lab if rng.uniform() < 0.9 else 3 - lab)
        preds[i] = {"boxes": np.array(pb).reshape(-1, 4), "scores": np.array(ps), "labels": np.array(pl)}
    coco_gt = _coco(images, anns, cats)
    l2c = {1: 3, 2: 7}
    coco_prec = _ap50_per_class(coco_gt, predictions_to_coco(preds, [im["id"] for im in images], l2c))
    for label in (1, 2):
        gb = [to_devkit_boxes(np.array(t["boxes"], float)[np.array(t["labels"]) == label]) for t in targets]
        gd = [np.zeros(len(g), bool) for g in gb]
        di = np.concatenate([np.full(int((p["labels"] == label).sum()), i) for i, p in preds.items()])
        ds = np.concatenate([p["scores"][p["labels"] == label] for p in preds.values()])
        db = to_devkit_boxes(np.concatenate([p["boxes"][p["labels"] == label] for p in preds.values()]))
        r = evaluate_class(gb, gd, di, ds, db)
        np.testing.assert_allclose(_ap_101(r["recall"], r["precision"]), coco_prec[l2c[label]], atol=1e-12)
        assert 0 < r["ap"] < 1


def test_matching_difference_is_the_devkits():
    # Two overlapping ground truths; the 2nd detection's best IoU is the gt already taken.
    # The devkit calls it a duplicate (FP); COCO matches it to the free gt (TP).
    gts = [[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 11.0]]
    preds = {0: {"boxes": [[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.4]], "scores": [0.9, 0.8], "labels": [1, 1]}}
    voc = VOCEvaluator([{"boxes": gts, "labels": [1, 1]}], ["a"])
    voc.update(preds)
    coco_gt = _coco([{"id": 1, "width": 20, "height": 20}],
                    [{"id": k + 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, h], "area": 10.0 * h,
                      "iscrowd": 0} for k, h in enumerate((10, 11))], [{"id": 1, "name": "a"}])
    coco = COCOEvaluator(coco_gt)
    coco.update(preds)
    assert voc.compute()["mAP"] == pytest.approx(0.5)
    assert coco.compute()["AP50"] == pytest.approx(1.0)


def test_synthetic_perfect_predictions_and_results_file(tmp_path):
    info = small_synthetic()
    ds = COCODetection(info.image_dir, info.coco_annotations["test"], train=False)
    ev = COCOEvaluator(ds)
    ev.update(perfect_predictions(ds))
    r = ev.compute()
    assert r["AP"] == pytest.approx(1.0) and r["AP50"] == pytest.approx(1.0) and r["AP75"] == pytest.approx(1.0)
    assert set(r["AP_per_class"]) <= set(info.classes) and "Average Precision" in r["summary"]
    # through a results file: same numbers
    preds = perfect_predictions(ds)
    preds[0]["boxes"][:, 2:] += 6.0  # degrade one image
    ev.reset()
    ev.update(preds)
    direct = ev.compute()
    path = write_coco_results(tmp_path / "res.json", preds, ds.image_ids, ds.label_to_category_id)
    assert not list(tmp_path.glob("*.tmp"))
    from_file = evaluate_coco_results(info.coco_annotations["test"], path)
    for k in ("AP", "AP50", "AP75", "APs", "APm", "APl"):
        assert from_file[k] == pytest.approx(direct[k])
    assert direct["AP"] < 1.0


def test_label_mapping_and_crowd(tmp_path):
    cats = [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}]
    images = [{"id": 10, "width": 100, "height": 100}]
    anns = [{"image_id": 10, "category_id": 90, "bbox": [10, 10, 20, 20]},
            {"image_id": 10, "category_id": 1, "bbox": [50, 50, 40, 40], "iscrowd": 1}]
    ds = COCODetection(*make_coco(tmp_path, images, anns, cats), train=False)
    assert ds.label_to_category_id == {1: 1, 2: 90}
    preds = {0: {"boxes": [[10, 10, 30, 30], [55, 55, 85, 85]], "scores": [0.9, 0.8], "labels": [2, 1]}}
    res = predictions_to_coco(preds, ds.image_ids, ds.label_to_category_id)
    assert [r["category_id"] for r in res] == [90, 1] and res[0]["bbox"] == [10.0, 10.0, 20.0, 20.0]
    ev = COCOEvaluator(ds)
    ev.update(preds)
    r = ev.compute()
    # the person detection lies in a crowd region: ignored, neither TP nor FP
    assert r["AP_per_class"]["toothbrush"] == pytest.approx(1.0)
    assert np.isnan(r["AP_per_class"]["person"])  # no non-crowd person ground truth
    assert r["AP"] == pytest.approx(1.0)


def test_state_merge_and_errors(tmp_path):
    info = small_synthetic()
    ds = COCODetection(info.image_dir, info.coco_annotations["test"], train=False)
    preds = perfect_predictions(ds)
    a, b, main = COCOEvaluator(ds), COCOEvaluator(ds), COCOEvaluator(ds)
    a.update({k: v for k, v in preds.items() if k % 2 == 0})
    b.update({k: v for k, v in preds.items() if k % 2 == 1})
    main.merge([pickle.loads(pickle.dumps(s.state_dict())) for s in (a, b)])
    assert main.compute()["AP"] == pytest.approx(1.0)
    # only half the images: all of them count unless seen_only
    assert a.compute()["AP"] < 1.0 and a.compute(seen_only=True)["AP"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="outside"):
        a.update({len(ds): preds[0]})
    with pytest.warns(UserWarning, match="no detections"):
        assert COCOEvaluator(ds).compute()["AP"] == 0.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image_id": 1}]))
    with pytest.raises(ValueError, match="bad.json"):
        evaluate_coco_results(info.coco_annotations["test"], bad)
    bad.write_text(json.dumps([{"image_id": 999999, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]))
    with pytest.raises(ValueError, match="999999"):
        evaluate_coco_results(info.coco_annotations["test"], bad)
    with pytest.raises(FileNotFoundError, match="none.json"):
        evaluate_coco_results(info.coco_annotations["test"], tmp_path / "none.json")


def test_results_with_unknown_category_are_rejected_and_input_not_mutated(tmp_path):
    info = small_synthetic()
    ann = info.coco_annotations["test"]
    ds = COCODetection(info.image_dir, ann, train=False)
    results = predictions_to_coco(perfect_predictions(ds), ds.image_ids, ds.label_to_category_id)
    before = json.dumps(results)
    assert evaluate_coco_results(ann, results)["AP"] == pytest.approx(1.0)
    assert json.dumps(results) == before  # loadRes adds id/area/segmentation in place
    bad = results + [dict(results[0], category_id=4242)]
    with pytest.raises(ValueError, match=r"results: category ids not in the annotations: \[4242\]"):
        evaluate_coco_results(ann, bad)
    (tmp_path / "r.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"r\.json: category ids .*4242"):
        evaluate_coco_results(ann, tmp_path / "r.json")


def test_no_detections_report_minus_one_where_cocoeval_does(tmp_path):
    # only small objects (area < 32^2): medium and large have no ground truth -> -1
    cats = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    images = [{"id": 1, "width": 100, "height": 100}, {"id": 2, "width": 100, "height": 100}]
    anns = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]}]
    ds = COCODetection(*make_coco(tmp_path, images, anns, cats, write_images=False), train=False)
    with pytest.warns(UserWarning, match="no detections"):
        r = COCOEvaluator(ds).compute()
    assert r["AP"] == 0.0 and r["APs"] == 0.0 and r["AR100"] == 0.0 and r["ARs"] == 0.0
    assert r["APm"] == r["APl"] == r["ARm"] == r["ARl"] == -1.0
    assert r["AP_per_class"]["a"] == 0.0 and np.isnan(r["AP_per_class"]["b"])
    with pytest.warns(UserWarning, match="no detections"):
        assert evaluate_coco_results(ds.coco, [])["APl"] == -1.0


def test_train_mode_dataset_warns_that_images_are_left_out(tmp_path):
    cats = [{"id": 1, "name": "a"}]
    images = [{"id": 1, "width": 50, "height": 50}, {"id": 2, "width": 50, "height": 50}]
    anns = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]}]
    files = make_coco(tmp_path, images, anns, cats, write_images=False)
    with pytest.warns(UserWarning, match=r"train=True dataset: only its 1 of 2 images") as rec:
        ev = COCOEvaluator(COCODetection(*files, train=True))
    assert rec[0].filename == __file__ and ev.image_ids == [1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert COCOEvaluator(COCODetection(*files, train=False)).image_ids == [1, 2]
