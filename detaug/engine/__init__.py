"""Training engine: :mod:`~detaug.engine.loop` (:class:`Trainer`: epochs, resumption,
evaluation, the choice of checkpoint) over :mod:`~detaug.engine.build` (a run's data, model
and log from its config), :mod:`~detaug.engine.train` (optimiser, lr schedule, one epoch),
:mod:`~detaug.engine.evaluate`, :mod:`~detaug.engine.state` (what a training checkpoint
holds, random generators included; the file format is :mod:`detaug.checkpoint`),
:mod:`~detaug.engine.data`, :mod:`~detaug.engine.distributed`, :mod:`~detaug.engine.signals`
and :mod:`~detaug.engine.logging`. The training tool (:mod:`detaug.cli.train`) is a thin
``main`` over these; users with their own loop can use the pieces directly.

Names here are imported on first use, so importing one piece (``detaug.engine.train``,
say) does not load the rest of the engine, the data and the models.
"""

from __future__ import annotations

from detaug._lazy import lazy_exports

#: Module -> the names it gives to ``detaug.engine``.
_MODULES = {
    "detaug.engine.build": "EvalSet RunData build_run_data build_run_model check_run_config start_log",
    "detaug.checkpoint": "BEST LAST CheckpointError find_checkpoint load_checkpoint model_weights remove_stale_temporaries "
                         "save_checkpoint",
    "detaug.engine.data": "SeededDataset SkipBatches StopSafeLoader make_test_loader make_train_loader make_train_sampler sample_seed",
    "detaug.engine.distributed": "DistInfo all_gather_object all_reduce_mean barrier broadcast_object check_device "
                                 "cleanup_distributed init_distributed is_main_process unwrap_model",
    "detaug.engine.evaluate": "evaluate evaluate_sets predict",
    "detaug.engine.logging": "RunLogger",
    "detaug.engine.loop": "Trainer build_trainer evaluate_only",
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
