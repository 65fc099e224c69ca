"""Protected classes on real photos: are protected boxes ever covered beyond their fraction?

Reads the 24 photos' boxes (VOC layout, e.g. ../shared/realdata/VOCdevkit/REAL), then for
every photo and many seeds draws I+ORE plans with image-level erasing always on
(``image_p=1``), large regions (``scale=(0.1, 0.4)``) and 1-3 of them, protecting the
chosen classes, through the albumentations front-end as a training pipeline calls it.
For each plan it counts, on the pixel grid, how much of every protected box the union
of the image-level regions covers, and reports the worst case against the limit, and how
often an image-level region was still placed::

    python benchmarks/protect_realdata.py ../shared/realdata/VOCdevkit/REAL --draws 200
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import albumentations as A
import numpy as np

import detaug
from detaug.data.folder import folder_dataset


def covered_fraction(plan, box) -> float:
    """Fraction of ``box`` (continuous xyxy) under the union of the image-level regions,
    counted per pixel with each pixel weighted by its overlap with the box."""
    h, w = plan.image_size
    under = np.zeros((h, w), bool)
    for (x1, y1, x2, y2), src in zip(plan.rects.tolist(), plan.source.tolist()):
        if src == -1:
            under[y1:y2, x1:x2] = True
    bx1, by1, bx2, by2 = (float(v) for v in box)
    bx1, bx2 = max(bx1, 0.0), min(bx2, float(w))
    by1, by2 = max(by1, 0.0), min(by2, float(h))
    area = max(bx2 - bx1, 0.0) * max(by2 - by1, 0.0)
    if area == 0:
        return 0.0
    xs, ys = np.arange(w), np.arange(h)
    wx = np.clip(np.minimum(xs + 1, bx2) - np.maximum(xs, bx1), 0, None)
    wy = np.clip(np.minimum(ys + 1, by2) - np.maximum(ys, by1), 0, None)
    return float((wy[:, None] * wx[None, :] * under).sum() / area)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("voc_root", help="VOC-layout folder with JPEGImages/, Annotations/, classes.txt")
    parser.add_argument("--draws", type=int, default=200, help="plans per photo and setting")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    root = Path(args.voc_root)
    classes = (root / "classes.txt").read_text().split()
    dataset = folder_dataset(root / "JPEGImages", root / "Annotations", classes)
    label = {name: k + 1 for k, name in enumerate(classes)}
    # frequent classes with large and small boxes, at three limits
    settings = {
        "avoid person, chair, door": {label["person"]: 0.0, label["chair"]: 0.0, label["door"]: 0.0},
        "at most 10 % of tvmonitor, cup": {label["tvmonitor"]: 0.1, label["cup"]: 0.1},
        "at most 30 % of every class": {k + 1: 0.3 for k in range(len(classes))},
    }
    report = {}
    for title, protect in settings.items():
        tf = A.Compose([detaug.BoxAwareRandomErasing(mode="i+ore", image_p=1.0, scale=(0.1, 0.4), count=(1, 3),
                                                     protect=protect)],
                       bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
                       save_applied_params=True)
        worst, boxes_checked, plans, with_image_region = -math.inf, 0, 0, 0
        for i in range(len(dataset)):
            target = dataset.get_target(i)
            boxes, labels = target["boxes"].numpy(), target["labels"].tolist()
            h, w = dataset.get_image_size(i)
            image = np.zeros((int(h), int(w), 3), np.uint8)
            for seed in range(args.draws):
                tf.set_random_seed(seed * 1000 + i)
                out = tf(image=image, bboxes=boxes, labels=labels)
                plan = dict(out["applied_transforms"])["BoxAwareRandomErasing"]["plan"]
                plans += 1
                with_image_region += bool((plan.source == -1).any())
                for k, limit in plan.protected:
                    boxes_checked += 1
                    worst = max(worst, covered_fraction(plan, boxes[k]) - limit)
        report[title] = {"plans": plans, "protected boxes checked": boxes_checked,
                         "worst coverage minus limit": worst,
                         "plans with an image-level region": with_image_region}
        print(f"{title}: {plans} plans, {boxes_checked} protected boxes checked, worst coverage - limit = "
              f"{worst:+.4f}, image-level region placed in {with_image_region / plans:.0%} of plans")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
