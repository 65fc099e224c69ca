"""Framework front-ends over the erasing core.

- :mod:`detaug.adapters.albumentations`: ``BoxAwareRandomErasing`` for ``A.Compose``
  (also ``detaug.BoxAwareRandomErasing``).
- :mod:`detaug.adapters.torchvision`: ``BoxAwareRandomErasing`` for ``torchvision.transforms.v2``
  (also ``detaug.tv.BoxAwareRandomErasing``).

The submodules are imported on demand so that using one front-end does not import
the other framework.
"""
