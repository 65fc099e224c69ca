"""Optimisation: SGD with momentum, the lr schedule (linear warm-up, then multistep or cosine),
and one training epoch of a torchvision detection model."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

import torch
from torch.optim.lr_scheduler import LambdaLR

from detaug.engine.distributed import all_reduce_mean


def build_optimizer(model: torch.nn.Module, lr: float, momentum: float = 0.9, weight_decay: float = 1e-4,
                    nesterov: bool = False) -> torch.optim.SGD:
    """SGD over the trainable parameters (frozen backbone layers are left out)."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)


class WarmupSchedule:
    """lr factor at a global step: linear warm-up over ``warmup_iters`` steps (capped at the
    total) from ``warmup_factor``, then ``"multistep"`` (times ``gamma`` after each epoch of
    ``milestones``) or ``"cosine"`` decay (to ``min_lr_factor``).

    A plain object of numbers so that ``LambdaLR.state_dict()`` stores it and a checkpoint
    loads with ``weights_only=True``.

    Examples:
        >>> s = WarmupSchedule(10, 3, "multistep", milestones=[2], warmup_iters=5, warmup_factor=0.5)
        >>> [round(s(i), 2) for i in (0, 5, 19, 20, 29)]
        [0.5, 1.0, 1.0, 0.1, 0.1]
    """

    def __init__(self, iters_per_epoch: int, epochs: int, policy: str = "multistep", *,
                 milestones: Sequence[int] = (), gamma: float = 0.1, min_lr_factor: float = 0.0,
                 warmup_iters: int = 0, warmup_factor: float = 0.001):
        if policy not in ("multistep", "cosine"):
            raise ValueError(f"policy must be 'multistep' or 'cosine', got {policy!r}")
        self.iters_per_epoch = int(iters_per_epoch)
        self.total_iters = int(iters_per_epoch * epochs)
        self.policy = policy
        self.milestone_iters: List[int] = [int(m * iters_per_epoch) for m in milestones]
        self.gamma = float(gamma)
        self.min_lr_factor = float(min_lr_factor)
        self.warmup_iters = int(min(warmup_iters, self.total_iters))
        self.warmup_factor = float(warmup_factor)

    def __call__(self, step: int) -> float:
        if self.policy == "multistep":
            factor = self.gamma ** sum(step >= m for m in self.milestone_iters)
        else:
            progress = min(step / max(self.total_iters, 1), 1.0)
            factor = self.min_lr_factor + (1 - self.min_lr_factor) * 0.5 * (1 + math.cos(math.pi * progress))
        if step < self.warmup_iters:
            alpha = step / self.warmup_iters
            factor *= self.warmup_factor * (1 - alpha) + alpha
        return factor


def build_scheduler(optimizer: torch.optim.Optimizer, iters_per_epoch: int, epochs: int, **kwargs) -> LambdaLR:
    """A per-iteration ``LambdaLR`` over :class:`WarmupSchedule` (call ``step()`` every iteration)."""
    return LambdaLR(optimizer, WarmupSchedule(iters_per_epoch, epochs, **kwargs))


def scaled_lr(lr: float, lr_batch: int, global_batch: int) -> float:
    """The linear scaling rule (Goyal et al., 2017): ``lr`` is right for ``lr_batch``
    images per step, so a step of ``global_batch`` images gets ``lr * global_batch / lr_batch``.

    Examples:
        >>> scaled_lr(0.01, 16, 2)  # a VOC config on one GPU of 2 images
        0.00125
    """
    return lr * global_batch / lr_batch


def config_lr(cfg, world_size: int = 1) -> float:
    """``optim.lr`` scaled to the global batch (``world_size`` processes x ``data.batch_size``)."""
    return scaled_lr(cfg.optim.lr, cfg.optim.lr_batch, world_size * cfg.data.batch_size)


def build_optimizer_from_config(model: torch.nn.Module, cfg, world_size: int = 1) -> torch.optim.SGD:
    o = cfg.optim
    return build_optimizer(model, config_lr(cfg, world_size), o.momentum, o.weight_decay, o.nesterov)


def build_scheduler_from_config(optimizer: torch.optim.Optimizer, cfg, iters_per_epoch: int) -> LambdaLR:
    s = cfg.schedule
    return build_scheduler(optimizer, iters_per_epoch, s.epochs, policy=s.policy, milestones=list(s.milestones),
                           gamma=s.gamma, min_lr_factor=s.min_lr_factor, warmup_iters=s.warmup_iters,
                           warmup_factor=s.warmup_factor)


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; training stops rather than corrupt the weights."""


@dataclass
class EpochResult:
    """``iteration``: iterations of the epoch done (those before ``start_iter`` included);
    ``stopped``: a stop was requested and the epoch ended early; ``losses``: each loss's mean
    (over processes and this call's iterations)."""

    iteration: int
    stopped: bool = False
    losses: Dict[str, float] = field(default_factory=dict)


def _to_device(target: Dict[str, Any], device: torch.device) -> Dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in target.items()}


def train_one_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, data_loader: Iterable,
                    device: torch.device, epoch: int, *, scheduler: Optional[Any] = None,
                    scaler: Optional[torch.amp.GradScaler] = None, clip_grad_norm: Optional[float] = None,
                    start_iter: int = 0, iters_per_epoch: Optional[int] = None, iters_after: int = 0,
                    logger: Optional[Any] = None, should_stop: Optional[Callable[[], bool]] = None,
                    batch_transform: Optional[Callable[[list, list], tuple]] = None) -> EpochResult:
    """Train ``model`` (a torchvision detector returning a loss dict, DDP-wrapped or not) once
    over ``data_loader``'s ``(images, targets)``, stepping ``scheduler`` every iteration.

    ``scaler``: a ``GradScaler`` for mixed precision on CUDA; ``start_iter``: iterations of the
    epoch already done (the loader skips them); ``iters_per_epoch``, ``iters_after``: the
    epoch's iterations and those of the run's later epochs, for the progress lines and their
    ETA; ``should_stop``: polled every iteration; when it returns True on any process, every
    process finishes the iteration and returns ``stopped=True``; ``batch_transform``: applied
    to each batch once it is on ``device`` (batched erasing, ``augmentation.erasing.device``).
    NonFiniteLossError, on every process alike, if the process-averaged loss is NaN or infinite.
    """
    model.train()
    total = iters_per_epoch if iters_per_epoch is not None else start_iter + len(data_loader)
    progress = (logger.progress(total, f"epoch {epoch + 1}", initial=start_iter, after=iters_after)
                if logger is not None else None)
    it = start_iter
    sums: Dict[str, float] = {}
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
            # the stop flag travels with the losses: one all-reduce, and every process stops alike
            flag = 1.0 if should_stop is not None and should_stop() else 0.0
            stats = torch.stack([loss_dict[k].detach().float() for k in names] + [loss.detach().float().new_tensor(flag)])
            stats = all_reduce_mean(stats).cpu()
            values = {k: float(v) for k, v in zip(names, stats[:-1])}
            total_loss = sum(values.values())
            if not math.isfinite(total_loss):
                detail = ", ".join(f"{k}={v:.4g}" for k, v in values.items())
                raise NonFiniteLossError(f"loss is {total_loss} at epoch {epoch + 1}, iteration {it + 1} ({detail}); "
                                         "training stopped. Lower optim.lr, lengthen schedule.warmup_iters or set "
                                         "optim.clip_grad_norm.")
            optimizer.zero_grad(set_to_none=True)
            (scaler.scale(loss) if scaler is not None else loss).backward()
            if clip_grad_norm is not None:
                if scaler is not None:
                    scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            if scheduler is not None:
                scheduler.step()
            it += 1
            values["loss"] = total_loss
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v
            if progress is not None:
                progress.update(loss=total_loss, lr=optimizer.param_groups[0]["lr"])
            if float(stats[-1]) > 0:
                stopped = True
                break
    finally:
        if progress is not None:
            progress.close()
    return EpochResult(iteration=it, stopped=stopped, losses={k: v / max(it - start_iter, 1) for k, v in sums.items()})
