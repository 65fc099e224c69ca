"""The occlusion study on the built-in data, in one resumable command.

    detaug-study --out runs/study --jobs 2         # or: python tools/occlusion_study.py ...
    detaug-study --dry-run                         # the matrix, what is done, the estimated cost

Trains every scheme of the matrix (default: baseline, IRE, ORE, I+ORE with 5 training
seeds; Cutout and GridDropout with 3; baseline and I+ORE at 24 epochs with 3; see
``detaug/robustness/schemes.py``) into ``<out>/runs/<scheme>_s<seed>``, then evaluates
every last checkpoint under test-time occluders and writes the report. Runs of one seed
share their initial weights and data order, so schemes are compared seed by seed.

Run the same command again to continue: finished runs are reused, interrupted ones are
resumed (``--resume``), a run folder trained with another config is an error. Ctrl-C or
SIGTERM stops the running trainings after they save a checkpoint. Progress goes to the
terminal and ``<out>/study.log``; each run's output to ``<out>/logs/<run>.log``; wall
time per run, over every invocation, to ``<out>/timings.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from detaug.cli._common import EXIT_FAILURE, add_version, run_command

#: What every run of the study shares unless --set says otherwise: a 300-image test set
#: (+ 3 x 300 in the generator's occluded splits); the data goes to <out>/data.
STUDY_OVERRIDES = ("data.synthetic_num_test=300",)


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="detaug-study", description=__doc__.split("\n\n")[0], add_help=add_help,
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/study", help="study folder: runs, logs, tables, plot (default: runs/study)")
    p.add_argument("--schemes", metavar="FILE", help="YAML matrix replacing the default one (format: "
                   "detaug/robustness/schemes.py)")
    p.add_argument("--only", nargs="+", metavar="LABEL", help="train and report only these schemes (by label)")
    p.add_argument("--seeds", type=int, metavar="N", help="at most N training seeds per scheme (default: the matrix's)")
    p.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                   help="config overrides for every run, after the study's own "
                        f"({' '.join(STUDY_OVERRIDES)} data.root=<out>/data) and before each scheme's")
    p.add_argument("--device", default="auto", help="training and evaluation device: auto, cpu, cuda, cuda:1 (default: auto)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="train N runs at once (default: 1)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="torch threads per run (OMP_NUM_THREADS; default: CPU cores // --jobs)")
    p.add_argument("--dry-run", action="store_true", help="print the matrix, what is done and the estimated cost; "
                   "train nothing")
    p.add_argument("--train-only", action="store_true", help="stop after the training phase")
    return add_version(p)


def main(args: argparse.Namespace) -> int:
    from detaug.errors import UsageError
    from detaug.robustness import study_plan
    from detaug.robustness.training import TrainingFailed, train_runs

    if args.jobs < 1 or (args.threads is not None and args.threads < 1):
        raise UsageError("--jobs and --threads must be >= 1")
    out = Path(args.out).resolve()
    plan = study_plan.make_plan(out, args.schemes, args.only, args.seeds, [*STUDY_OVERRIDES, f"data.root={out / 'data'}", *args.set],
                                args.device)
    threads = args.threads or max(1, study_plan.cpu_cores() // args.jobs)
    print(study_plan.describe(plan, args.jobs, threads))
    if args.dry_run:
        return 0
    out.mkdir(parents=True, exist_ok=True)
    log = study_plan.logger(out / "study.log")
    log(f"detaug-study {' '.join(sys.argv[1:])}: {len(plan.todo)} run(s) to train, {len(plan.finished)} finished")
    started = time.time()
    try:
        train_runs(plan.todo, args.jobs, threads, out, log)
    except TrainingFailed as exc:
        log(f"error: {exc}")
        return EXIT_FAILURE
    log(f"training phase done in {(time.time() - started) / 60:.1f} min")
    if args.train_only:
        return 0
    log("evaluation phase: not available yet in this version (use --train-only)")
    return 0


def run(argv=None) -> int:
    """Console entry point (``detaug-study``)."""
    return run_command(get_args_parser(), main, argv)


if __name__ == "__main__":
    sys.exit(run())
