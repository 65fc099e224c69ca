"""Helpers for the training tests: a tiny model and data set, running the tool, checkpoints."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOL = REPO / "tools" / "train_det.py"

# a tiny model and a tiny synthetic set: 8 training images, 4 test (+12 occluded) images
TINY = [
    "data.synthetic_num_train=8",
    "data.synthetic_num_test=4",
    "data.batch_size=4",
    "data.test_batch_size=8",
    "data.workers=0",
    "model.min_size=64",
    "model.max_size=96",
    "model.kwargs={widths: [8, 8, 16, 16], out_channels: 16, representation_size: 32}",
    "schedule.epochs=1",
    "schedule.warmup_iters=1",
    "runtime.print_freq=1",
    "runtime.tensorboard=false",
]


def tool_env() -> dict:
    """The environment for running the tool in a subprocess (this checkout's code first)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def torchrun(nproc: int) -> list:
    """The command prefix of a CPU torchrun of the tool with ``nproc`` processes."""
    return [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", "--standalone", str(TOOL)]


def tiny_checkpoint(folder: Path, data_root: Path, **changes) -> Path:
    """A valid training checkpoint of the TINY config in ``folder`` (no training: one
    momentum buffer per parameter), with ``changes`` applied to its top-level keys."""
    import torch
    from omegaconf import OmegaConf

    from detaug.config import load_config
    from detaug.engine import build_optimizer_from_config, build_scheduler_from_config, make_state, save_checkpoint
    from detaug.models import build_model_from_config

    cfg = load_config(overrides=TINY + [f"data.root={data_root}", f"output_dir={folder}"])
    torch.manual_seed(0)
    model = build_model_from_config(cfg, num_classes=7, log=lambda m: None)
    optimizer = build_optimizer_from_config(model, cfg)
    for p in model.parameters():
        optimizer.state[p]["momentum_buffer"] = torch.zeros_like(p)
    scheduler = build_scheduler_from_config(optimizer, cfg, iters_per_epoch=2)
    state = make_state(model, optimizer, scheduler, None, epoch=0, iteration=1, global_step=1,
                       config=OmegaConf.to_container(cfg, resolve=True))
    state.update(changes)
    return save_checkpoint(state, Path(folder) / "checkpoint_last.pth")
