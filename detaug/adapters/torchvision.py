"""Box-aware Random Erasing as a torchvision-v2 transform (a thin adapter over :mod:`detaug.erasing`)."""

from __future__ import annotations

import numbers
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np
import PIL.Image
import torch
from torch.utils._pytree import tree_flatten, tree_unflatten
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from detaug.erasing import ErasePlan, ErasingParams, apply_plan, box_visibility, sample_plan
from detaug.erasing.kernels import seeded_generator
from detaug.erasing.params import format_kwargs

_ROTATED = {"XYWHR", "CXCYWHR", "XYXYXYXY"}


class BoxAwareRandomErasing(v2.Transform):
    """Random Erasing for detection (IRE, ORE, I+ORE) over ``tv_tensors``.

    Same arguments and behaviour as :class:`detaug.BoxAwareRandomErasing` (the
    albumentations front-end); both call the same core. Images are ``tv_tensors.Image``
    or plain tensors of shape ``(..., C, H, W)`` (a plain tensor is the image when the
    sample holds no ``tv_tensors.Image``, as in torchvision); boxes are
    ``tv_tensors.BoundingBoxes`` in any format and come back untouched, in their own
    format. Labels, ids and other entries pass through. Masks
    (``tv_tensors.Mask``) are erased with ``fill_mask`` when it is given.

    Randomness comes from torch's global generator, so results reproduce under
    ``torch.manual_seed`` and DataLoader workers differ.

    **Getting the erased regions.** With ``plan_key="erasing_plan"``, the plan
    (:class:`detaug.erasing.ErasePlan`: ``rects`` in absolute xyxy pixels, ``source``
    the index of the box each came from or -1) is added to the first dict of the
    output sample under that key. Its coordinates are those of the image at this step
    of the pipeline. Without ``plan_key`` the sample's structure is not changed.

    Args:
        mode: ``"ire"``, ``"ore"`` or ``"i+ore"``. Default ``"i+ore"``.
        image_p: probability of erasing image-level region(s). Default 0.5.
        object_p: probability of erasing inside each box, drawn per box. Default 0.5.
        scale: ``(s_l, s_h)``, erased area as a fraction of the image / box. Default ``(0.02, 0.2)``.
        ratio: ``(r_1, r_2)``, aspect ratio height / width. Default ``(0.3, 1 / 0.3)``.
        ratio_sampling: ``"uniform"`` (the paper) or ``"log"`` (torchvision, timm). Default ``"uniform"``.
        max_attempts: sizes tried per image or box before giving up. Default 100.
        fill: ``"random"``, ``"random_normal"``, ``"random_color"``,
            ``"random_color_normal"``, a number or one value per channel. Default ``"random"``.
        fill_mask: value for masks under erased regions; None leaves masks alone. Default None.
        count: image-level regions, or ``(min, max)``; area split by the count. Default 1.
        min_visibility: drop boxes (and their labels) whose unerased fraction falls below
            this; 0 keeps all. Default 0.0.
        p: probability that the transform runs at all. Default 1.0.
        inplace: erase the input tensor in place. Default False.
        plan_key: when set, the key under which the plan is added to the output's first
            dict. Default None.
        labels_getter: with ``min_visibility > 0``, finds the labels to drop with the
            boxes: ``"default"`` (the ``"labels"`` key of the first dict, any case) or a
            callable taking the sample and returning the labels tensor(s). Default ``"default"``.

    Targets:
        image (``tv_tensors.Image``, plain tensor, ``tv_tensors.Video``), masks; boxes
        and everything else pass through (boxes are read, never changed).

    Image types:
        uint8 and float tensors of shape ``(H, W)``, ``(C, H, W)`` or ``(..., C, H, W)``,
        on any device.

    Raises:
        ValueError: in the constructor, for an invalid argument; when called, for a
            per-channel fill whose length does not match the image's channels.
        TypeError: when called, for a PIL image (convert with ``v2.ToImage()`` first) or a
            normal-distribution fill on an integer image.

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

    _transformed_types = (tv_tensors.Image, tv_tensors.Video, tv_tensors.Mask, torch.Tensor)

    def __init__(
        self,
        mode: str = "i+ore",
        image_p: float = 0.5,
        object_p: float = 0.5,
        scale: Tuple[float, float] = (0.02, 0.2),
        ratio: Tuple[float, float] = (0.3, 1 / 0.3),
        ratio_sampling: str = "uniform",
        max_attempts: int = 100,
        fill: Union[str, float, Sequence[float]] = "random",
        fill_mask: Optional[Union[float, Sequence[float]]] = None,
        count: Union[int, Tuple[int, int]] = 1,
        min_visibility: float = 0.0,
        p: float = 1.0,
        inplace: bool = False,
        plan_key: Optional[str] = None,
        labels_getter: Union[str, Callable[[Any], Any]] = "default",
    ):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        if plan_key is not None and not isinstance(plan_key, str):
            raise ValueError(f"plan_key must be None or a string, got {plan_key!r}")
        if labels_getter != "default" and not callable(labels_getter):
            raise ValueError(f"labels_getter must be 'default' or a callable, got {labels_getter!r}")
        self.erasing = ErasingParams(
            mode=mode,
            image_p=image_p,
            object_p=object_p,
            scale=scale,
            ratio=ratio,
            ratio_sampling=ratio_sampling,
            max_attempts=max_attempts,
            fill=fill,
            fill_mask=fill_mask,
            count=count,
            min_visibility=min_visibility,
        )
        self.p = float(p)
        self.inplace = bool(inplace)
        self.plan_key = plan_key
        self.labels_getter = labels_getter

    # ------------------------------------------------------------------ v2 API
    def check_inputs(self, flat_inputs: list[Any]) -> None:
        if any(isinstance(x, PIL.Image.Image) for x in flat_inputs):
            raise TypeError(f"{type(self).__name__} works on tensors; convert PIL images first with v2.ToImage()")

    def forward(self, *inputs: Any) -> Any:
        sample = inputs if len(inputs) > 1 else inputs[0]
        flat, spec = tree_flatten(sample)
        self.check_inputs(flat)
        needs = self._needs_transform_list(flat)
        params = self.make_params([x for x, n in zip(flat, needs) if n])
        flat_out = [self.transform(x, params) if n else x for x, n in zip(flat, needs)]
        output = tree_unflatten(flat_out, spec)
        keep = params["keep"]
        if keep is not None and not bool(keep.all()):
            output = self._drop_boxes(output, keep)
        if self.plan_key is not None:
            target = _first_dict(output)
            if target is not None:
                target[self.plan_key] = params["plan"]
        return output

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        _, height, width = v2.query_chw([x for x in flat_inputs if not isinstance(x, tv_tensors.BoundingBoxes)])
        boxes_list = [x for x in flat_inputs if isinstance(x, tv_tensors.BoundingBoxes)]
        boxes = _to_xyxy(boxes_list[0]) if boxes_list else None
        seed = int(torch.randint(0, 2**62, (1,)).item())
        rng = seeded_generator(seed, "sampling")  # about 1 us; np.random.default_rng costs 8
        if self.p < 1.0 and rng.random() >= self.p:
            return {"plan": ErasePlan.empty((height, width), self.erasing.fill, seed), "keep": None}
        plan = sample_plan((height, width), boxes, self.erasing, rng)
        keep = None
        if self.erasing.min_visibility > 0 and boxes is not None and len(boxes):
            keep = torch.from_numpy(box_visibility(boxes, plan) >= self.erasing.min_visibility)
        return {"plan": plan, "keep": keep}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        plan: ErasePlan = params["plan"]
        if len(plan) == 0 or isinstance(inpt, tv_tensors.BoundingBoxes):
            return inpt
        if isinstance(inpt, tv_tensors.Mask):
            if self.erasing.fill_mask is None:
                return inpt
            return tv_tensors.wrap(apply_plan(inpt.as_subclass(torch.Tensor), plan, fill=self.erasing.fill_mask, inplace=self.inplace), like=inpt)
        if isinstance(inpt, (tv_tensors.Image, tv_tensors.Video)):
            return tv_tensors.wrap(apply_plan(inpt.as_subclass(torch.Tensor), plan, inplace=self.inplace), like=inpt)
        if isinstance(inpt, torch.Tensor):
            return apply_plan(inpt, plan, inplace=self.inplace)
        return inpt

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
        return tree_unflatten(flat, spec)

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


def _first_dict(sample: Any) -> Optional[dict]:
    if isinstance(sample, dict):
        return sample
    if isinstance(sample, (tuple, list)):
        for item in sample:
            found = _first_dict(item)
            if found is not None:
                return found
    return None


def _to_xyxy(boxes: tv_tensors.BoundingBoxes) -> np.ndarray:
    """Absolute xyxy float64 numpy boxes; rotated formats use their axis-aligned hull."""
    fmt = boxes.format.name if hasattr(boxes.format, "name") else str(boxes.format)
    data = boxes.as_subclass(torch.Tensor).detach()
    if fmt in _ROTATED:
        corners = F.convert_bounding_box_format(
            data.float(), old_format=boxes.format, new_format=tv_tensors.BoundingBoxFormat.XYXYXYXY
        ).reshape(-1, 4, 2)
        data = torch.cat([corners.amin(dim=1), corners.amax(dim=1)], dim=1)
    elif fmt != "XYXY":
        data = F.convert_bounding_box_format(data.double(), old_format=boxes.format, new_format=tv_tensors.BoundingBoxFormat.XYXY)
    return data.cpu().double().numpy().reshape(-1, 4)
