"""Batched device erasing: correctness on CPU, statistical equivalence with the per-image sampler, CUDA."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from detaug.erasing import (
    BatchedBoxAwareRandomErasing,
    ErasingParams,
    erase_batch,
    regions_to_plans,
    sample_batch_regions,
    sample_plan,
)
from detaug.erasing.batched import pad_boxes

H, W = 60, 80
BOXES = [
    torch.tensor([[5.0, 5.0, 45.0, 40.0], [50.5, 10.25, 78.0, 55.75]]),
    torch.zeros(0, 4),
    torch.tensor([[0.0, 0.0, 80.0, 60.0], [10.0, 30.0, 10.4, 50.0], [-5.0, -5.0, 20.0, 20.0]]),
]
FILLS = [0.0, (0.1, 0.5, 0.9), "random", "random_normal", "random_color", "random_color_normal"]


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _changed(before, after):
    return (before != after).any(dim=1)  # [B, H, W]


def _region_mask(regions, batch, height, width):
    mask = torch.zeros(batch, height, width, dtype=torch.bool)
    for b, _, x1, y1, x2, y2 in regions.tolist():
        mask[b, y1:y2, x1:x2] = True
    return mask


@pytest.mark.parametrize("mode", ["ire", "ore", "i+ore"])
@pytest.mark.parametrize("fill", FILLS)
def test_only_region_pixels_change_and_regions_lie_inside(mode, fill):
    params = ErasingParams(mode=mode, image_p=1.0, object_p=1.0, fill=fill)
    images = torch.full((3, 3, H, W), 0.25)
    out, regions = erase_batch(images, BOXES, params, _gen())
    assert out.shape == images.shape and out.dtype == images.dtype
    assert bool((images == 0.25).all())  # input not mutated
    assert regions.dtype == torch.int64 and regions.shape[1] == 6
    b, src, x1, y1, x2, y2 = regions.T
    assert bool(((0 <= x1) & (x1 < x2) & (x2 <= W) & (0 <= y1) & (y1 < y2) & (y2 <= H)).all())
    for bi, s, *rect in regions.tolist():
        if s >= 0:
            bx1, by1, bx2, by2 = BOXES[bi][s].clamp(min=0).tolist()
            assert bx1 <= rect[0] < rect[2] <= bx2 and by1 <= rect[1] < rect[3] <= by2
    # The degenerate box (under one pixel wide) and the empty image get no ORE region.
    assert not bool(((b == 2) & (src == 1)).any()) and not bool(((b == 1) & (src >= 0)).any())
    if mode != "ire":
        assert bool((src >= 0).any())
    if mode != "ore":
        assert set((b[src == -1]).tolist()) == {0, 1, 2}
    changed = _changed(images, out)
    assert not bool((changed & ~_region_mask(regions, 3, H, W)).any())  # outside untouched


def test_fills_values():
    params = ErasingParams(mode="ire", image_p=1.0, fill=(1.0, 2.0, 3.0))
    out, regions = erase_batch(torch.zeros(2, 3, H, W), None, params, _gen())
    mask = _region_mask(regions, 2, H, W)
    for c, v in enumerate((1.0, 2.0, 3.0)):
        assert bool((out[:, c][mask] == v).all()) and bool((out[:, c][~mask] == 0).all())
    # uint8 random: values over [0, 255]; per-region colour: one colour per region.
    params = ErasingParams(mode="ire", image_p=1.0, scale=(0.3, 0.4), fill="random")
    out, regions = erase_batch(torch.zeros(4, 3, H, W, dtype=torch.uint8), None, params, _gen())
    vals = out[_region_mask(regions, 4, H, W)[:, None].expand_as(out)]
    assert vals.dtype == torch.uint8 and int(vals.max()) > 240 and abs(vals.float().mean().item() - 127.5) < 5
    params = ErasingParams(mode="ire", image_p=1.0, fill="random_color")
    out, regions = erase_batch(torch.zeros(2, 3, H, W), None, params, _gen())
    for b, _, x1, y1, x2, y2 in regions.tolist():
        patch = out[b, :, y1:y2, x1:x2].reshape(3, -1)
        assert bool((patch == patch[:, :1]).all()) and bool((patch > 0).any())
    with pytest.raises(TypeError, match="floating-point"):
        erase_batch(torch.zeros(1, 3, H, W, dtype=torch.uint8), None, ErasingParams(mode="ire", image_p=1.0, fill="random_normal"))


def test_later_region_colour_wins_on_overlap():
    params = ErasingParams(mode="i+ore", image_p=1.0, object_p=1.0, scale=(1.0, 1.0), ratio=(0.75, 0.75), fill="random_color")
    out, regions = erase_batch(torch.zeros(1, 3, H, W), [torch.tensor([[0.0, 0.0, 40.0, 30.0]])], params, _gen())
    assert regions[:, 1].tolist() == [-1, 0]  # the whole image, then the whole box
    box_colour, image_colour = out[0, :, 0, 0], out[0, :, H - 1, W - 1]
    assert not torch.equal(box_colour, image_colour)
    assert bool((out[0, :, :30, :40] == box_colour[:, None, None]).all())


def test_p_zero_and_nothing_to_erase_are_identity():
    images = torch.rand(2, 3, H, W)
    for params, p in ((ErasingParams(mode="i+ore", image_p=1.0, object_p=1.0), 0.0), (ErasingParams(mode="i+ore", image_p=0.0, object_p=0.0), 1.0)):
        out, regions = erase_batch(images, BOXES[:2], params, _gen(), p=p)
        assert torch.equal(out, images) and regions.shape == (0, 6)
    out, regions = erase_batch(images, None, ErasingParams(mode="ore", object_p=1.0), _gen())
    assert torch.equal(out, images) and len(regions) == 0


def test_seeded_generator_reproduces_and_inplace_writes_input():
    params = ErasingParams(mode="i+ore", fill="random")
    images = torch.rand(3, 3, H, W)
    a, ra = erase_batch(images, BOXES, params, _gen(7))
    b, rb = erase_batch(images, BOXES, params, _gen(7))
    c, rc = erase_batch(images, BOXES, params, _gen(8))
    assert torch.equal(a, b) and torch.equal(ra, rb)
    assert not (torch.equal(a, c) and torch.equal(ra, rc))
    torch.manual_seed(3)
    d, _ = erase_batch(images, BOXES, params)
    torch.manual_seed(3)
    e, _ = erase_batch(images, BOXES, params)
    assert torch.equal(d, e)
    target = images.clone()
    out, _ = erase_batch(target, BOXES, params, _gen(7), inplace=True)
    assert out.data_ptr() == target.data_ptr() and torch.equal(target, a)


def test_padded_batch_keeps_regions_inside_true_sizes():
    sizes = [(30, 40), (60, 80), (45, 20)]
    boxes = [torch.tensor([[0.0, 0.0, 80.0, 60.0]])] * 3  # larger than two of the images
    params = ErasingParams(mode="i+ore", image_p=1.0, object_p=1.0, scale=(0.1, 0.4), fill=0.0)
    images = torch.ones(3, 1, H, W)
    for seed in range(20):
        out, regions = erase_batch(images, boxes, params, _gen(seed), image_sizes=sizes)
        for b, _, _x1, _y1, x2, y2 in regions.tolist():
            assert x2 <= sizes[b][1] and y2 <= sizes[b][0]
        for b, (h, w) in enumerate(sizes):
            assert bool((out[b, :, h:, :] == 1).all()) and bool((out[b, :, :, w:] == 1).all())
    with pytest.raises(ValueError, match="image_sizes"):
        erase_batch(images, None, params, image_sizes=[(61, 80)] * 3)


def test_bad_inputs_raise():
    params = ErasingParams()
    with pytest.raises(ValueError, match="B, C, H, W"):
        erase_batch(torch.zeros(3, H, W), None, params)
    with pytest.raises(ValueError, match="boxes for 2 images"):
        erase_batch(torch.zeros(2, 3, H, W), BOXES, params)
    with pytest.raises(ValueError, match="fill_mask"):
        BatchedBoxAwareRandomErasing.from_params(ErasingParams(fill_mask=0))
    with pytest.raises(ValueError, match="scale"):
        BatchedBoxAwareRandomErasing(scale=(0.5, 0.1))


def test_module_on_lists_and_targets():
    params = ErasingParams(mode="i+ore", image_p=1.0, object_p=1.0, fill=0.0)
    module = BatchedBoxAwareRandomErasing.from_params(params, seed=0)
    images = [torch.ones(3, 40, 50), torch.ones(3, 60, 30)]
    targets = [{"boxes": torch.tensor([[5.0, 5.0, 45.0, 35.0]]), "labels": torch.tensor([2])},
               {"boxes": torch.tensor([[0.0, 10.0, 30.0, 50.0]]), "labels": torch.tensor([4])}]
    snapshot = [{k: v.clone() for k, v in t.items()} for t in targets]
    out, out_targets = module(images, targets)
    assert out_targets is targets
    assert all(torch.equal(t[k], s[k]) for t, s in zip(targets, snapshot) for k in t)
    assert [tuple(x.shape) for x in out] == [(3, 40, 50), (3, 60, 30)]
    assert all(bool((x == 1).all()) for x in images)  # inputs not mutated
    regions = module.last_regions
    assert sorted(regions[:, 1].tolist()) == [-1, -1, 0, 0]
    plans = regions_to_plans(regions, [(40, 50), (60, 30)], fill=0.0)
    for x, plan in zip(out, plans):
        for x1, y1, x2, y2 in plan.rects:
            assert bool((x[:, y1:y2, x1:x2] == 0).all())
    # A batch tensor, boxes as a list, and the module pickles (DataLoader / DDP).
    batch = torch.ones(2, 3, 40, 50)
    assert module(batch, [t["boxes"] for t in targets])[0].shape == batch.shape
    clone = pickle.loads(pickle.dumps(module))
    assert "mode" not in repr(clone) and "seed=0" in repr(clone)


def test_tv_bounding_boxes_in_other_formats_are_read():
    from torchvision import tv_tensors

    boxes = tv_tensors.BoundingBoxes([[10, 10, 20, 20]], format="XYWH", canvas_size=(H, W))  # xyxy 10,10,30,30
    module = BatchedBoxAwareRandomErasing(mode="ore", object_p=1.0, fill=0.0, seed=1)
    for _ in range(20):
        module(torch.ones(1, 3, H, W), [{"boxes": boxes}])
        _, _, x1, y1, x2, y2 = module.last_regions[0].tolist()
        assert 10 <= x1 < x2 <= 30 and 10 <= y1 < y2 <= 30


# ----------------------------------------------------------------- statistics vs sample_plan
def _batched_stats(params, boxes, n, seed=0):
    sizes = torch.tensor([[200, 300]] * n)
    padded, exists = pad_boxes([torch.as_tensor(boxes, dtype=torch.float32)] * n, n, "cpu")
    rects, source, active = sample_batch_regions(sizes, padded, exists, params, _gen(seed))
    regions = torch.cat([source[..., None], rects], dim=2)[active].numpy()
    image_freq = active[:, : (1 if params.uses_image else 0)].any(dim=1).float().mean().item() if params.uses_image else 0.0
    box_freq = [(active & (source == k)).any(dim=1).float().mean().item() for k in range(len(boxes))]
    return regions, image_freq, box_freq


def _plan_stats(params, boxes, n, seed=0):
    rng = np.random.default_rng(seed)
    plans = [sample_plan((200, 300), boxes, params, rng) for _ in range(n)]
    regions = np.concatenate([np.concatenate([p.source[:, None], p.rects], axis=1) for p in plans])
    image_freq = np.mean([(p.source == -1).any() for p in plans])
    box_freq = [np.mean([(p.source == k).any() for p in plans]) for k in range(len(boxes))]
    return regions, image_freq, box_freq


def _ks(a, b):
    grid = np.sort(np.concatenate([a, b]))
    cdf_a = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return np.abs(cdf_a - cdf_b).max()


@pytest.mark.parametrize("ratio_sampling", ["uniform", "log"])
def test_distributions_match_the_per_image_sampler(ratio_sampling):
    boxes = np.array([[10.0, 10.0, 110.0, 90.0], [150.5, 30.25, 290.0, 190.75], [5.0, 150.0, 25.0, 158.0]])
    params = ErasingParams(mode="i+ore", image_p=0.5, object_p=0.7, ratio_sampling=ratio_sampling)
    n = 3000
    batched, b_img, b_box = _batched_stats(params, boxes, n)
    single, s_img, s_box = _plan_stats(params, boxes, n)
    # Erase frequency: binomial sd <= 0.009 for 3000 draws; both sides vary, allow ~4 sd of the difference.
    assert abs(b_img - s_img) < 0.05 and abs(b_img - 0.5) < 0.04
    assert np.all(np.abs(np.array(b_box) - np.array(s_box)) < 0.05)
    assert abs(b_box[0] - 0.7) < 0.04  # a large box: almost always a fit
    full = np.array([300 * 200] + [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes])
    for source in (-1, 0, 1, 2):
        a, s = batched[batched[:, 0] == source], single[single[:, 0] == source]
        # The thin 20x8 box fails often: its success rate must match too.
        assert abs(len(a) - len(s)) < 0.1 * max(len(s), 50), (source, len(a), len(s))
        wa, ha = a[:, 3] - a[:, 1], a[:, 4] - a[:, 2]
        ws, hs = s[:, 3] - s[:, 1], s[:, 4] - s[:, 2]
        area_a, area_s = wa * ha / full[source + 1], ws * hs / full[source + 1]
        ratio_a, ratio_s = np.log(ha / wa), np.log(hs / ws)
        # KS critical value at alpha = 0.001 for n ~ 1000..3000 per side is about 0.06..0.09.
        limit = 1.95 * np.sqrt(2.0 / min(len(a), len(s)))
        assert _ks(area_a, area_s) < limit, ("area", source)
        assert _ks(ratio_a, ratio_s) < limit, ("ratio", source)
        # Position: left edge relative to the area's free range, uniform in both.
        assert abs(np.median(a[:, 1]) - np.median(s[:, 1])) < 0.1 * W * 3 + 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_semantics():
    device = torch.device("cuda")
    params = ErasingParams(mode="i+ore", image_p=1.0, object_p=1.0, fill="random")
    images = torch.rand(3, 3, H, W, device=device)
    boxes = [b.to(device) for b in BOXES]
    g = torch.Generator(device=device).manual_seed(0)
    out, regions = erase_batch(images, boxes, params, g, image_sizes=[(H, W), (50, 70), (H, W)])
    assert out.device.type == "cuda" and regions.device.type == "cuda"
    changed = _changed(images, out).cpu()
    assert not bool((changed & ~_region_mask(regions.cpu(), 3, H, W)).any())
    module = BatchedBoxAwareRandomErasing(seed=0).to(device)
    a = module(images.to(torch.uint8), boxes)
    assert a.device.type == "cuda"


def test_fill_scale_maps_uint8_constants_to_float_batches():
    module = BatchedBoxAwareRandomErasing(mode="ire", image_p=1.0, fill=(255, 0, 51), fill_scale=1 / 255, seed=0)
    out = module(torch.full((1, 3, H, W), 0.5))
    _, _, x1, y1, _x2, _y2 = module.last_regions[0].tolist()
    assert torch.allclose(out[0, :, y1, x1], torch.tensor([1.0, 0.0, 0.2]))
    assert "fill_scale" in repr(module)
    with pytest.raises(ValueError, match="fill_scale"):
        BatchedBoxAwareRandomErasing(fill_scale=float("nan"))


# ----------------------------------------------------------------- the per-image sampler's two paths
@pytest.mark.parametrize("kwargs", [dict(mode="i+ore"), dict(mode="ire", image_p=1.0, count=(1, 3)),
                                    dict(mode="ore", object_p=1.0, max_attempts=3),
                                    dict(mode="i+ore", image_p=1.0, object_p=1.0, scale=(0.3, 0.9))])
def test_scalar_fast_path_equals_the_vectorised_path(monkeypatch, kwargs):
    """With few areas sample_plan runs the first round on Python floats: same stream, same plans."""
    from detaug.erasing import sampling

    params = ErasingParams(**kwargs)
    boxes = np.array([[10.0, 20.0, 110.0, 100.0], [150.5, 30.25, 290.0, 190.75], [5, 150, 45, 195],
                      [3.0, 3.0, 3.5, 8.0], [np.nan, 0, 5, 5], [-20.0, -10.0, 30.0, 4.0], [0, 0, 300, 200]])
    fast = [sample_plan((200, 300), boxes, params, seed) for seed in range(300)]
    monkeypatch.setattr(sampling, "_SCALAR_MAX", 0)
    slow = [sample_plan((200, 300), boxes, params, seed) for seed in range(300)]
    assert all(a == b for a, b in zip(fast, slow))
    assert sum(len(p) for p in fast) > 300


def test_non_contiguous_in_place_and_integer_constants():
    params = ErasingParams(mode="ire", image_p=1.0, fill=(1, 2, 3))
    images = torch.zeros(2, H, W, 3).permute(0, 3, 1, 2)  # channels-last memory: not contiguous
    out, regions = erase_batch(images, None, params, _gen(), inplace=True)
    assert out.data_ptr() == images.data_ptr()
    area = int(((regions[:, 4] - regions[:, 2]) * (regions[:, 5] - regions[:, 3])).sum())
    assert [int((images[:, c] == c + 1).sum()) for c in range(3)] == [area] * 3
    out, _ = erase_batch(torch.zeros(2, 3, H, W, dtype=torch.uint8), None, ErasingParams(mode="ire", image_p=1.0, fill=300.0), _gen())
    assert int(out.max()) == 255  # clipped to the dtype's range, as the per-image kernels
