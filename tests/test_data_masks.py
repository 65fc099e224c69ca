"""Instance masks: VOC SegmentationObject PNGs and COCO segmentation, through transforms."""

import json

import albumentations as A
import numpy as np
import pytest
import torch
from _data_helpers import make_coco, make_voc
from PIL import Image
from torchvision.transforms import v2

from detaug.data import COCODetection, COCOFormatError, ImageFileError, VOCDetection

W, H = 24, 16
# (name, xmin, ymin, xmax, ymax, difficult), 1-based inclusive; the mask draws each object
# as its box's pixels, in XML order: value 1 dog, 2 cat (difficult), 3 person
OBJECTS = [("dog", 2, 3, 8, 10, 0), ("cat", 12, 2, 16, 6, 1), ("person", 15, 9, 22, 15, 0)]


def _mask_png(path, objects, void=True, mode="P"):
    values = np.zeros((H, W), np.uint8)
    for k, (_, x1, y1, x2, y2, _) in enumerate(objects):
        values[y1 - 1 : y2, x1 - 1 : x2] = k + 1
    if void:  # the VOC boundary band: 255 around the first object
        values[1, 1:9] = 255
    im = Image.fromarray(values, mode="L")
    if mode == "P":
        im = im.convert("P")
        im.putpalette([c for i in range(256) for c in ((i * 40) % 256, (i * 90) % 256, (i * 150) % 256)])
    im.save(path)
    return values


@pytest.fixture
def voc(tmp_path):
    root = make_voc(tmp_path, [("a", (W, H), OBJECTS), ("b", (W, H), OBJECTS[:1])])
    (root / "SegmentationObject").mkdir()
    values = _mask_png(root / "SegmentationObject" / "a.png", OBJECTS)
    return root, values


def test_voc_masks_follow_the_target_objects(voc):
    root, values = voc
    ds = VOCDetection(root, "test", masks=True)  # the difficult cat is left out of targets
    _, t = ds[0]
    assert t["masks"].dtype == torch.uint8 and t["masks"].shape == (2, H, W)
    np.testing.assert_array_equal(t["masks"][0].numpy(), values == 1)  # dog, void excluded
    np.testing.assert_array_equal(t["masks"][1].numpy(), values == 3)  # person
    assert not (t["masks"].numpy()[:, values == 255]).any()
    full = VOCDetection(root, "test", masks=True, keep_difficult=True)[0][1]
    assert full["masks"].shape == (3, H, W) and torch.equal(full["masks"][1], torch.from_numpy(values == 2).to(torch.uint8))
    assert "masks" not in ds[1][1]  # no PNG for image b
    assert "masks" not in VOCDetection(root, "test")[0][1]  # masks=False reads nothing


def test_voc_masks_keep_the_xml_index_when_objects_are_left_out(voc):
    root, values = voc
    ds = VOCDetection(root, "test", classes=["person"], ignore_other_classes=True, masks=True)
    t = ds[0][1]
    assert t["labels"].tolist() == [1]
    np.testing.assert_array_equal(t["masks"][0].numpy(), values == 3)


@pytest.mark.parametrize("framework", ["albumentations", "torchvision"])
def test_horizontal_flip_keeps_masks_and_boxes_aligned(voc, framework):
    root, values = voc
    ds = VOCDetection(root, "test", masks=True)
    if framework == "albumentations":
        ds.transforms = A.Compose([A.HorizontalFlip(p=1.0)],
                                  bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]))
    else:
        ds.transforms = v2.RandomHorizontalFlip(p=1.0)
    _, t = ds[0]
    # reference: the flipped PNG and the flipped 0-based boxes [W - x2, y1, W - x1, y2]
    for row, value in enumerate((1, 3)):
        np.testing.assert_array_equal(t["masks"][row].numpy(), np.fliplr(values == value))
        ys, xs = np.nonzero(t["masks"][row].numpy())
        # the mask's pixel extent is the box (objects are drawn as their boxes)
        # (float32 arithmetic in albumentations' flip: W - x is exact only to ~1e-6)
        assert t["boxes"][row].tolist() == pytest.approx([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], abs=1e-4)
    _, _, x1, y1, x2, y2, _ = ("", *OBJECTS[0])
    assert t["boxes"][0].tolist() == pytest.approx([W - x2, y1 - 1, W - (x1 - 1), y2], abs=1e-4)


@pytest.mark.parametrize("framework", ["albumentations", "torchvision"])
def test_crop_that_drops_a_box_drops_its_mask(voc, framework):
    root, values = voc
    ds = VOCDetection(root, "test", masks=True)
    if framework == "albumentations":  # keep x < 12: the person (x >= 14) leaves
        ds.transforms = A.Compose([A.Crop(0, 0, 12, H)],
                                  bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]))
    else:
        def crop(image, target):
            image, target = v2.functional.crop(image, 0, 0, H, 12), dict(target)
            target["boxes"] = v2.functional.crop(target["boxes"], 0, 0, H, 12)
            target["masks"] = v2.functional.crop(target["masks"], 0, 0, H, 12)
            return v2.Compose([v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes()])(image, target)
        ds.transforms = crop
    image, t = ds[0]
    assert image.shape == (3, H, 12) and t["masks"].shape == (1, H, 12)
    np.testing.assert_array_equal(t["masks"][0].numpy(), (values == 1)[:, :12])


# (description, how the PNG is broken, error fragment)
BAD_MASKS = [
    ("RGB", lambda p: Image.new("RGB", (W, H)).save(p), "mode RGB, expected a palette (P) or grayscale (L) PNG"),
    ("wrong size", lambda p: Image.new("L", (W + 1, H)).save(p), f"mask is {W + 1}x{H} but the image is {W}x{H}"),
    ("unknown object", lambda p: Image.fromarray(np.full((H, W), 7, np.uint8), mode="L").save(p),
     "pixel value 7 names object 7, but the annotation has 3 objects"),
    ("not a PNG", lambda p: p.write_bytes(b"garbage"), "not a readable image"),
]


@pytest.mark.parametrize("desc,write,fragment", BAD_MASKS, ids=[b[0] for b in BAD_MASKS])
def test_bad_mask_png_names_the_file(voc, desc, write, fragment):
    root, _ = voc
    path = root / "SegmentationObject" / "a.png"
    write(path)
    with pytest.raises(ImageFileError, match=r"SegmentationObject/a\.png: ") as err:
        VOCDetection(root, "test", masks=True)[0]
    assert fragment in str(err.value)


# -- COCO ---------------------------------------------------------------------------
def _rle_reference():
    # uncompressed RLE: counts alternate 0-runs and 1-runs over the pixels in column-major
    # order; by hand for a 16 x 24 image: 40 zeros, 5 ones, 11 zeros, 5 ones, rest zeros
    flat = np.zeros(H * W, np.uint8)
    flat[40:45] = 1
    flat[56:61] = 1
    return {"counts": [40, 5, 11, 5, H * W - 61], "size": [H, W]}, flat.reshape((H, W), order="F")


def _coco(tmp_path, anns):
    cats = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    return make_coco(tmp_path, [{"id": 1, "width": W, "height": H}], anns, cats)


def test_coco_masks_from_polygons_and_rle(tmp_path):
    rle, rle_mask = _rle_reference()
    polygon = [[4.0, 2.0, 12.0, 2.0, 12.0, 8.0, 4.0, 8.0]]  # an 8 x 6 rectangle
    anns = [{"image_id": 1, "category_id": 1, "bbox": [4, 2, 8, 6], "segmentation": polygon},
            {"image_id": 1, "category_id": 2, "bbox": [2, 8, 2, 5], "segmentation": rle}]
    ds = COCODetection(*_coco(tmp_path, anns), masks=True)
    _, t = ds[0]
    assert t["masks"].shape == (2, H, W) and t["masks"].dtype == torch.uint8
    m = t["masks"][0].numpy()
    # a rasterised 8 x 6 rectangle: its interior is set and nothing beyond one boundary
    # pixel outside it; the area is 48 up to one row or column of boundary pixels
    assert m[3:7, 5:11].all() and not m[:1].any() and not m[:, :3].any() and not m[10:].any()
    assert 35 <= m.sum() <= 63
    np.testing.assert_array_equal(t["masks"][1].numpy(), rle_mask)
    flipped = COCODetection(*_coco(tmp_path / "f", anns), masks=True, transforms=A.Compose(
        [A.HorizontalFlip(p=1.0)], bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"])))
    np.testing.assert_array_equal(flipped[0][1]["masks"][1].numpy(), np.fliplr(rle_mask))
    assert "masks" not in COCODetection(*_coco(tmp_path / "n", anns))[0][1]


@pytest.mark.parametrize("segmentation,fragment", [
    (None, "'segmentation' is None"),
    ([[1, 2, 3, 4]], "expected polygons"),
    ([[1, 2, 3, 4, 5, float("nan")]], "expected polygons"),
    ({"counts": [5, 3], "size": [H + 1, W]}, f"an RLE with 'counts' and 'size' [{H}, {W}]"),
])
def test_coco_bad_segmentation_is_named_when_masks_are_asked(tmp_path, segmentation, fragment):
    anns = [{"image_id": 1, "category_id": 1, "bbox": [4, 2, 8, 6], "segmentation": segmentation}]
    files = _coco(tmp_path, anns)
    if segmentation is None:
        data = json.loads(files[1].read_text())
        del data["annotations"][0]["segmentation"]
        files[1].write_text(json.dumps(data))
        fragment = "'segmentation' missing"
    with pytest.raises(COCOFormatError, match=r"instances\.json: annotations\[0\] \(id 1\): ") as err:
        COCODetection(*files, masks=True)
    assert fragment in str(err.value)
    assert len(COCODetection(*files)) == 1  # without masks the field is not needed
