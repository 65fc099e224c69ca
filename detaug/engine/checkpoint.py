"""Checkpoint files: atomic saving, safe loading with errors that name the file, clean-up.

What a training checkpoint holds, and how it is checked and restored, is
:mod:`detaug.engine.state`; this module only reads and writes files.
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
from pathlib import Path
from typing import Any, Dict, List, Union
from zipfile import BadZipFile

import torch

from detaug.errors import UsageError
from detaug.io import atomic_open, temporary_name

PathLike = Union[str, os.PathLike]

#: File names inside a run's output folder.
LAST = "checkpoint_last.pth"
BEST = "checkpoint_best.pth"


class CheckpointError(UsageError):
    """A checkpoint file that cannot be used; the message names the file and the fault."""

    def __init__(self, path: PathLike, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = Path(path), problem


def save_checkpoint(state: Dict[str, Any], path: PathLike) -> Path:
    """Write ``state`` with ``torch.save`` atomically (:func:`detaug.io.atomic_open`).

    If saving fails (disk full, interrupted, an unpicklable object) an existing checkpoint
    at ``path`` is left untouched and no temporary file remains. The file gets the mode
    ``open()`` would give it (an existing checkpoint's, else 0o666 minus the umask).

    Raises:
        detaug.io.DiskFullError: "no space left on <folder>".
    """
    path = Path(path)
    with atomic_open(path) as f:
        torch.save(state, f)  # streamed to the file, never held in memory as bytes
    return path


def _describe_load_error(exc: BaseException) -> str:
    message = str(exc).strip()
    if isinstance(exc, pickle.UnpicklingError) and "Weights only load failed" in message:
        found = re.search(r"GLOBAL ([\w.]+)", message)
        if found:
            return f"not a plain-weights checkpoint; refusing to unpickle (it asks for {found.group(1)})"
        detail = re.search(r"WeightsUnpickler error:\s*(.+)", message)
        reason = f": {detail.group(1).strip()}" if detail else ""
        return ("not a plain-weights checkpoint (corrupt, or a pickle of more than tensors and plain "
                f"types{reason}); refusing to unpickle")
    first = message.split(". ")[0].splitlines()[0][:200] if message else type(exc).__name__
    return f"not a readable PyTorch checkpoint: truncated or corrupt ({first})"


def load_checkpoint(path: PathLike, map_location: Any = "cpu") -> Any:
    """Load a checkpoint with ``weights_only=True``: no code in the file can run.

    Args:
        path: the file.
        map_location: as ``torch.load`` (default ``"cpu"``).

    Returns:
        What the file holds (a training checkpoint is a dict, see :mod:`detaug.engine.state`).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: a folder, an empty, truncated or corrupt file, or a pickle that
            needs more than tensors and plain types ("refusing to unpickle").
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise CheckpointError(path, "is a folder; give a checkpoint file (e.g. its checkpoint_last.pth)")
    if path.stat().st_size == 0:
        raise CheckpointError(path, "is empty (0 bytes)")
    try:
        with warnings.catch_warnings():  # a foreign pickle's protocol is reported by the error below
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location=map_location, weights_only=True)
    except PermissionError as exc:
        raise CheckpointError(path, "cannot be read (permission denied)") from exc
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, BadZipFile, OSError, KeyError,
            AttributeError, TypeError, IndexError, UnicodeDecodeError) as exc:
        raise CheckpointError(path, _describe_load_error(exc)) from exc


def find_checkpoint(path: PathLike) -> Path:
    """A checkpoint file, or the last checkpoint of a run folder.

    Raises:
        FileNotFoundError: naming what was looked for.
    """
    path = Path(path)
    if path.is_dir():
        candidate = path / LAST
        if not candidate.is_file():
            raise FileNotFoundError(f"no {LAST} in {path}")
        return candidate
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return path


def remove_stale_temporaries(folder: PathLike, names=(LAST, BEST)) -> List[Path]:
    """Delete the temporary files that a killed save of ``names`` left in ``folder``.

    A save that is killed (SIGKILL, power loss) cannot remove its temporary file; call
    this when a run starts or resumes, while no save of the run is under way.

    Returns:
        The files removed.
    """
    removed = []
    for name in names:
        for tmp in Path(folder).glob(temporary_name(name)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed
