"""Training configuration: the typed schema and YAML loading with ``_base_`` inheritance."""

from detaug.config.loading import (
    ConfigError,
    check_data_paths,
    config_to_yaml,
    erasing_kwargs,
    load_config,
    save_config,
    split_name,
    validate_config,
)
from detaug.config.schema import METRIC_DESCRIPTIONS, METRICS, TrainConfig

__all__ = [
    "METRICS",
    "METRIC_DESCRIPTIONS",
    "ConfigError",
    "TrainConfig",
    "check_data_paths",
    "config_to_yaml",
    "erasing_kwargs",
    "load_config",
    "save_config",
    "split_name",
    "validate_config",
]
