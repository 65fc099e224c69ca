"""Build a config's augmentation pipeline and datasets (shared by training and visualisation).

:func:`build_transforms` returns exactly the transforms the training tool gives its
datasets, so ``tools/visualize.py`` shows what the model is trained on. The order is

1. horizontal flip (``augmentation.hflip_p``);
2. the extra albumentations transforms of ``augmentation.extra``, in the order given,
   on the image only (boxes and labels stay as they are; see :mod:`detaug.config.extra`);
3. box-aware Random Erasing (``augmentation.erasing``), on the flipped image, as the
   paper erases the network's input.

Resizing is left to the model (``model.min_size`` / ``max_size``, with a list of
``min_size`` for multi-scale training), so erased regions keep their fraction of the
image or box whatever the final scale. The model takes float images in [0, 1] and
normalises them itself; datasets produce them.

One job per module: :mod:`~detaug.pipeline.transforms` (the transform pipelines),
:mod:`~detaug.pipeline.datasets` (the datasets of a config), :mod:`~detaug.pipeline.synthetic` (the built-in set's
generation and splits); ``augmentation.extra``'s entries are read by the config
(:mod:`detaug.config.extra`), which refuses a bad one at load.
"""

from detaug.pipeline.datasets import DatasetBundle, build_datasets, default_metric, split_name
from detaug.pipeline.synthetic import prepare_synthetic
from detaug.pipeline.transforms import build_device_erasing, build_erasing, build_transforms

__all__ = [
    "DatasetBundle",
    "build_datasets",
    "build_device_erasing",
    "build_erasing",
    "build_transforms",
    "default_metric",
    "prepare_synthetic",
    "split_name",
]
