"""Box-aware Random Erasing as a torchvision-v2 transform (a thin adapter over :mod:`detaug.erasing`)."""

from __future__ import annotations

import threading
import warnings
from typing import Any, Callable, Optional, Union

import numpy as np
import PIL.Image
import torch
from torch.utils._pytree import tree_flatten, tree_unflatten
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F
from torchvision.transforms.v2._utils import is_pure_tensor

from detaug.adapters._arguments import erasing_arguments, erasing_params
from detaug.erasing import ErasePlan, ErasingParams, apply_plan, box_visibility, sample_plan
from detaug.erasing.params import check_probability, format_kwargs
from detaug.erasing.sampling import looks_normalised, normalised_boxes_message
from detaug.erasing.visibility import keypoints_erased

#: Columns of each box format: axis-aligned ones have 4, rotated ones 5 or 8.
_COLUMNS = {"XYWHR": 5, "CXCYWHR": 5, "XYXYXYXY": 8}


@erasing_arguments()
class BoxAwareRandomErasing(v2.Transform):
    """Random Erasing for detection (IRE, ORE, I+ORE) over ``tv_tensors``.

    Same arguments and behaviour as :class:`detaug.BoxAwareRandomErasing` (the
    albumentations front-end); both call the same core. Images are ``tv_tensors.Image``,
    plain tensors of shape ``(..., C, H, W)`` (a plain tensor is the image when the sample
    holds no ``tv_tensors.Image``, as in torchvision), or PIL images; boxes are
    ``tv_tensors.BoundingBoxes`` in any format and come back untouched, in their own
    format (a plain tensor under ``"boxes"`` is not a box to torchvision: a UserWarning
    says to wrap it). Labels, ids, ``tv_tensors.KeyPoints`` and other entries pass through. Masks
    (``tv_tensors.Mask``) are erased with ``fill_mask`` when it is given. A numpy image is
    refused with a TypeError saying what to do (``v2.ToImage()`` first, or the
    albumentations front-end, which takes numpy arrays).

    Randomness comes from torch's global generator, so results reproduce under
    ``torch.manual_seed`` and DataLoader workers differ.

    **Getting the erased regions.** With ``plan_key="erasing_plan"``, the plan
    (:class:`detaug.erasing.ErasePlan`: ``rects`` in absolute xyxy pixels, ``source``
    the index of the box each came from or -1) is added to the first dict of the
    output sample under that key. Its coordinates are those of the image at this step
    of the pipeline. Without ``plan_key`` the sample's structure is not changed.

    Args:
        params: the erasing arguments as one validated :class:`~detaug.erasing.ErasingParams`,
            instead of the keywords below. Default None.
        **erasing: the erasing arguments by keyword (``mode``, ``image_p``, ``object_p``,
            ``scale``, ``ratio``, ``fill``, ...): every field of
            :class:`~detaug.erasing.ErasingParams`, with its default and meaning there (the
            signature lists them all). Here: labels (per-class ``object_p``, ``protect``) come
            from ``labels_getter``; instance masks (``object_area``, ``erase_within``: mask)
            are the sample's ``tv_tensors.Mask`` of shape ``[N, H, W]``, one per box;
            ``occlude_keypoints`` marks the target's ``"keypoints"`` tensor ``[N, K, 3]`` (the
            Keypoint R-CNN / COCO layout: x, y, visibility 2 -> 1 on erased pixels), while
            ``tv_tensors.KeyPoints`` carry no visibility and pass through.
        p: probability that the transform runs at all. Default 1.0.
        inplace: erase the input tensor in place. Default False.
        plan_key: when set, the key under which the plan is added to the output's first
            dict. Default None.
        labels_getter: with ``min_visibility > 0``, finds the labels to drop with the
            boxes: ``"default"`` (the ``"labels"`` key of the first dict, any case) or a
            callable taking the sample and returning the labels tensor(s). Default ``"default"``.

    Targets:
        image (``tv_tensors.Image``, plain tensor, ``tv_tensors.Video``, PIL image), masks;
        boxes and everything else pass through (boxes are read, never changed).

    Image types:
        PIL images; uint8 and float tensors of shape ``(H, W)``, ``(C, H, W)`` or
        ``(..., C, H, W)``, on any device. Not numpy arrays.

    Raises:
        ValueError: in the constructor, for an invalid argument; when called, for a
            per-channel fill whose length does not match the image's channels.
        TypeError: when called, for a numpy image (convert with ``v2.ToImage()`` first) or
            a normal-distribution fill on an integer image.

    Examples:
        >>> import torch
        >>> from torchvision import tv_tensors
        >>> tf = BoxAwareRandomErasing(mode="ore", object_p=1.0, fill=0.0, plan_key="erasing_plan")
        >>> img = tv_tensors.Image(torch.ones(3, 32, 32))
        >>> boxes = tv_tensors.BoundingBoxes([[4, 4, 28, 28]], format="XYXY", canvas_size=(32, 32))
        >>> _ = torch.manual_seed(0)
        >>> out_img, target = tf(img, {"boxes": boxes, "labels": torch.tensor([3])})
        >>> target["erasing_plan"].source.tolist(), target["labels"].tolist()
        ([0], [3])
        >>> bool((out_img == 0).any()), bool(torch.equal(target["boxes"], boxes))
        (True, True)

    References:
        Zhong, Zheng, Kang, Li, Yang. Random Erasing Data Augmentation. AAAI 2020.
    """

    # Boxes and keypoints are read or passed through, never transformed.
    _transformed_types = (tv_tensors.Image, tv_tensors.Video, tv_tensors.Mask, PIL.Image.Image, is_pure_tensor)

    def __init__(
        self,
        params: Optional[ErasingParams] = None,
        *,
        p: float = 1.0,
        inplace: bool = False,
        plan_key: Optional[str] = None,
        labels_getter: Union[str, Callable[[Any], Any]] = "default",
        **erasing: Any,
    ):
        super().__init__()
        self.p = check_probability("p", p)
        if plan_key is not None and not isinstance(plan_key, str):
            raise ValueError(f"plan_key must be None or a string, got {plan_key!r}")
        if labels_getter != "default" and not callable(labels_getter):
            raise ValueError(f"labels_getter must be 'default' or a callable, got {labels_getter!r}")
        self.erasing = erasing_params(self, params, erasing)
        self.inplace = bool(inplace)
        self.plan_key = plan_key
        self.labels_getter = labels_getter

    # ------------------------------------------------------------------ v2 API
    def check_inputs(self, flat_inputs: list[Any]) -> None:
        if any(isinstance(x, np.ndarray) for x in flat_inputs):
            raise TypeError(
                f"{type(self).__name__} (torchvision v2) takes PIL images, tensors and tv_tensors, not numpy arrays: "
                "put v2.ToImage() before it, or use detaug.BoxAwareRandomErasing (albumentations), which takes numpy"
            )

    def forward(self, *inputs: Any) -> Any:
        sample = inputs if len(inputs) > 1 else inputs[0]
        flat, spec = tree_flatten(sample)
        self.check_inputs(flat)
        needs = self._needs_transform_list(flat)
        params = self.make_params(flat, [x for x, n in zip(flat, needs) if n], sample)
        flat_out = [self.transform(x, params) if n else x for x, n in zip(flat, needs)]
        output = tree_unflatten(flat_out, spec)
        keep = params["keep"]
        if keep is not None and not bool(keep.all()):
            output = self._drop_boxes(output, keep)
        if self.erasing.occlude_keypoints and len(params["plan"]):
            self._occlude_keypoints(output, params["plan"])
        if self.plan_key is not None:
            target = _first_dict(output)
            if target is not None:
                target[self.plan_key] = params["plan"]
        return output

    def make_params(self, flat_inputs: list[Any], transformed: Optional[list[Any]] = None, sample: Any = None) -> dict[str, Any]:
        images = [x for x in (flat_inputs if transformed is None else transformed) if not isinstance(x, tv_tensors.Mask)]
        check_channels_first(images, type(self).__name__)
        _, height, width = v2.query_chw(images)
        boxes_list = [x for x in flat_inputs if isinstance(x, tv_tensors.BoundingBoxes)]
        if boxes_list:
            check_canvas(boxes_list[0], (height, width), type(self).__name__)
        # IRE without protect or min_visibility draws nothing from the boxes: they are not converted
        reads_boxes = self.erasing.uses_objects or self.erasing.min_visibility > 0 or self.erasing.protect is not None
        boxes = boxes_to_xyxy(boxes_list[0]) if boxes_list and reads_boxes else None
        if boxes is None and reads_boxes:
            self._warn_plain_boxes(sample)
        if boxes is not None and looks_normalised(boxes, (height, width)) and not getattr(self, "_warned_normalised", False):
            self._warned_normalised = True
            warnings.warn(f"{type(self).__name__}: " + normalised_boxes_message(
                (height, width), "tv_tensors.BoundingBoxes are in pixels: multiply normalised boxes by the canvas size "
                "(width, height, width, height)"), UserWarning, stacklevel=2)
        if self.erasing.uses_masks or self.erasing.fill_mask is not None:
            self._warn_plain_masks(sample)
        rng = _torch_seeded_generator()
        if self.p < 1.0 and rng.random() >= self.p:
            return {"plan": ErasePlan.empty((height, width), self.erasing.fill), "keep": None}
        labels = None
        if self.erasing.needs_labels and boxes is not None and sample is not None:
            found = [x for x in self._find_labels(sample)
                     if isinstance(x, (torch.Tensor, list, tuple)) and len(x) == len(boxes)]
            labels = found[0] if found else None
        masks = self._instance_masks(flat_inputs, boxes)
        plan = sample_plan((height, width), boxes, self.erasing, rng, labels=labels, masks=masks, warn_normalised=False)
        keep = None
        if self.erasing.min_visibility > 0 and boxes is not None and len(boxes):
            keep = torch.from_numpy(box_visibility(boxes, plan, masks=masks) >= self.erasing.min_visibility)
        return {"plan": plan, "keep": keep}

    def _warn_plain_boxes(self, sample: Any) -> None:
        """Warn (once per transform) when the sample's boxes are a plain tensor: torchvision
        v2 only knows ``tv_tensors.BoundingBoxes`` as boxes, so ORE would find none."""
        target = _first_dict(sample)
        if target is None or getattr(self, "_warned_plain_boxes", False):
            return
        for key, value in target.items():
            if (isinstance(key, str) and key.lower() in ("boxes", "bboxes") and is_pure_tensor(value)
                    and value.ndim == 2 and value.shape[-1] == 4):
                self._warned_plain_boxes = True
                warnings.warn(
                    f"{type(self).__name__}: {key!r} holds a plain torch.Tensor, and plain tensors are not boxes to "
                    "torchvision v2: this sample has no boxes, so nothing is erased inside them; wrap them as "
                    "tv_tensors.BoundingBoxes(boxes, format=..., canvas_size=(height, width))", UserWarning, stacklevel=2)
                return

    def _warn_plain_masks(self, sample: Any) -> None:
        """Warn (once per transform) when the target's ``"masks"`` is a plain tensor: torchvision
        v2 only knows ``tv_tensors.Mask`` as masks, so mask-aware erasing and ``fill_mask``
        would not see it."""
        target = _first_dict(sample)
        masks = None if target is None else next((v for k, v in target.items()
                                                  if isinstance(k, str) and k.lower() == "masks"), None)
        if masks is None or isinstance(masks, tv_tensors.Mask) or getattr(self, "_warned_plain_masks", False):
            return
        self._warned_plain_masks = True
        uses = [name for name, on in (("object_area / erase_within 'mask'", self.erasing.uses_masks),
                                      ("fill_mask", self.erasing.fill_mask is not None)) if on]
        warnings.warn(
            f"{type(self).__name__}: 'masks' holds a {type(masks).__name__}, not a tv_tensors.Mask, and torchvision v2 "
            f"only treats tv_tensors.Mask as masks: {' and '.join(uses)} cannot use it (regions are drawn and erased "
            "as without masks, and it is not erased); wrap it as tv_tensors.Mask(masks)", UserWarning, stacklevel=2)

    def _instance_masks(self, flat_inputs: list[Any], boxes: Optional[np.ndarray]) -> Optional[np.ndarray]:
        """The sample's ``tv_tensors.Mask`` of shape ``[N, H, W]`` with one mask per box, if any."""
        if boxes is None or len(boxes) == 0:
            return None
        masks = [x for x in flat_inputs if isinstance(x, tv_tensors.Mask) and x.ndim == 3]
        for mask in masks:
            if len(mask) == len(boxes):
                return mask.as_subclass(torch.Tensor).detach().cpu().numpy() != 0
        if self.erasing.uses_masks and masks:
            raise ValueError(f"object_area / erase_within 'mask' need one instance mask per box: masks of shape "
                             f"{tuple(masks[0].shape)} for {len(boxes)} boxes")
        return None

    def _occlude_keypoints(self, output: Any, plan: ErasePlan) -> None:
        """COCO visibility 2 -> 1 for the target's ``"keypoints"`` ``[N, K, 3]`` on erased pixels."""
        target = _first_dict(output)
        keypoints = None if target is None else target.get("keypoints")
        if keypoints is None or isinstance(keypoints, tv_tensors.KeyPoints):
            return  # tv_tensors.KeyPoints carry no visibility: they pass through
        as_list = isinstance(keypoints, (list, tuple))
        if as_list:  # nested lists [N][K][3]: marked, and returned as lists
            try:
                keypoints = torch.as_tensor(keypoints)
            except (TypeError, ValueError, RuntimeError):
                keypoints = None
        if not isinstance(keypoints, torch.Tensor) or keypoints.ndim < 2 or keypoints.shape[-1] != 3:
            shape = tuple(keypoints.shape) if isinstance(keypoints, torch.Tensor) else type(target["keypoints"]).__name__
            raise ValueError(f'occlude_keypoints needs target["keypoints"] of shape [N, K, 3] (x, y, visibility), '
                             f"got {shape}")
        erased = torch.from_numpy(keypoints_erased(keypoints[..., :2].detach().cpu().numpy(), plan))
        out = keypoints.clone()
        out[..., 2] = torch.where(erased.to(out.device) & (out[..., 2] == 2), torch.ones_like(out[..., 2]), out[..., 2])
        target["keypoints"] = out.tolist() if as_list else out

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        plan: ErasePlan = params["plan"]
        if len(plan) == 0:
            return inpt
        if isinstance(inpt, PIL.Image.Image):
            return F.to_pil_image(apply_plan(F.pil_to_tensor(inpt), plan), mode=inpt.mode)
        if isinstance(inpt, tv_tensors.Mask):
            if self.erasing.fill_mask is None:
                return inpt
            out = apply_plan(inpt.as_subclass(torch.Tensor), plan, fill=self.erasing.fill_mask, inplace=self.inplace)
            return tv_tensors.wrap(out, like=inpt)
        out = apply_plan(inpt.as_subclass(torch.Tensor), plan, inplace=self.inplace)
        return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else out

    # ------------------------------------------------------------------ dropping
    def _drop_boxes(self, output: Any, keep: torch.Tensor) -> Any:
        flat, spec = tree_flatten(output)
        n_boxes = len(keep)
        labels = self._find_labels(output)
        label_ids = {id(x) for x in labels}
        for i, x in enumerate(flat):
            if (isinstance(x, tv_tensors.BoundingBoxes) and len(x) == n_boxes) or (isinstance(x, tv_tensors.Mask) and x.ndim >= 3 and x.shape[0] == n_boxes):
                flat[i] = tv_tensors.wrap(x[keep.to(x.device)], like=x)
            elif id(x) in label_ids and isinstance(x, torch.Tensor) and len(x) == n_boxes:
                flat[i] = x[keep.to(x.device)]
        output = tree_unflatten(flat, spec)
        # labels as a list: its entries are leaves of the tree, so it is filtered as a whole
        kept = keep.tolist()
        target = _first_dict(output)
        for labels in self._find_labels(output):
            if isinstance(labels, list) and len(labels) == n_boxes:
                labels[:] = [v for v, k in zip(labels, kept) if k]
            elif isinstance(labels, tuple) and len(labels) == n_boxes and target is not None:
                for key in [k for k, v in target.items() if v is labels]:
                    target[key] = tuple(v for v, k in zip(labels, kept) if k)
        return output

    def _find_labels(self, output: Any) -> list[Any]:
        if callable(self.labels_getter):
            found = self.labels_getter(output)
            return list(found) if isinstance(found, (tuple, list)) else [found]
        target = _first_dict(output)
        if target is None:
            return []
        return [v for k, v in target.items() if isinstance(k, str) and k.lower() == "labels"]

    def __repr__(self) -> str:
        kwargs = self.erasing.non_default_kwargs()
        for name, default in (("p", 1.0), ("inplace", False), ("plan_key", None)):
            if getattr(self, name) != default:
                kwargs[name] = getattr(self, name)
        text = format_kwargs(kwargs)
        if callable(self.labels_getter):
            name = getattr(self.labels_getter, "__name__", type(self.labels_getter).__name__)
            text = (text + ", " if text else "") + f"labels_getter=<{name}>"
        return f"{type(self).__name__}({text})"


_THREAD = threading.local()


def _torch_seeded_generator() -> np.random.Generator:
    """A numpy Generator set from four fresh words of torch's global generator, so a call is
    reproducible under ``torch.manual_seed``. One generator per thread, its PCG64 state set
    on every call (a random state and a random odd increment, what seeding produces): a new
    generator per call (numpy's SeedSequence and a new bit generator) took 13-25 us, about
    as long as drawing an IRE plan.

    Examples:
        >>> _ = torch.manual_seed(0); a = _torch_seeded_generator().random()
        >>> _ = torch.manual_seed(0); a == _torch_seeded_generator().random()
        True
    """
    rng = getattr(_THREAD, "rng", None)
    if rng is None:
        rng = _THREAD.rng = np.random.Generator(np.random.PCG64())
    w = torch.randint(0, 2**63 - 1, (4,)).tolist()
    rng.bit_generator.state = {"bit_generator": "PCG64", "state": {"state": w[0] << 64 | w[1], "inc": w[2] << 64 | w[3] | 1},
                               "has_uint32": 0, "uinteger": 0}
    return rng


def _first_dict(sample: Any) -> Optional[dict]:
    if isinstance(sample, dict):
        return sample
    if isinstance(sample, (tuple, list)):
        for item in sample:
            found = _first_dict(item)
            if found is not None:
                return found
    return None


def check_channels_first(images: list[Any], owner: str) -> None:
    """Refuse a tensor image that is channels-last ``(H, W, C)``: torchvision reads its
    height as the channels, so the plan would be drawn for a wrong size.

    Raises:
        ValueError: a tensor whose last axis is 1, 3 or 4 long and whose channel axis
            (third from last) is longer than 4.
    """
    for image in images:
        if isinstance(image, torch.Tensor) and image.ndim >= 3 and image.shape[-1] in (1, 3, 4) and image.shape[-3] > 4:
            raise ValueError(
                f"{owner}: the image tensor has shape {tuple(image.shape)}, which looks channels-last (H, W, C); "
                "torchvision images are (..., C, H, W): use image.permute(2, 0, 1), or v2.ToImage() on the numpy array")


def check_canvas(boxes: Any, image_size: tuple, owner: str) -> None:
    """Refuse ``tv_tensors.BoundingBoxes`` whose ``canvas_size`` is not the image's ``(height, width)``.

    Raises:
        ValueError: naming both sizes.
    """
    canvas = tuple(int(v) for v in boxes.canvas_size)
    if canvas != tuple(image_size):
        swapped = " (swapped: canvas_size is (height, width))" if canvas == tuple(image_size)[::-1] else ""
        raise ValueError(
            f"{owner}: the boxes' canvas_size {canvas} is not the image's (height, width) {tuple(image_size)}{swapped}: "
            "build them with tv_tensors.BoundingBoxes(boxes, format=..., canvas_size=(height, width)) of this image")


def boxes_to_xyxy(boxes: Any) -> np.ndarray:
    """Absolute xyxy float64 numpy boxes ``[N, 4]`` from ``tv_tensors.BoundingBoxes`` in any
    format (rotated ones: their axis-aligned hull), or from a plain tensor / array of xyxy.

    Raises:
        ValueError: boxes whose shape does not fit their format (naming both).

    Examples:
        >>> b = tv_tensors.BoundingBoxes([[1, 2, 3, 4]], format="XYWH", canvas_size=(10, 10))
        >>> boxes_to_xyxy(b).tolist()
        [[1.0, 2.0, 4.0, 6.0]]
    """
    fmt = getattr(boxes, "format", None)
    name = getattr(fmt, "name", "XYXY" if fmt is None else str(fmt))
    data = torch.as_tensor(boxes).as_subclass(torch.Tensor).detach() if not isinstance(boxes, np.ndarray) else torch.from_numpy(boxes)
    columns = _COLUMNS.get(name, 4)
    if data.numel() == 0:
        return np.zeros((0, 4))
    fits = data.ndim == 2 and (data.shape[1] == columns if fmt is not None else data.shape[1] >= 4)
    if not fits:
        raise ValueError(f"boxes in format {name} must have shape (N, {columns}), got {tuple(data.shape)}")
    if name in _COLUMNS:
        corners = F.convert_bounding_box_format(
            data.float(), old_format=fmt, new_format=tv_tensors.BoundingBoxFormat.XYXYXYXY
        ).reshape(-1, 4, 2)
        data = torch.cat([corners.amin(dim=1), corners.amax(dim=1)], dim=1)
    elif name != "XYXY":
        data = F.convert_bounding_box_format(data.double(), old_format=fmt, new_format=tv_tensors.BoundingBoxFormat.XYXY)
    return data[:, :4].cpu().double().numpy()
