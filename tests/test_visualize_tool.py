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
    spec = importlib.util.spec_from_file_location("visualize_tool", ROOT / "tools" / "visualize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp("vis-data")


def _run(tool, data_root, out, *extra):
    small = [f"data.root={data_root}", "data.synthetic_num_train=8", "data.synthetic_num_test=4"]
    args = tool.get_args_parser().parse_args(["--config", str(CONFIG), "--out", str(out), "--zoom", "1", "--set", *small, *extra])
    tool.main(args)
    return np.asarray(Image.open(out).convert("RGB"))


def _has_color(image, color):
    return bool((image == np.array(color, np.uint8)).all(axis=2).any())


def test_grid_of_the_training_pipeline_with_image_level_regions(tmp_path, data_root):
    tool = _tool()
    grid = _run(tool, data_root, tmp_path / "ire.png", "--num", "4", "--ncols", "2", "--mode", "ire", "--image-p", "1")
    # 2 x 2 cells of 128-192 px synthetic images, 4 px padding, 14 px titles, a legend below.
    assert 2 * (128 + 4) + 4 <= grid.shape[1] <= 2 * (192 + 4) + 4
    assert grid.shape[0] >= 2 * (128 + 14 + 4) + 4
    assert _has_color(grid, IMAGE_LEVEL_COLOR)


def test_baseline_draws_no_erased_region(tmp_path, data_root):
    tool = _tool()
    grid = _run(tool, data_root, tmp_path / "none.png", "--num", "4", "--mode", "none")
    body = grid[: grid.shape[0] - 40]  # the legend (bottom rows) shows every colour
    assert not _has_color(body, IMAGE_LEVEL_COLOR)


def test_compare_lays_out_four_modes_per_image(tmp_path, data_root):
    tool = _tool()
    grid = _run(tool, data_root, tmp_path / "cmp.png", "--num", "2", "--compare", "--image-p", "1")
    assert 4 * (128 + 4) + 4 <= grid.shape[1] <= 4 * (192 + 4) + 4
    assert grid.shape[0] >= 2 * (128 + 14 + 4) + 4
    assert _has_color(grid, IMAGE_LEVEL_COLOR)


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
        assert grid.shape[1] >= 3 * (128 + 4) and not _has_color(grid[: grid.shape[0] - 40], IMAGE_LEVEL_COLOR)


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
