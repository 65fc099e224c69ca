"""The synthetic generator: determinism, idempotence, occlusion levels, both loaders."""

import json
from pathlib import Path

import numpy as np
import pytest
from _data_helpers import small_synthetic

from detaug.data import SYNTHETIC_CLASSES, COCODetection, VOCDetection, generate_synthetic

SMALL = dict(num_train=6, num_test=3, occlusion_levels=(0.3, 0.6))


def _files(root: Path):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = generate_synthetic(tmp_path / "a", seed=3, **SMALL)
    b = generate_synthetic(tmp_path / "b", seed=3, **SMALL)
    c = generate_synthetic(tmp_path / "c", seed=4, **SMALL)
    fa, fb = _files(a.root), _files(b.root)
    assert a.root.name == b.root.name and fa == fb
    assert len(fa) > 30
    fc = _files(c.root)
    images = [k for k in fa if k.endswith(".jpg")]
    assert all(fa[k] != fc[k] for k in images)


def test_idempotent_and_atomic(tmp_path):
    info = generate_synthetic(tmp_path, **SMALL)
    xml = next((info.voc_root / "Annotations").glob("*.xml"))
    mtime = xml.stat().st_mtime_ns
    again = generate_synthetic(tmp_path, **SMALL)
    assert again == info and xml.stat().st_mtime_ns == mtime
    # no temporary folder left behind
    assert [p.name for p in tmp_path.iterdir()] == [info.root.name]
    # different settings -> a different folder, side by side
    other = generate_synthetic(tmp_path, num_train=5, num_test=3, occlusion_levels=(0.3, 0.6))
    assert other.root != info.root
    # a folder that is not complete (no manifest) is never mistaken for a dataset
    (info.root / "manifest.json").unlink()
    with pytest.raises(RuntimeError, match="not a complete synthetic dataset"):
        generate_synthetic(tmp_path, **SMALL)


def test_layout_and_content():
    info = small_synthetic()
    manifest = json.loads((info.root / "manifest.json").read_text())
    assert manifest["counts"]["train"] == 16 and manifest["counts"]["test"] == 8
    assert manifest["counts"]["test_occluded"] == 8 * 3
    assert info.classes == SYNTHETIC_CLASSES and len(set(SYNTHETIC_CLASSES)) == 6
    assert info.occlusion_splits == {0.2: "test_occ20", 0.4: "test_occ40", 0.6: "test_occ60"}
    ds = VOCDetection(info.voc_root, "train", classes=info.classes, keep_difficult=True)
    sizes = {ds.get_image_size(i) for i in range(len(ds))}
    assert sizes <= {(h, w) for h in (128, 160, 192) for w in (128, 160, 192)} and len(sizes) > 1
    counts = [len(ds.get_annotation(i)["objects"]) for i in range(len(ds))]
    assert min(counts) >= 1 and max(counts) <= 4
    for i in range(len(ds)):
        h, w = ds.get_image_size(i)
        b = ds.get_target(i)["boxes"]
        assert (b[:, 2] - b[:, 0] >= 10).all() and (b[:, 3] - b[:, 1] >= 10).all()
        assert (b[:, 0] >= 0).all() and (b[:, 2] <= w).all() and (b[:, 3] <= h).all()
    assert ds.use_07_metric is False  # no VOC year in the folder name: all-point metric


def test_occluded_split_records_levels():
    info = small_synthetic()
    test = VOCDetection(info.voc_root, "test", classes=info.classes, keep_difficult=True)
    gaps = []
    for level, split in info.occlusion_splits.items():
        occ = VOCDetection(info.voc_root, split, classes=info.classes, keep_difficult=True)
        assert len(occ) == len(test)
        for i in range(len(occ)):
            a, base = occ.get_annotation(i), test.get_annotation(i)
            # same scene, same (amodal) boxes and classes as the clean test image
            assert [o["bbox"] for o in a["objects"]] == [o["bbox"] for o in base["objects"]]
            assert [o["name"] for o in a["objects"]] == [o["name"] for o in base["objects"]]
            for o in a["objects"]:
                assert o["extra"]["occluded"] == "1"
                assert float(o["extra"]["occlusion_level"]) == pytest.approx(level)
                measured = float(o["extra"]["occluded_fraction"])
                assert level - 1e-3 <= measured <= 1.0
                gaps.append(measured - level)
        # the pixels really changed inside the boxes
        assert np.abs(occ.load_image(0).astype(int) - test.load_image(0).astype(int)).mean() > 1
    assert np.median(gaps) < 0.1
    coco = json.loads(info.coco_annotations["test_occ40"].read_text())
    assert {a["occlusion_level"] for a in coco["annotations"]} == {0.4}
    union = VOCDetection(info.voc_root, "test_occluded", classes=info.classes)
    assert len(union) == 3 * len(test)


def test_voc_and_coco_loaders_agree():
    info = small_synthetic()
    for split in ("train", "test_occ60"):
        voc = VOCDetection(info.voc_root, split, classes=info.classes, keep_difficult=True)
        coco = COCODetection(info.image_dir, info.coco_annotations[split], train=False)
        assert coco.classes == list(info.classes) and len(coco) == len(voc)
        for i in range(len(voc)):
            tv, tc = voc.get_target(i), coco.get_target(i)
            assert voc.get_image_size(i) == coco.get_image_size(i)
            assert tv["boxes"].tolist() == tc["boxes"].tolist()
            assert tv["labels"].tolist() == tc["labels"].tolist()
        image_v, _ = voc[0]
        image_c, _ = coco[0]
        assert image_v.equal(image_c)


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(num_train=-1), "num_train"),
        (dict(occlusion_levels=(1.2,)), "occlusion_levels"),
        (dict(max_objects=0), "max_objects"),
        (dict(min_size=50, max_size=40), "min_size"),
        (dict(max_overlap=2), "max_overlap"),
    ],
)
def test_invalid_arguments(tmp_path, kwargs, name):
    with pytest.raises(ValueError, match=name):
        generate_synthetic(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


def _png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        assert im.mode == "P"  # the devkit's palette PNG
        return np.asarray(im)


@pytest.mark.parametrize("split", ["train", "test", "test_occ40"])
def test_instance_masks_in_voc_and_coco_layout(split):
    """SegmentationObject value k is the k-th XML object's visible pixels; the class map, the
    COCO RLE and the difficult flag all agree with it."""
    from pycocotools import mask as mask_utils

    info = small_synthetic()
    root = info.voc_root
    main = (root / "ImageSets" / "Main" / f"{split}.txt").read_text()
    assert (root / "ImageSets" / "Segmentation" / f"{split}.txt").read_text() == main
    voc = VOCDetection(root, split, classes=info.classes, keep_difficult=True)
    coco = json.loads(info.coco_annotations[split].read_text())
    anns = {}
    for a in coco["annotations"]:
        anns.setdefault(a["image_id"], []).append(a)
    for i, name in enumerate(voc.image_names):
        inst = _png(root / "SegmentationObject" / f"{name}.png")
        sem = _png(root / "SegmentationClass" / f"{name}.png")
        objects = voc.get_annotation(i)["objects"]
        assert inst.shape == voc.get_image_size(i) and set(np.unique(inst)) <= set(range(len(objects) + 1))
        coco_anns = anns[i + 1]  # image ids follow the split order, from 1
        assert len(coco_anns) == len(objects)
        for k, (obj, a) in enumerate(zip(objects, coco_anns), start=1):
            mask = inst == k
            if mask.any():  # inside the (amodal) box: 1-based inclusive devkit pixels
                ys, xs = np.nonzero(mask)
                xmin, ymin, xmax, ymax = obj["bbox"]
                assert xs.min() >= xmin - 1 and xs.max() <= xmax - 1
                assert ys.min() >= ymin - 1 and ys.max() <= ymax - 1
            assert (sem[mask] == info.classes.index(obj["name"]) + 1).all()
            assert np.array_equal(mask_utils.decode(a["segmentation"]).astype(bool), mask)
            if not split.startswith("test_occ"):  # occlusion splits keep the clean scene's flag
                # generator rule: difficult = less than 25 % of the full shape (COCO area) visible
                assert obj["difficult"] == (mask.sum() < 0.25 * a["area"])
        assert ((sem > 0) == (inst > 0)).all()


def test_occluded_masks_lose_what_the_occluder_hides():
    info = small_synthetic()
    root = info.voc_root
    clean = (root / "ImageSets" / "Main" / "test.txt").read_text().split()
    occluded = (root / "ImageSets" / "Main" / "test_occ60.txt").read_text().split()
    coco = json.loads(info.coco_annotations["test_occ60"].read_text())["annotations"]
    by_image = {}
    for a in coco:  # k-th annotation of an image = k-th XML object = value k in the PNG
        a["k"] = len(by_image.setdefault(a["image_id"], [])) + 1
        by_image[a["image_id"]].append(a)
    for j, (c, o) in enumerate(zip(clean, occluded)):
        before = _png(root / "SegmentationObject" / f"{c}.png")
        after = _png(root / "SegmentationObject" / f"{o}.png")
        assert ((after > 0) <= (after == before)).all()  # no pixel changes owner
        for a in by_image[j + 1]:
            lost = int(((before == a["k"]) & (after != a["k"])).sum())
            # the occluder hid occluded_fraction of the full shape (rounded to 4 decimals)
            assert lost <= a["occluded_fraction"] * a["area"] + 5e-5 * a["area"] + 1e-9
            assert ((after == a["k"]) <= (before == a["k"])).all()
