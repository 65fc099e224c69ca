"""A training run from its config (the checks before any work, the log, the model) and its
loop: epochs, evaluation, checkpoints, resumption and the choice of checkpoint.

**Which checkpoint is the result.** Without validation splits (``data.val``) the run's
result is its last checkpoint: nothing is chosen on the test splits. With them, the
validation splits are evaluated every ``evaluation.interval`` epochs and at the end,
``checkpoint_best.pth`` is the best of those evaluations, and the test splits are
evaluated once, at the end, with that checkpoint.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
from omegaconf import DictConfig, OmegaConf

from detaug.checkpoint import (
    BEST,
    LAST,
    CheckpointError,
    load_checkpoint,
    load_model_weights,
    model_weights,
    remove_stale_temporaries,
    save_checkpoint,
)
from detaug.config import ConfigError, check_data_paths, save_config
from detaug.engine.data import EvalSet, RunData, build_run_data, make_train_loader
from detaug.engine.distributed import DistInfo, all_gather_object, broadcast_object, check_device
from detaug.engine.evaluate import evaluate_sets
from detaug.engine.logging import RunLogger
from detaug.engine.signals import GracefulStop
from detaug.engine.state import (
    capture_rng_state,
    load_optimizer_state,
    load_scheduler_state,
    make_state,
    restore_rng_state,
    seed_everything,
)
from detaug.engine.train import build_optimizer_from_config, build_scheduler_from_config, config_lr, train_one_epoch
from detaug.evaluation.metrics import format_table, headline
from detaug.io import to_jsonable


def check_run_config(cfg: DictConfig, eval_only: bool = False) -> None:
    """The checks that need torch or the file system, before any work starts: ConfigError for
    unknown model weights, a device this machine lacks, missing data or an unwritable output_dir."""
    from detaug.models import resolve_weights

    try:
        resolve_weights(cfg.model.name, cfg.model.weights, cfg.model.weights_backbone)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    check_device(cfg.runtime.device)
    check_data_paths(cfg, ("test",) if eval_only else ("train", "val", "test"))
    out = Path(cfg.output_dir)
    blocker = next((p for p in (out, *out.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise ConfigError(f"output_dir: cannot create {out}: {blocker} is a file, not a folder")
    if blocker is not None and not os.access(blocker, os.W_OK | os.X_OK):
        raise ConfigError(f"output_dir: cannot create or write {out}: {blocker} is not writable")


def start_log(cfg: DictConfig, dist: DistInfo, log_dir: Path, fresh: bool, tensorboard: bool) -> RunLogger:
    """The run's logger, with the resolved config saved beside it and the first lines written."""
    log_dir = Path(log_dir)
    earlier = fresh and (log_dir / LAST).exists()
    logger = RunLogger(log_dir, enabled=dist.is_main, print_freq=cfg.runtime.print_freq,
                       tensorboard=tensorboard and cfg.runtime.tensorboard, fresh=fresh)
    if earlier:
        logger.info(f"note: {log_dir} held an earlier run; it is overwritten (use --resume to continue it)")
    if dist.is_main:
        save_config(cfg, log_dir / "config.yaml")
    processes = f" x {dist.world_size} processes" if dist.distributed else ""
    logger.info(f"detaug-train: {cfg.name} on {dist.device}{processes}")
    if cfg.runtime.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return logger


def build_run_model(cfg: DictConfig, num_classes: int, dist: DistInfo, logger: RunLogger) -> torch.nn.Module:
    """The config's model on this process's device, initialised from ``cfg.seed`` (the same
    weights on every process); ConfigError for weights that do not fit it."""
    from detaug.models import build_model_from_config

    seed_everything(cfg.seed)
    try:
        model = build_model_from_config(cfg, num_classes, log=logger.info)
    except ValueError as exc:
        raise ConfigError(f"model: {exc}") from exc
    return model.to(dist.device)


class Trainer:
    """A training run (:func:`build_trainer` makes one): its model, optimiser, schedule, data,
    log, and where it stands: ``epoch`` (being trained, 0-based; ``schedule.epochs`` when
    done), ``iteration`` (of that epoch, done), ``global_step`` and ``best`` (the best
    validation result so far: ``{"score", "epoch", "split", "global_step"}``).
    """

    def __init__(self, cfg: DictConfig, dist: DistInfo, logger: RunLogger, model: torch.nn.Module, data: RunData):
        self.cfg, self.dist, self.logger, self.data = cfg, dist, logger, data
        self.output_dir = Path(cfg.output_dir)
        if dist.distributed:
            model = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[dist.device.index] if dist.device.type == "cuda" else None)
        self.model = model
        self.iters_per_epoch = len(data.batch_sampler)
        self.lr = config_lr(cfg, dist.world_size)
        self.optimizer = build_optimizer_from_config(model, cfg, dist.world_size)
        self.scheduler = build_scheduler_from_config(self.optimizer, cfg, self.iters_per_epoch)
        use_amp = cfg.runtime.amp and dist.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda") if use_amp else None
        self.config = OmegaConf.to_container(cfg, resolve=True)
        self.epoch = self.iteration = self.global_step = 0
        self.best: Dict[str, Any] = {}
        self.results: Dict[str, Dict[str, Any]] = {}

    def restore(self, state: Dict[str, Any], path: Path) -> None:
        """Continue from a checkpoint :func:`~detaug.engine.state.check_training_state` accepted:
        the model, optimiser, AMP scaler, position and random generators come from it; the
        schedule's shape and the lr from the config (``--set schedule.epochs=N`` lengthens a run)."""
        load_model_weights(self.model, state["model"], path)
        load_optimizer_state(self.optimizer, state["optimizer"], path)
        load_scheduler_state(self.scheduler, state["scheduler"], path)
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        if state["iteration"] > self.iters_per_epoch:
            raise CheckpointError(path, f"stopped at iteration {state['iteration']} of an epoch, but an epoch has "
                                        f"{self.iters_per_epoch} here (data.batch_size or the number of processes "
                                        "changed); resume with the same ones")
        self.epoch, self.iteration, self.global_step = state["epoch"], state["iteration"], state["global_step"]
        best = dict(state.get("best") or {})
        self.best = best if best.get("split") in [s.name for s in self.data.val] else {}
        rngs = state["rng"]
        if len(rngs) == self.dist.world_size:
            restore_rng_state(rngs[self.dist.rank])
        else:
            self.logger.info("resume: the number of processes changed; random streams are reseeded")
            seed_everything(self.cfg.seed + 1000 * self.epoch + self.dist.rank)
        self.logger.info(f"resumed from {path}: epoch {self.epoch + 1}, iteration {self.iteration}/"
                         f"{self.iters_per_epoch}")

    def fit(self, stop_after_iters: Optional[int] = None) -> Dict[str, Any]:
        """Train to ``schedule.epochs``, evaluating and saving as the config says.

        A stop request (SIGINT / SIGTERM, or ``stop_after_iters``) ends the current
        iteration on every process, saves ``checkpoint_last.pth`` and returns; one that
        arrives after the last step changes nothing. Returns ``{"output_dir", "metrics"
        (split -> result, on the main process), "epoch", "stopped" (None or the reason),
        "signal" (its number), "checkpoint" (the file the metrics are from), "best", "minutes"}``.
        """
        started = time.time()
        self._log_plan()
        stopper = GracefulStop(stop_after_iters)
        stopped = None
        with stopper:
            while self.epoch < self.cfg.schedule.epochs and stopped is None:
                stopped = self._run_epoch(stopper)
            if stopped is None:
                self.results, checkpoint = self._final_results()
        summary = {"output_dir": str(self.output_dir), "metrics": self.results if stopped is None else {},
                   "epoch": self.epoch, "stopped": stopped, "best": self.best,
                   "signal": stopper.signum if stopped is not None else None,
                   "checkpoint": str(self.output_dir / LAST if stopped is not None else checkpoint),
                   "minutes": (time.time() - started) / 60}
        if stopped is None:
            self._log_summary(summary)
        self.logger.close()
        return summary

    def _run_epoch(self, rule: GracefulStop) -> Optional[str]:
        """Train (the rest of) one epoch, then evaluate and save as due; the stop reason, if any."""
        result = self._train_epoch(rule)
        if result.stopped and result.iteration < self.iters_per_epoch:
            path = self.save()
            self.logger.info(f"stopped ({rule.reason}) at epoch {self.epoch + 1}, iteration {result.iteration}; "
                             f"checkpoint: {path}; continue with: detaug-train --resume {self.output_dir}")
            return rule.reason
        self.epoch, self.iteration = self.epoch + 1, 0
        last = self.epoch == self.cfg.schedule.epochs
        interval = self.cfg.evaluation.interval
        metrics, is_best = None, False
        if last or (interval > 0 and self.epoch % interval == 0):
            metrics, is_best = self._evaluate_epoch()
        if last or result.stopped or is_best or self.epoch % self.cfg.runtime.checkpoint_interval == 0:
            self.save(metrics, is_best)
        if result.stopped and not last:
            self.logger.info(f"stopped ({rule.reason}) after epoch {self.epoch}; continue with: "
                             f"detaug-train --resume {self.output_dir}")
            return rule.reason
        return None

    def _train_epoch(self, rule: GracefulStop):
        loader = make_train_loader(self.data.train, self.data.batch_sampler, self.cfg.data.workers, self.epoch,
                                   skip_batches=self.iteration)
        t0 = time.time()
        result = train_one_epoch(
            self.model, self.optimizer, loader, self.dist.device, self.epoch, scheduler=self.scheduler,
            scaler=self.scaler, clip_grad_norm=self.cfg.optim.clip_grad_norm, start_iter=self.iteration,
            iters_per_epoch=self.iters_per_epoch, logger=self.logger, should_stop=rule,
            iters_after=(self.cfg.schedule.epochs - self.epoch - 1) * self.iters_per_epoch,
            batch_transform=self.data.batch_transform,  # erasing on the device: the workers then do none
        )
        self.global_step += result.iteration - self.iteration
        self.iteration = result.iteration
        self.logger.log_metrics({"type": "train", "epoch": self.epoch + 1, "iteration": result.iteration,
                                 "global_step": self.global_step, "lr": self.optimizer.param_groups[0]["lr"],
                                 "time": time.time() - t0, **result.losses}, step=self.global_step)
        return result

    def evaluate(self, sets: List[EvalSet], tag: str, kind: str = "eval", epoch: Optional[int] = None,
                 step: Optional[int] = None) -> Dict[str, Dict[str, Any]]:
        """Evaluate the model on ``sets`` and log the result as a ``kind`` record
        (``"eval"``: test splits, predictions saved under ``predictions/<tag>``; ``"val"``),
        at ``epoch`` and ``step`` (default: where the run stands)."""
        epoch = self.epoch if epoch is None else epoch
        step = self.global_step if step is None else step
        save = kind == "eval" and self.cfg.evaluation.save_predictions
        results = evaluate_sets(self.model, sets, self.data.classes, self.dist.device, self.logger,
                                self.output_dir / "predictions" / tag if save else None)
        if self.dist.is_main:
            scores = ", ".join(f"{name} {100 * headline(m):.1f}" for name, m in results.items() if m)
            self.logger.info(f"{kind} {tag}: {scores}")
            # TensorBoard's x-axis is the global step for train and eval scalars alike
            self.logger.log_metrics({"type": kind, "tag": tag, "epoch": epoch, "global_step": step,
                                     **to_jsonable(results)}, step=step)
        return results

    def _evaluate_epoch(self):
        """The evaluation after an epoch: validation splits (and the best so far), or the
        test splits for the record when there are none. Returns ``(metrics, is_best)``."""
        tag = f"epoch{self.epoch:03d}"
        if not self.data.val:
            self.results = self.evaluate(self.data.test, tag)
            return to_jsonable(self.results), False
        results = self.evaluate(self.data.val, tag, kind="val")
        name = self.cfg.evaluation.best_split or self.data.val[0].name
        is_best = False
        if self.dist.is_main and results.get(name):
            score = headline(results[name])
            if not self.best or score > self.best["score"]:
                self.best = {"score": score, "epoch": self.epoch, "split": name, "global_step": self.global_step}
                is_best = True
        self.best, is_best = broadcast_object((self.best, is_best))
        return to_jsonable(results), is_best

    def _final_results(self):
        """The test results of the run's result checkpoint, and that checkpoint."""
        # only the main process holds results; without data.val, self.best stays empty
        if not self.data.val and broadcast_object(bool(self.results)):
            return self.results, self.output_dir / LAST  # evaluated after the last epoch
        if not self.best:
            # no validation result, or resumed at the end (e.g. its metrics.jsonl was lost):
            # evaluate again, so the folder records that it finished
            return self.evaluate(self.data.test, f"epoch{self.epoch:03d}"), self.output_dir / LAST
        path = self.output_dir / BEST
        if self.best["epoch"] != self.epoch:
            load_model_weights(self.model, model_weights(load_checkpoint(path), path), path)
        epoch, step = self.best["epoch"], self.best["global_step"]
        return self.evaluate(self.data.test, f"epoch{epoch:03d}", epoch=epoch, step=step), path

    def save(self, metrics: Optional[Dict[str, Any]] = None, is_best: bool = False) -> Path:
        """Write ``checkpoint_last.pth`` (and ``checkpoint_best.pth`` if ``is_best``); a
        DiskFullError is raised on every process alike (the previous files are kept)."""
        rngs = all_gather_object(capture_rng_state())
        error = None
        if self.dist.is_main:
            state = make_state(self.model, self.optimizer, self.scheduler, self.scaler, epoch=self.epoch,
                               iteration=self.iteration, global_step=self.global_step, config=self.config,
                               best=self.best, metrics=metrics, rng=rngs)
            try:
                save_checkpoint(state, self.output_dir / LAST)
                if is_best:
                    save_checkpoint(state, self.output_dir / BEST)
            except OSError as exc:
                error = exc
        failed = broadcast_object(error is not None)  # the others must not wait for a save that failed
        if error is not None:
            raise error
        if failed:
            raise RuntimeError("the main process could not write the checkpoint")
        return self.output_dir / LAST

    def _log_plan(self) -> None:
        cfg, dist = self.cfg, self.dist
        device = " (on the device)" if self.data.batch_transform is not None else ""
        self.logger.info(f"training {cfg.schedule.epochs} epochs x {self.iters_per_epoch} iterations "
                         f"(batch {cfg.data.batch_size} x {dist.world_size}), erasing: "
                         f"{cfg.augmentation.erasing.mode}{device}; outputs: {self.output_dir}")
        self.logger.info(f"lr {self.lr:g}: optim.lr {cfg.optim.lr:g} is for {cfg.optim.lr_batch} images per step, "
                         f"scaled to the global batch of {dist.world_size * cfg.data.batch_size} "
                         f"({dist.world_size} process{'es' if dist.world_size > 1 else ''} x {cfg.data.batch_size} images)")
        if self.data.val:
            name = cfg.evaluation.best_split or self.data.val[0].name
            self.logger.info(f"result: checkpoint_best.pth, chosen on the validation split {name!r}; "
                             "the test splits are evaluated with it at the end")
        else:
            self.logger.info("result: the last checkpoint (no data.val to choose on; test splits never choose)")

    def _log_summary(self, summary: Dict[str, Any]) -> None:
        if not self.dist.is_main:
            return
        self.logger.info("")
        self.logger.info(f"{self.cfg.name}: {self.cfg.schedule.epochs} epochs in {summary['minutes']:.1f} min")
        self.logger.info(format_table(self.results, {s.name: s.metric for s in self.data.test}))
        chosen = (f"best on {self.best['split']}: {100 * self.best['score']:.1f} at epoch {self.best['epoch']}"
                  if self.best else "the last")
        self.logger.info(f"checkpoint: {summary['checkpoint']} ({chosen})")
        self.logger.info(f"outputs: {self.output_dir}  (config.yaml, checkpoints, metrics.jsonl, log.txt, predictions/)")


def build_trainer(cfg: DictConfig, dist: DistInfo, resume: bool = False) -> Trainer:
    """A :class:`Trainer` for ``cfg``: log, data and model, seeded for a fresh start
    (``resume``: the log is appended to and :meth:`Trainer.restore` sets the generators)."""
    logger = start_log(cfg, dist, Path(cfg.output_dir), fresh=not resume, tensorboard=True)
    if dist.is_main:
        for tmp in remove_stale_temporaries(cfg.output_dir):
            logger.info(f"removed {tmp} (left by an interrupted save)")
    data = build_run_data(cfg, dist, logger, train=True)
    model = build_run_model(cfg, data.num_classes, dist, logger)
    trainer = Trainer(cfg, dist, logger, model, data)
    if not resume:
        seed_everything(cfg.seed + dist.rank)
    return trainer


def evaluate_only(cfg: DictConfig, dist: DistInfo, checkpoint: Any, path: Path) -> Dict[str, Any]:
    """Score ``checkpoint`` (what :func:`~detaug.checkpoint.load_checkpoint` read from ``path``:
    a training checkpoint or a plain state dict) on the test splits of ``cfg`` (its own
    config, or another with the same model); outputs go to ``<cfg.output_dir>/eval``."""
    weights = model_weights(checkpoint, path)
    log_dir = Path(cfg.output_dir) / "eval"
    logger = start_log(cfg, dist, log_dir, fresh=True, tensorboard=False)
    data = build_run_data(cfg, dist, logger, train=False)
    model = build_run_model(cfg, data.num_classes, dist, logger)
    load_model_weights(model, weights, path)
    state = checkpoint if isinstance(checkpoint.get("model"), dict) else {}
    epoch, step = int(state.get("epoch", 0)), int(state.get("global_step", 0))
    results = evaluate_sets(model, data.test, data.classes, dist.device, logger,
                            log_dir / "predictions" / "eval_only" if cfg.evaluation.save_predictions else None)
    if dist.is_main:
        logger.info(format_table(results, {s.name: s.metric for s in data.test}))
        logger.log_metrics({"type": "eval", "tag": "eval_only", "epoch": epoch, "global_step": step,
                            **to_jsonable(results)}, step=step)
        logger.info(f"outputs: {log_dir}")
    logger.close()
    return {"output_dir": str(log_dir), "metrics": results, "epoch": state.get("epoch"), "stopped": None,
            "checkpoint": str(path), "signal": None}

