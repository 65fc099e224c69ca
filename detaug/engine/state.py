"""What a training checkpoint holds: building it, checking a loaded one, restoring from it.

A training checkpoint is a dict of tensors and plain types (it loads with
``weights_only=True``): ``model``, ``optimizer``, ``scheduler``, ``scaler`` (state dicts),
``epoch`` (the epoch being trained, 0-based), ``iteration`` (iterations of it done),
``global_step``, ``rng`` (one generator state per process), ``config`` (the resolved
config), ``best`` (the validation selection so far) and ``metrics``. Every check here
raises :class:`~detaug.checkpoint.CheckpointError` naming the file and the fault,
so a bad file is one clear error line, not a traceback from deep inside torch.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Dict, List, Optional, Union

import torch

from detaug.checkpoint import CheckpointError, model_weights
from detaug.engine.distributed import unwrap_model
from detaug.engine.rng import capture_rng_state, check_rng_state

PathLike = Union[str, os.PathLike]

#: The keys a checkpoint needs to resume a run, and their types.
RESUME_KEYS = {"model": dict, "optimizer": dict, "scheduler": dict, "epoch": int, "iteration": int,
               "global_step": int, "rng": list, "config": dict}


def make_state(
    model: torch.nn.Module,
    optimizer: Optional[torch.optim.Optimizer],
    scheduler: Optional[Any],
    scaler: Optional[Any],
    *,
    epoch: int,
    iteration: int,
    global_step: int,
    config: Dict[str, Any],
    best: Optional[Dict[str, Any]] = None,
    metrics: Optional[Dict[str, Any]] = None,
    rng: Optional[List[Dict[str, Any]]] = None,
) -> Dict[str, Any]:
    """Everything a run needs to continue exactly.

    Args:
        model, optimizer, scheduler, scaler: their state dicts are stored (None: None).
        epoch: the epoch being trained (0-based); ``iteration``: its iterations done
            (0 <= iteration <= iterations per epoch); ``global_step``: all steps so far.
        config: the resolved config as a plain dict.
        best: the best validation result so far (default: none).
        metrics: the evaluation at this point, if any.
        rng: every process's :func:`~detaug.engine.rng.capture_rng_state` in rank order
            (default: this process's alone).
    """
    return {
        "model": unwrap_model(model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "epoch": int(epoch),
        "iteration": int(iteration),
        "global_step": int(global_step),
        "rng": rng if rng is not None else [capture_rng_state()],
        "config": config,
        "best": best or {},
        "metrics": metrics or {},
    }


def _kind(value: Any) -> str:
    return "None" if value is None else f"a {type(value).__name__}"


def check_training_state(state: Any, path: PathLike) -> Dict[str, Any]:
    """Return ``state`` if it is a training checkpoint a run can resume from.

    Raises:
        CheckpointError: not a dict, a key missing or of the wrong type (a ``config`` of
            None among them), negative counters, weights that are not tensors, or a
            malformed random-generator state.
    """
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: Dict[str, Any], path: PathLike) -> None:
    """``optimizer.load_state_dict(state)``, with the per-parameter buffers checked too
    (torch accepts momentum buffers of the wrong shape and fails at the next step).

    Raises:
        CheckpointError: the state does not fit the optimiser's parameters.
    """
    try:
        optimizer.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise CheckpointError(path, f"'optimizer' does not fit the model: {_first_line(exc)}") from exc
    for group in optimizer.param_groups:
        for p in group["params"]:
            for name, buf in optimizer.state.get(p, {}).items():
                if isinstance(buf, torch.Tensor) and buf.dim() > 0 and buf.shape != p.shape:
                    raise CheckpointError(path, f"'optimizer' holds a {name} of shape {tuple(buf.shape)} for a "
                                                f"parameter of shape {tuple(p.shape)}")


def load_scheduler_state(scheduler: Any, state: Dict[str, Any], path: PathLike) -> None:
    """The position of a saved ``LambdaLR``; the schedule's shape and base lr stay the config's.

    So ``--resume --set schedule.epochs=N`` lengthens a run and a changed ``optim.lr`` (or
    number of processes) applies from the next step.

    Raises:
        CheckpointError: no integer step count (``last_epoch``).
    """
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

    Checkpoints written before ``optim.lr_batch`` existed used ``optim.lr`` for the global
    batch they ran with; ``lr_batch`` is set to that batch (processes x images per
    process), so that such a run resumes at the lr it had.
    """
    from detaug.config.schema import DataConfig

    config = copy.deepcopy(state["config"])
    optim = config.setdefault("optim", {})
    if "lr_batch" not in optim:
        optim["lr_batch"] = len(state["rng"]) * config.get("data", {}).get("batch_size", DataConfig.batch_size)
    return config
