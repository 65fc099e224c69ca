"""Training engine: :mod:`~detaug.engine.loop` (a run and its :class:`Trainer`) over data,
train (optimiser, schedule, one epoch), evaluate, state (what a training checkpoint holds),
distributed, signals and logging. The training tool (:mod:`detaug.cli.train`) is a thin
``main`` over these; users with their own loop can use the pieces directly.

Names here are imported on first use, so importing one piece (``detaug.engine.train``,
say) does not load the rest of the engine, the data and the models.
"""

from __future__ import annotations

from detaug._lazy import lazy_exports

#: Module -> the names it gives to ``detaug.engine``.
_MODULES = {
    "detaug.checkpoint": "BEST LAST CheckpointError find_checkpoint load_checkpoint model_weights remove_stale_temporaries "
                         "save_checkpoint",
    "detaug.engine.data": "EvalSet RunData SeededDataset SkipBatches StopSafeLoader build_run_data make_test_loader "
                          "make_train_loader make_train_sampler sample_seed",
    "detaug.engine.evaluate": "evaluate evaluate_sets predict",
    "detaug.engine.distributed": "DistInfo all_gather_object all_reduce_mean barrier broadcast_object check_device "
                                 "cleanup_distributed init_distributed is_main_process unwrap_model",
    "detaug.engine.logging": "RunLogger",
    "detaug.engine.loop": "Trainer build_run_model build_trainer check_run_config evaluate_only start_log",
    "detaug.evaluation.metrics": "build_evaluator format_table headline save_predictions",
    "detaug.engine.signals": "GracefulStop ignore_stop_signals",
    "detaug.engine.state": "capture_rng_state check_rng_state check_training_state make_state restore_rng_state "
                           "run_config seed_everything",
    "detaug.engine.train": "EpochResult NonFiniteLossError WarmupSchedule build_optimizer build_optimizer_from_config "
                           "build_scheduler build_scheduler_from_config config_lr scaled_lr train_one_epoch",
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names.split()}
__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
