"""Evaluate trained checkpoints under test-time occlusion; write a CSV, a plot and a table.

    python tools/occlusion_eval.py runs/baseline runs/iore --levels 0,0.1,0.2,0.3,0.4,0.5 \\
        --seeds 0 1 2 --out occlusion/

Each positional argument is a checkpoint file or a training output folder (its last
checkpoint; ``--best`` for the best one). For every checkpoint, occlusion kind
(``object``: every ground-truth box loses that fraction of its area to a noise
rectangle; ``image``: one noise rectangle of that fraction of the image), level and
seed, the model predicts on the clean test split with the occluders added and the
dataset's metric (VOC mAP or COCO AP) is computed. Occluders depend only on the seed
and the image, so every checkpoint sees the same occluded images.

Writes ``<out>/occlusion.csv`` (one row per checkpoint, kind, level, seed),
``<out>/occlusion.png`` (metric vs level, one line per checkpoint, band = spread over
seeds) and ``<out>/occlusion.md`` (mean ± std tables).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=add_help,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoints", nargs="+", help="checkpoint files or training output folders")
    p.add_argument("--names", nargs="*", help="names of the checkpoints in the table (default: folder names)")
    p.add_argument("--best", action="store_true", help="use checkpoint_best.pth of run folders instead of the last")
    p.add_argument("--levels", default="0,0.1,0.2,0.3,0.4,0.5", help="comma-separated occlusion levels in [0, 1]")
    p.add_argument("--kinds", nargs="+", default=["object", "image"], choices=["object", "image"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="occlusion seeds per level")
    p.add_argument("--split", help="test split (default: the config's first, the clean test split)")
    p.add_argument("--data-root", help="override data.root of the checkpoints' configs")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--batch-size", type=int, help="images per forward pass (default: the config's data.test_batch_size)")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--out", default="occlusion", help="output folder")
    return p


def main(args):
    import torch

    from detaug.engine import BEST
    from detaug.robustness import parse_levels
    from detaug.robustness.study import evaluate_checkpoint, markdown_table, plot, write_csv

    try:
        levels = parse_levels(args.levels)
    except ValueError as exc:
        raise SystemExit(f"error: --levels: {exc}")
    if args.names and len(args.names) != len(args.checkpoints):
        raise SystemExit(f"error: --names has {len(args.names)} names for {len(args.checkpoints)} checkpoints")
    paths = []
    for c in args.checkpoints:
        p = Path(c)
        if not p.exists():
            raise SystemExit(f"error: checkpoint or run folder not found: {p}")
        if p.is_dir() and args.best:
            p = p / BEST
            if not p.is_file():
                raise SystemExit(f"error: no {BEST} in {p.parent}")
        paths.append(p)
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"

    rows, names = [], []
    for i, path in enumerate(paths):
        name = args.names[i] if args.names else (path.name if path.is_dir() else path.parent.name)
        names.append(name)
        rows += evaluate_checkpoint(path, levels, args.kinds, args.seeds, split=args.split, device=device,
                                    batch_size=args.batch_size, workers=args.workers, run_name=name,
                                    data_root=args.data_root)
    out = Path(args.out)
    csv_path = write_csv(rows, out / "occlusion.csv")
    png_path = plot(rows, out / "occlusion.png")
    tables = []
    for kind in args.kinds:
        per_name = max(sum(1 for n in names if n == name) for name in names)
        spread = (f"{per_name} checkpoints per name x {len(args.seeds)} occlusion seeds" if per_name > 1
                  else f"{len(args.seeds)} occlusion seeds")
        tables.append(f"### {kind}-level occluders ({rows[0].metric}, %, mean ± std over {spread})\n\n"
                      + markdown_table(rows, kind))
    md = "\n\n".join(tables) + "\n"
    from detaug.io import atomic_write_bytes as atomic_write

    md_path = atomic_write(out / "occlusion.md", md.encode())
    print(md)
    print(f"wrote {csv_path}, {png_path} and {md_path}")
    return rows


def run(argv=None) -> int:
    """Console entry point."""
    main(get_args_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(run())
