"""Small checks shared by the dataset loaders and the evaluators' file readers (a ground-floor module).

They exist so that every hostile or careless input file meets the same rules: text is
UTF-8 (the error names the file and the line), numbers are finite, a path read from a file
stays inside its folder, and a value echoed in a message is cut to a readable length.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Type, Union

from detaug.errors import DataFileError

__all__ = ["inside_folder", "is_finite_number", "read_utf8", "shorten"]


def shorten(value: Any, limit: int = 80) -> str:
    """``repr(value)`` (a string as it is), cut to about ``limit`` characters.

    A 4 MB malformed line must not be echoed whole in an error message.

    Args:
        value: Anything; strings are quoted with ``repr``.
        limit: Characters kept. Default 80.

    Returns:
        The text, with ``... (N characters)`` appended when it was cut.

    Examples:
        >>> shorten("abc")
        "'abc'"
        >>> shorten("x" * 1000, limit=10)
        "'xxxxxxxx... (1002 characters)"
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}... ({len(text)} characters)"


def is_finite_number(value: Any) -> bool:
    """True for a finite real number that is not a bool (JSON ``true`` is not a number).

    Examples:
        >>> is_finite_number(3), is_finite_number(float("inf")), is_finite_number(True), is_finite_number("3")
        (True, False, False, False)
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def read_utf8(path: Union[str, os.PathLike], error: Type[Exception] = DataFileError) -> str:
    """Read a text file that must be UTF-8; a bad byte is an error naming file and line.

    Args:
        path: The file.
        error: Exception class raised for undecodable bytes. Default
            :class:`~detaug.errors.DataFileError`.

    Returns:
        The decoded text.

    Raises:
        FileNotFoundError: If the file does not exist.
        error: If the bytes are not UTF-8.

    Examples:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> _ = p.write_bytes(b"ok\\nbad \\xff\\n")
        >>> read_utf8(p)
        Traceback (most recent call last):
        ...
        detaug.errors.DataFileError: .../a.txt:2: not UTF-8 text (byte 0xff at offset 7)
    """
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise error(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})"
        ) from None


def inside_folder(folder: Union[str, os.PathLike], name: str) -> Path:
    """``folder / name`` for a relative ``name`` read from a file; refuse one that leaves it.

    The check is on the name itself (no absolute path, drive or ``..`` component, on
    either POSIX or Windows rules), so a symbolic link the user placed inside the folder
    still works.

    Args:
        folder: The folder the name is relative to.
        name: A file name from an annotation or a split list.

    Returns:
        The joined path.

    Raises:
        ValueError: If ``name`` is empty, absolute or has a ``..`` component.

    Examples:
        >>> inside_folder("imgs", "a/b.jpg").as_posix()
        'imgs/a/b.jpg'
        >>> inside_folder("imgs", "../../outside.jpg")
        Traceback (most recent call last):
        ...
        ValueError: '../../outside.jpg' leaves the folder imgs (absolute paths and '..' are refused)
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{shorten(name)} is not a file name")
    for flavour in (PurePosixPath, PureWindowsPath):
        p = flavour(name)
        if p.is_absolute() or p.drive or p.root or ".." in p.parts:
            raise ValueError(
                f"{shorten(name)} leaves the folder {folder} (absolute paths and '..' are refused)"
            )
    return Path(folder) / name
