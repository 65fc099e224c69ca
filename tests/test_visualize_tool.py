"""detaug-vis (tools/visualize.py): grids of the real training pipeline, clear errors, outputs under runs/."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detaug.vis import IMAGE_LEVEL_COLOR

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "synthetic_frcnn_small_iore"
tool = importlib.import_module("detaug.cli.visualize")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp("vis-data")


@pytest.fixture(scope="module")
def synthetic(data_root):
    from detaug.data import generate_synthetic

    return generate_synthetic(data_root, num_train=8, num_test=4)  # the set the config tests use


def _run(data_root, out, *extra, overrides=()):
    small = [f"data.root={data_root}", "data.synthetic_num_train=8", "data.synthetic_num_test=4", *overrides]
    args = tool.get_args_parser().parse_args(["--config", CONFIG, "--out", str(out), "--zoom", "1", "--set", *small, *extra])
    tool.main(args)
    return np.asarray(Image.open(out).convert("RGB"))


def _has_color(image, color):
    return bool((image == np.array(color, np.uint8)).all(axis=2).any())


def _cells(grid, caption=False, legend_entries=2):
    """The grid without its caption and legend (the legend shows every colour)."""
    line, pad = 18, 4  # detaug.vis.grid: text lines of TEXT_SIZE + 5 px, 4 px padding
    columns = max(1, min(3, grid.shape[1] // 340))
    below = line * -(-legend_entries // columns) + pad + (line + pad if caption else 0)
    return grid[: grid.shape[0] - below]


def test_grid_of_the_training_pipeline_with_image_level_regions(tmp_path, data_root):
    grid = _run(data_root, tmp_path / "ire.png", "--num", "4", "--ncols", "2", "--mode", "ire", "--image-p", "1")
    # 2 x 2 cells of 128-192 px synthetic images, 4 px padding, 18 px titles, a legend below.
    assert 2 * (128 + 4) + 4 <= grid.shape[1] <= 2 * (192 + 4) + 4
    assert grid.shape[0] >= 2 * (128 + 18 + 4) + 4
    assert _has_color(_cells(grid), IMAGE_LEVEL_COLOR)


def test_baseline_draws_no_erased_region(tmp_path, data_root):
    grid = _run(data_root, tmp_path / "none.png", "--num", "4", "--mode", "none")
    assert _has_color(grid, IMAGE_LEVEL_COLOR)  # in the legend
    assert not _has_color(_cells(grid), IMAGE_LEVEL_COLOR)


def test_mode_names_are_case_insensitive(tmp_path, data_root):
    grid = _run(data_root, tmp_path / "IRE.png", "--num", "2", "--mode", "IRE", "--image-p", "1")
    assert _has_color(_cells(grid), IMAGE_LEVEL_COLOR)


def test_compare_lays_out_four_modes_per_image(tmp_path, data_root):
    grid = _run(data_root, tmp_path / "cmp.png", "--num", "2", "--compare", "--image-p", "1")
    assert 4 * (128 + 4) + 4 <= grid.shape[1] <= 4 * (192 + 4) + 4
    assert grid.shape[0] >= 2 * (128 + 18 + 4) + 4
    assert _has_color(_cells(grid, caption=True), IMAGE_LEVEL_COLOR)


def test_device_erasing_configs_show_their_regions(tmp_path, data_root):
    grid = _run(data_root, tmp_path / "dev.png", "--num", "2", "--mode", "ire", "--image-p", "1",
                overrides=["augmentation.erasing.device=true"])
    assert _has_color(_cells(grid), IMAGE_LEVEL_COLOR)


def test_regions_of_dropped_boxes_are_marked_and_colours_follow_the_kept_boxes():
    from detaug.erasing import ErasePlan
    from detaug.vis import DROPPED_COLOR, box_color, draw_sample, remap_dropped

    plan = ErasePlan(np.array([[2, 2, 8, 8], [22, 2, 28, 8]]), np.array([0, 1]), image_size=(20, 40))
    remapped = remap_dropped(plan, np.array([False, True]))  # box 0 dropped, box 1 is now box 0
    out = draw_sample(np.zeros((20, 40, 3), np.uint8), np.array([[20.0, 0, 30, 10]]), [1], remapped, show_labels=False)
    assert tuple(out[2, 2]) == DROPPED_COLOR and tuple(out[2, 22]) == box_color(0)


def test_images_and_annotations_without_a_config(tmp_path, synthetic):
    from detaug.config import load_config
    from detaug.data.folder import folder_dataset
    from detaug.pipeline import build_transforms
    from detaug.vis import draw_items

    for ann in (synthetic.voc_root / "Annotations", synthetic.coco_annotations["test"]):
        out = tmp_path / f"own-{Path(ann).stem}.png"
        argv = ["--images", str(synthetic.image_dir), "--annotations", str(ann), "--mode", "ore",
                "--object-p", "1", "--num", "3", "--zoom", "1", "--out", str(out)]
        assert tool.run(argv) == 0
        grid = np.asarray(Image.open(out).convert("RGB"))
        assert grid.shape[1] >= 3 * (128 + 4) and not _has_color(_cells(grid), IMAGE_LEVEL_COLOR)
    # object_p=1: every box gets a region unless none fits, and the drawing counts them.
    cfg = load_config(overrides=["augmentation.erasing.mode=ore", "augmentation.erasing.object_p=1"])
    dataset = folder_dataset(synthetic.image_dir, synthetic.voc_root / "Annotations",
                             transforms=build_transforms(cfg, train=True, save_applied_params=True))
    drawn = draw_items(dataset, [0, 1, 2], 0, dataset.classes)
    counts = [int(d.title.rsplit("(", 1)[1].split()[0]) for d in drawn]
    assert counts == [len(d.plan) for d in drawn] and all(d.num_boxes >= c >= 1 for d, c in zip(drawn, counts))
    assert sum(counts) >= sum(d.num_boxes for d in drawn) - 1


def test_default_output_goes_under_runs(tmp_path, data_root, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert tool.run(["--config", CONFIG, "--num", "1", "--zoom", "1", "--set", f"data.root={data_root}",
                     "data.synthetic_num_train=8", "data.synthetic_num_test=4"]) == 0
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["runs", "runs/vis", "runs/vis/erased.png"]
    assert "runs/vis/erased.png" in capsys.readouterr().out


def _bad_xml_folder(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "ann").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "img" / "a.jpg")
    (tmp_path / "ann" / "a.xml").write_text("<annotation><object><name>cat</name></annotation>")
    return ["--images", str(tmp_path / "img"), "--annotations", str(tmp_path / "ann")]


@pytest.mark.parametrize(
    "argv,message",
    [
        ([], "give --config"),
        (["--images", "x"], "go together"),
        (["--config", CONFIG, "--images", "a", "--annotations", "b"], "not both"),
        (["--config", CONFIG, "--num", "0"], "--num must be at least 1"),
        (["--config", CONFIG, "--zoom", "0"], "--zoom must be positive"),
        (["--config", CONFIG, "--mode", "random"], "--mode 'random' is not an erasing mode; choose one of none, ire, ore, i+ore"),
        (["--config", CONFIG, "--compare", "--mode", "ire"], "leave out --mode"),
        (["--config", CONFIG, "--classes", "cat"], "--classes is for --annotations"),
        (["--config", "no_such_preset"], "no_such_preset"),
        (["--images", "no/such/dir", "--annotations", "no/such/ann"], "no/such"),
        ("bad-xml", "a.xml: malformed XML"),
        # fills the pipeline cannot write to its uint8 images: refused before any image is drawn
        (["--config", CONFIG, "--fill", "random_normal"], "augmentation.erasing.fill: fill='random_normal' draws N(0, 1)"),
        (["--config", CONFIG, "--fill", "300"], "augmentation.erasing.fill: fill 300.0 is outside the range of uint8"),
        (["--images", "TMP", "--annotations", "TMP", "--fill", "random_color_normal"], "device=true"),
        (["--images", "TMP", "--annotations", "TMP", "--fill", "300"], "fill 300.0"),
    ],
)
def test_usage_and_input_errors_exit_2_with_one_line(argv, message, capsys, tmp_path):
    if argv == "bad-xml":
        argv = _bad_xml_folder(tmp_path)
    argv = [str(tmp_path) if a == "TMP" else a for a in argv]  # existing (empty) folders
    assert tool.run(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ": error: " in err and message in err, err


def test_help_and_version_are_instant_and_without_doubled_defaults():
    code = ("import sys, detaug.cli.visualize as v; text = v.get_args_parser().format_help(); "
            "print(sorted(m for m in ('torch', 'numpy', 'albumentations', 'omegaconf') if m in sys.modules)); print(text)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, text = res.stdout.split("\n", 1)
    assert heavy == "[]"  # nothing heavy imported to answer --help
    assert "(default: None)" not in text and "--compare" in text
    epilog = text.split("\nWith a training config", 1)[1]  # the docstring's examples, as plain text
    assert "::" not in epilog and "``" not in epilog and "On your own images, without a config" in epilog
    options = text.split("\n  -")  # one chunk per option
    assert all(chunk.count("default") <= 1 for chunk in options), [c for c in options if c.count("default") > 1]
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "visualize.py"), "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and "detaug" in res.stdout


def test_compare_masks_draws_the_box_and_the_mask_variant_of_ore(tmp_path, data_root, synthetic):
    small = [f"data.root={data_root}", "data.synthetic_num_train=8", "data.synthetic_num_test=4",
             "augmentation.erasing.object_p=1.0"]
    args = tool.get_args_parser().parse_args(["--config", CONFIG, "--compare", "masks", "--num", "3", "--zoom", "1",
                                              "--set", *small, "--out", str(tmp_path / "masks.png")])
    assert Image.open(tool.main(args)).size[0] > 3 * 128  # three columns
    base = tool._load_config(args)
    pipelines = tool._pipelines(base, tool.COMPARISONS["masks"])
    assert [title for title, _, _ in pipelines] == ["baseline", "ORE on the box", "ORE on the mask"]
    from omegaconf import OmegaConf

    dataset, _ = tool._dataset(args, OmegaConf.merge(base, {"augmentation": {"erasing": tool.COMPARISONS["masks"]["ORE on the mask"]}}))
    dataset.transforms = pipelines[2][1]
    from detaug.vis import find_plan

    _, target = dataset[0]
    plan = find_plan(target)
    assert len(plan) and plan.region_masks is not None  # only the objects' pixels are erased
    for mask, source in zip(plan.region_masks, plan.source.tolist()):
        x1, y1, x2, y2 = plan.rects[list(plan.source).index(source)]
        assert np.array_equal(mask, target["masks"][source, y1:y2, x1:x2].numpy().astype(bool))


def test_compare_masks_on_a_test_split_reads_its_masks(tmp_path, data_root, synthetic):
    small = [f"data.root={data_root}", "data.synthetic_num_train=8", "data.synthetic_num_test=4"]
    out = tmp_path / "masks_test.png"
    assert tool.run(["--config", CONFIG, "--compare", "masks", "--split", "test", "--num", "2", "--zoom", "1",
                     "--set", *small, "--out", str(out)]) == 0
    assert out.is_file()


def test_compare_masks_without_instance_masks_is_refused(tmp_path, synthetic, capsys):
    # The synthetic set's XML files without their SegmentationObject folder: no image has a
    # mask, so an "ORE on the mask" column would be ORE on the box under a caption that says otherwise.
    shutil.copytree(synthetic.voc_root / "Annotations", tmp_path / "Annotations")
    argv = ["--images", str(synthetic.image_dir), "--annotations", str(tmp_path / "Annotations"), "--compare", "masks",
            "--num", "2", "--zoom", "1", "--out", str(tmp_path / "masks.png")]
    assert tool.run(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--compare masks: none of the 2 image(s) drawn has instance masks" in err
    assert "SegmentationObject" in err and "segmentation" in err and not (tmp_path / "masks.png").exists()


def test_compare_masks_reads_the_masks_of_images_and_annotations(tmp_path, synthetic):
    from detaug.data.folder import folder_dataset

    for ann in (synthetic.voc_root / "Annotations", synthetic.coco_annotations["train"]):
        _, target = folder_dataset(synthetic.image_dir, ann, masks=True)[0]
        assert target["masks"].shape[0] == len(target["boxes"]) > 0  # VOC: SegmentationObject; COCO: segmentation
        argv = ["--images", str(synthetic.image_dir), "--annotations", str(ann), "--compare", "masks",
                "--num", "2", "--zoom", "1", "--out", str(tmp_path / "masks.png")]
        assert tool.run(argv) == 0
