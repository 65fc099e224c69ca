"""Optimiser and learning-rate schedule: SGD with momentum, linear warm-up, multistep or cosine."""

from __future__ import annotations

import math
from typing import List, Sequence

import torch
from torch.optim.lr_scheduler import LambdaLR


def build_optimizer(model: torch.nn.Module, lr: float, momentum: float = 0.9, weight_decay: float = 1e-4,
                    nesterov: bool = False) -> torch.optim.SGD:
    """SGD over the trainable parameters (frozen backbone layers are left out)."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)


class WarmupSchedule:
    """lr factor at a global step: linear warm-up, then multistep or cosine decay.

    A plain object of numbers so that ``LambdaLR.state_dict()`` stores it and a checkpoint
    loads with ``weights_only=True``.

    Args:
        iters_per_epoch: optimiser steps per epoch.
        epochs: total epochs.
        policy: ``"multistep"`` or ``"cosine"``.
        milestones: multistep: epochs after which the factor is multiplied by ``gamma``.
        gamma: multistep decay (default 0.1).
        min_lr_factor: cosine: final factor (default 0).
        warmup_iters: linear warm-up steps (default 0: none), capped at the total.
        warmup_factor: factor at step 0 of the warm-up (default 0.001).

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
        >>> scaled_lr(0.04, 8, 8)
        0.04
    """
    return lr * global_batch / lr_batch


def config_lr(cfg, world_size: int = 1) -> float:
    """``optim.lr`` scaled from ``optim.lr_batch`` to the global batch
    (``world_size`` processes x ``data.batch_size`` images)."""
    return scaled_lr(cfg.optim.lr, cfg.optim.lr_batch, world_size * cfg.data.batch_size)


def build_optimizer_from_config(model: torch.nn.Module, cfg, world_size: int = 1) -> torch.optim.SGD:
    """SGD as ``cfg.optim`` says, at the lr scaled to the global batch (:func:`config_lr`)."""
    o = cfg.optim
    return build_optimizer(model, config_lr(cfg, world_size), o.momentum, o.weight_decay, o.nesterov)


def build_scheduler_from_config(optimizer: torch.optim.Optimizer, cfg, iters_per_epoch: int) -> LambdaLR:
    s = cfg.schedule
    return build_scheduler(
        optimizer, iters_per_epoch, s.epochs, policy=s.policy, milestones=list(s.milestones),
        gamma=s.gamma, min_lr_factor=s.min_lr_factor, warmup_iters=s.warmup_iters,
        warmup_factor=s.warmup_factor,
    )
