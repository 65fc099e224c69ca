"""Detection models: torchvision Faster R-CNN variants and a compact CPU model."""

from detaug.models.factory import (
    MODEL_NAMES,
    build_model,
    build_model_from_config,
    model_builder,
    replace_predictor,
    resolve_weights,
)
from detaug.models.small import SmallBackbone, fasterrcnn_small

__all__ = [
    "MODEL_NAMES",
    "SmallBackbone",
    "build_model",
    "build_model_from_config",
    "fasterrcnn_small",
    "model_builder",
    "replace_predictor",
    "resolve_weights",
]
