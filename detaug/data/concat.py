"""Concatenation of detection datasets that keeps their metadata API working."""

from __future__ import annotations

import bisect
from typing import Any, Dict, List, Sequence, Tuple

from torch.utils.data import ConcatDataset

__all__ = ["DetectionConcatDataset"]


class DetectionConcatDataset(ConcatDataset):
    """``ConcatDataset`` for detection datasets (e.g. VOC 07+12 trainval).

    Index-based methods (``get_image_size``, ``get_annotation``, ``get_target``) are
    forwarded to the part holding the index, ``image_names`` is the concatenation and
    ``target["image_id"]`` is renumbered to the concatenated index, so predictions keyed
    by index go to an evaluator unchanged.

    Args:
        datasets: The parts; they must share the same ``classes``.

    Attributes:
        classes: The shared class list.
        year: The parts' common year, or None when they differ.
        use_07_metric: The first part's metric default.

    Raises:
        ValueError: If the parts' class lists differ or there are no parts.

    Examples:
        >>> import tempfile
        >>> from detaug.data import generate_synthetic, VOCDetection
        >>> info = generate_synthetic(tempfile.mkdtemp(), num_train=3, num_test=2)
        >>> a = VOCDetection(info.voc_root, "train", classes=info.classes)
        >>> b = VOCDetection(info.voc_root, "test", classes=info.classes)
        >>> ds = DetectionConcatDataset([a, b])
        >>> ds.get_image_size(3) == b.get_image_size(0), ds.image_names[3] == b.image_names[0]
        (True, True)
    """

    def __init__(self, datasets: Sequence[Any]) -> None:
        datasets = list(datasets)
        if not datasets:
            raise ValueError("datasets must not be empty")
        super().__init__(datasets)
        classes = [list(getattr(d, "classes", [])) for d in datasets]
        if any(c != classes[0] for c in classes):
            raise ValueError(f"the datasets have different class lists: {classes}")
        self.classes: List[str] = classes[0]
        years = {getattr(d, "year", None) for d in datasets}
        self.year = years.pop() if len(years) == 1 else None
        self.use_07_metric = bool(getattr(datasets[0], "use_07_metric", False))

    def _locate(self, idx: int) -> Tuple[Any, int]:
        if idx < 0:
            idx += len(self)
        if not 0 <= idx < len(self):
            raise IndexError(f"index {idx} out of range for {len(self)} items")
        part = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[part - 1] if part > 0 else 0
        return self.datasets[part], idx - start

    def __getitem__(self, idx: int):
        if idx < 0:
            idx += len(self)
        ds, local = self._locate(idx)
        image, target = ds[local]
        target = dict(target)
        target["image_id"] = idx
        return image, target

    def get_image_size(self, idx: int) -> Tuple[int, int]:
        """Return ``(height, width)`` of item ``idx`` without decoding it."""
        ds, local = self._locate(idx)
        return ds.get_image_size(local)

    def get_annotation(self, idx: int) -> Dict[str, Any]:
        """Return the raw annotation of item ``idx`` (see ``VOCDetection.get_annotation``)."""
        ds, local = self._locate(idx)
        return ds.get_annotation(local)

    def get_target(self, idx: int) -> Dict[str, Any]:
        """Return the untransformed target of item ``idx``, ``image_id`` renumbered."""
        ds, local = self._locate(idx)
        target = dict(ds.get_target(local))
        target["image_id"] = idx if idx >= 0 else idx + len(self)
        return target

    @property
    def image_names(self) -> List[str]:
        """Image names of all parts, in order."""
        return [n for d in self.datasets for n in d.image_names]

    @property
    def transforms(self) -> Any:
        """The parts' transform pipeline; setting it sets it on every part."""
        return getattr(self.datasets[0], "transforms", None)

    @transforms.setter
    def transforms(self, value: Any) -> None:
        for d in self.datasets:
            d.transforms = value
