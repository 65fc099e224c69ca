"""COCODetection: label mapping, crowd handling, box conversion, errors."""

import json

import pytest
import torch
from _data_helpers import make_coco

from detaug.data import COCODetection

CATS = [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}, {"id": 5, "name": "airplane"}]
IMAGES = [
    {"id": 10, "width": 40, "height": 30},
    {"id": 11, "width": 20, "height": 20},  # only a crowd box
    {"id": 12, "width": 20, "height": 10},  # no annotation at all
]
ANNS = [
    {"image_id": 10, "category_id": 5, "bbox": [2.5, 3.0, 10.0, 5.0], "area": 33.0},
    {"image_id": 10, "category_id": 90, "bbox": [35.0, 25.0, 10.0, 10.0]},  # clipped
    {"image_id": 10, "category_id": 1, "bbox": [0.0, 0.0, 40.0, 30.0], "iscrowd": 1},
    {"image_id": 11, "category_id": 1, "bbox": [1.0, 1.0, 5.0, 5.0], "iscrowd": 1},
]


@pytest.fixture
def coco_files(tmp_path):
    return make_coco(tmp_path, IMAGES, ANNS, CATS)


def test_label_mapping_round_trip(coco_files):
    ds = COCODetection(*coco_files)
    assert ds.classes == ["person", "airplane", "toothbrush"]  # by category id
    assert ds.category_id_to_label == {1: 1, 5: 2, 90: 3}
    assert all(ds.category_id_to_label[ds.label_to_category_id[k]] == k for k in (1, 2, 3))


def test_train_mode_excludes_crowd_and_empty_images(coco_files):
    ds = COCODetection(*coco_files, train=True)
    assert ds.image_ids == [10]
    image, t = ds[0]
    assert image.shape == (3, 30, 40) and image.dtype == torch.float32
    # xywh -> xyxy; the second box is clipped to the 40x30 image
    assert t["boxes"].tolist() == [[2.5, 3.0, 12.5, 8.0], [35.0, 25.0, 40.0, 30.0]]
    assert t["labels"].tolist() == [2, 3] and t["iscrowd"].tolist() == [0, 0]
    assert t["area"].tolist() == [33.0, 100.0] and t["image_id"] == 0


def test_eval_mode_keeps_every_image_and_flags_crowd(coco_files):
    ds = COCODetection(*coco_files, train=False)
    assert ds.image_ids == [10, 11, 12]
    assert ds.get_target(0)["iscrowd"].tolist() == [0, 0, 1]
    assert ds.get_target(1)["iscrowd"].tolist() == [1]
    assert ds.get_target(2)["boxes"].shape == (0, 4)
    assert [ds.get_image_size(i) for i in range(3)] == [(30, 40), (20, 20), (10, 20)]


def test_degenerate_boxes_are_reported(tmp_path):
    anns = [
        {"image_id": 10, "category_id": 1, "bbox": [5.0, 5.0, 0.0, 4.0]},
        {"image_id": 10, "category_id": 1, "bbox": [50.0, 5.0, 3.0, 3.0]},  # outside
        {"image_id": 10, "category_id": 1, "bbox": [1.0, 1.0, 3.0, 3.0]},
    ]
    files = make_coco(tmp_path, IMAGES[:1], anns, CATS[1:2])
    with pytest.warns(UserWarning, match="2 non-crowd boxes have no area"):
        ds = COCODetection(*files)
    assert ds.num_degenerate == 2 and ds.get_target(0)["boxes"].tolist() == [[1.0, 1.0, 4.0, 4.0]]


def test_errors_name_the_file(tmp_path, coco_files):
    image_dir, ann = coco_files
    with pytest.raises(FileNotFoundError, match="nope.json"):
        COCODetection(image_dir, tmp_path / "nope.json")
    with pytest.raises(FileNotFoundError, match="image folder"):
        COCODetection(tmp_path / "noimg", ann)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        COCODetection(image_dir, bad)
    (image_dir / "000010.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="000010.jpg"):
        COCODetection(image_dir, ann)[0]


# (description, change to the JSON, error fragment): checked in the constructor, not a
# bare KeyError at __getitem__
BAD_JSON = [
    ("unknown category", lambda d: d["annotations"][1].update(category_id=7),
     "annotations[1] (id 2): 'category_id' is 7, expected the id of an entry of 'categories'"),
    ("no width", lambda d: d["images"][0].pop("width"), "images[0] (id 10): 'width' missing, expected a positive number"),
    ("zero height", lambda d: d["images"][1].update(height=0), "images[1] (id 11): 'height' is 0, expected a positive number"),
]


@pytest.mark.parametrize("desc,change,fragment", BAD_JSON, ids=[b[0] for b in BAD_JSON])
def test_bad_json_is_rejected_in_the_constructor(coco_files, desc, change, fragment):
    image_dir, ann = coco_files
    data = json.loads(ann.read_text())
    change(data)
    ann.write_text(json.dumps(data))
    for train in (True, False):
        with pytest.raises(ValueError, match=r"instances\.json: ") as err:
            COCODetection(image_dir, ann, train=train)
        assert fragment in str(err.value)
