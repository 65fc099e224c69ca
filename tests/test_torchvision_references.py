"""detaug.tv in the shape of torchvision's detection references (references/detection/
presets.py, ``--use-v2``): ToImage, ToDtype(float, scale=True), detaug, then the
references' ConvertBoundingBoxFormat(XYXY), SanitizeBoundingBoxes, ToPureTensor."""

import numpy as np
import PIL.Image
import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2 as T

import detaug.tv


def _photo(h=240, w=320, seed=0):
    """A photo-like PIL image: smooth shading, a few textured blobs, sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([120 + 80 * x, 100 + 60 * y, 90 + 50 * x * y], -1)
    for _ in range(6):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(15, 50)
        blob = ((np.mgrid[0:h, 0:w][0] - cy) ** 2 + (np.mgrid[0:h, 0:w][1] - cx) ** 2) < r**2
        img[blob] = rng.uniform(0, 255, 3) + rng.normal(0, 20, (blob.sum(), 3))
    img += rng.normal(0, 4, img.shape)
    return PIL.Image.fromarray(np.clip(img, 1, 255).astype(np.uint8))  # no pixel is 0 before erasing


def _sample():
    image = _photo()
    # what the references' COCO wrapper gives, here in XYWH; the last box is degenerate
    # (zero width), so SanitizeBoundingBoxes drops it with its label
    boxes = tv_tensors.BoundingBoxes([[20.0, 30, 80, 60], [150, 100, 100, 120], [200, 10, 0, 40]],
                                     format="XYWH", canvas_size=(image.height, image.width))
    return image, {"boxes": boxes, "labels": torch.tensor([3, 7, 9]), "image_id": 42}


def _presets(erasing=None):
    """DetectionPresetTrain(data_augmentation="hflip", backend="pil", use_v2=True) with the
    flip left out (it is random and not what is tested), and detaug's one line after ToDtype."""
    transforms = [T.ToImage(), T.ToDtype(torch.float, scale=True)]
    transforms += [erasing] if erasing is not None else []
    transforms += [T.ConvertBoundingBoxFormat(tv_tensors.BoundingBoxFormat.XYXY), T.SanitizeBoundingBoxes(),
                   T.ToPureTensor()]
    return T.Compose(transforms)


@pytest.mark.parametrize("seed", range(3))
def test_references_pipeline_erases_inside_boxes_and_keeps_targets(seed):
    erasing = detaug.tv.BoxAwareRandomErasing(mode="i+ore", image_p=1.0, object_p=1.0, fill=0,
                                             plan_key="erasing_plan")
    torch.manual_seed(seed)
    image, target = _presets(erasing)(*_sample())
    ref_image, ref_target = _presets()(*_sample())

    assert type(image) is torch.Tensor and image.dtype == torch.float32 and image.shape == (3, 240, 320)
    assert type(target["boxes"]) is torch.Tensor  # ToPureTensor
    torch.testing.assert_close(target["boxes"], ref_target["boxes"], rtol=0, atol=0)
    torch.testing.assert_close(target["boxes"], torch.tensor([[20.0, 30, 100, 90], [150, 100, 250, 220]]))
    assert target["labels"].tolist() == ref_target["labels"].tolist() == [3, 7]  # degenerate box dropped
    assert target["image_id"] == 42

    plan = target["erasing_plan"]
    assert (plan.source == -1).sum() == 1 and set(plan.source[plan.source >= 0].tolist()) <= {0, 1, 2}
    xywh = np.array([[20, 30, 80, 60], [150, 100, 100, 120], [200, 10, 0, 40]], float)
    xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
    erased = torch.zeros(240, 320, dtype=torch.bool)
    for (x1, y1, x2, y2), src in zip(plan.rects.tolist(), plan.source.tolist()):
        if src >= 0:
            bx1, by1, bx2, by2 = xyxy[src]
            assert bx1 <= x1 and by1 <= y1 and x2 <= bx2 and y2 <= by2
        erased[y1:y2, x1:x2] = True
    assert (plan.source >= 0).sum() >= 1  # the two real boxes fit a region (the empty one does not)
    assert (image[:, erased] == 0).all()  # fill=0 on a photo with no black pixel
    torch.testing.assert_close(image[:, ~erased], ref_image[:, ~erased], rtol=0, atol=0)
