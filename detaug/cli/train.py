"""Train torchvision Faster R-CNN with box-aware Random Erasing (IRE, ORE, I+ORE).

Without arguments: generates the built-in synthetic set (first run only), trains the
compact CPU model with I+ORE for a few minutes, evaluates on the clean and the occluded
test splits and prints the results and the output folder.

Examples::

    python tools/train_det.py
    python tools/train_det.py --config synthetic_frcnn_small_ire
    python tools/train_det.py --config configs/voc07_frcnn_r50_iore.yaml --set data.workers=8
    torchrun --nproc_per_node=8 tools/train_det.py --config configs/voc0712_frcnn_r50_iore.yaml
    python tools/train_det.py --resume runs/synthetic_frcnn_small_iore
    python tools/train_det.py --eval-only --checkpoint runs/synthetic_frcnn_small_iore/checkpoint_best.pth

Structure as the torchvision detection references: :func:`get_args_parser` and
:func:`main`; the engine (:mod:`detaug.engine`), the models (:mod:`detaug.models`), the
config schema (:mod:`detaug.config`) and the pipeline (:mod:`detaug.pipeline`) live in
the package.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from detaug.config.loading import PRESETS_DIR

DEFAULT_CONFIG = PRESETS_DIR / "synthetic_frcnn_small_iore.yaml"

import numpy as np  # noqa: E402
import torch  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from detaug.config import ConfigError, load_config, save_config  # noqa: E402
from detaug.engine import (  # noqa: E402
    BEST,
    LAST,
    GracefulStop,
    NonFiniteLossError,
    RunLogger,
    SeededDataset,
    all_gather_object,
    barrier,
    broadcast_object,
    build_evaluator,
    build_optimizer_from_config,
    build_scheduler_from_config,
    capture_rng_state,
    cleanup_distributed,
    evaluate,
    find_checkpoint,
    init_distributed,
    load_checkpoint,
    make_state,
    make_test_loader,
    make_train_loader,
    make_train_sampler,
    restore_rng_state,
    save_checkpoint,
    save_predictions,
    train_one_epoch,
    unwrap_model,
)
from detaug.models import build_model_from_config, resolve_weights  # noqa: E402
from detaug.pipeline import build_datasets, build_device_erasing, prepare_synthetic  # noqa: E402


class UsageError(ValueError):
    """Incompatible or invalid command-line options (reported before any work starts)."""


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Train torchvision Faster R-CNN with box-aware Random Erasing (IRE / ORE / I+ORE).",
        epilog="examples:" + __doc__.split("Examples::", 1)[1].split("Structure", 1)[0].rstrip()
        + "\n\nconfigs, data layout and outputs: docs/training.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=add_help,
    )
    parser.add_argument("--config", default=None,
                        help="YAML config file, or a preset name from configs/ such as synthetic_frcnn_small_ire "
                             f"(default: {DEFAULT_CONFIG.stem}; with --resume or --eval-only: the run's saved config)")
    parser.add_argument("--set", dest="overrides", action="append", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override config keys, e.g. --set schedule.epochs=2 optim.lr=0.01")
    parser.add_argument("--output-dir", default=None, help="shortcut for --set output_dir=...")
    parser.add_argument("--device", default=None, help="shortcut for --set runtime.device=... (cpu, cuda, auto)")
    parser.add_argument("--resume", default=None, metavar="DIR_OR_FILE",
                        help="continue a run from its folder (its last checkpoint) or a checkpoint file")
    parser.add_argument("--eval-only", action="store_true", help="only evaluate --checkpoint on the test splits")
    parser.add_argument("--checkpoint", default=None, metavar="FILE", help="checkpoint to evaluate (--eval-only)")
    parser.add_argument("--stop-after-iters", type=int, default=None, metavar="N",
                        help="save a checkpoint and stop after N iterations of this invocation "
                             "(for job time limits; continue with --resume)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    return parser


# -- set-up: everything here runs before any work ---------------------------------------------


def _overrides(args: argparse.Namespace) -> List[str]:
    items = [x for group in args.overrides for x in group]
    if args.output_dir is not None:
        items.append(f"output_dir={args.output_dir}")
    if args.device is not None:
        items.append(f"runtime.device={args.device}")
    return items


def prepare(args: argparse.Namespace):
    """Check the options and load the config; raise UsageError / ConfigError before any work.

    Returns ``(cfg, resume_file, eval_checkpoint)``.
    """
    if args.eval_only and not args.checkpoint:
        raise UsageError("--eval-only needs --checkpoint FILE")
    if args.checkpoint and not args.eval_only:
        raise UsageError("--checkpoint is only used with --eval-only (to start from weights, set model.weights)")
    if args.eval_only and args.resume:
        raise UsageError("--eval-only and --resume cannot be combined")
    if args.resume and args.config:
        raise UsageError("--resume continues with the run's saved config; change keys with --set, not --config")
    if args.stop_after_iters is not None and (args.stop_after_iters < 1 or args.eval_only):
        raise UsageError("--stop-after-iters needs N >= 1 and cannot be used with --eval-only")
    overrides = _overrides(args)
    resume_file = eval_file = None
    saved_cfg = None
    if args.resume:
        try:
            resume_file = find_checkpoint(args.resume)
        except FileNotFoundError as exc:
            raise UsageError(f"--resume: {exc}") from exc
        saved_cfg = load_checkpoint(resume_file)["config"]
        overrides = [f"output_dir={resume_file.parent}"] + overrides
    if args.eval_only:
        eval_file = Path(args.checkpoint)
        if not eval_file.is_file():
            raise UsageError(f"--checkpoint: file not found: {eval_file}")
        if not args.config:
            saved_cfg = load_checkpoint(eval_file).get("config")
            if not saved_cfg:
                raise UsageError(f"--checkpoint {eval_file} holds no config; pass --config")
            overrides = [f"output_dir={eval_file.parent}"] + overrides
    if saved_cfg is not None:
        tmp = Path(os.environ.get("TMPDIR", "/tmp"))
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=tmp, delete=False) as f:
            f.write(OmegaConf.to_yaml(OmegaConf.create(saved_cfg)))
            saved_path = f.name
        try:
            cfg = load_config(saved_path, overrides)
        finally:
            os.unlink(saved_path)
    else:
        cfg = load_config(args.config or DEFAULT_CONFIG, overrides)
    try:
        resolve_weights(cfg.model.name, cfg.model.weights, cfg.model.weights_backbone)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if args.print_config:
        return cfg, resume_file, eval_file  # only prints: the data and the device need not be here
    _check_device(cfg.runtime.device)
    if cfg.data.kind != "synthetic":
        for group in ("train", "test") if not args.eval_only else ("test",):
            for s in cfg.data[group]:
                for attr in ("root", "image_dir", "ann_file"):
                    if getattr(s, attr) and not Path(getattr(s, attr)).exists():
                        raise ConfigError(f"data.{group}: {attr} not found: {getattr(s, attr)} "
                                          "(see docs/training.md for how to obtain and lay out the data)")
    return cfg, resume_file, eval_file


def _check_device(spec: str) -> None:
    """``runtime.device`` must exist on this machine (CUDA requested without CUDA fails here,
    before any work, rather than in the middle of setting up)."""
    if spec != "auto" and torch.device(spec).type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"runtime.device: {spec!r} requested but CUDA is not available on this machine "
                              "(use --device cpu or auto)")
        index = torch.device(spec).index
        if index is not None and index >= torch.cuda.device_count():
            raise ConfigError(f"runtime.device: {spec!r} requested but this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _format_table(results: Dict[str, Dict[str, Any]], metrics: Dict[str, str]) -> str:
    """A small text table: split, metric, score (in %)."""
    names = {"voc07": "VOC07 11-point mAP@0.5", "voc2010": "VOC all-point mAP@0.5", "coco": "COCO AP@[.5:.95]"}
    rows = [("split", "metric", "score")]
    for name, m in results.items():
        if not m:
            continue
        kind = metrics.get(name, "")
        score = f"{100 * _headline(m):.1f}"
        if kind == "coco" and "AP50" in m:
            score += f"  (AP50 {100 * m['AP50']:.1f})"
        rows.append((name, names.get(kind, kind), score))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _headline(metrics: Dict[str, Any]) -> float:
    for key in ("mAP", "AP"):
        if key in metrics:
            return float(metrics[key])
    raise KeyError(f"no mAP or AP in {sorted(metrics)}")


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    return obj


# -- the run ------------------------------------------------------------------------------------


def main(args: argparse.Namespace) -> Dict[str, Any]:
    """Train (or evaluate) as the options and config say; return a summary dict.

    Returns:
        ``{"output_dir", "metrics" (split -> metric dict, main process), "epoch",
        "stopped" (None or the reason), "checkpoint"}``.

    Raises:
        UsageError, ConfigError: invalid options or config (before any work).
        NonFiniteLossError: the loss diverged.
    """
    cfg, resume_file, eval_file = prepare(args)
    if args.print_config:
        print(OmegaConf.to_yaml(cfg))
        return {"config": cfg}
    dist = init_distributed(cfg.runtime.device, cfg.runtime.dist_backend)
    try:
        return _run(cfg, args, dist, resume_file, eval_file)
    finally:
        cleanup_distributed()


def _run(cfg, args, dist, resume_file, eval_file) -> Dict[str, Any]:
    device = dist.device
    output_dir = Path(cfg.output_dir)
    eval_only = eval_file is not None
    log_dir = output_dir / "eval" if eval_only else output_dir
    logger = RunLogger(log_dir, enabled=dist.is_main, print_freq=cfg.runtime.print_freq,
                       tensorboard=cfg.runtime.tensorboard and not eval_only, fresh=resume_file is None)
    started = time.time()
    if cfg.runtime.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if dist.is_main and resume_file is None and not eval_only and (output_dir / LAST).exists():
        logger.info(f"note: {output_dir} held an earlier run; it is overwritten (use --resume to continue it)")
    if dist.is_main:
        save_config(cfg, log_dir / "config.yaml")
    logger.info(f"detaug train_det: {cfg.name} on {device}" + (f" x {dist.world_size} processes" if dist.distributed else ""))

    # data (the synthetic set is generated once, by the main process)
    info = None
    if cfg.data.kind == "synthetic":
        if dist.is_main:
            t = time.time()
            info = prepare_synthetic(cfg)
            logger.info(f"synthetic data: {info.root} ({time.time() - t:.1f} s)")
        barrier()
        if not dist.is_main:
            info = prepare_synthetic(cfg)
    bundle = build_datasets(cfg, train=not eval_only, synthetic_info=info)
    if bundle.train is not None:
        logger.info(f"train: {len(bundle.train)} images; test: "
                    + ", ".join(f"{k} {len(v)}" for k, v in bundle.test.items())
                    + f"; {len(bundle.classes)} classes")

    # model
    _seed_everything(cfg.seed)  # same initial weights on every process
    model = build_model_from_config(cfg, bundle.num_classes, log=logger.info).to(device)
    use_amp = cfg.runtime.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda") if use_amp and not eval_only else None

    test_loaders = {
        name: make_test_loader(ds, bundle.test_transforms, cfg.data.test_batch_size, cfg.data.workers, cfg.seed,
                               dist.rank, dist.world_size)
        for name, ds in bundle.test.items()
    }

    def run_evaluation(tag: str, epoch: int, step: int) -> Dict[str, Dict[str, Any]]:
        results: Dict[str, Dict[str, Any]] = {}
        for name, loader in test_loaders.items():
            evaluator = build_evaluator(bundle.test[name], bundle.classes, bundle.metrics[name]) if dist.is_main else None
            metrics, predictions = evaluate(model, loader, device, evaluator, logger, desc=f"eval {name}")
            if dist.is_main:
                logger.info(f"{name}: predictions for {len(predictions)} images")
                results[name] = metrics
                if cfg.evaluation.save_predictions:
                    save_predictions(predictions, bundle.test[name], bundle.classes, bundle.metrics[name],
                                     log_dir / "predictions" / tag / name, split=bundle.splits[name].split or name)
        if dist.is_main:
            logger.info(_format_table(results, bundle.metrics))
            # TensorBoard's x-axis is the global step for train and eval scalars alike
            logger.log_metrics({"type": "eval", "tag": tag, "epoch": epoch, "global_step": step,
                                **_json_safe(results)}, step=step)
        return results

    if eval_only:
        state = load_checkpoint(eval_file)
        unwrap_model(model).load_state_dict(state.get("model", state))
        results = run_evaluation("eval_only", int(state.get("epoch", 0)), int(state.get("global_step", 0)))
        logger.info(f"outputs: {log_dir}")
        logger.close()
        return {"output_dir": str(log_dir), "metrics": results, "epoch": state.get("epoch"), "stopped": None,
                "checkpoint": str(eval_file)}

    if dist.distributed:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    train_ds = SeededDataset(bundle.train, bundle.train_transforms, cfg.seed)
    _, batch_sampler = make_train_sampler(bundle.train, cfg.data.batch_size, cfg.seed, dist.rank, dist.world_size,
                                          cfg.data.aspect_ratio_group_factor)
    iters_per_epoch = len(batch_sampler)
    if iters_per_epoch == 0:
        raise ConfigError(f"data.batch_size: {cfg.data.batch_size} x {dist.world_size} processes is more than the "
                          f"{len(bundle.train)} training images")
    optimizer = build_optimizer_from_config(model, cfg)
    scheduler = build_scheduler_from_config(optimizer, cfg, iters_per_epoch)

    start_epoch, start_iter, global_step, best = 0, 0, 0, {}
    if resume_file is not None:
        state = load_checkpoint(resume_file, map_location="cpu")
        unwrap_model(model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        # the step count comes from the checkpoint, the schedule's shape from the config
        # (so that --resume --set schedule.epochs=N lengthens a run)
        scheduler.lr_lambdas = build_scheduler_from_config(
            torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0), cfg, iters_per_epoch).lr_lambdas
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        start_epoch, start_iter, global_step = state["epoch"], state["iteration"], state["global_step"]
        best = dict(state.get("best") or {})
        rngs = state["rng"]
        if isinstance(rngs, list) and len(rngs) == dist.world_size:
            restore_rng_state(rngs[dist.rank])
        else:
            logger.info("resume: the number of processes changed; random streams are reseeded")
            _seed_everything(cfg.seed + 1000 * start_epoch + dist.rank)
        logger.info(f"resumed from {resume_file}: epoch {start_epoch + 1}, iteration {start_iter}/{iters_per_epoch}")
    else:
        _seed_everything(cfg.seed + dist.rank)

    best_split = cfg.evaluation.best_split or next(iter(bundle.test), "")
    cfg_container = OmegaConf.to_container(cfg, resolve=True)

    def checkpoint(epoch: int, iteration: int, metrics: Optional[dict] = None, is_best: bool = False) -> Path:
        rngs = all_gather_object(capture_rng_state())
        if dist.is_main:
            state = make_state(model, optimizer, scheduler, scaler, epoch, iteration, global_step,
                               cfg_container, best, metrics)
            state["rng"] = rngs
            save_checkpoint(state, output_dir / LAST)
            if is_best:
                save_checkpoint(state, output_dir / BEST)
        barrier()
        return output_dir / LAST

    # Batched erasing on the device (augmentation.erasing.device): the workers then do
    # no erasing and train_one_epoch applies this to each batch once it is on the device.
    device_transform = build_device_erasing(cfg)

    stopper = GracefulStop()
    stop_budget = [args.stop_after_iters]

    def should_stop() -> bool:
        if stop_budget[0] is not None:
            stop_budget[0] -= 1
            if stop_budget[0] <= 0:
                return True
        return stopper.requested

    if start_epoch >= cfg.schedule.epochs:
        logger.info(f"{resume_file} already finished {start_epoch} epochs; to train longer, resume with "
                    f"--set schedule.epochs=N (N > {start_epoch})")
        logger.close()
        return {"output_dir": str(output_dir), "metrics": {}, "epoch": start_epoch, "stopped": None,
                "checkpoint": str(resume_file), "best": best, "signal": None}
    logger.info(f"training {cfg.schedule.epochs} epochs x {iters_per_epoch} iterations "
                f"(batch {cfg.data.batch_size} x {dist.world_size}), erasing: {cfg.augmentation.erasing.mode}"
                f"{' (on the device)' if device_transform is not None else ''}; "
                f"outputs: {output_dir}")
    results: Dict[str, Dict[str, Any]] = {}
    stopped = None
    epoch = start_epoch
    with stopper:
        for epoch in range(start_epoch, cfg.schedule.epochs):
            loader = make_train_loader(train_ds, batch_sampler, cfg.data.workers, epoch, skip_batches=start_iter)
            t0 = time.time()
            result = train_one_epoch(
                model, optimizer, loader, device, epoch, scheduler=scheduler, scaler=scaler,
                clip_grad_norm=cfg.optim.clip_grad_norm, start_iter=start_iter, iters_per_epoch=iters_per_epoch,
                logger=logger, should_stop=should_stop, batch_transform=device_transform,
            )
            global_step += result.iteration - start_iter
            start_iter = 0
            logger.log_metrics({"type": "train", "epoch": epoch + 1, "iteration": result.iteration,
                                "global_step": global_step, "lr": optimizer.param_groups[0]["lr"],
                                "time": time.time() - t0, **result.losses}, step=global_step)
            if result.stopped and result.iteration < iters_per_epoch:
                path = checkpoint(epoch, result.iteration)
                stopped = stopper.reason or "stop-after-iters"
                logger.info(f"stopped ({stopped}) at epoch {epoch + 1}, iteration {result.iteration}; "
                            f"checkpoint: {path}; continue with: python tools/train_det.py --resume {output_dir}")
                break
            last = epoch + 1 == cfg.schedule.epochs
            interval = cfg.evaluation.interval
            metrics = None
            is_best = False
            if last or (interval > 0 and (epoch + 1) % interval == 0):
                results = run_evaluation(f"epoch{epoch + 1:03d}", epoch + 1, global_step)
                if dist.is_main and results.get(best_split):
                    score = _headline(results[best_split])
                    if not best or score > best["score"]:
                        best = {"score": score, "epoch": epoch + 1, "split": best_split}
                        is_best = True
                    metrics = _json_safe(results)
                best = broadcast_object(best)
                is_best = broadcast_object(is_best)
            if last or result.stopped or is_best or (epoch + 1) % cfg.runtime.checkpoint_interval == 0:
                checkpoint(epoch + 1, 0, metrics, is_best)
            if result.stopped:
                stopped = stopper.reason or "stop-after-iters"
                logger.info(f"stopped ({stopped}) after epoch {epoch + 1}; continue with --resume {output_dir}")
                break
    summary = {"output_dir": str(output_dir), "metrics": results, "epoch": epoch + 1, "stopped": stopped,
               "checkpoint": str(output_dir / LAST), "best": best, "minutes": (time.time() - started) / 60}
    if dist.is_main and stopped is None:
        logger.info("")
        logger.info(f"{cfg.name}: {cfg.schedule.epochs} epochs in {summary['minutes']:.1f} min")
        logger.info(_format_table(results, bundle.metrics))
        if best:
            logger.info(f"best: {best['split']} {100 * best['score']:.1f} at epoch {best['epoch']} ({output_dir / BEST})")
        logger.info(f"outputs: {output_dir}  (config.yaml, {LAST}, {BEST}, metrics.jsonl, predictions/)")
    logger.close()
    # a signal that arrived after the last training step (say, during the final evaluation)
    # did not stop anything: the run is complete and exits 0
    summary["signal"] = stopper.signum if stopped is not None else None
    return summary


def cli(argv: Optional[List[str]] = None) -> int:
    args = get_args_parser().parse_args(argv)
    try:
        summary = main(args)
    except (UsageError, ConfigError) as exc:
        print(f"train_det.py: error: {exc}", file=sys.stderr)
        return 2
    except NonFiniteLossError as exc:
        print(f"train_det.py: error: {exc}", file=sys.stderr)
        return 1
    signum = summary.get("signal")
    return 128 + signum if signum else 0


def run(argv: Optional[List[str]] = None) -> int:
    """Console entry point (``detaug-train``)."""
    return cli(argv)


if __name__ == "__main__":
    sys.exit(run())
