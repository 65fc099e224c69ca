"""Text records on the ground floor: JSON lines appended and read back safely (YAML that
others wrote is read by :mod:`detaug.safe_yaml`).

:func:`append_line` adds one line to a log or a JSON-lines file, starting it on a fresh
line when the file's last line was cut (a killed writer, a full disk), so the cut line
stays the only casualty and the new record is read back whole; :func:`read_records` reads
the whole records back, skipping a cut line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List

from detaug.io import PathLike

__all__ = ["append_line", "read_records"]


def append_line(path: PathLike, line: str, sync: bool = False) -> None:
    """Append ``line`` (without its newline) to ``path`` on a line of its own.

    Examples:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "m.jsonl"
        >>> _ = p.write_text('{"a": 1}\\n{"b": ')  # the last record was cut
        >>> append_line(p, '{"c": 3}')
        >>> p.read_text().splitlines()
        ['{"a": 1}', '{"b": ', '{"c": 3}']
    """
    path = Path(path)
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        fresh = f.tell() == 0
        if not fresh:
            f.seek(-1, os.SEEK_END)
            fresh = f.read(1) == b"\n"
            f.seek(0, os.SEEK_END)
        f.write((b"" if fresh else b"\n") + line.encode("utf-8") + b"\n")
        f.flush()
        if sync:
            os.fsync(f.fileno())


def read_records(path: PathLike, type: Any = None) -> List[Dict[str, Any]]:
    """The JSON-object lines of a JSON-lines file (``metrics.jsonl``), in order, those of
    ``"type": type`` only when ``type`` is given; lines that are not a whole JSON object (one
    cut by an interruption, a stray value) are skipped.

    Raises:
        OSError: the file cannot be read.

    Examples:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "m.jsonl"
        >>> _ = p.write_text('{"type": "eval", "epoch": 1}\\n[1]\\n{"type": "train"}\\n{"type": "ev')
        >>> read_records(p, "eval")
        [{'type': 'eval', 'epoch': 1}]
    """
    out = []
    for line in Path(path).read_bytes().decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line) if line.strip() else None
        except ValueError:
            continue
        if isinstance(record, dict) and (type is None or record.get("type") == type):
            out.append(record)
    return out
