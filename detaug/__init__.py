"""detaug: box-aware Random Erasing (IRE, ORE, I+ORE) for object detection."""

__version__ = "0.1.0"
