"""detaug.data.folder: loose image + annotation folders, read with the VOC dataset's own rules."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from detaug.data import VOCAnnotationError
from detaug.data.folder import VOCFolder, folder_dataset


def _xml(filename, objects, size=(12, 10)):
    objs = "".join(
        f"<object><name>{name}</name><difficult>{int(difficult)}</difficult><bndbox><xmin>{b[0]}</xmin>"
        f"<ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
        for name, b, difficult in objects
    )
    name = f"<filename>{filename}</filename>" if filename else ""
    return f"<annotation>{name}<size><width>{size[0]}</width><height>{size[1]}</height></size>{objs}</annotation>"


@pytest.fixture
def folders(tmp_path):
    images, annotations = tmp_path / "photos", tmp_path / "labels"
    images.mkdir()
    annotations.mkdir()
    Image.new("RGB", (12, 10), (9, 9, 9)).save(images / "kitchen.png")
    Image.new("RGB", (12, 10)).save(images / "b.jpg")
    # <filename> names the image; the XML's stem does not have to.
    (annotations / "a.xml").write_text(_xml("kitchen.png", [("cup", (1, 2, 5, 4), False), ("bowl", (3, 3, 12, 10), True)]))
    (annotations / "b.xml").write_text(_xml(None, [("cup", (2, 2, 3, 3), False)]))
    return images, annotations


def test_boxes_follow_the_devkit_convention_and_difficult_objects_are_kept(folders):
    ds = VOCFolder(*folders)
    assert ds.classes == ["bowl", "cup"] and ds.image_names == ["a", "b"]
    image, target = ds[0]
    assert tuple(image.shape) == (3, 10, 12)
    # Hand-worked: 1-based inclusive (xmin, ymin, xmax, ymax) -> (xmin - 1, ymin - 1, xmax, ymax).
    assert target["boxes"].tolist() == [[0.0, 1.0, 5.0, 4.0], [2.0, 2.0, 12.0, 10.0]]
    assert target["labels"].tolist() == [2, 1] and target["difficult"].tolist() == [False, True]
    assert float(image[:, 0, 0].max()) == pytest.approx(9 / 255)  # kitchen.png, not b.jpg


def test_given_classes_set_the_labels_and_unknown_classes_are_named(folders):
    assert VOCFolder(*folders, classes=["cup", "bowl"])[0][1]["labels"].tolist() == [1, 2]
    with pytest.raises(VOCAnnotationError, match=r"a\.xml: object 1 has class 'bowl', not in the class list"):
        VOCFolder(*folders, classes=["cup"])


def test_a_filename_cannot_leave_the_image_folder(folders, tmp_path):
    images, annotations = folders
    Image.new("RGB", (12, 10)).save(tmp_path / "outside.jpg")
    (annotations / "c.xml").write_text(_xml("../outside.jpg", [("cup", (1, 1, 2, 2), False)]))
    with pytest.raises(VOCAnnotationError, match=r"c\.xml: <filename> .*outside"):
        VOCFolder(images, annotations)
    non_strict = pytest.warns(UserWarning, match="<filename>")
    with non_strict:
        ds = VOCFolder(images, annotations, strict=False)
    assert ds.image_names == ["a", "b"] and ds.dropped_images == ["c"]


def test_hostile_xml_is_rejected_naming_the_file(folders):
    images, annotations = folders
    (annotations / "d.xml").write_text('<!DOCTYPE a [<!ENTITY e "x">]><annotation>&e;</annotation>')
    with pytest.raises(VOCAnnotationError, match=r"d\.xml: XML rejected by the hardened parser"):
        VOCFolder(images, annotations)


def test_missing_or_empty_folders_are_named(folders, tmp_path):
    images, _ = folders
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty: no .xml annotation files"):
        VOCFolder(images, tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="nowhere: image folder not found"):
        VOCFolder(tmp_path / "nowhere", tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="neither a folder of VOC XML files nor a COCO JSON"):
        folder_dataset(images, tmp_path / "nothing.txt")


def test_a_coco_file_gives_a_coco_dataset_with_its_own_classes(folders, tmp_path):
    images, _ = folders
    coco = {
        "images": [{"id": 1, "file_name": "b.jpg", "width": 12, "height": 10}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [1, 2, 3, 4], "area": 12, "iscrowd": 0}],
        "categories": [{"id": 7, "name": "cup"}],
    }
    (tmp_path / "c.json").write_text(json.dumps(coco))
    ds = folder_dataset(images, tmp_path / "c.json")
    assert ds.classes == ["cup"] and np.allclose(ds[0][1]["boxes"].numpy(), [[1, 2, 4, 6]])  # xywh -> xyxy
    with pytest.raises(ValueError, match="a COCO file names its classes"):
        folder_dataset(images, tmp_path / "c.json", classes=["cup"])
