"""The torchvision-v2 front-end: ``from detaug.tv import BoxAwareRandomErasing``."""

from detaug.adapters.torchvision import BoxAwareRandomErasing

__all__ = ["BoxAwareRandomErasing"]
