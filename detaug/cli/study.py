"""The reproducible study on the built-in data: baseline, IRE, ORE and I+ORE under occlusion.

    python tools/occlusion_study.py --out study/

1. trains the four synthetic configs (``configs/synthetic_frcnn_small_{baseline,ire,ore,iore}.yaml``)
   for each training seed, with the same budget (``--set`` overrides apply to all);
2. gathers their final clean / occluded-split metrics (``tools/compare_runs.py``);
3. evaluates every checkpoint with test-time occluders at several levels and seeds
   (``tools/occlusion_eval.py``);
4. writes ``<out>/runs.md``, ``<out>/occlusion.csv``, ``<out>/occlusion.png``,
   ``<out>/occlusion.md`` and ``<out>/STUDY.md`` (the commands, the machine and the tables).

Finished runs are reused, interrupted ones resumed, so the study can be re-run or
extended (more seeds) without starting over.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

SCHEMES = {"baseline": "baseline", "IRE": "ire", "ORE": "ore", "I+ORE": "iore"}


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=add_help,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default="study", help="output folder")
    p.add_argument("--train-seeds", type=int, nargs="+", default=[0], help="training seeds per scheme")
    p.add_argument("--schemes", nargs="+", default=list(SCHEMES), choices=list(SCHEMES))
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides for every run")
    p.add_argument("--levels", default="0,0.2,0.4,0.6", help="test-time occlusion levels")
    p.add_argument("--occlusion-seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--kinds", nargs="+", default=["object", "image"], choices=["object", "image"])
    p.add_argument("--device", default="auto")
    return p


def _run(cmd, log) -> None:
    log(" ".join(cmd))
    res = subprocess.run(cmd)
    if res.returncode != 0:
        raise SystemExit(f"error: command failed ({res.returncode}): {' '.join(cmd)}")


def _finished(folder: Path) -> bool:
    from detaug.robustness.runs import load_run

    try:
        load_run(folder)
    except (FileNotFoundError, ValueError):
        return False
    return (folder / "checkpoint_last.pth").is_file()


def main(args) -> Path:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    log = lambda m: print(f"[study] {m}", flush=True)  # noqa: E731
    started = time.time()
    runs, names = [], []
    train_minutes = {}
    for scheme in args.schemes:
        for seed in args.train_seeds:
            folder = out / "runs" / f"{SCHEMES[scheme]}_s{seed}"
            runs.append(folder)
            names.append(scheme)
            if _finished(folder):
                log(f"{scheme} seed {seed}: finished run reused ({folder})")
                continue
            t0 = time.time()
            cmd = [sys.executable, "-m", "detaug.cli.train"]
            if (folder / "checkpoint_last.pth").is_file():
                cmd += ["--resume", str(folder), "--device", args.device]
            else:
                config = f"synthetic_frcnn_small_{SCHEMES[scheme]}"
                cmd += ["--config", str(config), "--output-dir", str(folder), "--device", args.device,
                        "--set", f"seed={seed}", *args.set]
            _run(cmd, log)
            train_minutes[f"{scheme} seed {seed}"] = (time.time() - t0) / 60

    _run([sys.executable, "-m", "detaug.cli.compare", *map(str, runs), "--out", str(out / "runs.md")], log)
    _run([sys.executable, "-m", "detaug.cli.occlusion", *map(str, runs), "--names", *names, "--levels", args.levels,
          "--seeds", *map(str, args.occlusion_seeds), "--kinds", *args.kinds, "--device", args.device,
          "--out", str(out)], log)

    import torch

    machine = (f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
               f"Python {platform.python_version()}, torch {torch.__version__}, "
               f"{'CUDA ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'CPU only'}")
    command = "python tools/occlusion_study.py " + " ".join(sys.argv[1:])
    timing = "\n".join(f"- {k}: {v:.1f} min" for k, v in train_minutes.items()) or "- (all runs reused)"
    text = (
        f"# Occlusion study on the synthetic set\n\n"
        f"Command: `{command}`\n\nMachine: {machine}\n\n"
        f"Training time per run:\n{timing}\n\nTotal: {(time.time() - started) / 60:.1f} min\n\n"
        f"## Final metrics (clean test split and the generator's occluded split)\n\n{(out / 'runs.md').read_text()}\n"
        f"## Test-time occlusion\n\n![occlusion](occlusion.png)\n\n{(out / 'occlusion.md').read_text()}\n"
    )
    from detaug.io import atomic_write_bytes as atomic_write

    path = atomic_write(out / "STUDY.md", text.encode())
    log(f"wrote {path}")
    return path


def run(argv=None) -> int:
    """Console entry point."""
    main(get_args_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(run())
