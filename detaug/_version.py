"""The package version (read by setup.cfg without importing detaug)."""

__version__ = "0.3.0"
