"""One training epoch of a torchvision detection model."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Optional

import torch

from detaug.engine.distributed import all_reduce_mean


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; training stops rather than corrupt the weights."""


@dataclass
class EpochResult:
    """What :func:`train_one_epoch` did.

    Attributes:
        iteration: iterations of the epoch done so far (including those before ``start_iter``).
        stopped: True if a stop was requested (a signal) and the epoch ended early.
        losses: mean of each loss (averaged over processes) over this call's iterations.
    """

    iteration: int
    stopped: bool = False
    losses: Dict[str, float] = field(default_factory=dict)


def _to_device(target: Dict[str, Any], device: torch.device) -> Dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in target.items()}


def train_one_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    data_loader: Iterable,
    device: torch.device,
    epoch: int,
    *,
    scheduler: Optional[Any] = None,
    scaler: Optional[torch.amp.GradScaler] = None,
    clip_grad_norm: Optional[float] = None,
    start_iter: int = 0,
    iters_per_epoch: Optional[int] = None,
    iters_after: int = 0,
    logger: Optional[Any] = None,
    should_stop: Optional[Callable[[], bool]] = None,
    on_step: Optional[Callable[[int, Dict[str, float]], None]] = None,
    batch_transform: Optional[Callable[[list, list], tuple]] = None,
) -> EpochResult:
    """Train ``model`` over ``data_loader`` once.

    Args:
        model: a torchvision detection model (possibly wrapped in DDP) returning a loss dict.
        optimizer: its optimiser.
        data_loader: yields ``(images, targets)``; images float [0, 1] CHW (the model
            normalises them), targets torchvision-style dicts.
        device: where the model is.
        epoch: 0-based epoch number (for messages).
        scheduler: stepped after every iteration (default None).
        scaler: a ``GradScaler`` for mixed precision on CUDA (default None: fp32).
        clip_grad_norm: clip the total gradient norm to this value (default None: no clipping).
        start_iter: iterations of this epoch already done (the loader skips them).
        iters_per_epoch: total iterations of the epoch, for progress (default: start_iter +
            len(data_loader)).
        iters_after: iterations of the run's later epochs, for the whole run's ETA in the
            progress lines (default 0: the epoch's ETA only).
        logger: a :class:`~detaug.engine.logging.RunLogger` (default None: silent).
        should_stop: polled every iteration; when it returns True on any process, every
            process finishes the current iteration and returns with ``stopped=True``.
        on_step: called as ``on_step(global_iteration_in_epoch, losses)`` after each step.
        batch_transform: applied as ``images, targets = batch_transform(images, targets)``
            to each batch once it is on ``device`` (default None). This is where batched
            augmentation on the device (``augmentation.erasing.device``) plugs in.

    Raises:
        NonFiniteLossError: if the (process-averaged) loss is NaN or infinite, naming the
            epoch, the iteration and each loss term; raised on every process alike.
    """
    model.train()
    total = iters_per_epoch if iters_per_epoch is not None else start_iter + len(data_loader)
    progress = (logger.progress(total, f"epoch {epoch + 1}", initial=start_iter, after=iters_after)
                if logger is not None else None)
    it = start_iter
    sums: Dict[str, float] = {}
    steps = 0
    stopped = False
    try:
        for images, targets in data_loader:
            images = [img.to(device, non_blocking=True) for img in images]
            targets = [_to_device(t, device) for t in targets]
            if batch_transform is not None:
                images, targets = batch_transform(images, targets)
            with torch.autocast(device_type=device.type, enabled=scaler is not None):
                loss_dict = model(images, targets)
            loss = sum(loss_dict.values())
            names = sorted(loss_dict)
            flag = 1.0 if should_stop is not None and should_stop() else 0.0
            stats = torch.stack([loss_dict[k].detach().float() for k in names] + [loss.detach().float().new_tensor(flag)])
            stats = all_reduce_mean(stats).cpu()
            values = {k: float(v) for k, v in zip(names, stats[:-1])}
            total_loss = sum(values.values())
            if not math.isfinite(total_loss):
                detail = ", ".join(f"{k}={v:.4g}" for k, v in values.items())
                raise NonFiniteLossError(
                    f"loss is {total_loss} at epoch {epoch + 1}, iteration {it + 1} ({detail}); "
                    "training stopped. Lower optim.lr, lengthen schedule.warmup_iters or set "
                    "optim.clip_grad_norm."
                )
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                if clip_grad_norm is not None:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                if clip_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
                optimizer.step()
            if scheduler is not None:
                scheduler.step()
            it += 1
            steps += 1
            values["loss"] = total_loss
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v
            if progress is not None:
                progress.update(loss=total_loss, lr=optimizer.param_groups[0]["lr"])
            if on_step is not None:
                on_step(it, values)
            if float(stats[-1]) > 0:
                stopped = True
                break
    finally:
        if progress is not None:
            progress.close()
    return EpochResult(iteration=it, stopped=stopped, losses={k: v / max(steps, 1) for k, v in sums.items()})
