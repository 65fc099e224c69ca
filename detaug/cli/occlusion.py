"""Score trained checkpoints under test-time occluders; write a CSV, a plot and tables.

    detaug-occlusion runs/baseline runs/iore --out runs/occlusion       # or: python tools/occlusion_eval.py

Each positional argument is a checkpoint file or a training output folder (its last
checkpoint). Every checkpoint is scored on its config's clean test split and with
occluders that hide 20-40, 40-60 and 60-80 % of every object (measured on the objects'
masks where the data has them): pasted object cut-outs from other test images, natural
texture, constant grey and black rectangles (in-distribution for Cutout and GridDropout)
and the erasing core's noise rectangles (in-distribution for Random Erasing); see
docs/occlusion.md. Occluders depend only on the occlusion seed and the image, so every
checkpoint sees the same images. Checkpoints given the same --names are one scheme
trained with several seeds: the tables show mean ± sd over them, and with --reference
the paired differences (by training seed) to that scheme with 95 % intervals.

Writes <out>/occlusion.csv (one row per checkpoint, kind, level and seed),
<out>/occlusion.png and <out>/occlusion.md.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import List, Sequence

from detaug._urls import docs_page
from detaug.cli._common import (
    add_version,
    check_count,
    check_device,
    check_output_folder,
    default_occlusion,
    occlusion_conditions,
    run_command,
)


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    kinds, levels = default_occlusion()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=add_help,
                                epilog=__doc__.split("\n\n", 2)[2].replace("docs/occlusion.md", docs_page("occlusion")),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT_OR_RUN",
                   help="checkpoint files or training output folders (their checkpoint_last.pth)")
    p.add_argument("--names", nargs="+", metavar="NAME", help="scheme name of each checkpoint, in order (default: "
                   "the run folder's name); equal names are seeds of one scheme. Logs and the CSV name each "
                   "checkpoint by it (NAME#1, NAME#2, ... where several share it)")
    p.add_argument("--reference", metavar="NAME", help="name of the scheme the others are compared with, seed by seed")
    p.add_argument("--kinds", nargs="+", default=list(kinds), choices=kinds, metavar="KIND",
                   help=f"occluder kinds (default: all: {' '.join(kinds)})")
    p.add_argument("--levels", default=levels, metavar="LO-HI,...",
                   help="bands of the fraction of each object hidden, in percent or fractions "
                        f"(default: {levels}); clean is always scored")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], metavar="S",
                   help="occlusion seeds, each drawing other occluders (default: 0)")
    p.add_argument("--split", help="test split (default: the config's first, the clean test split)")
    p.add_argument("--data-root", metavar="DIR", help="override data.root of the checkpoints' configs "
                   "(where the synthetic set is generated)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ... (default: auto)")
    p.add_argument("--batch-size", type=int, metavar="N",
                   help="images per forward pass (default: the config's data.test_batch_size)")
    p.add_argument("--workers", type=int, default=0, metavar="N", help="DataLoader workers (default: 0)")
    p.add_argument("--out", default="runs/occlusion", help="output folder (default: runs/occlusion)")
    return add_version(p)


def _check_args(args: argparse.Namespace) -> None:
    """Cheap checks of the options, before any checkpoint is read or scored."""
    from detaug.errors import UsageError

    check_count("--batch-size", args.batch_size, 1)
    check_count("--workers", args.workers, 0)
    check_device("--device", args.device)
    check_output_folder("--out", args.out)
    if args.data_root is not None and Path(args.data_root).exists() and not Path(args.data_root).is_dir():
        raise UsageError(f"--data-root {args.data_root}: is a file; give the data folder (where the synthetic "
                         "set is, or is generated)")
    if args.names is not None and not all(n.strip() for n in args.names):
        raise UsageError("--names: a name cannot be empty")


def _run_ids(labels: Sequence[str]) -> List[str]:
    """Each checkpoint's name in logs and the CSV: its label, with ``#k`` (1, 2, ...) where
    several checkpoints share it (the seeds of one scheme)."""
    total, seen = Counter(labels), Counter()
    out = []
    for label in labels:
        seen[label] += 1
        out.append(label if total[label] == 1 else f"{label}#{seen[label]}")
    return out


def _trained(args):
    from detaug.errors import UsageError
    from detaug.robustness.evaluation import CheckpointToScore

    if args.names and len(args.names) != len(args.checkpoints):
        raise UsageError(f"--names has {len(args.names)} names for {len(args.checkpoints)} checkpoints")
    paths = []
    for c in args.checkpoints:
        path = Path(c)
        if not path.exists():
            raise UsageError(f"checkpoint or run folder not found: {path}")
        paths.append(path)
    folders = [path if path.is_dir() else path.parent for path in paths]
    schemes = list(args.names) if args.names else [folder.name for folder in folders]
    out = [CheckpointToScore(run, scheme, -1, path) for run, scheme, path in zip(_run_ids(schemes), schemes, paths)]
    if args.reference and args.reference not in {t.scheme for t in out}:
        raise UsageError(f"--reference {args.reference!r} is none of the names {sorted({t.scheme for t in out})}")
    return out


def main(args: argparse.Namespace):
    from detaug.io import atomic_write_text
    from detaug.robustness.evaluation import evaluate_checkpoints
    from detaug.study.harness import resolve_device
    from detaug.study.plot import plot_study
    from detaug.study.results import write_rows
    from detaug.study.tables import difference_table, kind_table, kind_title

    _check_args(args)
    conds = occlusion_conditions(args.kinds, args.levels, args.seeds)
    trained = _trained(args)
    rows = evaluate_checkpoints(trained, conds, split=args.split, device=resolve_device(args.device),
                                batch_size=args.batch_size, workers=args.workers, data_root=args.data_root)
    schemes = list(dict.fromkeys(t.scheme for t in trained))
    reference = {s: args.reference or s for s in schemes}
    out = Path(args.out)
    parts = ["Test-time occlusion (metric in %; mean ± sd (n) over the checkpoints of a name)"]
    for kind in args.kinds:
        parts += [f"### {kind_title(kind)}", kind_table(rows, kind, schemes)]
        if args.reference:
            parts += ["Paired differences (by training seed; 95 % t-interval; * excludes 0):",
                      difference_table(rows, kind, schemes, reference)]
    text = "\n\n".join(parts) + "\n"
    written = [write_rows(rows, out / "occlusion.csv"), plot_study(rows, schemes, out / "occlusion.png"),
               atomic_write_text(out / "occlusion.md", text)]
    print(text)
    print("wrote " + ", ".join(map(str, written)))
    return rows


def run(argv=None) -> int:
    """Console entry point (``detaug-occlusion``)."""
    return run_command(get_args_parser(), main, argv)


if __name__ == "__main__":
    sys.exit(run())
