"""Which code produced a result: the git commit of the detaug checkout, whether it had
uncommitted changes, and a hash of the package's source files.

The hash is what decides whether two runs were trained by the same code: it covers every
``.py`` file of the installed ``detaug`` package (documentation and tests are not part
of it), so it also works for a wheel install, where there is no git commit.
"""

from __future__ import annotations

import hashlib
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional

__all__ = ["code_hash", "source_revision"]

_PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def code_hash() -> str:
    """SHA-256 (first 16 hex digits) over the relative path and bytes of every ``.py`` file
    of the ``detaug`` package.

    Examples:
        >>> len(code_hash()), code_hash() == code_hash()
        (16, True)
    """
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _git(*args: str) -> Optional[str]:
    try:
        done = subprocess.run(["git", "-C", str(_PACKAGE.parent), *args], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def source_revision() -> Dict[str, Any]:
    """``{"commit", "dirty", "code_hash", "version"}`` of the running detaug.

    ``commit`` is None outside a git checkout (a wheel install); ``dirty`` is True when the
    package's files differ from that commit (None without git).
    """
    from detaug._version import __version__

    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--", "detaug") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status), "code_hash": code_hash(),
            "version": __version__}
