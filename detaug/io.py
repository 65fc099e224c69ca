"""File writing shared by every part of detaug: atomic writes, a full disk named, JSON values.

Every file detaug writes for other tools to read (annotations, result files, manifests,
checkpoints) goes through :func:`atomic_open` (or :func:`atomic_write_bytes` /
:func:`atomic_write_text` over it): the content goes to a temporary file in the same
folder and is moved into place with :func:`os.replace`, so a reader never sees a
half-written file and a failed write leaves the previous file as it was.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["DiskFullError", "atomic_open", "atomic_write_bytes", "atomic_write_text", "read_user_text", "temporary_name",
           "to_jsonable"]

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OSError):
    """A write failed because the file system (or the user's quota) is full."""

    def __str__(self) -> str:
        return self.strerror or super().__str__()


def temporary_name(path: PathLike) -> str:
    """The name pattern of :func:`atomic_open`'s temporary files for ``path`` (a glob).

    Examples:
        >>> temporary_name("runs/a/checkpoint_last.pth")
        '.checkpoint_last.pth.*.tmp'
    """
    return f".{Path(path).name}.*.tmp"


def _disk_full(exc: BaseException) -> bool:
    # torch.save reports a failed write as a RuntimeError ("unexpected pos ...") whose
    # context is the OSError, so the whole chain is searched.
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@contextlib.contextmanager
def atomic_open(path: PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for writing bytes; move it into place on success.

    The temporary file is created with mode 0o666, so the umask applies as for ``open()``;
    a file that already exists keeps its mode. On any failure the temporary file is
    removed and ``path`` is left as it was.

    Args:
        path: Destination file. Its parent folder is created if needed.

    Yields:
        The open binary file (write, flush; it is fsync'ed and closed here).

    Raises:
        DiskFullError: the file system is full ("no space left on <folder>"); the
            previous file at ``path`` is kept.

    Examples:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> with atomic_open(d / "a.bin") as f:
        ...     _ = f.write(b"xyz")
        >>> (d / "a.bin").read_bytes(), sorted(p.name for p in d.iterdir())
        (b'xyz', ['a.bin'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(temporary_name(path).replace("*", uuid.uuid4().hex[:12]))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if _disk_full(exc):
            raise DiskFullError(errno.ENOSPC, f"no space left on {path.parent.resolve()} (writing {path.name}; "
                                "the previous file is kept)") from exc
        raise


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`).

    Args:
        path: Destination file. Its parent folder is created if needed.
        data: The bytes to write.

    Returns:
        The destination as a :class:`pathlib.Path`.

    Raises:
        DiskFullError: the file system is full.

    Examples:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> atomic_write_bytes(d / "a.bin", b"xyz").read_bytes()
        b'xyz'
    """
    with atomic_open(path) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: PathLike, text: str) -> Path:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8; returns ``path`` as a :class:`pathlib.Path`.

    Examples:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> atomic_write_text(d / "a.txt", "hello").read_text()
        'hello'
    """
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(obj: Any) -> Any:
    """``obj`` with numpy and torch values made plain (for ``json.dumps``).

    Dict keys become strings, tuples lists, paths strings; numpy scalars and arrays and
    torch tensors become Python numbers and lists (through their ``tolist()``); NaN and
    infinities (the AP of a class without ground truth) become ``None``, JSON's ``null``,
    so that the result is strict JSON (``json.dumps(..., allow_nan=False)``).

    Args:
        obj: Nested dicts, lists and tuples of such values.

    Returns:
        The same structure of plain Python values.

    Examples:
        >>> import numpy as np
        >>> to_jsonable({1: (np.float32(0.5), np.arange(2)), "AP": float("nan")})
        {'1': [0.5, [0, 1]], 'AP': None}
    """
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "tolist"):
        return to_jsonable(obj.tolist())
    return obj


def read_user_text(path: Union[str, os.PathLike], kind: str, error: type = ValueError) -> str:
    """The UTF-8 text of a file a user gave (a config, a metrics file), or ``error`` whose
    message starts with the path and says it is not a ``kind`` file (not text, NUL bytes)
    or cannot be read; the content is never quoted.

    Examples:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "x.yaml"
        >>> _ = p.write_bytes(b"\\xff\\x00")
        >>> read_user_text(p, "YAML")
        Traceback (most recent call last):
        ...
        ValueError: ...x.yaml: not a YAML file (not UTF-8 text)
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{path}: not a {kind} file (not UTF-8 text)") from None
    except OSError as exc:
        raise error(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if "\x00" in text:
        raise error(f"{path}: not a {kind} file (it holds NUL bytes: a binary file?)")
    return text
