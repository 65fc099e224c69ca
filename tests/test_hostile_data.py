"""Hostile and careless input files: each gets a clear error naming the file, the record
and the field, or a correct result (issue 11's campaign, data and evaluation part).

Every case builds its few-pixel files in tmp_path, so the suite runs in seconds.
"""

import json
import struct
import zlib

import numpy as np
import pytest
from _data_helpers import make_coco, make_voc
from PIL import Image

from detaug.cli import eval as eval_det
from detaug.data import (
    COCODetection,
    COCOFormatError,
    DataFileError,
    ImageFileError,
    ResultsFileError,
    VOCAnnotationError,
    VOCAnnotationWarning,
    VOCDetection,
    read_rgb,
)
from detaug.errors import UsageError
from detaug.evaluation import COCOEvaluator, VOCEvaluator, evaluate_coco_results, read_voc_results


def test_input_errors_are_usage_errors():
    for cls in (DataFileError, VOCAnnotationError, COCOFormatError, ImageFileError, ResultsFileError):
        assert issubclass(cls, UsageError) and issubclass(cls, ValueError)


# -- VOC annotations ------------------------------------------------------------------
def _voc_with_object_xml(tmp_path, obj_children):
    voc = make_voc(tmp_path, [("good", (9, 9), [("dog", 1, 1, 3, 3, 0)]), ("bad", (9, 9), [])])
    (voc / "Annotations" / "bad.xml").write_text(
        "<annotation><size><width>9</width><height>9</height></size><object><name>dog</name>"
        f"{obj_children}<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>4</xmax><ymax>4</ymax></bndbox>"
        "</object></annotation>"
    )
    return voc


@pytest.mark.parametrize("value", ["inf", "1e400", "-inf", "nan"])
@pytest.mark.parametrize("tag", ["difficult", "truncated"])
def test_voc_non_finite_flag_is_an_error_even_when_not_strict(tmp_path, tag, value):
    voc = _voc_with_object_xml(tmp_path, f"<{tag}>{value}</{tag}>")
    with pytest.raises(VOCAnnotationError, match=rf"bad\.xml: object 0 \(dog\) has <{tag}>{value}</{tag}>, expected a number"):
        VOCDetection(voc, "test")
    with pytest.warns(VOCAnnotationWarning, match="bad.xml"):
        ds = VOCDetection(voc, "test", strict=False)
    assert ds.image_names == ["good"] and ds.dropped_images == ["bad"]


@pytest.mark.parametrize("coord", ["1e400", "nan", "-inf"])
def test_voc_non_finite_coordinate_or_size(tmp_path, coord):
    voc = make_voc(tmp_path, [("a", (9, 9), [("dog", 1, 1, 3, 3, 0)])])
    xml = voc / "Annotations" / "a.xml"
    xml.write_text(xml.read_text().replace("<xmax>3</xmax>", f"<xmax>{coord}</xmax>"))
    with pytest.raises(VOCAnnotationError, match=rf"a\.xml: object 0 \(dog\) has <xmax>{coord}</xmax>"):
        VOCDetection(voc, "test")
    xml.write_text(xml.read_text().replace(f"<xmax>{coord}</xmax>", "<xmax>3</xmax>").replace(
        "<width>9</width>", f"<width>{coord}</width>"))
    with pytest.raises(VOCAnnotationError, match=rf"a\.xml: <size> <width>{coord}</width>"):
        VOCDetection(voc, "test", check_images=False)


def test_voc_split_list_cannot_leave_the_annotations_folder(tmp_path):
    voc = make_voc(tmp_path / "d", [("a", (9, 9), [("dog", 1, 1, 3, 3, 0)])])
    (tmp_path / "secret.xml").write_text("<annotation/>")
    split = voc / "ImageSets" / "Main" / "test.txt"
    split.write_text("a\n../../../../secret\n/etc/passwd\n")
    with pytest.raises(VOCAnnotationError, match=r"test\.txt:2: image id '\.\./\.\./\.\./\.\./secret\.xml' leaves"):
        VOCDetection(voc, "test")
    with pytest.warns(VOCAnnotationWarning) as rec:
        ds = VOCDetection(voc, "test", strict=False)
    assert ds.image_names == ["a"] and len(rec) == 2


def test_voc_split_list_that_is_not_utf8_is_named(tmp_path):
    voc = make_voc(tmp_path, [("a", (9, 9), [])])
    (voc / "ImageSets" / "Main" / "test.txt").write_bytes(b"a\n\xff\xfe\n")
    with pytest.raises(VOCAnnotationError, match=r"test\.txt:2: not UTF-8 text"):
        VOCDetection(voc, "test")


def test_voc_filename_cannot_leave_the_image_folder(tmp_path):
    voc = make_voc(tmp_path / "d", [("a", (9, 9), [])])
    (voc / "JPEGImages" / "a.jpg").rename(tmp_path / "outside.jpg")
    xml = voc / "Annotations" / "a.xml"
    xml.write_text(xml.read_text().replace("<filename>a.jpg</filename>", "<filename>../../../outside.jpg</filename>"))
    with pytest.raises(VOCAnnotationError, match=r"a\.xml: <filename> '\.\./\.\./\.\./outside\.jpg' leaves"):
        VOCDetection(voc, "test")


def test_voc_repeated_split_id_is_a_problem(tmp_path):
    # results name images: with "a" twice, its detections would all go to one copy
    voc = make_voc(tmp_path, [("a", (9, 9), [("dog", 1, 1, 3, 3, 0)]), ("b", (9, 9), [])])
    (voc / "ImageSets" / "Main" / "test.txt").write_text("a\nb\na\n")
    with pytest.raises(VOCAnnotationError, match=r"test\.txt:3: image id 'a' repeats line 1"):
        VOCDetection(voc, "test")
    with pytest.warns(VOCAnnotationWarning, match="repeats"):
        assert VOCDetection(voc, "test", strict=False).image_names == ["a", "b"]


# -- image files ------------------------------------------------------------------------
def _png_header_only(path, width, height):
    """A PNG whose header claims width x height, with no pixel data (a 'bomb')."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


def test_image_claiming_60000x60000_is_refused_and_named(tmp_path):
    voc = make_voc(tmp_path, [("good", (9, 9), []), ("big", (60000, 60000), [])], write_images=False)
    Image.new("RGB", (9, 9)).save(voc / "JPEGImages" / "good.jpg")
    _png_header_only(voc / "JPEGImages" / "big.png", 60000, 60000)
    with pytest.raises(VOCAnnotationError, match=r"big\.xml: cannot read the image .*big\.png.*MAX_IMAGE_PIXELS"):
        VOCDetection(voc, "test")
    with pytest.warns(VOCAnnotationWarning, match="big.png"):
        assert VOCDetection(voc, "test", strict=False).image_names == ["good"]
    ds = VOCDetection(voc, "test", check_images=False)  # annotations only: found when decoding
    with pytest.raises(ImageFileError, match=r"big\.png: refusing to decode an image this large"):
        ds[1]


def test_truncated_jpeg_names_the_file(tmp_path):
    voc = make_voc(tmp_path, [("a", (64, 48), [])])
    path = voc / "JPEGImages" / "a.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), np.uint8)).save(path, quality=95)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    ds = VOCDetection(voc, "test")  # the header is intact: only decoding can tell
    with pytest.raises(ImageFileError, match=r"a\.jpg: cannot decode the image \(image file is truncated"):
        ds[0]


def test_16_bit_grayscale_is_scaled_not_saturated(tmp_path):
    values = np.array([[0, 257, 32768, 65535]], np.uint16)
    Image.fromarray(values).save(tmp_path / "g.png")
    assert Image.open(tmp_path / "g.png").mode == "I;16"
    # v * 255 / 65535 rounded: 0, 1, 127.50 -> 128, 255 (Pillow's convert("RGB") gives 0, 255, 255, 255)
    rgb = read_rgb(tmp_path / "g.png")
    assert rgb.shape == (1, 4, 3) and rgb.dtype == np.uint8
    assert rgb[0, :, 0].tolist() == [0, 1, 128, 255] and (rgb[..., 0] == rgb[..., 2]).all()
    Image.fromarray(values.astype(np.int32)).save(tmp_path / "g.tif")
    with pytest.raises(ImageFileError, match=r"g\.tif: 32-bit integer pixels \(Pillow mode I\)"):
        read_rgb(tmp_path / "g.tif")


def test_image_of_another_size_than_the_xml_is_caught_when_read(tmp_path):
    voc = make_voc(tmp_path, [("a", (9, 9), [])])
    Image.new("RGB", (12, 9)).save(voc / "JPEGImages" / "a.jpg")
    ds = VOCDetection(voc, "test", check_images=False)
    with pytest.raises(VOCAnnotationError, match=r"a\.xml: <size> says 9x9 but the image .* is 12x9"):
        ds[0]


# -- COCO instances JSON -----------------------------------------------------------------
def _instances():
    return {
        "images": [{"id": 1, "width": 20, "height": 10, "file_name": "000001.jpg"},
                   {"id": 2, "width": 20, "height": 10, "file_name": "000002.jpg"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 1, 5, 5]},
                        {"id": 2, "image_id": 2, "category_id": 3, "bbox": [2, 2, 4, 4]}],
        "categories": [{"id": 3, "name": "cat"}],
    }


# (description, change to a valid instances dict, fragment after the file name)
BAD_COCO = [
    ("top-level list", lambda d: [d], "top level: 'document' is a list, expected an object"),
    ("images as a dict", lambda d: d.update(images={"1": d["images"][0]}), "top level: 'images' is a dict, expected a list"),
    ("no annotations", lambda d: d.pop("annotations"), "top level: 'annotations' missing, expected a list"),
    ("bbox missing", lambda d: d["annotations"][1].pop("bbox"), "annotations[1] (id 2): 'bbox' missing, expected [x, y, width, height]"),
    ("bbox null", lambda d: d["annotations"][1].update(bbox=None), "annotations[1] (id 2): 'bbox' is None"),
    ("bbox of 3", lambda d: d["annotations"][0].update(bbox=[1, 1, 5]), "annotations[0] (id 1): 'bbox' is [1, 1, 5]"),
    ("bbox of strings", lambda d: d["annotations"][0].update(bbox=["1", "1", "5", "5"]), "'bbox' is ['1', '1', '5', '5']"),
    ("bbox Infinity", lambda d: d["annotations"][0].update(bbox=[1, 1, float("inf"), 5]), "'bbox' is [1, 1, inf, 5]"),
    ("bbox NaN", lambda d: d["annotations"][0].update(bbox=[1, float("nan"), 5, 5]), "'bbox' is [1, nan, 5, 5]"),
    ("negative width", lambda d: d["annotations"][0].update(bbox=[1, 1, -5, 5]), "expected a width and height >= 0"),
    ("category_id missing", lambda d: d["annotations"][0].pop("category_id"), "annotations[0] (id 1): 'category_id' missing, expected an integer id"),
    ("image ids int and str", lambda d: d["images"][1].update(id="2"), "images[1]: 'id' is '2', expected an integer"),
    ("bool id", lambda d: d["annotations"][0].update(id=True), "annotations[0]: 'id' is True, expected an integer"),
    ("duplicate annotation ids", lambda d: d["annotations"][1].update(id=1), "annotations[1] and annotations[0] share the id 1"),
    ("duplicate image ids", lambda d: d["images"][1].update(id=1), "images[1] and images[0] share the id 1"),
    ("unknown image id", lambda d: d["annotations"][1].update(image_id=7), "annotations[1] (id 2): 'image_id' is 7, expected the id of an entry of 'images'"),
    ("iscrowd 2", lambda d: d["annotations"][0].update(iscrowd=2), "'iscrowd' is 2, expected 0 or 1"),
    ("area NaN", lambda d: d["annotations"][0].update(area=float("nan")), "'area' is nan, expected a finite number"),
    ("category without name", lambda d: d["categories"][0].pop("name"), "categories[0] (id 3): 'name' missing"),
    ("annotation not an object", lambda d: d["annotations"].append([1, 2]), "annotations[2]: 'entry' is a list, expected an object"),
    # per-class results are keyed by name: a repeated name would hide a class
    ("repeated category name", lambda d: d["categories"].append({"id": 4, "name": "cat"}),
     "categories[1] and categories[0] share the name 'cat'"),
]


@pytest.mark.parametrize("desc,change,fragment", BAD_COCO, ids=[b[0] for b in BAD_COCO])
def test_coco_json_of_the_wrong_structure_is_one_clear_error(tmp_path, desc, change, fragment):
    data = _instances()
    changed = change(data)  # edits in place, except the top-level list that wraps it
    data = changed if desc == "top-level list" else data
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(data))  # Python writes inf/nan as Infinity/NaN, as a hostile file would
    (tmp_path / "img").mkdir()
    for load in (lambda: COCODetection(tmp_path / "img", path), lambda: evaluate_coco_results(path, [])):
        with pytest.raises(COCOFormatError) as err:
            load()
        assert str(err.value).startswith(f"{path}: ") and fragment in str(err.value), str(err.value)


def test_coco_duplicate_annotation_ids_cannot_turn_perfect_detections_into_ap_0505(tmp_path):
    # COCOeval matches by annotation id: two ground truths sharing one make perfect
    # detections score far below 1 (0.25 with these two; 0.505 in the campaign's file)
    data = _instances()
    data["annotations"][1]["id"] = 1
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(data))
    results = [{"image_id": a["image_id"], "category_id": 3, "bbox": a["bbox"], "score": 1.0} for a in data["annotations"]]
    with pytest.raises(COCOFormatError, match="share the id 1"):
        evaluate_coco_results(path, results)
    data["annotations"][1]["id"] = 2
    path.write_text(json.dumps(data))
    assert evaluate_coco_results(path, results)["AP"] == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["../../outside.jpg", "/etc/hostname", "..\\..\\outside.jpg", "", None])
def test_coco_file_name_cannot_leave_the_image_folder(tmp_path, name):
    image_dir, ann = make_coco(tmp_path, [{"id": 1, "width": 9, "height": 9}], [], [{"id": 1, "name": "a"}])
    data = json.loads(ann.read_text())
    data["images"][0]["file_name"] = name
    ann.write_text(json.dumps(data))
    with pytest.raises(COCOFormatError, match=r"instances\.json: images\[0\] \(id 1\): 'file_name' "):
        COCODetection(image_dir, ann, train=False)


def test_coco_json_nested_too_deeply_is_named(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(COCOFormatError, match=r"deep\.json: JSON nested too deeply"):
        evaluate_coco_results(tmp_path / "deep.json", [])


def test_coco_json_that_is_not_utf8_is_named(tmp_path):
    (tmp_path / "i.json").write_bytes(b'{"images": [], "annotations": [], "categories": [{"name": "\xff"}]}')
    with pytest.raises(COCOFormatError, match=r"i\.json:1: not UTF-8 text \(byte 0xff"):
        evaluate_coco_results(tmp_path / "i.json", [])
    (tmp_path / "good.json").write_text(json.dumps(_instances()))
    (tmp_path / "r.json").write_bytes(b'[\n{"image_id": 1, "category_id": 3, "bbox": [1, 1, 5, 5], "score": 0.9\xe9}]')
    with pytest.raises(COCOFormatError, match=r"r\.json:2: not UTF-8 text \(byte 0xe9"):
        evaluate_coco_results(tmp_path / "good.json", tmp_path / "r.json")


# -- result files and predictions --------------------------------------------------------
def _result_dir(tmp_path, text):
    d = tmp_path / "res"
    d.mkdir(exist_ok=True)
    path = d / "comp4_det_test_cat.txt"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return d


@pytest.mark.parametrize("line,fragment", [
    ("a nan 1 1 5 5", "score and coordinates must be finite numbers"),
    ("a 0.9 1 nan 5 5", "score and coordinates must be finite numbers"),
    ("a inf 1 1 5 5", "score and coordinates must be finite numbers"),
    ("a 0.9 1 1 5", "expected 'image_id score xmin ymin xmax ymax'"),
    ("a 0.9 1 1 5 x", "non-numeric value"),
])
def test_voc_result_lines_with_bad_values(tmp_path, line, fragment):
    d = _result_dir(tmp_path, f"a 0.5 1 1 5 5\n{line}\n")
    with pytest.raises(ResultsFileError, match=rf"comp4_det_test_cat\.txt:2: {fragment}"):
        read_voc_results(d, "test", ["cat"], ["a"])


def test_voc_result_file_not_utf8_is_named(tmp_path):
    d = _result_dir(tmp_path, b"a 0.5 1 1 5 5\n\xc3\x28 0.5 1 1 5 5\n")
    with pytest.raises(ResultsFileError, match=r"comp4_det_test_cat\.txt:2: not UTF-8 text"):
        read_voc_results(d, "test", ["cat"], ["a"])


def test_malformed_4mb_line_is_not_echoed_whole(tmp_path):
    d = _result_dir(tmp_path, "a 0.5 " + "1" * (4 << 20) + "\n")
    with pytest.raises(ResultsFileError) as err:
        read_voc_results(d, "test", ["cat"], ["a"])
    assert len(str(err.value)) < 400 and "characters)" in str(err.value)


def test_json_output_in_a_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "passwd").write_text("not a folder")
    voc = make_voc(tmp_path / "v", [("a", (9, 9), [("cat", 1, 1, 3, 3, 0)])])
    d = _result_dir(tmp_path, "a 0.5 1 1 3 3\n")
    target = tmp_path / "passwd" / "x.json"
    argv = ["voc", "--root", str(voc), "--split", "test", "--results", str(d), "--classes", "cat", "--json", str(target)]
    assert eval_det.run(argv) == 2
    err = capsys.readouterr().err
    assert f"--json {target}: {tmp_path / 'passwd'} is a file, not a folder" in err and "Traceback" not in err


# (description, one bad result entry, fragment)
BAD_RESULTS = [
    ("bbox of 3", {"bbox": [1, 1, 5]}, "'bbox' is [1, 1, 5]"),
    ("bbox of strings", {"bbox": ["1", "1", "5", "5"]}, "'bbox' is ['1', '1', '5', '5']"),
    ("bbox null", {"bbox": None}, "'bbox' is None"),
    ("bbox NaN", {"bbox": [1, 1, float("nan"), 5]}, "'bbox' is [1, 1, nan, 5]"),
    ("string score", {"score": "0.9"}, "'score' is '0.9', expected a finite number"),
    ("NaN score", {"score": float("nan")}, "'score' is nan, expected a finite number"),
    ("list image id", {"image_id": [1]}, "'image_id' is [1], expected an integer id"),
    ("missing category", {"category_id": None}, "'category_id' is None, expected an integer id"),
]


@pytest.mark.parametrize("desc,change,fragment", BAD_RESULTS, ids=[b[0] for b in BAD_RESULTS])
def test_coco_results_with_bad_entries(tmp_path, desc, change, fragment):
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(_instances()))
    good = {"image_id": 1, "category_id": 3, "bbox": [1, 1, 5, 5], "score": 0.9}
    results = [good, dict(good, **change)]
    (tmp_path / "r.json").write_text(json.dumps(results))
    with pytest.raises(COCOFormatError, match="r.json: results\\[1\\]: ") as err:
        evaluate_coco_results(path, tmp_path / "r.json")
    assert fragment in str(err.value)


def test_voc_evaluator_refuses_shapes_it_would_have_reshaped():
    ev = VOCEvaluator([{"boxes": [[0, 0, 5, 5]], "labels": [1]}], classes=["a"])
    with pytest.raises(ValueError, match=r"expected boxes \[K, 4\], scores \[K\] and labels \[K\]; got boxes \(2, 6\), scores \(3,\)"):
        ev.update({0: {"boxes": np.zeros((2, 6)), "scores": [1, 1, 1], "labels": [1, 1, 1]}})
    with pytest.raises(ValueError, match="index 0: expected boxes"):
        ev.update({0: {"boxes": [0, 0, 5, 5], "scores": [1], "labels": [1]}})  # a flat box
    assert ev.predictions == {}  # nothing half-added


def test_voc_ground_truth_targets_are_not_reshaped_either():
    with pytest.raises(ValueError, match=r"ground truth 0: expected boxes \[K, 4\].*got boxes \(2, 6\)"):
        VOCEvaluator([{"boxes": np.zeros((2, 6)), "labels": [1, 1, 1]}], classes=["a"])
    with pytest.raises(ValueError, match=r"ground truth 0: 'difficult' has shape \(1,\), expected \(2,\)"):
        VOCEvaluator([{"boxes": np.ones((2, 4)), "labels": [1, 1], "difficult": [True]}], classes=["a"])


@pytest.mark.parametrize("make", [
    lambda gt: VOCEvaluator(gt, classes=["a"]),
    lambda gt: COCOEvaluator(_coco_gt(), {1: 3}, image_ids=[1]),
], ids=["voc", "coco"])
@pytest.mark.parametrize("pred,fragment", [
    ({"boxes": [[0, 0, float("nan"), 5]], "scores": [0.9], "labels": [1]}, "boxes must be finite numbers, found nan"),
    ({"boxes": [[0, 0, 5, 5]], "scores": [float("nan")], "labels": [1]}, "scores must be finite numbers, found nan"),
    ({"boxes": [[0, 0, 5, 5]], "scores": [float("inf")], "labels": [1]}, "scores must be finite numbers, found inf"),
    ({"boxes": [[0, 0, 5, 5]], "scores": ["high"], "labels": [1]}, "'scores' must be numbers"),
    ({"boxes": [[0, 0, 5, 5]], "scores": [0.9], "labels": [1.5]}, "labels must be integers"),
])
def test_evaluators_refuse_non_finite_predictions(make, pred, fragment):
    ev = make([{"boxes": [[0, 0, 5, 5]], "labels": [1]}])
    with pytest.raises(ValueError, match="prediction for index 0: ") as err:
        ev.update({0: pred})
    assert fragment in str(err.value)


def _coco_gt():
    import pathlib
    import tempfile

    from detaug.data import load_coco

    path = pathlib.Path(tempfile.mkdtemp()) / "i.json"
    path.write_text(json.dumps(_instances()))
    return load_coco(path)
