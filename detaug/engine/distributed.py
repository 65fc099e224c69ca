"""torch.distributed helpers: set-up from torchrun's environment, rank queries, gathering.
Without a process group (one process) ranks are 0, the world size 1, and gathers return ``[obj]``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, List

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process runs: its rank, the world size, its local rank and its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def is_dist_ready() -> bool:
    return dist.is_available() and dist.is_initialized()


def is_main_process() -> bool:
    return not is_dist_ready() or dist.get_rank() == 0


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside DistributedDataParallel / DataParallel (``model`` itself otherwise)."""
    return model.module if hasattr(model, "module") else model


def check_device(spec: str) -> None:
    """Raise ConfigError unless ``runtime.device`` exists on this machine (a CUDA device
    asked for without CUDA fails here, before any work, not in the middle of setting up)."""
    from detaug.config import ConfigError

    if spec == "auto" or torch.device(spec).type != "cuda":
        return
    if not torch.cuda.is_available():
        raise ConfigError(f"runtime.device: {spec!r} requested but CUDA is not available on this machine "
                          "(use --device cpu or auto)")
    index = torch.device(spec).index
    if index is not None and index >= torch.cuda.device_count():
        raise ConfigError(f"runtime.device: {spec!r} requested but this machine has "
                          f"{torch.cuda.device_count()} CUDA device(s)")


def resolve_device(spec: str, local_rank: int = 0) -> torch.device:
    """``"auto"`` -> ``cuda:<local_rank>`` if CUDA is available, else CPU; otherwise ``spec``
    (ConfigError: see :func:`check_device`)."""
    check_device(spec)
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(spec)
    return torch.device("cuda", local_rank) if device.type == "cuda" and device.index is None else device


def init_distributed(device: str = "auto", backend: str = "auto", timeout_minutes: int = 30) -> DistInfo:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK), if any (else this
    is a single process and nothing is initialised); NCCL on GPUs, Gloo on CPU, unless ``backend`` says."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) <= 1:
        return DistInfo(device=resolve_device(device))
    rank = int(os.environ["RANK"])
    world_size = int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    dev = resolve_device(device, local_rank)
    if backend == "auto":
        backend = "nccl" if dev.type == "cuda" else "gloo"
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if not is_dist_ready():
        dist.init_process_group(backend=backend, timeout=timedelta(minutes=timeout_minutes))
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=dev)


def cleanup_distributed() -> None:
    if is_dist_ready():
        dist.destroy_process_group()


def barrier() -> None:
    if is_dist_ready():
        dist.barrier()


def all_gather_object(obj: Any) -> List[Any]:
    """Gather a picklable object from every rank, in rank order (``[obj]`` alone)."""
    if not is_dist_ready():
        return [obj]
    out: List[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Return rank ``src``'s ``obj`` on every rank."""
    if not is_dist_ready():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def all_reduce_mean(values: torch.Tensor) -> torch.Tensor:
    """Mean of a tensor over ranks (the tensor itself in one process)."""
    if not is_dist_ready():
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / dist.get_world_size()
