"""Errors and warnings for unusable dataset files (annotations, images, masks, split lists).

Each is a :class:`detaug.errors.UsageError` (a ``ValueError``), so a command-line tool
prints it as one ``<prog>: error: ...`` line and exits with status 2. Messages start with
the offending file, then name the record and the field, and say what was expected.
:class:`DataFileError`, :class:`COCOFormatError` and :class:`ResultsFileError` are shared
with the evaluators and defined in :mod:`detaug.errors`.
"""

from __future__ import annotations

from detaug.errors import COCOFormatError, DataFileError, ResultsFileError

__all__ = [
    "COCOFormatError",
    "DataFileError",
    "ImageFileError",
    "ResultsFileError",
    "VOCAnnotationError",
    "VOCAnnotationWarning",
]


class VOCAnnotationError(DataFileError):
    """A VOC annotation problem (the message starts with the offending file)."""


class VOCAnnotationWarning(UserWarning):
    """Warning for a VOC annotation problem when the dataset is not strict."""


class ImageFileError(DataFileError):
    """An image or mask file that cannot be decoded into the pixels it claims."""

