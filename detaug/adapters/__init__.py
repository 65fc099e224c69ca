"""Framework front-ends over the erasing core.

- :mod:`detaug.adapters.albumentations`: ``BoxAwareRandomErasing`` for ``A.Compose``
  (also ``detaug.BoxAwareRandomErasing``).
- :mod:`detaug.adapters.torchvision`: ``BoxAwareRandomErasing`` for ``torchvision.transforms.v2``
  (also ``detaug.tv.BoxAwareRandomErasing``).

Both front-ends call the same functions of :mod:`detaug.erasing` with the same argument
names; ``import detaug`` loads the albumentations one (so that ``A.from_dict`` finds it).
"""
