"""Errors that mean "the user asked for something that cannot be done", not a bug.

Every command-line tool prints these as one line, ``<prog>: error: <message>``, and exits
with status 2 (argparse's code for usage errors); any other exception is a bug and keeps
its traceback. Subclass :class:`UsageError` for a new kind of input error. The file
errors shared by the dataset loaders and the evaluators' readers live here too (the ground
floor both build on); :mod:`detaug.data.errors` adds the dataset-only ones.
"""

from __future__ import annotations


class UsageError(ValueError):
    """Invalid options, config, or input file: the message names it and says what to do."""


class ConfigError(UsageError):
    """A config that cannot be used: unknown key, wrong type, invalid choice, bad file
    (also :class:`detaug.config.ConfigError`)."""


class DataFileError(UsageError):
    """An input file (a dataset's, a detections file) that cannot be used as it is (the
    message starts with the file)."""


class COCOFormatError(DataFileError):
    """A COCO JSON (instances or results) that does not follow the format."""


class ResultsFileError(DataFileError):
    """A detections file (a devkit result file) that does not follow its format."""
