"""COCO evaluation: faster-coco-eval against pycocotools on the same results.

Builds a random COCO case (``--images`` images, ``--dets`` detections each, 3 to 12
ground-truth boxes per image over 5 categories, some crowd, all sizes) and times
:func:`detaug.evaluation.evaluate_coco_results` with each backend, alternating, then checks
that all 12 stats and every per-class AP agree. Used for ``docs/benchmarks.md``::

    python benchmarks/coco_backends.py --images 500 --dets 100 --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time

import numpy as np


def random_case(n_images: int, n_dets: int, seed: int = 0):
    """A pycocotools ``COCO`` ground truth and a results list: detections near the ground
    truth (jittered, some on the wrong class) and elsewhere, scores uniform."""
    from pycocotools.coco import COCO

    rng = np.random.default_rng(seed)
    cats = [{"id": c, "name": f"c{c}"} for c in (1, 2, 3, 5, 8)]
    images, anns, results = [], [], []
    for i in range(n_images):
        w, h = int(rng.integers(300, 641)), int(rng.integers(300, 641))
        images.append({"id": i + 1, "width": w, "height": h})
        gt = []
        for _ in range(rng.integers(3, 13)):
            bw, bh = rng.uniform(8, w / 2), rng.uniform(8, h / 2)
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            cat = cats[rng.integers(len(cats))]["id"]
            gt.append((x, y, bw, bh, cat))
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(cat),
                         "bbox": [x, y, bw, bh], "area": bw * bh, "iscrowd": int(rng.uniform() < 0.03)})
        for _ in range(n_dets):
            if rng.uniform() < 0.5:
                x, y, bw, bh, cat = gt[rng.integers(len(gt))]
                x, y = x + rng.normal(0, 0.1 * bw), y + rng.normal(0, 0.1 * bh)
                bw, bh = bw * rng.uniform(0.8, 1.2), bh * rng.uniform(0.8, 1.2)
                if rng.uniform() < 0.1:
                    cat = cats[rng.integers(len(cats))]["id"]
            else:
                bw, bh = rng.uniform(4, w / 2), rng.uniform(4, h / 2)
                x, y, cat = rng.uniform(0, w - bw), rng.uniform(0, h - bh), cats[rng.integers(len(cats))]["id"]
            results.append({"image_id": i + 1, "category_id": int(cat),
                            "bbox": [float(x), float(y), float(bw), float(bh)], "score": float(rng.uniform())})
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {"images": images, "annotations": anns, "categories": cats}
        coco.createIndex()
    return coco, results


def main() -> None:
    from detaug.evaluation import BACKENDS, evaluate_coco_results
    from detaug.evaluation.coco import STAT_NAMES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--dets", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the timings here")
    args = parser.parse_args()
    coco, results = random_case(args.images, args.dets)
    times = {b: [] for b in BACKENDS}
    out = {}
    for _ in range(args.rounds):
        for b in BACKENDS:
            t = time.perf_counter()
            out[b] = evaluate_coco_results(coco, results, backend=b)
            times[b].append(time.perf_counter() - t)
    fast, ref = (out[b] for b in BACKENDS)
    stats_equal = all(fast[k] == ref[k] for k in STAT_NAMES)
    ap_diff = max(abs(fast["AP_per_class"][c] - ref["AP_per_class"][c]) for c in ref["AP_per_class"])
    record = {"images": args.images, "dets_per_image": args.dets, "rounds": args.rounds,
              "seconds_median": {b: float(np.median(v)) for b, v in times.items()},
              "all_12_stats_equal": stats_equal, "max_per_class_ap_difference": ap_diff}
    print(json.dumps(record, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2)


if __name__ == "__main__":
    main()
