"""VOCDetection on real-layout folders built on the fly."""

import warnings

import albumentations as A
import numpy as np
import pytest
import torch
from _data_helpers import make_voc
from torchvision.transforms import v2

from detaug.data import (
    VOC_CLASSES,
    DetectionConcatDataset,
    VOCAnnotationError,
    VOCAnnotationWarning,
    VOCDetection,
    build_voc,
)

IMAGES = [
    # name, (width, height), objects (name, xmin, ymin, xmax, ymax, difficult), 1-based
    ("000001", (40, 30), [("dog", 1, 1, 40, 30, 0), ("cat", 10, 20, 30, 25, 1)]),
    ("000002", (50, 20), [("person", 5, 5, 14, 9, 0)]),
    ("000003", (20, 20), []),
]


@pytest.fixture
def voc(tmp_path):
    return make_voc(tmp_path, IMAGES, split="test")


def test_coordinates_labels_and_types(voc):
    ds = VOCDetection(voc, "test")
    assert len(ds) == 3 and ds.image_names == ["000001", "000002", "000003"]
    image, t = ds[0]
    assert image.dtype == torch.float32 and image.shape == (3, 30, 40)
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    # whole-image box (1, 1, W, H) -> (0, 0, W, H); difficult cat left out by default
    assert t["boxes"].tolist() == [[0.0, 0.0, 40.0, 30.0]]
    assert t["boxes"].dtype == torch.float32 and t["labels"].dtype == torch.int64
    assert t["labels"].tolist() == [VOC_CLASSES.index("dog") + 1]
    assert t["image_id"] == 0 and t["area"].tolist() == [1200.0]
    assert t["iscrowd"].tolist() == [0] and t["difficult"].tolist() == [False]
    # (5, 5, 14, 9) -> (4, 4, 14, 9): width 14 - 5 + 1 = 10 pixels
    assert ds[1][1]["boxes"].tolist() == [[4.0, 4.0, 14.0, 9.0]]
    empty = ds[2][1]
    assert empty["boxes"].shape == (0, 4) and empty["labels"].shape == (0,)


def test_keep_difficult_and_raw_annotation(voc):
    ds = VOCDetection(voc, "test", keep_difficult=True)
    t = ds[0][1]
    assert t["difficult"].tolist() == [False, True]
    assert t["boxes"][1].tolist() == [9.0, 19.0, 30.0, 25.0]
    ann = VOCDetection(voc, "test").get_annotation(0)  # difficult kept for the evaluator
    assert [o["bbox"] for o in ann["objects"]] == [(1, 1, 40, 30), (10, 20, 30, 25)]
    assert [o["difficult"] for o in ann["objects"]] == [False, True]
    assert ann["image_name"] == "000001" and ann["width"] == 40


def test_sizes_without_images_and_year(tmp_path):
    voc = make_voc(tmp_path, IMAGES, split="val", year_dir="VOC2012", write_images=False)
    ds = VOCDetection(voc, "val", check_images=False)
    assert [ds.get_image_size(i) for i in range(3)] == [(30, 40), (20, 50), (20, 20)]
    assert ds.year == 2012 and ds.use_07_metric is False
    with pytest.raises(FileNotFoundError, match="000001"):
        ds[0]


def test_custom_classes(tmp_path):
    voc = make_voc(tmp_path, [("a", (10, 10), [("widget", 2, 2, 5, 5, 0), ("gadget", 1, 1, 3, 3, 0)])])
    ds = VOCDetection(voc, "test", classes=["gadget", "widget"])
    assert ds[0][1]["labels"].tolist() == [2, 1]
    assert ds.use_07_metric is True  # VOC2007 folder
    with pytest.raises(ValueError, match="duplicates"):
        VOCDetection(voc, "test", classes=["a", "a"])


# Data problems: (description, xml text or None for "image missing", error fragment,
# what non-strict mode keeps: number of images, number of objects in image "bad")
BAD = [
    ("malformed", "<annotation><object>", "malformed XML", 1, None),
    ("entity bomb", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><annotation>&a;</annotation>',
     "hardened parser", 1, None),
    # XXE: an external entity must not be resolved (it would read a local file)
    ("external entity", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
     "<annotation><filename>&e;</filename></annotation>", "hardened parser", 1, None),
    ("unknown class", "<annotation><size><width>9</width><height>9</height></size><object><name>unicorn</name>"
     "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>4</xmax><ymax>4</ymax></bndbox></object>"
     "<object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>4</xmax><ymax>4</ymax></bndbox>"
     "</object></annotation>", "'unicorn', not in the class list", 2, 1),
    ("empty box", "<annotation><size><width>9</width><height>9</height></size><object><name>dog</name>"
     "<bndbox><xmin>5</xmin><ymin>1</ymin><xmax>4</xmax><ymax>4</ymax></bndbox></object></annotation>",
     "empty box", 2, 0),
    # 1-based xmin=10..12 on a 9 px wide image clips to the zero-width box [9, 0, 9, 3]
    ("box right of the image", "<annotation><size><width>9</width><height>9</height></size><object><name>dog</name>"
     "<bndbox><xmin>10</xmin><ymin>1</ymin><xmax>12</xmax><ymax>3</ymax></bndbox></object></annotation>",
     "outside the 9x9 image", 2, 0),
    ("box above the image", "<annotation><size><width>9</width><height>9</height></size><object><name>dog</name>"
     "<bndbox><xmin>1</xmin><ymin>-5</ymin><xmax>3</xmax><ymax>0</ymax></bndbox></object>"
     "<object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>3</xmax><ymax>3</ymax></bndbox>"
     "</object></annotation>", "outside the 9x9 image", 2, 1),
    ("difficult yes", "<annotation><size><width>9</width><height>9</height></size><object><name>dog</name>"
     "<difficult>yes</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>4</xmax><ymax>4</ymax></bndbox>"
     "</object></annotation>", "<difficult>yes</difficult>, expected a number", 1, None),
    ("size not the image's", "<annotation><size><width>9</width><height>8</height></size></annotation>",
     "<size> says 9x8 but the image", 1, None),
    ("missing image", None, "image not found", 1, None),
    ("non-numeric", "<annotation><size><width>9</width><height>9</height></size><object><name>dog</name>"
     "<bndbox><xmin>a</xmin><ymin>1</ymin><xmax>4</xmax><ymax>4</ymax></bndbox></object></annotation>",
     "<xmin>a</xmin>, expected a finite number", 1, None),
]


@pytest.mark.parametrize("desc,xml,fragment,n_images,n_objects", BAD, ids=[b[0] for b in BAD])
def test_problems_strict_and_warn(tmp_path, desc, xml, fragment, n_images, n_objects):
    voc = make_voc(tmp_path, [("good", (9, 9), [("dog", 1, 1, 3, 3, 0)]), ("bad", (9, 9), [])])
    if xml is None:
        (voc / "JPEGImages" / "bad.jpg").unlink()
    else:
        (voc / "Annotations" / "bad.xml").write_text(xml)
    with pytest.raises(VOCAnnotationError, match=fragment) as err:
        VOCDetection(voc, "test")
    assert "bad.xml" in str(err.value)
    with pytest.warns(VOCAnnotationWarning, match="bad.xml"):
        ds = VOCDetection(voc, "test", strict=False)
    assert len(ds) == n_images and len(ds.problems) >= 1 and fragment in ds.problems[0]
    if n_objects is not None:
        assert len(ds.get_annotation(ds.image_names.index("bad"))["objects"]) == n_objects


def test_box_partly_outside_is_clipped(tmp_path):
    voc = make_voc(tmp_path, [("a", (40, 10), [("dog", 35, 1, 45, 10, 0), ("cat", -3, -3, 5, 4, 0)])])
    t = VOCDetection(voc, "test").get_target(0)
    assert t["boxes"].tolist() == [[34.0, 0.0, 40.0, 10.0], [0.0, 0.0, 5.0, 4.0]]
    assert bool((t["boxes"][:, 2:] > t["boxes"][:, :2]).all())


def test_invalid_size_is_read_from_the_image_or_reported(tmp_path):
    voc = make_voc(tmp_path, [("a", (12, 7), [("dog", 1, 1, 3, 3, 0)])])
    (voc / "Annotations" / "a.xml").write_text(
        (voc / "Annotations" / "a.xml").read_text().replace("<height>7</height>", "<height>0</height>")
    )
    assert VOCDetection(voc, "test").get_image_size(0) == (7, 12)  # from the image header
    (voc / "JPEGImages" / "a.jpg").unlink()
    with pytest.raises(VOCAnnotationError, match=r"a\.xml: no valid <size> \(width=12, height=0\)"):
        VOCDetection(voc, "test", check_images=False)


def test_unreadable_image_is_reported(tmp_path):
    voc = make_voc(tmp_path, [("a", (12, 7), [])])
    (voc / "JPEGImages" / "a.jpg").write_bytes(b"not an image")
    with pytest.raises(VOCAnnotationError, match=r"a\.xml: cannot read the image .*a\.jpg"):
        VOCDetection(voc, "test")
    assert len(VOCDetection(voc, "test", check_images=False)) == 1  # annotations only


def test_missing_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="VOC root"):
        VOCDetection(tmp_path / "nope", "test")
    voc = make_voc(tmp_path, IMAGES)
    with pytest.raises(FileNotFoundError, match="trainval.txt"):
        VOCDetection(voc, "trainval")


def test_build_voc_concatenates(tmp_path):
    a = make_voc(tmp_path / "a", IMAGES[:2], split="trainval", year_dir="VOC2007")
    b = make_voc(tmp_path / "b", IMAGES[1:], split="trainval", year_dir="VOC2012")
    ds = build_voc([(a, "trainval"), (b, "trainval")])
    assert isinstance(ds, DetectionConcatDataset) and len(ds) == 4
    assert ds.image_names == ["000001", "000002", "000002", "000003"]
    assert ds.get_image_size(3) == (20, 20) and ds.get_annotation(2)["image_name"] == "000002"
    assert ds[2][1]["image_id"] == 2 and ds.get_target(3)["image_id"] == 3
    assert ds.year is None and ds.use_07_metric is True
    flip = lambda image, target: (image.flip(-1), target)  # noqa: E731
    ds.transforms = flip  # reaches every part
    assert ds.transforms is flip and all(d.transforms is flip for d in ds.datasets)
    assert isinstance(build_voc([(a, "trainval")]), VOCDetection)
    with pytest.raises(ValueError, match="pairs"):
        build_voc([str(a)])
    with pytest.warns(VOCAnnotationWarning, match="person"):
        dogs = VOCDetection(b, "trainval", classes=["dog"], strict=False)
    with pytest.raises(ValueError, match="different class lists"):
        DetectionConcatDataset([VOCDetection(a, "trainval"), dogs])


def _difficult_voc(tmp_path):
    objs = [("dog", 1, 1, 10, 10, 0), ("cat", 31, 1, 40, 10, 1), ("cat", 15, 1, 20, 10, 0)]
    return VOCDetection(make_voc(tmp_path, [("x", (40, 20), objs)]), "test", keep_difficult=True)


def test_albumentations_keeps_fields_aligned(tmp_path):
    ds = _difficult_voc(tmp_path)
    # crop the left 25 px: the difficult cat at x in [30, 40) disappears
    ds.transforms = A.Compose(
        [A.Crop(0, 0, 25, 20), A.HorizontalFlip(p=1.0)],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
        save_applied_params=True,
    )
    image, t = ds[0]
    assert image.shape == (3, 20, 25) and image.dtype == torch.float32
    assert t["boxes"].tolist() == [[15.0, 0.0, 25.0, 10.0], [5.0, 0.0, 11.0, 10.0]]
    assert t["labels"].tolist() == [12, 8] and t["difficult"].tolist() == [False, False]
    assert t["area"].tolist() == [100.0, 60.0]
    assert [name for name, _ in t["applied_transforms"]] == ["Crop", "HorizontalFlip"]


def test_albumentations_needs_pascal_voc_bbox_params(tmp_path):
    ds = _difficult_voc(tmp_path)
    ds.transforms = A.Compose([A.HorizontalFlip(p=1.0)])
    with pytest.raises(ValueError, match="bbox_params"):
        ds[0]
    ds.transforms = A.Compose([A.HorizontalFlip(p=1.0)], bbox_params=A.BboxParams(format="coco"))
    with pytest.raises(ValueError, match="pascal_voc"):
        ds[0]


def test_torchvision_v2_path_keeps_extra_keys(tmp_path):
    ds = _difficult_voc(tmp_path)

    def plan_adder(image, target):
        image, target = v2.RandomHorizontalFlip(p=1.0)(image, target)
        target["erasing_plan"] = {"rects": [[0, 0, 2, 2]]}
        return image, target

    ds.transforms = plan_adder
    image, t = ds[0]
    assert image.dtype == torch.float32 and float(image.max()) <= 1.0
    assert type(t["boxes"]) is torch.Tensor
    assert t["boxes"][0].tolist() == [30.0, 0.0, 40.0, 10.0]
    assert t["erasing_plan"] == {"rects": [[0, 0, 2, 2]]}


def test_torchvision_v2_sanitize_alignment(tmp_path):
    ds = _difficult_voc(tmp_path)
    def left_crop(image, target):  # keep x in [0, 25): the difficult cat leaves
        image = v2.functional.crop(image, 0, 0, 20, 25)
        target["boxes"] = v2.functional.crop(target["boxes"], 0, 0, 20, 25)
        return v2.Compose([v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes()])(image, target)

    # default SanitizeBoundingBoxes filters labels only: non-constant difficult -> error
    ds.transforms = left_crop
    with pytest.raises(ValueError, match="labels_getter"):
        ds[0]
    # training default (no difficult kept): constant fields are refilled, no error
    ds.keep_difficult = False
    t = ds[0][1]
    assert t["labels"].tolist() == [12, 8] and t["difficult"].tolist() == [False, False]


def test_repr_and_negative_index(voc):
    ds = VOCDetection(voc, "test", keep_difficult=True)
    assert "keep_difficult=True" in repr(ds) and "[3 images]" in repr(ds)
    assert torch.equal(ds[-1][1]["boxes"], ds[2][1]["boxes"])
    assert np.asarray(ds.load_image(1)).shape == (20, 50, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        VOCDetection(voc, "test")  # clean data: no warning


def test_ignore_other_classes_keeps_other_checks(tmp_path):
    objs = [("dog", 1, 1, 3, 3, 0), ("unicorn", 1, 1, 3, 3, 0), ("unicorn", 2, 2, 4, 4, 0)]
    voc = make_voc(tmp_path, [("a", (9, 9), objs)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not a problem: no warning
        ds = VOCDetection(voc, "test", classes=["dog"], ignore_other_classes=True)
    assert [o["name"] for o in ds.get_annotation(0)["objects"]] == ["dog"]
    assert ds.ignored_objects == {"unicorn": 2} and ds.problems == []
    assert "ignore_other_classes=True" in repr(ds)
    with pytest.raises(VOCAnnotationError, match="unicorn"):
        VOCDetection(voc, "test", classes=["dog"])
    (voc / "Annotations" / "a.xml").write_text(
        "<annotation><size><width>9</width><height>9</height></size><object><name>dog</name>"
        "<bndbox><xmin>5</xmin><ymin>1</ymin><xmax>4</xmax><ymax>4</ymax></bndbox></object></annotation>"
    )
    with pytest.raises(VOCAnnotationError, match="empty box"):
        build_voc([(voc, "test")], classes=["dog"], ignore_other_classes=True)


def test_warnings_point_at_the_caller(tmp_path):
    voc = make_voc(tmp_path, [("a", (9, 9), [("unicorn", 1, 1, 3, 3, 0)])])
    for build in (lambda: VOCDetection(voc, "test", strict=False),
                  lambda: build_voc([(voc, "test")], strict=False)):
        with pytest.warns(VOCAnnotationWarning, match="unicorn") as rec:
            build()
        assert [w.filename for w in rec] == [__file__]
