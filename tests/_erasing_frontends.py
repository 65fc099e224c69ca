"""Run the erasing transform through each front-end the same way, for property tests.

Each runner takes an HWC numpy image, xyxy boxes, labels, a seed and the transform's
kwargs, and returns ``Result(image HWC numpy, boxes, labels, plan)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import albumentations as A
import numpy as np
import torch
from torchvision import tv_tensors

import detaug
from detaug.erasing import ErasePlan, ErasingParams, apply_plan, sample_plan
from detaug.tv import BoxAwareRandomErasing as TVErasing

BBOX_PARAMS = dict(format="pascal_voc", label_fields=["labels"])


@dataclass
class Result:
    image: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    plan: ErasePlan


def run_core(image, boxes, labels, seed, **kwargs):
    kwargs.pop("p", None)
    params = ErasingParams(**kwargs)
    plan = sample_plan(image.shape[:2], boxes, params, seed, labels=labels)
    return Result(apply_plan(image, plan), np.asarray(boxes), np.asarray(labels), plan)


def albu_compose(seed, **kwargs):
    return A.Compose(
        [detaug.BoxAwareRandomErasing(**kwargs)],
        bbox_params=A.BboxParams(**BBOX_PARAMS),
        seed=seed,
        save_applied_params=True,
    )


def run_albu(image, boxes, labels, seed, **kwargs):
    out = albu_compose(seed, **kwargs)(image=image, bboxes=boxes, labels=labels)
    applied = out["applied_transforms"]
    plan = applied[0][1]["plan"] if applied else ErasePlan.empty(image.shape[:2])
    return Result(out["image"], np.asarray(out["bboxes"]), np.asarray(out["labels"]), plan)


def run_tv(image, boxes, labels, seed, **kwargs):
    tf = TVErasing(plan_key="plan", **kwargs)
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1) if image.ndim == 3 else torch.from_numpy(image)
    target = {
        "boxes": tv_tensors.BoundingBoxes(torch.as_tensor(np.asarray(boxes, np.float32)).reshape(-1, 4), format="XYXY", canvas_size=image.shape[:2]),
        "labels": torch.as_tensor(np.asarray(labels, np.int64)),
    }
    torch.manual_seed(seed)
    out_img, out_target = tf(tv_tensors.Image(tensor), target)
    out = out_img.as_subclass(torch.Tensor)
    out = out.permute(1, 2, 0).numpy() if image.ndim == 3 else out[0].numpy()
    return Result(out, out_target["boxes"].numpy(), out_target["labels"].numpy(), out_target["plan"])


FRONTENDS = {"core": run_core, "albu": run_albu, "tv": run_tv}


def replay(image, plan):
    """Apply a recorded plan the way the front-end that drew it would."""
    return apply_plan(image, plan)


def make_sample(rng, height=96, width=128, n_boxes=4, dtype=np.uint8, channels=3):
    shape = (height, width) if channels is None else (height, width, channels)
    if dtype == np.uint8:
        image = rng.integers(0, 256, shape, dtype=np.uint8)
    else:
        image = rng.random(shape, dtype=np.float32)
    x1 = rng.uniform(0, width * 0.6, n_boxes)
    y1 = rng.uniform(0, height * 0.6, n_boxes)
    boxes = np.stack([x1, y1, x1 + rng.uniform(8, width * 0.4, n_boxes), y1 + rng.uniform(8, height * 0.4, n_boxes)], 1)
    boxes = np.minimum(boxes, [width, height, width, height]).round(2)
    labels = np.arange(1, n_boxes + 1)
    return image, boxes, labels
