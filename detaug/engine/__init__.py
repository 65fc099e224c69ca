"""Training engine: epochs, evaluation, checkpoints, distributed helpers, logging.

The training tool (``tools/train_det.py``) is a thin ``main`` over these functions; users
with their own loop can use them directly.
"""

from detaug.engine.checkpoint import (
    BEST,
    LAST,
    capture_rng_state,
    find_checkpoint,
    load_checkpoint,
    make_state,
    restore_rng_state,
    save_checkpoint,
    unwrap_model,
)
from detaug.engine.data import (
    SeededDataset,
    SkipBatches,
    collate,
    make_test_loader,
    make_train_loader,
    make_train_sampler,
    sample_seed,
)
from detaug.engine.distributed import (
    DistInfo,
    all_gather_object,
    all_reduce_mean,
    barrier,
    broadcast_object,
    cleanup_distributed,
    get_rank,
    get_world_size,
    init_distributed,
    is_main_process,
)
from detaug.engine.evaluate import evaluate, gather_predictions, predict
from detaug.engine.logging import RunLogger
from detaug.engine.optim import (
    WarmupSchedule,
    build_optimizer,
    build_optimizer_from_config,
    build_scheduler,
    build_scheduler_from_config,
)
from detaug.engine.results import build_evaluator, save_predictions
from detaug.engine.signals import GracefulStop
from detaug.engine.train import EpochResult, NonFiniteLossError, train_one_epoch

__all__ = [
    "BEST",
    "LAST",
    "DistInfo",
    "EpochResult",
    "GracefulStop",
    "NonFiniteLossError",
    "RunLogger",
    "SeededDataset",
    "SkipBatches",
    "WarmupSchedule",
    "all_gather_object",
    "all_reduce_mean",
    "barrier",
    "broadcast_object",
    "build_evaluator",
    "build_optimizer",
    "build_optimizer_from_config",
    "build_scheduler",
    "build_scheduler_from_config",
    "capture_rng_state",
    "cleanup_distributed",
    "collate",
    "evaluate",
    "find_checkpoint",
    "gather_predictions",
    "get_rank",
    "get_world_size",
    "init_distributed",
    "is_main_process",
    "load_checkpoint",
    "make_state",
    "make_test_loader",
    "make_train_loader",
    "make_train_sampler",
    "predict",
    "restore_rng_state",
    "sample_seed",
    "save_checkpoint",
    "save_predictions",
    "train_one_epoch",
    "unwrap_model",
]
