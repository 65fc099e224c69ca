"""Errors and warnings for unusable dataset files (annotations, images, masks, split lists).

Each is a :class:`detaug.errors.UsageError` (a ``ValueError``), so a command-line tool
prints it as one ``<prog>: error: ...`` line and exits with status 2. Messages start with
the offending file, then name the record and the field, and say what was expected.
"""

from __future__ import annotations

from detaug.errors import UsageError

__all__ = [
    "COCOFormatError",
    "DataFileError",
    "ImageFileError",
    "ResultsFileError",
    "VOCAnnotationError",
    "VOCAnnotationWarning",
]


class DataFileError(UsageError):
    """A dataset file that cannot be used as it is (the message starts with the file)."""


class VOCAnnotationError(DataFileError):
    """A VOC annotation problem (the message starts with the offending file)."""


class VOCAnnotationWarning(UserWarning):
    """Warning for a VOC annotation problem when the dataset is not strict."""


class COCOFormatError(DataFileError):
    """A COCO JSON (instances or results) that does not follow the format."""


class ImageFileError(DataFileError):
    """An image or mask file that cannot be decoded into the pixels it claims."""


class ResultsFileError(DataFileError):
    """A detections file (a devkit result file) that does not follow its format."""
