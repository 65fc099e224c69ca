"""Batched erasing on the device: the per-image core applied to a batch, and its nn.Module front-end."""

import numpy as np
import pytest
import torch
from torchvision import tv_tensors

from detaug import BatchedBoxAwareRandomErasing
from detaug.erasing import (
    ErasePlan,
    ErasingParams,
    erase_batch,
    erase_tensor,
    plans_to_regions,
    regions_to_plans,
)

H, W = 48, 64
BOXES = [torch.tensor([[4.0, 6.0, 40.0, 30.0], [30.0, 20.0, 60.0, 44.0]]), torch.zeros(0, 4), torch.tensor([[0.0, 0.0, 20.0, 20.0]])]
ALWAYS = dict(image_p=1.0, object_p=1.0)


def _batch(dtype=torch.float32, n=3):
    g = torch.Generator().manual_seed(1)
    images = torch.rand(n, 3, H, W, generator=g)
    return (images * 255).to(torch.uint8) if dtype == torch.uint8 else images.to(dtype)


def _covered(plan, h=H, w=W):
    covered = torch.zeros(h, w, dtype=torch.bool)
    for x1, y1, x2, y2 in plan.rects.tolist():
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        covered[y1:y2, x1:x2] = True
    return covered


@pytest.mark.parametrize("mode", ["ire", "ore", "i+ore"])
@pytest.mark.parametrize("fill", ["random", "random_normal", "random_color", 0.25, (0.1, 0.2, 0.3)])
def test_batch_erases_exactly_its_plans_regions(mode, fill):
    images = torch.full((3, 3, H, W), -1.0)  # no fill gives -1: every erased pixel shows
    params = ErasingParams(mode=mode, fill=fill, **ALWAYS)
    out, plans = erase_batch(images, BOXES, params, generator=torch.Generator().manual_seed(0))
    assert len(plans) == len(images) and all(len(plan) for plan in plans[:1])
    for image, plan, result in zip(images, plans, out):
        assert torch.equal((result != -1).all(dim=0), _covered(plan))
        assert torch.equal((result != -1).any(dim=0), _covered(plan))  # every channel of a pixel
        if not isinstance(fill, str):  # a constant: the same pixels as the plan replayed alone
            torch.testing.assert_close(result, erase_tensor(image, plan), rtol=0, atol=0)
        if fill == "random_color":  # one colour per region; where regions overlap, the later one's
            for k in range(len(plan)):
                later = ErasePlan(plan.rects[k + 1:], plan.source[k + 1:], image_size=(H, W))
                mine = _covered(ErasePlan(plan.rects[k:k + 1], plan.source[k:k + 1], image_size=(H, W))) & ~_covered(later)
                if mine.any():
                    assert torch.unique(result[:, mine], dim=1).shape[1] == 1
    sources = [plan.source.tolist() for plan in plans]
    if mode != "ire":
        assert sources[0][-2:] == [0, 1] and sources[2][-1:] == [0]


def test_random_values_span_the_dtypes_range_in_every_region():
    params = ErasingParams(mode="i+ore", fill="random", **ALWAYS)
    out, plans = erase_batch(torch.zeros(3, 3, H, W, dtype=torch.uint8), BOXES, params,
                             generator=torch.Generator().manual_seed(3))
    values = torch.cat([out[b][:, _covered(plan)].reshape(-1) for b, plan in enumerate(plans)])
    assert values.numel() > 2000 and int(values.max()) > 250 and int(values.min()) < 5
    assert abs(float(values.float().mean()) - 127.5) < 8


def test_mask_restricted_regions_erase_only_the_objects_pixels():
    mask = torch.zeros(1, H, W, dtype=torch.bool)
    mask[0, 10:30, 10:30] = True
    params = ErasingParams(mode="ore", object_p=1.0, erase_within="mask", fill=0.5)
    out, plans = erase_batch(torch.zeros(1, 3, H, W), [torch.tensor([[0.0, 0.0, 40.0, 40.0]])], params,
                             generator=torch.Generator().manual_seed(0), masks=[mask])
    erased = out[0, 0] == 0.5
    assert erased.any() and torch.equal(erased, _covered(plans[0]) & mask[0])


def test_the_number_of_device_operations_does_not_grow_with_the_regions():
    from detaug.erasing.batched import write_regions
    from detaug.erasing.sampling import sample_plans

    def operations(n_images, n_boxes, fill):
        params = ErasingParams(mode="i+ore", fill=fill, **ALWAYS)
        boxes = [np.array([[2.0 + k, 3.0, 40.0, 40.0 + k % 5] for k in range(n_boxes)])] * n_images
        plans = sample_plans([(H, W)] * n_images, boxes, params, np.random.default_rng(0))
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            write_regions(torch.zeros(n_images, 3, H, W), plans, seed=0)
        return sum(1 for e in prof.events() if e.name.startswith("aten::") and getattr(e, "cpu_parent", None) is None)

    for fill in ("random", "random_color", 0.5):
        assert operations(1, 1, fill) == operations(8, 10, fill), fill


def test_seeds_reproduce_and_inplace_writes_the_input():
    params = ErasingParams(**ALWAYS)
    images = _batch()
    a, _ = erase_batch(images, BOXES, params, generator=torch.Generator().manual_seed(5))
    b, _ = erase_batch(images, BOXES, params, generator=torch.Generator().manual_seed(5))
    c, _ = erase_batch(images, BOXES, params, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.manual_seed(2)
    d, _ = erase_batch(images, BOXES, params)
    torch.manual_seed(2)
    e, _ = erase_batch(images, BOXES, params)
    assert torch.equal(d, e)
    copy = images.clone()
    out, _ = erase_batch(copy, BOXES, params, generator=torch.Generator().manual_seed(5), inplace=True)
    assert out is copy and torch.equal(copy, a)


def test_p_zero_and_nothing_to_erase_are_identity():
    images = _batch()
    out, plans = erase_batch(images, BOXES, ErasingParams(**ALWAYS), p=0.0)
    assert torch.equal(out, images) and all(len(plan) == 0 for plan in plans)
    out, plans = erase_batch(images, [torch.zeros(0, 4)] * 3, ErasingParams(mode="ore", object_p=1.0))
    assert torch.equal(out, images) and plans_to_regions(plans).shape == (0, 6)


def test_padded_batch_keeps_regions_inside_true_sizes_and_padding_untouched():
    sizes = [(40, 50), (30, 64), (48, 20)]
    images = _batch()
    params = ErasingParams(mode="i+ore", scale=(0.2, 0.4), **ALWAYS)
    for seed in range(10):
        out, plans = erase_batch(images, BOXES, params, generator=torch.Generator().manual_seed(seed), image_sizes=sizes)
        for image, result, plan, (h, w) in zip(images, out, plans, sizes):
            assert plan.image_size == (h, w)
            assert (plan.rects[:, 2] <= w).all() and (plan.rects[:, 3] <= h).all()
            assert torch.equal(result[:, h:], image[:, h:]) and torch.equal(result[:, :, w:], image[:, :, w:])


def test_lists_keep_each_images_channels_dtype_and_size():
    # issue 11: 3 then 1 channels, 1 then 3, float32 then uint8 came back wrong or crashed
    for images in (
        [torch.rand(3, 40, 50), torch.rand(1, 30, 20)],
        [torch.rand(1, 30, 20), torch.rand(3, 40, 50)],
        [torch.rand(3, 40, 50), torch.randint(0, 256, (3, 30, 20), dtype=torch.uint8)],
    ):
        out, plans = erase_batch(images, None, ErasingParams(mode="ire", image_p=1.0), generator=torch.Generator().manual_seed(0))
        assert isinstance(out, list)
        for image, result, plan in zip(images, out, plans):
            assert result.shape == image.shape and result.dtype == image.dtype and len(plan) == 1
            outside = ~_covered(plan, *image.shape[-2:])
            assert torch.equal(result[:, outside], image[:, outside])
            assert (result[:, ~outside] != image[:, ~outside]).float().mean() > 0.9


def test_bad_inputs_name_what_is_expected():
    params = ErasingParams()
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        erase_batch(torch.zeros(3, H, W), None, params)
    with pytest.raises(ValueError, match="boxes for 3 images"):
        erase_batch(_batch(), BOXES[:2], params)
    with pytest.raises(ValueError, match="within the padded image size"):
        erase_batch(_batch(), None, params, image_sizes=[(H + 1, W)] * 3)
    with pytest.raises(ValueError, match=r"boxes\[0\] must have shape \(N, 4\)"):
        erase_batch(_batch(n=1), [torch.zeros(2, 3)], params)


def test_module_targets_formats_and_numpy_scalar_arguments():
    module = BatchedBoxAwareRandomErasing(mode="ore", object_p=np.float32(1.0), p=np.float64(1.0), seed=np.int64(3), fill=0.0)
    images = [torch.ones(3, H, W), torch.ones(3, H, W)]
    xyxy = torch.tensor([[8.0, 8.0, 40.0, 30.0]])
    targets = [{"boxes": tv_tensors.BoundingBoxes(xyxy, format="XYXY", canvas_size=(H, W))},
               {"boxes": tv_tensors.BoundingBoxes([[8.0, 8.0, 32.0, 22.0]], format="XYWH", canvas_size=(H, W))}]
    _out, out_targets = module(images, targets)
    assert out_targets is targets
    regions = module.last_regions
    assert regions[:, :2].tolist() == [[0, 0], [1, 0]]
    for _, _, x1, y1, x2, y2 in regions.tolist():  # both boxes are the same xyxy box
        assert 8 <= x1 < x2 <= 40 and 8 <= y1 < y2 <= 30
    with pytest.raises(ValueError, match="seed"):
        BatchedBoxAwareRandomErasing(seed=1.5)


def test_regions_round_trip_with_a_constant_in_the_batchs_units():
    module = BatchedBoxAwareRandomErasing(mode="ire", image_p=1.0, fill=(1.0, 0.0, 0.2), seed=0)
    out = module(torch.full((1, 3, H, W), 0.5))
    _, _, x1, y1, _, _ = module.last_regions[0].tolist()
    assert torch.allclose(out[0, :, y1, x1], torch.tensor([1.0, 0.0, 0.2]))
    plans = regions_to_plans(module.last_regions, [(H, W)], fill=module.last_plans[0].fill)
    assert np.array_equal(plans[0].rects, module.last_plans[0].rects)
    assert "fill=(1, 0, 0.2)" in repr(module)


def test_module_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="fill_mask"):
        BatchedBoxAwareRandomErasing(ErasingParams(fill_mask=0))


@pytest.mark.parametrize(
    "images",
    [
        [np.zeros((32, 32, 3), np.uint8)],  # a list of numpy HWC images
        np.zeros((1, 3, 32, 32), np.float32),  # a numpy batch
        [torch.zeros(3, 32, 32), np.zeros((32, 32, 3), np.uint8)],  # one numpy image among tensors
    ],
)
def test_numpy_images_are_a_type_error_saying_what_to_do(images):
    targets = [{"boxes": torch.zeros(0, 4)} for _ in images]
    with pytest.raises(TypeError, match=r"not numpy\.ndarray: convert .*torch\.from_numpy\(image\)\.permute\(2, 0, 1\)"):
        BatchedBoxAwareRandomErasing()(images, targets)


def test_per_class_object_p_reads_the_targets_labels():
    module = BatchedBoxAwareRandomErasing(mode="ore", object_p={1: 1.0, "default": 0.0}, seed=0)
    targets = [{"boxes": BOXES[0], "labels": torch.tensor([2, 1])}, {"boxes": BOXES[2], "labels": torch.tensor([2])}]
    for _ in range(5):
        module(_batch(n=2), targets)
        assert [plan.source.tolist() for plan in module.last_plans] == [[1], []]
    with pytest.raises(ValueError, match="one label per box"):
        module(_batch(n=1), [{"boxes": BOXES[0]}])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batch_has_the_cpu_batchs_regions_and_constants():
    for fill in ("random", "random_color", "random_normal", 0.5, (0.1, 0.2, 0.3)):
        params = ErasingParams(fill=fill, **ALWAYS)
        cpu, cpu_plans = erase_batch(_batch(), BOXES, params, generator=torch.Generator().manual_seed(4))
        gpu, gpu_plans = erase_batch(_batch().cuda(), [b.cuda() for b in BOXES], params, generator=torch.Generator().manual_seed(4))
        assert gpu.is_cuda and cpu_plans == gpu_plans  # the same regions: the plans are drawn on the CPU
        changed = (gpu.cpu() != _batch()).any(dim=1)
        for b, plan in enumerate(gpu_plans):
            covered = torch.zeros(H, W, dtype=torch.bool)
            for x1, y1, x2, y2 in plan.rects.tolist():
                covered[y1:y2, x1:x2] = True
            assert not (changed[b] & ~covered).any()
        if not isinstance(fill, str):  # constants: the same pixels; random values are drawn on the GPU
            torch.testing.assert_close(gpu.cpu(), cpu, rtol=0, atol=0)
        elif fill == "random":
            assert 0 <= float(gpu.min()) and float(gpu.max()) < 1


def test_overlapping_and_mask_restricted_regions_match_the_plan_replayed_alone():
    # the batch cuts overlapping regions into disjoint pieces (each with its crop of the
    # region's mask); with a constant per channel the result must be the per-image kernel's
    rng = np.random.default_rng(7)
    masks = [torch.from_numpy(rng.random((2, H, W)) < 0.6), torch.from_numpy(rng.random((1, H, W)) < 0.6)]
    boxes = [torch.tensor([[2.0, 2.0, 40.0, 40.0], [10.0, 8.0, 60.0, 46.0]]), torch.tensor([[0.0, 0.0, 64.0, 48.0]])]
    params = ErasingParams(mode="i+ore", image_p=1.0, object_p=1.0, count=(2, 3), scale=(0.2, 0.4),
                           erase_within="mask", fill=(0.1, 0.2, 0.3))
    for seed in range(5):
        images = torch.rand(2, 3, H, W, generator=torch.Generator().manual_seed(seed))
        out, plans = erase_batch(images, boxes, params, generator=torch.Generator().manual_seed(seed), masks=masks)
        assert sum(len(plan) for plan in plans) >= 6
        for image, plan, result in zip(images, plans, out):
            torch.testing.assert_close(result, erase_tensor(image, plan), rtol=0, atol=0)


def test_the_normalised_boxes_warning_points_at_the_caller():
    import warnings

    from detaug.erasing import sample_plan
    from detaug.erasing.sampling import sample_plans

    for call in (lambda: sample_plan((64, 64), [[0.1, 0.1, 0.5, 0.5]], ErasingParams(mode="ore", object_p=1.0), 0),
                 lambda: sample_plans([(64, 64)], [[[0.1, 0.1, 0.5, 0.5]]], ErasingParams(mode="ore", object_p=1.0), 0)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        assert len(caught) == 1 and caught[0].filename == __file__, caught[0].filename


def test_per_image_lists_of_another_length_are_refused():
    params = ErasingParams(mode="ore", object_p={0: 1.0, "default": 0.0})
    for name, kwargs in (("labels", {"labels": [torch.tensor([0, 0])]}), ("masks", {"masks": [None]})):
        with pytest.raises(ValueError, match=f"expected {name} for 3 images, got 1"):
            erase_batch(_batch(), BOXES, params, p=0.5, **kwargs)


# ----------------------------------------------------------------------------- memory layouts and box inputs
# (found by a differential review of the one-scatter write: each case went wrong in a first version)


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "slice", "transposed"])
@pytest.mark.parametrize("inplace", [False, True])
def test_every_memory_layout_gets_the_plans_replayed_alone(layout, inplace):
    rs = np.random.default_rng(7)
    base = torch.rand(3, 4, H + 3, W + 2, generator=torch.Generator().manual_seed(0))
    images = {"contiguous": base[:, :3, :H, :W].contiguous(),
              "channels_last": base[:, :3, :H, :W].contiguous().to(memory_format=torch.channels_last),
              "slice": base[:, 1:, 2:H + 2, 1:W + 1],  # strided, not dense: written in place through its strides
              "transposed": base[:, :3, :H, :W].transpose(2, 3).contiguous().transpose(2, 3)}[layout]
    before = images.clone()
    boxes = [torch.tensor(np.hstack([xy := rs.uniform(0, 30, (3, 2)), xy + rs.uniform(4, 20, (3, 2))]), dtype=torch.float32)
             for _ in range(3)]
    params = ErasingParams(mode="i+ore", count=(1, 3), fill=(0.1, 0.2, 0.3), **ALWAYS)
    out, plans = erase_batch(images, boxes, params, generator=torch.Generator().manual_seed(3), inplace=inplace)
    assert torch.equal(out, torch.stack([erase_tensor(before[b], plans[b]) for b in range(3)]))
    assert (out is images and not torch.equal(images, before)) if inplace else torch.equal(images, before)
    if inplace or layout != "slice":  # a clone of a non-dense slice is contiguous (torch's clone)
        assert out.stride() == images.stride()  # the layout is kept


def test_box_tensors_of_mixed_dtypes_keep_their_values():
    # concatenated before their conversion, int64 and bfloat16 boxes met in bfloat16 (257 -> 256)
    params = ErasingParams(mode="ore", object_p=1.0, fill=0.0)
    boxes = [torch.tensor([[0.0, 0.0, 10.0, 10.0]], dtype=torch.bfloat16), torch.tensor([[257, 301, 333, 377]])]
    _, mixed = erase_batch(torch.zeros(2, 3, 600, 600), boxes, params, generator=torch.Generator().manual_seed(0))
    _, alone = erase_batch(torch.zeros(2, 3, 600, 600), [boxes[0].float(), boxes[1].double()], params,
                           generator=torch.Generator().manual_seed(0))
    assert mixed[1].rects.tolist() == alone[1].rects.tolist()
    x1, y1, x2, y2 = mixed[1].rects[0].tolist()
    assert 257 <= x1 < x2 <= 333 and 301 <= y1 < y2 <= 377
    # an empty 1-D bfloat16 tensor is an image without boxes; a wrong shape is named
    _, plans = erase_batch(torch.zeros(2, 3, 20, 20), [torch.zeros(0, dtype=torch.bfloat16), torch.tensor([[2.0, 2, 12, 12]])],
                           params, generator=torch.Generator().manual_seed(0))
    assert len(plans[0]) == 0 and len(plans[1]) == 1
    with pytest.raises(ValueError, match=r"boxes\[0\] must have shape"):
        erase_batch(torch.zeros(1, 3, 20, 20), [torch.zeros(4, dtype=torch.bfloat16)], params)


@pytest.mark.parametrize("seed", range(4))
def test_non_finite_boxes_are_refused_whatever_p_draws_and_named_by_their_index(seed):
    params = ErasingParams(mode="ore", object_p=1.0, fill=0.0)
    boxes = [torch.tensor([[1.0, 1, 9, 9]]), torch.tensor([[2.0, 2, 9, 12]]), torch.tensor([[2.0, 2, float("nan"), 12]])]
    with pytest.raises(ValueError, match=r"boxes\[2\] must be finite"):
        erase_batch(torch.zeros(3, 3, 20, 20), boxes, params, generator=torch.Generator().manual_seed(seed), p=0.5)
    with pytest.raises(ValueError, match=r"boxes\[0\] must be finite"):
        erase_batch(torch.zeros(1, 3, 20, 20), boxes[2:], params)
