"""Front-end specifics: albumentations and torchvision-v2 integration."""

from __future__ import annotations

import warnings

import albumentations as A
import numpy as np
import pytest
import torch
from _erasing_frontends import make_sample
from torchvision import tv_tensors
from torchvision.transforms import v2

import detaug
from detaug.tv import BoxAwareRandomErasing as TVErasing

BBOX = A.BboxParams(format="pascal_voc", label_fields=["labels"])


@pytest.fixture
def sample():
    return make_sample(np.random.default_rng(5), height=120, width=160, n_boxes=5)


# ----------------------------------------------------------------------------- albumentations


def test_readme_albumentations_example_runs(sample):
    image, boxes, labels = sample
    tf = A.Compose([A.HorizontalFlip(p=0.5), detaug.BoxAwareRandomErasing(mode="i+ore")], bbox_params=BBOX, seed=1)
    out = tf(image=image, bboxes=boxes, labels=labels)
    assert out["image"].shape == image.shape and len(out["bboxes"]) == len(boxes)


def test_compose_seed_reproduces_and_different_seeds_differ(sample):
    image, boxes, labels = sample
    make = lambda seed: A.Compose([detaug.BoxAwareRandomErasing(image_p=1, object_p=1)], bbox_params=BBOX, seed=seed)  # noqa: E731
    a = make(3)(image=image, bboxes=boxes, labels=labels)["image"]
    b = make(3)(image=image, bboxes=boxes, labels=labels)["image"]
    c = make(4)(image=image, bboxes=boxes, labels=labels)["image"]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_serialisation_round_trip_gives_the_same_transform_and_output(sample):
    image, boxes, labels = sample
    tf = A.Compose(
        [detaug.BoxAwareRandomErasing(mode="ore", object_p=0.9, scale=(0.05, 0.3), fill=(1, 2, 3), count=(1, 2), min_visibility=0.2)],
        bbox_params=BBOX,
        seed=9,
    )
    back = A.from_dict(A.to_dict(tf))
    back.set_random_seed(9)
    assert repr(back.transforms[0]) == repr(tf.transforms[0])
    out_a = tf(image=image, bboxes=boxes, labels=labels)
    out_b = back(image=image, bboxes=boxes, labels=labels)
    np.testing.assert_array_equal(out_a["image"], out_b["image"])


def test_repr_shows_only_non_default_arguments():
    assert repr(detaug.BoxAwareRandomErasing()) == "BoxAwareRandomErasing()"
    assert repr(detaug.BoxAwareRandomErasing(mode="ore", scale=(0.1, 0.3), p=0.5)) == (
        "BoxAwareRandomErasing(mode='ore', scale=(0.1, 0.3), p=0.5)"
    )
    assert repr(TVErasing(mode="ire", fill=0, inplace=True)) == "BoxAwareRandomErasing(mode='ire', fill=0, inplace=True)"


def test_masks_untouched_by_default_and_erased_with_fill_mask(sample):
    image, boxes, labels = sample
    mask = np.ones(image.shape[:2], np.uint8)
    for fill_mask, expect_changed in ((None, False), (0, True)):
        tf = A.Compose(
            [detaug.BoxAwareRandomErasing(image_p=1, object_p=1, fill_mask=fill_mask)],
            bbox_params=BBOX,
            seed=0,
            save_applied_params=True,
        )
        out = tf(image=image, mask=mask, masks=[mask, mask], bboxes=boxes, labels=labels)
        plan = out["applied_transforms"][0][1]["plan"]
        assert (not np.array_equal(out["mask"], mask)) == expect_changed
        if expect_changed:
            x1, y1, x2, y2 = plan.rects[0]
            assert (out["mask"][y1:y2, x1:x2] == 0).all()
            assert (np.asarray(out["masks"])[:, y1:y2, x1:x2] == 0).all()


def test_min_visibility_drops_boxes_with_their_labels():
    image = np.zeros((100, 100, 3), np.uint8)
    boxes = np.array([[0.0, 0, 100, 100], [10, 10, 14, 14], [60, 60, 90, 90]])
    labels = np.array([1, 2, 3])
    names = ["big", "tiny", "mid"]
    # An image-level region covering everything hides every box completely.
    kwargs = dict(mode="ire", image_p=1.0, scale=(1, 1), ratio=(1, 1), fill=0)
    bbox = A.BboxParams(format="pascal_voc", label_fields=["labels", "names"])
    kept = A.Compose([detaug.BoxAwareRandomErasing(**kwargs)], bbox_params=bbox)(image=image, bboxes=boxes, labels=labels, names=names)
    assert len(kept["bboxes"]) == 3 and list(kept["names"]) == names
    dropped = A.Compose([detaug.BoxAwareRandomErasing(**kwargs, min_visibility=0.5)], bbox_params=bbox)(
        image=image, bboxes=boxes, labels=labels, names=names
    )
    assert len(dropped["bboxes"]) == 0 and len(dropped["labels"]) == 0 and list(dropped["names"]) == []


def test_min_visibility_counts_object_regions_too():
    image = np.zeros((100, 100, 3), np.uint8)
    boxes = np.array([[0.0, 0, 50, 100], [50, 0, 100, 100]])
    tf = A.Compose(
        [detaug.BoxAwareRandomErasing(mode="ore", object_p=1.0, scale=(0.9, 0.9), ratio=(2.0, 2.0), min_visibility=0.5)],
        bbox_params=BBOX,
        seed=0,
        save_applied_params=True,
    )
    out = tf(image=image, bboxes=boxes, labels=[1, 2])
    # Each box loses 90% of its area to its own region: both are dropped.
    assert len(out["bboxes"]) == 0


def test_keypoints_pass_through():
    tf = A.Compose(
        [detaug.BoxAwareRandomErasing(mode="ire", image_p=1)], keypoint_params=A.KeypointParams(format="xy"), seed=0
    )
    kps = [(3.0, 4.0), (50.0, 60.0)]
    out = tf(image=np.zeros((80, 80, 3), np.uint8), keypoints=kps)
    np.testing.assert_allclose(out["keypoints"], kps)


def test_image_only_call_is_plain_random_erasing():
    # without any bboxes, I+ORE is IRE, and says so (tests/test_no_boxes_warning.py)
    with pytest.warns(UserWarning, match="called without bboxes"):
        out = detaug.BoxAwareRandomErasing(mode="i+ore", image_p=1.0)(image=np.zeros((64, 64, 3), np.uint8))
    assert out["image"].any()


def _worker_dataset():
    class DS(torch.utils.data.Dataset):
        def __init__(self):
            self.tf = A.Compose([detaug.BoxAwareRandomErasing(mode="ire", image_p=1.0)], seed=0)

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return torch.from_numpy(self.tf(image=np.zeros((32, 32, 3), np.uint8))["image"])

    return DS()


def test_dataloader_workers_erase_differently():
    loader = torch.utils.data.DataLoader(_worker_dataset(), batch_size=1, num_workers=2, multiprocessing_context="fork")
    torch.manual_seed(0)
    first = [b[0] for b in loader]
    # Worker 0 serves items 0 and 2, worker 1 serves 1 and 3: their first outputs must differ.
    assert not torch.equal(first[0], first[1])
    torch.manual_seed(0)
    again = [b[0] for b in loader]
    assert all(torch.equal(a, b) for a, b in zip(first, again))


# ----------------------------------------------------------------------------- torchvision v2


def _tv_target(boxes, fmt="XYXY", size=(120, 160)):
    b = tv_tensors.BoundingBoxes(torch.as_tensor(boxes, dtype=torch.float32), format="XYXY", canvas_size=size)
    if fmt != "XYXY":
        b = v2.ConvertBoundingBoxFormat(fmt)(b)
    return {"boxes": b, "labels": torch.arange(1, len(boxes) + 1), "image_id": 7}


def test_readme_torchvision_example_runs(sample):
    image, boxes, _labels = sample
    tf = v2.Compose(
        [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), TVErasing(mode="ore"), v2.SanitizeBoundingBoxes()]
    )
    img, target = tf(torch.from_numpy(image).permute(2, 0, 1), _tv_target(boxes))
    assert img.dtype == torch.float32 and len(target["boxes"]) == len(boxes)


@pytest.mark.parametrize("fmt", ["XYXY", "XYWH", "CXCYWH"])
def test_boxes_in_any_format_come_back_untouched_without_warnings(fmt, sample):
    image, boxes, _labels = sample
    target = _tv_target(boxes, fmt)
    img = tv_tensors.Image(torch.from_numpy(image).permute(2, 0, 1))
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _out_img, out = TVErasing(object_p=1.0, image_p=1.0, plan_key="plan")(img, target)
    assert out["boxes"].format == target["boxes"].format and torch.equal(out["boxes"], target["boxes"])
    assert torch.equal(out["labels"], target["labels"]) and out["image_id"] == 7
    # ORE regions lie inside the XYXY boxes whatever format they were given in.
    for (x1, y1, x2, y2), src in zip(out["plan"].rects, out["plan"].source):
        if src >= 0:
            bx1, by1, bx2, by2 = boxes[src]
            assert bx1 - 1e-3 <= x1 and by1 - 1e-3 <= y1 and x2 <= bx2 + 1e-3 and y2 <= by2 + 1e-3


def test_rotated_boxes_use_their_axis_aligned_hull():
    boxes = tv_tensors.BoundingBoxes([[40.0, 40.0, 30.0, 20.0, 30.0]], format="CXCYWHR", canvas_size=(100, 100))
    torch.manual_seed(0)
    _, out = TVErasing(mode="ore", object_p=1.0, plan_key="plan")(tv_tensors.Image(torch.zeros(3, 100, 100)), {"boxes": boxes})
    assert out["plan"].source.tolist() == [0] and torch.equal(out["boxes"], boxes)


def test_manual_seed_reproduces(sample):
    image, boxes, _ = sample
    img = tv_tensors.Image(torch.from_numpy(image).permute(2, 0, 1))
    tf = TVErasing(image_p=1.0, object_p=1.0)
    outs = []
    for seed in (1, 1, 2):
        torch.manual_seed(seed)
        outs.append(tf(img, _tv_target(boxes))[0])
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], outs[2])


def test_no_plan_key_leaves_the_target_structure_alone(sample):
    image, boxes, _ = sample
    _, out = TVErasing()(tv_tensors.Image(torch.from_numpy(image).permute(2, 0, 1)), _tv_target(boxes))
    assert set(out) == {"boxes", "labels", "image_id"}


def test_inplace_only_when_asked():
    img = torch.zeros(3, 50, 50)
    torch.manual_seed(0)
    TVErasing(mode="ire", image_p=1.0)(img)
    assert not img.any()
    TVErasing(mode="ire", image_p=1.0, inplace=True)(img)
    assert img.any()


def test_plain_tensor_and_video_and_grayscale_inputs():
    torch.manual_seed(0)
    tf = TVErasing(mode="ire", image_p=1.0, fill=1.0)
    assert tf(torch.zeros(3, 40, 40)).any()
    video = tf(tv_tensors.Video(torch.zeros(2, 3, 40, 40)))
    assert isinstance(video, tv_tensors.Video) and torch.equal(video[0], video[1]) and video.any()
    gray = tf(tv_tensors.Image(torch.zeros(1, 40, 40, dtype=torch.uint8)))
    assert gray.dtype == torch.uint8 and gray.max() == 1


def test_pil_image_is_erased_like_its_tensor():
    from PIL import Image

    array = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    tf = TVErasing(mode="ire", image_p=1.0, plan_key="plan")
    torch.manual_seed(3)
    out_pil, target = tf(Image.fromarray(array), {})
    torch.manual_seed(3)
    out_tensor, _ = tf(tv_tensors.Image(torch.from_numpy(array).permute(2, 0, 1)), {})
    assert isinstance(out_pil, Image.Image) and out_pil.mode == "RGB" and len(target["plan"]) == 1
    np.testing.assert_array_equal(np.asarray(out_pil), out_tensor.permute(1, 2, 0).numpy())
    assert not np.array_equal(np.asarray(out_pil), array)


def test_numpy_image_names_the_cause():
    with pytest.raises(TypeError, match=r"not numpy arrays.*v2\.ToImage\(\)"):
        TVErasing()(np.zeros((10, 10, 3), np.uint8), {})


def test_tv_masks_and_min_visibility_drop():
    img = tv_tensors.Image(torch.zeros(3, 100, 100))
    boxes = tv_tensors.BoundingBoxes([[0.0, 0, 100, 100], [10, 10, 20, 20]], format="XYXY", canvas_size=(100, 100))
    masks = torch.zeros(2, 100, 100, dtype=torch.uint8)
    masks[0], masks[1, 10:20, 10:20] = 1, 1  # instance masks filling their boxes
    masks = tv_tensors.Mask(masks)
    target = {"boxes": boxes, "labels": torch.tensor([5, 6]), "masks": masks}
    kwargs = dict(mode="ire", image_p=1.0, scale=(0.5, 0.5), ratio=(1, 1))
    torch.manual_seed(0)
    _, out = TVErasing(**kwargs, plan_key="plan")(img, target)
    assert torch.equal(out["masks"], masks)  # untouched without fill_mask
    torch.manual_seed(0)
    _, out = TVErasing(**kwargs, fill_mask=0, min_visibility=0.6, plan_key="plan")(img, target)
    x1, y1, x2, y2 = out["plan"].rects[0]
    # The big box keeps half its area (< 0.6): dropped with its label and mask.
    vis_small = detaug.box_visibility(boxes.numpy(), out["plan"])[1]
    expected_labels = [6] if vis_small >= 0.6 else []
    assert out["labels"].tolist() == expected_labels
    assert len(out["boxes"]) == len(expected_labels) == len(out["masks"])
    if expected_labels:
        assert (out["masks"][0, y1:y2, x1:x2] == 0).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensor_stays_on_device():
    img = torch.zeros(3, 64, 64, device="cuda")
    torch.manual_seed(0)
    out = TVErasing(mode="ire", image_p=1.0)(img)
    assert out.device.type == "cuda" and out.any()


def test_readme_plan_access_snippet(sample):
    image, boxes, labels = sample
    train_tf = A.Compose([detaug.BoxAwareRandomErasing(image_p=1.0)], bbox_params=BBOX, save_applied_params=True, seed=0)
    out = train_tf(image=image, bboxes=boxes, labels=labels)
    plan = dict(out["applied_transforms"])["BoxAwareRandomErasing"]["plan"]
    assert plan.rects.dtype == np.int64 and plan.rects.shape[1] == 4 and (plan.source == -1).sum() == 1


class _PerSampleSeeded(torch.utils.data.Dataset):
    """Reseeds the pipeline per sample, as the training engine does (SeededDataset)."""

    def __init__(self):
        self.tf = A.Compose([detaug.BoxAwareRandomErasing(image_p=1.0, object_p=1.0)], bbox_params=BBOX, seed=0)
        self.image, self.boxes, self.labels = make_sample(np.random.default_rng(0), n_boxes=3)

    def __len__(self):
        return 6

    def __getitem__(self, i):
        self.tf.set_random_seed(1000 + i)
        return torch.from_numpy(self.tf(image=self.image, bboxes=self.boxes, labels=self.labels)["image"])


@pytest.mark.parametrize("workers", [1, 2])
def test_per_sample_seeds_give_the_same_output_in_any_worker(workers):
    ds = _PerSampleSeeded()
    in_main = [ds[i] for i in range(len(ds))]
    loader = torch.utils.data.DataLoader(ds, batch_size=1, num_workers=workers, multiprocessing_context="fork")
    in_workers = [b[0] for b in loader]
    assert all(torch.equal(a, b) for a, b in zip(in_main, in_workers))
    assert not torch.equal(in_main[0], in_main[1])
