"""Box-aware Random Erasing as an albumentations transform (a thin adapter over :mod:`detaug.erasing`)."""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any, Optional, Tuple

import albumentations as A
import numpy as np

from detaug.adapters._arguments import erasing_arguments, erasing_params
from detaug.erasing import ErasePlan, ErasingParams, apply_plan, box_visibility, sample_plan
from detaug.erasing.params import check_probability, format_kwargs
from detaug.erasing.sampling import looks_normalised, normalised_boxes_message
from detaug.erasing.visibility import keypoints_erased

#: Columns albumentations keeps for each keypoint before the label fields.
_KEYPOINT_COLUMNS = 5


@erasing_arguments()
class BoxAwareRandomErasing(A.DualTransform):
    """Random Erasing for detection: IRE, ORE or I+ORE (Zhong et al., AAAI 2020).

    ``"ire"`` erases one region chosen over the whole image (probability ``image_p``).
    ``"ore"`` erases, for each ground-truth box independently (probability ``object_p``),
    one region inside that box whose area is a fraction ``scale`` of the box's area.
    ``"i+ore"`` does both, drawn independently. Boxes and labels are returned exactly as
    albumentations passed them in; only pixels change (unless ``min_visibility`` drops
    boxes). Without boxes the transform is plain Random Erasing.

    The paper's symbols map to the arguments as: p (per image / per object) ->
    ``image_p`` / ``object_p``; ``s_l, s_h`` -> ``scale``; ``r_1, r_2 = 1 / r_1`` ->
    ``ratio``. The defaults are the paper's detection setting.

    Args:
        params: the erasing arguments as one validated :class:`~detaug.erasing.ErasingParams`
            (e.g. a config's), instead of the keywords below. Default None.
        **erasing: the erasing arguments by keyword (``mode``, ``image_p``, ``object_p``,
            ``scale``, ``ratio``, ``fill``, ...): every field of
            :class:`~detaug.erasing.ErasingParams`, with its default and meaning there (the
            signature lists them all). Here: labels (per-class ``object_p``, ``protect``) are
            the first label field's values as the caller gives them: class names
            (``{"dog": 1.0, "default": 0.0}`` for ``labels=["dog", "cat"]``) or numbers; keys
            of the wrong kind are an error, and a key of digits (``"1"``, as JSON writes int
            keys after ``A.save``/``A.load``) is the number; a constant ``fill`` is in the
            image's units (0-255 for uint8, a fraction for float images: constants are rounded
            to the image's dtype); ``min_visibility`` drops boxes with their labels, measuring
            visibility on the instance mask where the sample has ``masks=``; for
            ``occlude_keypoints`` the COCO visibility must be the first label field of
            ``A.KeypointParams``.
        p: probability that the transform runs at all (albumentations' meaning).
            Default 1.0, so that ``image_p`` and ``object_p`` are the paper's p.

    Targets:
        image, mask, masks, bboxes, keypoints (unchanged unless ``occlude_keypoints``).
        Instance masks: ``masks=`` with one mask per box, in the boxes' order (as
        albumentations' instance-segmentation examples pass them); boxes without a
        usable mask fall back to their box. Boxes partly outside the image are clipped
        for sampling, but albumentations refuses them before any transform runs unless
        the pipeline has ``A.BboxParams(..., clip=True)``. Boxes declared as pixels
        (``pascal_voc``) whose values all lie in [0, 1] get a warning, once.

    Image types:
        uint8, float32 (any numeric dtype works); HW grayscale or HWC with any number
        of channels.

    Raises:
        ValueError: in the constructor, for an invalid argument (naming it and the value);
            when called, for a per-channel fill whose length does not match the image.
        TypeError: when called, for ``fill="random_normal"`` / ``"random_color_normal"``
            on an integer image (N(0, 1) values need a float image).

    Examples:
        >>> import albumentations as A
        >>> import numpy as np
        >>> tf = A.Compose(
        ...     [BoxAwareRandomErasing(mode="ore", object_p=1.0, fill=0)],
        ...     bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
        ...     seed=0, save_applied_params=True,
        ... )
        >>> image = np.full((64, 64, 3), 255, np.uint8)
        >>> out = tf(image=image, bboxes=[[8, 8, 40, 40]], labels=[1])
        >>> len(out["bboxes"]), bool((out["image"] == 0).any())
        (1, True)
        >>> plan = out["applied_transforms"][0][1]["plan"]
        >>> plan.source.tolist()
        [0]

    References:
        Zhong, Zheng, Kang, Li, Yang. Random Erasing Data Augmentation. AAAI 2020
        (arXiv:1708.04896), Algorithm 1 and the object detection section.
    """

    def __init__(self, params: Optional[ErasingParams] = None, *, p: float = 1.0, **erasing: Any):
        super().__init__(p=check_probability("p", p))
        self.erasing = erasing_params(self, params, erasing)
        # albumentations serialises the attributes named like the __init__ arguments.
        for name, value in self.erasing.as_kwargs().items():
            setattr(self, name, value)

    # ------------------------------------------------------------------ sampling
    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """The plan, the boxes it was drawn for (``plan.source`` indexes them: after a crop
        they are the boxes this step received, not the pipeline's output) and which to keep."""
        shape = params["shape"]
        height, width = shape[:2]
        if len(shape) == 3 and shape[0] in (1, 3, 4) and shape[2] > 4:
            raise ValueError(f"{type(self).__name__}: the image has shape {tuple(shape)}, which looks channels-first "
                             "(C, H, W); albumentations images are (H, W, C) numpy arrays: use image.transpose(1, 2, 0)")
        if data.get("bboxes") is None:
            self._warn_no_boxes()
        processor = self.get_processor("bboxes")
        label_fields = len(processor.params.label_fields or ()) if processor is not None else 0
        boxes, labels = _absolute_boxes(data.get("bboxes"), height, width, label_fields)
        if labels is not None and self.erasing.needs_labels:
            labels = _class_labels(processor, labels)
        if boxes is not None and looks_normalised(boxes, (height, width)):
            self._warn_normalised((height, width), processor)
        masks = self._instance_masks(data.get("masks"), boxes)
        plan = sample_plan((height, width), boxes, self.erasing, self._generator(), labels=labels, masks=masks,
                           warn_normalised=False)
        keep = None
        if self.erasing.min_visibility > 0 and boxes is not None and len(boxes):
            keep = box_visibility(boxes, plan, masks=masks) >= self.erasing.min_visibility
        return {"plan": plan, "boxes": boxes, "keep": keep}

    def _warn_no_boxes(self) -> None:
        """Warn (once per transform) when the arguments need boxes and the call had none at
        all (not an empty list: an image without objects is normal)."""
        needs = [name for name, on in (("mode=" + repr(self.erasing.mode), self.erasing.uses_objects),
                                       ("a per-class object_p", self.erasing.per_class),
                                       ("protect", self.erasing.protect is not None)) if on]
        if not needs or getattr(self, "_warned_no_boxes", False):
            return
        self._warned_no_boxes = True
        warnings.warn(
            f"{type(self).__name__} was called without bboxes, so {' and '.join(needs)} "
            f"{'has' if len(needs) == 1 else 'have'} no boxes to use: nothing "
            "is erased inside boxes (only image-level regions are drawn). Is it in an A.Compose without bbox_params? "
            "ultralytics up to 8.4.116 calls custom augmentations that way unless the pipeline holds a transform on "
            "its list of spatial ones: put A.NoOp() first in augmentations=[...], or use ultralytics >= 8.4.117",
            UserWarning, stacklevel=2)

    def _warn_normalised(self, image_size: Tuple[int, int], processor: Any) -> None:
        """Warn (once per transform) for boxes that look normalised but were declared as pixels."""
        if getattr(self, "_warned_normalised", False):
            return
        self._warned_normalised = True
        fmt = processor.params.format if processor is not None else "pascal_voc"
        warnings.warn(f"{type(self).__name__}: " + normalised_boxes_message(
            image_size, f"the boxes were declared as {fmt!r}, pixels: for normalised x_min, y_min, x_max, y_max use "
            "A.BboxParams(format='albumentations'), for YOLO's cx, cy, w, h format='yolo'"), UserWarning, stacklevel=2)

    def _instance_masks(self, masks: Any, boxes: Optional[np.ndarray]) -> Optional[np.ndarray]:
        """The sample's ``masks`` when they are instance masks: one per box, in the boxes' order."""
        if masks is None or boxes is None or len(boxes) == 0:
            return None
        masks = np.asarray(masks)
        masks = masks.any(axis=-1) if masks.ndim == 4 else masks  # (N, H, W, C) -> (N, H, W)
        if masks.ndim == 3 and len(masks) == len(boxes):
            return masks
        if self.erasing.uses_masks:
            raise ValueError(
                f"object_area / erase_within 'mask' need one instance mask per box, in the boxes' order: got masks of "
                f"shape {masks.shape} for {len(boxes)} boxes (albumentations drops boxes but not masks: "
                "put this transform before crops that drop boxes)"
            )
        return None

    def set_random_seed(self, seed: Optional[int]) -> None:
        super().set_random_seed(seed)
        # Seeded in this process (e.g. per sample inside a DataLoader worker): honour it.
        self._seeded_in = os.getpid()

    def _generator(self) -> np.random.Generator:
        """The transform's own generator, or inside a DataLoader worker one per worker.

        albumentations pickles one generator state into every worker, which would make
        all workers erase alike. So in a worker whose copy was last seeded in the parent
        process (``A.Compose(seed=...)`` at construction, or no seed), we derive a
        generator from the worker's torch seed (different per worker and epoch,
        reproducible under ``torch.manual_seed``) and the transform's own stream
        (reproducible under ``A.Compose(seed=...)``). A transform seeded inside the
        worker itself (per sample, as the training engine does) uses exactly that seed,
        so a sample's augmentation does not depend on which worker loads it.
        """
        torch = sys.modules.get("torch")
        info = torch.utils.data.get_worker_info() if torch is not None else None
        if info is None or getattr(self, "_seeded_in", None) == os.getpid():
            return self.random_generator
        key = (os.getpid(), info.id, info.seed)
        if getattr(self, "_worker_key", None) != key:
            self._worker_key = key
            self._worker_rng = np.random.default_rng([info.seed, int(self.random_generator.integers(2**63))])
        return self._worker_rng

    # ------------------------------------------------------------------ applying
    def apply(self, img: np.ndarray, plan: ErasePlan, **params: Any) -> np.ndarray:
        # nothing to erase: the image itself, as albumentations' own transforms return it when not applied
        return apply_plan(img, plan) if len(plan) else img

    def apply_to_mask(self, mask: np.ndarray, plan: ErasePlan, **params: Any) -> np.ndarray:
        if self.erasing.fill_mask is None:
            return mask
        return apply_plan(mask, plan, fill=self.erasing.fill_mask)

    def apply_to_bboxes(self, bboxes: np.ndarray, keep: Optional[np.ndarray] = None, **params: Any) -> np.ndarray:
        if keep is None or keep.all():
            return bboxes
        return bboxes[keep]

    def apply_to_keypoints(self, keypoints: np.ndarray, plan: ErasePlan, **params: Any) -> np.ndarray:
        if not self.erasing.occlude_keypoints or len(plan) == 0 or len(keypoints) == 0:
            return keypoints
        # albumentations keeps x, y, angle, scale and one more column, then the label fields
        if keypoints.shape[1] <= _KEYPOINT_COLUMNS:
            raise ValueError("occlude_keypoints needs the COCO visibility as the first label field of "
                             "A.KeypointParams(label_fields=['visibility', ...])")
        out = keypoints.copy()
        visible = out[:, _KEYPOINT_COLUMNS] == 2
        out[visible & keypoints_erased(out[:, :2], plan), _KEYPOINT_COLUMNS] = 1
        return out

    # ------------------------------------------------------------------ misc
    def get_transform_init_args_names(self) -> Tuple[str, ...]:
        return tuple(self.erasing.as_kwargs())

    def __repr__(self) -> str:
        kwargs = self.erasing.non_default_kwargs()
        if self.p != 1.0:
            kwargs["p"] = self.p
        return f"{type(self).__name__}({format_kwargs(kwargs)})"


def _class_labels(processor: Any, labels: np.ndarray) -> list:
    """The first label field's values as the caller gave them: albumentations hands string
    labels to a transform re-encoded as numbers (0, 1, ... in the order it met them), so
    they are decoded here with its own encoder; numeric labels are returned as they are.

    Examples:
        >>> _class_labels(None, np.array([1.0, 3.0]))
        [1.0, 3.0]
    """
    manager = getattr(processor, "label_manager", None)
    fields = processor.params.label_fields if processor is not None else None
    encoder = manager.get_encoder("bboxes", fields[0]) if manager is not None and fields else None
    if encoder is None:
        return labels.tolist()
    return [encoder.inverse_classes_.get(int(v), v) for v in labels.tolist()]


def _absolute_boxes(bboxes: Any, height: int, width: int,
                    label_fields: int = 0) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """Boxes as albumentations passes them to a transform -> absolute pixel boxes and the
    first label field (None if absent).

    albumentations hands a transform normalised xyxy, then any extra columns the caller's
    boxes carried (detaug's datasets add a row index), then one column per label field:
    the first label field is column ``-label_fields``. Called outside an ``A.Compose``
    (``label_fields`` 0), the fifth column, if any, is taken as the label.

    Examples:
        >>> _absolute_boxes([[0.1, 0.2, 0.5, 0.6, 3.0, 8.0]], 10, 20, label_fields=1)[1].tolist()
        [8.0]
    """
    if bboxes is None:
        return None, None
    boxes = np.asarray(bboxes, dtype=np.float64)
    if boxes.size == 0:
        return np.zeros((0, 4)), None
    boxes = boxes.reshape(len(boxes), -1)
    column = boxes.shape[1] - label_fields if label_fields else 4
    labels = boxes[:, column] if 4 <= column < boxes.shape[1] else None
    return boxes[:, :4] * np.array([width, height, width, height], dtype=np.float64), labels
