"""Train torchvision Faster R-CNN with box-aware Random Erasing (IRE, ORE, I+ORE).

Without arguments: generates the built-in synthetic set (first run only), trains the
compact CPU model with I+ORE for a few minutes, evaluates on the clean and the occluded
test splits and prints the results and the output folder.

Examples::

    detaug-train
    detaug-train --config synthetic_frcnn_small_ire
    detaug-train --config voc07_frcnn_r50_iore --set data.workers=8
    detaug-train --config voc07_frcnn_r50_iore --set data.train.0.root=/data/VOCdevkit/VOC2007 data.test.0.root=/data/VOCdevkit/VOC2007
    torchrun --nproc_per_node=8 -m detaug.cli.train --config voc0712_frcnn_r50_iore
    detaug-train --resume runs/synthetic_frcnn_small_iore
    detaug-train --eval-only --checkpoint runs/synthetic_frcnn_small_iore/checkpoint_last.pth

In a checkout, ``python tools/train_det.py`` is the same command. A YAML config can
extend a preset by name (``_base_: voc07_frcnn_r50_iore``) and change what it needs.

The loop, resumption, checkpoints and the choice of checkpoint live in
:mod:`detaug.engine`; this module only reads the options and the config.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from detaug._urls import docs_page
from detaug.cli._common import EXIT_FAILURE, EXIT_OK, add_version, run_command
from detaug.errors import UsageError

DEFAULT_CONFIG = "synthetic_frcnn_small_iore"


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """The command-line options (imports nothing heavy: ``--help`` answers at once)."""
    parser = argparse.ArgumentParser(
        description="Train torchvision Faster R-CNN with box-aware Random Erasing (IRE / ORE / I+ORE).",
        epilog="examples:" + __doc__.split("Examples::", 1)[1].split("The loop", 1)[0].rstrip().replace("``", "")
        + f"\n\nconfigs, data layout, outputs and exit codes: {docs_page('training')}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=add_help,
    )
    parser.add_argument("--config", default=None,
                        help=f"YAML config file, or a preset name such as synthetic_frcnn_small_ire; without it: "
                             f"{DEFAULT_CONFIG}, or the run's saved config with --resume / --eval-only")
    parser.add_argument("--set", dest="overrides", action="append", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override config keys, e.g. --set schedule.epochs=2 optim.lr=0.01")
    parser.add_argument("--output-dir", help="shortcut for --set output_dir=...")
    parser.add_argument("--device", help="shortcut for --set runtime.device=... (cpu, cuda, cuda:1, auto)")
    parser.add_argument("--resume", metavar="DIR_OR_FILE",
                        help="continue a run from its folder (its last checkpoint) or a checkpoint file")
    parser.add_argument("--eval-only", action="store_true", help="only evaluate --checkpoint on the test splits")
    parser.add_argument("--checkpoint", metavar="FILE", help="the checkpoint --eval-only evaluates")
    parser.add_argument("--stop-after-iters", type=int, metavar="N",
                        help="save a checkpoint and stop after N iterations of this invocation "
                             "(for job time limits; continue with --resume)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    return add_version(parser)


def check_options(args: argparse.Namespace) -> None:
    """Reject options that do not fit together (before anything is read)."""
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


def load_run_config(args: argparse.Namespace):
    """The config, and the checkpoint to resume or evaluate: ``(cfg, checkpoint, path)``.

    Raises:
        UsageError: a checkpoint that is missing, unreadable or not fit for the purpose,
            or a config error (naming the file or key).
    """
    from detaug.config import load_config
    from detaug.engine import check_training_state, find_checkpoint, load_checkpoint, run_config

    overrides = [x for group in args.overrides for x in group]
    overrides += [f"output_dir={args.output_dir}"] * (args.output_dir is not None)
    overrides += [f"runtime.device={args.device}"] * (args.device is not None)
    if not (args.resume or args.eval_only):
        return load_config(args.config or DEFAULT_CONFIG, overrides), None, None
    option = "--resume" if args.resume else "--checkpoint"
    try:
        path = find_checkpoint(args.resume) if args.resume else Path(args.checkpoint)
        state = load_checkpoint(path)
    except FileNotFoundError as exc:
        raise UsageError(f"{option}: {exc}") from exc
    if args.resume:
        config = run_config(check_training_state(state, path))
    elif args.config:
        return load_config(args.config, overrides), state, path
    else:
        config = state.get("config") if isinstance(state, dict) else None
        if not isinstance(config, dict):
            raise UsageError(f"{path}: holds no config; pass --config with the config it was trained with")
    try:
        return load_config(config, [f"output_dir={path.parent}", *overrides]), state, path
    except UsageError as exc:
        raise UsageError(f"{path}: its config: {exc}") from exc


def main(args: argparse.Namespace) -> Dict[str, Any]:
    """Train (or evaluate) as the options and the config say; return the run's summary.

    Returns:
        ``{"output_dir", "metrics" (split -> result, main process), "epoch", "stopped"
        (None or the reason), "signal", "checkpoint", ...}`` (see
        :meth:`detaug.engine.Trainer.fit`); ``{"config"}`` for ``--print-config``.

    Raises:
        UsageError: invalid options, config, or checkpoint (before any work).
        NonFiniteLossError: the loss diverged.
        detaug.io.DiskFullError: a checkpoint could not be written.
    """
    check_options(args)
    cfg, checkpoint, path = load_run_config(args)
    if args.print_config:
        from detaug.config import config_to_yaml

        print(config_to_yaml(cfg))
        return {"config": cfg}
    from detaug import engine

    engine.check_run_config(cfg, eval_only=args.eval_only)
    dist = engine.init_distributed(cfg.runtime.device, cfg.runtime.dist_backend)
    try:
        if args.eval_only:
            return engine.evaluate_only(cfg, dist, checkpoint, path)
        if checkpoint is not None and checkpoint["epoch"] >= cfg.schedule.epochs and _evaluated(path.parent,
                                                                                            checkpoint):
            if dist.is_main:
                print(f"{path}: this run has finished its {checkpoint['epoch']} epochs; to train longer, resume "
                      f"with --set schedule.epochs=N (N > {checkpoint['epoch']})")
            return {"output_dir": str(path.parent), "metrics": checkpoint.get("metrics") or {}, "stopped": None,
                    "epoch": checkpoint["epoch"], "checkpoint": str(path), "signal": None}
        trainer = engine.build_trainer(cfg, dist, resume=checkpoint is not None)
        if checkpoint is not None:
            trainer.restore(checkpoint, path)
        return trainer.fit(args.stop_after_iters)
    finally:
        engine.cleanup_distributed()


def _evaluated(folder: Path, checkpoint: Dict[str, Any]) -> bool:
    """Whether ``folder/metrics.jsonl`` records the final evaluation of a finished
    ``checkpoint`` (of its last epoch, or of its best one when a validation split chose it):
    a finished run whose record was lost (or cut) is evaluated again on resume, so that the
    folder proves that it finished."""
    from detaug.records import read_records

    epochs = {checkpoint.get("epoch"), (checkpoint.get("best") or {}).get("epoch", checkpoint.get("epoch"))}
    try:
        return any(r.get("epoch") in epochs for r in read_records(folder / "metrics.jsonl", "eval"))
    except OSError:
        return False


def _exit_code(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run :func:`main`: 1 for a failure during the work, 128 + N after signal N."""
    from detaug.engine import NonFiniteLossError
    from detaug.io import DiskFullError

    try:
        summary = main(args)
    except (NonFiniteLossError, DiskFullError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return 128 + summary["signal"] if summary.get("signal") else EXIT_OK


def run(argv: Optional[List[str]] = None) -> int:
    """Console entry point (``detaug-train``); returns the exit status.

    0: done; 1: the loss diverged or the disk is full; 2: a usage, config or input error
    (one ``<prog>: error:`` line); 128 + N: stopped by signal N after saving a checkpoint.
    """
    parser = get_args_parser()
    return run_command(parser, lambda args: _exit_code(parser, args), argv)


if __name__ == "__main__":
    sys.exit(run())
