"""Training engine: the training loop, evaluation, checkpoints, distributed helpers, logging.

Modules: :mod:`~detaug.engine.loop` (:class:`Trainer`: epochs, resumption, evaluation,
the choice of checkpoint), :mod:`~detaug.engine.build` (a run's data, model and log from
its config), :mod:`~detaug.engine.train` (one epoch), :mod:`~detaug.engine.evaluate`,
:mod:`~detaug.engine.checkpoint` (files), :mod:`~detaug.engine.state` (what a checkpoint
holds), :mod:`~detaug.engine.rng`, :mod:`~detaug.engine.data` (seeded samples, loaders),
:mod:`~detaug.engine.optim`, :mod:`~detaug.engine.distributed`,
:mod:`~detaug.engine.signals`, :mod:`~detaug.engine.logging`, :mod:`~detaug.engine.results`.
The training tool (:mod:`detaug.cli.train`) is a thin ``main`` over these; users with
their own loop can use the pieces directly.
"""

from detaug.engine.build import EvalSet, RunData, build_run_data, build_run_model, check_run_config, start_log
from detaug.engine.checkpoint import (
    BEST,
    LAST,
    CheckpointError,
    find_checkpoint,
    load_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
)
from detaug.engine.data import (
    SeededDataset,
    SkipBatches,
    StopSafeLoader,
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
    check_device,
    cleanup_distributed,
    get_rank,
    get_world_size,
    init_distributed,
    is_main_process,
    unwrap_model,
)
from detaug.engine.evaluate import evaluate, evaluate_sets, gather_predictions, predict
from detaug.engine.logging import RunLogger
from detaug.engine.loop import StopRule, Trainer, build_trainer, evaluate_only
from detaug.engine.optim import (
    WarmupSchedule,
    build_optimizer,
    build_optimizer_from_config,
    build_scheduler,
    build_scheduler_from_config,
    config_lr,
    scaled_lr,
)
from detaug.engine.results import build_evaluator, format_table, headline, save_predictions
from detaug.engine.rng import capture_rng_state, check_rng_state, restore_rng_state, seed_everything
from detaug.engine.signals import GracefulStop, ignore_stop_signals
from detaug.engine.state import check_training_state, make_state, model_weights, run_config
from detaug.engine.train import EpochResult, NonFiniteLossError, train_one_epoch

__all__ = [
    "BEST",
    "LAST",
    "CheckpointError",
    "DistInfo",
    "EpochResult",
    "EvalSet",
    "GracefulStop",
    "NonFiniteLossError",
    "RunData",
    "RunLogger",
    "SeededDataset",
    "SkipBatches",
    "StopRule",
    "StopSafeLoader",
    "Trainer",
    "WarmupSchedule",
    "all_gather_object",
    "all_reduce_mean",
    "barrier",
    "broadcast_object",
    "build_evaluator",
    "build_optimizer",
    "build_optimizer_from_config",
    "build_run_data",
    "build_run_model",
    "build_scheduler",
    "build_scheduler_from_config",
    "build_trainer",
    "capture_rng_state",
    "check_device",
    "check_rng_state",
    "check_run_config",
    "check_training_state",
    "cleanup_distributed",
    "config_lr",
    "evaluate",
    "evaluate_only",
    "evaluate_sets",
    "find_checkpoint",
    "format_table",
    "gather_predictions",
    "get_rank",
    "get_world_size",
    "headline",
    "ignore_stop_signals",
    "init_distributed",
    "is_main_process",
    "load_checkpoint",
    "make_state",
    "make_test_loader",
    "make_train_loader",
    "make_train_sampler",
    "model_weights",
    "predict",
    "remove_stale_temporaries",
    "restore_rng_state",
    "run_config",
    "sample_seed",
    "save_checkpoint",
    "save_predictions",
    "scaled_lr",
    "seed_everything",
    "start_log",
    "train_one_epoch",
    "unwrap_model",
]
