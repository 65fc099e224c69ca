"""Drawing: the expected pixels carry the expected colours."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from detaug.erasing import ErasePlan
from detaug.vis import IMAGE_LEVEL_COLOR, box_color, default_legend, draw_sample, make_grid


def test_box_outline_and_regions_are_coloured_by_source():
    image = np.zeros((60, 80, 3), np.uint8)
    boxes = np.array([[10.0, 10, 40, 50], [45, 5, 75, 30]])
    plan = ErasePlan(np.array([[0, 52, 30, 60], [15, 20, 25, 30], [50, 10, 60, 20]]), np.array([-1, 0, 1]), image_size=(60, 80))
    out = draw_sample(image, boxes, [1, 2], plan, class_names=["cat", "dog"], show_labels=False)
    assert out.shape == (60, 80, 3) and out.dtype == np.uint8
    assert tuple(out[10, 20]) == box_color(0)  # top edge of box 0
    assert tuple(out[5, 60]) == box_color(1)  # top edge of box 1
    assert tuple(out[20, 15]) == box_color(0)  # corner of the region erased inside box 0
    assert tuple(out[10, 50]) == box_color(1)  # corner of the region erased inside box 1
    assert tuple(out[52, 0]) == IMAGE_LEVEL_COLOR  # image-level region
    assert not out[35, 30].any()  # inside box 0, away from every outline: untouched
    assert not image.any()  # input not modified


def test_labels_are_written():
    image = np.zeros((60, 80, 3), np.uint8)
    boxes = np.array([[10.0, 20, 40, 50]])
    with_text = draw_sample(image, boxes, [1], class_names=["cat"])
    without = draw_sample(image, boxes, [1], class_names=["cat"], show_labels=False)
    assert (with_text[10:20] != without[10:20]).any()


@pytest.mark.parametrize("image", [torch.rand(3, 20, 30), np.random.rand(20, 30).astype(np.float32), np.zeros((20, 30, 1), np.uint8)])
def test_tensor_float_and_gray_inputs(image):
    out = draw_sample(image, np.array([[1.0, 1, 10, 10]]), [1])
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8


def test_grid_size_titles_and_legend():
    cells = [np.full((20, 30, 3), v, np.uint8) for v in (10, 20, 30, 40, 50)]
    grid = make_grid(cells, titles=list("abcde"), ncols=3, pad=2, title_height=12, legend=default_legend(2))
    legend_rows = 16 * 3 + 2  # 3 entries, one per row: a 98 px wide grid has room for one column
    assert grid.shape == (2 * (20 + 12 + 2) + 2 + legend_rows, 3 * (30 + 2) + 2, 3)
    # First cell's pixels sit under its title; the last row's unused cell stays white.
    assert (grid[2 + 12 : 2 + 12 + 20, 2 : 2 + 30] == 10).all()
    assert (grid[2 + 34 + 12 : 2 + 34 + 32, 2 + 2 * 32 : 2 + 2 * 32 + 30] == 255).all()
    assert (grid[: 2 + 12, 2:20] < 255).any()  # a title was written


def test_legend_wraps_to_the_grid_width():
    legend = default_legend(5)  # 6 entries
    wide = make_grid([np.zeros((20, 400, 3), np.uint8)] * 3, ncols=3, pad=2, title_height=0, legend=legend)
    narrow = make_grid([np.zeros((20, 400, 3), np.uint8)], ncols=1, pad=2, title_height=0, legend=legend)
    assert wide.shape[0] - 24 == 16 * 2 + 2  # cells take 2 + 20 + 2 rows; 3 columns of entries
    assert narrow.shape[0] - 24 == 16 * 6 + 2  # one entry per row


def test_grid_needs_cells():
    with pytest.raises(ValueError, match="at least one"):
        make_grid([])
