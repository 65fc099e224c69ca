"""Training configuration: the typed schema and YAML loading with ``_base_`` inheritance."""

from detaug.config.loading import (
    ConfigError,
    config_to_yaml,
    erasing_kwargs,
    load_config,
    save_config,
    validate_config,
)
from detaug.config.schema import TrainConfig

__all__ = [
    "ConfigError",
    "TrainConfig",
    "config_to_yaml",
    "erasing_kwargs",
    "load_config",
    "save_config",
    "validate_config",
]
