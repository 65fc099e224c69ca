"""The occlusion study on the built-in data, in one resumable command.

    detaug-study --out runs/study --jobs 2         # or: python tools/occlusion_study.py ...
    detaug-study --dry-run                         # the matrix, what is done, the estimated cost

1. Trains every scheme of the matrix (the default one, from detaug/study/schemes.py,
   is listed at the end of --help) into <out>/runs/<scheme>_s<seed>. Runs of one seed share
   their initial weights and data order, so schemes are compared seed by seed.
2. Scores the last checkpoint of every run on the clean test split (300 images) and under
   test-time occluders that no scheme trains with (pasted objects, natural texture) and
   that some do (grey / black rectangles: Cutout / GridDropout; noise: Random Erasing),
   each at 20-40, 40-60 and 60-80 % of every object hidden (docs/occlusion.md).
3. Writes per_seed.csv, summary.csv, differences.csv (paired differences to the baseline
   with 95 % intervals), occlusion.png and STUDY.md into --report (default: <out>).

Run the same command again to continue: finished runs are reused, interrupted ones are
resumed (--resume), scores already computed are read from <out>/eval/results.jsonl, and
a run folder trained with another config is an error. Ctrl-C or SIGTERM stops the
running trainings after they save a checkpoint. Progress goes to the terminal and
<out>/study.log, each run's output to <out>/logs/<run>.log, wall times to
<out>/timings.json.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from pathlib import Path

from detaug.cli._common import EXIT_FAILURE, add_version, default_occlusion, occlusion_conditions, run_command

#: What every run of the study shares unless --set says otherwise: a 300-image test set
#: (+ 3 x 300 in the generator's occluded splits); the data goes to <out>/data.
STUDY_OVERRIDES = ("data.synthetic_num_test=300",)


def _epilog() -> str:
    """The docstring after its first paragraph, and the default matrix (generated from the data)."""
    from detaug.study.schemes import describe_matrix

    matrix = textwrap.fill(f"Default matrix: {describe_matrix()}.", width=90)
    return f"{__doc__.split(chr(10) * 2, 1)[1].rstrip()}\n\n{matrix}\n"


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    kinds, levels = default_occlusion()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=add_help,
                                epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/study", help="study folder: runs, logs, tables, plot (default: runs/study)")
    p.add_argument("--schemes", metavar="FILE", help="YAML matrix replacing the default one (format: "
                   "detaug/study/schemes.py)")
    p.add_argument("--only", nargs="+", metavar="LABEL", help="train and report only these schemes (by label)")
    p.add_argument("--seeds", type=int, metavar="N", help="at most N training seeds per scheme (default: the matrix's)")
    p.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                   help="config overrides for every run, after the study's own "
                        f"({' '.join(STUDY_OVERRIDES)} data.root=<out>/data) and before each scheme's")
    p.add_argument("--device", default="auto", help="training and evaluation device: auto, cpu, cuda, cuda:1 (default: auto)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="train N runs at once (default: 1)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="torch threads per run (OMP_NUM_THREADS; default: CPU cores // --jobs)")
    p.add_argument("--kinds", nargs="+", default=list(kinds), metavar="KIND",
                   help=f"test-time occluder kinds (default: all: {' '.join(kinds)})")
    p.add_argument("--levels", default=levels, metavar="LO-HI,...",
                   help="bands of the fraction of each object hidden, in percent or fractions "
                        f"(default: {levels}); clean is always scored")
    p.add_argument("--occlusion-seeds", type=int, nargs="+", default=[0], metavar="S",
                   help="occlusion seeds: each draws other occluders for every image (default: 0; the "
                        "training seeds carry the statistics)")
    p.add_argument("--batch-size", type=int, metavar="N", help="images per forward pass when scoring "
                   "(default: the runs' data.test_batch_size, which reproduces the training tool's scores)")
    p.add_argument("--workers", type=int, default=0, metavar="N", help="DataLoader workers when scoring (default: 0)")
    p.add_argument("--report", metavar="DIR", help="where the CSVs, plot and STUDY.md go (default: --out)")
    p.add_argument("--dry-run", action="store_true", help="print the matrix, what is done and the estimated cost; "
                   "train nothing")
    p.add_argument("--train-only", action="store_true", help="stop after the training phase")
    p.add_argument("--allow-other-code", action="store_true",
                   help="reuse or resume runs trained by other detaug code (another code hash in their "
                        "provenance.json); the report lists the commits behind every run")
    return add_version(p)


def main(args: argparse.Namespace) -> int:
    from detaug.errors import UsageError
    from detaug.study import agenda as study_plan
    from detaug.study import harness as study

    if args.jobs < 1 or (args.threads is not None and args.threads < 1):
        raise UsageError("--jobs and --threads must be >= 1")
    conds = occlusion_conditions(args.kinds, args.levels, args.occlusion_seeds)
    out = _folder(args.out, "--out")
    if args.report:
        _folder(args.report, "--report")  # checked now, not after hours of training and scoring
    common = [*STUDY_OVERRIDES, f"data.root={out / 'data'}", *args.set]
    plan = study_plan.make_plan(out, args.schemes, args.only, args.seeds, common=common, device=args.device,
                                allow_other_code=args.allow_other_code)
    threads = args.threads or max(1, study_plan.cpu_cores() // args.jobs)
    test_images = int(next(iter(plan.configs.values())).data.synthetic_num_test)
    print(study_plan.describe(plan, args.jobs, threads, len(plan.runs), len(conds) * test_images))
    if args.dry_run:
        return 0
    out.mkdir(parents=True, exist_ok=True)
    with study.exclusive(out):
        return _train_and_score(args, plan, out, common=common, conds=conds, threads=threads, test_images=test_images)


def _train_and_score(args, plan, out: Path, *, common, conds, threads: int, test_images: int) -> int:
    from detaug.study import agenda as study_plan
    from detaug.study import harness as study
    from detaug.study.training import TrainingFailed, train_runs

    log = study_plan.logger(out / "study.log")
    command = "detaug-study " + " ".join(sys.argv[1:])
    log(f"{command}: {len(plan.todo)} run(s) to train, {len(plan.finished)} finished")
    entry = {"command": command, "to_train": len(plan.todo), "reused": len(plan.finished), "jobs": args.jobs,
             "threads": threads, "train_min": 0.0, "eval_min": 0.0, "evaluated": 0, "status": "running"}
    index = study.record_invocation(out, entry)  # recorded now: an interrupted invocation is in the ledger too
    started, rows = time.time(), []
    try:
        train_runs(plan.todo, args.jobs, threads, out, log)
        entry["train_min"] = round((time.time() - started) / 60, 2)
        log(f"training phase done in {entry['train_min']:.1f} min")
        if not args.train_only:
            plan = study_plan.make_plan(out, args.schemes, args.only, args.seeds, common=common, device=args.device,
                                        allow_other_code=args.allow_other_code)
            started, cached = time.time(), _cached(out)
            rows = study.evaluate_study(plan, conds, args.device, args.batch_size, args.workers, log)
            entry.update(eval_min=round((time.time() - started) / 60, 2), evaluated=_cached(out) - cached)
        entry["status"] = "done"
    except TrainingFailed as exc:
        entry["status"] = "failed"
        log(f"error: {exc}")
        return EXIT_FAILURE
    except KeyboardInterrupt:
        entry["status"] = "interrupted"
        raise
    finally:
        if entry["status"] == "running":
            entry["status"] = "error"
        if not entry["train_min"]:
            entry["train_min"] = round((time.time() - started) / 60, 2)
        study.record_invocation(out, entry, index)
    if not args.train_only and rows:
        report = Path(args.report).resolve() if args.report else out
        for path in study.write_outputs(report, plan, rows, command, _notes(plan, args, test_images), log=log):
            log(f"wrote {path}")
    return 0


def _folder(path: str, option: str) -> Path:
    """``path`` resolved, refused where it or a folder above it is a file (nothing is created)."""
    from detaug.errors import UsageError

    folder = Path(path).resolve()
    for p in (folder, *folder.parents):
        if p.exists():
            if not p.is_dir():
                what = "is a file" if p == folder else f"is under {p}, which is a file"
                raise UsageError(f"{option} {path}: {what}; give a folder (it is created if missing)")
            break
    return folder


def _cached(out: Path) -> int:
    from detaug.robustness.evaluation import ResultCache

    return len(ResultCache(out / "eval" / "results.jsonl").rows)


def _notes(plan, args, test_images: int) -> list:
    return [f"Test set: the synthetic `test` split, {test_images} images (the runs' `data.synthetic_num_test`); "
            f"occluder kinds {', '.join(args.kinds)} at levels {args.levels} (percent of each object's visible "
            f"pixels), occlusion seed(s) {' '.join(map(str, args.occlusion_seeds))}. How the occluders are made, "
            "and why pasted cut-outs count as 'difficult' ground truth: docs/occlusion.md. The noise kind's band "
            "is a fraction of each box's area (Random Erasing's definition); the fraction of the object it "
            "really covers is in its table's last row."]


def run(argv=None) -> int:
    """Console entry point (``detaug-study``)."""
    return run_command(get_args_parser(), main, argv)


if __name__ == "__main__":
    sys.exit(run())
