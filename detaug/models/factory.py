"""Build torchvision Faster R-CNN detectors by name, with weights by torchvision name or file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

from torch import nn
from torchvision.models import MobileNet_V3_Large_Weights, ResNet50_Weights
from torchvision.models.detection import (
    FasterRCNN,
    fasterrcnn_mobilenet_v3_large_320_fpn,
    fasterrcnn_mobilenet_v3_large_fpn,
    fasterrcnn_resnet50_fpn,
    fasterrcnn_resnet50_fpn_v2,
)
from torchvision.models.detection.faster_rcnn import (
    FasterRCNN_MobileNet_V3_Large_320_FPN_Weights,
    FasterRCNN_MobileNet_V3_Large_FPN_Weights,
    FasterRCNN_ResNet50_FPN_V2_Weights,
    FasterRCNN_ResNet50_FPN_Weights,
    FastRCNNPredictor,
)

from detaug.checkpoint import read_model_weights
from detaug.models.small import fasterrcnn_small

# name -> (builder, detector weights enum, backbone weights enum)
_REGISTRY: Dict[str, Tuple[Callable[..., FasterRCNN], Any, Any]] = {
    "fasterrcnn_resnet50_fpn": (fasterrcnn_resnet50_fpn, FasterRCNN_ResNet50_FPN_Weights, ResNet50_Weights),
    "fasterrcnn_resnet50_fpn_v2": (fasterrcnn_resnet50_fpn_v2, FasterRCNN_ResNet50_FPN_V2_Weights, ResNet50_Weights),
    "fasterrcnn_mobilenet_v3_large_fpn": (
        fasterrcnn_mobilenet_v3_large_fpn,
        FasterRCNN_MobileNet_V3_Large_FPN_Weights,
        MobileNet_V3_Large_Weights,
    ),
    "fasterrcnn_mobilenet_v3_large_320_fpn": (
        fasterrcnn_mobilenet_v3_large_320_fpn,
        FasterRCNN_MobileNet_V3_Large_320_FPN_Weights,
        MobileNet_V3_Large_Weights,
    ),
    "fasterrcnn_small": (fasterrcnn_small, None, None),
}

#: Model names :func:`build_model` accepts.
MODEL_NAMES = tuple(_REGISTRY)


def model_builder(name: str) -> Callable[..., FasterRCNN]:
    """The torchvision-style builder of model ``name`` (its keyword arguments are what
    ``model.kwargs`` may add to).

    Raises:
        ValueError: an unknown name, with the valid ones.

    Examples:
        >>> model_builder("fasterrcnn_small").__name__
        'fasterrcnn_small'
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; valid: {', '.join(MODEL_NAMES)}")
    return _REGISTRY[name][0]


def is_weight_file(spec: Optional[str]) -> bool:
    """True if ``spec`` names a local file (an existing path, or ending in .pth / .pt / .bin)."""
    if not spec:
        return False
    return os.path.sep in spec or Path(spec).suffix in (".pth", ".pt", ".bin") or Path(spec).is_file()


def resolve_weights(name: str, weights: Optional[str] = None, weights_backbone: Optional[str] = None):
    """Check the model name and weight specs without loading anything.

    Returns:
        ``(weights, weights_backbone)``, each None, a ``Path`` (local file) or a torchvision
        ``WeightsEnum`` member.

    Raises:
        ValueError: unknown model name (listing the valid ones), unknown torchvision weight
            name (listing the valid ones), a local file that does not exist, or weights for
            the small model given by torchvision name.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; valid: {', '.join(MODEL_NAMES)}")
    _, det_enum, bb_enum = _REGISTRY[name]
    out = []
    for kind, spec, enum in (("weights", weights, det_enum), ("weights_backbone", weights_backbone, bb_enum)):
        if not spec:
            out.append(None)
        elif is_weight_file(spec):
            if not Path(spec).is_file():
                raise ValueError(f"model.{kind}: file not found: {spec}")
            out.append(Path(spec))
        elif enum is None:
            raise ValueError(f"model.{kind}: {name} has no torchvision weights; give a local file, got {spec!r}")
        else:
            try:
                out.append(enum.verify(spec))
            except (ValueError, KeyError) as exc:
                valid = ", ".join(["DEFAULT"] + [w.name for w in enum])
                raise ValueError(f"model.{kind}: unknown weights {spec!r} for {name}; valid: {valid}") from exc
    return tuple(out)


def replace_predictor(model: FasterRCNN, num_classes: int) -> None:
    """Give ``model`` a fresh box predictor for ``num_classes`` (fine-tuning on other classes)."""
    in_features = model.roi_heads.box_predictor.cls_score.in_features
    model.roi_heads.box_predictor = FastRCNNPredictor(in_features, num_classes)


def _load_detector_file(model: FasterRCNN, path: Path, log: Callable[[str], None]) -> None:
    state = read_model_weights(path)
    own = model.state_dict()
    mismatched = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if mismatched:
        if not all(k.startswith("roi_heads.box_predictor.") for k in mismatched):
            raise ValueError(f"{path}: shapes do not match the model for {mismatched[:5]}")
        log(f"{path}: box predictor has other classes; it is re-initialised")
        state = {k: v for k, v in state.items() if k not in mismatched}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if k not in mismatched]
    if missing or unexpected:
        raise ValueError(f"{path}: missing keys {missing[:5]}, unexpected keys {unexpected[:5]}")


def _load_backbone_file(model: FasterRCNN, path: Path, log: Callable[[str], None]) -> None:
    state = read_model_weights(path)
    body = model.backbone.body if hasattr(model.backbone, "body") else model.backbone
    own = body.state_dict()
    matched = {}
    for key, value in state.items():
        for candidate in (key, key.split(".", 1)[-1] if key.startswith(("features.", "backbone.", "body.")) else key):
            if candidate in own and own[candidate].shape == value.shape:
                matched[candidate] = value
                break
    if not matched:
        raise ValueError(f"{path}: no tensor matches the {type(body).__name__} backbone")
    body.load_state_dict(matched, strict=False)
    log(f"loaded {len(matched)}/{len(own)} backbone tensors from {path}")


def _freeze_like_torchvision(model: FasterRCNN, name: str, trainable_layers: Optional[int]) -> None:
    """What torchvision does to a backbone it loads pretrained weights into: frozen batch
    norm (v1 and MobileNet; v2 keeps BatchNorm2d) and only the last ``trainable_layers``
    stages trainable (default 3)."""
    from torchvision.ops.misc import FrozenBatchNorm2d

    body = model.backbone.body
    trainable_layers = 3 if trainable_layers is None else int(trainable_layers)
    if not name.endswith("_v2"):
        for parent in body.modules():
            for child_name, child in list(parent.named_children()):
                if isinstance(child, nn.BatchNorm2d):
                    frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
                    for key in ("weight", "bias", "running_mean", "running_var"):
                        getattr(frozen, key).copy_(getattr(child, key).detach())
                    setattr(parent, child_name, frozen)
    if "resnet" in name:
        layers = ["layer4", "layer3", "layer2", "layer1", "conv1"][:trainable_layers]
        if trainable_layers == 5:
            layers.append("bn1")
        for pname, p in body.named_parameters():
            if all(not pname.startswith(layer) for layer in layers):
                p.requires_grad_(False)
    else:
        blocks = list(body.children())
        stages = [0] + [i for i, b in enumerate(blocks) if getattr(b, "_is_cn", False)] + [len(blocks) - 1]
        freeze_before = len(blocks) if trainable_layers == 0 else stages[max(len(stages) - trainable_layers, 0)]
        for block in blocks[:freeze_before]:
            for p in block.parameters():
                p.requires_grad_(False)


def build_model(
    name: str,
    num_classes: int,
    weights: Optional[str] = None,
    weights_backbone: Optional[str] = None,
    trainable_backbone_layers: Optional[int] = None,
    log: Callable[[str], None] = print,
    **kwargs,
) -> FasterRCNN:
    """Build a Faster R-CNN detector for ``num_classes`` classes (background included).

    Args:
        name: one of :data:`MODEL_NAMES`: ``fasterrcnn_resnet50_fpn`` (v1), ``..._v2``,
            ``fasterrcnn_mobilenet_v3_large_fpn``, ``..._320_fpn`` or ``fasterrcnn_small``.
        num_classes: number of classes including the background.
        weights: detector weights (default None): a torchvision weight name such as
            ``"COCO_V1"`` / ``"DEFAULT"`` (downloaded by torchvision) or a local file (a state
            dict or a detaug checkpoint). A predictor for other classes is replaced.
        weights_backbone: backbone weights (default None): e.g. ``"IMAGENET1K_V1"`` or a file.
        trainable_backbone_layers: as torchvision (default None: torchvision's default).
        log: where to report what was loaded (default ``print``).
        **kwargs: passed to the torchvision builder (e.g. ``min_size``, ``max_size``).

    Raises:
        ValueError: unknown name or weights (see :func:`resolve_weights`).

    Examples:
        >>> build_model("fasterrcnn_small", num_classes=3).roi_heads.box_predictor.cls_score.out_features
        3
        >>> build_model("retinanet", 3)
        Traceback (most recent call last):
        ...
        ValueError: unknown model 'retinanet'; valid: fasterrcnn_resnet50_fpn, fasterrcnn_resnet50_fpn_v2, fasterrcnn_mobilenet_v3_large_fpn, fasterrcnn_mobilenet_v3_large_320_fpn, fasterrcnn_small
    """
    w, wb = resolve_weights(name, weights, weights_backbone)
    builder = model_builder(name)
    if name == "fasterrcnn_small":
        if trainable_backbone_layers is not None:
            raise ValueError("model.trainable_backbone_layers: not used by fasterrcnn_small; leave it null")
        model = builder(num_classes=num_classes, **kwargs)
    else:
        tv_kwargs = dict(kwargs)
        if trainable_backbone_layers is not None:
            tv_kwargs["trainable_backbone_layers"] = trainable_backbone_layers
        tv_weights = w if w is not None and not isinstance(w, Path) else None
        tv_backbone = wb if wb is not None and not isinstance(wb, Path) else None
        if tv_weights is not None:
            # torchvision insists on the weights' own classes; swap the predictor afterwards.
            model = builder(weights=tv_weights, weights_backbone=tv_backbone, **tv_kwargs)
            if len(tv_weights.meta["categories"]) != num_classes:
                replace_predictor(model, num_classes)
            log(f"loaded detector weights {tv_weights}")
        else:
            if isinstance(wb, Path):
                # torchvision freezes layers only when it loads backbone weights itself; a
                # local file gets the same treatment below, after loading
                tv_kwargs.pop("trainable_backbone_layers", None)
            model = builder(weights=None, weights_backbone=tv_backbone, num_classes=num_classes, **tv_kwargs)
            if tv_backbone is not None:
                log(f"loaded backbone weights {tv_backbone}")
    if isinstance(wb, Path):
        _load_backbone_file(model, wb, log)
        if name != "fasterrcnn_small" and w is None:
            _freeze_like_torchvision(model, name, trainable_backbone_layers)
    if isinstance(w, Path):
        _load_detector_file(model, w, log)
        log(f"loaded detector weights from {w}")
    return model


def build_model_from_config(cfg, num_classes: int, log: Callable[[str], None] = print) -> FasterRCNN:
    """:func:`build_model` from a config's ``model`` section."""
    from omegaconf import OmegaConf

    m = cfg.model
    kwargs = dict(OmegaConf.to_container(m.kwargs, resolve=True))
    min_size = m.min_size
    kwargs.setdefault("min_size", tuple(min_size) if OmegaConf.is_list(min_size) else min_size)
    kwargs.setdefault("max_size", m.max_size)
    return build_model(
        m.name,
        num_classes,
        weights=m.weights,
        weights_backbone=m.weights_backbone,
        trainable_backbone_layers=m.trainable_backbone_layers,
        log=log,
        **kwargs,
    )
