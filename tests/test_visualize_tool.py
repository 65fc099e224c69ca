"""tools/visualize.py: grids of the real training pipeline, with the expected regions drawn."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detaug.vis import IMAGE_LEVEL_COLOR

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "synthetic_frcnn_small_iore.yaml"


def _tool():
    module = importlib.import_module("detaug.cli.visualize")
    return module


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp("vis-data")


def _run(tool, data_root, out, *extra, overrides=()):
    small = [f"data.root={data_root}", "data.synthetic_num_train=8", "data.synthetic_num_test=4", *overrides]
    args = tool.get_args_parser().parse_args(["--config", str(CONFIG), "--out", str(out), "--zoom", "1", "--set", *small, *extra])
    tool.main(args)
    return np.asarray(Image.open(out).convert("RGB"))


def _has_color(image, color):
    return bool((image == np.array(color, np.uint8)).all(axis=2).any())


def _cells(grid):
    """The grid without its legend rows (the legend shows every colour)."""
    # Rows through the cells are mostly image pixels; legend rows are mostly white.
    busy = np.flatnonzero((grid != 255).any(axis=2).mean(axis=1) > 0.5)
    return grid[: busy[-1] + 1]


def test_grid_of_the_training_pipeline_with_image_level_regions(tmp_path, data_root):
    tool = _tool()
    grid = _run(tool, data_root, tmp_path / "ire.png", "--num", "4", "--ncols", "2", "--mode", "ire", "--image-p", "1")
    # 2 x 2 cells of 128-192 px synthetic images, 4 px padding, 14 px titles, a legend below.
    assert 2 * (128 + 4) + 4 <= grid.shape[1] <= 2 * (192 + 4) + 4
    assert grid.shape[0] >= 2 * (128 + 14 + 4) + 4
    assert _has_color(_cells(grid), IMAGE_LEVEL_COLOR)


def test_baseline_draws_no_erased_region(tmp_path, data_root):
    tool = _tool()
    grid = _run(tool, data_root, tmp_path / "none.png", "--num", "4", "--mode", "none")
    assert _has_color(grid, IMAGE_LEVEL_COLOR)  # in the legend
    assert not _has_color(_cells(grid), IMAGE_LEVEL_COLOR)


def test_compare_lays_out_four_modes_per_image(tmp_path, data_root):
    tool = _tool()
    grid = _run(tool, data_root, tmp_path / "cmp.png", "--num", "2", "--compare", "--image-p", "1")
    assert 4 * (128 + 4) + 4 <= grid.shape[1] <= 4 * (192 + 4) + 4
    assert grid.shape[0] >= 2 * (128 + 14 + 4) + 4
    assert _has_color(_cells(grid), IMAGE_LEVEL_COLOR)


def test_device_erasing_configs_show_their_regions(tmp_path, data_root):
    tool = _tool()
    grid = _run(tool, data_root, tmp_path / "dev.png", "--num", "2", "--mode", "ire", "--image-p", "1",
                overrides=["augmentation.erasing.device=true"])
    assert _has_color(_cells(grid), IMAGE_LEVEL_COLOR)


def test_regions_of_dropped_boxes_are_marked_and_colours_follow_the_kept_boxes():
    from detaug.erasing import ErasePlan
    from detaug.vis import DROPPED_COLOR, box_color, draw_sample, remap_dropped

    plan = ErasePlan(np.array([[2, 2, 8, 8], [22, 2, 28, 8]]), np.array([0, 1]), image_size=(20, 40))
    remapped = remap_dropped(plan, np.array([False, True]))  # box 0 dropped, box 1 is now box 0
    out = draw_sample(np.zeros((20, 40, 3), np.uint8), np.array([[20.0, 0, 30, 10]]), [1], remapped, show_labels=False)
    assert tuple(out[2, 2]) == DROPPED_COLOR and tuple(out[2, 22]) == box_color(0)


def test_find_plan_reads_both_front_ends():
    from detaug.erasing import ErasePlan

    tool = _tool()
    plan = ErasePlan.empty((2, 2))
    assert tool.find_plan({"erasing_plan": plan}) is plan
    assert tool.find_plan({"applied_transforms": [("HorizontalFlip", {}), ("BoxAwareRandomErasing", {"plan": plan})]}) is plan
    assert tool.find_plan({}) is None


def test_images_and_annotations_without_a_config(tmp_path, data_root):
    from detaug.data import generate_synthetic

    info = generate_synthetic(data_root, num_train=8, num_test=4)
    tool = _tool()
    for annotations in (info.voc_root / "Annotations", info.coco_annotations["test"]):
        out = tmp_path / f"own-{Path(annotations).stem}.png"
        args = tool.get_args_parser().parse_args(
            ["--images", str(info.image_dir), "--annotations", str(annotations), "--mode", "ore",
             "--object-p", "1", "--num", "3", "--zoom", "1", "--out", str(out)]
        )
        tool.main(args)
        grid = np.asarray(Image.open(out).convert("RGB"))
        assert grid.shape[1] >= 3 * (128 + 4) and not _has_color(_cells(grid), IMAGE_LEVEL_COLOR)
        # object_p=1: every image gets one region per box, and the drawing shows them.
        from detaug.pipeline import build_transforms

        dataset = tool._folder_dataset(args)
        tf = build_transforms(tool._default_config(args), train=True, save_applied_params=True)
        dataset.transforms = tf
        cells, titles, max_boxes, _ = tool.render(dataset, tf, [0, 1, 2], 0, dataset.classes)
        counts = [int(t.rsplit("(", 1)[1].split()[0]) for t in titles]
        boxes = [len(dataset[i][1]["boxes"]) for i in range(3)]
        assert all(c >= 1 for c in counts) and sum(counts) >= sum(boxes) - 1 and max_boxes == max(boxes)



@pytest.mark.parametrize(
    "argv,message",
    [
        ([], "give --config"),
        (["--images", "x"], "go together"),
        (["--config", str(CONFIG), "--images", "a", "--annotations", "b"], "not both"),
        (["--config", str(CONFIG), "--num", "0"], "--num"),
    ],
)
def test_bad_arguments_are_clear_errors(argv, message, capsys):
    tool = _tool()
    with pytest.raises(SystemExit, match=message):
        tool.main(tool.get_args_parser().parse_args(argv))


def test_help_runs():
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "visualize.py"), "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "--compare" in res.stdout
