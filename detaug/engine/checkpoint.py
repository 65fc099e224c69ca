"""Checkpoints: atomic writes, safe loading, and the RNG states needed for exact resumption."""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np
import torch

from detaug.io import _target_mode

PathLike = Union[str, os.PathLike]

#: File names inside a run's output folder.
LAST = "checkpoint_last.pth"
BEST = "checkpoint_best.pth"


def save_checkpoint(state: Dict[str, Any], path: PathLike) -> Path:
    """Write ``state`` with ``torch.save`` atomically: a temporary file, fsync, ``os.replace``.

    If saving fails (disk full, interrupted, an unpicklable object) the temporary file is
    removed and an existing checkpoint at ``path`` is left untouched. The file gets the mode
    ``open()`` would give it (an existing checkpoint's, else 0o666 minus the umask), not
    the 0600 of the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _target_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)  # streamed to the file, never held in memory as bytes
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), mode)  # mkstemp creates 0600 and os.replace keeps that
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path: PathLike, map_location: Any = "cpu") -> Dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` (no arbitrary code runs on load)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return torch.load(path, map_location=map_location, weights_only=True)


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


def capture_rng_state() -> Dict[str, Any]:
    """The Python, NumPy, torch CPU and CUDA generator states, as tensors and plain types
    (so that the checkpoint loads with ``weights_only=True``)."""
    np_state = np.random.get_state()
    state = {
        "python": [list(x) if isinstance(x, tuple) else x for x in random.getstate()],
        "numpy": {
            "name": np_state[0],
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Undo :func:`capture_rng_state`."""
    py = state["python"]
    random.setstate(tuple(tuple(x) if isinstance(x, list) else x for x in py))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside DistributedDataParallel / DataParallel."""
    return model.module if hasattr(model, "module") else model


def make_state(
    model: torch.nn.Module,
    optimizer: Optional[torch.optim.Optimizer],
    scheduler: Optional[Any],
    scaler: Optional[Any],
    epoch: int,
    iteration: int,
    global_step: int,
    config: Dict[str, Any],
    best: Optional[Dict[str, Any]] = None,
    metrics: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """Everything a run needs to continue exactly.

    ``epoch`` is the epoch being trained and ``iteration`` the number of its iterations
    already done (0 <= iteration <= iterations per epoch); ``global_step`` counts all steps.
    """
    return {
        "model": unwrap_model(model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "epoch": int(epoch),
        "iteration": int(iteration),
        "global_step": int(global_step),
        "rng": capture_rng_state(),
        "config": config,
        "best": best or {},
        "metrics": metrics or {},
    }
