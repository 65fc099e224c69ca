"""The two COCOeval backends give the same numbers (faster-coco-eval is a drop-in for
pycocotools; detaug picks it when it is installed)."""

import contextlib
import io
import warnings

import numpy as np
import pytest
from pycocotools.coco import COCO

from detaug.evaluation import BACKENDS, COCOEvaluator, coco_backend, evaluate_coco_results
from detaug.evaluation.coco import STAT_NAMES

needs_fast = pytest.mark.skipif(
    coco_backend() != "faster-coco-eval", reason="faster-coco-eval is not installed (pip install 'detaug[fast]')"
)


def _case(seed, n_images=30, n_dets=40):
    """Random ground truth (5 categories, one never annotated, some crowd, small to large
    boxes) and detections near it or anywhere, up to 100+ per image."""
    rng = np.random.default_rng(seed)
    cats = [{"id": c, "name": f"c{c}"} for c in (1, 2, 4, 9, 11)]  # 11: no ground truth
    images, anns, results = [], [], []
    for i in range(n_images):
        w, h = int(rng.integers(200, 500)), int(rng.integers(200, 500))
        images.append({"id": 10 + i, "width": w, "height": h})
        gt = []
        for _ in range(rng.integers(0, 8)):
            bw, bh = rng.uniform(5, w / 2), rng.uniform(5, h / 2)
            x, y, cat = rng.uniform(0, w - bw), rng.uniform(0, h - bh), int(rng.choice([1, 2, 4, 9]))
            gt.append((x, y, bw, bh, cat))
            anns.append({"id": len(anns) + 1, "image_id": 10 + i, "category_id": cat, "bbox": [x, y, bw, bh],
                         "area": bw * bh, "iscrowd": int(rng.uniform() < 0.1)})
        for _ in range(rng.integers(0, 2 * n_dets + 30)):  # sometimes past maxDets = 100
            if gt and rng.uniform() < 0.6:
                x, y, bw, bh, cat = gt[rng.integers(len(gt))]
                x, y, bw, bh = x + rng.normal(0, bw / 8), y + rng.normal(0, bh / 8), bw * rng.uniform(.7, 1.3), bh
            else:
                bw, bh = rng.uniform(2, w / 2), rng.uniform(2, h / 2)
                x, y, cat = rng.uniform(0, w - bw), rng.uniform(0, h - bh), int(rng.choice([1, 2, 4, 9, 11]))
            results.append({"image_id": 10 + i, "category_id": cat, "bbox": [float(x), float(y), float(bw), float(bh)],
                            "score": float(rng.uniform())})
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {"images": images, "annotations": anns, "categories": cats}
        coco.createIndex()
    return coco, results


def test_default_is_the_fastest_installed_and_names_are_checked():
    assert coco_backend() in BACKENDS
    assert coco_backend("pycocotools") == "pycocotools"
    with pytest.raises(ValueError, match="backend='cocoapi'"):
        coco_backend("cocoapi")
    with pytest.raises(ValueError, match="backend="):
        COCOEvaluator(_case(0, 2)[0], backend="fast")


@needs_fast
@pytest.mark.parametrize("seed", range(4))
def test_every_stat_and_per_class_ap_equal(seed):
    coco, results = _case(seed)
    fast = evaluate_coco_results(coco, results, backend="faster-coco-eval")
    ref = evaluate_coco_results(coco, results, backend="pycocotools")
    assert (fast["backend"], ref["backend"]) == ("faster-coco-eval", "pycocotools")
    assert [fast[k] for k in STAT_NAMES] == [ref[k] for k in STAT_NAMES]  # bit for bit
    assert 0 < ref["AP"] < 1 and ref["APs"] > -1  # a case with something to get wrong
    assert fast["AP_per_class"].keys() == ref["AP_per_class"].keys()
    assert np.isnan(ref["AP_per_class"]["c11"]) and np.isnan(fast["AP_per_class"]["c11"])
    # the per-class mean of the same precision table; the two sum it in a different order
    np.testing.assert_allclose([fast["AP_per_class"][c] for c in ref["AP_per_class"]],
                               list(ref["AP_per_class"].values()), rtol=0, atol=1e-12)
    assert fast["summary"] == ref["summary"] and len(ref["summary"].splitlines()) == 12


@needs_fast
def test_seen_only_and_no_detections_agree():
    coco, results = _case(5, n_images=6)
    for backend in BACKENDS:
        ev = COCOEvaluator(coco, backend=backend)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            empty = ev.compute()
        assert [str(w.message) for w in caught] == ["no detections to evaluate: every metric with ground truth is 0"]
        assert empty["AP"] == 0.0 and empty["backend"] == backend
    # images 0 and 2 only: both backends restrict to the same image ids
    got = []
    for backend in BACKENDS:
        ev = COCOEvaluator(coco, backend=backend)
        ev.update({k: {"boxes": [[r["bbox"][0], r["bbox"][1], r["bbox"][0] + r["bbox"][2], r["bbox"][1] + r["bbox"][3]]
                                 for r in results if r["image_id"] == 10 + k] or np.zeros((0, 4)),
                       "scores": [r["score"] for r in results if r["image_id"] == 10 + k],
                       "labels": [[1, 2, 4, 9, 11].index(r["category_id"]) + 1
                                  for r in results if r["image_id"] == 10 + k]} for k in (0, 2)})
        got.append(ev.compute(seen_only=True))
    assert [got[0][k] for k in STAT_NAMES] == [got[1][k] for k in STAT_NAMES]
