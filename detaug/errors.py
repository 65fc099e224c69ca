"""Errors that mean "the user asked for something that cannot be done", not a bug.

Every command-line tool prints these as one line, ``<prog>: error: <message>``, and exits
with status 2 (argparse's code for usage errors); any other exception is a bug and keeps
its traceback. Subclass :class:`UsageError` for a new kind of input error.
"""

from __future__ import annotations


class UsageError(ValueError):
    """Invalid options, config, or input file: the message names it and says what to do."""
