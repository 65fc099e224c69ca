"""Drawing: the expected pixels carry the expected colours, and labels and outlines are readable."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from detaug.erasing import ErasePlan
from detaug.vis import (
    DROPPED_COLOR,
    EDGE_COLOR,
    IMAGE_LEVEL_COLOR,
    PALETTE,
    box_color,
    contrast_ratio,
    default_legend,
    draw_sample,
    make_grid,
)

GREY = 128  # no palette colour, no edge colour


def _grey(h=60, w=80):
    return np.full((h, w, 3), GREY, np.uint8)


def _is(image, color):
    return (image == np.array(color, np.uint8)).all(axis=-1)


def test_box_outline_and_regions_are_coloured_by_source():
    image = _grey()
    boxes = np.array([[10.0, 10, 40, 50], [45, 5, 75, 30]])
    plan = ErasePlan(np.array([[0, 52, 30, 60], [15, 20, 25, 30], [50, 10, 60, 20]]), np.array([-1, 0, 1]), image_size=(60, 80))
    out = draw_sample(image, boxes, [1, 2], plan, class_names=["cat", "dog"], show_labels=False)
    assert out.shape == (60, 80, 3) and out.dtype == np.uint8
    assert tuple(out[10, 20]) == box_color(0)  # top edge of box 0
    assert tuple(out[5, 60]) == box_color(1)  # top edge of box 1
    assert tuple(out[20, 15]) == box_color(0)  # corner of the region erased inside box 0
    assert tuple(out[10, 50]) == box_color(1)  # corner of the region erased inside box 1
    assert tuple(out[52, 0]) == IMAGE_LEVEL_COLOR  # image-level region
    assert (out[35, 30] == GREY).all()  # inside box 0, away from every outline: untouched
    assert (image == GREY).all()  # input not modified


# -- outlines visible on noise ----------------------------------------------------------------


def test_wcag_contrast_matches_published_values():
    # WCAG 2.x reference values: black on white 21:1; #777777 on white 4.48:1 (just under AA).
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast_ratio((0x77,) * 3, (255, 255, 255)) == pytest.approx(4.48, abs=0.01)


def test_every_outline_colour_stands_out_from_its_dark_edge():
    for color in (*PALETTE, IMAGE_LEVEL_COLOR):
        assert contrast_ratio(color, EDGE_COLOR) >= 4.5, color  # WCAG AA for graphics and text


@pytest.mark.parametrize("line_width", [1, 2])
def test_dashed_region_on_noise_is_framed_by_a_dark_edge(line_width):
    noise = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    x1, y1, x2, y2 = 10, 8, 40, 30  # the region covers rows 8..29, columns 10..39
    plan = ErasePlan(np.array([[x1, y1, x2, y2]]), np.array([-1]), image_size=(40, 50))
    out = draw_sample(noise, plan=plan, line_width=line_width)
    w = line_width
    # Just outside and just inside the outline: solid dark, all the way round.
    for ring in (
        (y1 - 1, slice(x1 - 1, x2 + 1)), (y2, slice(x1 - 1, x2 + 1)),  # rows above and below
        (slice(y1 - 1, y2 + 1), x1 - 1), (slice(y1 - 1, y2 + 1), x2),  # columns left and right
        (y1 + w, slice(x1 + w, x2 - w)), (slice(y1 + w, y2 - w), x1 + w),  # inner edge
    ):
        assert _is(out[ring], EDGE_COLOR).all(), ring
    # On the outline itself: only the region colour (dashes) and the dark edge (gaps), no noise.
    outline = np.concatenate([out[y1 : y1 + w, x1:x2].reshape(-1, 3), out[y1:y2, x1 : x1 + w].reshape(-1, 3)])
    dash, gap = _is(outline, IMAGE_LEVEL_COLOR), _is(outline, EDGE_COLOR)
    assert (dash | gap).all() and 0.3 < dash.mean() < 0.7
    assert (out[y1 + w + 2 : y2 - w - 2, x1 + w + 2 : x2 - w - 2] == noise[y1 + w + 2 : y2 - w - 2, x1 + w + 2 : x2 - w - 2]).all()


# -- labels -----------------------------------------------------------------------------------


def _label_patch(with_label, without_label, color):
    """Bounding box (x1, y1, x2, y2 inclusive) of the pixels the label changed to ``color``."""
    changed = (with_label != without_label).any(axis=-1) & _is(with_label, color)
    ys, xs = np.nonzero(changed)
    return xs.min(), ys.min(), xs.max(), ys.max()


def test_label_is_dark_text_on_a_patch_of_the_box_colour_readable_at_the_saved_size():
    image, boxes = _grey(200, 300), np.array([[50.0, 60, 200, 150]])
    with_label = draw_sample(image, boxes, ["Hg"])
    without = draw_sample(image, boxes, ["Hg"], show_labels=False)
    x1, y1, x2, y2 = _label_patch(with_label, without, box_color(0))
    assert y2 < 60 <= y1 + 20  # above the box, touching it
    patch = with_label[y1 : y2 + 1, x1 : x2 + 1]
    background = _is(patch, box_color(0))
    assert background.mean() > 0.5  # a filled patch, not an outline
    # The text: the pixels of the patch that differ from its colour, darkest first.
    text = patch[~background]
    darkest = text[text.sum(axis=1).argmin()]
    assert contrast_ratio(darkest, box_color(0)) >= 7.0  # WCAG AAA for normal text
    # "Hg" spans cap height and descender; 10 px of ink at the saved size (the old 7 px
    # bitmap labels had about 7), on a patch at least 14 px tall.
    ink_rows = np.flatnonzero((contrast_per_pixel(patch, box_color(0)) >= 3.0).any(axis=1))
    assert ink_rows.max() - ink_rows.min() + 1 >= 10 and y2 - y1 + 1 >= 14


def contrast_per_pixel(pixels, color):
    return np.array([[contrast_ratio(p, color) for p in row] for row in pixels])


@pytest.mark.parametrize("color_index", range(len(PALETTE)))
def test_label_text_contrasts_with_every_palette_colour(color_index):
    image = _grey(200, 300)
    boxes = np.array([[10.0 + 30 * k, 60, 25 + 30 * k, 150] for k in range(color_index + 1)])
    labels = ["W"] * len(boxes)
    with_label = draw_sample(image, boxes, labels)
    without = draw_sample(image, boxes, labels, show_labels=False)
    x1, y1, x2, y2 = _label_patch(with_label, without, box_color(color_index))
    patch = with_label[y1 : y2 + 1, x1 : x2 + 1]
    assert contrast_per_pixel(patch, box_color(color_index)).max() >= 4.5


def test_labels_of_boxes_with_the_same_corner_do_not_overlap():
    image, boxes = _grey(200, 300), np.array([[20.0, 40, 160, 120], [20, 40, 120, 100], [20, 40, 90, 80]])
    labels = ["cabinetry", "countertop", "sink"]
    with_label = draw_sample(image, boxes, labels)
    without = draw_sample(image, boxes, labels, show_labels=False)
    patches = [_label_patch(with_label, without, box_color(k)) for k in range(3)]
    for i in range(3):
        for j in range(i + 1, 3):
            a, b = patches[i], patches[j]
            assert a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1], (labels[i], labels[j])


def test_string_labels_draw_the_same_text_as_int_labels_through_class_names():
    image, boxes = _grey(120, 160), np.array([[10.0, 30, 70, 90], [80, 40, 150, 110]])
    names = ["circle", "star"]
    by_int = draw_sample(image, boxes, [1, 2], class_names=names)
    assert (draw_sample(image, boxes, ["circle", "star"]) == by_int).all()
    assert (draw_sample(image, boxes, np.array(["circle", "star"])) == by_int).all()  # numpy str_
    assert (draw_sample(image, boxes, torch.tensor([1, 2]), class_names=names) == by_int).all()
    assert (draw_sample(image, boxes, ["star", "circle"]) != by_int).any()  # the text is really drawn


def test_int_labels_without_names_are_written_as_numbers():
    image, boxes = _grey(120, 160), np.array([[10.0, 30, 70, 90]])
    assert (draw_sample(image, boxes, [3]) == draw_sample(image, boxes, ["3"])).all()


@pytest.mark.parametrize("image", [torch.rand(3, 20, 30), np.random.rand(20, 30).astype(np.float32), np.zeros((20, 30, 1), np.uint8)])
def test_tensor_float_and_gray_inputs(image):
    out = draw_sample(image, np.array([[1.0, 1, 10, 10]]), [1])
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8


def test_zoom_scales_the_drawing_and_rejects_non_positive_values():
    assert draw_sample(_grey(20, 30), zoom=2).shape == (40, 60, 3)
    assert draw_sample(np.zeros((40, 60, 3), np.uint8), zoom=0.5).shape == (20, 30, 3)
    with pytest.raises(ValueError, match="zoom"):
        draw_sample(_grey(), zoom=0)


# -- masks ------------------------------------------------------------------------------------


def _disk(h, w, cy, cx, r):
    yy, xx = np.mgrid[:h, :w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2


def _border(mask):
    """Mask pixels with a 4-neighbour outside the mask (hand-written reference)."""
    p = np.pad(mask, 1)
    inside = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return mask & ~inside


@pytest.mark.parametrize("zoom", [1, 3])
def test_mask_outline_and_its_erased_part_are_drawn_in_the_box_colour(zoom):
    h, w = 60, 80
    mask = _disk(h, w, 30, 40, 15)
    region = (15, 20, 35, 45)  # x1, y1, x2, y2: covers the disk's left part and some background
    plan = ErasePlan(np.array([region]), np.array([0]), image_size=(h, w))
    image = _grey(h, w)
    out = draw_sample(image, plan=plan, masks=mask[None].astype(np.uint8), zoom=zoom, line_width=1)
    big = np.kron(mask, np.ones((zoom, zoom), bool))  # the mask at the drawn size
    covered = np.zeros((h, w), bool)
    covered[region[1] : region[3], region[0] : region[2]] = True
    covered = np.kron(covered, np.ones((zoom, zoom), bool))
    # Away from the region's outline (2 px and its edges), pixels keep a meaning each:
    far = np.ones_like(covered)
    x1, y1, x2, y2 = (v * zoom for v in region)
    far[y1 - 2 : y2 + 2, x1 - 2 : x2 + 2] = False
    far[y1 + 3 : y2 - 3, x1 + 3 : x2 - 3] = True
    color = np.array(box_color(0))
    assert _is(out[_border(big) & far], box_color(0)).all()  # outline in the box colour
    erased = big & covered & ~_border(big) & far
    unerased = big & ~covered & ~_border(big) & far
    assert erased.sum() > 50 and unerased.sum() > 50
    before = np.abs(image[0, 0].astype(int) - color).sum()
    assert (np.abs(out[erased].astype(int) - color).sum(axis=1) < before // 2).all()  # tinted towards it
    assert (out[unerased] == GREY).all() and (out[~big & far & ~covered] == GREY).all()


def test_masks_accept_torch_and_reject_wrong_shapes():
    mask = torch.zeros(1, 20, 30, dtype=torch.uint8)
    mask[0, 5:15, 5:15] = 1
    out = draw_sample(_grey(20, 30), np.array([[5.0, 5, 15, 15]]), masks=mask, show_labels=False)
    assert tuple(out[10, 14]) == box_color(0)  # the mask's right border column
    with pytest.raises(ValueError, match="masks"):
        draw_sample(_grey(20, 30), masks=np.zeros((20, 30), np.uint8))


# -- grids ------------------------------------------------------------------------------------


def test_grid_size_titles_and_legend():
    cells = [np.full((20, 30, 3), v, np.uint8) for v in (10, 20, 30, 40, 50)]
    grid = make_grid(cells, titles=list("abcde"), ncols=3, pad=2, title_height=12, legend=default_legend(2))
    legend_rows = 18 * 2 + 2  # 2 entries of 18 px, one per row: a 98 px wide grid has room for one column
    assert grid.shape == (2 * (20 + 12 + 2) + 2 + legend_rows, 3 * (30 + 2) + 2, 3)
    # First cell's pixels sit under its title; the last row's unused cell stays white.
    assert (grid[2 + 12 : 2 + 12 + 20, 2 : 2 + 30] == 10).all()
    assert (grid[2 + 34 + 12 : 2 + 34 + 32, 2 + 2 * 32 : 2 + 2 * 32 + 30] == 255).all()
    assert (grid[: 2 + 12, 2:20] < 255).any()  # a title was written


def test_caption_takes_one_line_below_the_cells():
    cells = [np.zeros((20, 400, 3), np.uint8)]
    plain = make_grid(cells, pad=2, title_height=0)
    captioned = make_grid(cells, pad=2, title_height=0, caption="same seed")
    assert captioned.shape[0] == plain.shape[0] + 18 + 2
    assert (captioned[plain.shape[0] :] < 255).any()


def test_legend_wraps_to_the_grid_width():
    legend = [(f"entry {k}", (0, 0, 0)) for k in range(6)]
    wide = make_grid([np.zeros((20, 400, 3), np.uint8)] * 3, ncols=3, pad=2, title_height=0, legend=legend)
    narrow = make_grid([np.zeros((20, 400, 3), np.uint8)], ncols=1, pad=2, title_height=0, legend=legend)
    assert wide.shape[0] - 24 == 18 * 2 + 2  # cells take 2 + 20 + 2 rows; 3 columns of entries
    assert narrow.shape[0] - 24 == 18 * 6 + 2  # one entry per row


def test_legend_shows_each_box_colour_in_use_once():
    legend = default_legend(3, dropped=True)
    assert [color for _, color in legend] == [IMAGE_LEVEL_COLOR, PALETTE[:3], DROPPED_COLOR]
    assert len(default_legend(20)[1][1]) == len(PALETTE)  # colours repeat after the palette
    grid = make_grid([np.full((20, 400, 3), 255, np.uint8)], pad=2, title_height=0, legend=legend)
    for color in PALETTE[:3]:
        assert _is(grid[24:], color).any()  # a stripe of each


def test_legend_mentions_masks_only_when_drawn():
    assert not any("mask" in text for text, _ in default_legend(2))
    assert "mask" in default_legend(2, masks=True)[1][0]


def test_grid_needs_cells():
    with pytest.raises(ValueError, match="at least one"):
        make_grid([])


def test_rows_and_columns_fit_their_drawings_unscaled():
    small, wide, tall = np.full((10, 20, 3), 7, np.uint8), np.full((10, 40, 3), 8, np.uint8), np.full((30, 20, 3), 9, np.uint8)
    grid = make_grid([small, wide, tall, small], ncols=2, pad=0, title_height=0)
    assert grid.shape == (10 + 30, 20 + 40, 3)  # column widths 20 and 40, row heights 10 and 30
    assert (grid[:10, :20] == 7).all() and (grid[:10, 20:] == 8).all() and (grid[10:, :20] == 9).all()
    assert (grid[20:30, 30:50] == 7).all() and (grid[10:20, 20:] == 255).all()  # centred, white around


def test_a_cell_size_reduces_larger_drawings_keeping_their_aspect_ratio():
    fitted = make_grid([np.full((30, 40, 3), 9, np.uint8)], pad=0, title_height=0, cell_size=(15, 40))
    assert fitted.shape == (15, 40, 3)
    assert (fitted[:, 10:30] == 9).all() and (fitted[:, :10] == 255).all()  # 30x40 -> 15x20


def test_a_region_that_erased_only_its_own_object_does_not_tint_a_neighbour_under_it():
    # erase_within="mask": object 0's region erases only object 0's pixels; object 1's mask
    # lies under the same rectangle but was not erased, so it gets no tint
    h, w = 40, 60
    masks = np.zeros((2, h, w), bool)
    masks[0, 10:30, 5:25] = True
    masks[1, 10:30, 25:45] = True
    region = (15, 12, 35, 28)  # over both objects
    plan = ErasePlan(np.array([region]), np.array([0]), image_size=(h, w),
                     region_masks=(masks[0, 12:28, 15:35],))
    out = draw_sample(_grey(h, w), plan=plan, masks=masks.astype(np.uint8), line_width=1, show_labels=False)
    assert (out[20, 20] != GREY).any()  # object 0, under the region: tinted
    assert (out[20, 30] == GREY).all()  # object 1, under the region but not erased: untouched
