"""The checkpoint file format: atomic saving, safe loading, the model weights in it, one error type.

A ground-floor module (beside :mod:`detaug.io`): the engine, the model builders and the
occlusion scoring all read checkpoints through it, and it is the one place that finds a
model's weights in a file (:func:`model_weights`, :func:`read_model_weights`) and loads
them into a model (:func:`load_model_weights`). What else a *training* checkpoint holds
(optimizer, scheduler, random states), and how resuming checks it, is
:mod:`detaug.engine.state`. torch is imported on first use, so reading the file names
(:data:`LAST`, :data:`BEST`) costs nothing.
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Union
from zipfile import BadZipFile

from detaug.errors import UsageError
from detaug.io import atomic_open, temporary_name

if TYPE_CHECKING:
    import torch

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
    import torch

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
    import torch

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


def _kind(value: Any) -> str:
    """How an error names a value's type: ``"a list"``, ``"None"``."""
    return "None" if value is None else f"a {type(value).__name__}"


def model_weights(state: Any, path: PathLike) -> Dict[str, torch.Tensor]:
    """The model's state dict in a training checkpoint (its ``"model"``), or ``state``
    itself if it is one; keys saved from a ``DistributedDataParallel`` model lose their
    ``module.`` prefix.

    Raises:
        CheckpointError: no dict of tensors found.
    """
    import torch

    weights = state.get("model", state) if isinstance(state, dict) else state
    if not isinstance(weights, dict) or not weights:
        raise CheckpointError(path, f"holds no model weights ({_kind(weights)}; expected a training checkpoint "
                                    "or a state dict of tensors)")
    bad = [k for k, v in weights.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(path, f"model weights hold non-tensors, e.g. {bad[0]!r}: {_kind(weights[bad[0]])}")
    if any(isinstance(k, str) and k.startswith("module.") for k in weights):
        weights = {k[len("module."):] if k.startswith("module.") else k: v for k, v in weights.items()}
    return weights


def read_model_weights(path: PathLike) -> Dict[str, torch.Tensor]:
    """:func:`load_checkpoint` then :func:`model_weights`: the weights a file holds for a model.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: an unreadable file, or one without a state dict of tensors.
    """
    return model_weights(load_checkpoint(path), path)


def read_trained(path: PathLike) -> Dict[str, Any]:
    """:func:`load_checkpoint`, checked to be a detaug training checkpoint: a dict with the
    ``config`` it was trained with and model weights (:func:`model_weights`).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: an unreadable file, no ``config`` (e.g. a bare state dict), or no
            state dict of tensors.
    """
    state = load_checkpoint(path)
    if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
        raise CheckpointError(path, "is not a detaug training checkpoint (no 'config': the run it belongs to is "
                                    "unknown; score bare weights with detaug-train --eval-only --checkpoint FILE --config ...)")
    model_weights(state, path)
    return state


def load_model_weights(model: torch.nn.Module, weights: Dict[str, torch.Tensor], path: PathLike) -> None:
    """``model.load_state_dict(weights)`` (strict; into the module inside
    ``DistributedDataParallel``), a mismatch named as the file's fault.

    Raises:
        CheckpointError: missing or unexpected keys, or tensors of other shapes.
    """
    try:
        getattr(model, "module", model).load_state_dict(weights)
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        detail = " ".join(str(exc).split())[:400]
        raise CheckpointError(path, f"its weights do not fit the config's model: {detail}") from exc
