"""What a training checkpoint holds: building it, checking a loaded one, restoring from it.

A training checkpoint is a dict of tensors and plain types (it loads with
``weights_only=True``): ``model``, ``optimizer``, ``scheduler``, ``scaler`` (state dicts),
``epoch`` (the epoch being trained, 0-based), ``iteration`` (iterations of it done),
``global_step``, ``rng`` (every process's Python, NumPy and torch generator states: restoring
them is what makes a resumed run continue exactly as an uninterrupted one), ``config`` (the
resolved config), ``best`` (the validation selection so far) and ``metrics``. Every check
raises :class:`~detaug.checkpoint.CheckpointError` naming the file and the fault, so a bad
file is one clear error line, not a traceback from deep inside torch.
"""

from __future__ import annotations

import copy
import random
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

from detaug.checkpoint import CheckpointError, PathLike, model_weights
from detaug.engine.distributed import unwrap_model

#: The keys a checkpoint needs to resume a run, and their types.
RESUME_KEYS = {"model": dict, "optimizer": dict, "scheduler": dict, "epoch": int, "iteration": int,
               "global_step": int, "rng": list, "config": dict}


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng_state() -> Dict[str, Any]:
    """The Python, NumPy, torch CPU and CUDA generator states of this process."""
    np_state = np.random.get_state()
    state = {
        "python": [list(x) if isinstance(x, tuple) else x for x in random.getstate()],
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def check_rng_state(state: Any) -> Tuple[tuple, tuple, torch.Tensor]:
    """The Python, NumPy and torch states of a :func:`capture_rng_state` in the form each
    library's ``setstate`` takes; ValueError if ``state`` is malformed.

    Examples:
        >>> _ = check_rng_state(capture_rng_state())
        >>> check_rng_state({"python": [3]})
        Traceback (most recent call last):
        ...
        ValueError: malformed random-generator state (KeyError: missing 'numpy')
    """
    try:
        py = tuple(tuple(x) if isinstance(x, list) else x for x in state["python"])
        n = state["numpy"]
        keys = n["keys"].numpy().astype(np.uint32)
        np_state = (n["name"], keys, int(n["pos"]), int(n["has_gauss"]), float(n["cached_gaussian"]))
        # set on throwaway generators first, so that a bad state changes nothing
        random.Random().setstate(py)
        np.random.RandomState().set_state(np_state)
        torch.Generator().set_state(state["torch"])
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0][:200]
        raise ValueError(f"malformed random-generator state ({type(exc).__name__}: {detail})") from exc
    return py, np_state, state["torch"]


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Undo :func:`capture_rng_state`; ValueError, and nothing changed, if ``state`` is malformed."""
    py, np_state, torch_state = check_rng_state(state)
    random.setstate(py)
    np.random.set_state(np_state)
    torch.set_rng_state(torch_state)
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def make_state(model: torch.nn.Module, optimizer: Optional[torch.optim.Optimizer], scheduler: Optional[Any],
               scaler: Optional[Any], *, epoch: int, iteration: int, global_step: int, config: Dict[str, Any],
               best: Optional[Dict[str, Any]] = None, metrics: Optional[Dict[str, Any]] = None,
               rng: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    """Everything a run needs to continue exactly (the module docstring lists it); ``rng``:
    every process's :func:`capture_rng_state` in rank order (default: this process's alone)."""
    return {"model": unwrap_model(model).state_dict(),
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": scaler.state_dict() if scaler is not None else None,
            "epoch": int(epoch), "iteration": int(iteration), "global_step": int(global_step),
            "rng": rng if rng is not None else [capture_rng_state()],
            "config": config, "best": best or {}, "metrics": metrics or {}}


def _kind(value: Any) -> str:
    return "None" if value is None else f"a {type(value).__name__}"


def check_training_state(state: Any, path: PathLike) -> Dict[str, Any]:
    """Return ``state`` if it is a training checkpoint a run can resume from; CheckpointError
    for a key missing or of the wrong type, negative counters or a malformed generator state."""
    if not isinstance(state, dict):
        raise CheckpointError(path, f"holds {_kind(state)}, not a training checkpoint "
                                    f"(a dict with {', '.join(RESUME_KEYS)})")
    missing = [k for k in RESUME_KEYS if k not in state]
    if missing:
        raise CheckpointError(path, f"cannot be resumed: it has no {', '.join(map(repr, missing))} "
                                    "(weights alone can be evaluated with --eval-only or used as model.weights)")
    if state["config"] is None:
        raise CheckpointError(path, "its 'config' is None, so the run it belongs to is unknown; "
                                    "refusing to resume it under another config")
    for key, kind in RESUME_KEYS.items():
        value = state[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CheckpointError(path, f"{key!r} is {_kind(value)}, expected a {kind.__name__}")
        if kind is int and value < 0:
            raise CheckpointError(path, f"{key!r} is {value}, expected >= 0")
    model_weights(state, path)
    if not state["rng"]:
        raise CheckpointError(path, "'rng' is empty, expected one generator state per process")
    for i, rng in enumerate(state["rng"]):
        try:
            check_rng_state(rng)
        except ValueError as exc:
            raise CheckpointError(path, f"'rng'[{i}]: {exc}") from exc
    return state


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: Dict[str, Any], path: PathLike) -> None:
    """``optimizer.load_state_dict(state)``, with the per-parameter buffers checked too
    (torch accepts momentum buffers of the wrong shape and fails at the next step)."""
    try:
        optimizer.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as exc:
        text = str(exc).strip()
        first_line = text.splitlines()[0][:300] if text else type(exc).__name__
        raise CheckpointError(path, f"'optimizer' does not fit the model: {first_line}") from exc
    for group in optimizer.param_groups:
        for p in group["params"]:
            for name, buf in optimizer.state.get(p, {}).items():
                if isinstance(buf, torch.Tensor) and buf.dim() > 0 and buf.shape != p.shape:
                    raise CheckpointError(path, f"'optimizer' holds a {name} of shape {tuple(buf.shape)} for a "
                                                f"parameter of shape {tuple(p.shape)}")


def load_scheduler_state(scheduler: Any, state: Dict[str, Any], path: PathLike) -> None:
    """The position of a saved ``LambdaLR``; the schedule's shape and base lr stay the config's,
    so ``--resume --set schedule.epochs=N`` lengthens a run and a changed ``optim.lr`` (or
    number of processes) applies from the next step."""
    step = state.get("last_epoch")
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CheckpointError(path, f"'scheduler' has no valid step count (last_epoch: {step!r})")
    own = scheduler.state_dict()
    saved = {k: state[k] for k in own if k in state and k not in ("base_lrs", "lr_lambdas")}
    saved["lr_lambdas"] = [None] * len(scheduler.lr_lambdas)  # None: LambdaLR keeps its own
    scheduler.load_state_dict(saved)
    # the lr of the step about to be taken, as LambdaLR.step() would have set it
    for group, base, factor in zip(scheduler.optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas):
        group["lr"] = base * factor(step)


def run_config(state: Dict[str, Any]) -> Dict[str, Any]:
    """The config a checked training checkpoint was trained with, as a plain dict.

    Checkpoints written before ``optim.lr_batch`` existed used ``optim.lr`` for the global batch
    they ran with (processes x images per process): that is their ``lr_batch``, so they resume
    at the lr they had."""
    from detaug.config.schema import DataConfig

    config = copy.deepcopy(state["config"])
    optim = config.setdefault("optim", {})
    if "lr_batch" not in optim:
        optim["lr_batch"] = len(state["rng"]) * config.get("data", {}).get("batch_size", DataConfig.batch_size)
    return config
